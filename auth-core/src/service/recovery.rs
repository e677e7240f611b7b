//! Password recovery: forgot-password (a reset mail in the background) and reset-password
//! with the mailed single-use token.

use serde_json::json;

use super::mail::TokenMail;
use super::{AuthService, ClientInfo};
use crate::account_mail::AccountMail;
use crate::account_token::{self, Purpose};
use crate::audit::EventType;
use crate::backend::AuthError;
use crate::db::{Database, DbConn};
use crate::session;
use crate::throttle;
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
    /// Starts a password reset for `identifier` (an account name, or an e-mail address)
    /// and returns at once, before any lookup: the answer and its timing are the same
    /// whether or not the account exists. In the background (the mail queue), an active
    /// user found by account (or else by e-mail) who has an address gets a mail with a
    /// single-use reset link; nothing happens otherwise.
    ///
    /// Limited by [`crate::throttle::MailThrottleConfig`]: requests from one IP, and mails
    /// to one account, per window. Over a limit the mail is just not sent (the answer was
    /// already the same).
    pub fn forgot_password(
        &self,
        db: &Database,
        identifier: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let mail = self.mailer()?;
        let (this, db, identifier, client) = (
            self.clone(),
            db.clone(),
            identifier.to_owned(),
            client.clone(),
        );
        self.background("password reset", async move {
            this.send_reset(&db, &mail, &identifier, &client).await
        });
        Ok(())
    }

    async fn send_reset(
        &self,
        db: &Database,
        mail: &AccountMail,
        identifier: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if identifier.contains('\0') {
            return Ok(());
        }
        // One connection for the lookups and the token; none across the SMTP session.
        let mut conn = db.conn().await?;
        let ip_key: Vec<_> = self.mail_ip_key(client).into_iter().collect();
        if self.count_mail(&mut conn, &ip_key).await?.is_some() {
            return Ok(());
        }
        let user = crate::user::find_by_account_or_email::<U>(&mut conn, identifier).await?;
        let Some(user) = user.filter(|u| u.is_active()) else {
            return Ok(());
        };
        if user.password_hash() == crate::identity::NO_PASSWORD && !self.first_password_by_reset {
            tracing::info!(
                user_id = user.id(),
                "no reset mail: the account has no local password (first_password_by_reset)"
            );
            return Ok(());
        }
        // Counted against the account found, however it was named.
        let what = TokenMail {
            mail,
            purpose: Purpose::PasswordReset,
            count: true,
        };
        if self.mail_token(db, conn, &user, client, what).await? {
            self.hooks.after_forgot_password(&user).await;
        }
        Ok(())
    }

    /// Sets a new password with a reset token (single use): every session and API key of
    /// the user ends (the keys stay with `keep_api_keys_on_reset`), their other reset
    /// tokens die, and the account's login lock is cleared. No
    /// connection is held while hashing.
    pub async fn reset_password(
        &self,
        db: &Database,
        token: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<U, AuthError> {
        // Check the token before spending a hash on the password; use it up only when the
        // password is acceptable, so a refused password does not burn the mail.
        let mut user = {
            let mut conn = db.conn().await?;
            let peeked = account_token::peek(&mut conn, Purpose::PasswordReset, token).await?;
            let user = U::find_by_id(&mut conn, peeked.user_id).await?;
            let Some(user) = user else {
                return Err(account_token::TokenError::Invalid.into());
            };
            user
        };
        self.check_password(user.account(), new_password)?;
        let hash = self.hasher.hash(new_password).await?;
        user.set_password_hash(hash);
        let mut conn = db.conn().await?;
        // All or nothing: the token is used up only with the new password stored, the
        // sessions ended and the lock cleared.
        let reset: &U = &user;
        let keep_api_keys = self.keep_api_keys_on_reset;
        let ended = conn
            .transaction(async |conn: &mut DbConn| {
                // The user's row first, as every transaction writing its tokens does (see
                // `UserStore::lock`): a reset mail issued meanwhile waits for this one.
                U::lock(conn, reset.id()).await?;
                account_token::redeem(conn, Purpose::PasswordReset, token).await?;
                replace_password(conn, reset, keep_api_keys).await
            })
            .await?;
        tracing::info!(
            user_id = user.id(),
            ended_sessions = ended.sessions,
            ended_api_keys = ended.api_keys,
            "password reset"
        );
        self.audit_user(
            &mut conn,
            client,
            EventType::PasswordReset,
            &user,
            json!({ "ended_sessions": ended.sessions, "ended_api_keys": ended.api_keys }),
        )
        .await?;
        drop(conn);
        self.credential_notice(db, user.id(), "the password was reset".into(), true);
        self.hooks.after_reset_password(&user).await;
        Ok(user)
    }
}

/// What a password set without the old one ended.
#[derive(Debug, Clone, Copy)]
pub(super) struct Evicted {
    /// Sessions (token logins included).
    pub(super) sessions: usize,
    /// API keys (none when the service keeps them: `keep_api_keys_on_reset`).
    pub(super) api_keys: usize,
}

/// Stores `user`'s new password hash and ends what the old password opened, as a reset
/// does: every session of the user, every API key (unless `keep_api_keys`: a key made with
/// a stolen session must not outlive the recovery), their outstanding reset links, and the
/// account's login lock. Run it in a transaction that has taken [`UserStore::lock`] first.
pub(super) async fn replace_password<U: UserStore>(
    conn: &mut DbConn,
    user: &U,
    keep_api_keys: bool,
) -> Result<Evicted, AuthError> {
    user.update_fields(conn, &["password"]).await?;
    let sessions = session::delete_for_user(conn, user.id(), None).await?;
    let api_keys = if keep_api_keys {
        0
    } else {
        crate::api_key::delete_for_user(conn, user.id()).await?
    };
    account_token::revoke_for_user(conn, user.id(), Purpose::PasswordReset).await?;
    // A pending address change dies with the old password (it may be an intruder's).
    account_token::revoke_for_user(conn, user.id(), Purpose::EmailChange).await?;
    throttle::clear(conn, &throttle::Key::account(user.account())).await?;
    Ok(Evicted { sessions, api_keys })
}
