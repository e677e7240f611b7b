//! `admin/groups`: list, create, show, change (name, description), delete; replace the
//! roles a group carries.

use auth_core::UserStore;
use auth_core::rbac::manage::GroupInfo;
use auth_core::service::admin::GroupDetail;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::parse_id;
use crate::actor::RequestActor;
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::openapi::model::refs::Nothing;
use crate::permission_required;
use crate::response::{self, ApiError, Envelope, ErrorBody};

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
    Ok(response::ok(auth.admin().groups().await?, "groups"))
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
    RequestActor(actor): RequestActor,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    let group = auth
        .admin()
        .create_group(&actor, &body.name, body.description.as_deref())
        .await?;
    Ok(response::with_status(
        StatusCode::CREATED,
        group,
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
    let group = auth.admin().group(parse_id(&id, "group")?).await?;
    Ok(response::ok(group, "group"))
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
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchBody>,
) -> Result<Response, ApiError> {
    let group = auth
        .admin()
        .change_group(
            &actor,
            parse_id(&id, "group")?,
            body.name.as_deref(),
            body.description.as_deref(),
        )
        .await?;
    Ok(response::ok(group, "group updated"))
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
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    auth.admin()
        .delete_group(&actor, parse_id(&id, "group")?)
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
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RolesBody>,
) -> Result<Response, ApiError> {
    let group = auth
        .admin()
        .set_group_roles(&actor, parse_id(&id, "group")?, body.roles)
        .await?;
    Ok(response::ok(group, "roles replaced"))
}
