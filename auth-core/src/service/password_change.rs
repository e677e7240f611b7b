//! Changing a password while logged in.

use serde_json::json;

use super::{Actor, AuthService, ClientInfo};
use crate::audit::EventType;
use crate::backend::AuthError;
use crate::db::{Database, DbConn};
use crate::password::PasswordError;
use crate::session;
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
    /// Checks that `password` is `user`'s current password, before a sensitive change of
    /// their own account (a new password, a new e-mail address), under the login
    /// throttle: the attempt is reserved on the account name and the client IP before the
    /// check, and while either is locked the answer is [`AuthError::Throttled`]. A wrong
    /// password counts like a failed login and is audited as `failed` (reason
    /// `invalid_credentials`, or `throttled`); a right one clears the account's counter.
    /// No connection is held while hashing.
    pub async fn confirm_password(
        &self,
        db: &Database,
        user: &U,
        password: &str,
        client: &ClientInfo,
        failed: EventType,
    ) -> Result<(), AuthError> {
        self.confirm_password_with(db, user, password, client, failed, false)
            .await
    }

    /// [`AuthService::confirm_password`]; with `directory`, a user without a local password
    /// whose credentials a backend holds (a directory: [`AuthBackend::confirm_password`])
    /// is checked there. Re-authentication does so, so that a user the directory created
    /// can reach sudo mode.
    ///
    /// [`AuthBackend::confirm_password`]: crate::backend::AuthBackend::confirm_password
    pub(super) async fn confirm_password_with(
        &self,
        db: &Database,
        user: &U,
        password: &str,
        client: &ClientInfo,
        failed: EventType,
        directory: bool,
    ) -> Result<(), AuthError> {
        let keys = self.login_keys(user.account(), client);
        let failure = || client.event(failed).user(user.id(), user.account());
        let reserved = self.reserve_attempt(db, &keys, failure).await?;
        let mut upstream = None;
        if directory && user.password_hash() == crate::identity::NO_PASSWORD {
            for backend in self.backends.values() {
                if let Some(answer) = backend.confirm_password(db, user, password).await {
                    upstream = Some(answer);
                    break;
                }
            }
        }
        let checked = match upstream {
            Some(Ok(right)) => Ok(right),
            Some(Err(e)) => {
                // Not checked (the directory is down): the attempt does not count.
                let mut conn = db.conn().await?;
                self.attempt_settled(&mut conn, &reserved, false).await?;
                return Err(e);
            }
            None => match self.hasher.verify(password, user.password_hash()).await {
                // An unreadable stored hash cannot match (the time was spent all the same).
                Err(PasswordError::UnsupportedHash) => Ok(false),
                other => other,
            },
        };
        let mut conn = db.conn().await?;
        match checked {
            Ok(true) => {
                self.attempt_settled(&mut conn, &reserved, true).await?;
                Ok(())
            }
            Ok(false) => {
                tracing::info!(user_id = user.id(), event = %failed, "current password refused");
                self.attempt_failed(&mut conn, &reserved, user.account(), client)
                    .await?;
                let event = failure().detail(json!({ "reason": "invalid_credentials" }));
                self.record(&mut conn, event).await?;
                Err(AuthError::InvalidCredentials)
            }
            Err(e) => {
                // Not checked (busy hasher): the attempt does not count.
                self.attempt_settled(&mut conn, &reserved, false).await?;
                Err(e.into())
            }
        }
    }

    /// Changes a password after checking the old one ([`AuthService::confirm_password`],
    /// audited as `password.change_failed` when wrong) and then the new one
    /// ([`AuthService::check_password`]). The new hash and the end of the user's other
    /// sessions (all but the actor's) are one transaction. No connection is held while
    /// hashing. `actor` is `user` acting through a login ([`Actor::own_login`]: an API key
    /// is [`AuthError::SessionRequired`]).
    pub async fn change_password(
        &self,
        db: &Database,
        user: &mut U,
        old_password: &str,
        new_password: &str,
        actor: &Actor,
    ) -> Result<usize, AuthError> {
        let current_session = Some(actor.own_login(user.id())?.id);
        let client = actor.client();
        self.confirm_password(
            db,
            user,
            old_password,
            client,
            EventType::PasswordChangeFailed,
        )
        .await?;
        self.check_password(user.account(), new_password)?;
        let hash = self.hasher.hash(new_password).await?;
        user.set_password_hash(hash);
        let mut conn = db.conn().await?;
        let changed: &U = user;
        let ended = conn
            .transaction(async |conn: &mut DbConn| {
                changed.update_fields(conn, &["password"]).await?;
                session::delete_for_user(conn, changed.id(), current_session).await
            })
            .await?;
        tracing::info!(
            user_id = user.id(),
            ended_sessions = ended,
            "password changed"
        );
        self.audit_user(
            &mut conn,
            client,
            EventType::PasswordChanged,
            user,
            json!({ "ended_sessions": ended }),
        )
        .await?;
        drop(conn);
        self.credential_notice(db, user.id(), "the password was changed".into(), false);
        self.hooks.after_change_password(user).await;
        Ok(ended)
    }
}
