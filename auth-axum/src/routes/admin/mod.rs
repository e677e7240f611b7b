//! The admin endpoints, under `admin/` in the auth router. Every handler is guarded by one
//! of the default permissions (see [`auth_core::rbac::manage::bootstrap`]): `*.read` for
//! GET, `*.manage` for changes. Ids in paths are database ids (a non-numeric or unknown id
//! is 404); names in bodies are role and group names and permission codes (an unknown one
//! is 422).
//!
//! | method | path | permission | body | answer |
//! |---|---|---|---|---|
//! | GET | `admin/users?page=&per_page=&account=&is_active=` | users.read | | `{items, page, per_page, total}` |
//! | POST | `admin/users` | users.manage | `{account, password, email?, roles?, extra?}` | 201, the user |
//! | GET | `admin/users/{id}` | users.read | | the user with `roles`, `groups`, `suspension` |
//! | PATCH | `admin/users/{id}` | users.manage | `{account?, is_active?, suspend_reason?, email?, <custom field>?}` | the user; a taken `account` is 409 `conflict`, a rename ends nothing |
//! | DELETE | `admin/users/{id}` | users.manage | | the user, sessions and links are gone |
//! | PUT | `admin/users/{id}/roles` | users.manage | `{"roles": [names]}` | the global roles |
//! | PUT | `admin/users/{id}/groups` | users.manage | `{"groups": [names]}` | the groups |
//! | POST | `admin/users/{id}/password` | users.manage | `{password}` | `{ended_sessions}`; under the password policy (422 `weak_password`); every session of the user (token logins too) and their reset links end |
//! | GET | `admin/users/{id}/sessions` | users.read | | the user's live sessions (never a token or its hash) |
//! | DELETE | `admin/users/{id}/sessions/{session}` | users.manage | | 404 when it is not that user's session |
//! | GET, POST | `admin/roles` | roles.read, roles.manage | `{name, description?, parent?}` | |
//! | GET, PATCH, DELETE | `admin/roles/{id}` | roles.read, roles.manage | `{name?, description?, parent?}` | |
//! | PUT | `admin/roles/{id}/permissions` | roles.manage | `{"permissions": [codes]}` | |
//! | GET, POST | `admin/groups` | roles.read, roles.manage | `{name, description?}` | |
//! | GET, PATCH, DELETE | `admin/groups/{id}` | roles.read, roles.manage | `{name?, description?}` | |
//! | PUT | `admin/groups/{id}/roles` | roles.manage | `{"roles": [names]}` | |
//! | GET, POST | `admin/permissions` | permissions.read, permissions.manage | `{code, remark?}` | |
//! | GET | `admin/overview` | users.read | | counts; roles with permissions; groups with roles |
//! | GET | `admin/events?user=&event=&page=&per_page=` | users.read | | the audit log, newest first: `{items, page, per_page, total}` |
//! | GET | `admin/locks` | users.read | | the login locks in force: scope (`account`, `ip`), key, failures, locked_until, lockouts |
//! | DELETE | `admin/locks/{scope}/{key}` | users.manage | | the lock, counter and escalation are gone |
//!
//! Every change follows the grant rules of [`auth_core::rbac::manage::escalation`], with the
//! acting admin as assigner (403 `forbidden` otherwise, and nothing changes):
//!
//! - a role given or taken (directly, through a group membership or through a group's
//!   roles), or made a parent, must grant only permissions the admin holds (and not make
//!   its holders `superadmin`); `users.manage` or `roles.manage` is enough to assign;
//! - permissions put on or taken off a role must be held by the admin, and so must every
//!   permission the role grants before the change (also to rename or delete it);
//! - the built-in roles (`superadmin`, `admin`, `user`) are changed and deleted only by
//!   superusers;
//! - a user (edit, rename, suspend, delete, roles, groups, password, revoking a session)
//!   must hold no permission the admin lacks, and must not be a superuser or `superadmin`
//!   unless the admin is one. Reading (the user, their sessions, the audit log) needs only
//!   `users.read`.
//!
//! Superusers and `superadmin` holders pass every rule but the built-in role rule, which
//! only superusers pass.

