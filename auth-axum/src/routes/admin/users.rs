//! `admin/users`: list, create, show, change (rename included), suspend, delete; replace a
//! user's roles and groups; set their password; list and revoke their sessions.

use super::page::Page;
use crate::openapi::model::refs::{AdminUser, AdminUserChanges, AdminUserCreate, Nothing};
use crate::response::{Envelope, ErrorBody};
use crate::routes::answers::EndedSessions;
use auth_core::session::Session;
use std::collections::HashMap;

use auth_core::account_token::{self, Purpose};
use auth_core::audit::EventType;
use auth_core::backend::RegisterRequest;
use auth_core::rbac::{self, manage};
use auth_core::{UserFilter, UserStore, session, user_status};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::page;
use super::{Actor, check_roles_exist, dedup, parse_id, role_changes, unknown_is_invalid};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::permission_required;
use crate::response::{self, ApiError};
use crate::routes::validate;

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
    let mut conn = auth.db().conn().await?;
    let total = U::count(&mut conn, &filter).await?;
    let items = U::list(&mut conn, &filter, query.offset, query.per_page).await?;
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
    actor: Actor,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    validate::account(&body.account)?;
    validate::password("password", &body.password)?;
    if let Some(email) = &body.email {
        validate::email(email)?;
    }
    let roles = dedup(body.roles);
    let mut conn = auth.db().conn().await?;
    // Every role must exist and be grantable before the user is created.
    check_roles_exist(&mut conn, &roles).await?;
    let authority = actor.authority(&mut conn).await?;
    if !roles.is_empty() {
        authority.check_may_assign()?;
    }
    for role in &roles {
        authority.check_role(role)?;
    }
    let req = RegisterRequest {
        account: body.account,
        password: body.password,
        email: body.email,
        extra: body.extra,
    };
    // No connection held across the hash.
    drop(conn);
    let user = auth.service().register(auth.db(), None, &req).await?;
    let mut conn = auth.db().conn().await?;
    // The roles all at once; if they cannot be given (a role deleted meanwhile, a database
    // error), the user is taken away again, also all at once: no half-created user.
    let assigned = conn
        .transaction(async |conn: &mut auth_core::DbConn| {
            for role in &roles {
                manage::assign_role(conn, user.id(), role, None).await?;
            }
            Ok::<_, auth_core::Error>(())
        })
        .await;
    if let Err(e) = assigned {
        conn.transaction(async |conn: &mut auth_core::DbConn| {
            manage::forget_user(conn, user.id()).await?;
            U::delete(conn, user.id()).await
        })
        .await?;
        return Err(unknown_is_invalid(e));
    }
    let subject = Some((user.id(), user.account()));
    let change = json!({ "action": "created" });
    actor
        .record(&auth, &mut conn, EventType::UserChanged, subject, change)
        .await?;
    if !roles.is_empty() {
        let assigned = json!({ "roles": roles });
        actor
            .record(&auth, &mut conn, EventType::RoleAssigned, subject, assigned)
            .await?;
    }
    Ok(response::with_status(
        StatusCode::CREATED,
        detail(&mut conn, &user).await?,
        "user created",
    ))
}

/// The user with their global and scoped roles, groups and recorded suspension.
async fn detail<U: UserStore>(conn: &mut auth_core::DbConn, user: &U) -> Result<Value, ApiError> {
    let mut data = serde_json::to_value(user).map_err(|e| ApiError::internal(&e))?;
    if let Value::Object(map) = &mut data {
        let roles = manage::user_roles(conn, user.id()).await?;
        map.insert(
            "roles".into(),
            serde_json::to_value(roles).map_err(|e| ApiError::internal(&e))?,
        );
        map.insert(
            "groups".into(),
            rbac::group_names(conn, user.id()).await?.into(),
        );
        map.insert(
            "suspension".into(),
            serde_json::to_value(user_status::get(conn, user.id()).await?)
                .map_err(|e| ApiError::internal(&e))?,
        );
    }
    Ok(data)
}

