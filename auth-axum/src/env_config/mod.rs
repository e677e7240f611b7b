//! Configuration from the environment: [`AuthConfig::from_env`] reads the `AUTH_*`
//! variables (the table in [`AuthConfig::VARIABLES`] and in the README) over the defaults,
//! with the checks the builders make. A bad value is a start-up error that names the
//! variable ([`EnvConfigError`]); an unset variable keeps its default.
//!
//! ```ignore
//! let config = AuthConfig::from_env()?;
//! let service = config.service_builder::<User>().hooks(MyHooks).build();
//! let auth = Auth::with_http(db, service, config.http.clone());
//! ```

mod db;
mod http;
mod jwt;
mod ldap;
mod mail;
mod mfa;
mod oauth;
mod vars;
mod webauthn;

use vars::{VARIABLES, Vars, is_provider_variable};
use vars::{boolean, count, duration};

use std::time::Duration;

use auth_core::account_mail::AccountMail;
use auth_core::db::DEFAULT_QUERY_TIMEOUT;
use auth_core::jwt::{JwtConfig, JwtKey};
#[cfg(feature = "mail")]
use auth_core::mail::{MailError, SmtpMailer};
use auth_core::mfa::{MfaConfig, SecretKey};
use auth_core::service::AuthServiceBuilder;
use auth_core::session::SessionConfig;
use auth_core::throttle::ThrottleConfig;
use auth_core::{DatabaseConfig, UserStore};

use crate::config::{ClientIpSource, CookieConfig, HttpConfig, RegistrationMode};

/// A variable that could not be used: its name and what is wrong (never its value, which
/// may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct EnvConfigError {
    /// The variable, e.g. `AUTH_BCRYPT_COST`.
    pub variable: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// Everything the `AUTH_*` variables configure: the service's settings (hashing, sessions,
/// throttling, account mail, JWT, passkeys, LDAP), the HTTP settings and the database
/// deadline. Build the service with [`AuthConfig::service_builder`] (then add backends or
/// hooks), pass [`AuthConfig::http`] to [`crate::Auth::with_http`], and open the database
/// with [`AuthConfig::database_config`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthConfig {
    /// bcrypt cost (`AUTH_BCRYPT_COST`).
    pub bcrypt_cost: u32,
    /// Session lifetimes (`AUTH_SESSION_*`).
    pub sessions: SessionConfig,
    /// Login throttling (`AUTH_THROTTLE_*`).
    pub throttle: ThrottleConfig,
    /// Account mail (`AUTH_MAIL_*`), when `AUTH_MAIL_URL` is set.
    pub mail: Option<AccountMail>,
    /// Token logins (`AUTH_JWT_*`), when `AUTH_JWT_ED25519_PEM_FILE` is set.
    pub jwt: Option<JwtConfig>,
    /// The passkeys' relying party (`AUTH_WEBAUTHN_*`), when `AUTH_WEBAUTHN_RP_ID` is set.
    #[cfg(feature = "passkeys")]
    pub webauthn: Option<auth_core::passkey::WebauthnConfig>,
    /// Multi-factor authentication (`AUTH_MFA_*`), when `AUTH_MFA_KEY` is set.
    pub mfa: Option<MfaConfig>,
    /// OpenID Connect / OAuth2 providers (`AUTH_OIDC_<NAME>_*`, `AUTH_OAUTH_*`), when one
    /// is configured.
    #[cfg(feature = "oauth")]
    pub oauth: Option<auth_core::oauth::OAuthConfig>,
    /// LDAP login (`AUTH_LDAP_*`), when `AUTH_LDAP_URL` is set: registered under the
    /// platform `ldap` by [`AuthConfig::service_builder`].
    #[cfg(feature = "ldap")]
    pub ldap: Option<auth_core::ldap::LdapConfig>,
    /// Cookie, CSRF, registration mode, client IP (`AUTH_COOKIE_*`, `AUTH_CSRF_*`,
    /// `AUTH_REGISTRATION`, `AUTH_CLIENT_IP_*`).
    pub http: HttpConfig,
    /// The client-side deadline of a database statement (`AUTH_DB_QUERY_TIMEOUT`), for
    /// [`AuthConfig::database_config`].
    pub db_query_timeout: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            bcrypt_cost: auth_core::password::DEFAULT_BCRYPT_COST,
            sessions: SessionConfig::default(),
            throttle: ThrottleConfig::default(),
            mail: None,
            jwt: None,
            #[cfg(feature = "passkeys")]
            webauthn: None,
            mfa: None,
            #[cfg(feature = "oauth")]
            oauth: None,
            #[cfg(feature = "ldap")]
            ldap: None,
            http: HttpConfig::default(),
            db_query_timeout: DEFAULT_QUERY_TIMEOUT,
        }
    }
}

impl AuthConfig {
    /// The variables read and their defaults.
    pub const VARIABLES: &'static [(&'static str, &'static str)] = VARIABLES;

    /// The defaults with the `AUTH_*` variables of the process environment applied.
    pub fn from_env() -> Result<Self, EnvConfigError> {
        AuthConfig::default().merge_env()
    }

