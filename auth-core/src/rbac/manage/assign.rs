//! Roles assigned to users, globally or in a scope.
//!
//! [`assign_role`] and [`revoke_role`] do what they are told (for seeding, tests and code
//! that has already decided). [`assign_role_as`] and [`revoke_role_as`] apply the grant
//! rules of [`super::escalation`] for an [`Actor`] (the user acting, e.g. through an
//! admin endpoint): one of [`super::ASSIGN_PERMISSIONS`], the role covered by the
//! assigner's own permissions, and the target user covered too. A refusal is
//! [`Error::Forbidden`].

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;

use super::escalation::Authority;
use super::{now, scope_key, scope_of};
use crate::authority::Actor;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::{auth_roles, auth_user_groups, auth_user_roles};
use crate::with_conn;

/// A role held in a scope (`None`: globally).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ScopedRole {
    /// The role's name.
    pub role: String,
    /// The scope, or `None` for a global assignment.
    pub scope: Option<String>,
}

impl ScopedRole {
    /// `(role, stored scope)` rows as scoped roles sorted by scope (global first), then role.
    pub(super) fn sorted(rows: Vec<(String, String)>) -> Vec<ScopedRole> {
        let mut list: Vec<ScopedRole> = rows
            .into_iter()
            .map(|(role, scope)| ScopedRole {
                role,
                scope: scope_of(scope),
            })
            .collect();
        list.sort_by(|a, b| (&a.scope, &a.role).cmp(&(&b.scope, &b.role)));
        list
    }
}

/// Assigns `role` to the user, globally (`None`) or in `scope` (idempotent). `false` when
/// the user held it already.
pub async fn assign_role(
    conn: &mut DbConn,
    user_id: i64,
    role: &str,
    scope: Option<&str>,
) -> Result<bool> {
    if scope.is_some_and(|s| s.chars().count() > super::super::MAX_SCOPE_CHARS) {
        return Err(Error::Invalid(format!(
            "scope: at most {} characters",
            super::super::MAX_SCOPE_CHARS
        )));
    }
    let scope = scope_key(scope);
    changing!(conn, |c| {
        let role_id = id_of!(c, auth_roles, name, role, "role");
        let assigned = insert_link!(
            c,
            auth_user_roles::table
                .filter(auth_user_roles::user_id.eq(user_id))
                .filter(auth_user_roles::role_id.eq(role_id))
                .filter(auth_user_roles::scope.eq(scope)),
            diesel::insert_into(auth_user_roles::table).values((
                auth_user_roles::user_id.eq(user_id),
                auth_user_roles::role_id.eq(role_id),
                auth_user_roles::scope.eq(scope),
                auth_user_roles::created_at.eq(now()),
            )),
        );
        (assigned, assigned)
    })
}

/// Removes the assignment of `role` to the user in exactly that scope. `false` if absent.
pub async fn revoke_role(
    conn: &mut DbConn,
    user_id: i64,
    role: &str,
    scope: Option<&str>,
) -> Result<bool> {
    let scope = scope_key(scope);
    changing!(conn, |c| {
        let role_id = id_of!(c, auth_roles, name, role, "role");
        let removed = diesel::delete(
            auth_user_roles::table
                .filter(auth_user_roles::user_id.eq(user_id))
                .filter(auth_user_roles::role_id.eq(role_id))
                .filter(auth_user_roles::scope.eq(scope)),
        )
        .execute(c)
        .await?
            > 0;
        (removed, removed)
    })
}