pub(crate) mod events;
pub(crate) mod groups;
pub(crate) mod locks;
pub(crate) mod overview;
pub(crate) mod page;
pub(crate) mod permissions;
pub(crate) mod roles;
pub(crate) mod user_mfa;
pub(crate) mod users;

use auth_core::audit::{By, EventType, NewEvent};
use auth_core::rbac::manage;
use auth_core::rbac::manage::{Assigner, Authority};
use auth_core::{DbConn, UserStore};
use serde::{Deserialize, Deserializer, Serialize};

use crate::extract::CurrentUser;
use crate::layer::Auth;
use crate::response::ApiError;
use crate::routes::{Access, Documented};

/// `routes` with the admin routes (under `/admin`), each reached with its permission.
pub(crate) fn routes<U: UserStore + Clone + Serialize>(routes: Documented<U>) -> Documented<U> {
    use crate::routes::Access::Permission;
    const USERS_READ: Access = Permission("users.read");
    const USERS_MANAGE: Access = Permission("users.manage");
    const ROLES_READ: Access = Permission("roles.read");
    const ROLES_MANAGE: Access = Permission("roles.manage");
    routes
        .route(users::__path_list, USERS_READ, users::list::<U>)
        .route(users::__path_create, USERS_MANAGE, users::create::<U>)
        .route(users::__path_get, USERS_READ, users::get::<U>)
        .route(users::__path_patch, USERS_MANAGE, users::patch::<U>)
        .route(users::__path_delete, USERS_MANAGE, users::delete::<U>)
        .route(users::__path_set_roles, USERS_MANAGE, users::set_roles::<U>)
        .route(
            users::__path_set_groups,
            USERS_MANAGE,
            users::set_groups::<U>,
        )
        .route(
            users::__path_set_password,
            USERS_MANAGE,
            users::set_password::<U>,
        )
        .route(users::__path_sessions, USERS_READ, users::sessions::<U>)
        .route(user_mfa::__path_reset, USERS_MANAGE, user_mfa::reset::<U>)
        .route(
            users::__path_revoke_session,
            USERS_MANAGE,
            users::revoke_session::<U>,
        )
        .route(roles::__path_list, ROLES_READ, roles::list::<U>)
        .route(roles::__path_create, ROLES_MANAGE, roles::create::<U>)
        .route(roles::__path_get, ROLES_READ, roles::get::<U>)
        .route(roles::__path_patch, ROLES_MANAGE, roles::patch::<U>)
        .route(roles::__path_delete, ROLES_MANAGE, roles::delete::<U>)
        .route(
            roles::__path_set_permissions,
            ROLES_MANAGE,
            roles::set_permissions::<U>,
        )
        .route(groups::__path_list, ROLES_READ, groups::list::<U>)
        .route(groups::__path_create, ROLES_MANAGE, groups::create::<U>)
        .route(groups::__path_get, ROLES_READ, groups::get::<U>)
        .route(groups::__path_patch, ROLES_MANAGE, groups::patch::<U>)
        .route(groups::__path_delete, ROLES_MANAGE, groups::delete::<U>)
        .route(
            groups::__path_set_roles,
            ROLES_MANAGE,
            groups::set_roles::<U>,
        )
        .route(
            permissions::__path_list,
            Permission("permissions.read"),
            permissions::list::<U>,
        )
        .route(
            permissions::__path_create,
            Permission("permissions.manage"),
            permissions::create::<U>,
        )
        .route(overview::__path_get, USERS_READ, overview::get::<U>)
        .route(events::__path_list, USERS_READ, events::list::<U>)
        .route(locks::__path_list, USERS_READ, locks::list::<U>)
        .route(locks::__path_clear, USERS_MANAGE, locks::clear::<U>)
}

/// The acting administrator and their client, for the grant rules and the audit log.
/// Extracting it after the guard costs nothing: the user is already resolved for the
/// request.
pub(crate) struct Actor {
    assigner: Assigner,
    account: String,
    client: auth_core::service::ClientInfo,
}

