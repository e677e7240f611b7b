//! Multi-factor authentication (SPEC C10.1): the user's TOTP setup, confirmation and
//! removal, new backup codes, the login's second step, and reauthentication.
//!
//! Each answers 501 `not_configured` without an MFA configuration
//! ([`auth_core::service::AuthServiceBuilder::mfa`]), except the login step with a backup
//! code (a user who turned MFA on is never let in on a password alone).

use auth_core::mfa::challenge::Finish;
use auth_core::mfa::totp::Setup;
use auth_core::service::{MfaLogin, MfaProof, MfaStatus};
use auth_core::{AuthError, UserStore};
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::extract::{Client, CurrentUser, Jar};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::openapi::model::refs::MfaLoginAnswer;
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// The longest code accepted (a backup code with dashes and spaces fits easily).
const MAX_CODE_CHARS: usize = 32;
/// The longest `mfa_token` (a real one has 43 characters).
const MAX_TOKEN_CHARS: usize = 128;

/// A code's shape check: present, not absurdly long.
fn check_code(field: &str, code: &str) -> Result<(), ApiError> {
    if code.trim().is_empty() || code.chars().count() > MAX_CODE_CHARS {
        return Err(ApiError::invalid(format!(
            "{field}: 1 to {MAX_CODE_CHARS} characters"
        )));
    }
    Ok(())
}

/// An `mfa_token`'s shape check: present, not absurdly long (`login/mfa` and
/// `login/mfa/passkey`).
pub(crate) fn check_mfa_token(token: &str) -> Result<(), ApiError> {
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Err(ApiError::invalid(format!(
            "mfa_token: 1 to {MAX_TOKEN_CHARS} characters"
        )));
    }
    Ok(())
}

/// `POST mfa/totp/confirm` body.
// No `Debug`: it holds a secret that must never reach a log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TotpConfirm)]
pub(crate) struct ConfirmBody {
    /// The current 6-digit code of the authenticator.
    code: String,
}

/// `POST mfa/totp/disable` and `POST mfa/backup-codes` body.
// No `Debug`: it holds secrets that must never reach a log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MfaConfirmation)]
pub(crate) struct PasswordAndCode {
    /// The current password.
    #[schema(format = Password)]
    password: String,
    /// A TOTP code or an unused backup code.
    code: String,
}

/// The backup codes, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct BackupCodes {
    /// Ten single-use codes (`xxxxx-xxxxx`).
    backup_codes: Vec<String>,
}

/// `POST login/mfa` body: the token of the password step and one second factor.
// No `Debug`: it holds secrets that must never reach a log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MfaLoginRequest)]
pub(crate) struct LoginMfaBody {
    /// The `mfa_token` of the login's answer.
    mfa_token: String,
    /// A 6-digit TOTP code (or give `backup_code`).
    code: Option<String>,
    /// An unused backup code (or give `code`).
    backup_code: Option<String>,
    /// A passkey assertion (`navigator.credentials.get`'s answer, binary fields
    /// base64url) for the options of `POST login/mfa/passkey`, in the browser that holds
    /// its ceremony cookie (or give `code`).
    #[schema(value_type = Option<Object>)]
    passkey: Option<serde_json::Value>,
}

/// `POST reauthenticate` body: the password or a code.
// No `Debug`: it holds secrets that must never reach a log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReauthenticateRequest)]
pub(crate) struct ReauthBody {
    /// The current password (or give `code`).
    #[schema(format = Password)]
    password: Option<String>,
    /// A TOTP code or a backup code (or give `password`); it also counts as a second
    /// factor for the session.
    code: Option<String>,
    /// A passkey assertion for the options of `POST reauthenticate/passkey`, in the
    /// browser that holds its `auth_webauthn` cookie (or give `password` or `code`); it
    /// also counts as a second factor.
    #[schema(value_type = Option<Object>)]
    passkey: Option<serde_json::Value>,
}

/// The user's MFA state.
#[utoipa::path(
    get,
    path = "/mfa",
    tag = "mfa",
    responses((status = 200, description = "Whether MFA is on, the methods, the unused backup codes.", body = inline(Envelope<MfaStatus>)))
)]
pub(crate) async fn status<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
) -> Result<Response, ApiError> {
    let status = auth
        .service()
        .mfa_status(auth.db(), current.user.id())
        .await?;
    Ok(response::ok(status, "mfa status"))
}

