//! `admin/users/{id}/mfa`: an administrator's reset of a user's MFA (a lost
//! authenticator), under the same rule as every other action on a user: the actor must
//! cover the user (see [`auth_core::service::admin`]).

use auth_core::UserStore;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;

use super::parse_id;
use crate::actor::RequestActor;
use crate::layer::Auth;
use crate::openapi::model::refs::Nothing;
use crate::permission_required;
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// Resets the user's MFA: their authenticator, backup codes and pending MFA logins are
/// deleted, so their next login asks for the password only. Audited as `mfa.disabled`
/// with the admin as `by`. 404 `not_found` when they had no MFA.
#[utoipa::path(
    delete,
    path = "/admin/users/{id}/mfa",
    tag = "admin",
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user's MFA is off.", body = inline(Envelope<Nothing>)),
        (status = 404, description = "No such user, or no MFA to reset (`not_found`).", body = ErrorBody),
    )
)]
#[permission_required("users.manage")]
pub(crate) async fn reset<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    auth.admin()
        .reset_mfa(&actor, parse_id(&id, "user")?)
        .await?;
    Ok(response::ok(serde_json::Value::Null, "mfa reset"))
}
