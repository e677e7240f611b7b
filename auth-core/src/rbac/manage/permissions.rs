//! Permissions: create, rename, delete, list; grant to roles and revoke from them.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;

use super::check_code;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::{auth_permissions, auth_role_permissions, auth_roles};
use crate::with_conn;

/// A permission, as [`list_permissions`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PermissionInfo {
    /// Database id.
    pub id: i64,
    /// The access code (`article.create`).
    pub code: String,
    /// What the permission allows, for people.
    pub remark: String,
}

/// Creates the permission, or updates its remark when it exists. Returns its id.
pub async fn get_or_create_permission(conn: &mut DbConn, code: &str, remark: &str) -> Result<i64> {
    check_code(code)?;
    changing!(conn, |c| {
        let (id, changed, _) = ensure_permission!(c, code, remark, true);
        (id, changed)
    })
}

/// Makes the permissions table hold at least `catalog` (code, remark), updating remarks,
/// in one transaction. Returns how many permissions were created.
pub async fn sync_catalog(conn: &mut DbConn, catalog: &[(&str, &str)]) -> Result<usize> {
    for (code, _) in catalog {
        check_code(code)?;
    }
    let existing: Vec<(String, String)> = with_conn!(conn, |c| {
        auth_permissions::table
            .select((auth_permissions::code, auth_permissions::remark))
            .load(c)
            .await
    })?;
    let up_to_date = catalog
        .iter()
        .all(|(code, remark)| existing.iter().any(|(c, r)| c == code && r == remark));
    if up_to_date {
        return Ok(0);
    }
    changing!(conn, |c| {
        let mut created = 0;
        let mut changed = false;
        for (code, remark) in catalog {
            let (_, updated, new) = ensure_permission!(c, code, remark, true);
            changed |= updated;
            created += usize::from(new);
        }
        (created, changed)
    })
}

/// Renames a permission (its links stay). [`Error::Conflict`] if `new` is taken.
pub async fn rename_permission(conn: &mut DbConn, old: &str, new: &str) -> Result<()> {
    check_code(new)?;
    changing!(conn, |c| {
        let id = id_of!(c, auth_permissions, code, old, "permission");
        let changed = old != new;
        if changed {
            diesel::update(auth_permissions::table.find(id))
                .set(auth_permissions::code.eq(new))
                .execute(c)
                .await?;
        }
        ((), changed)
    })
}

/// Deletes a permission and takes it from every role. `false` if it did not exist.
pub async fn delete_permission(conn: &mut DbConn, code: &str) -> Result<bool> {
    changing!(conn, |c| {
        let id: Option<i64> = auth_permissions::table
            .filter(auth_permissions::code.eq(code))
            .select(auth_permissions::id)
            .first(c)
            .await
            .optional()?;
        if let Some(id) = id {
            diesel::delete(
                auth_role_permissions::table.filter(auth_role_permissions::permission_id.eq(id)),
            )
            .execute(c)
            .await?;
            diesel::delete(auth_permissions::table.find(id))
                .execute(c)
                .await?;
        }
        (id.is_some(), id.is_some())
    })
}

/// Every permission, sorted by code.
pub async fn list_permissions(conn: &mut DbConn) -> Result<Vec<PermissionInfo>> {
    let rows: Vec<(i64, String, String)> = with_conn!(conn, |c| {
        auth_permissions::table
            .select((
                auth_permissions::id,
                auth_permissions::code,
                auth_permissions::remark,
            ))
            .load(c)
            .await
    })?;
    let mut list: Vec<PermissionInfo> = rows
        .into_iter()
        .map(|(id, code, remark)| PermissionInfo { id, code, remark })
        .collect();
    list.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(list)
}

/// Gives `role` the permission `code` (idempotent).
pub async fn grant_permission(conn: &mut DbConn, role: &str, code: &str) -> Result<()> {
    changing!(conn, |c| {
        let role_id = id_of!(c, auth_roles, name, role, "role");
        let permission_id = id_of!(c, auth_permissions, code, code, "permission");
        ((), ensure_grant!(c, role_id, permission_id))
    })
}

/// Takes the permission `code` from `role`. `false` if the role did not have it.
pub async fn revoke_permission(conn: &mut DbConn, role: &str, code: &str) -> Result<bool> {
    changing!(conn, |c| {
        let role_id = id_of!(c, auth_roles, name, role, "role");
        let permission_id = id_of!(c, auth_permissions, code, code, "permission");
        let removed = diesel::delete(
            auth_role_permissions::table
                .filter(auth_role_permissions::role_id.eq(role_id))
                .filter(auth_role_permissions::permission_id.eq(permission_id)),
        )
        .execute(c)
        .await?
            > 0;
        (removed, removed)
    })
}

/// The permission codes granted to `role` itself (not those inherited from its ancestors:
/// see [`crate::rbac::role_table`] for those), sorted.
pub async fn role_permissions(conn: &mut DbConn, role: &str) -> Result<Vec<String>> {
    let mut codes: Vec<String> = with_conn!(conn, |c| {
        let role_id = id_of!(c, auth_roles, name, role, "role");
        auth_role_permissions::table
            .inner_join(auth_permissions::table)
            .filter(auth_role_permissions::role_id.eq(role_id))
            .select(auth_permissions::code)
            .load::<String>(c)
            .await
            .map_err(Error::from)
    })?;
    codes.sort();
    Ok(codes)
}
