//! `admin/roles`: list, create, show, change (name, description, parent), delete; replace
//! a role's permissions.

use crate::openapi::model::refs::Nothing;
use crate::response::{Envelope, ErrorBody};
use auth_core::rbac::manage::{self, RoleInfo};
use auth_core::{DbConn, UserStore};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use auth_core::audit::EventType;

use super::{Actor, dedup, double_option, parse_id, unknown_is_invalid};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::permission_required;
use crate::response::{self, ApiError};

/// A role with the permissions granted to it directly.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct RoleDetail {
    #[serde(flatten)]
    role: RoleInfo,
    permissions: Vec<String>,
}

/// The role with this path id, or 404.
async fn load(conn: &mut DbConn, id: &str) -> Result<RoleInfo, ApiError> {
    let id = parse_id(id, "role")?;
    manage::list_roles(conn)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found("role"))
}

async fn detail(conn: &mut DbConn, role: RoleInfo) -> Result<RoleDetail, ApiError> {
    let permissions = manage::role_permissions(conn, &role.name).await?;
    Ok(RoleDetail { role, permissions })
}

/// Lists roles.
#[utoipa::path(
    get,
    path = "/admin/roles",
    tag = "admin",
    responses(
        (status = 200, description = "Lists roles.", body = inline(Envelope<Vec<RoleInfo>>)),
    )
)]
#[permission_required("roles.read")]
pub(crate) async fn list<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    Ok(response::ok(manage::list_roles(&mut conn).await?, "roles"))
}

/// `POST admin/roles` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RoleCreate)]
pub(crate) struct CreateBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parent: Option<String>,
}

fn conflict(what: &str, name: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        crate::response::ErrorCode::Conflict,
        format!("{what} {name:?} already exists"),
    )
}

/// Creates a role.
#[utoipa::path(
    post,
    path = "/admin/roles",
    tag = "admin",
    request_body = CreateBody,
    responses(
        (status = 201, description = "Creates a role.", body = inline(Envelope<RoleDetail>)),
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
    let roles = manage::list_roles(&mut conn).await?;
    if roles.iter().any(|r| r.name == body.name) {
        return Err(conflict("role", &body.name));
    }
    if let Some(parent) = &body.parent {
        let authority = actor.authority(&mut conn).await?;
        authority.check_role(parent).map_err(unknown_is_invalid)?;
    }
    manage::get_or_create_role(&mut conn, &body.name, body.parent.as_deref())
        .await
        .map_err(unknown_is_invalid)?;
    if let Some(description) = &body.description {
        manage::describe_role(&mut conn, &body.name, description).await?;
    }
    let role = manage::list_roles(&mut conn)
        .await?
        .into_iter()
        .find(|r| r.name == body.name)
        .ok_or_else(|| ApiError::not_found("role"))?;
    let change = json!({ "action": "created", "role": role.name, "parent": body.parent });
    actor
        .record(&auth, &mut conn, EventType::RoleChanged, None, change)
        .await?;
    Ok(response::with_status(
        StatusCode::CREATED,
        detail(&mut conn, role).await?,
        "role created",
    ))
}

/// A role with its permissions.
#[utoipa::path(
    get,
    path = "/admin/roles/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "The role's id.")),
    responses(
        (status = 200, description = "A role with its permissions.", body = inline(Envelope<RoleDetail>)),
        (status = 404, description = "No such role (`not_found`).", body = ErrorBody),
    )
)]
#[permission_required("roles.read")]
pub(crate) async fn get<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    let role = load(&mut conn, &id).await?;
    Ok(response::ok(detail(&mut conn, role).await?, "role"))
}

/// `PATCH admin/roles/{id}` body: `parent: null` clears the parent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RoleChanges)]
pub(crate) struct PatchBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    parent: Option<Option<String>>,
}

