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
use serde_json::Value;

use super::account::clear_cookies;
use super::answers::TokenValid;
use super::{validate, wire};
use crate::extract::{Client, CurrentUser, Jar};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::openapi::model::refs::{Nothing, User};
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// Tokens are 43 characters; anything much longer is not one.
const MAX_TOKEN_CHARS: usize = 128;

fn token_shape(token: &str) -> Result<(), ApiError> {
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS || token.contains('\0') {
        return Err(AuthError::Token(TokenError::Invalid).into());
    }
    Ok(())
}

/// `POST forgot-password` body: the account name or the e-mail address.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ForgotPasswordRequest)]
pub(crate) struct ForgotBody {
    /// The account name (or give `email`).
    #[serde(default)]
    account: Option<String>,
    /// The e-mail address (or give `account`).
    #[serde(default)]
    email: Option<String>,
}

/// Answers 202 at once, the same whether or not the account exists; the mail (if any)
/// goes out in the background.
#[utoipa::path(
    post,
    path = "/forgot-password",
    tag = "recovery",
    request_body = ForgotBody,
    responses(
        (status = 202, description = "Accepted, whether or not the account exists.", body = inline(Envelope<Nothing>)),
        (status = 501, description = "No account mail is configured (`not_configured`).", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    path = "/request-verify",
    tag = "recovery",
    responses(
        (status = 200, description = "Already verified.", body = inline(Envelope<Nothing>)),
        (status = 202, description = "A verification link is on its way.", body = inline(Envelope<Nothing>)),
        (status = 429, description = "Over the account-mail limits (`too_many_attempts`).", body = ErrorBody),
        (status = 501, description = "No account mail is configured (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn request_verify<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    let client = current.acting(client);
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
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ResetPasswordRequest)]
pub(crate) struct ResetBody {
    /// The token from the reset mail.
    token: String,
    /// The new password, under the password policy.
    #[schema(format = Password)]
    new_password: String,
}

/// Sets a new password with a reset token; every session of the user ends.
#[utoipa::path(
    post,
    path = "/reset-password",
    tag = "recovery",
    request_body = ResetBody,
    responses(
        (status = 200, description = "Password reset.", body = inline(Envelope<Nothing>)),
        (status = 400, description = "The token is unknown, used or expired (`invalid_token`, `token_expired`).", body = ErrorBody),
        (status = 422, description = "A weak password (`weak_password`).", body = ErrorBody),
    )
)]
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
    if cookies.get(&auth.http().cookie.session_name()).is_some() {
        clear_cookies(&auth, &cookies);
    }
    Ok(response::ok(
        Value::Null,
        "password reset; log in with the new password",
    ))
}

/// `POST verify` body.
// No `Debug`: it holds a secret that must never reach a log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = VerifyRequest)]
pub(crate) struct VerifyBody {
    /// The token from the verification mail.
    token: String,
}

/// Verifies the e-mail address with a verification token.
#[utoipa::path(
    post,
    path = "/verify",
    tag = "recovery",
    request_body = VerifyBody,
    responses(
        (status = 200, description = "Verified: the user.", body = inline(Envelope<User>)),
        (status = 400, description = "The token is unknown, used or expired (`invalid_token`, `token_expired`).", body = ErrorBody),
    )
)]
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

/// Whether `query`'s token is a usable token of one of `purposes` (the first that knows it
/// answers).
async fn check<U: UserStore + Clone + Serialize>(
    auth: &Auth<U>,
    purposes: &[Purpose],
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let token = query_token(query)?;
    let mut conn = auth.db().conn().await?;
    let mut found = Err(TokenError::Invalid);
    for purpose in purposes {
        found = account_token::peek(&mut conn, *purpose, token).await;
        if !matches!(found, Err(TokenError::Invalid)) {
            break;
        }
    }
    found.map_err(AuthError::from)?;
    Ok(response::ok(
        TokenValid { valid: true },
        "the token is valid",
    ))
}

/// `GET reset-password?token=`: whether a reset token is still usable (the token is not
/// used up).
#[utoipa::path(
    get,
    path = "/reset-password",
    tag = "recovery",
    params(("token" = String, Query, description = "The token from the reset mail.")),
    responses(
        (status = 200, description = "The token is usable.", body = inline(Envelope<TokenValid>)),
        (status = 400, description = "The token is unknown, used or expired (`invalid_token`, `token_expired`).", body = ErrorBody),
    )
)]
pub(crate) async fn check_reset<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::invalid("the query string is malformed"))?;
    check(&auth, &[Purpose::PasswordReset], &query).await
}

/// `GET verify?token=`: whether a verification token is still usable.
#[utoipa::path(
    get,
    path = "/verify",
    tag = "recovery",
    params(("token" = String, Query, description = "The token from the verification mail.")),
    responses(
        (status = 200, description = "The token is usable.", body = inline(Envelope<TokenValid>)),
        (status = 400, description = "The token is unknown, used or expired (`invalid_token`, `token_expired`).", body = ErrorBody),
    )
)]
pub(crate) async fn check_verify<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::invalid("the query string is malformed"))?;
    // The link of an e-mail change is a verification link too.
    check(&auth, &[Purpose::EmailChange, Purpose::VerifyEmail], &query).await
}
