//! Changing a password while logged in.

use serde_json::json;

use super::{AuthService, ClientInfo};
use crate::audit::EventType;
use crate::backend::AuthError;
use crate::db::Database;
use crate::password::PasswordError;
use crate::session;
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
    /// Changes a password after checking the old one and then the new one
    /// ([`AuthService::check_password`]), and ends the user's other sessions.
    ///
    /// A wrong `old_password` counts like a failed login, against the same keys (the
    /// account name and the client IP, reserved before the check), and is audited as
    /// `password.change_failed`; while either key is locked the answer is
    /// [`AuthError::Throttled`]. A right one clears the account's counter. No connection is
    /// held while hashing.
    pub async fn change_password(
        &self,
        db: &Database,
        user: &mut U,
        old_password: &str,
        new_password: &str,
        current_session: Option<i64>,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        let keys = self.login_keys(user.account(), client);
        let failure = || {
            client
                .event(EventType::PasswordChangeFailed)
                .user(user.id(), user.account())
        };
        let reserved = self.reserve_attempt(db, &keys, failure).await?;
        let checked = match self.hasher.verify(old_password, user.password_hash()).await {
            // An unreadable stored hash cannot match (the time was spent all the same).
            Err(PasswordError::UnsupportedHash) => Ok(false),
            other => other,
        };
        let hash = match checked {
            Ok(true) => match self.check_password(user.account(), new_password) {
                Ok(()) => self
                    .hasher
                    .hash(new_password)
                    .await
                    .map_err(AuthError::from),
                Err(e) => Err(e),
            },
            Ok(false) => {
                tracing::info!(user_id = user.id(), "password change refused");
                let mut conn = db.conn().await?;
                self.attempt_failed(&mut conn, &reserved, user.account(), client)
                    .await?;
                let event = failure().detail(json!({ "reason": "invalid_credentials" }));
                self.record(&mut conn, event).await?;
                return Err(AuthError::InvalidCredentials);
            }
            Err(e) => {
                // Not checked (busy hasher): the attempt does not count.
                let mut conn = db.conn().await?;
                self.attempt_settled(&mut conn, &reserved, false).await?;
                return Err(e.into());
            }
        };
        let mut conn = db.conn().await?;
        self.attempt_settled(&mut conn, &reserved, true).await?;
        // The old password was right, whatever happens to the new one.
        user.set_password_hash(hash?);
        user.update(&mut conn).await?;
        let ended = session::delete_for_user(&mut conn, user.id(), current_session).await?;
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
        self.hooks.after_change_password(user).await;
        Ok(ended)
    }
}
