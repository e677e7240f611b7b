//! Changing a user's e-mail address (ASVS 3.7.1): by the user, after their current password
//! was checked by the caller, or by an administrator.

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
    /// `before_email`, in the same transaction the address is marked unverified and the
    /// user's outstanding reset and verification tokens die (a reset link mailed to the
    /// old address must not outlive it); after it, the change is audited as
    /// `email.changed` (with `by` in `detail` when an administrator made it) and, when
    /// account mail is configured, the old address gets a notice. Checking the user's
    /// current password first ([`AuthService::confirm_password`]) is the caller's job: the
    /// `me` route does it.
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
        let email_changed = user.email() != before_email;
        let mut fields: Vec<&str> = fields.to_vec();
        if email_changed && user.is_verified() {
            user.set_verified(false).map_err(AuthError::Invalid)?;
        }
        if email_changed {
            fields.push("is_verified");
        }
        let user_ref: &U = user;
        let found = conn
            .transaction(async |conn: &mut DbConn| {
                if !user_ref.update_fields(conn, &fields).await? {
                    return Ok::<bool, AuthError>(false);
                }
                if email_changed {
                    for purpose in [Purpose::PasswordReset, Purpose::VerifyEmail] {
                        account_token::revoke_for_user(conn, user_ref.id(), purpose).await?;
                    }
                }
                Ok(true)
            })
            .await?;
        if !found || !email_changed {
            return Ok(found);
        }
        let mut event = client
            .event(EventType::EmailChanged)
            .user(user.id(), user.account())
            .detail(json!({ "old": before_email, "new": user.email() }));
        if let Some(by) = by {
            event = event.by(by);
        }
        self.record(conn, event).await?;
        tracing::info!(user_id = user.id(), "e-mail address changed");
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
        Ok(true)
    }
}
