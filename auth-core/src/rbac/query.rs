//! Reading what a user holds.

use std::collections::{BTreeSet, HashMap, HashSet};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::DbConn;
use crate::error::Result;
use crate::schema::{
    auth_group_roles, auth_groups, auth_permissions, auth_rbac_version, auth_role_permissions,
    auth_roles, auth_user_groups, auth_user_roles,
};
use crate::with_conn;

/// A role's id, name and parent.
type RoleRow = (i64, String, Option<i64>);

/// What a user holds in one scope (global grants included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Roles held: assigned directly or through a group, plus their ancestors.
    pub roles: BTreeSet<String>,
    /// Permission codes of those roles.
    pub permissions: BTreeSet<String>,
}

impl Grants {
    /// Whether the permission is held.
    pub fn has_permission(&self, code: &str) -> bool {
        self.permissions.contains(code)
    }

    /// Whether the role is held.
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.contains(name)
    }
}

/// The current RBAC version (grows with every change made through [`super::manage`]).
pub async fn version(conn: &mut DbConn) -> Result<i64> {
    Ok(with_conn!(conn, |c| {
        auth_rbac_version::table
            .find(1)
            .select(auth_rbac_version::version)
            .first::<i64>(c)
            .await
            .optional()
    })?
    .unwrap_or(0))
}

/// The roles and permissions `user_id` holds globally and, when given, in `scope`.
/// Four queries whatever the number of roles: assignments, group assignments, the role
/// hierarchy, the permissions of the held roles.
pub async fn grants(conn: &mut DbConn, user_id: i64, scope: Option<&str>) -> Result<Grants> {
    let scopes: Vec<&str> = match scope {
        Some(s) if !s.is_empty() => vec!["", s],
        _ => vec![""],
    };
    let (assigned, hierarchy) = with_conn!(conn, |c| {
        let mut assigned: Vec<i64> = auth_user_roles::table
            .filter(auth_user_roles::user_id.eq(user_id))
            .filter(auth_user_roles::scope.eq_any(&scopes))
            .select(auth_user_roles::role_id)
            .load(c)
            .await?;
        let via_groups: Vec<i64> = auth_user_groups::table
            .inner_join(
                auth_group_roles::table
                    .on(auth_group_roles::group_id.eq(auth_user_groups::group_id)),
            )
            .filter(auth_user_groups::user_id.eq(user_id))
            .filter(auth_group_roles::scope.eq_any(&scopes))
            .select(auth_group_roles::role_id)
            .load(c)
            .await?;
        assigned.extend(via_groups);
        let hierarchy: Vec<RoleRow> = if assigned.is_empty() {
            Vec::new()
        } else {
            auth_roles::table
                .select((auth_roles::id, auth_roles::name, auth_roles::parent_id))
                .load(c)
                .await?
        };
        Ok::<_, diesel::result::Error>((assigned, hierarchy))
    })?;
    if assigned.is_empty() {
        return Ok(Grants::default());
    }
    let held = with_ancestors(&assigned, &hierarchy);
    let names: HashMap<i64, &String> = hierarchy.iter().map(|(id, name, _)| (*id, name)).collect();
    let roles = held
        .iter()
        .filter_map(|id| names.get(id).map(|n| (*n).clone()))
        .collect();
    let ids: Vec<i64> = held.into_iter().collect();
    let permissions: Vec<String> = with_conn!(conn, |c| {
        auth_role_permissions::table
            .inner_join(auth_permissions::table)
            .filter(auth_role_permissions::role_id.eq_any(&ids))
            .select(auth_permissions::code)
            .load(c)
            .await
    })?;
    Ok(Grants {
        roles,
        permissions: permissions.into_iter().collect(),
    })
}

/// The scopes (other than global) in which `user_id` holds a role, directly or through a
/// group, sorted.
pub async fn scopes_of(conn: &mut DbConn, user_id: i64) -> Result<Vec<String>> {
    let (mut direct, via_groups): (Vec<String>, Vec<String>) = with_conn!(conn, |c| {
        let direct = auth_user_roles::table
            .filter(auth_user_roles::user_id.eq(user_id))
            .filter(auth_user_roles::scope.ne(""))
            .select(auth_user_roles::scope)
            .load(c)
            .await?;
        let via_groups = auth_user_groups::table
            .inner_join(
                auth_group_roles::table
                    .on(auth_group_roles::group_id.eq(auth_user_groups::group_id)),
            )
            .filter(auth_user_groups::user_id.eq(user_id))
            .filter(auth_group_roles::scope.ne(""))
            .select(auth_group_roles::scope)
            .load(c)
            .await?;
        Ok::<_, diesel::result::Error>((direct, via_groups))
    })?;
    direct.extend(via_groups);
    direct.sort_unstable();
    direct.dedup();
    Ok(direct)
}

