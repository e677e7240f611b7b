//! Password reset and e-mail verification with single-use tokens: `reset-password`,
//! `verify` (POST uses the token; GET, what the mailed link opens, checks it without using
//! it), and the mail-sending `forgot-password` and `request-verify`.

use std::collections::HashMap;

use auth_core::UserStore;
use auth_core::account_token::{self, Purpose, TokenError};
use auth_core::backend::AuthError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::account::clear_cookies;
use super::{validate, wire};
use crate::extract::{Client, CurrentUser, Jar};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::response::{self, ApiError};

/// Tokens are 43 characters; anything much longer is not one.
const MAX_TOKEN_CHARS: usize = 128;

fn token_shape(token: &str) -> Result<(), ApiError> {
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS || token.contains('\0') {
        return Err(AuthError::Token(TokenError::Invalid).into());
    }
    Ok(())
}

/// `POST forgot-password` body: the account name or the e-mail address.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForgotBody {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// Answers 202 at once, the same whether or not the account exists; the mail (if any)
/// goes out in the background.
pub(crate) async fn forgot_password<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Client(client): Client,
    JsonBody(body): JsonBody<ForgotBody>,
) -> Result<Response, ApiError> {
    let identifier = match (body.account, body.email) {
        (Some(a), None) | (None, Some(a)) => a,
        _ => {
            return Err(ApiError::invalid(
                "give either account or email (one of them)",
            ));
        }
    };
    if identifier.is_empty() || identifier.chars().count() > 320 {
        return Err(ApiError::invalid("account: between 1 and 320 characters"));
    }
    auth.service()
        .forgot_password(auth.db(), &identifier, &client)?;
    Ok(response::with_status(
        StatusCode::ACCEPTED,
        Value::Null,
        "if the account exists and has an e-mail address, a reset link is on its way",
    ))
}

/// `POST request-verify`: mails the logged-in user a verification link; 429
/// `too_many_attempts` over the account-mail limits.
pub(crate) async fn request_verify<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    if auth
        .service()
        .request_verify(auth.db(), &current.user, &client)
        .await?
    {
        Ok(response::with_status(
            StatusCode::ACCEPTED,
            Value::Null,
            "a verification link is on its way",
        ))
    } else {
        Ok(response::ok(Value::Null, "already verified"))
    }
}

/// `POST reset-password` body.
// No `Debug`: it holds a secret that must never reach a log.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetBody {
    token: String,
    new_password: String,
}

pub(crate) async fn reset_password<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
    Client(client): Client,
    JsonBody(body): JsonBody<ResetBody>,
) -> Result<Response, ApiError> {
    token_shape(&body.token)?;
    validate::password("new_password", &body.new_password)?;
    auth.service()
        .reset_password(auth.db(), &body.token, &body.new_password, &client)
        .await?;
    // Every session of the user ended, this browser's included if it had one.
    if cookies.get(&auth.http().cookie.name).is_some() {
        clear_cookies(&auth, &cookies);
    }
    Ok(response::ok(
        Value::Null,
        "password reset; log in with the new password",
    ))
}

/// `POST verify` body.
// No `Debug`: it holds a secret that must never reach a log.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyBody {
    token: String,
}

pub(crate) async fn verify<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Client(client): Client,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Response, ApiError> {
    token_shape(&body.token)?;
    let user = auth
        .service()
        .verify_email(auth.db(), &body.token, &client)
        .await?;
    Ok(response::ok(wire::user(&user)?, "e-mail address verified"))
}

fn query_token(query: &HashMap<String, String>) -> Result<&str, ApiError> {
    let token = query.get("token").map(String::as_str).unwrap_or_default();
    token_shape(token)?;
    Ok(token)
}

async fn check<U: UserStore + Clone + Serialize>(
    auth: &Auth<U>,
    purpose: Purpose,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let token = query_token(query)?;
    let mut conn = auth.db().conn().await?;
    account_token::peek(&mut conn, purpose, token)
        .await
        .map_err(AuthError::from)?;
    Ok(response::ok(json!({ "valid": true }), "the token is valid"))
}

/// `GET reset-password?token=`: whether a reset token is still usable (the token is not
/// used up).
pub(crate) async fn check_reset<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::invalid("the query string is malformed"))?;
    check(&auth, Purpose::PasswordReset, &query).await
}

/// `GET verify?token=`: whether a verification token is still usable.
pub(crate) async fn check_verify<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::invalid("the query string is malformed"))?;
    check(&auth, Purpose::VerifyEmail, &query).await
}
