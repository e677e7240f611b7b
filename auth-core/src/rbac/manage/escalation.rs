//! Escalation prevention: one rule for every RBAC write, as in Kubernetes RBAC (you cannot
//! hand out what you do not hold).
//!
//! An [`Authority`] is what an [`Actor`] may do, loaded once per change: the actor's
//! *effective* global grants (the owner's grants intersected with the credential's
//! permission limit, see [`Actor::effective`]). The system actor, an active superuser acting
//! through an unlimited credential, and a holder of the [`SUPERADMIN_ROLE`] acting through
//! an unlimited credential are *unrestricted* (a limited credential holds no roles, so it
//! never counts as `superadmin`). Anyone else:
//!
//! - may assign or revoke a role (to a user or a group), put a user in a group or take
//!   them out, or make a role another role's parent, only if they hold every permission
//!   that role grants (its own and its ancestors'), and the role does not make its
//!   holders `superadmin` ([`Authority::check_role`]);
//! - may put permissions on a role or take them off only if they hold each of those
//!   permissions ([`Authority::check_permissions`]);
//! - may change a role (permissions, parent, name, description) or delete it only if they
//!   hold every permission it grants now ([`Authority::check_role_edit`]), so no one strips
//!   a role above them;
//! - may act on a user (edit, suspend, delete, reset, change roles, groups or sessions)
//!   only if, in every scope where that user holds a role (directly or through a group),
//!   their own grants there (global and that scope, after the credential's limit) include
//!   every permission the user holds there; a superuser's account needs an unlimited
//!   superuser, and a `superadmin` in any scope needs an unrestricted actor
//!   ([`Authority::check_user`]).
//!
//! No actor acts on their own account through these rules: [`Authority::check_user`]
//! refuses it with [`Error::OwnAccount`] (self-service routes, another administrator or
//! the command line do it).
//!
//! The built-in roles ([`super::BUILTIN_ROLES`]) are changed (permissions, parent, name)
//! and deleted only by an unlimited superuser (or the system actor); a `superadmin` may
//! assign them but not reshape them. Assigning roles at all needs one of
//! [`ASSIGN_PERMISSIONS`]; the routes' guards ask for the rest. A refusal is
//! [`Error::Forbidden`] naming what is missing.

use std::collections::HashMap;

use crate::authority::Actor;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::rbac::query::{Grants, grants, role_table, scopes_of};
use crate::user::AuthUser;

/// The role whose holders, like superusers, pass every grant rule.
pub const SUPERADMIN_ROLE: &str = "superadmin";

/// The permissions that allow assigning roles (either one, plus the grant rules).
pub const ASSIGN_PERMISSIONS: [&str; 2] = ["users.manage", "roles.manage"];

/// What an [`Actor`] may do: their effective global grants and every role's effective
/// grants, read once (see the module docs for the rules).
#[derive(Debug, Clone)]
pub struct Authority {
    actor: Actor,
    held: Grants,
    roles: HashMap<String, Grants>,
}

fn forbidden(message: String) -> Error {
    Error::Forbidden(message)
}

/// Whether `role` is one of the built-in roles.
pub fn is_builtin_role(role: &str) -> bool {
    super::BUILTIN_ROLES.iter().any(|(name, _)| *name == role)
}

impl Authority {
    /// Reads the actor's global grants and the role table (three queries), and applies
    /// the credential's limit.
    pub async fn load(conn: &mut DbConn, actor: &Actor) -> Result<Authority> {
        let held = match actor.user_id() {
            Some(id) => actor.effective(&grants(conn, id, None).await?),
            None => Grants::default(),
        };
        let roles = role_table(conn).await?.into_iter().collect();
        Ok(Authority {
            actor: actor.clone(),
            held,
            roles,
        })
    }

    /// Who is acting.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The actor's effective global grants.
    pub fn grants(&self) -> &Grants {
        &self.held
    }

    /// The system actor or an unlimited superuser: passes every rule.
    fn is_superuser(&self) -> bool {
        self.actor.bypasses()
    }

    /// Unrestricted: an unlimited superuser, the system actor, or a `superadmin` acting
    /// through an unlimited credential. Passes every rule but the built-in role rule.
    pub fn is_unrestricted(&self) -> bool {
        self.is_superuser() || self.held.has_role(SUPERADMIN_ROLE)
    }

    /// The effective grants of `role`, or [`Error::NotFound`].
    pub fn role(&self, role: &str) -> Result<&Grants> {
        self.roles
            .get(role)
            .ok_or_else(|| Error::NotFound(format!("role {role:?}")))
    }

    /// Fails unless the actor holds one of [`ASSIGN_PERMISSIONS`] (or is unrestricted).
    pub fn check_may_assign(&self) -> Result<()> {
        if self.is_unrestricted()
            || ASSIGN_PERMISSIONS
                .iter()
                .any(|p| self.held.has_permission(p))
        {
            return Ok(());
        }
        Err(forbidden(format!(
            "assigning roles requires one of the permissions {ASSIGN_PERMISSIONS:?}"
        )))
    }

