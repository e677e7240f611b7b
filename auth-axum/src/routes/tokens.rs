//! Token logins (SPEC C9.2): `POST token`, `token/refresh`, `token/revoke`, and the public
//! keys at `.well-known/jwks.json`. Each answers 501 `not_configured` unless the service
//! has a JWT configuration ([`auth_core::service::AuthServiceBuilder::jwt`]).

use auth_core::UserStore;
use auth_core::backend::{AuthError, LoginRequest};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::validate;
use crate::extract::Client;
use crate::json::JsonBody;
use crate::layer::Auth;
use auth_core::mfa::challenge::Finish;
use auth_core::service::{LoginOutcome, TokenPair};

use crate::openapi::model::refs::{Nothing, TokenAnswer};
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// `POST token` body.
// No `Debug`: it holds a secret that must never reach a log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TokenRequest)]
pub(crate) struct TokenBody {
    /// The account name (or, with login by e-mail, the e-mail address).
    account: String,
    /// The password.
    #[schema(format = Password)]
    password: String,
    /// Backend-specific data.
    #[serde(default)]
    #[schema(value_type = Object)]
    extra: Map<String, Value>,
}

/// `POST token/refresh` and `POST token/revoke` body.
// No `Debug`: it holds a secret that must never reach a log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RefreshRequest)]
pub(crate) struct RefreshBody {
    /// The refresh token of the last pair.
    refresh_token: String,
}

/// Shape checks of a login's account name: one that could never exist simply fails.
pub(crate) fn check_login_account(account: &str) -> Result<(), ApiError> {
    if account.len() > 4 * validate::MAX_ACCOUNT_CHARS {
        return Err(ApiError::invalid("account: too long"));
    }
    Ok(())
}

/// `POST token`: a token login, throttled and audited like `POST login`.
#[utoipa::path(
    post,
    path = "/token",
    tag = "tokens",
    request_body = TokenBody,
    responses(
        (status = 200, description = "Logged in: an access and a refresh token; or, for a user with MFA, the challenge of the second step (`POST login/mfa`).", body = inline(Envelope<TokenAnswer>)),
        (status = 401, description = "Wrong account or password (`invalid_credentials`).", body = ErrorBody),
        (status = 429, description = "Too many failed logins (`too_many_attempts`).", body = ErrorBody),
        (status = 501, description = "No JWT configuration (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn token<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Client(client): Client,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Response, ApiError> {
    check_login_account(&body.account)?;
    let req = LoginRequest {
        account: body.account,
        password: body.password,
        extra: body.extra,
    };
    let outcome = auth
        .service()
        .login_for_tokens(auth.db(), &req, &client, Finish::Tokens)
        .await?;
    match outcome {
        LoginOutcome::Complete((_user, pair)) => Ok(response::ok(pair, "logged in")),
        LoginOutcome::MfaRequired(challenge) => Ok(super::account::mfa_required_answer(challenge)),
    }
}

/// `POST token/refresh`: the next pair of the family; 401 `invalid_token` otherwise.
#[utoipa::path(
    post,
    path = "/token/refresh",
    tag = "tokens",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "The next pair; the token sent is used up.", body = inline(Envelope<TokenPair>)),
        (status = 401, description = "Unknown, expired or used (the family then ends), or its login ended (`invalid_token`).", body = ErrorBody),
        (status = 501, description = "No JWT configuration (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn refresh<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Client(client): Client,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Response, ApiError> {
    let (_user, pair) = auth
        .service()
        .refresh_tokens(auth.db(), &body.refresh_token, &client)
        .await?;
    Ok(response::ok(pair, "refreshed"))
}

/// `POST token/revoke`: ends the family; the same answer for an unknown token (RFC 7009).
#[utoipa::path(
    post,
    path = "/token/revoke",
    tag = "tokens",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "Revoked (also for an unknown token).", body = inline(Envelope<Nothing>)),
        (status = 501, description = "No JWT configuration (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn revoke<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Client(client): Client,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Response, ApiError> {
    auth.service()
        .revoke_refresh(auth.db(), &body.refresh_token, &client)
        .await?;
    Ok(response::ok(Value::Null, "revoked"))
}

/// `GET .well-known/jwks.json`: the public verification keys, as a bare JWKS document
/// (what JWT libraries fetch), not in the envelope.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "tokens",
    responses(
        (status = 200, description = "The JWKS, bare (no envelope): `{keys: [...]}`.", body = Object),
        (status = 501, description = "No JWT configuration (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn jwks<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
) -> Result<Response, ApiError> {
    let jwt = auth
        .service()
        .jwt()
        .ok_or(ApiError::from(AuthError::TokensNotConfigured))?;
    Ok(Json(jwt.jwks().clone()).into_response())
}
