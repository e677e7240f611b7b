//! Users: create, change (rename, suspend, activate, e-mail, custom fields), delete;
//! replace their roles and groups; set their password; revoke a session; reset MFA.

use serde_json::{Map, Value, json};

use super::{Admin, authority, check_roles_exist, dedup, role_changes, unknown_is_invalid};
use crate::account_token::{self, Purpose};
use crate::audit::EventType;
use crate::authority::Actor;
use crate::backend::{AuthError, RegisterRequest};
use crate::db::DbConn;
use crate::error::Error;
use crate::rbac::{self, manage};
use crate::user::{UserFilter, UserStore};
use crate::{session, user_status};

use super::reads::UserDetail;

/// A user an administrator creates. No `Debug`: it holds a password.
pub struct NewAdminUser {
    /// Account name.
    pub account: String,
    /// Password in clear, under the password policy.
    pub password: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Global roles to give at once (each under the grant rules).
    pub roles: Vec<String>,
    /// Values of the model's custom fields.
    pub extra: Map<String, Value>,
}

/// What an administrator changes on a user; `None` leaves it as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// A new account name (a rename ends nothing: credentials name the user by id).
    pub account: Option<String>,
    /// Activate (`true`) or deactivate (`false`, which ends every session at once).
    pub is_active: Option<bool>,
    /// Deactivate and record why.
    pub suspend_reason: Option<String>,
    /// `email` and custom fields, as [`crate::AuthUser::apply_changes`] takes them.
    pub fields: Map<String, Value>,
}

/// The user `id` with its row locked for the rest of the transaction, or 404.
pub(super) async fn lock_user<U: UserStore>(conn: &mut DbConn, id: i64) -> Result<U, AuthError> {
    if !U::lock(conn, id).await? {
        return Err(Error::NotFound("user".into()).into());
    }
    U::find_by_id(conn, id)
        .await?
        .ok_or_else(|| Error::NotFound("user".into()).into())
}

/// The user `id`, locked for the rest of the transaction, once `actor` is shown to have
/// authority over them (see [`crate::rbac::manage::escalation`]): with that authority.
async fn target<U: UserStore>(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
) -> Result<(U, crate::rbac::manage::Authority), AuthError> {
    let user: U = lock_user(conn, id).await?;
    let authority = authority(conn, actor).await?;
    authority.check_user(conn, &user).await?;
    Ok((user, authority))
}

/// Fails with [`Error::LastSuperuser`] when `target` is the last active superuser, so that
/// removing, deactivating or demoting them would leave nobody with full authority.
/// Every active superuser's row is locked first (in id order), so two administrators
/// removing each other at once cannot both pass.
pub(super) async fn keep_a_superuser<U: UserStore>(
    conn: &mut DbConn,
    target: &U,
) -> Result<(), AuthError> {
    if !(target.is_superuser() && target.is_active()) {
        return Ok(());
    }
    let filter = UserFilter {
        is_active: Some(true),
        is_superuser: Some(true),
        ..UserFilter::default()
    };
    let superusers = U::list(conn, &filter, 0, 2).await?;
    let mut others = 0;
    for su in &superusers {
        if su.id() != target.id() && U::lock(conn, su.id()).await? {
            others += 1;
        }
    }
    if others == 0 {
        return Err(Error::LastSuperuser.into());
    }
    Ok(())
}

