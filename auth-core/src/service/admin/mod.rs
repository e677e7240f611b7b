//! Administration: every change an administrator makes to users, roles, groups,
//! permissions and login locks, and the reads of the admin screens.
//!
//! [`AuthService::admin`] gives an [`Admin`] over a database. Each change takes the
//! [`Actor`] that acts and, in ONE transaction, checks its authority under the grant rules
//! of [`crate::rbac::manage::escalation`] (read inside the transaction, so a change racing
//! it is seen), writes, and records the audit event naming the actor and its credential:
//! if any step fails, nothing of the change remains. No actor acts on their own account
//! here ([`crate::Error::OwnAccount`]), and the last active superuser is never removed,
//! deactivated or demoted ([`crate::Error::LastSuperuser`]).
//!
//! Ids are database ids (an unknown one is [`crate::Error::NotFound`]); names in a change
//! set are role and group names and permission codes (an unknown one is
//! [`AuthError::Invalid`], a 422: the request is wrong, not the resource missing).

mod groups;
mod locks;
mod permissions;
mod reads;
mod roles;
mod users;

pub use reads::{
    GroupDetail, Overview, OverviewCounts, OverviewGroup, OverviewRole, RoleDetail, UserDetail,
};
pub use roles::RoleChanges;
pub use users::{NewAdminUser, UserChanges};

use std::collections::BTreeSet;

use super::AuthService;
use crate::authority::Actor;
use crate::backend::AuthError;
use crate::db::{Database, DbConn};
use crate::error::Error;
use crate::rbac::manage::{self, Authority};
use crate::user::UserStore;

/// The administration services of an [`AuthService`] over one database; see the module
/// docs. Cheap: borrow it per call with [`AuthService::admin`].
pub struct Admin<'a, U: UserStore> {
    service: &'a AuthService<U>,
    db: &'a Database,
}

impl<U: UserStore> AuthService<U> {
    /// The administration services over `db`.
    pub fn admin<'a>(&'a self, db: &'a Database) -> Admin<'a, U> {
        Admin { service: self, db }
    }
}

impl<U: UserStore> std::fmt::Debug for Admin<'_, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

impl<U: UserStore> Admin<'_, U> {
    async fn conn(&self) -> Result<DbConn, AuthError> {
        Ok(self.db.conn().await?)
    }
}

/// The names of a replacement set: each at most once, in the order given.
pub(crate) fn dedup(names: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    names
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

/// A name in a change set that names nothing is bad input (422), not a missing resource.
pub(crate) fn unknown_is_invalid(e: Error) -> AuthError {
    match e {
        Error::NotFound(what) => AuthError::Invalid(format!("unknown {what}")),
        other => other.into(),
    }
}

/// Fails with a 422 naming the first of `names` that is not a role.
async fn check_roles_exist(conn: &mut DbConn, names: &[String]) -> Result<(), AuthError> {
    let roles = manage::list_roles(conn).await?;
    match names.iter().find(|n| !roles.iter().any(|r| &r.name == *n)) {
        Some(unknown) => Err(AuthError::Invalid(format!("unknown role {unknown:?}"))),
        None => Ok(()),
    }
}

/// The change from the `held` roles to the `wanted` set, as (added, removed), once the
/// actor may assign and every role in it passes the grant rules.
fn role_changes(
    authority: &Authority,
    held: Vec<String>,
    wanted: &[String],
) -> Result<(Vec<String>, Vec<String>), AuthError> {
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

/// The actor's authority, read on `conn` (inside the change's transaction).
async fn authority(conn: &mut DbConn, actor: &Actor) -> Result<Authority, AuthError> {
    Ok(Authority::load(conn, actor).await?)
}
