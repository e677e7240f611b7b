//! Passkeys (WebAuthn, SPEC C10.2): register one for the logged-in user, log in with one
//! usernameless, list and delete one's own. Each answers 501 `not_configured` unless the
//! service has a relying party ([`auth_core::service::AuthServiceBuilder::webauthn`]).
//!
//! The ceremony state stays on the server: `start` sets the `auth_webauthn` cookie
//! (`HttpOnly`, `SameSite=Strict`, 5 minutes) holding a random token, and `finish` uses the
//! state it names once (a replayed finish, a finish without the cookie or with another
//! browser's cookie is a 400 `invalid_ceremony`). A registration ceremony belongs to the
//! user who started it.

use auth_core::UserStore;
use auth_core::passkey::{self, PasskeyInfo, PublicKeyCredential, RegisterPublicKeyCredential};
use auth_core::service::{CeremonyStart, LoggedIn};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_cookies::Cookies;
use tower_cookies::cookie::{Cookie, SameSite};

use crate::extract::{Client, CurrentUser, Jar};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::openapi::model::refs::{Nothing, UserWithMemberships};
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// The ceremony cookie.
pub(crate) const CEREMONY_COOKIE: &str = "auth_webauthn";

/// `POST passkeys/register/finish` body: the browser's `RegisterPublicKeyCredential`
/// (`navigator.credentials.create`'s answer, binary fields base64url) and a name.
#[derive(Deserialize)]
pub(crate) struct RegisterFinishBody {
    /// A label, 1 to 100 characters; `Passkey` when absent.
    #[serde(default)]
    name: Option<String>,
    #[serde(flatten)]
    credential: RegisterPublicKeyCredential,
}

/// The documented shape of [`RegisterFinishBody`].
#[derive(utoipa::ToSchema)]
#[schema(as = PasskeyRegisterFinish)]
#[allow(dead_code)]
pub(crate) struct RegisterFinishDoc {
    /// A label, 1 to 100 characters; `Passkey` when absent.
    name: Option<String>,
    /// The credential's id (base64url).
    id: String,
    /// The credential's id (base64url).
    #[schema(rename = "rawId")]
    raw_id: String,
    /// `clientDataJSON` and `attestationObject` (base64url).
    #[schema(value_type = Object)]
    response: Value,
    /// `public-key`.
    #[schema(rename = "type")]
    kind: String,
}

/// The documented shape of `POST passkeys/login/finish`'s body: the browser's
/// `PublicKeyCredential` (`navigator.credentials.get`'s answer, binary fields base64url).
#[derive(utoipa::ToSchema)]
#[schema(as = PasskeyAssertion)]
#[allow(dead_code)]
pub(crate) struct AssertionDoc {
    /// The credential's id (base64url).
    id: String,
    /// The credential's id (base64url).
    #[schema(rename = "rawId")]
    raw_id: String,
    /// `authenticatorData`, `clientDataJSON`, `signature` and `userHandle` (base64url).
    #[schema(value_type = Object)]
    response: Value,
    /// `public-key`.
    #[schema(rename = "type")]
    kind: String,
}

/// The options for `navigator.credentials.create` / `get`: `{publicKey: {...}}`, binary
/// fields (`challenge`, `user.id`, credential ids) base64url.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PasskeyOptions)]
pub(crate) struct OptionsDoc {
    /// The `publicKey` options.
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    public_key: Value,
}

/// The ceremony cookie holding `value` (empty with `max_age` zero: its removal).
fn ceremony_cookie<U: UserStore>(auth: &Auth<U>, value: String) -> Cookie<'static> {
    Cookie::build((auth.http().cookie.named(CEREMONY_COOKIE), value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(auth.http().cookie.secure)
        .max_age(passkey::CEREMONY_TTL)
        .build()
}

/// Sets the ceremony cookie and answers the options.
fn started<U: UserStore>(auth: &Auth<U>, cookies: &Cookies, start: CeremonyStart) -> Response {
    cookies.add(ceremony_cookie(auth, start.token));
    response::ok(start.options, "passkey ceremony started")
}

/// The ceremony token of the request's cookie (cleared in the answer: single use), or
/// an empty token, which names no ceremony.
pub(crate) fn take_token<U: UserStore>(auth: &Auth<U>, cookies: &Cookies) -> String {
    let token = cookies
        .get(&auth.http().cookie.named(CEREMONY_COOKIE))
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let mut removal = ceremony_cookie(auth, String::new());
    removal.make_removal();
    cookies.add(removal);
    token
}

/// The browser's credential JSON as webauthn-rs reads it; 422 `invalid_input` otherwise
/// (read after the configuration and session checks, so that those answer first).
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body)
        .map_err(|e| ApiError::invalid(format!("not a WebAuthn credential: {e}")))
}