impl<U: UserStore + Clone> axum::extract::FromRequestParts<Auth<U>> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        auth: &Auth<U>,
    ) -> Result<Self, Self::Rejection> {
        let current =
            <CurrentUser<U> as axum::extract::FromRequestParts<Auth<U>>>::from_request_parts(
                parts, auth,
            )
            .await?;
        let crate::extract::Client(client) =
            match <crate::extract::Client as axum::extract::FromRequestParts<Auth<U>>>::from_request_parts(parts, auth).await {
                Ok(c) => c,
                Err(never) => match never {},
            };
        Ok(Actor {
            assigner: Assigner {
                user_id: current.user.id(),
                is_superuser: current.user.is_superuser(),
            },
            account: current.user.account().to_owned(),
            client,
        })
    }
}

impl Actor {
    /// The acting user's id.
    pub(crate) fn user_id(&self) -> i64 {
        self.assigner.user_id
    }

    /// The actor's client (IP, user agent).
    pub(crate) fn client(&self) -> &auth_core::service::ClientInfo {
        &self.client
    }

    /// Who acted, as the audit log's `by`.
    pub(crate) fn by(&self) -> By {
        By::Admin {
            id: self.assigner.user_id,
            account: self.account.clone(),
        }
    }

    /// What the actor may do under the grant rules, read now.
    pub(crate) async fn authority(&self, conn: &mut DbConn) -> Result<Authority, ApiError> {
        Ok(Authority::load(conn, self.assigner).await?)
    }

    /// Loads the actor's authority and checks that they may act on `target`.
    pub(crate) async fn authority_over<U: UserStore>(
        &self,
        conn: &mut DbConn,
        target: &U,
    ) -> Result<Authority, ApiError> {
        let authority = self.authority(conn).await?;
        authority
            .check_user(conn, target.id(), target.is_superuser())
            .await?;
        Ok(authority)
    }

    /// Records `event` about `subject` (a user id and account, when the change concerns a
    /// user) with `detail`; the acting administrator goes in the detail as `by`.
    pub(crate) async fn record<U: UserStore>(
        &self,
        auth: &Auth<U>,
        conn: &mut DbConn,
        event: EventType,
        subject: Option<(i64, &str)>,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        let mut e = NewEvent::new(event)
            .client(self.client.ip.as_deref(), self.client.user_agent.as_deref())
            .detail(detail)
            .by(&self.by());
        if let Some((id, account)) = subject {
            e = e.user(id, account);
        }
        auth.service().record(conn, e).await?;
        Ok(())
    }
}

/// A path id: anything but a number names nothing (404).
fn parse_id(id: &str, what: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::not_found(what))
}

/// A name in a request body that names nothing is bad input (422), not a missing resource.
fn unknown_is_invalid(e: auth_core::Error) -> ApiError {
    match e {
        auth_core::Error::NotFound(what) => ApiError::invalid(format!("unknown {what}")),
        other => other.into(),
    }
}

/// `Some(None)` for an explicit `null`, `None` for an absent field (with `#[serde(default)]`).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The names of a replacement set: each at most once.
fn dedup(names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    names
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

/// The names among `names` that are not roles, as a 422.
async fn check_roles_exist(conn: &mut DbConn, names: &[String]) -> Result<(), ApiError> {
    let roles = manage::list_roles(conn).await?;
    match names.iter().find(|n| !roles.iter().any(|r| &r.name == *n)) {
        Some(unknown) => Err(ApiError::invalid(format!("unknown role {unknown:?}"))),
        None => Ok(()),
    }
}

/// The change from the `held` global roles to the `wanted` set, as (added, removed), once
/// the actor may assign and every role in it passes the grant rules: nothing may change
/// otherwise.
fn role_changes(
    authority: &Authority,
    held: Vec<String>,
    wanted: &[String],
) -> Result<(Vec<String>, Vec<String>), ApiError> {
    let added: Vec<String> = wanted
        .iter()
        .filter(|r| !held.contains(r))
        .cloned()
        .collect();
    let removed: Vec<String> = held.into_iter().filter(|r| !wanted.contains(r)).collect();
    if !added.is_empty() || !removed.is_empty() {
        authority.check_may_assign()?;
    }
    for role in added.iter().chain(removed.iter()) {
        authority.check_role(role)?;
    }
    Ok((added, removed))
}
