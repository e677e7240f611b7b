//! The mails the framework sends about an account: the password-reset link, the e-mail
//! verification link, the notices of a credential added or removed (and what a reset left
//! on the account), and (in private registration) the notice that someone tried to
//! register an existing account. Configure with [`AccountMail`]; the service sends them
//! in background tasks so that no request waits on (or is timed by) the mail server.

use std::sync::Arc;
use std::time::Duration;

use crate::mail::{Mail, MailSender};

/// Where account mails go out and what their links point to.
#[derive(Clone)]
pub struct AccountMail {
    /// The sender (an [`crate::mail::SmtpMailer`] in production).
    pub sender: Arc<dyn MailSender>,
    /// The reset link, with `{token}` where the token goes, e.g.
    /// `https://app.example.com/reset-password?token={token}` (a page of yours that asks
    /// for the new password and posts it with the token to `reset-password`).
    pub reset_link: String,
    /// The verification link, with `{token}`, e.g.
    /// `https://app.example.com/verify?token={token}`.
    pub verify_link: String,
    /// The application's name, used in subjects and texts.
    pub app_name: String,
}

impl std::fmt::Debug for AccountMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountMail")
            .field("reset_link", &self.reset_link)
            .field("verify_link", &self.verify_link)
            .field("app_name", &self.app_name)
            .finish_non_exhaustive()
    }
}

impl AccountMail {
    /// Mails through `sender`, with links under `base_url` pointing at the auth router's
    /// own routes (`<base_url>/reset-password?token=` and `<base_url>/verify?token=`,
    /// which answer whether a token is usable). Pass the public URL the router is
    /// mounted at, e.g. `https://api.example.com/api/contrib/auth`.
    pub fn new(sender: impl MailSender, base_url: &str, app_name: &str) -> AccountMail {
        let base = base_url.trim_end_matches('/');
        AccountMail {
            sender: Arc::new(sender),
            reset_link: format!("{base}/reset-password?token={{token}}"),
            verify_link: format!("{base}/verify?token={{token}}"),
            app_name: app_name.to_owned(),
        }
    }

    /// Checks the link templates (each must contain `{token}` once); a start-up error
    /// otherwise.
    pub fn validate(&self) -> Result<(), crate::Error> {
        for (name, link) in [
            ("reset_link", &self.reset_link),
            ("verify_link", &self.verify_link),
        ] {
            if link.matches("{token}").count() != 1 {
                return Err(crate::Error::Config(format!(
                    "AccountMail::{name} must contain {{token}} exactly once"
                )));
            }
        }
        Ok(())
    }

    fn link(template: &str, token: &str) -> String {
        template.replace("{token}", token)
    }

    /// The password-reset mail.
    pub fn reset(&self, to: &str, account: &str, token: &str, ttl: Duration) -> Mail {
        let link = Self::link(&self.reset_link, token);
        Mail::new(
            to,
            format!("{}: reset your password", self.app_name),
            format!(
                "Someone (we hope you) asked to reset the password of the account \"{account}\" \
                 at {app}.\n\nTo choose a new password, open this link within {minutes} minutes:\n\n\
                 {link}\n\nThe link works once. If you did not ask for it, ignore this mail: \
                 your password stays as it is.\n",
                app = self.app_name,
                minutes = ttl.as_secs().div_ceil(60),
            ),
        )
    }

    /// The verification mail.
    pub fn verify(&self, to: &str, account: &str, token: &str, ttl: Duration) -> Mail {
        let link = Self::link(&self.verify_link, token);
        Mail::new(
            to,
            format!("{}: confirm your e-mail address", self.app_name),
            format!(
                "Please confirm that {to} is the e-mail address of the account \"{account}\" \
                 at {app} by opening this link within {hours} hours:\n\n{link}\n\n\
                 If you did not register, ignore this mail.\n",
                app = self.app_name,
                hours = ttl.as_secs().div_ceil(3600),
            ),
        )
    }

    /// The link that confirms `to` as the account's new address (the verification link:
    /// following it makes the change).
    pub fn confirm_new_email(&self, to: &str, account: &str, token: &str, ttl: Duration) -> Mail {
        Mail::new(
            to,
            format!("{}: confirm your new e-mail address", self.app_name),
            format!(
                "The account \"{account}\" at {app} asked to use this address from now on. \
                 To confirm it, open this link within {hours} hours:\n\n{link}\n\nUntil \
                 then the account's mail keeps going to its old address. If you did not ask \
                 for this, ignore this mail.\n",
                app = self.app_name,
                hours = ttl.as_secs().div_ceil(3600),
                link = Self::link(&self.verify_link, token),
            ),
        )
    }

    /// The notice to the current address that a change of address was asked for (the new
    /// address is not named: this one may no longer be the user's).
    pub fn email_change_requested(&self, to: &str, account: &str) -> Mail {
        Mail::new(
            to,
            format!("{}: a new e-mail address was requested", self.app_name),
            format!(
                "Someone logged in to the account \"{account}\" at {app} asked to change its \
                 e-mail address. Nothing changes unless the link mailed to the new address is \
                 followed. If this was not you, reset your password now: a reset ends every \
                 session and API key of the account, and this request with them.\n",
                app = self.app_name,
            ),
        )
    }

    /// The notice to the old address that an account's e-mail address changed.
    pub fn email_changed(&self, to: &str, account: &str) -> Mail {
        Mail::new(
            to,
            format!("{}: your e-mail address was changed", self.app_name),
            format!(
                "The e-mail address of the account \"{account}\" at {app} was changed, and \
                 mail for the account no longer comes to {to}. If you did not make this \
                 change, reset your password and contact the administrators at once.\n",
                app = self.app_name,
            ),
        )
    }

    /// The notice that someone tried to register an account that exists.
    pub fn already_registered(&self, to: &str, account: &str) -> Mail {
        Mail::new(
            to,
            format!("{}: someone tried to register your account", self.app_name),
            format!(
                "Someone tried to register the account \"{account}\" at {app}, which is \
                 already yours. If it was you, log in, or reset your password if you forgot \
                 it. If it was not, you need not do anything.\n",
                app = self.app_name,
            ),
        )
    }

    /// The notice that a way into the account was added or removed (`change`, e.g. `a new
    /// API key "ci" was created`), or the password changed: mailed to the account's
    /// address, whoever made the change (the user, an administrator). `remaining` lists the
    /// ways in still on the account that a password reset does not end (passkeys, TOTP,
    /// linked identities), for the user to review; empty: nothing listed.
    pub fn credential_changed(
        &self,
        to: &str,
        account: &str,
        change: &str,
        remaining: &[String],
    ) -> Mail {
        let mut text = format!(
            "On the account \"{account}\" at {app}: {change}.\n\nIf this was not you, reset \
             your password at once: a reset ends every session and API key of the account.\n",
            app = self.app_name,
        );
        if !remaining.is_empty() {
            text.push_str(
                "\nStill on the account, which a reset does not remove (review them in your \
                 account settings and remove any you do not recognise):\n",
            );
            for item in remaining {
                text.push_str(&format!("- {item}\n"));
            }
        }
        Mail::new(
            to,
            format!("{}: a change to how you sign in", self.app_name),
            text,
        )
    }
}
