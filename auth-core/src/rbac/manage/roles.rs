//! Roles: create, rename, describe, delete, list, and the hierarchy.
//!
//! A role inherits the permissions of its parent (and of the parent's ancestors); holding
//! a role implies holding its ancestors. A change that would make a role its own ancestor
//! is refused with [`Error::Invalid`] and changes nothing.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;

use super::check_name;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::{auth_group_roles, auth_role_permissions, auth_roles, auth_user_roles};
use crate::with_conn;

/// A role, as [`list_roles`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoleInfo {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The parent role's name (whose permissions this role inherits), if any.
    pub parent: Option<String>,
}

/// Whether giving `role` the parent `parent` would make `role` its own ancestor, given
/// every role's `(id, parent_id)`.
fn would_cycle(hierarchy: &[(i64, Option<i64>)], role: i64, parent: i64) -> bool {
    let parents: HashMap<i64, Option<i64>> = hierarchy.iter().copied().collect();
    let mut seen = HashSet::new();
    let mut next = Some(parent);
    while let Some(id) = next {
        if id == role {
            return true;
        }
        if !seen.insert(id) {
            return false; // an existing cycle that does not involve `role`
        }
        next = parents.get(&id).copied().flatten();
    }
    false
}

/// Sets the parent of the role `$id` (named `$name`) to the role id `$parent` (named
/// `$parent_name`), refusing a cycle. Evaluates to whether it changed.
macro_rules! set_parent {
    ($c:ident, $id:expr, $name:expr, $parent:expr, $parent_name:expr) => {{
        let (id, parent): (i64, Option<i64>) = ($id, $parent);
        let current: Option<i64> = auth_roles::table
            .find(id)
            .select(auth_roles::parent_id)
            .first($c)
            .await?;
        if current == parent {
            false
        } else {
            if let Some(parent) = parent {
                let hierarchy: Vec<(i64, Option<i64>)> = auth_roles::table
                    .select((auth_roles::id, auth_roles::parent_id))
                    .load($c)
                    .await?;
                if would_cycle(&hierarchy, id, parent) {
                    return Err(Error::Invalid(format!(
                        "role {:?} cannot have the parent {:?}: it would become its own \
                         ancestor",
                        $name,
                        $parent_name.unwrap_or_default()
                    )));
                }
            }
            diesel::update(auth_roles::table.find(id))
                .set(auth_roles::parent_id.eq(parent))
                .execute($c)
                .await?;
            true
        }
    }};
}

/// Creates a role (with an optional parent whose permissions it inherits), or returns the
/// existing one's id. With `Some(parent)`, an existing role gets that parent (refused with
/// [`Error::Invalid`] if it would make a cycle); with `None` its parent is left as it is.
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
        let (id, created) = ensure_role!(c, name, parent_id);
        let changed = match parent_id {
            Some(_) if !created => set_parent!(c, id, name, parent_id, parent),
            _ => created,
        };
        (id, changed)
    })
}

/// Sets (`Some`) or clears (`None`) the parent of `role`. Refused with [`Error::Invalid`]
/// when `role` would become its own ancestor (directly or through other roles); nothing
/// changes then.
pub async fn set_role_parent(conn: &mut DbConn, role: &str, parent: Option<&str>) -> Result<()> {
    changing!(conn, |c| {
        let id = id_of!(c, auth_roles, name, role, "role");
        let parent_id = match parent {
            Some(p) => Some(id_of!(c, auth_roles, name, p, "role")),
            None => None,
        };
        ((), set_parent!(c, id, role, parent_id, parent))
    })
}

/// Renames a role (its links and children stay). [`Error::Conflict`] if `new` is taken.
pub async fn rename_role(conn: &mut DbConn, old: &str, new: &str) -> Result<()> {
    check_name("role", new)?;
    changing!(conn, |c| {
        let id = id_of!(c, auth_roles, name, old, "role");
        let changed = old != new;
        if changed {
            diesel::update(auth_roles::table.find(id))
                .set(auth_roles::name.eq(new))
                .execute(c)
                .await?;
        }
        ((), changed)
    })
}

/// Sets a role's description.
pub async fn describe_role(conn: &mut DbConn, role: &str, description: &str) -> Result<()> {
    changing!(conn, |c| {
        let id = id_of!(c, auth_roles, name, role, "role");
        let changed = diesel::update(auth_roles::table.find(id))
            .filter(auth_roles::description.ne(description))
            .set(auth_roles::description.eq(description))
            .execute(c)
            .await?
            > 0;
        ((), changed)
    })
}

/// Deletes a role and its links (permissions, user and group assignments); its children
/// lose their parent. `false` if it did not exist.
pub async fn delete_role(conn: &mut DbConn, name: &str) -> Result<bool> {
    changing!(conn, |c| {
        let id: Option<i64> = auth_roles::table
            .filter(auth_roles::name.eq(name))
            .select(auth_roles::id)
            .first(c)
            .await
            .optional()?;
        if let Some(id) = id {
            diesel::delete(
                auth_role_permissions::table.filter(auth_role_permissions::role_id.eq(id)),
            )
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
        }
        (id.is_some(), id.is_some())
    })
}

/// Every role with its parent's name, sorted by name.
pub async fn list_roles(conn: &mut DbConn) -> Result<Vec<RoleInfo>> {
    let rows: Vec<(i64, String, String, Option<i64>)> = with_conn!(conn, |c| {
        auth_roles::table
            .select((
                auth_roles::id,
                auth_roles::name,
                auth_roles::description,
                auth_roles::parent_id,
            ))
            .load(c)
            .await
    })?;
    let names: HashMap<i64, &str> = rows.iter().map(|r| (r.0, r.1.as_str())).collect();
    let mut list: Vec<RoleInfo> = rows
        .iter()
        .map(|(id, name, description, parent)| RoleInfo {
            id: *id,
            name: name.clone(),
            description: description.clone(),
            parent: parent.and_then(|p| names.get(&p)).map(|n| (*n).to_owned()),
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::would_cycle;

    #[test]
    fn cycles_are_detected() {
        // 1 <- 2 <- 3 (3's parent is 2, 2's parent is 1); 4 and 5 form an old cycle.
        let h = [
            (1, None),
            (2, Some(1)),
            (3, Some(2)),
            (4, Some(5)),
            (5, Some(4)),
        ];
        assert!(would_cycle(&h, 1, 1), "its own parent");
        assert!(would_cycle(&h, 1, 3), "through a descendant");
        assert!(would_cycle(&h, 2, 3));
        assert!(!would_cycle(&h, 3, 1), "an ancestor's ancestor is fine");
        assert!(
            !would_cycle(&h, 1, 4),
            "an unrelated old cycle stops the walk"
        );
    }
}
