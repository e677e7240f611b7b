//! Creating, renaming, deleting and linking permissions, roles and groups, assigning them to
//! users, the grant rules, and the built-in bootstrap.
//!
//! - [`permissions`]: permissions and which roles grant them.
//! - [`roles`]: roles and their hierarchy (a role inherits its parent's permissions; a
//!   role can never become its own ancestor).
//! - [`groups`]: groups, their members and their roles.
//! - [`assign`]: roles assigned to users, globally or in a scope ([`assign_role_as`]
//!   under the grant rules).
//! - [`escalation`]: the grant rules, one for every RBAC write ([`Authority`]): nobody
//!   hands out a permission they do not hold or acts on a user above them.
//! - [`mod@bootstrap`]: the built-in roles and default permissions.
//!
//! Every function that writes runs in one transaction. The transaction first locks the
//! single RBAC version row, so RBAC changes are serialised on every backend: a lookup
//! followed by a write (get-or-create, the cycle check of a new parent) cannot race another
//! change, and a concurrent duplicate `get_or_create` returns the row the first one made.
//! The version is bumped in the same transaction only when something actually changed, so
//! cached grants everywhere are recomputed on their next use, and idempotent calls (a
//! bootstrap at every start) invalidate nothing. Names are unique (the database enforces
//! it: a rename onto a taken name is [`Error::Conflict`]); unknown
//! names are [`Error::NotFound`]; malformed names or codes are
//! [`Error::Invalid`].

use crate::error::{Error, Result};

/// Runs `$body` (with `$c` the connection) in a transaction. `$body` evaluates to
/// `(output, changed)`; the RBAC version is bumped in the same transaction when `changed`.
/// The transaction starts with a no-op update of the version row: the row lock it takes
/// serialises RBAC changes (on SQLite, it makes the transaction a writer at once).
/// `$body` must not `return Ok(..)` early (that would skip the bump); `?` is fine.
macro_rules! changing {
    ($conn:expr, |$c:ident| $body:expr) => {{
        let result = $crate::with_conn!($conn, |c| {
            c.transaction::<_, $crate::error::Error, _>(async |$c| {
                use $crate::schema::auth_rbac_version as v;
                diesel::update(v::table.find(1))
                    .set(v::version.eq(v::version))
                    .execute($c)
                    .await?;
                let (out, changed): (_, bool) = $body;
                if changed {
                    diesel::update(v::table.find(1))
                        .set(v::version.eq(v::version + 1))
                        .execute($c)
                        .await?;
                }
                Ok(out)
            })
            .await
        });
        // This process's session caches re-read grants at once (other instances see the
        // version move); a call that changed nothing costs them one re-read.
        if result.is_ok() {
            $conn.rbac_changed();
        }
        result
    }};
}

/// Looks a name up, or fails with `NotFound`.
macro_rules! id_of {
    ($c:ident, $table:ident, $column:ident, $value:expr, $what:literal) => {
        $table::table
            .filter($table::$column.eq($value))
            .select($table::id)
            .first::<i64>($c)
            .await
            .optional()?
            .ok_or_else(|| {
                $crate::error::Error::NotFound(format!(concat!($what, " {:?}"), $value))
            })?
    };
}

/// Inserts a link row unless `$existing` finds one; evaluates to whether it inserted. (A
/// portable "insert if absent": the version lock and the unique index make it safe.)
macro_rules! insert_link {
    ($c:ident, $existing:expr, $insert:expr $(,)?) => {{
        let n: i64 = $existing.count().get_result($c).await?;
        if n == 0 {
            $insert.execute($c).await?;
        }
        n == 0
    }};
}

/// Finds the permission `$code` or creates it with `$remark`; when `$update_remark`, an
/// existing permission's remark is set to `$remark`. Evaluates to `(id, changed, created)`.
macro_rules! ensure_permission {
    ($c:ident, $code:expr, $remark:expr, $update_remark:expr) => {{
        use $crate::schema::auth_permissions as p;
        let code: &str = $code;
        let remark: &str = $remark;
        let existing: Option<(i64, String)> = p::table
            .filter(p::code.eq(code))
            .select((p::id, p::remark))
            .first($c)
            .await
            .optional()?;
        match existing {
            Some((id, old)) if $update_remark && old != remark => {
                diesel::update(p::table.find(id))
                    .set(p::remark.eq(remark))
                    .execute($c)
                    .await?;
                (id, true, false)
            }
            Some((id, _)) => (id, false, false),
            None => {
                diesel::insert_into(p::table)
                    .values((
                        p::code.eq(code),
                        p::remark.eq(remark),
                        p::created_at.eq($crate::rbac::manage::now()),
                    ))
                    .execute($c)
                    .await?;
                let id = p::table
                    .filter(p::code.eq(code))
                    .select(p::id)
                    .first::<i64>($c)
                    .await?;
                (id, true, true)
            }
        }
    }};
}