/// An external source's view of one global role of a user (the LDAP group sync): with
/// `give`, assigns `role` marked as given by `source` unless the user holds it already
/// (however given); without, removes it only if `source` gave it. A role given by hand
/// (by an administrator, the CLI or [`assign_role`]) is never removed here. `true` when
/// something changed.
pub async fn sync_role(
    conn: &mut DbConn,
    user_id: i64,
    role: &str,
    source: &str,
    give: bool,
) -> Result<bool> {
    debug_assert!(!source.is_empty(), "'' marks a role given by hand");
    let scope = scope_key(None);
    changing!(conn, |c| {
        let role_id = id_of!(c, auth_roles, name, role, "role");
        let held = auth_user_roles::table
            .filter(auth_user_roles::user_id.eq(user_id))
            .filter(auth_user_roles::role_id.eq(role_id))
            .filter(auth_user_roles::scope.eq(scope));
        let changed = if give {
            insert_link!(
                c,
                held,
                diesel::insert_into(auth_user_roles::table).values((
                    auth_user_roles::user_id.eq(user_id),
                    auth_user_roles::role_id.eq(role_id),
                    auth_user_roles::scope.eq(scope),
                    auth_user_roles::created_at.eq(now()),
                    auth_user_roles::granted_by.eq(source),
                )),
            )
        } else {
            diesel::delete(held.filter(auth_user_roles::granted_by.eq(source)))
                .execute(c)
                .await?
                > 0
        };
        (changed, changed)
    })
}

/// Fails with [`Error::Forbidden`] unless `actor` may assign or revoke `role` (see
/// [`super::escalation`]); an unknown role is [`Error::NotFound`]. For checking a whole
/// change before making any of it, load an [`Authority`] once instead.
pub async fn check_may_grant(conn: &mut DbConn, actor: &Actor, role: &str) -> Result<()> {
    let authority = Authority::load(conn, actor).await?;
    authority.check_may_assign()?;
    authority.check_role(role)
}

/// The grant rules for `actor` giving or taking `role` from the user `user_id`: may
/// assign, covers the role, covers the user (whose superuser flag the caller checks: this
/// crate does not know the user model).
async fn check_assignment(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: i64,
    role: &str,
) -> Result<()> {
    let authority = Authority::load(conn, actor).await?;
    authority.check_may_assign()?;
    authority.check_role(role)?;
    authority.check_user_id(conn, user_id, false).await
}

/// [`assign_role`] on behalf of `actor`, under the grant rules (see the module docs):
/// [`Error::Forbidden`] when not allowed.
pub async fn assign_role_as(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: i64,
    role: &str,
    scope: Option<&str>,
) -> Result<bool> {
    check_assignment(conn, actor, user_id, role).await?;
    assign_role(conn, user_id, role, scope).await
}

/// [`revoke_role`] on behalf of `actor`, under the grant rules (see the module docs):
/// [`Error::Forbidden`] when not allowed.
pub async fn revoke_role_as(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: i64,
    role: &str,
    scope: Option<&str>,
) -> Result<bool> {
    check_assignment(conn, actor, user_id, role).await?;
    revoke_role(conn, user_id, role, scope).await
}

/// The roles assigned to the user directly (not through groups), with their scopes,
/// sorted by scope (global first) then role.
pub async fn user_roles(conn: &mut DbConn, user_id: i64) -> Result<Vec<ScopedRole>> {
    let rows: Vec<(String, String)> = with_conn!(conn, |c| {
        auth_user_roles::table
            .inner_join(auth_roles::table)
            .filter(auth_user_roles::user_id.eq(user_id))
            .select((auth_roles::name, auth_user_roles::scope))
            .load(c)
            .await
    })?;
    Ok(ScopedRole::sorted(rows))
}

/// Deletes the user's role assignments and group memberships (call when deleting a user,
/// in the same transaction as the user row when possible).
pub async fn forget_user(conn: &mut DbConn, user_id: i64) -> Result<()> {
    changing!(conn, |c| {
        let roles =
            diesel::delete(auth_user_roles::table.filter(auth_user_roles::user_id.eq(user_id)))
                .execute(c)
                .await?;
        let groups =
            diesel::delete(auth_user_groups::table.filter(auth_user_groups::user_id.eq(user_id)))
                .execute(c)
                .await?;
        ((), roles + groups > 0)
    })
}