    /// `self` with the `AUTH_*` variables of the process environment applied (start from
    /// other defaults, e.g. a non-`Secure` cookie for local development). A variable whose
    /// value is not UTF-8 is an error.
    pub fn merge_env(self) -> Result<Self, EnvConfigError> {
        let mut vars = Vec::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            let known = match VARIABLES.iter().find(|(n, _)| *n == name) {
                Some(&(known, _)) => known,
                None if is_provider_variable(name) => "AUTH_OIDC_<NAME>_*",
                None => continue,
            };
            let value = value.into_string().map_err(|_| EnvConfigError {
                variable: known,
                message: format!("{name}: not valid UTF-8"),
            })?;
            vars.push((name.to_owned(), value));
        }
        self.merge_vars(vars)
    }

    /// `self` with `vars` (name, value) applied as if they were the environment; names
    /// that are not in [`AuthConfig::VARIABLES`] are ignored.
    pub fn merge_vars<I, K, V>(mut self, vars: I) -> Result<Self, EnvConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars = Vars(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        vars.set("AUTH_BCRYPT_COST", &mut self.bcrypt_cost, |raw| {
            match raw.parse::<u32>() {
                Ok(cost @ 4..=31) => Ok(cost),
                _ => Err("expected a bcrypt cost from 4 to 31".into()),
            }
        })?;
        vars.set("AUTH_SESSION_PROFILE", &mut self.sessions, |raw| match raw
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "default" => Ok(SessionConfig::default()),
            "asvs_l2" => Ok(SessionConfig::asvs_l2()),
            _ => Err("expected default or asvs_l2".into()),
        })?;
        let s = &mut self.sessions;
        vars.set("AUTH_SESSION_IDLE_TIMEOUT", &mut s.idle_timeout, duration)?;
        vars.set(
            "AUTH_SESSION_ABSOLUTE_TIMEOUT",
            &mut s.absolute_timeout,
            duration,
        )?;
        vars.set(
            "AUTH_SESSION_TOUCH_INTERVAL",
            &mut s.touch_interval,
            duration,
        )?;
        vars.set("AUTH_SESSION_SUDO_WINDOW", &mut s.sudo_window, duration)?;
        if s.idle_timeout > s.absolute_timeout {
            return Err(EnvConfigError {
                variable: "AUTH_SESSION_IDLE_TIMEOUT",
                message: "longer than AUTH_SESSION_ABSOLUTE_TIMEOUT".into(),
            });
        }
        let t = &mut self.throttle;
        vars.set("AUTH_THROTTLE_ENABLED", &mut t.enabled, boolean)?;
        vars.set("AUTH_THROTTLE_ACCOUNT_LIMIT", &mut t.account_limit, count)?;
        vars.set("AUTH_THROTTLE_IP_LIMIT", &mut t.ip_limit, count)?;
        vars.set("AUTH_THROTTLE_WINDOW", &mut t.window, duration)?;
        vars.set(
            "AUTH_THROTTLE_BASE_COOLDOWN",
            &mut t.base_cooldown,
            duration,
        )?;
        vars.set("AUTH_THROTTLE_MAX_COOLDOWN", &mut t.max_cooldown, duration)?;
        if t.base_cooldown > t.max_cooldown {
            return Err(EnvConfigError {
                variable: "AUTH_THROTTLE_BASE_COOLDOWN",
                message: "longer than AUTH_THROTTLE_MAX_COOLDOWN".into(),
            });
        }
        self.merge_http(&vars)?;
        self.merge_db(&vars)?;
        self.merge_mail(&vars)?;
        self.merge_jwt(&vars)?;
        self.merge_webauthn(&vars)?;
        self.merge_mfa(&vars)?;
        self.merge_oauth(&vars)?;
        self.merge_ldap(&vars)?;
        Ok(self)
    }

    /// A service builder with these settings (hashing cost, sessions, throttling, account
    /// mail, JWT, MFA, and the LDAP backend under `ldap`); add backends, hooks or a password policy, then build.
    pub fn service_builder<U: UserStore>(&self) -> AuthServiceBuilder<U> {
        let mut builder = auth_core::service::AuthService::<U>::builder()
            .bcrypt_cost(self.bcrypt_cost)
            .sessions(self.sessions.clone())
            .throttle(self.throttle.clone());
        if let Some(mail) = &self.mail {
            builder = builder.mail(mail.clone());
        }
        if let Some(jwt) = &self.jwt {
            builder = builder.jwt(jwt.clone());
        }
        #[cfg(feature = "passkeys")]
        if let Some(webauthn) = &self.webauthn {
            builder = builder.webauthn(webauthn.clone());
        }
        if let Some(mfa) = &self.mfa {
            builder = builder.mfa(mfa.clone());
        }
        #[cfg(feature = "oauth")]
        if let Some(oauth) = &self.oauth {
            builder = builder
                .oauth(oauth.clone())
                .expect("the OAuth configuration was checked when it was read");
        }
        #[cfg(feature = "ldap")]
        if let Some(ldap) = &self.ldap {
            builder = builder.backend(
                auth_core::ldap::PROVIDER,
                auth_core::ldap::LdapBackend::new(ldap.clone()),
            );
        }
        builder
    }
}

#[cfg(all(test, not(feature = "mail")))]
mod tests_without_mail {
    use super::*;

    #[test]
    fn a_mail_variable_is_refused_naming_it() {
        let err = AuthConfig::default()
            .merge_vars([("AUTH_MAIL_URL", "smtps://user:secret@smtp.example.com")])
            .unwrap_err();
        assert_eq!(err.variable, "AUTH_MAIL_URL");
        assert!(err.message.contains("\"mail\" Cargo feature"), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        let err = AuthConfig::default()
            .merge_vars([("AUTH_MAIL_FROM", "noreply@example.com")])
            .unwrap_err();
        assert_eq!(err.variable, "AUTH_MAIL_FROM");
        let config = AuthConfig::default()
            .merge_vars([("AUTH_BCRYPT_COST", "4")])
            .unwrap();
        assert!(config.mail.is_none());
    }
}
