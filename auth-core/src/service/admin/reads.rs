//! What the admin screens read: users (a page, one with roles, groups and suspension,
//! their sessions), roles, groups, permissions, the overview, the audit log, the locks.
//! Reading needs no authority beyond the route's guard (`users.read`, `roles.read`, ...).

use serde::Serialize;

use super::Admin;
use crate::audit::{self, AuditEvent, EventFilter};
use crate::backend::AuthError;
use crate::db::DbConn;
use crate::error::Error;
use crate::rbac::manage::{self, GroupInfo, PermissionInfo, RoleInfo, ScopedRole};
use crate::session::Session;
use crate::throttle::{self, Lock};
use crate::user::{UserFilter, UserStore};
use crate::user_status::{self, UserStatus};

/// A user with their global and scoped roles (assigned directly), groups and recorded
/// suspension.
#[derive(Debug, Clone, Serialize)]
pub struct UserDetail<U> {
    /// The user (its serialization: never the password hash).
    #[serde(flatten)]
    pub user: U,
    /// Roles assigned directly, with their scopes.
    pub roles: Vec<ScopedRole>,
    /// The groups the user belongs to, sorted.
    pub groups: Vec<String>,
    /// Why the account is suspended, if it is.
    pub suspension: Option<UserStatus>,
}

/// A role with its own permissions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleDetail {
    /// The role.
    #[serde(flatten)]
    pub role: RoleInfo,
    /// Its own permission codes (not inherited ones), sorted.
    pub permissions: Vec<String>,
}

/// A group with the roles it carries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupDetail {
    /// The group.
    #[serde(flatten)]
    pub group: GroupInfo,
    /// Its roles, with their scopes.
    pub roles: Vec<ScopedRole>,
}

/// The counts of the overview.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverviewCounts {
    /// Users.
    pub users: i64,
    /// Roles.
    pub roles: usize,
    /// Permissions.
    pub permissions: usize,
    /// Groups.
    pub groups: usize,
}

/// A role in the overview.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverviewRole {
    /// Name.
    pub name: String,
    /// Parent role.
    pub parent: Option<String>,
    /// Its own permissions.
    pub permissions: Vec<String>,
}

/// A group in the overview.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverviewGroup {
    /// Name.
    pub name: String,
    /// Its roles.
    pub roles: Vec<ScopedRole>,
}

/// The permission setup at a glance (roles' own permissions, not inherited ones).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Overview {
    /// Counts.
    pub counts: OverviewCounts,
    /// Every role.
    pub roles: Vec<OverviewRole>,
    /// Every group.
    pub groups: Vec<OverviewGroup>,
}

