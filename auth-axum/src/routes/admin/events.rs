//! `admin/events`: the audit log, newest first.

use std::collections::HashMap;

use auth_core::UserStore;
use auth_core::audit::{AuditEvent, EventFilter, EventType};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Serialize;

use super::page::{self, Page};
use crate::layer::Auth;
use crate::permission_required;
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// The filters: `user` (a user id), `event` (an event type such as `login.failure` or
/// `password.change_failed`; [`EventType::ALL`] lists them).
fn event_filter(query: &HashMap<String, String>) -> Result<EventFilter, ApiError> {
    let user_id = match query.get("user").filter(|u| !u.is_empty()) {
        None => None,
        Some(u) => Some(
            u.parse::<i64>()
                .map_err(|_| ApiError::invalid("user: expected a user id"))?,
        ),
    };
    let event = match query.get("event").filter(|e| !e.is_empty()) {
        None => None,
        Some(e) => Some(EventType::parse(e).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            ApiError::invalid(format!(
                "event: unknown event type (one of {})",
                known.join(", ")
            ))
        })?),
    };
    Ok(EventFilter { user_id, event })
}

/// `GET admin/events?user=&event=&page=&per_page=`.
#[utoipa::path(
    get,
    path = "/admin/events",
    tag = "admin",
    params(("page" = Option<i64>, Query, description = "The page, from 1."), ("per_page" = Option<i64>, Query, description = "Its size, 1 to 100 (default 20)."), ("user" = Option<i64>, Query, description = "Events about this user id."), ("event" = Option<String>, Query, description = "Events of this type, e.g. `login.failure`.")),
    responses(
        (status = 200, description = "The audit log, newest first.", body = inline(Envelope<Page<AuditEvent>>)),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("users.read")]
pub(crate) async fn list<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = page::ListQuery::parse(query, &["user", "event"])?;
    let filter = event_filter(&query.params)?;
    let (items, total) = auth
        .admin()
        .events(&filter, query.offset, query.per_page)
        .await?;
    Ok(response::ok(query.page(items, total), "events"))
}
