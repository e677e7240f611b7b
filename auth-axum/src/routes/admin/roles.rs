//! `admin/roles`: list, create, show, change (name, description, parent), delete; replace
//! a role's permissions.

use auth_core::UserStore;
use auth_core::rbac::manage::RoleInfo;
use auth_core::service::admin::{RoleChanges, RoleDetail};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{double_option, parse_id};
use crate::actor::RequestActor;
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::openapi::model::refs::Nothing;
use crate::permission_required;
use crate::response::{self, ApiError, Envelope, ErrorBody};

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
    Ok(response::ok(auth.admin().roles().await?, "roles"))
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
    RequestActor(actor): RequestActor,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    let role = auth
        .admin()
        .create_role(
            &actor,
            &body.name,
            body.description.as_deref(),
            body.parent.as_deref(),
        )
        .await?;
    Ok(response::with_status(
        StatusCode::CREATED,
        role,
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
    let role = auth.admin().role(parse_id(&id, "role")?).await?;
    Ok(response::ok(role, "role"))
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
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchBody>,
) -> Result<Response, ApiError> {
    let changes = RoleChanges {
        name: body.name,
        description: body.description,
        parent: body.parent,
    };
    let role = auth
        .admin()
        .change_role(&actor, parse_id(&id, "role")?, changes)
        .await?;
    Ok(response::ok(role, "role updated"))
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
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    auth.admin()
        .delete_role(&actor, parse_id(&id, "role")?)
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
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PermissionsBody>,
) -> Result<Response, ApiError> {
    let role = auth
        .admin()
        .set_role_permissions(&actor, parse_id(&id, "role")?, body.permissions)
        .await?;
    Ok(response::ok(role, "permissions replaced"))
}