/// The user named by the path, or 404.
pub(super) async fn load<U: UserStore>(
    conn: &mut auth_core::DbConn,
    id: &str,
) -> Result<U, ApiError> {
    let id = parse_id(id, "user")?;
    U::find_by_id(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
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
    let mut conn = auth.db().conn().await?;
    let user: U = load(&mut conn, &id).await?;
    Ok(response::ok(detail(&mut conn, &user).await?, "user"))
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
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(mut changes): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let rename = match changes.remove("account") {
        None => None,
        Some(Value::String(account)) => {
            validate::account(&account)?;
            Some(account)
        }
        Some(_) => return Err(ApiError::invalid("account: expected a text")),
    };
    let active = match changes.remove("is_active") {
        None => None,
        Some(Value::Bool(b)) => Some(b),
        Some(_) => return Err(ApiError::invalid("is_active: expected true or false")),
    };
    let reason = match changes.remove("suspend_reason") {
        None => None,
        Some(Value::String(r)) if !r.trim().is_empty() && r.chars().count() <= 1000 => Some(r),
        Some(_) => {
            return Err(ApiError::invalid(
                "suspend_reason: expected a non-empty text of at most 1000 characters",
            ));
        }
    };
    if reason.is_some() && active == Some(true) {
        return Err(ApiError::invalid(
            "suspend_reason: cannot suspend and activate at once",
        ));
    }
    let active = if reason.is_some() {
        Some(false)
    } else {
        active
    };
    if let Some(Value::String(email)) = changes.get("email") {
        validate::email(email)?;
    }
    let mut conn = auth.db().conn().await?;
    let mut user: U = load(&mut conn, &id).await?;
    actor.authority_over(&mut conn, &user).await?;
    let was_active = user.is_active();
    let before_email = user.email().map(str::to_owned);
    user.apply_changes(&changes).map_err(ApiError::invalid)?;
    let mut fields: Vec<&str> = changes.keys().map(String::as_str).collect();
    let before_account = user.account().to_owned();
    let renamed = match rename {
        Some(account) if account != before_account => {
            user.set_account(account).map_err(ApiError::invalid)?;
            fields.push("account");
            true
        }
        _ => false,
    };
    if let Some(active) = active {
        user.set_active(active).map_err(ApiError::invalid)?;
        fields.push("is_active");
    }
    let saved = auth
        .service()
        .save_changes(
            &mut conn,
            &mut user,
            &fields,
            before_email.as_deref(),
            actor.client(),
            Some(&actor.by()),
        )
        .await?;
    if !saved {
        return Err(ApiError::not_found("user"));
    }
    match active {
        Some(false) => {
            if was_active {
                session::delete_for_user(&mut conn, user.id(), None).await?;
            }
            match &reason {
                Some(reason) => {
                    user_status::set(&mut conn, user.id(), reason, Some(actor.user_id())).await?
                }
                None if was_active => {
                    user_status::clear(&mut conn, user.id()).await?;
                }
                None => {}
            }
        }
        Some(true) => {
            user_status::clear(&mut conn, user.id()).await?;
        }
        None => {}
    }
    let action = match active {
        Some(false) if was_active => "suspended",
        Some(true) if !was_active => "activated",
        _ => "changed",
    };
    let mut fields: Vec<&str> = changes.keys().map(String::as_str).collect();
    if renamed {
        fields.push("account");
    }
    fields.sort_unstable();
    let mut change = json!({ "action": action, "fields": fields, "reason": reason });
    if renamed {
        change["account"] = json!({ "old": before_account, "new": user.account() });
    }
    let subject = Some((user.id(), user.account()));
    actor
        .record(&auth, &mut conn, EventType::UserChanged, subject, change)
        .await?;
    let user = U::find_by_id(&mut conn, user.id()).await?.unwrap_or(user);
    Ok(response::ok(detail(&mut conn, &user).await?, "updated"))
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
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    let user: U = load(&mut conn, &id).await?;
    actor.authority_over(&mut conn, &user).await?;
    // All or nothing: no user without links, no links without a user.
    let deleted = conn
        .transaction(async |conn: &mut auth_core::DbConn| {
            // The user's row first, as every transaction writing its tokens does (see
            // `UserStore::lock`): a token mail issued meanwhile waits for this one.
            U::lock(conn, user.id()).await?;
            session::delete_for_user(conn, user.id(), None).await?;
            auth_core::api_key::delete_for_user(conn, user.id()).await?;
            auth_core::passkey::delete_for_user(conn, user.id()).await?;
            auth_core::identity::delete_for_user(conn, user.id()).await?;
            auth_core::oauth::state::delete_for_user(conn, user.id()).await?;
            auth_core::mfa::forget_user(conn, user.id()).await?;
            manage::forget_user(conn, user.id()).await?;
            user_status::clear(conn, user.id()).await?;
            for purpose in [Purpose::PasswordReset, Purpose::VerifyEmail] {
                account_token::revoke_for_user(conn, user.id(), purpose).await?;
            }
            U::delete(conn, user.id()).await
        })
        .await?;
    if !deleted {
        return Err(ApiError::not_found("user"));
    }
    let subject = Some((user.id(), user.account()));
    let change = json!({ "action": "deleted" });
    actor
        .record(&auth, &mut conn, EventType::UserChanged, subject, change)
        .await?;
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
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RolesBody>,
) -> Result<Response, ApiError> {
    let wanted = dedup(body.roles);
    let mut conn = auth.db().conn().await?;
    let user: U = load(&mut conn, &id).await?;
    let authority = actor.authority_over(&mut conn, &user).await?;
    check_roles_exist(&mut conn, &wanted).await?;
    let held: Vec<String> = manage::user_roles(&mut conn, user.id())
        .await?
        .into_iter()
        .filter(|r| r.scope.is_none())
        .map(|r| r.role)
        .collect();
    let (added, removed) = role_changes(&authority, held, &wanted)?;
    for role in &removed {
        manage::revoke_role(&mut conn, user.id(), role, None).await?;
    }
    for role in &added {
        manage::assign_role(&mut conn, user.id(), role, None)
            .await
            .map_err(unknown_is_invalid)?;
    }
    let subject = Some((user.id(), user.account()));
    if !added.is_empty() {
        let detail = json!({ "roles": added });
        actor
            .record(&auth, &mut conn, EventType::RoleAssigned, subject, detail)
            .await?;
    }
    if !removed.is_empty() {
        let detail = json!({ "roles": removed });
        actor
            .record(&auth, &mut conn, EventType::RoleRevoked, subject, detail)
            .await?;
    }
    Ok(response::ok(
        detail(&mut conn, &user).await?,
        "roles replaced",
    ))
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
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<GroupsBody>,
) -> Result<Response, ApiError> {
    let wanted = dedup(body.groups);
    let mut conn = auth.db().conn().await?;
    let user: U = load(&mut conn, &id).await?;
    let authority = actor.authority_over(&mut conn, &user).await?;
    let groups = manage::list_groups(&mut conn).await?;
    if let Some(unknown) = wanted
        .iter()
        .find(|n| !groups.iter().any(|g| &g.name == *n))
    {
        return Err(ApiError::invalid(format!("unknown group {unknown:?}")));
    }
    let held = rbac::group_names(&mut conn, user.id()).await?;
    let added: Vec<&String> = wanted.iter().filter(|g| !held.contains(g)).collect();
    let removed: Vec<&String> = held.iter().filter(|g| !wanted.contains(g)).collect();
    if !added.is_empty() || !removed.is_empty() {
        authority.check_may_assign()?;
    }
    for group in added.iter().chain(removed.iter()) {
        for role in manage::group_roles(&mut conn, group).await? {
            authority.check_role(&role.role)?;
        }
    }
    for group in &removed {
        manage::remove_from_group(&mut conn, user.id(), group).await?;
    }
    for group in &added {
        manage::add_to_group(&mut conn, user.id(), group)
            .await
            .map_err(unknown_is_invalid)?;
    }
    if !added.is_empty() || !removed.is_empty() {
        let subject = Some((user.id(), user.account()));
        let change = json!({ "action": "membership", "joined": added, "left": removed });
        actor
            .record(&auth, &mut conn, EventType::GroupChanged, subject, change)
            .await?;
    }
    Ok(response::ok(
        detail(&mut conn, &user).await?,
        "groups replaced",
    ))
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
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<Response, ApiError> {
    validate::password("password", &body.password)?;
    let mut user: U = {
        let mut conn = auth.db().conn().await?;
        let user = load(&mut conn, &id).await?;
        actor.authority_over(&mut conn, &user).await?;
        user
    };
    // No connection held across the hash.
    let ended = auth
        .service()
        .set_password(
            auth.db(),
            &mut user,
            &body.password,
            actor.client(),
            &actor.by(),
        )
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
    let mut conn = auth.db().conn().await?;
    let user: U = load(&mut conn, &id).await?;
    let sessions = session::list_for_user(&mut conn, user.id()).await?;
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
    actor: Actor,
    Path((id, session_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut conn = auth.db().conn().await?;
    let user: U = load(&mut conn, &id).await?;
    actor.authority_over(&mut conn, &user).await?;
    let session_id = parse_id(&session_id, "session")?;
    if !session::revoke_for_user(&mut conn, user.id(), session_id).await? {
        return Err(ApiError::not_found("session"));
    }
    let subject = Some((user.id(), user.account()));
    let detail = json!({ "session_id": session_id });
    actor
        .record(&auth, &mut conn, EventType::SessionRevoked, subject, detail)
        .await?;
    Ok(response::ok(Value::Null, "session revoked"))
}
