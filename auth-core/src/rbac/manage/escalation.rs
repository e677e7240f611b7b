//! Escalation prevention: one rule for every RBAC write, as in Kubernetes RBAC (you cannot
//! hand out what you do not hold).
//!
//! An [`Authority`] is what the acting user (an [`Assigner`]) may do, loaded once per
//! change. A superuser, or a holder of the [`SUPERADMIN_ROLE`], is *unrestricted*. Anyone
//! else:
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
//!   only if they hold every permission that user holds, and the user is neither a
//!   superuser nor a `superadmin` ([`Authority::check_user`]).
//!
//! The built-in roles ([`super::BUILTIN_ROLES`]) are changed (permissions, parent, name)
//! and deleted only by superusers ([`Assigner::is_superuser`]); a `superadmin` may assign
//! them but not reshape them. Assigning roles at all needs one of
//! [`ASSIGN_PERMISSIONS`]; the routes' guards ask for the rest. A refusal is
//! [`Error::Forbidden`] naming what is missing.
//!
//! The acting user's grants are read once, before the change and outside its transaction:
//! an admin whose own grants shrink while their request runs still acts with the grants
//! they had when it started.

use std::collections::HashMap;

use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::rbac::query::{Grants, grants, role_table};

/// The role whose holders, like superusers, pass every grant rule.
pub const SUPERADMIN_ROLE: &str = "superadmin";

/// The permissions that allow assigning roles (either one, plus the grant rules).
pub const ASSIGN_PERMISSIONS: [&str; 2] = ["users.manage", "roles.manage"];

/// Who is acting, for the grant rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigner {
    /// The acting user's id.
    pub user_id: i64,
    /// Whether the acting user is a superuser (who may do anything).
    pub is_superuser: bool,
}

/// What an [`Assigner`] may do: their global grants and every role's effective grants,
/// read once (see the module docs for the rules).
#[derive(Debug, Clone)]
pub struct Authority {
    assigner: Assigner,
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
    /// Reads the assigner's global grants and the role table (three queries).
    pub async fn load(conn: &mut DbConn, assigner: Assigner) -> Result<Authority> {
        let held = grants(conn, assigner.user_id, None).await?;
        let roles = role_table(conn).await?.into_iter().collect();
        Ok(Authority {
            assigner,
            held,
            roles,
        })
    }

    /// Who is acting.
    pub fn assigner(&self) -> Assigner {
        self.assigner
    }

    /// The acting user's global grants.
    pub fn grants(&self) -> &Grants {
        &self.held
    }

    /// A superuser or a `superadmin`: passes every rule but the built-in role rule.
    pub fn is_unrestricted(&self) -> bool {
        self.assigner.is_superuser || self.held.has_role(SUPERADMIN_ROLE)
    }

    /// The effective grants of `role`, or [`Error::NotFound`].
    pub fn role(&self, role: &str) -> Result<&Grants> {
        self.roles
            .get(role)
            .ok_or_else(|| Error::NotFound(format!("role {role:?}")))
    }

    /// Fails unless the assigner holds one of [`ASSIGN_PERMISSIONS`] (or is unrestricted).
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

    /// Fails unless the assigner holds every permission in `codes`.
    pub fn check_permissions<'a>(&self, codes: impl IntoIterator<Item = &'a str>) -> Result<()> {
        if self.is_unrestricted() {
            return Ok(());
        }
        let mut missing: Vec<&str> = codes
            .into_iter()
            .filter(|c| !self.held.has_permission(c))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        Err(forbidden(format!(
            "you do not hold the permissions {missing:?}: you cannot hand them out"
        )))
    }

    /// Fails unless the assigner may give `role` to someone, or take it away, or make it
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

    /// Fails unless the assigner may change or delete `role`: a built-in role only by a
    /// superuser; any other only by someone who holds every permission it grants now.
    pub fn check_role_edit(&self, role: &str) -> Result<()> {
        let grants = self.role(role)?;
        if is_builtin_role(role) && !self.assigner.is_superuser {
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

    /// Fails unless the assigner may act on the user `target_id` (see the module docs):
    /// reads the target's global grants (four queries).
    pub async fn check_user(
        &self,
        conn: &mut DbConn,
        target_id: i64,
        target_is_superuser: bool,
    ) -> Result<()> {
        if self.assigner.is_superuser {
            return Ok(());
        }
        if target_is_superuser {
            return Err(forbidden(
                "only a superuser may act on a superuser's account".into(),
            ));
        }
        let target = grants(conn, target_id, None).await?;
        self.check_user_grants(&target)
    }

    /// [`Authority::check_user`] for a target whose grants are already known (and who is
    /// not a superuser).
    pub fn check_user_grants(&self, target: &Grants) -> Result<()> {
        if self.is_unrestricted() {
            return Ok(());
        }
        if target.has_role(SUPERADMIN_ROLE) {
            return Err(forbidden(format!(
                "only a superuser or a {SUPERADMIN_ROLE:?} may act on a {SUPERADMIN_ROLE:?}'s \
                 account"
            )));
        }
        self.check_permissions(target.permissions.iter().map(String::as_str))
            .map_err(|_| {
                forbidden(
                    "this user holds permissions you do not hold: you cannot act on their account"
                        .into(),
                )
            })
    }
}
