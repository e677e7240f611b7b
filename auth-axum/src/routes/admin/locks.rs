//! `admin/locks`: the login locks in force, and clearing one.

use auth_core::UserStore;
use auth_core::throttle::{Lock, Scope};
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;

use crate::actor::RequestActor;
use crate::layer::Auth;
use crate::openapi::model::refs::Nothing;
use crate::permission_required;
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// At most this many locks are listed (the longest first).
const MAX_LISTED: i64 = 500;

/// The login locks in force, longest first (at most 500).
#[utoipa::path(
    get,
    path = "/admin/locks",
    tag = "admin",
    responses(
        (status = 200, description = "The login locks in force, longest first (at most 500).", body = inline(Envelope<Vec<Lock>>)),
    )
)]
#[permission_required("users.read")]
pub(crate) async fn list<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
) -> Result<Response, ApiError> {
    Ok(response::ok(auth.admin().locks(MAX_LISTED).await?, "locks"))
}

/// `DELETE admin/locks/{scope}/{key}`: forgets the counter, the lock and the escalation of
/// an account name (`account`) or a client IP (`ip`), or of the account-mail counters
/// (`mail_account`, `mail_ip`).
#[utoipa::path(
    delete,
    path = "/admin/locks/{scope}/{key}",
    tag = "admin",
    params(("scope" = Scope, Path, description = "What is counted."), ("key" = String, Path, description = "The account name or the IP.")),
    responses(
        (status = 200, description = "Forgets a lock, its counter and its escalation.", body = inline(Envelope<Nothing>)),
        (status = 404, description = "No such lock (`not_found`).", body = ErrorBody),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("users.manage")]
pub(crate) async fn clear<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    RequestActor(actor): RequestActor,
    Path((scope, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    auth.admin().clear_lock(&actor, &scope, &key).await?;
    Ok(response::ok(serde_json::Value::Null, "lock cleared"))
}