    /// Fails unless the actor holds every permission in `codes`.
    pub fn check_permissions<'a>(&self, codes: impl IntoIterator<Item = &'a str>) -> Result<()> {
        if self.is_unrestricted() {
            return Ok(());
        }
        missing_from(&self.held, codes).map_err(|missing| {
            forbidden(format!(
                "you do not hold the permissions {missing:?}: you cannot hand them out"
            ))
        })
    }

    /// Fails unless the actor may give `role` to someone, or take it away, or make it
    /// another role's parent: they hold every permission it grants, and it does not imply
    /// `superadmin`. An unknown role is [`Error::NotFound`].
    pub fn check_role(&self, role: &str) -> Result<()> {
        let grants = self.role(role)?;
        if self.is_unrestricted() {
            return Ok(());
        }
        if grants.has_role(SUPERADMIN_ROLE) {
            return Err(forbidden(format!(
                "the role {role:?} makes its holders {SUPERADMIN_ROLE:?}: only a superuser or a \
                 {SUPERADMIN_ROLE:?} may hand it out"
            )));
        }
        self.check_permissions(grants.permissions.iter().map(String::as_str))
            .map_err(|_| {
                forbidden(format!(
                    "the role {role:?} grants permissions you do not hold: you cannot hand it out"
                ))
            })
    }

    /// Fails unless the actor may change or delete `role`: a built-in role only by an
    /// unlimited superuser; any other only by someone who holds every permission it grants
    /// now.
    pub fn check_role_edit(&self, role: &str) -> Result<()> {
        let grants = self.role(role)?;
        if is_builtin_role(role) && !self.is_superuser() {
            return Err(forbidden(format!(
                "{role:?} is a built-in role: only a superuser may change or delete it"
            )));
        }
        if self.is_unrestricted() {
            return Ok(());
        }
        self.check_permissions(grants.permissions.iter().map(String::as_str))
            .map_err(|_| {
                forbidden(format!(
                    "the role {role:?} grants permissions you do not hold: you cannot change it"
                ))
            })
    }

    /// Fails unless the actor may act on `target` (see the module docs): never their own
    /// account ([`Error::OwnAccount`]); then, for the global scope and every scope in which
    /// the target holds a role, the target's grants there must be covered by the actor's
    /// grants there. Reads the target's scopes and, per scope, both grant sets.
    pub async fn check_user<U: AuthUser>(&self, conn: &mut DbConn, target: &U) -> Result<()> {
        self.check_user_id(conn, target.id(), target.is_superuser())
            .await
    }

    /// [`Authority::check_user`] by id, for a target whose superuser flag is known.
    pub async fn check_user_id(
        &self,
        conn: &mut DbConn,
        target_id: i64,
        target_is_superuser: bool,
    ) -> Result<()> {
        if self.actor.is(target_id) {
            return Err(Error::OwnAccount);
        }
        if self.is_superuser() {
            return Ok(());
        }
        if target_is_superuser {
            return Err(forbidden(
                "only a superuser may act on a superuser's account".into(),
            ));
        }
        let mut scopes: Vec<Option<String>> = vec![None];
        scopes.extend(scopes_of(conn, target_id).await?.into_iter().map(Some));
        for scope in &scopes {
            let scope = scope.as_deref();
            let target = grants(conn, target_id, scope).await?;
            if target.has_role(SUPERADMIN_ROLE) {
                if self.is_unrestricted() {
                    continue;
                }
                return Err(forbidden(format!(
                    "only a superuser or a {SUPERADMIN_ROLE:?} may act on a \
                     {SUPERADMIN_ROLE:?}'s account"
                )));
            }
            if self.is_unrestricted() {
                continue;
            }
            let own = match (scope, self.actor.user_id()) {
                (None, _) | (_, None) => self.held.clone(),
                (Some(s), Some(id)) => self.actor.effective(&grants(conn, id, Some(s)).await?),
            };
            if missing_from(&own, target.permissions.iter().map(String::as_str)).is_err() {
                let place = match scope {
                    None => String::new(),
                    Some(s) => format!(" in scope {s:?}"),
                };
                return Err(forbidden(format!(
                    "this user holds permissions{place} you do not hold: you cannot act on \
                     their account"
                )));
            }
        }
        Ok(())
    }
}

/// `Ok` when `held` has every permission of `codes`; else the missing ones, sorted.
fn missing_from<'a>(
    held: &Grants,
    codes: impl IntoIterator<Item = &'a str>,
) -> std::result::Result<(), Vec<&'a str>> {
    let mut missing: Vec<&str> = codes
        .into_iter()
        .filter(|c| !held.has_permission(c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_unstable();
    missing.dedup();
    Err(missing)
}
