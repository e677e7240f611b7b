//! A user's own sessions: list and revoke.

use auth_core::{UserStore, session};
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use super::answers::EndedSessions;
use crate::extract::{Client, CurrentUser};
use crate::layer::Auth;
use crate::openapi::model::refs::Nothing;
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// A session as its owner sees it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OwnSession)]
pub(crate) struct SessionView {
    #[serde(flatten)]
    session: session::Session,
    /// Whether this is the session of the request.
    current: bool,
}

/// The user's live sessions (token logins included).
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "sessions",
    responses((status = 200, description = "The sessions.", body = inline(Envelope<Vec<SessionView>>)))
)]
pub(crate) async fn list<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    let actor = current.actor(client);
    let this = actor.session().map(|s| s.id);
    let sessions: Vec<SessionView> = auth
        .service()
        .sessions(auth.db(), &actor)
        .await?
        .into_iter()
        .map(|s| SessionView {
            current: Some(s.id) == this,
            session: s,
        })
        .collect();
    Ok(response::ok(sessions, "sessions"))
}

/// Ends one of the user's sessions.
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "sessions",
    params(("id" = i64, Path, description = "The session's id.")),
    responses(
        (status = 200, description = "Ended.", body = inline(Envelope<Nothing>)),
        (status = 404, description = "Not one of the user's sessions (`not_found`).", body = ErrorBody),
    )
)]
pub(crate) async fn revoke<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("session"))?;
    auth.service()
        .revoke_session(auth.db(), &current.actor(client), id)
        .await?;
    Ok(response::ok(Value::Null, "session revoked"))
}

/// "Sign out everywhere else": ends every other session of the user (token logins
/// included); this one stays.
#[utoipa::path(
    delete,
    path = "/sessions",
    tag = "sessions",
    responses((status = 200, description = "Ended: how many.", body = inline(Envelope<EndedSessions>)))
)]
pub(crate) async fn revoke_others<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    let ended = auth
        .service()
        .revoke_other_sessions(auth.db(), &current.actor(client))
        .await?;
    Ok(response::ok(
        EndedSessions {
            ended_sessions: ended,
        },
        "other sessions ended",
    ))
}
