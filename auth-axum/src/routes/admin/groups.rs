//! `admin/groups`: list, create, show, change (name, description), delete; replace the
//! roles a group carries.

use crate::openapi::model::refs::Nothing;
use crate::response::{Envelope, ErrorBody};
use auth_core::audit::EventType;
use auth_core::rbac::manage::{self, GroupInfo, ScopedRole};
use auth_core::{DbConn, UserStore};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Actor, check_roles_exist, dedup, parse_id, role_changes, unknown_is_invalid};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::permission_required;
use crate::response::{self, ApiError, ErrorCode};

/// A group with the roles it carries.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct GroupDetail {
    #[serde(flatten)]
    group: GroupInfo,
    roles: Vec<ScopedRole>,
}

/// The group with this path id, or 404.
async fn load(conn: &mut DbConn, id: &str) -> Result<GroupInfo, ApiError> {
    let id = parse_id(id, "group")?;
    manage::list_groups(conn)
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or_else(|| ApiError::not_found("group"))
}

async fn detail(conn: &mut DbConn, group: GroupInfo) -> Result<GroupDetail, ApiError> {
    let roles = manage::group_roles(conn, &group.name).await?;
    Ok(GroupDetail { group, roles })
}

fn conflict(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::Conflict,
        format!("group {name:?} already exists"),
    )
}

/// Lists groups.
#[utoipa::path(
    get,
    path = "/admin/groups",
    tag = "admin",
    responses(
        (status = 200, description = "Lists groups.", body = inline(Envelope<Vec<GroupInfo>>)),
    )
)]
#[permission_required("roles.read")]
pub(crate) async fn list<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    Ok(response::ok(
        manage::list_groups(&mut conn).await?,
        "groups",
    ))
}

/// `POST admin/groups` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = GroupCreate)]
pub(crate) struct CreateBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

/// Creates a group.
#[utoipa::path(
    post,
    path = "/admin/groups",
    tag = "admin",
    request_body = CreateBody,
    responses(
        (status = 201, description = "Creates a group.", body = inline(Envelope<GroupDetail>)),
        (status = 409, description = "The name is taken (`conflict`).", body = ErrorBody),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("roles.manage")]
pub(crate) async fn create<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    actor: Actor,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    if manage::list_groups(&mut conn)
        .await?
        .iter()
        .any(|g| g.name == body.name)
    {
        return Err(conflict(&body.name));
    }
    let id = manage::get_or_create_group(&mut conn, &body.name).await?;
    if let Some(description) = &body.description {
        manage::describe_group(&mut conn, &body.name, description).await?;
    }
    let group = load(&mut conn, &id.to_string()).await?;
    let change = json!({ "action": "created", "group": group.name });
    actor
        .record(&auth, &mut conn, EventType::GroupChanged, None, change)
        .await?;
    Ok(response::with_status(
        StatusCode::CREATED,
        detail(&mut conn, group).await?,
        "group created",
    ))
}

/// A group with its roles.
#[utoipa::path(
    get,
    path = "/admin/groups/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "The group's id.")),
    responses(
        (status = 200, description = "A group with its roles.", body = inline(Envelope<GroupDetail>)),
        (status = 404, description = "No such group (`not_found`).", body = ErrorBody),
    )
)]
#[permission_required("roles.read")]
pub(crate) async fn get<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    let group = load(&mut conn, &id).await?;
    Ok(response::ok(detail(&mut conn, group).await?, "group"))
}

/// `PATCH admin/groups/{id}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = GroupChanges)]
pub(crate) struct PatchBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// Renames a group or changes its description.
#[utoipa::path(
    patch,
    path = "/admin/groups/{id}",
    tag = "admin",
    request_body = PatchBody,
    params(("id" = i64, Path, description = "The group's id.")),
    responses(
        (status = 200, description = "Renames a group or changes its description.", body = inline(Envelope<GroupDetail>)),
        (status = 404, description = "No such group (`not_found`).", body = ErrorBody),
        (status = 409, description = "The name is taken (`conflict`).", body = ErrorBody),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("roles.manage")]
