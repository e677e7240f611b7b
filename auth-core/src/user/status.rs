//! Why a user account was suspended: the reason, when, and by whom (table
//! `auth_user_status`, at most one row per user). The active flag itself is the user
//! model's `is_active`; this records the administrator's explanation beside it.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;
use time::PrimitiveDateTime;

use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::auth_user_status as st;
use crate::with_conn;

/// The recorded suspension of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserStatus {
    /// Why the account was suspended.
    pub reason: String,
    /// When (UTC).
    #[serde(with = "crate::timefmt")]
    pub changed_at: PrimitiveDateTime,
    /// The id of the user who suspended it, if known.
    pub changed_by: Option<i64>,
}

/// The recorded suspension of `user_id`, if any.
pub async fn get(conn: &mut DbConn, user_id: i64) -> Result<Option<UserStatus>> {
    let row: Option<(String, PrimitiveDateTime, Option<i64>)> = with_conn!(conn, |c| {
        st::table
            .find(user_id)
            .select((st::reason, st::changed_at, st::changed_by))
            .first(c)
            .await
            .optional()
    })?;
    Ok(row.map(|(reason, changed_at, changed_by)| UserStatus {
        reason,
        changed_at,
        changed_by,
    }))
}

/// Records (replacing any earlier record) why `user_id` was suspended, now, by `by`.
pub async fn set(conn: &mut DbConn, user_id: i64, reason: &str, by: Option<i64>) -> Result<()> {
    let now = crate::session::now();
    with_conn!(conn, |c| {
        c.transaction::<_, Error, _>(async |c| {
            diesel::delete(st::table.find(user_id)).execute(c).await?;
            diesel::insert_into(st::table)
                .values((
                    st::user_id.eq(user_id),
                    st::reason.eq(reason),
                    st::changed_at.eq(now),
                    st::changed_by.eq(by),
                ))
                .execute(c)
                .await?;
            Ok(())
        })
        .await
    })
}

/// Removes the record for `user_id` (on reactivation or deletion). `false` if there was none.
pub async fn clear(conn: &mut DbConn, user_id: i64) -> Result<bool> {
    let n = with_conn!(conn, |c| {
        diesel::delete(st::table.find(user_id)).execute(c).await
    })?;
    Ok(n > 0)
}