/// Starts a TOTP setup: a new secret, its `otpauth://` URI and QR code. MFA is not on
/// until `POST mfa/totp/confirm`.
#[utoipa::path(
    post,
    path = "/mfa/totp/setup",
    tag = "mfa",
    responses(
        (status = 200, description = "The secret (shown now only), its URI and QR code.", body = inline(Envelope<Setup>)),
        (status = 409, description = "MFA is already on (`mfa_already_enabled`).", body = ErrorBody),
        (status = 501, description = "No MFA configuration (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn setup<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    let setup = auth
        .service()
        .mfa_setup(auth.db(), &current.user, &current.actor(client))
        .await?;
    Ok(response::ok(setup, "scan the code, then confirm"))
}

/// Confirms the setup with a code: MFA is on; the answer holds the backup codes, shown
/// once. This session counts as having passed the second factor.
#[utoipa::path(
    post,
    path = "/mfa/totp/confirm",
    tag = "mfa",
    request_body = ConfirmBody,
    responses(
        (status = 200, description = "MFA is on: the backup codes.", body = inline(Envelope<BackupCodes>)),
        (status = 400, description = "Wrong code (`invalid_code`), or no setup to confirm (`mfa_not_enabled`).", body = ErrorBody),
        (status = 409, description = "MFA is already on (`mfa_already_enabled`).", body = ErrorBody),
        (status = 429, description = "Too many wrong codes (`too_many_attempts`).", body = ErrorBody),
        (status = 501, description = "No MFA configuration (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn confirm<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    JsonBody(body): JsonBody<ConfirmBody>,
) -> Result<Response, ApiError> {
    check_code("code", &body.code)?;
    let backup_codes = auth
        .service()
        .mfa_confirm(auth.db(), &current.user, &current.actor(client), &body.code)
        .await?;
    Ok(response::ok(BackupCodes { backup_codes }, "mfa enabled"))
}

/// Turns MFA off, with the password and a code.
#[utoipa::path(
    post,
    path = "/mfa/totp/disable",
    tag = "mfa",
    request_body = PasswordAndCode,
    responses(
        (status = 200, description = "MFA is off; the backup codes are gone.", body = inline(Envelope<MfaStatus>)),
        (status = 400, description = "Wrong code (`invalid_code`).", body = ErrorBody),
        (status = 401, description = "Wrong password (`invalid_credentials`).", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords or codes (`too_many_attempts`).", body = ErrorBody),
        (status = 501, description = "No MFA configuration (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn disable<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    JsonBody(body): JsonBody<PasswordAndCode>,
) -> Result<Response, ApiError> {
    check_code("code", &body.code)?;
    auth.service()
        .mfa_disable(
            auth.db(),
            &current.user,
            &body.password,
            &body.code,
            &current.actor(client),
        )
        .await?;
    let status = auth
        .service()
        .mfa_status(auth.db(), current.user.id())
        .await?;
    Ok(response::ok(status, "mfa disabled"))
}

/// New backup codes (the old ones stop working), with the password and a code.
#[utoipa::path(
    post,
    path = "/mfa/backup-codes",
    tag = "mfa",
    request_body = PasswordAndCode,
    responses(
        (status = 200, description = "The new backup codes, shown once.", body = inline(Envelope<BackupCodes>)),
        (status = 400, description = "Wrong code (`invalid_code`), or MFA is off (`mfa_not_enabled`).", body = ErrorBody),
        (status = 401, description = "Wrong password (`invalid_credentials`).", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords or codes (`too_many_attempts`).", body = ErrorBody),
        (status = 501, description = "No MFA configuration (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn backup_codes<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    JsonBody(body): JsonBody<PasswordAndCode>,
) -> Result<Response, ApiError> {
    check_code("code", &body.code)?;
    let backup_codes = auth
        .service()
        .mfa_regenerate_backup_codes(
            auth.db(),
            &current.user,
            &body.password,
            &body.code,
            &current.actor(client),
        )
        .await?;
    Ok(response::ok(
        BackupCodes { backup_codes },
        "backup codes replaced",
    ))
}

/// The login's second step: the `mfa_token` of `POST login` (or `POST token`) and a
/// TOTP code, a backup code, or a passkey assertion (after `POST login/mfa/passkey`). It finishes the login as it started: the session cookie
/// and the user, or the tokens.
#[utoipa::path(
    post,
    path = "/login/mfa",
    tag = "account",
    request_body = LoginMfaBody,
    responses(
        (status = 200, description = "Logged in, as the login that issued the token would have: the user (with the token fields for `platform: \"jwt\"`), or the token pair of `POST token`.", body = inline(Envelope<MfaLoginAnswer>)),
        (status = 400, description = "Wrong code (`invalid_code`).", body = ErrorBody),
        (status = 401, description = "Unknown, used or expired `mfa_token` (`invalid_token`).", body = ErrorBody),
        (status = 429, description = "Too many wrong codes (`too_many_attempts`).", body = ErrorBody),
    )
)]
pub(crate) async fn login_mfa<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
    Client(client): Client,
    JsonBody(body): JsonBody<LoginMfaBody>,
) -> Result<Response, ApiError> {
    check_mfa_token(&body.mfa_token)?;
    #[cfg(feature = "passkeys")]
    let (ceremony, credential);
    let proof = match (&body.code, &body.backup_code, body.passkey) {
        (Some(code), None, None) => {
            check_code("code", code)?;
            MfaProof::Totp(code)
        }
        (None, Some(code), None) => {
            check_code("backup_code", code)?;
            MfaProof::BackupCode(code)
        }
        #[cfg(feature = "passkeys")]
        (None, None, Some(assertion)) => {
            auth.service().webauthn_config()?;
            credential = super::passkeys::parse(assertion)?;
            ceremony = super::passkeys::take_token(&auth, &cookies);
            MfaProof::Passkey {
                ceremony: &ceremony,
                credential: &credential,
            }
        }
        #[cfg(not(feature = "passkeys"))]
        (None, None, Some(_)) => {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_IMPLEMENTED,
                crate::response::ErrorCode::NotConfigured,
                "passkeys are not built into this server",
            ));
        }
        _ => {
            return Err(ApiError::invalid(
                "give exactly one of `code`, `backup_code` and `passkey`",
            ));
        }
    };
    let done = auth
        .service()
        .complete_mfa(auth.db(), &body.mfa_token, proof, &client)
        .await?;
    match done {
        MfaLogin::Session(done) => {
            super::account::session_login_answer(&auth, &cookies, done).await
        }
        MfaLogin::Tokens {
            user,
            pair,
            finish: Finish::JwtLogin,
        } => super::account::jwt_login_answer(&auth, &user, &pair).await,
        MfaLogin::Tokens { pair, .. } => Ok(response::ok(pair, "logged in")),
    }
}

/// Proves again who the user is, in this session: the password, a code or a passkey (each
/// of the latter two also counts as the second factor). Guards with `fresh = ".."`, and
/// sudo mode, accept the session again.
#[utoipa::path(
    post,
    path = "/reauthenticate",
    tag = "account",
    request_body = ReauthBody,
    responses(
        (status = 200, description = "Done: the session as it is now.", body = inline(Envelope<auth_core::session::Session>)),
        (status = 400, description = "Wrong code (`invalid_code`).", body = ErrorBody),
        (status = 401, description = "Wrong password (`invalid_credentials`).", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords or codes (`too_many_attempts`).", body = ErrorBody),
    )
)]
pub(crate) async fn reauthenticate<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
    current: CurrentUser<U>,
    Client(client): Client,
    JsonBody(body): JsonBody<ReauthBody>,
) -> Result<Response, ApiError> {
    if let Some(code) = &body.code {
        check_code("code", code)?;
    }
    let actor = current.actor(client);
    if let Some(assertion) = body.passkey {
        if body.password.is_some() || body.code.is_some() {
            return Err(ApiError::invalid(
                "give exactly one of `password`, `code` and `passkey`",
            ));
        }
        #[cfg(feature = "passkeys")]
        {
            auth.service().webauthn_config()?;
            let credential = super::passkeys::parse(assertion)?;
            let ceremony = super::passkeys::take_token(&auth, &cookies);
            auth.service()
                .reauthenticate_with_passkey(
                    auth.db(),
                    &current.user,
                    &actor,
                    &ceremony,
                    &credential,
                )
                .await?;
            return session_now(&auth, &actor).await;
        }
        #[cfg(not(feature = "passkeys"))]
        {
            let _ = (assertion, &cookies);
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_IMPLEMENTED,
                crate::response::ErrorCode::NotConfigured,
                "passkeys are not built into this server",
            ));
        }
    }
    auth.service()
        .reauthenticate(
            auth.db(),
            &current.user,
            &actor,
            body.password.as_deref(),
            body.code.as_deref(),
        )
        .await?;
    session_now(&auth, &actor).await
}

/// The answer of a re-authentication: the actor's session as it is now.
async fn session_now<U: UserStore + Clone>(
    auth: &Auth<U>,
    actor: &auth_core::Actor,
) -> Result<Response, ApiError> {
    let session = actor.session().ok_or(AuthError::SessionRequired)?;
    let mut conn = auth.db().conn().await?;
    let now = auth_core::session::find_by_id(&mut conn, session.id)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    Ok(response::ok(now, "reauthenticated"))
}
