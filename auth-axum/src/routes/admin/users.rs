//! `admin/users`: list, create, show, change (rename included), suspend, delete; replace a
//! user's roles and groups; set their password; list and revoke their sessions.

use std::collections::HashMap;

use auth_core::UserFilter;
use auth_core::UserStore;
use auth_core::service::admin::{NewAdminUser, UserChanges};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::page::{self, Page};
use super::parse_id;
use crate::actor::RequestActor;
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::openapi::model::refs::{AdminUser, AdminUserChanges, AdminUserCreate, Nothing};
use crate::permission_required;
use crate::response::{self, ApiError, Envelope, ErrorBody};
use crate::routes::answers::EndedSessions;
use crate::routes::validate;
use auth_core::session::Session;

/// The list's filters: `account` (a literal substring of the account name: `%` and `_`
/// match themselves), `is_active` (`true` or `false`).
fn user_filter(query: &HashMap<String, String>) -> Result<UserFilter, ApiError> {
    let is_active = match query.get("is_active").map(String::as_str) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::invalid("is_active: expected true or false")),
    };
    Ok(UserFilter {
        account_contains: query.get("account").filter(|a| !a.is_empty()).cloned(),
        is_active,
        ..UserFilter::default()
    })
}

/// `GET admin/users?page=&per_page=&account=&is_active=`.
#[utoipa::path(
    get,
    path = "/admin/users",
    tag = "admin",
    params(("page" = Option<i64>, Query, description = "The page, from 1."), ("per_page" = Option<i64>, Query, description = "Its size, 1 to 100 (default 20)."), ("account" = Option<String>, Query, description = "Account names containing this text."), ("is_active" = Option<bool>, Query, description = "Only active or inactive users.")),
    responses(
        (status = 200, description = "Lists users.", body = inline(Envelope<Page<AdminUser>>)),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("users.read")]
pub(crate) async fn list<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = page::ListQuery::parse(query, &["account", "is_active"])?;
    let filter = user_filter(&query.params)?;
    let (items, total) = auth
        .admin()
        .users(&filter, query.offset, query.per_page)
        .await?;
    Ok(response::ok(query.page(items, total), "users"))
}

/// `POST admin/users` body.
// No `Debug`: it holds a secret that must never reach a log.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    account: String,
    password: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    extra: Map<String, Value>,
}

/// Creates a user, with roles.
#[utoipa::path(
    post,
    path = "/admin/users",
    tag = "admin",
    request_body = AdminUserCreate,
    responses(
        (status = 201, description = "Creates a user, with roles.", body = inline(Envelope<AdminUser>)),
        (status = 409, description = "The name is taken (`conflict`).", body = ErrorBody),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("users.manage")]
pub(crate) async fn create<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    RequestActor(actor): RequestActor,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    validate::account(&body.account)?;
    validate::password("password", &body.password)?;
    if let Some(email) = &body.email {
        validate::email(email)?;
    }
    let new = NewAdminUser {
        account: body.account,
        password: body.password,
        email: body.email,
        roles: body.roles,
        extra: body.extra,
    };
    let user = auth.admin().create_user(&actor, new).await?;
    Ok(response::with_status(
        StatusCode::CREATED,
        user,
        "user created",
    ))
}

/// A user, with roles, groups and the suspension.
#[utoipa::path(
    get,
    path = "/admin/users/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "A user, with roles, groups and the suspension.", body = inline(Envelope<AdminUser>)),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
    )
)]
#[permission_required("users.read")]
pub(crate) async fn get<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = auth.admin().user(parse_id(&id, "user")?).await?;
    Ok(response::ok(user, "user"))
}

/// PATCH: `account` (a new name, under the registration rule; 409 `conflict` when taken),
/// `is_active` (bool), `suspend_reason` (text: deactivates and records why; `null` or an
/// empty text is refused), `email` and custom fields. Only the fields sent are written, in
/// one statement. A rename ends nothing (sessions, keys and tokens name the user by id)
/// and is audited in `user.changed` as `account: {old, new}`. Deactivating ends every
/// session of the user at once; activating clears the recorded suspension. A new e-mail
/// address is unverified, kills the user's reset and verification tokens, is audited as
/// `email.changed` and noticed to the old address.
#[utoipa::path(
    patch,
    path = "/admin/users/{id}",
    tag = "admin",
    request_body = AdminUserChanges,
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "Changes, renames, suspends or activates a user.", body = inline(Envelope<AdminUser>)),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 409, description = "The account or e-mail is taken (`conflict`).", body = ErrorBody),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("users.manage")]
pub(crate) async fn patch<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
    JsonBody(mut changes): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "user")?;
    let account = match changes.remove("account") {
        None => None,
        Some(Value::String(account)) => {
            validate::account(&account)?;
            Some(account)
        }
        Some(_) => return Err(ApiError::invalid("account: expected a text")),
    };
    let is_active = match changes.remove("is_active") {
        None => None,
        Some(Value::Bool(b)) => Some(b),
        Some(_) => return Err(ApiError::invalid("is_active: expected true or false")),
    };
    let suspend_reason = match changes.remove("suspend_reason") {
        None => None,
        Some(Value::String(r)) if !r.trim().is_empty() && r.chars().count() <= 1000 => Some(r),
        Some(_) => {
            return Err(ApiError::invalid(
                "suspend_reason: expected a non-empty text of at most 1000 characters",
            ));
        }
    };
    if let Some(Value::String(email)) = changes.get("email") {
        validate::email(email)?;
    }
    let changes = UserChanges {
        account,
        is_active,
        suspend_reason,
        fields: changes,
    };
    let user = auth.admin().change_user(&actor, id, changes).await?;
    Ok(response::ok(user, "updated"))
}

