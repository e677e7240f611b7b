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

use std::time::Duration;

use auth_core::UserStore;
use auth_core::account_mail::AccountMail;
use auth_core::jwt::{JwtConfig, JwtKey};
#[cfg(feature = "mail")]
use auth_core::mail::{MailError, SmtpMailer};
use auth_core::mfa::{MfaConfig, SecretKey};
use auth_core::service::AuthServiceBuilder;
use auth_core::session::SessionConfig;
use auth_core::throttle::ThrottleConfig;

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
/// throttling, account mail, JWT, passkeys, LDAP) and the HTTP settings. Build the service with
/// [`AuthConfig::service_builder`] (then add backends or hooks) and pass
/// [`AuthConfig::http`] to [`crate::Auth::with_http`].
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
        }
    }
}

/// Every variable read, with its default (what the README lists).
const VARIABLES: &[(&str, &str)] = &[
    ("AUTH_BCRYPT_COST", "12 (4 to 31)"),
    ("AUTH_SESSION_IDLE_TIMEOUT", "14days"),
    ("AUTH_SESSION_ABSOLUTE_TIMEOUT", "30days"),
    ("AUTH_SESSION_TOUCH_INTERVAL", "60s"),
    ("AUTH_COOKIE_NAME", "auth_session"),
    ("AUTH_COOKIE_DOMAIN", "unset (the exact host)"),
    ("AUTH_COOKIE_SECURE", "true"),
    ("AUTH_CSRF_ENABLED", "true"),
    (
        "AUTH_CSRF_ALLOWED_ORIGINS",
        "none (comma-separated origins)",
    ),
    ("AUTH_THROTTLE_ENABLED", "true"),
    ("AUTH_THROTTLE_ACCOUNT_LIMIT", "5"),
    ("AUTH_THROTTLE_IP_LIMIT", "50"),
    ("AUTH_THROTTLE_WINDOW", "15m"),
    ("AUTH_THROTTLE_BASE_COOLDOWN", "5m"),
    ("AUTH_THROTTLE_MAX_COOLDOWN", "1h"),
    ("AUTH_REGISTRATION", "open (or private)"),
    ("AUTH_CLIENT_IP_HEADER", "unset (the TCP peer)"),
    ("AUTH_CLIENT_IP_TRUSTED_HOPS", "1"),
    ("AUTH_MAIL_URL", "unset (no account mail)"),
    ("AUTH_MAIL_FROM", "required with AUTH_MAIL_URL"),
    ("AUTH_MAIL_LINK_BASE", "required with AUTH_MAIL_URL"),
    ("AUTH_MAIL_APP_NAME", "axum-auth"),
    ("AUTH_JWT_ED25519_PEM_FILE", "unset (no token logins)"),
    ("AUTH_JWT_KID", "k1"),
    ("AUTH_JWT_ACCESS_TTL", "15m"),
    ("AUTH_JWT_ISSUER", "axum-auth"),
    (
        "AUTH_MFA_KEY",
        "unset (no MFA): 32 bytes as 64 hex digits or base64",
    ),
    ("AUTH_MFA_ISSUER", "axum-auth"),
    ("AUTH_MFA_CHALLENGE_TTL", "5m"),
    ("AUTH_WEBAUTHN_RP_ID", "unset (no passkeys)"),
    ("AUTH_WEBAUTHN_ORIGIN", "required with AUTH_WEBAUTHN_RP_ID"),
    ("AUTH_WEBAUTHN_RP_NAME", "the RP id"),
    (
        "AUTH_OIDC_<NAME>_ISSUER",
        "unset: an OpenID Connect provider named <name> (lowercased) found by discovery",
    ),
    (
        "AUTH_OIDC_<NAME>_CLIENT_ID",
        "required per provider; AUTH_OIDC_GITHUB_CLIENT_ID alone is the GitHub preset",
    ),
    ("AUTH_OIDC_<NAME>_CLIENT_SECRET", "unset (a public client)"),
    (
        "AUTH_OIDC_<NAME>_SCOPES",
        "openid email profile (space-separated)",
    ),
    ("AUTH_OIDC_<NAME>_TRUST_AMR", "false"),
    (
        "AUTH_OAUTH_PUBLIC_URL",
        "required with a provider: the auth router's public URL",
    ),
    ("AUTH_OAUTH_LINK_VERIFIED_EMAIL", "false"),
    ("AUTH_OAUTH_CREATE_USERS", "true"),
    ("AUTH_OAUTH_MFA_URL", "unset (next itself)"),
    (
        "AUTH_LDAP_URL",
        "unset (no LDAP login): ldaps://host[:port] or ldap://",
    ),
    (
        "AUTH_LDAP_USER_DN_TEMPLATE",
        "unset: e.g. uid={account},ou=people,dc=example,dc=org (or AUTH_LDAP_SEARCH_BASE)",
    ),
    ("AUTH_LDAP_SEARCH_BASE", "unset (search-then-bind when set)"),
    ("AUTH_LDAP_SEARCH_FILTER", "(uid={account})"),
    ("AUTH_LDAP_BIND_DN", "unset (anonymous search)"),
    ("AUTH_LDAP_BIND_PASSWORD", "required with AUTH_LDAP_BIND_DN"),
    ("AUTH_LDAP_STARTTLS", "false"),
    ("AUTH_LDAP_CA_FILE", "unset (the system's CA store)"),
    (
        "AUTH_LDAP_ALLOW_PLAIN",
        "false (ldap:// without StartTLS refused)",
    ),
    ("AUTH_LDAP_MAIL_ATTRIBUTE", "mail (empty: none)"),
    ("AUTH_LDAP_GROUP_SEARCH_BASE", "unset (no group mapping)"),
    (
        "AUTH_LDAP_GROUP_FILTER",
        "(&(objectClass=groupOfNames)(member={dn}))",
    ),
    (
        "AUTH_LDAP_GROUP_ROLES",
        "none: group=role pairs separated by ';' (group: DN or cn)",
    ),
    ("AUTH_LDAP_CONNECT_TIMEOUT", "5s"),
    ("AUTH_LDAP_TIMEOUT", "10s (each bind or search)"),
];