pub(crate) async fn patch<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchBody>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    let group = load(&mut conn, &id).await?;
    let mut name = group.name.clone();
    if let Some(new) = &body.name
        && *new != name
    {
        if manage::list_groups(&mut conn)
            .await?
            .iter()
            .any(|g| g.name == *new)
        {
            return Err(conflict(new));
        }
        manage::rename_group(&mut conn, &name, new).await?;
        name.clone_from(new);
    }
    if let Some(description) = &body.description {
        manage::describe_group(&mut conn, &name, description).await?;
    }
    let was = group.name.clone();
    let group = load(&mut conn, &group.id.to_string()).await?;
    let change = json!({ "action": "changed", "group": group.name, "was": was });
    actor
        .record(&auth, &mut conn, EventType::GroupChanged, None, change)
        .await?;
    Ok(response::ok(
        detail(&mut conn, group).await?,
        "group updated",
    ))
}

/// Deletes the group, its memberships and its roles. Its members lose its roles, so each
/// must pass the grant rules (403 otherwise).
#[utoipa::path(
    delete,
    path = "/admin/groups/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "The group's id.")),
    responses(
        (status = 200, description = "Deletes a group.", body = inline(Envelope<Nothing>)),
        (status = 404, description = "No such group (`not_found`).", body = ErrorBody),
    )
)]
#[permission_required("roles.manage")]
pub(crate) async fn delete<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    let group = load(&mut conn, &id).await?;
    // The members lose the group's roles: each must pass the grant rules.
    let authority = actor.authority(&mut conn).await?;
    for role in manage::group_roles(&mut conn, &group.name).await? {
        authority.check_may_assign()?;
        authority.check_role(&role.role)?;
    }
    if !manage::delete_group(&mut conn, &group.name).await? {
        return Err(ApiError::not_found("group"));
    }
    let change = json!({ "action": "deleted", "group": group.name });
    actor
        .record(&auth, &mut conn, EventType::GroupChanged, None, change)
        .await?;
    Ok(response::ok(Value::Null, "group deleted"))
}

/// `PUT admin/groups/{id}/roles` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = GroupRoles)]
pub(crate) struct RolesBody {
    roles: Vec<String>,
}

/// Replaces the group's global roles (scoped ones stay). The members gain or lose these
/// roles, so each role added or removed must pass the grant rules; nothing changes unless
/// all do.
#[utoipa::path(
    put,
    path = "/admin/groups/{id}/roles",
    tag = "admin",
    request_body = RolesBody,
    params(("id" = i64, Path, description = "The group's id.")),
    responses(
        (status = 200, description = "Replaces a group's roles.", body = inline(Envelope<GroupDetail>)),
        (status = 404, description = "No such group (`not_found`).", body = ErrorBody),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("roles.manage")]
pub(crate) async fn set_roles<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RolesBody>,
) -> Result<Response, ApiError> {
    let wanted = dedup(body.roles);
    let mut conn = auth.db().conn().await?;
    let group = load(&mut conn, &id).await?;
    check_roles_exist(&mut conn, &wanted).await?;
    let held: Vec<String> = manage::group_roles(&mut conn, &group.name)
        .await?
        .into_iter()
        .filter(|r| r.scope.is_none())
        .map(|r| r.role)
        .collect();
    let authority = actor.authority(&mut conn).await?;
    let (added, removed) = role_changes(&authority, held, &wanted)?;
    for role in &removed {
        manage::revoke_group_role(&mut conn, &group.name, role, None).await?;
    }
    for role in &added {
        manage::grant_group_role(&mut conn, &group.name, role, None)
            .await
            .map_err(unknown_is_invalid)?;
    }
    if !added.is_empty() || !removed.is_empty() {
        let change = json!({
            "action": "roles",
            "group": group.name,
            "added": added,
            "removed": removed,
        });
        actor
            .record(&auth, &mut conn, EventType::GroupChanged, None, change)
            .await?;
    }
    Ok(response::ok(
        detail(&mut conn, group).await?,
        "roles replaced",
    ))
}
