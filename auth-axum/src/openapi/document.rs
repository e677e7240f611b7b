//! Assembles the document: the paths the router registered, the component schemas, the
//! security schemes, and the schemas derived from the user model.

use auth_core::AuthUser;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, Paths};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};

use auth_core::rbac::{self, manage};
use auth_core::{api_key, audit, mfa, service, session, throttle, user_status};

use super::model;
use super::model::refs::Nothing;
use crate::response::{ErrorBody, ErrorCode};
use crate::routes::{account, admin, answers, api_keys, me, recovery, sessions, tokens};

/// The security scheme of the session cookie.
pub(crate) const SESSION_SCHEME: &str = "session";
/// The security scheme of `Authorization: Bearer` (a JWT access token or an API key).
pub(crate) const BEARER_SCHEME: &str = "bearer";
/// The security scheme of `X-API-Key`.
pub(crate) const API_KEY_SCHEME: &str = "api_key";

/// The name of the error envelope's schema.
pub(crate) const ERROR_SCHEMA: &str = "Error";

/// What the derive collects: the info block (from this crate's manifest), the tags and
/// the component schemas of the request and answer types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "axum-auth",
        description = "Authentication and administration routes of the auth router. \
            Every answer is an envelope: `{success: true, data, message}`, or \
            `{success: false, code, message}` where `code` is stable. With the session \
            cookie, unsafe methods need a same-origin `Origin` or the `X-CSRF-Token` \
            header echoing the CSRF cookie."
    ),
    tags(
        (name = "account", description = "Registration, login and logout."),
        (name = "me", description = "The logged-in user's own account."),
        (name = "recovery", description = "Password reset and e-mail verification."),
        (name = "sessions", description = "The user's own sessions."),
        (name = "api-keys", description = "The user's API keys."),
        (name = "tokens", description = "JWT access and refresh tokens."),
        (name = "mfa", description = "Multi-factor authentication: TOTP and backup codes."),
        (name = "admin", description = "User, role, group and permission administration.")
    ),
    components(schemas(
        ErrorCode,
        ErrorBody,
        Nothing,
        rbac::Named,
        manage::ScopedRole,
        manage::RoleInfo,
        manage::GroupInfo,
        manage::PermissionInfo,
        user_status::UserStatus,
        session::Session,
        api_key::ApiKey,
        service::TokenPair,
        service::MfaChallenge,
        service::MfaStatus,
        mfa::Method,
        mfa::totp::Setup,
        crate::routes::mfa::ConfirmBody,
        crate::routes::mfa::PasswordAndCode,
        crate::routes::mfa::BackupCodes,
        crate::routes::mfa::LoginMfaBody,
        crate::routes::mfa::ReauthBody,
        audit::AuditEvent,
        throttle::Lock,
        throttle::Scope,
        account::LoginBody,
        me::ChangePasswordBody,
        recovery::ForgotBody,
        recovery::ResetBody,
        recovery::VerifyBody,
        sessions::SessionView,
        api_keys::CreateBody,
        api_keys::Created,
        tokens::TokenBody,
        tokens::RefreshBody,
        answers::TokenValid,
        answers::EndedSessions,
        admin::users::RolesBody,
        admin::users::GroupsBody,
        admin::users::PasswordBody,
        admin::roles::CreateBody,
        admin::roles::PatchBody,
        admin::roles::PermissionsBody,
        auth_core::service::admin::RoleDetail,
        admin::groups::CreateBody,
        admin::groups::PatchBody,
        admin::groups::RolesBody,
        auth_core::service::admin::GroupDetail,
        admin::permissions::CreateBody,
        auth_core::service::admin::Overview,
        auth_core::service::admin::OverviewCounts,
        auth_core::service::admin::OverviewRole,
        auth_core::service::admin::OverviewGroup,
    ))
)]
struct Base;

/// The whole document for the user model `U`, with `paths` as registered and the session
/// cookie named `cookie_name`.
pub(crate) fn build<U: AuthUser>(paths: Paths, cookie_name: &str) -> utoipa::openapi::OpenApi {
    let mut api = Base::openapi();
    api.paths = paths;
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SESSION_SCHEME,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            cookie_name,
            "The session cookie `login` sets.",
        ))),
    );
    components.add_security_scheme(
        BEARER_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A JWT access token from `token`, or an API key from `api-keys`.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        API_KEY_SCHEME,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-API-Key",
            "An API key from `api-keys`.",
        ))),
    );
    for (name, schema) in model::schemas::<U>() {
        components.schemas.insert(name, schema);
    }
    api
}

/// Adds the error answer `status` (a code such as `"401"`, or `"default"`) with
/// `description` to `operation`, unless the operation describes that status itself.
pub(crate) fn add_error(operation: &mut Operation, status: &str, description: &str) {
    if operation.responses.responses.contains_key(status) {
        return;
    }
    let response = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ERROR_SCHEMA)))
                .build(),
        )
        .build();
    operation
        .responses
        .responses
        .insert(status.to_owned(), response.into());
}

/// `api` with every path under `prefix` (`""` or a path such as `/api/auth`, no trailing
/// slash): the document as the router mounted there serves it.
pub(crate) fn under_prefix(
    mut api: utoipa::openapi::OpenApi,
    prefix: &str,
) -> utoipa::openapi::OpenApi {
    if prefix.is_empty() {
        return api;
    }
    let paths = std::mem::take(&mut api.paths.paths);
    api.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (format!("{prefix}{path}"), item))
        .collect();
    api
}
