//! register, login, logout.

use auth_core::backend::{LoginRequest, RegisterRequest};
use auth_core::mfa::challenge::Finish;
use auth_core::service::{JWT_PLATFORM, LoggedIn, LoginOutcome, MfaChallenge, TokenPair};
use auth_core::{UserStore, session};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tower_cookies::cookie::{Cookie, SameSite};

use super::{validate, wire};
use crate::config::RegistrationMode;
use crate::csrf;
use crate::extract::{Client, CurrentUser, Jar};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::openapi::model::refs::{self, LoginAnswer, Nothing, User};
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// `POST register` body: custom fields (and `email`) may come in `extra` or at the top
/// level (seed 000 sends them in `extra`).
// No `Debug`: it holds a secret that must never reach a log.
#[derive(Deserialize)]
pub(crate) struct RegisterBody {
    account: String,
    password: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    extra: Map<String, Value>,
    #[serde(flatten)]
    top_level: Map<String, Value>,
}

/// `POST login` body.
// No `Debug`: it holds a secret that must never reach a log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LoginRequest)]
pub(crate) struct LoginBody {
    /// The account name (or, with login by e-mail, the e-mail address).
    account: String,
    /// The password.
    #[schema(format = Password)]
    password: String,
    /// The backend: `default` when absent; `jwt` answers tokens instead of a cookie.
    #[serde(default)]
    platform: Option<String>,
    /// Backend-specific data.
    #[serde(default)]
    #[schema(value_type = Object)]
    extra: Map<String, Value>,
}

/// Registers a user. Custom fields come under `extra` or at the top level.
#[utoipa::path(
    post,
    path = "/register",
    tag = "account",
    request_body = refs::RegisterRequest,
    responses(
        (status = 201, description = "Registered.", body = inline(Envelope<User>)),
        (status = 202, description = "Private registration: received, nothing more is said.", body = inline(Envelope<Nothing>)),
        (status = 409, description = "The account or e-mail is taken (`conflict`).", body = ErrorBody),
        (status = 422, description = "Invalid input or a weak password (`invalid_input`, `weak_password`).", body = ErrorBody),
    )
)]
pub(crate) async fn register<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Client(client): Client,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<Response, ApiError> {
    validate::account(&body.account)?;
    validate::password("password", &body.password)?;
    validate::platform(body.platform.as_deref())?;
    let mut extra = wire::merge_extra(body.extra, body.top_level)?;
    let email = wire::take_email(body.email, &mut extra)?;
    wire::only_custom_fields::<U>(&extra)?;
    if let Some(email) = &email {
        validate::email(email)?;
    }
    // No connection here: the service checks one out per step, never across the hash.
    let req = RegisterRequest {
        account: body.account,
        password: body.password,
        email,
        extra,
    };
    let platform = body.platform.as_deref();
    if auth.http().registration == RegistrationMode::Private {
        auth.service()
            .register_quietly(auth.db(), platform, &req, &client)
            .await?;
        return Ok(response::with_status(
            StatusCode::ACCEPTED,
            Value::Null,
            "registration received; check your e-mail",
        ));
    }
    let user = auth.service().register(auth.db(), platform, &req).await?;
    auth.service()
        .mail_verification_to_new(auth.db(), &user, &client)?;
    Ok(response::with_status(
        StatusCode::CREATED,
        wire::user(&user)?,
        "registered",
    ))
}

/// The session cookie, with the configured attributes.
pub(crate) fn session_cookie<U: UserStore>(auth: &Auth<U>, value: String) -> Cookie<'static> {
    let cfg = &auth.http().cookie;
    let mut cookie = Cookie::build((cfg.session_name(), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(cfg.secure);
    if let Some(domain) = &cfg.domain {
        cookie = cookie.domain(domain.clone());
    }
    if let Some(age) = auth.http().cookie_max_age {
        cookie = cookie.max_age(time::Duration::try_from(age).unwrap_or(time::Duration::WEEK));
    }
    cookie.build()
}

/// Sets the cookies of a new session: the session cookie holding `token` and, with CSRF
/// protection on, the CSRF cookie; returns the CSRF token.
pub(crate) fn add_session_cookies<U: UserStore>(
    auth: &Auth<U>,
    cookies: &tower_cookies::Cookies,
    token: String,
) -> Option<String> {
    let csrf_token = auth.inner.csrf.enabled().then(|| csrf::token_for(&token));
    cookies.add(session_cookie(auth, token));
    if let Some(csrf_token) = &csrf_token {
        cookies.add(csrf_cookie(auth, csrf_token.clone()));
    }
    csrf_token
}

/// The CSRF token cookie: readable by scripts (not `HttpOnly`), otherwise with the session
/// cookie's attributes (`SameSite=Lax`, `Path=/`, `Secure`, `Domain`, `Max-Age`).
pub(crate) fn csrf_cookie<U: UserStore>(auth: &Auth<U>, value: String) -> Cookie<'static> {
    let mut cookie = session_cookie(auth, value);
    cookie.set_name(auth.http().cookie.named(&auth.http().csrf.cookie_name));
    cookie.set_http_only(false);
    cookie
}