/// The prefix of the per-provider variables.
const OIDC_PREFIX: &str = "AUTH_OIDC_";
/// Their suffixes.
const OIDC_SUFFIXES: [&str; 5] = [
    "_ISSUER",
    "_CLIENT_ID",
    "_CLIENT_SECRET",
    "_SCOPES",
    "_TRUST_AMR",
];

/// The LDAP variables.
const LDAP_VARIABLES: [&str; 15] = [
    "AUTH_LDAP_URL",
    "AUTH_LDAP_USER_DN_TEMPLATE",
    "AUTH_LDAP_SEARCH_BASE",
    "AUTH_LDAP_SEARCH_FILTER",
    "AUTH_LDAP_BIND_DN",
    "AUTH_LDAP_BIND_PASSWORD",
    "AUTH_LDAP_STARTTLS",
    "AUTH_LDAP_CA_FILE",
    "AUTH_LDAP_ALLOW_PLAIN",
    "AUTH_LDAP_MAIL_ATTRIBUTE",
    "AUTH_LDAP_GROUP_SEARCH_BASE",
    "AUTH_LDAP_GROUP_FILTER",
    "AUTH_LDAP_GROUP_ROLES",
    "AUTH_LDAP_CONNECT_TIMEOUT",
    "AUTH_LDAP_TIMEOUT",
];

/// The passkey variables.
const WEBAUTHN_VARIABLES: [&str; 3] = [
    "AUTH_WEBAUTHN_RP_ID",
    "AUTH_WEBAUTHN_ORIGIN",
    "AUTH_WEBAUTHN_RP_NAME",
];

/// Whether `name` is a per-provider variable (`AUTH_OIDC_<NAME>_<SUFFIX>`).
fn is_provider_variable(name: &str) -> bool {
    name.strip_prefix(OIDC_PREFIX).is_some_and(|rest| {
        OIDC_SUFFIXES.iter().any(|suffix| {
            rest.strip_suffix(suffix).is_some_and(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            })
        })
    })
}

/// The values read, by name.
struct Vars(std::collections::HashMap<String, String>);

