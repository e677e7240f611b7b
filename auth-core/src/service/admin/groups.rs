//! Groups: create, change (name, description), delete; replace the roles a group carries.

use serde_json::json;

use super::reads::{GroupDetail, group_by_id};
use super::{Admin, authority, check_roles_exist, dedup, role_changes, unknown_is_invalid};
use crate::audit::EventType;
use crate::authority::Actor;
use crate::backend::AuthError;
use crate::db::DbConn;
use crate::error::Error;
use crate::rbac::manage;
use crate::user::UserStore;

/// 409 when a group of this name exists.
async fn check_free(conn: &mut DbConn, name: &str) -> Result<(), AuthError> {
    if manage::list_groups(conn)
        .await?
        .iter()
        .any(|g| g.name == name)
    {
        return Err(Error::Exists(format!("group {name:?}")).into());
    }
    Ok(())
}

impl<U: UserStore> Admin<'_, U> {
    /// Creates an empty group.
    pub async fn create_group(
        &self,
        actor: &Actor,
        name: &str,
        description: Option<&str>,
    ) -> Result<GroupDetail, AuthError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            check_free(conn, name).await?;
            let id = manage::get_or_create_group(conn, name).await?;
            if let Some(description) = description {
                manage::describe_group(conn, name, description).await?;
            }
            let event = actor
                .event(EventType::GroupChanged)
                .detail(json!({ "action": "created", "group": name }))
                .by(&actor.by());
            self.service.record(conn, event).await?;
            group_by_id(conn, id).await
        })
        .await
    }

    /// Renames or describes a group (its members and roles are untouched).
    pub async fn change_group(
        &self,
        actor: &Actor,
        id: i64,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<GroupDetail, AuthError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            let group = group_by_id(conn, id).await?.group;
            let mut current = group.name.clone();
            if let Some(new) = name
                && new != current
            {
                check_free(conn, new).await?;
                manage::rename_group(conn, &current, new).await?;
                current = new.to_owned();
            }
            if let Some(description) = description {
                manage::describe_group(conn, &current, description).await?;
            }
            let event = actor
                .event(EventType::GroupChanged)
                .detail(json!({ "action": "changed", "group": current, "was": group.name }))
                .by(&actor.by());
            self.service.record(conn, event).await?;
            group_by_id(conn, id).await
        })
        .await
    }

    /// Deletes a group: its members lose its roles, so each of them must pass the grant
    /// rules.
    pub async fn delete_group(&self, actor: &Actor, id: i64) -> Result<(), AuthError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            let group = group_by_id(conn, id).await?;
            let authority = authority(conn, actor).await?;
            for role in &group.roles {
                authority.check_may_assign()?;
                authority.check_role(&role.role)?;
            }
            if !manage::delete_group(conn, &group.group.name).await? {
                return Err(Error::NotFound("group".into()).into());
            }
            let event = actor
                .event(EventType::GroupChanged)
                .detail(json!({ "action": "deleted", "group": group.group.name }))
                .by(&actor.by());
            self.service.record(conn, event).await?;
            Ok::<_, AuthError>(())
        })
        .await
    }

    /// Replaces the group's global roles: every role added or removed must pass the grant
    /// rules; one transaction.
    pub async fn set_group_roles(
        &self,
        actor: &Actor,
        id: i64,
        roles: Vec<String>,
    ) -> Result<GroupDetail, AuthError> {
        let wanted = dedup(roles);
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            let group = group_by_id(conn, id).await?;
            check_roles_exist(conn, &wanted).await?;
            let held: Vec<String> = group
                .roles
                .into_iter()
                .filter(|r| r.scope.is_none())
                .map(|r| r.role)
                .collect();
            let authority = authority(conn, actor).await?;
            let (added, removed) = role_changes(&authority, held, &wanted)?;
            let name = &group.group.name;
            for role in &removed {
                manage::revoke_group_role(conn, name, role, None).await?;
            }
            for role in &added {
                manage::grant_group_role(conn, name, role, None)
                    .await
                    .map_err(unknown_is_invalid)?;
            }
            if !added.is_empty() || !removed.is_empty() {
                let event = actor
                    .event(EventType::GroupChanged)
                    .detail(json!({
                        "action": "roles", "group": name, "added": added, "removed": removed,
                    }))
                    .by(&actor.by());
                self.service.record(conn, event).await?;
            }
            group_by_id(conn, id).await
        })
        .await
    }
}