/// Clears the session cookie and the CSRF cookie (the latter whether or not the request
/// carried it: a removal cookie, not a jar removal).
pub(crate) fn clear_cookies<U: UserStore>(auth: &Auth<U>, cookies: &tower_cookies::Cookies) {
    cookies.remove(session_cookie(auth, String::new()));
    let mut csrf_removal = csrf_cookie(auth, String::new());
    csrf_removal.make_removal();
    cookies.add(csrf_removal);
}

/// Logs in: sets the session cookie (and the CSRF cookie), or answers tokens with
/// `platform: "jwt"`.
#[utoipa::path(
    post,
    path = "/login",
    tag = "account",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in: the user with roles and groups (and the token fields with `platform: \"jwt\"`); or, for a user with MFA, the challenge of the second step (`POST login/mfa`), with no cookie.", body = inline(Envelope<LoginAnswer>)),
        (status = 401, description = "Wrong account or password (`invalid_credentials`).", body = ErrorBody),
        (status = 403, description = "The account is inactive (`inactive_account`).", body = ErrorBody),
        (status = 429, description = "Too many failed logins (`too_many_attempts`).", body = ErrorBody),
    )
)]
pub(crate) async fn login<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
    Client(client): Client,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    // Shape checks only: an account that could never exist simply fails to log in.
    super::tokens::check_login_account(&body.account)?;
    validate::platform(body.platform.as_deref())?;
    if body.platform.as_deref() == Some(JWT_PLATFORM) && auth.service().jwt().is_some() {
        return login_for_tokens(&auth, &client, body).await;
    }
    // A new token every login: the session presented before (if any) ends.
    if let Some(old) = cookies.get(&auth.http().cookie.session_name()) {
        let mut conn = auth.db().conn().await?;
        session::delete_by_token(&mut conn, old.value()).await?;
    }
    let req = LoginRequest {
        account: body.account,
        password: body.password,
        extra: body.extra,
    };
    // No connection held across the password check: the service takes its own per step.
    let outcome = auth
        .service()
        .login(auth.db(), body.platform.as_deref(), &req, &client)
        .await?;
    match outcome {
        LoginOutcome::Complete(done) => session_login_answer(&auth, &cookies, done).await,
        LoginOutcome::MfaRequired(challenge) => Ok(mfa_required_answer(challenge)),
    }
}

/// 200 with the MFA challenge of a password login: no cookie, no token.
pub(crate) fn mfa_required_answer(challenge: MfaChallenge) -> Response {
    response::ok(challenge, "second factor required")
}

/// The answer of a login that opened a cookie session (`POST login`, its MFA step, a
/// passkey): the session and CSRF cookies, and the user with roles and groups (with
/// `csrf_token` when CSRF protection is on).
pub(crate) async fn session_login_answer<U: UserStore + Clone + Serialize>(
    auth: &Auth<U>,
    cookies: &tower_cookies::Cookies,
    done: LoggedIn<U>,
) -> Result<Response, ApiError> {
    let LoggedIn { user, token, .. } = done;
    let mut conn = auth.db().conn().await?;
    let csrf_token = add_session_cookies(auth, cookies, token);
    let mut data = wire::user_with_memberships(&mut conn, &user).await?;
    if let (Value::Object(map), Some(csrf_token)) = (&mut data, csrf_token) {
        map.insert("csrf_token".into(), csrf_token.into());
    }
    Ok(response::ok(data, "logged in"))
}

/// `POST login` with `platform: "jwt"` (seed 000's switch): the token login of
/// `POST token`, answered with the user as `login` answers it plus the token fields (and
/// `token`, seed 000's name for the access token). No cookie is set.
async fn login_for_tokens<U: UserStore + Clone + Serialize>(
    auth: &Auth<U>,
    client: &auth_core::service::ClientInfo,
    body: LoginBody,
) -> Result<Response, ApiError> {
    let req = LoginRequest {
        account: body.account,
        password: body.password,
        extra: body.extra,
    };
    let outcome = auth
        .service()
        .login_for_tokens(auth.db(), &req, client, Finish::JwtLogin)
        .await?;
    match outcome {
        LoginOutcome::Complete((user, pair)) => jwt_login_answer(auth, &user, &pair).await,
        LoginOutcome::MfaRequired(challenge) => Ok(mfa_required_answer(challenge)),
    }
}

/// The answer of a JWT login at `POST login`: the user with the token fields.
pub(crate) async fn jwt_login_answer<U: UserStore + Clone + Serialize>(
    auth: &Auth<U>,
    user: &U,
    pair: &TokenPair,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    let mut data = wire::user_with_memberships(&mut conn, user).await?;
    let tokens = serde_json::to_value(pair).map_err(|e| ApiError::internal(&e))?;
    if let (Value::Object(map), Value::Object(tokens)) = (&mut data, tokens) {
        map.insert("token".into(), pair.access_token.clone().into());
        map.extend(tokens);
    }
    Ok(response::ok(data, "logged in"))
}

/// Logs out: the session ends server-side and the cookies are cleared.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "account",
    responses((status = 200, description = "Logged out.", body = inline(Envelope<Nothing>)))
)]
pub(crate) async fn logout<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Jar(cookies): Jar,
    current: CurrentUser<U>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    auth.service()
        .logout(auth.db(), &current.user, &current.actor(client))
        .await?;
    clear_cookies(&auth, &cookies);
    Ok(response::ok(Value::Null, "logged out"))
}
