//! `admin/permissions`: list and create.

use auth_core::UserStore;
use auth_core::rbac::manage::PermissionInfo;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::actor::RequestActor;
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::permission_required;
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// Lists permissions.
#[utoipa::path(
    get,
    path = "/admin/permissions",
    tag = "admin",
    responses(
        (status = 200, description = "Lists permissions.", body = inline(Envelope<Vec<PermissionInfo>>)),
    )
)]
#[permission_required("permissions.read")]
pub(crate) async fn list<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
) -> Result<Response, ApiError> {
    Ok(response::ok(
        auth.admin().permissions().await?,
        "permissions",
    ))
}

/// `POST admin/permissions` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PermissionCreate)]
pub(crate) struct CreateBody {
    code: String,
    #[serde(default)]
    remark: String,
}

/// Creates a permission: 409 when the code exists, 422 when it is malformed.
#[utoipa::path(
    post,
    path = "/admin/permissions",
    tag = "admin",
    request_body = CreateBody,
    responses(
        (status = 201, description = "Creates a permission.", body = inline(Envelope<PermissionInfo>)),
        (status = 409, description = "The code exists (`conflict`).", body = ErrorBody),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("permissions.manage")]
pub(crate) async fn create<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    RequestActor(actor): RequestActor,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    let permission = auth
        .admin()
        .create_permission(&actor, &body.code, &body.remark)
        .await?;
    Ok(response::with_status(
        StatusCode::CREATED,
        permission,
        "permission created",
    ))
}
