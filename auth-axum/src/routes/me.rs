//! me (GET, PATCH) and change-password.

use auth_core::UserStore;
use auth_core::audit::EventType;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::answers::EndedSessions;
use super::{validate, wire};
use crate::extract::{Client, CurrentUser};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::openapi::model::refs::{UserChanges, UserWithMemberships};
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// The logged-in user, with the custom fields under `extra` and the global roles and
/// groups.
#[utoipa::path(
    get,
    path = "/me",
    tag = "me",
    responses((status = 200, description = "The logged-in user.", body = inline(Envelope<UserWithMemberships>)))
)]
pub(crate) async fn get<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    let data = wire::user_with_memberships(&mut conn, &current.user).await?;
    Ok(response::ok(data, "current user"))
}

/// PATCH me: `email` and the model's custom fields, at the top level or under `extra`
/// (as `me` answers them); identity, password and flags are refused (they have their own
/// routes). Only the fields sent are written. A new e-mail address needs
/// `current_password` too (422 without it, 401 `invalid_credentials` when wrong). With
/// account mail it is confirmed first (202: the link mailed to it makes the change, and the
/// current address is told); without, it is written at once, unverified, and the old
/// address is told.
#[utoipa::path(
    patch,
    path = "/me",
    tag = "me",
    request_body = UserChanges,
    responses(
        (status = 200, description = "Updated: the user.", body = inline(Envelope<UserWithMemberships>)),
        (status = 202, description = "With account mail, a new `email` waits for its confirmation: the link mailed to it makes the change (`POST verify`); the other fields are updated, and the answer is the user as now.", body = inline(Envelope<UserWithMemberships>)),
        (status = 401, description = "A wrong `current_password` (`invalid_credentials`).", body = ErrorBody),
        (status = 409, description = "The e-mail address is taken (`conflict`).", body = ErrorBody),
        (status = 422, description = "An unknown or core field, a wrong type, a missing `current_password` (`invalid_input`).", body = ErrorBody),
    )
)]
pub(crate) async fn patch<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    JsonBody(mut changes): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let client = current.acting(client);
    current.require_session()?;
    let changes = match changes.remove("extra") {
        None => changes,
        Some(Value::Object(extra)) => wire::merge_extra(extra, changes)?,
        Some(_) => return Err(ApiError::invalid("extra: expected an object")),
    };
    let mut changes = changes;
    let current_password = match changes.remove("current_password") {
        None => None,
        Some(Value::String(p)) => Some(p),
        Some(_) => return Err(ApiError::invalid("current_password: expected a string")),
    };
    if let Some(Value::String(email)) = changes.get("email") {
        validate::email(email)?;
    }
    let actor = current.actor(client.clone());
    let original = current.user.clone();
    let mut user = current.user;
    let before_email = user.email().map(str::to_owned);
    user.apply_changes(&changes).map_err(ApiError::invalid)?;
    let mut pending = None;
    if user.email() != before_email.as_deref() {
        let Some(password) = current_password else {
            return Err(ApiError::invalid(
                "current_password: required to change the e-mail address",
            ));
        };
        auth.service()
            .confirm_password(
                auth.db(),
                &user,
                &password,
                &client,
                EventType::EmailChangeFailed,
            )
            .await?;
        // With account mail, the new address is confirmed first: the account keeps the
        // old one until the link mailed to the new one is followed.
        let new = user.email().unwrap_or_default().to_owned();
        if auth
            .service()
            .request_email_change(auth.db(), &original, &actor, &new)
            .await?
        {
            changes.remove("email");
            user = original;
            user.apply_changes(&changes).map_err(ApiError::invalid)?;
            pending = Some(new);
        }
    }
    let fields: Vec<&str> = changes.keys().map(String::as_str).collect();
    let mut conn = auth.db().conn().await?;
    let service = auth.service();
    if !service
        .save_changes(
            &mut conn,
            &mut user,
            &fields,
            before_email.as_deref(),
            &client,
            None,
        )
        .await?
    {
        return Err(ApiError::unauthenticated());
    }
    let user = U::find_by_id(&mut conn, user.id()).await?.unwrap_or(user);
    let data = wire::user_with_memberships(&mut conn, &user).await?;
    Ok(match pending {
        None => response::ok(data, "updated"),
        Some(new) => response::with_status(
            axum::http::StatusCode::ACCEPTED,
            data,
            &format!("updated; confirm {new} with the link mailed to it to make it the address"),
        ),
    })
}

// No `Debug`: it holds a secret that must never reach a log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ChangePasswordRequest)]
pub(crate) struct ChangePasswordBody {
    /// The current password.
    #[schema(format = Password)]
    old_password: String,
    /// The new password, under the password policy.
    #[schema(format = Password)]
    new_password: String,
}

/// Changes the password; the user's other sessions end.
#[utoipa::path(
    post,
    path = "/change-password",
    tag = "me",
    request_body = ChangePasswordBody,
    responses(
        (status = 200, description = "Changed.", body = inline(Envelope<EndedSessions>)),
        (status = 401, description = "A wrong old password (`invalid_credentials`).", body = ErrorBody),
        (status = 422, description = "A weak password (`weak_password`).", body = ErrorBody),
        (status = 429, description = "Too many wrong old passwords (`too_many_attempts`).", body = ErrorBody),
    )
)]
pub(crate) async fn change_password<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    JsonBody(body): JsonBody<ChangePasswordBody>,
) -> Result<Response, ApiError> {
    validate::password("new_password", &body.new_password)?;
    let actor = current.actor(client);
    let mut user = current.user;
    let ended = auth
        .service()
        .change_password(
            auth.db(),
            &mut user,
            &body.old_password,
            &body.new_password,
            &actor,
        )
        .await?;
    Ok(response::ok(
        EndedSessions {
            ended_sessions: ended,
        },
        "password changed",
    ))
}
