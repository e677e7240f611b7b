//! The account-mail variables (`AUTH_MAIL_*`).

use super::vars::*;
use super::*;

impl AuthConfig {
    /// Without the `mail` feature there is no SMTP mailer: a mail variable that is set is
    /// refused, naming it, rather than ignored (the application would send no mail).
    #[cfg(not(feature = "mail"))]
    pub(super) fn merge_mail(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        const MAIL_VARIABLES: [&str; 4] = [
            "AUTH_MAIL_URL",
            "AUTH_MAIL_FROM",
            "AUTH_MAIL_LINK_BASE",
            "AUTH_MAIL_APP_NAME",
        ];
        match MAIL_VARIABLES
            .into_iter()
            .find(|name| vars.get(name).is_some())
        {
            Some(variable) => Err(EnvConfigError {
                variable,
                message: "SMTP mail needs the \"mail\" Cargo feature of auth-axum, which this \
                          build leaves out"
                    .into(),
            }),
            None => Ok(()),
        }
    }

    #[cfg(feature = "mail")]
    pub(super) fn merge_mail(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        let Some(url) = vars.get("AUTH_MAIL_URL") else {
            return Ok(());
        };
        let from = vars.required("AUTH_MAIL_FROM", "AUTH_MAIL_URL")?;
        let base = vars.required("AUTH_MAIL_LINK_BASE", "AUTH_MAIL_URL")?;
        if crate::csrf::exact_origin(base).is_none() && url::Url::parse(base).is_err() {
            return Err(EnvConfigError {
                variable: "AUTH_MAIL_LINK_BASE",
                message: "expected the public URL of the auth router".into(),
            });
        }
        let app = vars
            .parse("AUTH_MAIL_APP_NAME", non_empty)?
            .unwrap_or_else(|| "axum-auth".into());
        let mailer = SmtpMailer::from_url(url.trim(), from.trim()).map_err(|e| match e {
            // lettre's message names neither the URL nor its password.
            MailError::InvalidUrl(why) => EnvConfigError {
                variable: "AUTH_MAIL_URL",
                message: format!("invalid SMTP URL: {why}"),
            },
            other => EnvConfigError {
                variable: "AUTH_MAIL_FROM",
                message: other.to_string(),
            },
        })?;
        self.mail = Some(AccountMail::new(mailer, base.trim(), &app));
        Ok(())
    }
}