impl Vars {
    fn get(&self, name: &'static str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn parse<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, EnvConfigError> {
        self.get(name)
            .map(|raw| {
                parse(raw.trim()).map_err(|message| EnvConfigError {
                    variable: name,
                    message,
                })
            })
            .transpose()
    }

    fn set<T>(
        &self,
        name: &'static str,
        target: &mut T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<(), EnvConfigError> {
        if let Some(value) = self.parse(name, parse)? {
            *target = value;
        }
        Ok(())
    }

    #[cfg_attr(not(feature = "mail"), allow(dead_code))]
    fn required(&self, name: &'static str, because: &str) -> Result<&str, EnvConfigError> {
        self.get(name).ok_or_else(|| EnvConfigError {
            variable: name,
            message: format!("required with {because}"),
        })
    }
}

fn boolean(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn duration(raw: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(raw)
        .map_err(|e| format!("expected a duration such as 90s, 15m or 14days: {e}"))?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

fn count(raw: &str) -> Result<u32, String> {
    match raw.parse::<u32>() {
        Ok(0) | Err(_) => Err("expected a whole number of at least 1".into()),
        Ok(n) => Ok(n),
    }
}

fn non_empty(raw: &str) -> Result<String, String> {
    match raw.is_empty() {
        true => Err("must not be empty".into()),
        false => Ok(raw.to_owned()),
    }
}

/// `AUTH_LDAP_GROUP_ROLES`: `group=role` pairs separated by `;`; the last `=` of a pair
/// ends the group (a DN holds `=` signs, a role name none).
#[cfg_attr(not(feature = "ldap"), allow(dead_code))]
fn group_roles(raw: &str) -> Result<Vec<(String, String)>, String> {
    raw.split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.rsplit_once('=') {
            Some((group, role)) if !group.trim().is_empty() && !role.trim().is_empty() => {
                Ok((group.trim().to_owned(), role.trim().to_owned()))
            }
            _ => Err(format!(
                "expected group=role pairs separated by ';', got {pair:?}"
            )),
        })
        .collect()
}

/// A cookie name: an RFC 6265 token.
fn cookie_name(raw: &str) -> Result<String, String> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if raw.is_empty() || !raw.bytes().all(token) {
        return Err("expected a cookie name (letters, digits and !#$%&'*+-.^_`|~)".into());
    }
    Ok(raw.to_owned())
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
        self.merge_mail(&vars)?;
        self.merge_jwt(&vars)?;
        self.merge_webauthn(&vars)?;
        self.merge_mfa(&vars)?;
        self.merge_oauth(&vars)?;
        self.merge_ldap(&vars)?;
        Ok(self)
    }

