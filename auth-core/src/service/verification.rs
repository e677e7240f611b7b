//! E-mail verification: request-verify (a mail in the background) and verify with the
//! mailed single-use token.

use serde_json::json;

use super::{AuthService, ClientInfo};
use crate::account_mail::AccountMail;
use crate::account_token::{self, Purpose};
use crate::audit::EventType;
use crate::backend::AuthError;
use crate::db::{Database, DbConn};
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
    /// Mails `user` a verification link (in the background). Refused when the user has
    /// no e-mail address; a no-op when it is already verified.
    pub fn request_verify(
        &self,
        db: &Database,
        user: &U,
        client: &ClientInfo,
    ) -> Result<bool, AuthError> {
        let mail = self.mailer()?;
        if user.email().is_none_or(str::is_empty) {
            return Err(AuthError::Invalid(
                "email: the account has no e-mail address to verify".into(),
            ));
        }
        if user.is_verified() {
            return Ok(false);
        }
        let (this, db, user_id, client) = (self.clone(), db.clone(), user.id(), client.clone());
        self.background("verification", async move {
            this.send_verify(&db, &mail, user_id, &client).await
        });
        Ok(true)
    }

    async fn send_verify(
        &self,
        db: &Database,
        mail: &AccountMail,
        user_id: i64,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let mut conn = db.conn().await?;
        let Some(user) = U::find_by_id(&mut conn, user_id).await? else {
            return Ok(());
        };
        let Some(email) = user.email().filter(|e| !e.is_empty()) else {
            return Ok(());
        };
        let ttl = self.tokens.verify_ttl;
        let token =
            account_token::issue(&mut conn, Purpose::VerifyEmail, user.id(), Some(email), ttl)
                .await?;
        mail.sender
            .send(&mail.verify(email, user.account(), &token, ttl))
            .await
            .map_err(AuthError::Mail)?;
        self.audit_user(
            &mut conn,
            client,
            EventType::VerifyRequested,
            &user,
            json!({ "email": email }),
        )
        .await?;
        Ok(())
    }

    /// Marks the user's e-mail address verified with a verification token (single use).
    /// A token mailed to an address the user has since changed is refused.
    pub async fn verify_email(
        &self,
        conn: &mut DbConn,
        token: &str,
        client: &ClientInfo,
    ) -> Result<U, AuthError> {
        let redeemed = account_token::redeem(conn, Purpose::VerifyEmail, token).await?;
        let Some(mut user) = U::find_by_id(conn, redeemed.user_id).await? else {
            return Err(account_token::TokenError::Invalid.into());
        };
        if redeemed.email.as_deref() != user.email() {
            return Err(account_token::TokenError::Invalid.into());
        }
        if !user.is_verified() {
            user.set_verified(true).map_err(AuthError::Invalid)?;
            user.update(conn).await?;
        }
        tracing::info!(user_id = user.id(), "e-mail verified");
        self.audit_user(
            conn,
            client,
            EventType::Verified,
            &user,
            json!({ "email": redeemed.email }),
        )
        .await?;
        self.hooks.after_verify(&user).await;
        Ok(user)
    }
}
