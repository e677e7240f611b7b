//! Login and linking through OpenID Connect and OAuth2 providers (SPEC C11.1).
//!
//! `GET oauth/{provider}/authorize?next=/path` (and seed 000's
//! `GET oauth-login-redirect?platform=<provider>`) answers 302 to the provider, with a
//! random `state`, PKCE S256 and a nonce, stored server-side and bound to this browser by
//! the `auth_oauth` cookie (`HttpOnly`, `SameSite=Lax`: the provider's redirect back is a
//! cross-site top-level navigation). `GET oauth/{provider}/callback` checks all of it
//! (see [`auth_core::service::AuthService::oauth_finish`]), sets the session cookie and
//! answers 302 to `next`. A user with MFA gets no session there: the answer is 302 to the
//! MFA page with `#mfa_token=...&methods=...&next=...` in the fragment, which no server
//! sees; the page finishes with `POST login/mfa`. `POST oauth/{provider}/link` starts the
//! same flow for the logged-in user (a session proven within the last 10 minutes) and
//! links the identity to them instead of logging in. `POST oauth/{provider}/reauthenticate`
//! asks the provider for a fresh login (`prompt=login`, `max_age=0`) and, when its ID token
//! proves one (`auth_time`), puts the session in sudo mode.

use auth_core::UserStore;
use auth_core::service::{OAuthCallback, OAuthOutcome, OAuthStart};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_cookies::Cookies;
use tower_cookies::cookie::{Cookie, SameSite};

use crate::extract::{Client, CurrentUser, Jar, MaybeUser};
use crate::layer::Auth;
use crate::response::{ApiError, ErrorBody};
use crate::routes::account::add_session_cookies;

/// The cookie binding an authorization under way to the browser that started it.
pub(crate) const BINDING_COOKIE: &str = "auth_oauth";

/// `?next=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NextQuery {
    /// Where to go afterwards: a local path (`/app`); default `/`.
    next: Option<String>,
}

/// Seed 000's `?platform=&next=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RedirectQuery {
    /// The provider's name.
    platform: String,
    /// Where to go afterwards: a local path (`/app`); default `/`.
    next: Option<String>,
}

fn binding_cookie<U: UserStore>(auth: &Auth<U>, value: String) -> Cookie<'static> {
    let ttl = auth
        .service()
        .oauth_config()
        .map(|c| c.login_ttl())
        .unwrap_or(auth_core::oauth::state::DEFAULT_STATE_TTL);
    Cookie::build((auth.http().cookie.named(BINDING_COOKIE), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(auth.http().cookie.secure)
        .max_age(time::Duration::try_from(ttl).unwrap_or(time::Duration::minutes(10)))
        .build()
}

/// 302 to `location`.
fn found(location: &str) -> Result<Response, ApiError> {
    let value = HeaderValue::from_str(location)
        .map_err(|_| ApiError::invalid("the redirect target is not a valid header value"))?;
    Ok((StatusCode::FOUND, [(header::LOCATION, value)]).into_response())
}

/// Starts a login (or, with `link_user`, a link) and answers 302 to the provider.
async fn begin<U: UserStore + Clone + Serialize>(
    auth: &Auth<U>,
    cookies: &Cookies,
    provider: &str,
    next: Option<&str>,
    link_user: Option<&U>,
) -> Result<Response, ApiError> {
    let start = auth
        .service()
        .oauth_start(auth.db(), provider, next, link_user)
        .await?;
    to_provider(auth, cookies, start, StatusCode::FOUND)
}

/// Sets the binding cookie of `start` and answers `status` (302 for a GET; 303 for a
/// POST, which the browser follows with a GET) to the provider.
fn to_provider<U: UserStore>(
    auth: &Auth<U>,
    cookies: &Cookies,
    start: OAuthStart,
    status: StatusCode,
) -> Result<Response, ApiError> {
    cookies.add(binding_cookie(auth, start.browser_token));
    let mut answer = found(&start.url)?;
    *answer.status_mut() = status;
    Ok(answer)
}

/// Starts a login at the provider.
#[utoipa::path(
    get,
    path = "/oauth/{provider}/authorize",
    tag = "external identity",
    params(("provider" = String, Path, description = "The provider's configured name."), NextQuery),
    responses(
        (status = 302, description = "To the provider's authorization endpoint (with `state`, `code_challenge` S256 and `nonce`); sets the `auth_oauth` binding cookie."),
        (status = 404, description = "No such provider (`not_found`).", body = ErrorBody),
        (status = 422, description = "`next` is not a local path (`invalid_input`).", body = ErrorBody),
        (status = 503, description = "The provider's discovery document cannot be read (`upstream_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn authorize<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Path(provider): Path<String>,
    Jar(cookies): Jar,
    query: Result<Query<NextQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    begin(&auth, &cookies, &provider, query.next.as_deref(), None).await
}

/// Seed 000's name for `oauth/{provider}/authorize`.
#[utoipa::path(
    get,
    path = "/oauth-login-redirect",
    tag = "external identity",
    params(RedirectQuery),
    responses(
        (status = 302, description = "As `GET oauth/{provider}/authorize`."),
        (status = 404, description = "No such provider (`not_found`).", body = ErrorBody),
        (status = 422, description = "No `platform`, or `next` is not a local path (`invalid_input`).", body = ErrorBody),
        (status = 503, description = "The provider cannot be reached (`upstream_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn login_redirect<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
    query: Result<Query<RedirectQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    begin(
        &auth,
        &cookies,
        &query.platform,
        query.next.as_deref(),
        None,
    )
    .await
}

/// Starts linking a provider to the logged-in user: a POST (a form's, or a script's), so
/// that it passes the CSRF check; a cross-site page cannot start it.
#[utoipa::path(
    post,
    path = "/oauth/{provider}/link",
    tag = "external identity",
    params(("provider" = String, Path, description = "The provider's configured name."), NextQuery),
    responses(
        (status = 303, description = "To the provider (a form's POST follows it); the callback links the identity to this user (no new session)."),
        (status = 403, description = "The session's last proof of identity is older than the sudo window, 10 minutes by default (`reauthentication_required`: `POST reauthenticate`).", body = ErrorBody),
        (status = 404, description = "No such provider (`not_found`).", body = ErrorBody),
        (status = 422, description = "`next` is not a local path (`invalid_input`).", body = ErrorBody),
    )
)]
pub(crate) async fn link<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Path(provider): Path<String>,
    current: CurrentUser<U>,
    Jar(cookies): Jar,
    query: Result<Query<NextQuery>, QueryRejection>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    // Sudo mode: a new way into the account needs a recent proof of identity.
    auth.service()
        .sudo(&current.actor(client), current.user.id())?;
    let Query(query) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    let start = auth
        .service()
        .oauth_start(
            auth.db(),
            &provider,
            query.next.as_deref(),
            Some(&current.user),
        )
        .await?;
    to_provider(&auth, &cookies, start, StatusCode::SEE_OTHER)
}

