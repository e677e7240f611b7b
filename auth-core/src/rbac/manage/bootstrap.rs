//! The built-in roles and default permissions.
//!
//! [`bootstrap`] creates, in one transaction, the roles `superadmin`, `admin` and `user`
//! (`superadmin`'s parent is `admin`, `admin`'s parent is `user`: each inherits the
//! permissions below it) and the default permissions, and grants them as
//! [`DEFAULT_GRANTS`] says. It is idempotent and meant to run at every start: a second run
//! changes nothing and does not bump the RBAC version (no cache is flushed).
//!
//! It respects what administrators did since: an existing role keeps its parent, an
//! existing permission keeps its remark, and a default grant is only made when its role or
//! its permission is created by this run, so a default permission revoked from a built-in
//! role is not granted again at the next start.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::DbConn;
use crate::error::Result;

/// The built-in roles, each with its parent, parents first.
pub const BUILTIN_ROLES: [(&str, Option<&str>); 3] = [
    ("user", None),
    ("admin", Some("user")),
    ("superadmin", Some("admin")),
];

/// The default permissions (code, remark).
pub const DEFAULT_PERMISSIONS: [(&str, &str); 6] = [
    ("users.read", "See user accounts"),
    (
        "users.manage",
        "Create, update, activate, suspend and delete user accounts",
    ),
    ("roles.read", "See roles, groups and their assignments"),
    (
        "roles.manage",
        "Create, change and delete roles and groups; assign roles",
    ),
    ("permissions.read", "See permissions and who holds them"),
    (
        "permissions.manage",
        "Create, change and delete permissions",
    ),
];

/// The permissions each built-in role is granted (besides what it inherits).
pub const DEFAULT_GRANTS: [(&str, &[&str]); 3] = [
    ("user", &[]),
    (
        "admin",
        &[
            "users.read",
            "users.manage",
            "roles.read",
            "permissions.read",
        ],
    ),
    (
        "superadmin",
        &[
            "users.read",
            "users.manage",
            "roles.read",
            "roles.manage",
            "permissions.read",
            "permissions.manage",
        ],
    ),
];

/// What [`bootstrap`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bootstrapped {
    /// Roles created by this run.
    pub roles_created: Vec<String>,
    /// Permissions created by this run.
    pub permissions_created: Vec<String>,
    /// Role-permission links made by this run.
    pub grants_created: usize,
}

impl Bootstrapped {
    /// Whether this run changed anything.
    pub fn changed(&self) -> bool {
        !self.roles_created.is_empty()
            || !self.permissions_created.is_empty()
            || self.grants_created > 0
    }
}

/// Creates the built-in roles and default permissions that are missing, and their default
/// grants, in one transaction (see the module docs). Idempotent.
pub async fn bootstrap(conn: &mut DbConn) -> Result<Bootstrapped> {
    changing!(conn, |c| {
        let mut done = Bootstrapped::default();
        let mut permissions: HashMap<&str, (i64, bool)> = HashMap::new();
        for (code, remark) in DEFAULT_PERMISSIONS {
            let (id, _, created) = ensure_permission!(c, code, remark, false);
            if created {
                done.permissions_created.push(code.to_owned());
            }
            permissions.insert(code, (id, created));
        }
        let mut roles: HashMap<&str, (i64, bool)> = HashMap::new();
        for (name, parent) in BUILTIN_ROLES {
            let parent_id = parent.and_then(|p| roles.get(p)).map(|(id, _)| *id);
            let (id, created) = ensure_role!(c, name, parent_id);
            if created {
                done.roles_created.push(name.to_owned());
            }
            roles.insert(name, (id, created));
        }
        for (role, codes) in DEFAULT_GRANTS {
            let Some(&(role_id, role_created)) = roles.get(role) else {
                continue;
            };
            for code in codes {
                let Some(&(permission_id, permission_created)) = permissions.get(code) else {
                    continue;
                };
                if (role_created || permission_created) && ensure_grant!(c, role_id, permission_id)
                {
                    done.grants_created += 1;
                }
            }
        }
        let changed = done.changed();
        (done, changed)
    })
}
