//! Creating and linking permissions, roles and groups, and assigning them to users.
//!
//! Every function runs in one transaction and bumps the RBAC version in it, so cached
//! grants everywhere are recomputed on their next use. Names are unique; `get_or_create`
//! variants are idempotent (and safe against a concurrent creator). Unknown names are
//! [`Error::NotFound`](crate::Error::NotFound).

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::{
    auth_group_roles, auth_groups, auth_permissions, auth_rbac_version, auth_role_permissions,
    auth_roles, auth_user_groups, auth_user_roles,
};
use crate::with_conn;

/// Runs `$body` (with `$c` the connection) in a transaction that also bumps the version.
macro_rules! changing {
    ($conn:expr, |$c:ident| $body:expr) => {
        with_conn!($conn, |c| {
            c.transaction::<_, Error, _>(async |$c| {
                let out = $body;
                diesel::update(auth_rbac_version::table.find(1))
                    .set(auth_rbac_version::version.eq(auth_rbac_version::version + 1))
                    .execute($c)
                    .await?;
                Ok(out)
            })
            .await
        })
    };
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
            .ok_or_else(|| Error::NotFound(format!(concat!($what, " {:?}"), $value)))?
    };
}

/// Inserts a link row unless `$existing` finds one. (A portable "insert if absent": the
/// transaction and the unique index make a concurrent duplicate fail cleanly.)
macro_rules! insert_link {
    ($c:ident, $existing:expr, $insert:expr $(,)?) => {{
        let n: i64 = $existing.count().get_result($c).await?;
        if n == 0 {
            $insert.execute($c).await?;
        }
    }};
}

fn now() -> time::PrimitiveDateTime {
    crate::session::now()
}

fn scope_key(scope: Option<&str>) -> &str {
    scope.unwrap_or("")
}

/// Creates the permission, or updates its remark when it exists. Returns its id.
pub async fn get_or_create_permission(conn: &mut DbConn, code: &str, remark: &str) -> Result<i64> {
    if !crate::access::is_valid_permission(code) {
        return Err(Error::Invalid(format!("malformed permission {code:?}")));
    }
    changing!(conn, |c| {
        let existing: Option<i64> = auth_permissions::table
            .filter(auth_permissions::code.eq(code))
            .select(auth_permissions::id)
            .first(c)
            .await
            .optional()?;
        match existing {
            Some(id) => {
                diesel::update(auth_permissions::table.find(id))
                    .set(auth_permissions::remark.eq(remark))
                    .execute(c)
                    .await?;
                id
            }
            None => {
                diesel::insert_into(auth_permissions::table)
                    .values((
                        auth_permissions::code.eq(code),
                        auth_permissions::remark.eq(remark),
                        auth_permissions::created_at.eq(now()),
                    ))
                    .execute(c)
                    .await?;
                id_of!(c, auth_permissions, code, code, "permission")
            }
        }
    })
}

/// Makes the permissions table hold at least `catalog` (code, remark), updating remarks.
/// Returns how many permissions were created.
pub async fn sync_catalog(conn: &mut DbConn, catalog: &[(&str, &str)]) -> Result<usize> {
    let existing: Vec<(String, String)> = with_conn!(conn, |c| {
        auth_permissions::table
            .select((auth_permissions::code, auth_permissions::remark))
            .load(c)
            .await
    })?;
    let mut created = 0;
    for (code, remark) in catalog {
        match existing.iter().find(|(c, _)| c == code) {
            Some((_, r)) if r == remark => {}
            found => {
                get_or_create_permission(conn, code, remark).await?;
                created += usize::from(found.is_none());
            }
        }
    }
    Ok(created)
}

/// Creates a role (with an optional parent whose permissions it inherits), or returns the
/// existing one's id.
pub async fn get_or_create_role(
    conn: &mut DbConn,
    name: &str,
    parent: Option<&str>,
) -> Result<i64> {
    check_name("role", name)?;
    changing!(conn, |c| {
        let parent_id = match parent {
            Some(p) => Some(id_of!(c, auth_roles, name, p, "role")),
            None => None,
        };
        let existing: Option<i64> = auth_roles::table
            .filter(auth_roles::name.eq(name))
            .select(auth_roles::id)
            .first(c)
            .await
            .optional()?;
        match existing {
            Some(id) => id,
            None => {
                diesel::insert_into(auth_roles::table)
                    .values((
                        auth_roles::name.eq(name),
                        auth_roles::parent_id.eq(parent_id),
                        auth_roles::created_at.eq(now()),
                    ))
                    .execute(c)
                    .await?;
                id_of!(c, auth_roles, name, name, "role")
            }
        }
    })
}

/// Creates a group, or returns the existing one's id.
pub async fn get_or_create_group(conn: &mut DbConn, name: &str) -> Result<i64> {
    check_name("group", name)?;
    changing!(conn, |c| {
        let existing: Option<i64> = auth_groups::table
            .filter(auth_groups::name.eq(name))
            .select(auth_groups::id)
            .first(c)
            .await
            .optional()?;
        match existing {
            Some(id) => id,
            None => {
                diesel::insert_into(auth_groups::table)
                    .values((
                        auth_groups::name.eq(name),
                        auth_groups::created_at.eq(now()),
                    ))
                    .execute(c)
                    .await?;
                id_of!(c, auth_groups, name, name, "group")
            }
        }
    })
}