/// Renames a role or changes its description or parent.
#[utoipa::path(
    patch,
    path = "/admin/roles/{id}",
    tag = "admin",
    request_body = PatchBody,
    params(("id" = i64, Path, description = "The role's id.")),
    responses(
        (status = 200, description = "Renames a role or changes its description or parent.", body = inline(Envelope<RoleDetail>)),
        (status = 404, description = "No such role (`not_found`).", body = ErrorBody),
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
    let role = load(&mut conn, &id).await?;
    let authority = actor.authority(&mut conn).await?;
    authority.check_role_edit(&role.name)?;
    if let Some(Some(parent)) = &body.parent {
        authority.check_role(parent).map_err(unknown_is_invalid)?;
    }
    let before = json!({ "name": role.name, "parent": role.parent });
    let mut name = role.name.clone();
    if let Some(new) = &body.name
        && *new != name
    {
        if manage::list_roles(&mut conn)
            .await?
            .iter()
            .any(|r| r.name == *new)
        {
            return Err(conflict("role", new));
        }
        manage::rename_role(&mut conn, &name, new).await?;
        name.clone_from(new);
    }
    if let Some(description) = &body.description {
        manage::describe_role(&mut conn, &name, description).await?;
    }
    if let Some(parent) = &body.parent {
        manage::set_role_parent(&mut conn, &name, parent.as_deref())
            .await
            .map_err(unknown_is_invalid)?;
    }
    let role = load(&mut conn, &role.id.to_string()).await?;
    let change = json!({ "action": "changed", "role": role.name, "was": before });
    actor
        .record(&auth, &mut conn, EventType::RoleChanged, None, change)
        .await?;
    Ok(response::ok(detail(&mut conn, role).await?, "role updated"))
}

/// Deletes the role and its links (permissions, user and group assignments); its children
/// lose their parent.
#[utoipa::path(
    delete,
    path = "/admin/roles/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "The role's id.")),
    responses(
        (status = 200, description = "Deletes a role.", body = inline(Envelope<Nothing>)),
        (status = 404, description = "No such role (`not_found`).", body = ErrorBody),
    )
)]
#[permission_required("roles.manage")]
pub(crate) async fn delete<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    let role = load(&mut conn, &id).await?;
    actor
        .authority(&mut conn)
        .await?
        .check_role_edit(&role.name)?;
    if !manage::delete_role(&mut conn, &role.name).await? {
        return Err(ApiError::not_found("role"));
    }
    let change = json!({ "action": "deleted", "role": role.name });
    actor
        .record(&auth, &mut conn, EventType::RoleChanged, None, change)
        .await?;
    Ok(response::ok(Value::Null, "role deleted"))
}

/// `PUT admin/roles/{id}/permissions` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RolePermissions)]
pub(crate) struct PermissionsBody {
    permissions: Vec<String>,
}

/// Replaces the permissions granted to the role directly. Unknown codes are 422 and change
/// nothing; so does a change the grant rules refuse (403): the admin must hold every
/// permission the role grants now and every permission added or removed.
#[utoipa::path(
    put,
    path = "/admin/roles/{id}/permissions",
    tag = "admin",
    request_body = PermissionsBody,
    params(("id" = i64, Path, description = "The role's id.")),
    responses(
        (status = 200, description = "Replaces a role's permissions.", body = inline(Envelope<RoleDetail>)),
        (status = 404, description = "No such role (`not_found`).", body = ErrorBody),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("roles.manage")]
pub(crate) async fn set_permissions<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PermissionsBody>,
) -> Result<Response, ApiError> {
    let wanted = dedup(body.permissions);
    let mut conn = auth.db().conn().await?;
    let role = load(&mut conn, &id).await?;
    let known = manage::list_permissions(&mut conn).await?;
    if let Some(unknown) = wanted.iter().find(|c| !known.iter().any(|p| &p.code == *c)) {
        return Err(ApiError::invalid(format!("unknown permission {unknown:?}")));
    }
    let held = manage::role_permissions(&mut conn, &role.name).await?;
    let revoked: Vec<&String> = held.iter().filter(|c| !wanted.contains(c)).collect();
    let granted: Vec<&String> = wanted.iter().filter(|c| !held.contains(c)).collect();
    let authority = actor.authority(&mut conn).await?;
    authority.check_role_edit(&role.name)?;
    authority.check_permissions(granted.iter().chain(&revoked).map(|c| c.as_str()))?;
    for code in &revoked {
        manage::revoke_permission(&mut conn, &role.name, code).await?;
    }
    for code in &granted {
        manage::grant_permission(&mut conn, &role.name, code)
            .await
            .map_err(unknown_is_invalid)?;
    }
    if !granted.is_empty() {
        let change = json!({ "role": role.name, "permissions": granted });
        actor
            .record(&auth, &mut conn, EventType::PermissionGranted, None, change)
            .await?;
    }
    if !revoked.is_empty() {
        let change = json!({ "role": role.name, "permissions": revoked });
        actor
            .record(&auth, &mut conn, EventType::PermissionRevoked, None, change)
            .await?;
    }
    Ok(response::ok(
        detail(&mut conn, role).await?,
        "permissions replaced",
    ))
}
