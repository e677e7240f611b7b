//! Changing a password while logged in.

use serde_json::json;

use super::{AuthService, ClientInfo};
use crate::audit::EventType;
use crate::backend::AuthError;
use crate::db::DbConn;
use crate::session;
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
    /// Changes a password after checking the old one and the new one
    /// ([`AuthService::check_password`]), and ends the user's other sessions.
    pub async fn change_password(
        &self,
        conn: &mut DbConn,
        user: &mut U,
        old_password: &str,
        new_password: &str,
        current_session: Option<i64>,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        if !self
            .hasher
            .verify(old_password, user.password_hash())
            .await
            .unwrap_or(false)
        {
            return Err(AuthError::InvalidCredentials);
        }
        self.check_password(user.account(), new_password)?;
        let hash = self.hasher.hash(new_password).await?;
        user.set_password_hash(hash);
        user.update(conn).await?;
        let ended = session::delete_for_user(conn, user.id(), current_session).await?;
        tracing::info!(
            user_id = user.id(),
            ended_sessions = ended,
            "password changed"
        );
        self.audit_user(
            conn,
            client,
            EventType::PasswordChanged,
            user,
            json!({ "ended_sessions": ended }),
        )
        .await?;
        self.hooks.after_change_password(user).await;
        Ok(ended)
    }
}
