//! `admin/overview`: counts, roles with their permissions, groups with their roles.

use auth_core::UserStore;
use auth_core::service::admin::Overview;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use crate::layer::Auth;
use crate::permission_required;
use crate::response::{self, ApiError, Envelope};

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
    Ok(response::ok(auth.admin().overview().await?, "overview"))
}
