//! Groups: create, rename, describe, delete, list; members; the roles a group carries.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;

use super::assign::ScopedRole;
use super::{check_name, now, scope_key};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::{auth_group_roles, auth_groups, auth_roles, auth_user_groups};
use crate::with_conn;

/// A group, as [`list_groups`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GroupInfo {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
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
            Some(id) => (id, false),
            None => {
                diesel::insert_into(auth_groups::table)
                    .values((
                        auth_groups::name.eq(name),
                        auth_groups::created_at.eq(now()),
                    ))
                    .execute(c)
                    .await?;
                (id_of!(c, auth_groups, name, name, "group"), true)
            }
        }
    })
}

/// Renames a group (members and roles stay). [`Error::Conflict`] if `new` is taken.
pub async fn rename_group(conn: &mut DbConn, old: &str, new: &str) -> Result<()> {
    check_name("group", new)?;
    changing!(conn, |c| {
        let id = id_of!(c, auth_groups, name, old, "group");
        let changed = old != new;
        if changed {
            diesel::update(auth_groups::table.find(id))
                .set(auth_groups::name.eq(new))
                .execute(c)
                .await?;
        }
        ((), changed)
    })
}

/// Sets a group's description.
pub async fn describe_group(conn: &mut DbConn, group: &str, description: &str) -> Result<()> {
    changing!(conn, |c| {
        let id = id_of!(c, auth_groups, name, group, "group");
        let changed = diesel::update(auth_groups::table.find(id))
            .filter(auth_groups::description.ne(description))
            .set(auth_groups::description.eq(description))
            .execute(c)
            .await?
            > 0;
        ((), changed)
    })
}

/// Deletes a group, its memberships and its roles. `false` if it did not exist.
pub async fn delete_group(conn: &mut DbConn, name: &str) -> Result<bool> {
    changing!(conn, |c| {
        let id: Option<i64> = auth_groups::table
            .filter(auth_groups::name.eq(name))
            .select(auth_groups::id)
            .first(c)
            .await
            .optional()?;
        if let Some(id) = id {
            diesel::delete(auth_user_groups::table.filter(auth_user_groups::group_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(auth_group_roles::table.filter(auth_group_roles::group_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(auth_groups::table.find(id))
                .execute(c)
                .await?;
        }
        (id.is_some(), id.is_some())
    })
}

/// Every group, sorted by name.
pub async fn list_groups(conn: &mut DbConn) -> Result<Vec<GroupInfo>> {
    let rows: Vec<(i64, String, String)> = with_conn!(conn, |c| {
        auth_groups::table
            .select((auth_groups::id, auth_groups::name, auth_groups::description))
            .load(c)
            .await
    })?;
    let mut list: Vec<GroupInfo> = rows
        .into_iter()
        .map(|(id, name, description)| GroupInfo {
            id,
            name,
            description,
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list)
}

/// Adds the user to `group` (idempotent).
pub async fn add_to_group(conn: &mut DbConn, user_id: i64, group: &str) -> Result<()> {
    changing!(conn, |c| {
        let group_id = id_of!(c, auth_groups, name, group, "group");
        let added = insert_link!(
            c,
            auth_user_groups::table
                .filter(auth_user_groups::user_id.eq(user_id))
                .filter(auth_user_groups::group_id.eq(group_id)),
            diesel::insert_into(auth_user_groups::table).values((
                auth_user_groups::user_id.eq(user_id),
                auth_user_groups::group_id.eq(group_id)
            )),
        );
        ((), added)
    })
}

/// Removes the user from `group`. `false` if not a member.
pub async fn remove_from_group(conn: &mut DbConn, user_id: i64, group: &str) -> Result<bool> {
    changing!(conn, |c| {
        let group_id = id_of!(c, auth_groups, name, group, "group");
        let removed = diesel::delete(
            auth_user_groups::table
                .filter(auth_user_groups::user_id.eq(user_id))
                .filter(auth_user_groups::group_id.eq(group_id)),
        )
        .execute(c)
        .await?
            > 0;
        (removed, removed)
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
        let granted = insert_link!(
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
        ((), granted)
    })
}

/// Takes the role from `group` in exactly that scope. `false` if the group did not have it.
pub async fn revoke_group_role(
    conn: &mut DbConn,
    group: &str,
    role: &str,
    scope: Option<&str>,
) -> Result<bool> {
    let scope = scope_key(scope);
    changing!(conn, |c| {
        let group_id = id_of!(c, auth_groups, name, group, "group");
        let role_id = id_of!(c, auth_roles, name, role, "role");
        let removed = diesel::delete(
            auth_group_roles::table
                .filter(auth_group_roles::group_id.eq(group_id))
                .filter(auth_group_roles::role_id.eq(role_id))
                .filter(auth_group_roles::scope.eq(scope)),
        )
        .execute(c)
        .await?
            > 0;
        (removed, removed)
    })
}

/// The roles `group` carries, with their scopes, sorted by scope (global first) then role.
pub async fn group_roles(conn: &mut DbConn, group: &str) -> Result<Vec<ScopedRole>> {
    let rows: Vec<(String, String)> = with_conn!(conn, |c| {
        let group_id = id_of!(c, auth_groups, name, group, "group");
        auth_group_roles::table
            .inner_join(auth_roles::table)
            .filter(auth_group_roles::group_id.eq(group_id))
            .select((auth_roles::name, auth_group_roles::scope))
            .load(c)
            .await
            .map_err(Error::from)
    })?;
    Ok(ScopedRole::sorted(rows))
}