/// Deletes a user; their sessions and links go with them.
#[utoipa::path(
    delete,
    path = "/admin/users/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "Deletes a user; their sessions and links go with them.", body = inline(Envelope<Nothing>)),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
    )
)]
#[permission_required("users.manage")]
pub(crate) async fn delete<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "user")?;
    auth.admin().delete_user(&actor, id).await?;
    Ok(response::ok(Value::Null, "user deleted"))
}

/// `PUT admin/users/{id}/roles` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdminUserRoles)]
pub(crate) struct RolesBody {
    roles: Vec<String>,
}

/// Replaces the user's global roles (scoped assignments stay). Every role added or removed
/// must pass the grant rules; nothing changes unless all do.
#[utoipa::path(
    put,
    path = "/admin/users/{id}/roles",
    tag = "admin",
    request_body = RolesBody,
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "Replaces a user's global roles.", body = inline(Envelope<AdminUser>)),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("users.manage")]
pub(crate) async fn set_roles<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RolesBody>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "user")?;
    let user = auth.admin().set_user_roles(&actor, id, body.roles).await?;
    Ok(response::ok(user, "roles replaced"))
}

/// `PUT admin/users/{id}/groups` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdminUserGroups)]
pub(crate) struct GroupsBody {
    groups: Vec<String>,
}

/// Replaces the user's group memberships. Joining or leaving a group gives or takes its
/// roles, so each of those roles must pass the grant rules; nothing changes unless all do.
#[utoipa::path(
    put,
    path = "/admin/users/{id}/groups",
    tag = "admin",
    request_body = GroupsBody,
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "Replaces a user's groups.", body = inline(Envelope<AdminUser>)),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 422, description = "Invalid input, or an unknown name or code (`invalid_input`).", body = ErrorBody),
    )
)]
#[permission_required("users.manage")]
pub(crate) async fn set_groups<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<GroupsBody>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "user")?;
    let user = auth
        .admin()
        .set_user_groups(&actor, id, body.groups)
        .await?;
    Ok(response::ok(user, "groups replaced"))
}

/// `POST admin/users/{id}/password` body. No `Debug`: it holds a password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdminSetPassword)]
pub(crate) struct PasswordBody {
    /// The new password, under the password policy.
    #[schema(format = Password)]
    password: String,
}

/// Sets the user's password without the old one (audited with the admin as `by`): the
/// password policy applies (422 `weak_password`), and in one
/// transaction every session of the user ends (token logins too), their reset links die
/// and the account's login lock is cleared. Answers `{ended_sessions}`.
#[utoipa::path(
    post,
    path = "/admin/users/{id}/password",
    tag = "admin",
    request_body = PasswordBody,
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "Sets a user's password; every session of the user ends.", body = inline(Envelope<EndedSessions>)),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 422, description = "A weak password (`weak_password`).", body = ErrorBody),
    )
)]
#[permission_required("users.manage")]
pub(crate) async fn set_password<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    RequestActor(actor): RequestActor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<Response, ApiError> {
    validate::password("password", &body.password)?;
    let id = parse_id(&id, "user")?;
    let ended = auth
        .admin()
        .set_password(&actor, id, &body.password)
        .await?;
    Ok(response::ok(
        EndedSessions {
            ended_sessions: ended,
        },
        "password set",
    ))
}

/// The user's live sessions, most recently used first (as the user's own `sessions` shows
/// them: never a token or its hash). `users.read`, like the user and the audit log.
#[utoipa::path(
    get,
    path = "/admin/users/{id}/sessions",
    tag = "admin",
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "A user's live sessions.", body = inline(Envelope<Vec<Session>>)),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
    )
)]
#[permission_required("users.read")]
pub(crate) async fn sessions<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "user")?;
    let sessions = auth.admin().user_sessions(id).await?;
    Ok(response::ok(sessions, "sessions"))
}

/// Ends one of the user's sessions (a token login's refresh family with it); 404 when the
/// user has no session with that id. Audited as `session.revoked` with `by`.
#[utoipa::path(
    delete,
    path = "/admin/users/{id}/sessions/{session}",
    tag = "admin",
    params(("id" = i64, Path, description = "The user's id."), ("session" = i64, Path, description = "The session's id.")),
    responses(
        (status = 200, description = "Ends one of a user's sessions.", body = inline(Envelope<Nothing>)),
        (status = 404, description = "No such user or session (`not_found`).", body = ErrorBody),
    )
)]
#[permission_required("users.manage")]
pub(crate) async fn revoke_session<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    RequestActor(actor): RequestActor,
    Path((id, session_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "user")?;
    let session_id = parse_id(&session_id, "session")?;
    auth.admin().revoke_session(&actor, id, session_id).await?;
    Ok(response::ok(Value::Null, "session revoked"))
}