/// Starts registering a passkey for the logged-in user.
#[utoipa::path(
    post,
    path = "/passkeys/register/start",
    tag = "passkeys",
    responses(
        (status = 200, description = "The options for `navigator.credentials.create`; sets the `auth_webauthn` ceremony cookie.", body = inline(Envelope<OptionsDoc>)),
        (status = 501, description = "No relying party configured (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn register_start<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
    current: CurrentUser<U>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    let start = auth
        .service()
        .passkey_register_start(auth.db(), &current.user, &current.actor(client))
        .await?;
    Ok(started(&auth, &cookies, start))
}

/// Finishes the registration: stores the passkey.
#[utoipa::path(
    post,
    path = "/passkeys/register/finish",
    tag = "passkeys",
    request_body = RegisterFinishDoc,
    responses(
        (status = 201, description = "Registered.", body = inline(Envelope<PasskeyInfo>)),
        (status = 400, description = "No ceremony under way in this browser for this user (`invalid_ceremony`), an expired one (`ceremony_expired`), or the credential was refused (`invalid_credential`).", body = ErrorBody),
        (status = 422, description = "Invalid input (`invalid_input`).", body = ErrorBody),
        (status = 501, description = "No relying party configured (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn register_finish<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
    current: CurrentUser<U>,
    Client(client): Client,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    // Who may act comes before what they sent (the service checks sudo mode again).
    let actor = current.actor(client);
    actor.own_login(current.user.id())?;
    auth.service().webauthn_config()?;
    let body: RegisterFinishBody = parse(body)?;
    let name = body.name.as_deref().map_or("Passkey", str::trim);
    if name.is_empty() || name.chars().count() > passkey::MAX_NAME_CHARS {
        return Err(ApiError::invalid(format!(
            "name: 1 to {} characters",
            passkey::MAX_NAME_CHARS
        )));
    }
    let token = take_token(&auth, &cookies);
    let info = auth
        .service()
        .passkey_register_finish(
            auth.db(),
            &current.user,
            &token,
            &body.credential,
            name,
            &actor,
        )
        .await?;
    Ok(response::with_status(
        StatusCode::CREATED,
        info,
        "passkey registered",
    ))
}

/// Starts a usernameless passkey login.
#[utoipa::path(
    post,
    path = "/passkeys/login/start",
    tag = "passkeys",
    responses(
        (status = 200, description = "The options for `navigator.credentials.get` (no credential listed: the authenticator offers its discoverable ones); sets the `auth_webauthn` ceremony cookie.", body = inline(Envelope<OptionsDoc>)),
        (status = 501, description = "No relying party configured (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn login_start<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
) -> Result<Response, ApiError> {
    let start = auth.service().passkey_login_start(auth.db()).await?;
    Ok(started(&auth, &cookies, start))
}

/// Finishes a passkey login: opens a session as `POST login` does.
#[utoipa::path(
    post,
    path = "/passkeys/login/finish",
    tag = "passkeys",
    request_body = AssertionDoc,
    responses(
        (status = 200, description = "Logged in: the user with roles and groups (and `csrf_token`); sets the session cookie and the CSRF cookie.", body = inline(Envelope<UserWithMemberships>)),
        (status = 400, description = "No ceremony under way in this browser (`invalid_ceremony`) or an expired one (`ceremony_expired`).", body = ErrorBody),
        (status = 401, description = "The assertion was refused (`invalid_credential`).", body = ErrorBody),
        (status = 403, description = "The account is inactive (`inactive_account`).", body = ErrorBody),
        (status = 422, description = "Invalid input (`invalid_input`).", body = ErrorBody),
        (status = 429, description = "Too many failed logins from this client (`too_many_attempts`).", body = ErrorBody),
        (status = 501, description = "No relying party configured (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn login_finish<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
    Client(client): Client,
    JsonBody(credential): JsonBody<Value>,
) -> Result<Response, ApiError> {
    auth.service().webauthn_config()?;
    let credential: PublicKeyCredential = parse(credential)?;
    let token = take_token(&auth, &cookies);
    let (user, token, session) = auth
        .service()
        .passkey_login_finish(auth.db(), &token, &credential, &client)
        .await?;
    // A new session: the one presented before (if any) ends, as with `POST login`.
    if let Some(old) = cookies.get(&auth.http().cookie.name) {
        let mut conn = auth.db().conn().await?;
        auth_core::session::delete_by_token(&mut conn, old.value()).await?;
    }
    let done = LoggedIn {
        user,
        token,
        session,
    };
    super::account::session_login_answer(&auth, &cookies, done).await
}

/// The user's passkeys (never the key material).
#[utoipa::path(
    get,
    path = "/passkeys",
    tag = "passkeys",
    responses(
        (status = 200, description = "The passkeys.", body = inline(Envelope<Vec<PasskeyInfo>>)),
        (status = 501, description = "No relying party configured (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn list<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    let keys = auth
        .service()
        .passkeys(auth.db(), &current.user, &current.actor(client))
        .await?;
    Ok(response::ok(keys, "passkeys"))
}

/// Deletes one of the user's passkeys.
#[utoipa::path(
    delete,
    path = "/passkeys/{id}",
    tag = "passkeys",
    params(("id" = i64, Path, description = "The passkey's id.")),
    responses(
        (status = 200, description = "Deleted.", body = inline(Envelope<Nothing>)),
        (status = 404, description = "Not one of the user's passkeys (`not_found`).", body = ErrorBody),
        (status = 501, description = "No relying party configured (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn delete<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("passkey"))?;
    auth.service()
        .passkey_delete(auth.db(), &current.user, &current.actor(client), id)
        .await?;
    Ok(response::ok(Value::Null, "passkey deleted"))
}

/// `POST login/mfa/passkey` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MfaPasskeyStart)]
pub(crate) struct MfaStartBody {
    /// The `mfa_token` of the login's answer.
    mfa_token: String,
}

/// Starts a passkey re-authentication of the logged-in user (sudo mode, `fresh` guards):
/// the options list their passkeys. Finish with `POST reauthenticate` and `{passkey: <the
/// assertion>}`, in the same browser.
#[utoipa::path(
    post,
    path = "/reauthenticate/passkey",
    tag = "passkeys",
    responses(
        (status = 200, description = "The options for `navigator.credentials.get`; sets the `auth_webauthn` ceremony cookie.", body = inline(Envelope<OptionsDoc>)),
        (status = 400, description = "The user has no passkey (`invalid_credential`).", body = ErrorBody),
        (status = 501, description = "No relying party configured (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn reauth_start<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
    current: CurrentUser<U>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    let start = auth
        .service()
        .passkey_reauth_start(auth.db(), &current.user, &current.actor(client))
        .await?;
    Ok(started(&auth, &cookies, start))
}

/// Starts the passkey form of a login's second step (for a user with MFA whose login
/// answered `methods` with `passkey`): the options list that user's passkeys. Finish with
/// `POST login/mfa` and `{mfa_token, passkey: <the assertion>}`, in the same browser.
#[utoipa::path(
    post,
    path = "/login/mfa/passkey",
    tag = "passkeys",
    request_body = MfaStartBody,
    responses(
        (status = 200, description = "The options for `navigator.credentials.get`; sets the `auth_webauthn` ceremony cookie.", body = inline(Envelope<OptionsDoc>)),
        (status = 400, description = "The user has no passkey (`invalid_credential`).", body = ErrorBody),
        (status = 401, description = "Unknown, used or expired `mfa_token` (`invalid_token`).", body = ErrorBody),
        (status = 501, description = "No relying party configured (`not_configured`).", body = ErrorBody),
    )
)]
pub(crate) async fn mfa_start<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
    JsonBody(body): JsonBody<MfaStartBody>,
) -> Result<Response, ApiError> {
    super::mfa::check_mfa_token(&body.mfa_token)?;
    let start = auth
        .service()
        .passkey_mfa_start(auth.db(), &body.mfa_token)
        .await?;
    Ok(started(&auth, &cookies, start))
}