/// `assigned` and every ancestor of them (cycle-safe).
pub(crate) fn with_ancestors(
    assigned: &[i64],
    hierarchy: &[(i64, String, Option<i64>)],
) -> HashSet<i64> {
    let parent: HashMap<i64, Option<i64>> = hierarchy.iter().map(|(id, _, p)| (*id, *p)).collect();
    let mut held = HashSet::new();
    for &start in assigned {
        let mut next = Some(start);
        while let Some(id) = next {
            if !parent.contains_key(&id) || !held.insert(id) {
                break;
            }
            next = parent.get(&id).copied().flatten();
        }
    }
    held
}

/// A role or group as the login and `me` answers list it: `{id, name}`.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    diesel::Queryable,
    utoipa::ToSchema,
)]
pub struct Named {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// The roles assigned to the user globally, directly or through a group, sorted by name
/// and without duplicates (what the login and `me` answers list; ancestors are not
/// listed).
pub async fn user_roles(conn: &mut DbConn, user_id: i64) -> Result<Vec<Named>> {
    let (mut direct, via_groups): (Vec<Named>, Vec<Named>) = with_conn!(conn, |c| {
        let direct = auth_user_roles::table
            .inner_join(auth_roles::table)
            .filter(auth_user_roles::user_id.eq(user_id))
            .filter(auth_user_roles::scope.eq(""))
            .select((auth_roles::id, auth_roles::name))
            .load::<Named>(c)
            .await?;
        let via_groups = auth_user_groups::table
            .inner_join(
                auth_group_roles::table
                    .on(auth_group_roles::group_id.eq(auth_user_groups::group_id)),
            )
            .inner_join(auth_roles::table.on(auth_roles::id.eq(auth_group_roles::role_id)))
            .filter(auth_user_groups::user_id.eq(user_id))
            .filter(auth_group_roles::scope.eq(""))
            .select((auth_roles::id, auth_roles::name))
            .load::<Named>(c)
            .await?;
        Ok::<_, diesel::result::Error>((direct, via_groups))
    })?;
    direct.extend(via_groups);
    direct.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    direct.dedup();
    Ok(direct)
}

/// The groups the user belongs to, sorted by name.
pub async fn user_groups(conn: &mut DbConn, user_id: i64) -> Result<Vec<Named>> {
    Ok(with_conn!(conn, |c| {
        auth_user_groups::table
            .inner_join(auth_groups::table)
            .filter(auth_user_groups::user_id.eq(user_id))
            .select((auth_groups::id, auth_groups::name))
            .order(auth_groups::name)
            .load::<Named>(c)
            .await
    })?)
}

/// Names of the groups the user belongs to, sorted.
pub async fn group_names(conn: &mut DbConn, user_id: i64) -> Result<Vec<String>> {
    Ok(with_conn!(conn, |c| {
        auth_user_groups::table
            .inner_join(auth_groups::table)
            .filter(auth_user_groups::user_id.eq(user_id))
            .select(auth_groups::name)
            .order(auth_groups::name)
            .load::<String>(c)
            .await
    })?)
}

/// Every role with the permissions it grants (its own and its ancestors') and the roles it
/// implies (itself and its ancestors), sorted by name.
pub async fn role_table(conn: &mut DbConn) -> Result<Vec<(String, Grants)>> {
    let (hierarchy, links): (Vec<RoleRow>, Vec<(i64, String)>) = with_conn!(conn, |c| {
        let hierarchy = auth_roles::table
            .select((auth_roles::id, auth_roles::name, auth_roles::parent_id))
            .load(c)
            .await?;
        let links = auth_role_permissions::table
            .inner_join(auth_permissions::table)
            .select((auth_role_permissions::role_id, auth_permissions::code))
            .load(c)
            .await?;
        Ok::<_, diesel::result::Error>((hierarchy, links))
    })?;
    let names: HashMap<i64, &String> = hierarchy.iter().map(|(id, name, _)| (*id, name)).collect();
    let mut table: Vec<(String, Grants)> = hierarchy
        .iter()
        .map(|(id, name, _)| {
            let held = with_ancestors(&[*id], &hierarchy);
            let grants = Grants {
                roles: held
                    .iter()
                    .filter_map(|r| names.get(r).map(|n| (*n).clone()))
                    .collect(),
                permissions: links
                    .iter()
                    .filter(|(r, _)| held.contains(r))
                    .map(|(_, code)| code.clone())
                    .collect(),
            };
            (name.clone(), grants)
        })
        .collect();
    table.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::with_ancestors;

    #[test]
    fn ancestors_are_followed_and_cycles_stop() {
        let h = vec![
            (1, "user".to_owned(), None),
            (2, "editor".to_owned(), Some(1)),
            (3, "admin".to_owned(), Some(2)),
            (4, "a".to_owned(), Some(5)),
            (5, "b".to_owned(), Some(4)),
        ];
        let mut held: Vec<i64> = with_ancestors(&[3], &h).into_iter().collect();
        held.sort();
        assert_eq!(held, [1, 2, 3]);
        let mut cyc: Vec<i64> = with_ancestors(&[4], &h).into_iter().collect();
        cyc.sort();
        assert_eq!(cyc, [4, 5]);
        assert!(
            with_ancestors(&[99], &h).is_empty(),
            "a deleted role grants nothing"
        );
    }
}