    fn merge_http(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        let http = &mut self.http;
        let cookie: &mut CookieConfig = &mut http.cookie;
        vars.set("AUTH_COOKIE_NAME", &mut cookie.name, cookie_name)?;
        if let Some(domain) = vars.parse("AUTH_COOKIE_DOMAIN", |raw| {
            match !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_graphic() && b != b';') {
                true => Ok(raw.to_owned()),
                false => Err("expected a domain name".into()),
            }
        })? {
            cookie.domain = Some(domain);
        }
        vars.set("AUTH_COOKIE_SECURE", &mut cookie.secure, boolean)?;
        vars.set("AUTH_CSRF_ENABLED", &mut http.csrf.enabled, boolean)?;
        vars.set(
            "AUTH_CSRF_ALLOWED_ORIGINS",
            &mut http.csrf.allowed_origins,
            |raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(|o| {
                        crate::csrf::exact_origin(o)
                            .ok_or_else(|| format!("{o:?} is not an origin (scheme://host[:port])"))
                    })
                    .collect()
            },
        )?;
        vars.set("AUTH_REGISTRATION", &mut http.registration, |raw| match raw
            .to_ascii_lowercase()
            .as_str()
        {
            "open" => Ok(RegistrationMode::Open),
            "private" => Ok(RegistrationMode::Private),
            _ => Err("expected open or private".into()),
        })?;
        let header = vars.parse("AUTH_CLIENT_IP_HEADER", |raw| {
            axum::http::HeaderName::try_from(raw).map_err(|_| "expected a header name".into())
        })?;
        let hops = vars.parse("AUTH_CLIENT_IP_TRUSTED_HOPS", |raw| {
            count(raw).map(|n| n as usize)
        })?;
        match (header, hops) {
            (Some(name), hops) => {
                http.client_ip = ClientIpSource::Header {
                    name,
                    trusted_hops: hops.unwrap_or(1),
                }
            }
            (None, Some(_)) => {
                return Err(EnvConfigError {
                    variable: "AUTH_CLIENT_IP_TRUSTED_HOPS",
                    message: "needs AUTH_CLIENT_IP_HEADER".into(),
                });
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// Without the `mail` feature there is no SMTP mailer: a mail variable that is set is
    /// refused, naming it, rather than ignored (the application would send no mail).
    #[cfg(not(feature = "mail"))]
    fn merge_mail(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
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
    fn merge_mail(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
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

    fn merge_jwt(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        let kid = vars
            .parse("AUTH_JWT_KID", non_empty)?
            .unwrap_or_else(|| "k1".into());
        if let Some(path) = vars.get("AUTH_JWT_ED25519_PEM_FILE") {
            let error = |message: String| EnvConfigError {
                variable: "AUTH_JWT_ED25519_PEM_FILE",
                message,
            };
            let pem = std::fs::read_to_string(path.trim())
                .map_err(|e| error(format!("cannot read {path:?}: {e}")))?;
            let key = JwtKey::ed25519_pem(kid, &pem).map_err(|e| error(e.to_string()))?;
            self.jwt = Some(JwtConfig::new(key).map_err(|e| error(e.to_string()))?);
        }
        let Some(jwt) = &mut self.jwt else {
            for name in ["AUTH_JWT_ACCESS_TTL", "AUTH_JWT_ISSUER"] {
                if vars.get(name).is_some() {
                    return Err(EnvConfigError {
                        variable: name,
                        message: "needs AUTH_JWT_ED25519_PEM_FILE (or a JWT configuration)".into(),
                    });
                }
            }
            return Ok(());
        };
        vars.set("AUTH_JWT_ACCESS_TTL", &mut jwt.access_ttl, duration)?;
        vars.set("AUTH_JWT_ISSUER", &mut jwt.issuer, non_empty)?;
        Ok(())
    }

    #[cfg(not(feature = "passkeys"))]
    fn merge_webauthn(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        match WEBAUTHN_VARIABLES
            .into_iter()
            .find(|name| vars.get(name).is_some())
        {
            Some(variable) => Err(EnvConfigError {
                variable,
                message: "passkeys need the \"passkeys\" Cargo feature of auth-axum, which this \
                          build leaves out"
                    .into(),
            }),
            None => Ok(()),
        }
    }

    #[cfg(feature = "passkeys")]
    fn merge_webauthn(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        let Some(rp_id) = vars.get("AUTH_WEBAUTHN_RP_ID") else {
            if let Some(variable) = WEBAUTHN_VARIABLES
                .into_iter()
                .find(|name| vars.get(name).is_some())
            {
                return Err(EnvConfigError {
                    variable,
                    message: "needs AUTH_WEBAUTHN_RP_ID".into(),
                });
            }
            return Ok(());
        };
        let origin = vars.required("AUTH_WEBAUTHN_ORIGIN", "AUTH_WEBAUTHN_RP_ID")?;
        let name = vars.get("AUTH_WEBAUTHN_RP_NAME").unwrap_or(rp_id);
        let config = auth_core::passkey::WebauthnConfig::new(rp_id.trim(), origin.trim(), name)
            .map_err(|e| EnvConfigError {
                variable: "AUTH_WEBAUTHN_ORIGIN",
                message: e.to_string(),
            })?;
        self.webauthn = Some(config);
        Ok(())
    }

    fn merge_mfa(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        if let Some(key) = vars.parse("AUTH_MFA_KEY", |raw| {
            SecretKey::parse(raw).map_err(|e| e.to_string())
        })? {
            let issuer = self
                .mfa
                .as_ref()
                .map(|m| m.issuer.clone())
                .unwrap_or_else(|| "axum-auth".into());
            self.mfa = Some(MfaConfig::new(key, issuer));
        }
        let Some(mfa) = &mut self.mfa else {
            for name in ["AUTH_MFA_ISSUER", "AUTH_MFA_CHALLENGE_TTL"] {
                if vars.get(name).is_some() {
                    return Err(EnvConfigError {
                        variable: name,
                        message: "needs AUTH_MFA_KEY (or an MFA configuration)".into(),
                    });
                }
            }
            return Ok(());
        };
        vars.set("AUTH_MFA_ISSUER", &mut mfa.issuer, non_empty)?;
        vars.set("AUTH_MFA_CHALLENGE_TTL", &mut mfa.challenge_ttl, duration)?;
        Ok(())
    }

    #[cfg(not(feature = "oauth"))]
    fn merge_oauth(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        match vars
            .0
            .keys()
            .find(|name| is_provider_variable(name) || name.starts_with("AUTH_OAUTH_"))
        {
            Some(_) => Err(EnvConfigError {
                variable: "AUTH_OIDC_<NAME>_*",
                message: "external identity needs the \"oauth\" Cargo feature of auth-axum, \
                          which this build leaves out"
                    .into(),
            }),
            None => Ok(()),
        }
    }

    #[cfg(not(feature = "ldap"))]
    fn merge_ldap(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        match LDAP_VARIABLES
            .into_iter()
            .find(|name| vars.get(name).is_some())
        {
            Some(variable) => Err(EnvConfigError {
                variable,
                message: "LDAP login needs the \"ldap\" Cargo feature of auth-axum, which this \
                          build leaves out"
                    .into(),
            }),
            None => Ok(()),
        }
    }

    #[cfg(feature = "oauth")]
    fn merge_oauth(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        use auth_core::oauth::{OAuthConfig, ProviderConfig};
        const PROVIDER: &str = "AUTH_OIDC_<NAME>_*";
        let err = |variable: &'static str, message: String| EnvConfigError { variable, message };
        // The provider names, from the variables present, sorted (a stable order).
        let mut names: Vec<String> = vars
            .0
            .keys()
            .filter(|name| is_provider_variable(name))
            .filter_map(|name| {
                let rest = name.strip_prefix(OIDC_PREFIX)?;
                OIDC_SUFFIXES
                    .iter()
                    .find_map(|suffix| rest.strip_suffix(suffix))
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            if let Some(variable) = [
                "AUTH_OAUTH_PUBLIC_URL",
                "AUTH_OAUTH_LINK_VERIFIED_EMAIL",
                "AUTH_OAUTH_CREATE_USERS",
                "AUTH_OAUTH_MFA_URL",
            ]
            .into_iter()
            .find(|name| vars.get(name).is_some())
            {
                return Err(err(
                    variable,
                    "needs a provider (AUTH_OIDC_<NAME>_CLIENT_ID)".into(),
                ));
            }
            return Ok(());
        }
        let public = vars.required("AUTH_OAUTH_PUBLIC_URL", "AUTH_OIDC_<NAME>_CLIENT_ID")?;
        let mut config = OAuthConfig::new(public.trim())
            .map_err(|e| err("AUTH_OAUTH_PUBLIC_URL", e.to_string()))?;
        for name in names {
            let var = |suffix: &str| format!("{OIDC_PREFIX}{name}{suffix}");
            let get = |suffix: &str| vars.0.get(&var(suffix)).map(|v| v.trim());
            let provider_name = name.to_ascii_lowercase();
            let client_id = get("_CLIENT_ID")
                .ok_or_else(|| err(PROVIDER, format!("{} is required", var("_CLIENT_ID"))))?;
            let secret = get("_CLIENT_SECRET");
            let mut provider = match get("_ISSUER") {
                Some(issuer) => ProviderConfig::oidc(&provider_name, issuer, client_id, secret),
                None if provider_name == "github" => Ok(ProviderConfig::github(
                    client_id,
                    secret.ok_or_else(|| {
                        err(
                            PROVIDER,
                            format!("{} is required for GitHub", var("_CLIENT_SECRET")),
                        )
                    })?,
                )),
                None => {
                    return Err(err(
                        PROVIDER,
                        format!("{} is required (only GitHub has a preset)", var("_ISSUER")),
                    ));
                }
            }
            .map_err(|e| err(PROVIDER, format!("{}: {e}", var("_ISSUER"))))?;
            if let Some(scopes) = get("_SCOPES") {
                provider = provider.scopes(scopes.split_whitespace().map(str::to_owned));
            }
            if let Some(raw) = get("_TRUST_AMR") {
                let on = boolean(raw)
                    .map_err(|m| err(PROVIDER, format!("{}: {m}", var("_TRUST_AMR"))))?;
                provider = provider.trust_amr(on);
            }
            config = config
                .provider(provider)
                .map_err(|e| err(PROVIDER, e.to_string()))?;
        }
        if let Some(on) = vars.parse("AUTH_OAUTH_LINK_VERIFIED_EMAIL", boolean)? {
            config = config.link_verified_email(on);
        }
        if let Some(on) = vars.parse("AUTH_OAUTH_CREATE_USERS", boolean)? {
            config = config.create_users(on);
        }
        if let Some(page) = vars.get("AUTH_OAUTH_MFA_URL") {
            config = config
                .mfa_url(page.trim())
                .map_err(|e| err("AUTH_OAUTH_MFA_URL", e.to_string()))?;
        }
        config.check().map_err(|e| err(PROVIDER, e.to_string()))?;
        self.oauth = Some(config);
        Ok(())
    }

    /// The `AUTH_LDAP_*` variables. The checks that concern one variable are made here, so
    /// that the error names it; the builder's own checks (the CA file) come last.
    #[cfg(feature = "ldap")]
    fn merge_ldap(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        let error = |variable: &'static str, message: &str| EnvConfigError {
            variable,
            message: message.to_owned(),
        };
        let Some(url) = vars.get("AUTH_LDAP_URL").map(str::trim) else {
            if let Some(variable) = LDAP_VARIABLES
                .into_iter()
                .find(|name| vars.get(name).is_some())
            {
                return Err(error(variable, "needs AUTH_LDAP_URL"));
            }
            return Ok(());
        };
        let starttls = vars.parse("AUTH_LDAP_STARTTLS", boolean)?.unwrap_or(false);
        let allow_plain = vars
            .parse("AUTH_LDAP_ALLOW_PLAIN", boolean)?
            .unwrap_or(false);
        let parsed = url::Url::parse(url).ok().filter(|u| {
            u.host_str().is_some_and(|h| !h.is_empty())
                && u.username().is_empty()
                && u.password().is_none()
                && matches!(u.path(), "" | "/")
        });
        let Some(parsed) = parsed else {
            return Err(error(
                "AUTH_LDAP_URL",
                "expected ldaps://host[:port] or ldap://host[:port]",
            ));
        };
        match (parsed.scheme(), starttls, allow_plain) {
            ("ldaps", true, _) => {
                return Err(error(
                    "AUTH_LDAP_STARTTLS",
                    "StartTLS is for ldap:// URLs (ldaps:// is TLS already)",
                ));
            }
            ("ldaps", false, _) | ("ldap", true, _) | ("ldap", false, true) => {}
            ("ldap", false, false) => {
                return Err(error(
                    "AUTH_LDAP_URL",
                    "ldap:// sends passwords in clear: use ldaps://, or set AUTH_LDAP_STARTTLS=true \
                     (AUTH_LDAP_ALLOW_PLAIN=true to accept plain LDAP)",
                ));
            }
            _ => {
                return Err(error(
                    "AUTH_LDAP_URL",
                    "expected an ldaps:// or ldap:// URL",
                ));
            }
        }
        let mut builder = auth_core::ldap::LdapConfig::builder(url)
            .starttls(starttls)
            .allow_plain(allow_plain);
        let template = vars.parse("AUTH_LDAP_USER_DN_TEMPLATE", non_empty)?;
        let base = vars.parse("AUTH_LDAP_SEARCH_BASE", non_empty)?;
        let filter = vars.parse("AUTH_LDAP_SEARCH_FILTER", non_empty)?;
        match (template, base) {
            (Some(_), Some(_)) => {
                return Err(error(
                    "AUTH_LDAP_USER_DN_TEMPLATE",
                    "give AUTH_LDAP_USER_DN_TEMPLATE or AUTH_LDAP_SEARCH_BASE, not both",
                ));
            }
            (None, None) => {
                return Err(error(
                    "AUTH_LDAP_USER_DN_TEMPLATE",
                    "required with AUTH_LDAP_URL (or AUTH_LDAP_SEARCH_BASE)",
                ));
            }
            (Some(template), None) => {
                if filter.is_some() {
                    return Err(error(
                        "AUTH_LDAP_SEARCH_FILTER",
                        "needs AUTH_LDAP_SEARCH_BASE",
                    ));
                }
                if !template.contains("{account}") {
                    return Err(error(
                        "AUTH_LDAP_USER_DN_TEMPLATE",
                        "must contain {account}",
                    ));
                }
                builder = builder.user_dn_template(&template);
            }
            (None, Some(base)) => {
                let filter = filter.unwrap_or_else(|| "(uid={account})".into());
                if !filter.contains("{account}") {
                    return Err(error("AUTH_LDAP_SEARCH_FILTER", "must contain {account}"));
                }
                builder = builder.user_search(&base, &filter);
            }
        }
        match (
            vars.parse("AUTH_LDAP_BIND_DN", non_empty)?,
            vars.get("AUTH_LDAP_BIND_PASSWORD"),
        ) {
            (Some(dn), Some(password)) if !password.is_empty() => {
                builder = builder.bind_credentials(&dn, password);
            }
            (Some(_), _) => {
                return Err(error(
                    "AUTH_LDAP_BIND_PASSWORD",
                    "required (not empty) with AUTH_LDAP_BIND_DN",
                ));
            }
            (None, Some(_)) => {
                return Err(error("AUTH_LDAP_BIND_PASSWORD", "needs AUTH_LDAP_BIND_DN"));
            }
            (None, None) => {}
        }
        if let Some(attribute) = vars.get("AUTH_LDAP_MAIL_ATTRIBUTE").map(str::trim) {
            if !attribute
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b';')
            {
                return Err(error(
                    "AUTH_LDAP_MAIL_ATTRIBUTE",
                    "expected an attribute name (or empty for none)",
                ));
            }
            builder = builder.mail_attribute((!attribute.is_empty()).then_some(attribute));
        }
        let group_base = vars.parse("AUTH_LDAP_GROUP_SEARCH_BASE", non_empty)?;
        let group_filter = vars.parse("AUTH_LDAP_GROUP_FILTER", |raw| {
            match raw.contains("{dn}") || raw.contains("{account}") {
                true => Ok(raw.to_owned()),
                false => Err("must contain {dn} or {account}".into()),
            }
        })?;
        let roles = vars
            .parse("AUTH_LDAP_GROUP_ROLES", group_roles)?
            .unwrap_or_default();
        match (&group_base, roles.is_empty()) {
            (Some(base), _) => builder = builder.group_search(base, group_filter.as_deref()),
            (None, false) => {
                return Err(error(
                    "AUTH_LDAP_GROUP_SEARCH_BASE",
                    "required with AUTH_LDAP_GROUP_ROLES",
                ));
            }
            (None, true) if group_filter.is_some() => {
                return Err(error(
                    "AUTH_LDAP_GROUP_FILTER",
                    "needs AUTH_LDAP_GROUP_SEARCH_BASE",
                ));
            }
            (None, true) => {}
        }
        for (group, role) in &roles {
            builder = builder.group_role(group, role);
        }
        if let Some(t) = vars.parse("AUTH_LDAP_CONNECT_TIMEOUT", duration)? {
            builder = builder.connect_timeout(t);
        }
        if let Some(t) = vars.parse("AUTH_LDAP_TIMEOUT", duration)? {
            builder = builder.operation_timeout(t);
        }
        let ca_file = vars.parse("AUTH_LDAP_CA_FILE", non_empty)?;
        if let Some(path) = &ca_file {
            builder = builder.ca_file(path);
        }
        let config = builder.build().map_err(|e| {
            let message = match e {
                auth_core::Error::Config(m) => m,
                other => other.to_string(),
            };
            EnvConfigError {
                variable: if ca_file.is_some() && message.contains("CA") {
                    "AUTH_LDAP_CA_FILE"
                } else {
                    "AUTH_LDAP_URL"
                },
                message,
            }
        })?;
        self.ldap = Some(config);
        Ok(())
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
