//! E-mail verification: request-verify (a mail in the background) and verify with the
//! mailed single-use token.

use serde_json::json;

use super::mail::TokenMail;
use super::{AuthService, ClientInfo};
use crate::account_mail::AccountMail;
use crate::account_token::{self, Purpose};
use crate::audit::EventType;
use crate::backend::AuthError;
use crate::db::Database;
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
    /// Mails `user` a verification link (through the mail queue). Refused when the user
    /// has no e-mail address; a no-op (`false`) when it is already verified.
    ///
    /// Counted against the account-mail limits of the account and of the client's IP
    /// ([`crate::throttle::MailThrottleConfig`]) before the mail is queued: over a limit,
    /// [`AuthError::Throttled`] (the user is logged in: there is nothing to hide).
    pub async fn request_verify(
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
        {
            let mut conn = db.conn().await?;
            self.count_asked_mail(&mut conn, user.account(), client)
                .await?;
        }
        self.queue_verify(db, mail, user, client, false);
        Ok(true)
    }

    /// Queues the verification mail of `user`; with `count`, the worker first counts it
    /// against the account's mail limit (and sends nothing over it).
    pub(super) fn queue_verify(
        &self,
        db: &Database,
        mail: AccountMail,
        user: &U,
        client: &ClientInfo,
        count: bool,
    ) {
        let (this, db, user_id, client) = (self.clone(), db.clone(), user.id(), client.clone());
        self.background("verification", async move {
            this.send_verify(&db, &mail, user_id, &client, count).await
        });
    }

    async fn send_verify(
        &self,
        db: &Database,
        mail: &AccountMail,
        user_id: i64,
        client: &ClientInfo,
        count: bool,
    ) -> Result<(), AuthError> {
        // One connection for the lookup and the token; none across the SMTP session.
        let mut conn = db.conn().await?;
        let Some(user) = U::find_by_id(&mut conn, user_id).await? else {
            return Ok(());
        };
        let what = TokenMail {
            mail,
            purpose: Purpose::VerifyEmail,
            count,
        };
        self.mail_token(db, conn, &user, client, what).await?;
        Ok(())
    }

    /// Marks the user's e-mail address verified with a verification token (single use).
    /// A token mailed to an address the user has since changed is refused. The token of
    /// an e-mail change ([`AuthService::request_email_change`]) makes its new address the
    /// account's, verified.
    pub async fn verify_email(
        &self,
        db: &Database,
        token: &str,
        client: &ClientInfo,
    ) -> Result<U, AuthError> {
        let user = {
            let mut conn = db.conn().await?;
            match account_token::redeem(&mut conn, Purpose::EmailChange, token).await {
                Ok(redeemed) => {
                    let user = self
                        .confirm_email_change(&mut conn, redeemed, client)
                        .await?;
                    drop(conn);
                    self.hooks.after_verify(&user).await;
                    return Ok(user);
                }
                // Not an address change: a verification token, or nothing.
                Err(account_token::TokenError::Invalid) => {}
                Err(e) => return Err(e.into()),
            }
            let redeemed = account_token::redeem(&mut conn, Purpose::VerifyEmail, token).await?;
            let Some(mut user) = U::find_by_id(&mut conn, redeemed.user_id).await? else {
                return Err(account_token::TokenError::Invalid.into());
            };
            if redeemed.email.as_deref() != user.email() {
                return Err(account_token::TokenError::Invalid.into());
            }
            if !user.is_verified() {
                user.set_verified(true).map_err(AuthError::Invalid)?;
                user.update_fields(&mut conn, &["is_verified"]).await?;
            }
            tracing::info!(user_id = user.id(), "e-mail verified");
            self.audit_user(
                &mut conn,
                client,
                EventType::Verified,
                &user,
                json!({ "email": redeemed.email }),
            )
            .await?;
            user
        };
        self.hooks.after_verify(&user).await;
        Ok(user)
    }
}
