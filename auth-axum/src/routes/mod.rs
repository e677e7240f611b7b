//! The mountable auth router.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | `register` | `{account, password, email?, platform?, extra?: {email?, <custom field>: value}}` (custom fields also at the top level) | 201, the user (409 when taken); with [`crate::RegistrationMode::Private`], 202 and no data either way |
//! | POST | `login` | `{account, password, platform?, extra?}` | 200, the user with roles and groups (and `csrf_token` when CSRF protection is on); sets the session cookie and the CSRF cookie. With [`auth_core::service::AuthServiceBuilder::login_by_email`], `account` may be the user's e-mail address |
//! | POST | `logout` | | 200; the session is deleted server-side, the cookies cleared |
//! | GET | `me` | | 200, the user with roles and groups |
//! | PATCH | `me` | `{email?, <custom field>: value, ...}` (custom fields also under `extra`) | 200, the updated user with roles and groups |
//! | POST | `change-password` | `{old_password, new_password}` | 200; the user's other sessions end |
//! | POST | `forgot-password` | `{account}` or `{email}` | 202 whether or not the account exists; the reset mail goes out in the background; 501 `not_configured` without account mail |
//! | POST | `request-verify` | | 202; a verification mail goes out (200 when already verified) |
//! | POST | `reset-password` | `{token, new_password}` | 200; every session of the user ends; 400 `invalid_token` / `token_expired` |
//! | GET | `reset-password?token=` | | 200 `{valid: true}` while the token is usable (it is not used up) |
//! | POST | `verify` | `{token}` | 200, the user, now verified; 400 `invalid_token` / `token_expired` |
//! | GET | `verify?token=` | | 200 `{valid: true}` while the token is usable |
//! | GET | `sessions` | | 200, the user's live sessions (`current` marks this one) |
//! | DELETE | `sessions/{id}` | | 200; 404 when it is not one of the user's |
//! | POST | `api-keys` | `{name, permissions?: [codes], expires_in_days?: 1..=3650}` | 201 `{id, name, key, prefix, permissions, expires_at, created_at, last_used_at}`: `key` is shown only here; 403 for a permission the user does not hold |
//! | GET | `api-keys` | | 200, the user's keys (never the key itself) |
//! | DELETE | `api-keys/{id}` | | 200; 404 when it is not one of the user's |
//! | POST | `token` | `{account, password}` | 200 `{access_token, refresh_token, token_type: "Bearer", expires_in}`; throttled and audited like `login` (an e-mail address in `account` as for `login`) |
//! | POST | `token/refresh` | `{refresh_token}` | 200, the next pair; 401 `invalid_token` when unknown, expired, used (the family then ends) or its login ended |
//! | POST | `token/revoke` | `{refresh_token}` | 200 (also for an unknown token); the family and its access tokens end |
//! | POST | `passkeys/register/start` | | 200, the options for `navigator.credentials.create` (a discoverable credential, user verification required); sets the `auth_webauthn` ceremony cookie (`HttpOnly`, `SameSite=Strict`, 5 minutes) |
//! | POST | `passkeys/register/finish` | the browser's `RegisterPublicKeyCredential` (binary fields base64url), `name?` | 201 `{id, name, created_at, last_used_at}`; 400 `invalid_ceremony` / `ceremony_expired` (the ceremony cookie is missing, used, another user's or too old) or `invalid_credential` |
//! | POST | `passkeys/login/start` | | 200, the options for `navigator.credentials.get` (usernameless: no credential listed); sets the ceremony cookie |
//! | POST | `passkeys/login/finish` | the browser's `PublicKeyCredential` (the assertion) | 200 and cookies as `login`; 401 `invalid_credential`, 403 `inactive_account`, 429 (per IP), 400 `invalid_ceremony` / `ceremony_expired` |
//! | GET | `passkeys` | | 200, the user's passkeys `[{id, name, created_at, last_used_at}]` (never the key material) |
//! | DELETE | `passkeys/{id}` | | 200; 404 when it is not one of the user's |
//! | POST | `login/mfa/passkey` | `{mfa_token}` | 200, the options for `navigator.credentials.get` listing the passkeys of the challenge's user; sets the ceremony cookie. Finish with `POST login/mfa` and `{mfa_token, passkey}`; 401 `invalid_token`, 400 `invalid_credential` when the user has none |
//! | GET | `.well-known/jwks.json` | | 200, the public keys as a bare JWKS `{"keys": [...]}` |
//! | POST | `login/mfa` | `{mfa_token, code}`, `{mfa_token, backup_code}` or `{mfa_token, passkey}` (after `login/mfa/passkey`) | 200, as the login that issued `mfa_token` answers (the session cookie and the user; the user with tokens for `platform: "jwt"`; the token pair for `POST token`); 400 `invalid_code`, 401 `invalid_token` (unknown, used, expired), 429 after too many wrong codes |
//! | GET | `mfa` | | 200 `{enabled, methods, backup_codes_remaining}` |
//! | POST | `mfa/totp/setup` | | 200 `{secret, otpauth_uri, qr_svg}`: a new TOTP secret (stored encrypted); MFA is not on yet; 409 `mfa_already_enabled` |
//! | POST | `mfa/totp/confirm` | `{code}` | 200 `{backup_codes: [10]}` (shown once): MFA is on, this session counts as MFA-passed; 400 `invalid_code` |
//! | POST | `mfa/totp/disable` | `{password, code}` | 200 `{enabled: false, ...}`: authenticator and backup codes deleted |
//! | POST | `mfa/backup-codes` | `{password, code}` | 200 `{backup_codes: [10]}`: the old ones stop working |
//! | POST | `reauthenticate` | `{password}` or `{code}` | 200, the session, proven again now (a code also marks it MFA-passed): `fresh` guards accept it again |
//! | GET | `oauth/{provider}/authorize?next=` | | 302 to the provider (state, PKCE S256, nonce); sets the `auth_oauth` binding cookie; 404 unknown provider, 422 `next` not a local path, 503 provider unreachable |
//! | GET | `oauth-login-redirect?platform=&next=` | | seed 000's name for `oauth/{provider}/authorize` |
//! | GET | `oauth/{provider}/callback?code&state` | | 302 to `next` with the session cookie (or to the MFA page with `#mfa_token=...`); 400 `invalid_state` / `state_expired` / `provider_error` / `invalid_nonce` / `invalid_id_token`, 409 `identity_taken` (linking) |
//! | POST | `oauth/{provider}/link?next=` | | 303, as `authorize`, for the logged-in user (a session proven in the last 10 minutes, else 403 `reauthentication_required`): the callback links the identity |
//! | POST | `oauth/{provider}/reauthenticate?next=` | | 303 to the provider for a fresh login (`prompt=login`, `max_age=0`): the callback puts the session in sudo mode |
//! | GET | `identities` | | 200, the user's linked identities |
//! | DELETE | `identities/{id}` | | 200, the identity unlinked; 404 when not the user's; 409 `last_login_method` |
//! | GET | `openapi.json` | | 200, the OpenAPI 3.1 document of this router, paths under its mount point (see [`crate::openapi`]) |
//!
//! The passkey routes (Cargo feature `passkeys`, on by default) need a relying party
//! ([`auth_core::service::AuthServiceBuilder::webauthn`], or `AUTH_WEBAUTHN_*`); without
//! one they answer 501 `not_configured`. A passkey login opens a session (platform
//! `passkey`) as `login` does, throttled per client IP and audited `login.success`; the
//! session has passed a second factor (its `mfa_at` is set).
//!
//! With MFA on ([`auth_core::service::AuthServiceBuilder::mfa`]), a user who turned it on
//! gets `{mfa_required: true, mfa_token, methods, expires_at}` from `POST login` and
//! `POST token` (no cookie, no token) and finishes at `POST login/mfa`. The `mfa` routes
//! need a session (not an API key); without an MFA configuration they answer 501
//! `not_configured`.
//!
//! The token routes need a JWT configuration
//! ([`auth_core::service::AuthServiceBuilder::jwt`]); without one they answer 501
//! `not_configured`. With one, `POST login` with `platform: "jwt"` answers the user (as
//! `login` does) together with the token fields (and `token`, seed 000's name for the
//! access token) and sets no cookie. An access token authenticates with
//! `Authorization: Bearer <token>`; a JWT login is a session (listed under `sessions`,
//! ended by `logout` with its token, by a password change elsewhere, by deactivation).
//!
//! A user is answered in seed 000's wire format: the core fields (`id`, `account`, `email`,
//! the flags and times) at the top level, the model's custom fields under `extra`, never
//! the password hash; `login` and `me` add `roles` and `groups` as `[{id, name}]` (the
//! global ones, direct or through a group).
//!
//! An API key authenticates with `Authorization: Bearer <key>` or `X-API-Key: <key>`, for
//! every extractor and guard; its permissions are the user's, intersected with the key's
//! list when it has one. `logout`, `PATCH me`, `change-password`, `sessions`,
//! `api-keys` and `passkeys` (but `passkeys/login/*`) need a session: with a key they answer 403 `session_required`.
//!
//!
//! The admin endpoints live under `admin/` (see [`admin`]): users (list, create, show,
//! change and rename, suspend, delete, roles, groups, set the password, list and revoke
//! their sessions), roles, groups, permissions, the overview, the audit log and the login
//! locks.
//!
//! With a session cookie, the unsafe methods (`POST`, `PATCH`, `DELETE`, ...) pass the CSRF
//! check of the layer ([`crate::CsrfConfig`]): a same-origin `Origin` (or `Referer`), or the
//! `X-CSRF-Token` header echoing the CSRF cookie / login's `csrf_token`.
//!
//! Every answer of this router carries `Cache-Control: no-store`: user data, session lists
//! and CSRF tokens must not stay in a browser or proxy cache.
//!
//! Mount it anywhere: `app.nest("/api/contrib/auth", auth.router())`, and add
//! `auth.layer()` to the application.

