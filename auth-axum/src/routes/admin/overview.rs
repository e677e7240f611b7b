//! `admin/overview`: counts, roles with their permissions, groups with their roles.

use crate::response::Envelope;
use auth_core::rbac::manage::{self, ScopedRole};
use auth_core::{UserFilter, UserStore};
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use crate::layer::Auth;
use crate::permission_required;
use crate::response::{self, ApiError};

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OverviewCounts)]
pub(crate) struct Counts {
    users: i64,
    roles: usize,
    permissions: usize,
    groups: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OverviewRole)]
pub(crate) struct RoleEntry {
    name: String,
    parent: Option<String>,
    permissions: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OverviewGroup)]
pub(crate) struct GroupEntry {
    name: String,
    roles: Vec<ScopedRole>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Overview {
    counts: Counts,
    roles: Vec<RoleEntry>,
    groups: Vec<GroupEntry>,
}

/// The permission setup at a glance (roles' own permissions, not inherited ones).
#[utoipa::path(
    get,
    path = "/admin/overview",
    tag = "admin",
    responses(
        (status = 200, description = "Counts, roles with their permissions, groups with their roles.", body = inline(Envelope<Overview>)),
    )
)]
#[permission_required("users.read")]
pub(crate) async fn get<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    let users = U::count(&mut conn, &UserFilter::default()).await?;
    let permissions = manage::list_permissions(&mut conn).await?.len();
    let mut roles = Vec::new();
    for role in manage::list_roles(&mut conn).await? {
        let permissions = manage::role_permissions(&mut conn, &role.name).await?;
        roles.push(RoleEntry {
            name: role.name,
            parent: role.parent,
            permissions,
        });
    }
    let mut groups = Vec::new();
    for group in manage::list_groups(&mut conn).await? {
        let roles = manage::group_roles(&mut conn, &group.name).await?;
        groups.push(GroupEntry {
            name: group.name,
            roles,
        });
    }
    let overview = Overview {
        counts: Counts {
            users,
            roles: roles.len(),
            permissions,
            groups: groups.len(),
        },
        roles,
        groups,
    };
    Ok(response::ok(overview, "overview"))
}