/// Deletes a role and its links (permissions, user and group assignments). `false` if it
/// did not exist.
pub async fn delete_role(conn: &mut DbConn, name: &str) -> Result<bool> {
    changing!(conn, |c| {
        let Some(id) = auth_roles::table
            .filter(auth_roles::name.eq(name))
            .select(auth_roles::id)
            .first::<i64>(c)
            .await
            .optional()?
        else {
            return Ok(false);
        };
        diesel::delete(auth_role_permissions::table.filter(auth_role_permissions::role_id.eq(id)))
            .execute(c)
            .await?;
        diesel::delete(auth_user_roles::table.filter(auth_user_roles::role_id.eq(id)))
            .execute(c)
            .await?;
        diesel::delete(auth_group_roles::table.filter(auth_group_roles::role_id.eq(id)))
            .execute(c)
            .await?;
        diesel::update(auth_roles::table.filter(auth_roles::parent_id.eq(id)))
            .set(auth_roles::parent_id.eq(None::<i64>))
            .execute(c)
            .await?;
        diesel::delete(auth_roles::table.find(id))
            .execute(c)
            .await?;
        true
    })
}

/// Gives `role` the permission `code` (idempotent).
pub async fn grant_permission(conn: &mut DbConn, role: &str, code: &str) -> Result<()> {
    changing!(conn, |c| {
        let role_id = id_of!(c, auth_roles, name, role, "role");
        let permission_id = id_of!(c, auth_permissions, code, code, "permission");
        insert_link!(
            c,
            auth_role_permissions::table
                .filter(auth_role_permissions::role_id.eq(role_id))
                .filter(auth_role_permissions::permission_id.eq(permission_id)),
            diesel::insert_into(auth_role_permissions::table).values((
                auth_role_permissions::role_id.eq(role_id),
                auth_role_permissions::permission_id.eq(permission_id),
            )),
        );
    })
}

/// Takes the permission `code` from `role`. `false` if the role did not have it.
pub async fn revoke_permission(conn: &mut DbConn, role: &str, code: &str) -> Result<bool> {
    changing!(conn, |c| {
        let role_id = id_of!(c, auth_roles, name, role, "role");
        let permission_id = id_of!(c, auth_permissions, code, code, "permission");
        diesel::delete(
            auth_role_permissions::table
                .filter(auth_role_permissions::role_id.eq(role_id))
                .filter(auth_role_permissions::permission_id.eq(permission_id)),
        )
        .execute(c)
        .await?
            > 0
    })
}

/// Assigns `role` to the user, globally (`None`) or in `scope` (idempotent).
pub async fn assign_role(
    conn: &mut DbConn,
    user_id: i64,
    role: &str,
    scope: Option<&str>,
) -> Result<()> {
    let scope = scope_key(scope);
    changing!(conn, |c| {
        let role_id = id_of!(c, auth_roles, name, role, "role");
        insert_link!(
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
        diesel::delete(
            auth_user_roles::table
                .filter(auth_user_roles::user_id.eq(user_id))
                .filter(auth_user_roles::role_id.eq(role_id))
                .filter(auth_user_roles::scope.eq(scope)),
        )
        .execute(c)
        .await?
            > 0
    })
}

/// Adds the user to `group` (idempotent).
pub async fn add_to_group(conn: &mut DbConn, user_id: i64, group: &str) -> Result<()> {
    changing!(conn, |c| {
        let group_id = id_of!(c, auth_groups, name, group, "group");
        insert_link!(
            c,
            auth_user_groups::table
                .filter(auth_user_groups::user_id.eq(user_id))
                .filter(auth_user_groups::group_id.eq(group_id)),
            diesel::insert_into(auth_user_groups::table).values((
                auth_user_groups::user_id.eq(user_id),
                auth_user_groups::group_id.eq(group_id)
            )),
        );
    })
}

/// Removes the user from `group`. `false` if not a member.
pub async fn remove_from_group(conn: &mut DbConn, user_id: i64, group: &str) -> Result<bool> {
    changing!(conn, |c| {
        let group_id = id_of!(c, auth_groups, name, group, "group");
        diesel::delete(
            auth_user_groups::table
                .filter(auth_user_groups::user_id.eq(user_id))
                .filter(auth_user_groups::group_id.eq(group_id)),
        )
        .execute(c)
        .await?
            > 0
    })
}

/// Gives `group` the role, globally or in `scope` (idempotent).
pub async fn grant_group_role(
    conn: &mut DbConn,
    group: &str,
    role: &str,
    scope: Option<&str>,
) -> Result<()> {
    let scope = scope_key(scope);
    changing!(conn, |c| {
        let group_id = id_of!(c, auth_groups, name, group, "group");
        let role_id = id_of!(c, auth_roles, name, role, "role");
        insert_link!(
            c,
            auth_group_roles::table
                .filter(auth_group_roles::group_id.eq(group_id))
                .filter(auth_group_roles::role_id.eq(role_id))
                .filter(auth_group_roles::scope.eq(scope)),
            diesel::insert_into(auth_group_roles::table).values((
                auth_group_roles::group_id.eq(group_id),
                auth_group_roles::role_id.eq(role_id),
                auth_group_roles::scope.eq(scope),
            )),
        );
    })
}

/// Deletes the user's role assignments and group memberships (call when deleting a user,
/// in the same transaction as the user row when possible).
pub async fn forget_user(conn: &mut DbConn, user_id: i64) -> Result<()> {
    changing!(conn, |c| {
        diesel::delete(auth_user_roles::table.filter(auth_user_roles::user_id.eq(user_id)))
            .execute(c)
            .await?;
        diesel::delete(auth_user_groups::table.filter(auth_user_groups::user_id.eq(user_id)))
            .execute(c)
            .await?;
    })
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.chars().count() > 150 || name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "{what} name must be 1 to 150 characters without control characters"
        )));
    }
    Ok(())
}
