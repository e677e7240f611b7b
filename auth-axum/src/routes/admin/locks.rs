//! `admin/locks`: the login locks in force, and clearing one.

use auth_core::UserStore;
use auth_core::audit::{EventType, NewEvent};
use auth_core::throttle::{self, Key, Scope};
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
