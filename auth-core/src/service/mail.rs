//! Account mail in the background: the mailer, the task tracker, and draining it at shutdown.

use super::AuthService;
use crate::account_mail::AccountMail;
use crate::backend::AuthError;
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
    /// Waits until every background task started so far (account mails) has finished:
    /// call it at shutdown so that no mail is lost, or in tests.
    pub async fn wait_background(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }

    pub(super) fn mailer(&self) -> Result<AccountMail, AuthError> {
        self.mail.clone().ok_or(AuthError::MailNotConfigured)
    }

    /// Runs `work` in the background; its error is logged (it has no one to go to).
    pub(super) fn background(
        &self,
        what: &'static str,
        work: impl std::future::Future<Output = Result<(), AuthError>> + Send + 'static,
    ) {
        self.tasks.spawn(async move {
            if let Err(e) = work.await {
                tracing::warn!(error = %e, task = what, "account mail failed");
            }
        });
    }
}
