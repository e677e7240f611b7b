//! Login and account-mail locks: clearing one.

use serde_json::json;

use super::{Admin, authority};
use crate::audit::EventType;
use crate::authority::Actor;
use crate::backend::AuthError;
use crate::db::DbConn;
use crate::error::Error;
use crate::throttle::{self, Key, Scope};
use crate::user::UserStore;

/// The permission that clears a lock on an IP (and, with coverage of the account, an
/// account's lock).
const CLEAR_PERMISSION: &str = "users.manage";

impl<U: UserStore> Admin<'_, U> {
    /// Forgets the counter, the lock and the escalation of `key`. A key naming an account
    /// (`account`, `mail_account`, `mfa`) needs authority over every user it names (by
    /// account name, or by address when it holds `@`: a lock is never cleared on an
    /// account the actor may not act on, their own included, so no one clears the `mfa`
    /// lock between batches of code guesses); a key naming an IP (`ip`, `mail_ip`) needs
    /// `users.manage`. 404 when there is no such lock.
    pub async fn clear_lock(&self, actor: &Actor, scope: &str, key: &str) -> Result<(), AuthError> {
        let scope = Scope::parse(scope).ok_or_else(|| Error::NotFound("lock".into()))?;
        let names_account = scope.is_account();
        // An account name is normalised as the throttle writes it; an IP is taken as is.
        let key = match names_account {
            true => Key::new(scope, &Key::account(key).value),
            false => Key::new(scope, key),
        };
        let mut conn = self.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            let authority = authority(conn, actor).await?;
            if !authority.is_unrestricted() && !authority.grants().has_permission(CLEAR_PERMISSION)
            {
                return Err(Error::Forbidden(format!(
                    "clearing a lock requires the permission {CLEAR_PERMISSION:?}"
                ))
                .into());
            }
            if names_account {
                let mut named: Vec<U> = Vec::new();
                if let Some(user) = U::find_by_account(conn, &key.value).await? {
                    named.push(user);
                }
                if key.value.contains('@')
                    && let Some(user) = U::find_by_email(conn, &key.value).await?
                    && named.iter().all(|n| n.id() != user.id())
                {
                    named.push(user);
                }
                for user in &named {
                    authority.check_user(conn, user).await?;
                }
            }
            if !throttle::clear(conn, &key).await? {
                return Err(Error::NotFound("lock".into()).into());
            }
            let mut event = actor
                .event(EventType::Unlock)
                .detail(json!({ "scope": key.scope.as_str(), "key": key.value }))
                .by(&actor.by());
            if names_account {
                event = event.account(&key.value);
            }
            self.service.record(conn, event).await?;
            Ok::<_, AuthError>(())
        })
        .await
    }
}