pub(crate) mod account;
pub(crate) mod admin;
pub(crate) mod answers;
pub(crate) mod api_keys;
mod documented;
pub(crate) mod identities;
pub(crate) mod me;
pub(crate) mod mfa;
#[cfg(feature = "oauth")]
pub(crate) mod oauth;
mod openapi_json;
#[cfg(feature = "passkeys")]
pub(crate) mod passkeys;
pub(crate) mod recovery;
pub(crate) mod sessions;
pub(crate) mod tokens;
mod validate;
mod wire;

use auth_core::UserStore;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use serde::Serialize;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::layer::Auth;
pub(crate) use documented::{Access, Documented};

impl<U: UserStore + Clone + Serialize> Auth<U> {
    /// The auth routes (see the module docs) and `openapi.json`, with the body limit
    /// applied.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let (router, paths) = documented_routes::<U>().into_parts();
        let document =
            crate::openapi::document::build::<U>(paths, &self.http().cookie.session_name());
        router
            .route("/openapi.json", openapi_json::route(document))
            .layer(DefaultBodyLimit::max(self.http().body_limit))
            .layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            .with_state(self.clone())
    }
}

/// Every documented route: the router and its OpenAPI paths, built together.
pub(crate) fn documented_routes<U: UserStore + Clone + Serialize>() -> Documented<U> {
    use Access::{Public, Session, User};
    let routes = Documented::new()
        .route(account::__path_register, Public, account::register::<U>)
        .route(account::__path_login, Public, account::login::<U>)
        .route(account::__path_logout, Session, account::logout::<U>)
        .route(me::__path_get, User, me::get::<U>)
        .route(me::__path_patch, Session, me::patch::<U>)
        .route(
            me::__path_change_password,
            Session,
            me::change_password::<U>,
        )
        .route(
            recovery::__path_forgot_password,
            Public,
            recovery::forgot_password::<U>,
        )
        .route(
            recovery::__path_request_verify,
            User,
            recovery::request_verify::<U>,
        )
        .route(
            recovery::__path_check_reset,
            Public,
            recovery::check_reset::<U>,
        )
        .route(
            recovery::__path_reset_password,
            Public,
            recovery::reset_password::<U>,
        )
        .route(
            recovery::__path_check_verify,
            Public,
            recovery::check_verify::<U>,
        )
        .route(recovery::__path_verify, Public, recovery::verify::<U>)
        .route(sessions::__path_list, Session, sessions::list::<U>)
        .route(sessions::__path_revoke, Session, sessions::revoke::<U>)
        .route(
            sessions::__path_revoke_others,
            Session,
            sessions::revoke_others::<U>,
        )
        .route(api_keys::__path_list, Session, api_keys::list::<U>)
        .route(api_keys::__path_create, Session, api_keys::create::<U>)
        .route(api_keys::__path_revoke, Session, api_keys::revoke::<U>)
        .route(tokens::__path_token, Public, tokens::token::<U>)
        .route(tokens::__path_refresh, Public, tokens::refresh::<U>)
        .route(tokens::__path_revoke, Public, tokens::revoke::<U>)
        .route(tokens::__path_jwks, Public, tokens::jwks::<U>)
        .route(mfa::__path_login_mfa, Public, mfa::login_mfa::<U>)
        .route(mfa::__path_status, User, mfa::status::<U>)
        .route(mfa::__path_setup, Session, mfa::setup::<U>)
        .route(mfa::__path_confirm, Session, mfa::confirm::<U>)
        .route(mfa::__path_disable, Session, mfa::disable::<U>)
        .route(mfa::__path_backup_codes, Session, mfa::backup_codes::<U>)
        .route(
            mfa::__path_reauthenticate,
            Session,
            mfa::reauthenticate::<U>,
        );
    #[cfg(feature = "passkeys")]
    let routes = routes
        .route(
            passkeys::__path_register_start,
            Session,
            passkeys::register_start::<U>,
        )
        .route(
            passkeys::__path_register_finish,
            Session,
            passkeys::register_finish::<U>,
        )
        .route(
            passkeys::__path_login_start,
            Public,
            passkeys::login_start::<U>,
        )
        .route(
            passkeys::__path_login_finish,
            Public,
            passkeys::login_finish::<U>,
        )
        .route(passkeys::__path_list, Session, passkeys::list::<U>)
        .route(passkeys::__path_delete, Session, passkeys::delete::<U>)
        .route(passkeys::__path_mfa_start, Public, passkeys::mfa_start::<U>)
        .route(
            passkeys::__path_reauth_start,
            Session,
            passkeys::reauth_start::<U>,
        );
    let routes = routes
        .route(identities::__path_list, User, identities::list::<U>)
        .route(identities::__path_unlink, Session, identities::unlink::<U>);
    #[cfg(feature = "oauth")]
    let routes = routes
        .route(oauth::__path_authorize, Public, oauth::authorize::<U>)
        .route(
            oauth::__path_login_redirect,
            Public,
            oauth::login_redirect::<U>,
        )
        .route(oauth::__path_link, Session, oauth::link::<U>)
        .route(
            oauth::__path_reauthenticate,
            Session,
            oauth::reauthenticate::<U>,
        )
        .route(oauth::__path_callback, Public, oauth::callback::<U>);
    admin::routes(routes)
}