impl<U: UserStore> Admin<'_, U> {
    /// `user` with their roles, groups and suspension, read on `conn`.
    pub(super) async fn user_detail_on(
        &self,
        conn: &mut DbConn,
        user: U,
    ) -> Result<UserDetail<U>, AuthError> {
        Ok(UserDetail {
            roles: manage::user_roles(conn, user.id()).await?,
            groups: crate::rbac::group_names(conn, user.id()).await?,
            suspension: user_status::get(conn, user.id()).await?,
            user,
        })
    }

    /// A page of users matching `filter` (`offset`, at most `limit`), and how many match.
    pub async fn users(
        &self,
        filter: &UserFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<U>, i64), AuthError> {
        let mut conn = self.conn().await?;
        let total = U::count(&mut conn, filter).await?;
        let items = U::list(&mut conn, filter, offset, limit).await?;
        Ok((items, total))
    }

    /// The user `id` with their roles, groups and suspension, or 404.
    pub async fn user(&self, id: i64) -> Result<UserDetail<U>, AuthError> {
        let mut conn = self.conn().await?;
        let user = U::find_by_id(&mut conn, id)
            .await?
            .ok_or_else(|| Error::NotFound("user".into()))?;
        self.user_detail_on(&mut conn, user).await
    }

    /// The live sessions of the user `id`, most recently used first, or 404.
    pub async fn user_sessions(&self, id: i64) -> Result<Vec<Session>, AuthError> {
        let mut conn = self.conn().await?;
        if U::find_by_id(&mut conn, id).await?.is_none() {
            return Err(Error::NotFound("user".into()).into());
        }
        Ok(crate::session::list_for_user(&mut conn, id).await?)
    }

    /// Every role.
    pub async fn roles(&self) -> Result<Vec<RoleInfo>, AuthError> {
        let mut conn = self.conn().await?;
        Ok(manage::list_roles(&mut conn).await?)
    }

    /// The role `id` with its permissions, or 404.
    pub async fn role(&self, id: i64) -> Result<RoleDetail, AuthError> {
        let mut conn = self.conn().await?;
        role_by_id(&mut conn, id).await
    }

    /// Every group.
    pub async fn groups(&self) -> Result<Vec<GroupInfo>, AuthError> {
        let mut conn = self.conn().await?;
        Ok(manage::list_groups(&mut conn).await?)
    }

    /// The group `id` with its roles, or 404.
    pub async fn group(&self, id: i64) -> Result<GroupDetail, AuthError> {
        let mut conn = self.conn().await?;
        group_by_id(&mut conn, id).await
    }

    /// Every permission.
    pub async fn permissions(&self) -> Result<Vec<PermissionInfo>, AuthError> {
        let mut conn = self.conn().await?;
        Ok(manage::list_permissions(&mut conn).await?)
    }

    /// The permission setup at a glance.
    pub async fn overview(&self) -> Result<Overview, AuthError> {
        let mut conn = self.conn().await?;
        let users = U::count(&mut conn, &UserFilter::default()).await?;
        let permissions = manage::list_permissions(&mut conn).await?.len();
        let mut roles = Vec::new();
        for role in manage::list_roles(&mut conn).await? {
            let permissions = manage::role_permissions(&mut conn, &role.name).await?;
            roles.push(OverviewRole {
                name: role.name,
                parent: role.parent,
                permissions,
            });
        }
        let mut groups = Vec::new();
        for group in manage::list_groups(&mut conn).await? {
            let roles = manage::group_roles(&mut conn, &group.name).await?;
            groups.push(OverviewGroup {
                name: group.name,
                roles,
            });
        }
        Ok(Overview {
            counts: OverviewCounts {
                users,
                roles: roles.len(),
                permissions,
                groups: groups.len(),
            },
            roles,
            groups,
        })
    }

    /// A page of the audit log matching `filter`, newest first, and how many match.
    pub async fn events(
        &self,
        filter: &EventFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<AuditEvent>, i64), AuthError> {
        let mut conn = self.conn().await?;
        let total = audit::count(&mut conn, filter).await?;
        let items = audit::list(&mut conn, filter, offset, limit).await?;
        Ok((items, total))
    }

    /// The login locks in force, longest first (at most `limit`).
    pub async fn locks(&self, limit: i64) -> Result<Vec<Lock>, AuthError> {
        let mut conn = self.conn().await?;
        Ok(throttle::locked(&mut conn, limit).await?)
    }
}

/// The role `id` with its permissions, or 404.
pub(super) async fn role_by_id(conn: &mut DbConn, id: i64) -> Result<RoleDetail, AuthError> {
    let role = manage::list_roles(conn)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| Error::NotFound("role".into()))?;
    let permissions = manage::role_permissions(conn, &role.name).await?;
    Ok(RoleDetail { role, permissions })
}

/// The group `id` with its roles, or 404.
pub(super) async fn group_by_id(conn: &mut DbConn, id: i64) -> Result<GroupDetail, AuthError> {
    let group = manage::list_groups(conn)
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or_else(|| Error::NotFound("group".into()))?;
    let roles = manage::group_roles(conn, &group.name).await?;
    Ok(GroupDetail { group, roles })
}
