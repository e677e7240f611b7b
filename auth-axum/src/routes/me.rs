//! me (GET, PATCH) and change-password.

use auth_core::UserStore;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::validate;
use crate::extract::{Client, CurrentUser};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::response::{self, ApiError};

pub(crate) async fn get<U: UserStore + Clone + Serialize>(current: CurrentUser<U>) -> Response {
    response::ok(&current.user, "current user")
}

/// PATCH me: `email` and the model's custom fields; identity, password and flags are
/// refused (they have their own routes).
pub(crate) async fn patch<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    JsonBody(changes): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    if let Some(Value::String(email)) = changes.get("email") {
        validate::email(email)?;
    }
    let mut user = current.user;
    user.apply_changes(&changes).map_err(ApiError::invalid)?;
    let mut conn = auth.db().conn().await?;
    user.update(&mut conn).await?;
    Ok(response::ok(&user, "updated"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangePasswordBody {
    old_password: String,
    new_password: String,
}

pub(crate) async fn change_password<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    JsonBody(body): JsonBody<ChangePasswordBody>,
) -> Result<Response, ApiError> {
    validate::password("new_password", &body.new_password)?;
    let CurrentUser { mut user, session } = current;
    let ended = auth
        .service()
        .change_password(
            auth.db(),
            &mut user,
            &body.old_password,
            &body.new_password,
            Some(session.id),
            &client,
        )
        .await?;
    Ok(response::ok(
        serde_json::json!({ "ended_sessions": ended }),
        "password changed",
    ))
}
