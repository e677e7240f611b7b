//! `admin/locks`: the login locks in force, and clearing one.

use crate::openapi::model::refs::Nothing;
use crate::response::{Envelope, ErrorBody};
use auth_core::UserStore;
use auth_core::audit::{EventType, NewEvent};
use auth_core::throttle::{self, Key, Lock, Scope};
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

use crate::extract::{Client, CurrentUser};
use crate::layer::Auth;
use crate::permission_required;
use crate::response::{self, ApiError};

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
    let mut conn = auth.db().conn().await?;
    let locks = throttle::locked(&mut conn, MAX_LISTED).await?;
    Ok(response::ok(locks, "locks"))
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
    current: CurrentUser<U>,
    Client(client): Client,
    Path((scope, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let key = match Scope::parse(&scope) {
        Some(scope) => Key::new(scope, &key),
        None => return Err(ApiError::not_found("lock")),
    };
    let mut conn = auth.db().conn().await?;
    if !throttle::clear(&mut conn, &key).await? {
        return Err(ApiError::not_found("lock"));
    }
    let event = NewEvent::new(EventType::Unlock)
        .client(client.ip.as_deref(), client.user_agent.as_deref())
        .detail(json!({
            "scope": key.scope.as_str(),
            "key": key.value,
            "by": current.user.id(),
        }));
    let event = if key.scope.is_account() {
        event.account(&key.value)
    } else {
        event
    };
    auth.service().record(&mut conn, event).await?;
    Ok(response::ok(serde_json::Value::Null, "lock cleared"))
}
