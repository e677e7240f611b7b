//! Role-based access control: what roles and groups a user holds.
//!
//! Role assignments may carry a scope; the global scope is stored as `""`.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::DbConn;
use crate::error::Result;
use crate::schema::{auth_group_roles, auth_groups, auth_roles, auth_user_groups, auth_user_roles};
use crate::with_conn;

/// Names of the roles assigned to the user globally, directly or through a group, sorted
/// and without duplicates.
pub async fn role_names(conn: &mut DbConn, user_id: i64) -> Result<Vec<String>> {
    let (mut direct, via_groups): (Vec<String>, Vec<String>) = with_conn!(conn, |c| {
        let direct = auth_user_roles::table
            .inner_join(auth_roles::table)
            .filter(auth_user_roles::user_id.eq(user_id))
            .filter(auth_user_roles::scope.eq(""))
            .select(auth_roles::name)
            .load::<String>(c)
            .await?;
        let via_groups = auth_user_groups::table
            .inner_join(
                auth_group_roles::table
                    .on(auth_group_roles::group_id.eq(auth_user_groups::group_id)),
            )
            .inner_join(auth_roles::table.on(auth_roles::id.eq(auth_group_roles::role_id)))
            .filter(auth_user_groups::user_id.eq(user_id))
            .filter(auth_group_roles::scope.eq(""))
            .select(auth_roles::name)
            .load::<String>(c)
            .await?;
        Ok::<_, diesel::result::Error>((direct, via_groups))
    })?;
    direct.extend(via_groups);
    direct.sort();
    direct.dedup();
    Ok(direct)
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
