//! Roles: create, change (name, description, parent), delete; replace a role's
//! permissions.

use serde_json::json;

use super::reads::{RoleDetail, role_by_id};
use super::{Admin, authority, dedup, unknown_is_invalid};
use crate::audit::EventType;
use crate::authority::Actor;
use crate::backend::AuthError;
use crate::db::DbConn;
use crate::error::Error;
use crate::rbac::manage;
use crate::user::UserStore;

/// 409 when a role of this name exists.
async fn check_free(conn: &mut DbConn, name: &str) -> Result<(), AuthError> {
    if manage::list_roles(conn)
        .await?
        .iter()
        .any(|r| r.name == name)
    {
        return Err(Error::Exists(format!("role {name:?}")).into());
    }
    Ok(())
}

/// What to change on a role; `None` leaves it as it is.
#[derive(Debug, Clone, Default)]
pub struct RoleChanges {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new parent (`Some(None)` removes it).
    pub parent: Option<Option<String>>,
}

impl<U: UserStore> Admin<'_, U> {
    /// Creates a role, with a parent the actor may hand out.
    pub async fn create_role(
        &self,
        actor: &Actor,
        name: &str,
        description: Option<&str>,
        parent: Option<&str>,
    ) -> Result<RoleDetail, AuthError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            check_free(conn, name).await?;
            if let Some(parent) = parent {
                authority(conn, actor)
                    .await?
                    .check_role(parent)
                    .map_err(unknown_is_invalid)?;
            }
            let id = manage::get_or_create_role(conn, name, parent)
                .await
                .map_err(unknown_is_invalid)?;
            if let Some(description) = description {
                manage::describe_role(conn, name, description).await?;
            }
            let event = actor
                .event(EventType::RoleChanged)
                .detail(json!({ "action": "created", "role": name, "parent": parent }))
                .by(&actor.by());
            self.service.record(conn, event).await?;
            role_by_id(conn, id).await
        })
        .await
    }

    /// Changes a role: the actor must hold every permission it grants now (built-in roles:
    /// superusers only), and may give it only a parent they may hand out.
    pub async fn change_role(
        &self,
        actor: &Actor,
        id: i64,
        changes: RoleChanges,
    ) -> Result<RoleDetail, AuthError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            let role = role_by_id(conn, id).await?.role;
            let authority = authority(conn, actor).await?;
            authority.check_role_edit(&role.name)?;
            if let Some(Some(parent)) = &changes.parent {
                authority.check_role(parent).map_err(unknown_is_invalid)?;
            }
            let before = json!({ "name": role.name, "parent": role.parent });
            let mut name = role.name.clone();
            if let Some(new) = &changes.name
                && *new != name
            {
                check_free(conn, new).await?;
                manage::rename_role(conn, &name, new).await?;
                name.clone_from(new);
            }
            if let Some(description) = &changes.description {
                manage::describe_role(conn, &name, description).await?;
            }
            if let Some(parent) = &changes.parent {
                manage::set_role_parent(conn, &name, parent.as_deref())
                    .await
                    .map_err(unknown_is_invalid)?;
            }
            let event = actor
                .event(EventType::RoleChanged)
                .detail(json!({ "action": "changed", "role": name, "was": before }))
                .by(&actor.by());
            self.service.record(conn, event).await?;
            role_by_id(conn, id).await
        })
        .await
    }

    /// Deletes a role (its assignments go with it) under the same rule as changing it.
    pub async fn delete_role(&self, actor: &Actor, id: i64) -> Result<(), AuthError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            let role = role_by_id(conn, id).await?.role;
            authority(conn, actor).await?.check_role_edit(&role.name)?;
            if !manage::delete_role(conn, &role.name).await? {
                return Err(Error::NotFound("role".into()).into());
            }
            let event = actor
                .event(EventType::RoleChanged)
                .detail(json!({ "action": "deleted", "role": role.name }))
                .by(&actor.by());
            self.service.record(conn, event).await?;
            Ok::<_, AuthError>(())
        })
        .await
    }

    /// Replaces a role's own permissions: the actor must be allowed to change the role and
    /// hold every permission granted or revoked; one transaction.
    pub async fn set_role_permissions(
        &self,
        actor: &Actor,
        id: i64,
        permissions: Vec<String>,
    ) -> Result<RoleDetail, AuthError> {
        let wanted = dedup(permissions);
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            let role = role_by_id(conn, id).await?.role;
            let known = manage::list_permissions(conn).await?;
            if let Some(unknown) = wanted.iter().find(|c| !known.iter().any(|p| &p.code == *c)) {
                return Err(AuthError::Invalid(format!(
                    "unknown permission {unknown:?}"
                )));
            }
            let held = manage::role_permissions(conn, &role.name).await?;
            let revoked: Vec<&String> = held.iter().filter(|c| !wanted.contains(c)).collect();
            let granted: Vec<&String> = wanted.iter().filter(|c| !held.contains(c)).collect();
            let authority = authority(conn, actor).await?;
            authority.check_role_edit(&role.name)?;
            authority.check_permissions(granted.iter().chain(&revoked).map(|c| c.as_str()))?;
            for code in &revoked {
                manage::revoke_permission(conn, &role.name, code).await?;
            }
            for code in &granted {
                manage::grant_permission(conn, &role.name, code)
                    .await
                    .map_err(unknown_is_invalid)?;
            }
            for (event, codes) in [
                (EventType::PermissionGranted, &granted),
                (EventType::PermissionRevoked, &revoked),
            ] {
                if !codes.is_empty() {
                    let event = actor
                        .event(event)
                        .detail(json!({ "role": role.name, "permissions": codes }))
                        .by(&actor.by());
                    self.service.record(conn, event).await?;
                }
            }
            role_by_id(conn, id).await
        })
        .await
    }
}
