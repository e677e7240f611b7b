//! Changing a user's e-mail address (ASVS 3.7.1): by the user, after their current password
//! was checked by the caller, or by an administrator ([`super::admin`]).
//!
//! With account mail configured, the user's own change is confirmed: a link goes to the new
//! address, the current one is told, and only following the link changes the account
//! ([`AuthService::request_email_change`], then [`AuthService::verify_email`]). Someone who
//! holds a session and the password cannot quietly move the account's mail (and its reset
//! links) to an address of theirs.

use serde_json::{Map, Value, json};

use super::{Actor, AuthService, ClientInfo};
use crate::account_token::{self, Purpose, Redeemed, TokenError};
use crate::audit::{By, EventType};
use crate::backend::AuthError;
use crate::db::{Database, DbConn};
use crate::error::Error;
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
    /// Writes the `fields` of `user` that a change set (see
    /// [`AuthUser::apply_changes`](crate::AuthUser::apply_changes)) and only those, so
    /// concurrent changes to other columns survive. When the e-mail address differs from
    /// `before_email`, in the same transaction the address is marked unverified (on a
    /// model with an `is_verified` field) and the user's outstanding reset and
    /// verification tokens die (a reset link mailed to the old address must not outlive
    /// it); after it, the change is audited as `email.changed` (with `by` in `detail` when
    /// an administrator made it) and, when account mail is configured, the old address
    /// gets a notice. Checking the user's current password first
    /// ([`AuthService::confirm_password`]) is the caller's job: the `me` route does it.
    ///
    /// `false` when the user no longer exists.
    pub async fn save_changes(
        &self,
        conn: &mut DbConn,
        user: &mut U,
        fields: &[&str],
        before_email: Option<&str>,
        client: &ClientInfo,
        by: Option<&By>,
    ) -> Result<bool, AuthError> {
        let user_ref: &mut U = user;
        let written = conn
            .transaction(async |conn: &mut DbConn| {
                self.write_changes(conn, user_ref, fields, before_email)
                    .await
            })
            .await;
        let email_changed = match written {
            Err(AuthError::Storage(crate::Error::NotFound(_))) => return Ok(false),
            other => other?,
        };
        if !email_changed {
            return Ok(true);
        }
        let mut event = client
            .event(EventType::EmailChanged)
            .user(user.id(), user.account())
            .detail(json!({ "old": before_email, "new": user.email() }));
        if let Some(by) = by {
            event = event.by(by);
        }
        self.record(conn, event).await?;
        self.email_change_notice(user, before_email);
        Ok(true)
    }

    /// The writes of [`AuthService::save_changes`], on `conn` inside the caller's
    /// transaction: the fields, and for a new address the verified flag (when the model
    /// has one) and the user's reset and verification tokens. Answers whether the address
    /// changed; a user who no longer exists is [`crate::Error::NotFound`].
    pub(super) async fn write_changes(
        &self,
        conn: &mut DbConn,
        user: &mut U,
        fields: &[&str],
        before_email: Option<&str>,
    ) -> Result<bool, AuthError> {
        let email_changed = user.email() != before_email;
        let mut fields: Vec<&str> = fields.to_vec();
        // A model without an `is_verified` field has no verification state to reset.
        if email_changed && user.is_verified() && user.set_verified(false).is_ok() {
            fields.push("is_verified");
        }
        if !user.update_fields(conn, &fields).await? {
            return Err(crate::Error::NotFound("user".into()).into());
        }
        if email_changed {
            for purpose in [
                Purpose::PasswordReset,
                Purpose::VerifyEmail,
                Purpose::EmailChange,
            ] {
                account_token::revoke_for_user(conn, user.id(), purpose).await?;
            }
            tracing::info!(user_id = user.id(), "e-mail address changed");
        }
        Ok(email_changed)
    }

    /// Mails the notice of an address change to the old address, when account mail is
    /// configured (in the background, after the change committed).
    pub(super) fn email_change_notice(&self, user: &U, before_email: Option<&str>) {
        if let (Some(mail), Some(old)) = (self.mail.clone(), before_email.filter(|e| !e.is_empty()))
        {
            let (to, account) = (old.to_owned(), user.account().to_owned());
            self.background("e-mail change notice", async move {
                mail.sender
                    .send(&mail.email_changed(&to, &account))
                    .await
                    .map_err(AuthError::Mail)
            });
        }
    }

    /// Asks to change the acting user's e-mail address to `new` (the caller checked their
    /// current password, or a recent proof). With account mail configured nothing changes
    /// yet: a single-use link (as long-lived as a verification link) goes to `new`, the
    /// current address is told, and the address changes when the link is followed
    /// ([`AuthService::verify_email`]); `true`. Without account mail there is no link to
    /// send: `false`, and the caller writes the address at once.
    ///
    /// 409 when another user holds `new`; counted against the account-mail limits (429
    /// over them). A password set without the old one cancels a pending change.
    pub async fn request_email_change(
        &self,
        db: &Database,
        user: &U,
        actor: &Actor,
        new: &str,
    ) -> Result<bool, AuthError> {
        actor.own_login(user.id())?;
        let Some(mail) = self.mail.clone() else {
            return Ok(false);
        };
        // The token is issued and the request audited here, in the request (so nothing of
        // it writes beside the caller's own writes that follow); only the mails go out in
        // the background.
        let mut conn = db.conn().await?;
        if let Some(other) = U::find_by_email(&mut conn, new).await?
            && other.id() != user.id()
        {
            return Err(Error::Exists("e-mail address".into()).into());
        }
        self.count_asked_mail(&mut conn, user.account(), actor.client())
            .await?;
        let (id, ttl) = (user.id(), self.tokens.ttl(Purpose::EmailChange));
        let token = conn
            .transaction(async |conn: &mut DbConn| {
                if !U::lock(conn, id).await? {
                    return Err(AuthError::from(Error::NotFound("user".into())));
                }
                Ok(account_token::issue(conn, Purpose::EmailChange, id, Some(new), ttl).await?)
            })
            .await?;
        self.audit_user(
            &mut conn,
            actor.client(),
            EventType::EmailChangeRequested,
            user,
            json!({ "new": new }),
        )
        .await?;
        drop(conn);
        let (account, new, old) = (
            user.account().to_owned(),
            new.to_owned(),
            user.email().filter(|e| !e.is_empty()).map(str::to_owned),
        );
        self.background("e-mail change", async move {
            let confirm = mail.confirm_new_email(&new, &account, &token, ttl);
            mail.sender.send(&confirm).await.map_err(AuthError::Mail)?;
            if let Some(old) = old {
                let notice = mail.email_change_requested(&old, &account);
                mail.sender.send(&notice).await.map_err(AuthError::Mail)?;
            }
            Ok(())
        });
        Ok(true)
    }

    /// Makes the address of an e-mail change token the account's (the link of
    /// [`AuthService::request_email_change`] was followed): in one transaction behind the
    /// user's row lock, the address is written and marked verified (the link proved it),
    /// the user's reset, verification and change tokens die, and `email.changed` is
    /// audited (`confirmed: true`); then the old address gets the notice. 409 when another
    /// user took the address meanwhile.
    pub(super) async fn confirm_email_change(
        &self,
        conn: &mut DbConn,
        redeemed: Redeemed,
        client: &ClientInfo,
    ) -> Result<U, AuthError> {
        let Some(new) = redeemed.email else {
            return Err(TokenError::Invalid.into());
        };
        let (user, old) = conn
            .transaction(async |conn: &mut DbConn| {
                if !U::lock(conn, redeemed.user_id).await? {
                    return Err(AuthError::from(TokenError::Invalid));
                }
                let Some(mut user) = U::find_by_id(conn, redeemed.user_id).await? else {
                    return Err(TokenError::Invalid.into());
                };
                if let Some(other) = U::find_by_email(conn, &new).await?
                    && other.id() != user.id()
                {
                    return Err(Error::Exists("e-mail address".into()).into());
                }
                let old = user.email().map(str::to_owned);
                let mut change = Map::new();
                change.insert("email".into(), Value::String(new.clone()));
                user.apply_changes(&change).map_err(AuthError::Invalid)?;
                let mut fields = vec!["email"];
                if user.set_verified(true).is_ok() {
                    fields.push("is_verified");
                }
                if !user.update_fields(conn, &fields).await? {
                    return Err(TokenError::Invalid.into());
                }
                for purpose in [
                    Purpose::PasswordReset,
                    Purpose::VerifyEmail,
                    Purpose::EmailChange,
                ] {
                    account_token::revoke_for_user(conn, user.id(), purpose).await?;
                }
                let event = client
                    .event(EventType::EmailChanged)
                    .user(user.id(), user.account())
                    .detail(json!({ "old": old, "new": new, "confirmed": true }));
                self.record(conn, event).await?;
                Ok((user, old))
            })
            .await?;
        tracing::info!(user_id = user.id(), "e-mail address changed (confirmed)");
        self.email_change_notice(&user, old.as_deref());
        Ok(user)
    }
}