/// Finds the role `$name` or creates it with the parent id `$parent` (an existing role's
/// parent is left alone). Evaluates to `(id, created)`.
macro_rules! ensure_role {
    ($c:ident, $name:expr, $parent:expr) => {{
        use $crate::schema::auth_roles as r;
        let name: &str = $name;
        let parent: Option<i64> = $parent;
        let existing: Option<i64> = r::table
            .filter(r::name.eq(name))
            .select(r::id)
            .first($c)
            .await
            .optional()?;
        match existing {
            Some(id) => (id, false),
            None => {
                diesel::insert_into(r::table)
                    .values((
                        r::name.eq(name),
                        r::parent_id.eq(parent),
                        r::created_at.eq($crate::rbac::manage::now()),
                    ))
                    .execute($c)
                    .await?;
                let id = r::table
                    .filter(r::name.eq(name))
                    .select(r::id)
                    .first::<i64>($c)
                    .await?;
                (id, true)
            }
        }
    }};
}

/// Links the role id `$role` to the permission id `$permission` unless linked. Evaluates to
/// whether it linked.
macro_rules! ensure_grant {
    ($c:ident, $role:expr, $permission:expr) => {{
        use $crate::schema::auth_role_permissions as rp;
        let (role, permission): (i64, i64) = ($role, $permission);
        insert_link!(
            $c,
            rp::table
                .filter(rp::role_id.eq(role))
                .filter(rp::permission_id.eq(permission)),
            diesel::insert_into(rp::table)
                .values((rp::role_id.eq(role), rp::permission_id.eq(permission))),
        )
    }};
}

pub mod assign;
pub mod bootstrap;
pub mod escalation;
pub mod groups;
pub mod permissions;
pub mod roles;

pub use assign::{
    ScopedRole, assign_role, assign_role_as, check_may_grant, forget_user, revoke_role,
    revoke_role_as, sync_role, user_roles,
};
pub use bootstrap::{BUILTIN_ROLES, Bootstrapped, DEFAULT_GRANTS, DEFAULT_PERMISSIONS, bootstrap};
pub use escalation::{ASSIGN_PERMISSIONS, Authority, SUPERADMIN_ROLE, is_builtin_role};
pub use groups::{
    GroupInfo, add_to_group, delete_group, describe_group, get_or_create_group, grant_group_role,
    group_roles, list_groups, remove_from_group, rename_group, revoke_group_role,
};
pub use permissions::{
    PermissionInfo, delete_permission, get_or_create_permission, grant_permission,
    list_permissions, rename_permission, revoke_permission, role_permissions, sync_catalog,
};
pub use roles::{
    RoleInfo, delete_role, describe_role, get_or_create_role, list_roles, rename_role,
    set_role_parent,
};

pub(crate) fn now() -> time::PrimitiveDateTime {
    crate::session::now()
}

/// The stored form of a scope: `""` is global.
fn scope_key(scope: Option<&str>) -> &str {
    scope.unwrap_or("")
}

/// The public form of a stored scope: global is `None`.
fn scope_of(stored: String) -> Option<String> {
    (!stored.is_empty()).then_some(stored)
}

/// Role and group names: 1 to 150 characters, no control characters, no leading or
/// trailing whitespace (which some collations ignore when comparing).
fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty()
        || name.chars().count() > 150
        || name.chars().any(char::is_control)
        || name.trim() != name
    {
        return Err(Error::Invalid(format!(
            "{what} name must be 1 to 150 characters, without control characters or \
             surrounding spaces"
        )));
    }
    Ok(())
}

/// Permission codes: see [`crate::access::is_valid_permission`].
fn check_code(code: &str) -> Result<()> {
    if !crate::access::is_valid_permission(code) {
        return Err(Error::Invalid(format!(
            "malformed permission {code:?}: expected dot-separated lowercase segments such as \
             \"article.create\""
        )));
    }
    Ok(())
}
