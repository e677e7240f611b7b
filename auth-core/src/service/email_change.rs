//! Changing a user's e-mail address (ASVS 3.7.1): by the user, after their current password
//! was checked by the caller, or by an administrator ([`super::admin`]).

use serde_json::json;

use super::{AuthService, ClientInfo};
use crate::account_token::{self, Purpose};
use crate::audit::{By, EventType};
use crate::backend::AuthError;
use crate::db::DbConn;
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
            for purpose in [Purpose::PasswordReset, Purpose::VerifyEmail] {
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
}
