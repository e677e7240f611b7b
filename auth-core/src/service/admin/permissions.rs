//! Permissions: creating one (holding it is another matter: putting it on a role follows
//! the grant rules).

use serde_json::json;

use super::Admin;
use crate::audit::EventType;
use crate::authority::Actor;
use crate::backend::AuthError;
use crate::db::DbConn;
use crate::error::Error;
use crate::rbac::manage::{self, PermissionInfo};
use crate::user::UserStore;

impl<U: UserStore> Admin<'_, U> {
    /// Creates a permission; 409 when the code exists.
    pub async fn create_permission(
        &self,
        actor: &Actor,
        code: &str,
        remark: &str,
    ) -> Result<PermissionInfo, AuthError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            if manage::list_permissions(conn)
                .await?
                .iter()
                .any(|p| p.code == code)
            {
                return Err(Error::Exists(format!("permission {code:?}")).into());
            }
            let id = manage::get_or_create_permission(conn, code, remark).await?;
            let event = actor
                .event(EventType::PermissionChanged)
                .detail(json!({ "action": "created", "code": code }))
                .by(&actor.by());
            self.service.record(conn, event).await?;
            manage::list_permissions(conn)
                .await?
                .into_iter()
                .find(|p| p.id == id)
                .ok_or_else(|| Error::NotFound("permission".into()).into())
        })
        .await
    }
}
