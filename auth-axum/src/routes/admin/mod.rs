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
//! Each handler parses its input, calls one service of [`auth_core::service::admin`] with
//! the request's [`auth_core::Actor`] (the credential acting: a limited API key acts with
//! its limit), and answers. The service checks authority, writes and audits in one
//! transaction. Every change follows the grant rules of
//! [`auth_core::rbac::manage::escalation`] (403 `forbidden` otherwise, and nothing
//! changes):
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
//! Superusers and `superadmin` holders acting through an unlimited credential pass every
//! rule but the built-in role rule, which only unlimited superusers pass. No one acts on
//! their own account here (403 `own_account`: password, MFA, sessions, roles, groups,
//! active state, deletion, locks): that is what the self-service routes are for. The last
//! active superuser is never deleted or deactivated (409 `last_superuser`).

pub(crate) mod events;
pub(crate) mod groups;
pub(crate) mod locks;
pub(crate) mod overview;
pub(crate) mod page;
pub(crate) mod permissions;
pub(crate) mod roles;
pub(crate) mod user_mfa;
pub(crate) mod users;

use auth_core::UserStore;
use serde::{Deserialize, Deserializer, Serialize};

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

/// A path id: anything but a number names nothing (404).
fn parse_id(id: &str, what: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::not_found(what))
}

/// `Some(None)` for an explicit `null`, `None` for an absent field (with `#[serde(default)]`).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