impl<U: UserStore + serde::Serialize> Admin<'_, U> {
    /// Creates a user with global roles. Every role must exist and pass the grant rules
    /// before anything is written; if the roles cannot be given (a role deleted meanwhile,
    /// a database error) the user is taken away again: no half-created user.
    pub async fn create_user(
        &self,
        actor: &Actor,
        new: NewAdminUser,
    ) -> Result<UserDetail<U>, AuthError> {
        let roles = dedup(new.roles);
        {
            let mut conn = self.conn().await?;
            check_roles_exist(&mut conn, &roles).await?;
            let authority = authority(&mut conn, actor).await?;
            if !roles.is_empty() {
                authority.check_may_assign()?;
            }
            for role in &roles {
                authority.check_role(role)?;
            }
        }
        let req = RegisterRequest {
            account: new.account,
            password: new.password,
            email: new.email,
            extra: new.extra,
        };
        // No connection held across the hash.
        let user = self.service.register(self.db, None, &req).await?;
        let mut conn = self.conn().await?;
        let created: &U = &user;
        let done = conn
            .transaction(async |conn: &mut DbConn| {
                let authority = authority(conn, actor).await?;
                for role in &roles {
                    authority.check_role(role)?;
                    manage::assign_role(conn, created.id(), role, None)
                        .await
                        .map_err(unknown_is_invalid)?;
                }
                let subject = (created.id(), created.account());
                let event = actor
                    .event_on(EventType::UserChanged, subject.0, subject.1)
                    .detail(json!({ "action": "created" }))
                    .by(&actor.by());
                self.service.record(conn, event).await?;
                if !roles.is_empty() {
                    let event = actor
                        .event_on(EventType::RoleAssigned, subject.0, subject.1)
                        .detail(json!({ "roles": roles }))
                        .by(&actor.by());
                    self.service.record(conn, event).await?;
                }
                Ok::<_, AuthError>(())
            })
            .await;
        if let Err(e) = done {
            conn.transaction(async |conn: &mut DbConn| {
                manage::forget_user(conn, created.id()).await?;
                U::delete(conn, created.id()).await
            })
            .await?;
            return Err(e);
        }
        self.user_detail_on(&mut conn, user).await
    }

    /// Changes a user: rename (409 `conflict` when taken), activate, deactivate or suspend
    /// with a reason (ending every session at once), e-mail and custom fields. Only the
    /// fields sent are written. Authority, the writes, the sessions ended and the audit
    /// event (`user.changed`, and `email.changed` for a new address) are one transaction;
    /// the old address gets its notice after it.
    pub async fn change_user(
        &self,
        actor: &Actor,
        id: i64,
        changes: UserChanges,
    ) -> Result<UserDetail<U>, AuthError> {
        let UserChanges {
            account: rename,
            is_active,
            suspend_reason: reason,
            fields: changes,
        } = changes;
        if reason.is_some() && is_active == Some(true) {
            return Err(AuthError::Invalid(
                "suspend_reason: cannot suspend and activate at once".into(),
            ));
        }
        let active = if reason.is_some() {
            Some(false)
        } else {
            is_active
        };
        let mut conn = self.conn().await?;
        let (user, email_change) = conn
            .transaction(async |conn: &mut DbConn| {
                let (mut user, _): (U, _) = target(conn, actor, id).await?;
                let was_active = user.is_active();
                if active == Some(false) && was_active {
                    keep_a_superuser(conn, &user).await?;
                }
                let before_email = user.email().map(str::to_owned);
                user.apply_changes(&changes).map_err(AuthError::Invalid)?;
                let mut fields: Vec<&str> = changes.keys().map(String::as_str).collect();
                let before_account = user.account().to_owned();
                let renamed = match &rename {
                    Some(account) if *account != before_account => {
                        user.set_account(account.clone())
                            .map_err(AuthError::Invalid)?;
                        fields.push("account");
                        true
                    }
                    _ => false,
                };
                if let Some(active) = active {
                    user.set_active(active).map_err(AuthError::Invalid)?;
                    fields.push("is_active");
                }
                let email_changed = self
                    .service
                    .write_changes(conn, &mut user, &fields, before_email.as_deref())
                    .await?;
                match active {
                    Some(false) => {
                        if was_active {
                            session::delete_for_user(conn, user.id(), None).await?;
                        }
                        match &reason {
                            Some(reason) => {
                                user_status::set(conn, user.id(), reason, actor.user_id()).await?
                            }
                            None if was_active => {
                                user_status::clear(conn, user.id()).await?;
                            }
                            None => {}
                        }
                    }
                    Some(true) => {
                        user_status::clear(conn, user.id()).await?;
                    }
                    None => {}
                }
                let action = match active {
                    Some(false) if was_active => "suspended",
                    Some(true) if !was_active => "activated",
                    _ => "changed",
                };
                let mut names: Vec<&str> = changes.keys().map(String::as_str).collect();
                if renamed {
                    names.push("account");
                }
                names.sort_unstable();
                let mut change = json!({ "action": action, "fields": names, "reason": reason });
                if renamed {
                    change["account"] = json!({ "old": before_account, "new": user.account() });
                }
                let event = actor
                    .event_on(EventType::UserChanged, user.id(), user.account())
                    .detail(change)
                    .by(&actor.by());
                self.service.record(conn, event).await?;
                let email_change = match email_changed {
                    true => {
                        let event = actor
                            .event_on(EventType::EmailChanged, user.id(), user.account())
                            .detail(json!({ "old": before_email, "new": user.email() }))
                            .by(&actor.by());
                        self.service.record(conn, event).await?;
                        Some(before_email)
                    }
                    false => None,
                };
                Ok::<_, AuthError>((user, email_change))
            })
            .await?;
        if let Some(old) = email_change {
            self.service.email_change_notice(&user, old.as_deref());
        }
        let user = U::find_by_id(&mut conn, user.id()).await?.unwrap_or(user);
        self.user_detail_on(&mut conn, user).await
    }

    /// Deletes a user with everything that names them (sessions, keys, passkeys,
    /// identities, MFA, roles, groups, tokens), audited in the same transaction.
    pub async fn delete_user(&self, actor: &Actor, id: i64) -> Result<(), AuthError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            // The user's row first, as every transaction writing its tokens does (see
            // `UserStore::lock`): a token mail issued meanwhile waits for this one.
            let (user, _): (U, _) = target(conn, actor, id).await?;
            keep_a_superuser(conn, &user).await?;
            session::delete_for_user(conn, user.id(), None).await?;
            crate::api_key::delete_for_user(conn, user.id()).await?;
            crate::passkey::delete_for_user(conn, user.id()).await?;
            crate::identity::delete_for_user(conn, user.id()).await?;
            crate::oauth::state::delete_for_user(conn, user.id()).await?;
            crate::mfa::forget_user(conn, user.id()).await?;
            manage::forget_user(conn, user.id()).await?;
            user_status::clear(conn, user.id()).await?;
            for purpose in [Purpose::PasswordReset, Purpose::VerifyEmail] {
                account_token::revoke_for_user(conn, user.id(), purpose).await?;
            }
            if !U::delete(conn, user.id()).await? {
                return Err(Error::NotFound("user".into()).into());
            }
            let event = actor
                .event_on(EventType::UserChanged, user.id(), user.account())
                .detail(json!({ "action": "deleted" }))
                .by(&actor.by());
            self.service.record(conn, event).await?;
            Ok::<_, AuthError>(())
        })
        .await
    }

    /// Replaces the user's global roles (scoped assignments stay). Every role added or
    /// removed must pass the grant rules; revocations, grants and their audit events are
    /// one transaction.
    pub async fn set_user_roles(
        &self,
        actor: &Actor,
        id: i64,
        roles: Vec<String>,
    ) -> Result<UserDetail<U>, AuthError> {
        let wanted = dedup(roles);
        let mut conn = self.conn().await?;
        let user = conn
            .transaction(async |conn: &mut DbConn| {
                let (user, authority): (U, _) = target(conn, actor, id).await?;
                check_roles_exist(conn, &wanted).await?;
                let held: Vec<String> = manage::user_roles(conn, user.id())
                    .await?
                    .into_iter()
                    .filter(|r| r.scope.is_none())
                    .map(|r| r.role)
                    .collect();
                let (added, removed) = role_changes(&authority, held, &wanted)?;
                for role in &removed {
                    manage::revoke_role(conn, user.id(), role, None).await?;
                }
                for role in &added {
                    manage::assign_role(conn, user.id(), role, None)
                        .await
                        .map_err(unknown_is_invalid)?;
                }
                for (event, roles) in [
                    (EventType::RoleAssigned, &added),
                    (EventType::RoleRevoked, &removed),
                ] {
                    if !roles.is_empty() {
                        let event = actor
                            .event_on(event, user.id(), user.account())
                            .detail(json!({ "roles": roles }))
                            .by(&actor.by());
                        self.service.record(conn, event).await?;
                    }
                }
                Ok::<_, AuthError>(user)
            })
            .await?;
        self.user_detail_on(&mut conn, user).await
    }

    /// Replaces the user's group memberships. Joining or leaving a group gives or takes its
    /// roles, so each of those roles must pass the grant rules; one transaction.
    pub async fn set_user_groups(
        &self,
        actor: &Actor,
        id: i64,
        groups: Vec<String>,
    ) -> Result<UserDetail<U>, AuthError> {
        let wanted = dedup(groups);
        let mut conn = self.conn().await?;
        let user = conn
            .transaction(async |conn: &mut DbConn| {
                let (user, authority): (U, _) = target(conn, actor, id).await?;
                let known = manage::list_groups(conn).await?;
                if let Some(unknown) = wanted.iter().find(|n| !known.iter().any(|g| &g.name == *n))
                {
                    return Err(AuthError::Invalid(format!("unknown group {unknown:?}")));
                }
                let held = rbac::group_names(conn, user.id()).await?;
                let added: Vec<&String> = wanted.iter().filter(|g| !held.contains(g)).collect();
                let removed: Vec<&String> = held.iter().filter(|g| !wanted.contains(g)).collect();
                if added.is_empty() && removed.is_empty() {
                    return Ok(user);
                }
                authority.check_may_assign()?;
                for group in added.iter().chain(removed.iter()) {
                    for role in manage::group_roles(conn, group).await? {
                        authority.check_role(&role.role)?;
                    }
                }
                for group in &removed {
                    manage::remove_from_group(conn, user.id(), group).await?;
                }
                for group in &added {
                    manage::add_to_group(conn, user.id(), group)
                        .await
                        .map_err(unknown_is_invalid)?;
                }
                let event = actor
                    .event_on(EventType::GroupChanged, user.id(), user.account())
                    .detail(json!({ "action": "membership", "joined": added, "left": removed }))
                    .by(&actor.by());
                self.service.record(conn, event).await?;
                Ok::<_, AuthError>(user)
            })
            .await?;
        self.user_detail_on(&mut conn, user).await
    }

    /// Sets the user's password without the old one: the password policy applies, then
    /// in one transaction the actor's authority is checked again, the hash stored, every
    /// session of the user ended (token logins too), and every API key unless the service
    /// keeps them (`keep_api_keys_on_reset`), their reset links killed, the
    /// account's login lock cleared, and the change audited (`password.changed` with
    /// `by`). No connection is held while hashing. Returns how many sessions ended.
    pub async fn set_password(
        &self,
        actor: &Actor,
        id: i64,
        password: &str,
    ) -> Result<usize, AuthError> {
        let user: U = {
            let mut conn = self.conn().await?;
            let user = U::find_by_id(&mut conn, id)
                .await?
                .ok_or_else(|| Error::NotFound("user".into()))?;
            authority(&mut conn, actor)
                .await?
                .check_user(&mut conn, &user)
                .await?;
            user
        };
        self.service.check_password(user.account(), password)?;
        let hash = self.service.hasher.hash(password).await?;
        let mut conn = self.conn().await?;
        let keep_api_keys = self.service.keep_api_keys_on_reset;
        let (user, ended) = conn
            .transaction(async |conn: &mut DbConn| {
                let (mut user, _): (U, _) = target(conn, actor, id).await?;
                user.set_password_hash(hash);
                let ended =
                    super::super::recovery::replace_password(conn, &user, keep_api_keys).await?;
                let event = actor
                    .event_on(EventType::PasswordChanged, user.id(), user.account())
                    .detail(json!({
                        "ended_sessions": ended.sessions,
                        "ended_api_keys": ended.api_keys,
                    }))
                    .by(&actor.by());
                self.service.record(conn, event).await?;
                Ok::<_, AuthError>((user, ended))
            })
            .await?;
        drop(conn);
        tracing::info!(
            user_id = user.id(),
            ended_sessions = ended.sessions,
            ended_api_keys = ended.api_keys,
            "password set by an administrator"
        );
        self.service.credential_notice(
            self.db,
            user.id(),
            "an administrator set a new password".into(),
            true,
        );
        self.service.hooks.after_change_password(&user).await;
        Ok(ended.sessions)
    }

    /// Ends one of the user's sessions (a token login's refresh family with it); 404 when
    /// the user has no session with that id.
    pub async fn revoke_session(
        &self,
        actor: &Actor,
        id: i64,
        session_id: i64,
    ) -> Result<(), AuthError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            let (user, _): (U, _) = target(conn, actor, id).await?;
            if !session::revoke_for_user(conn, user.id(), session_id).await? {
                return Err(Error::NotFound("session".into()).into());
            }
            let event = actor
                .event_on(EventType::SessionRevoked, user.id(), user.account())
                .detail(json!({ "session_id": session_id }))
                .by(&actor.by());
            self.service.record(conn, event).await?;
            Ok::<_, AuthError>(())
        })
        .await
    }

    /// Resets the user's MFA (a lost authenticator): their authenticator, backup codes and
    /// pending MFA logins are deleted, so their next login asks for the password only.
    /// 404 when they had none.
    pub async fn reset_mfa(&self, actor: &Actor, id: i64) -> Result<(), AuthError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            let (user, _): (U, _) = target(conn, actor, id).await?;
            if !crate::mfa::forget_user(conn, user.id()).await? {
                return Err(Error::NotFound("multi-factor authentication".into()).into());
            }
            let event = actor
                .event_on(EventType::MfaDisabled, user.id(), user.account())
                .by(&actor.by());
            self.service.record(conn, event).await?;
            Ok::<_, AuthError>(())
        })
        .await?;
        self.service.credential_notice(
            self.db,
            id,
            "an administrator turned off two-factor authentication".into(),
            false,
        );
        Ok(())
    }
}