/// Starts a fresh login at the provider that proves again who the logged-in user is (sudo
/// mode), for a user whose way in is the provider: a POST, which passes the CSRF check.
#[utoipa::path(
    post,
    path = "/oauth/{provider}/reauthenticate",
    tag = "external identity",
    params(("provider" = String, Path, description = "The provider's configured name."), NextQuery),
    responses(
        (status = 303, description = "To the provider, asked to log the user in again (`prompt=login`, `max_age=0`); the callback accepts only a login made after this start, of an identity linked to this user, and then puts the session in sudo mode."),
        (status = 403, description = "An API key (`session_required`).", body = ErrorBody),
        (status = 404, description = "No such provider (`not_found`).", body = ErrorBody),
        (status = 409, description = "No identity of this user at the provider, or a plain OAuth2 provider that cannot prove a fresh login (`no_fresh_login`).", body = ErrorBody),
        (status = 422, description = "`next` is not a local path (`invalid_input`).", body = ErrorBody),
    )
)]
pub(crate) async fn reauthenticate<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Path(provider): Path<String>,
    current: CurrentUser<U>,
    Jar(cookies): Jar,
    query: Result<Query<NextQuery>, QueryRejection>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    let start = auth
        .service()
        .oauth_reauth_start(
            auth.db(),
            &current.user,
            &current.actor(client),
            &provider,
            query.next.as_deref(),
        )
        .await?;
    to_provider(&auth, &cookies, start, StatusCode::SEE_OTHER)
}

/// The provider's redirect back.
#[utoipa::path(
    get,
    path = "/oauth/{provider}/callback",
    tag = "external identity",
    params(("provider" = String, Path, description = "The provider's configured name."), OAuthCallback),
    responses(
        (status = 302, description = "Logged in (the session and CSRF cookies are set), linked, or re-authenticated: to `next`. A user with MFA: to the MFA page with `#mfa_token=...&methods=...&next=...` (no session yet; finish with `POST login/mfa`)."),
        (status = 400, description = "`invalid_state` (unknown, used, another browser's), `state_expired`, `provider_error` (the provider's error, or a rejected code), `invalid_nonce`, `invalid_id_token` (signature, issuer, audience, expiry). No session.", body = ErrorBody),
        (status = 403, description = "The account is inactive (`inactive_account`), or no account and none is created (`no_account`); a re-authentication whose login is not fresh, or not of this account (`stale_login`).", body = ErrorBody),
        (status = 404, description = "No such provider (`not_found`).", body = ErrorBody),
        (status = 409, description = "Linking: the identity is another user's (`identity_taken`).", body = ErrorBody),
        (status = 503, description = "The provider cannot be reached (`upstream_unavailable`).", body = ErrorBody),
    )
)]
pub(crate) async fn callback<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Path(provider): Path<String>,
    Jar(cookies): Jar,
    Client(client): Client,
    MaybeUser(current): MaybeUser<U>,
    query: Result<Query<OAuthCallback>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(callback) = query.map_err(|_| {
        ApiError::from(auth_core::backend::AuthError::OAuth(
            auth_core::oauth::OAuthError::InvalidState,
        ))
    })?;
    let token = cookies
        .get(&auth.http().cookie.named(BINDING_COOKIE))
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let outcome = auth
        .service()
        .oauth_finish(
            auth.db(),
            &provider,
            &callback,
            &token,
            current.as_ref().map(|c| &c.user),
            current
                .as_ref()
                .and_then(|c| c.credential.session())
                .map(|s| s.id),
            &client,
        )
        .await?;
    match outcome {
        OAuthOutcome::LoggedIn { login, next } => {
            add_session_cookies(&auth, &cookies, login.token);
            found(&next)
        }
        OAuthOutcome::MfaRequired { challenge, next } => {
            let page = auth
                .service()
                .oauth_config()
                .and_then(|c| c.mfa_page())
                .unwrap_or(&next);
            let page = page.split('#').next().unwrap_or("/");
            let methods: Vec<&str> = challenge.methods.iter().map(|m| m.as_str()).collect();
            let fragment = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("mfa_token", &challenge.mfa_token)
                .append_pair("methods", &methods.join(","))
                .append_pair("next", &next)
                .finish();
            found(&format!("{page}#{fragment}"))
        }
        OAuthOutcome::Linked { next, .. } | OAuthOutcome::Reauthenticated { next } => found(&next),
    }
}
