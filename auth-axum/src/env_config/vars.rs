//! The variables read (with their defaults) and how a raw value is parsed.

use super::*;

/// Every variable read, with its default (what the README lists).
pub(super) const VARIABLES: &[(&str, &str)] = &[
    ("AUTH_BCRYPT_COST", "12 (4 to 31)"),
    ("AUTH_SESSION_PROFILE", "default (or asvs_l2)"),
    ("AUTH_SESSION_IDLE_TIMEOUT", "14days"),
    ("AUTH_SESSION_ABSOLUTE_TIMEOUT", "30days"),
    ("AUTH_SESSION_TOUCH_INTERVAL", "60s"),
    ("AUTH_SESSION_SUDO_WINDOW", "10m"),
    ("AUTH_COOKIE_NAME", "auth_session"),
    ("AUTH_COOKIE_DOMAIN", "unset (the exact host)"),
    ("AUTH_COOKIE_SECURE", "true"),
    ("AUTH_COOKIE_HOST_PREFIX", "true"),
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
    ("AUTH_DB_QUERY_TIMEOUT", "5s"),
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
pub(super) const OIDC_PREFIX: &str = "AUTH_OIDC_";
/// Their suffixes.
pub(super) const OIDC_SUFFIXES: [&str; 5] = [
    "_ISSUER",
    "_CLIENT_ID",
    "_CLIENT_SECRET",
    "_SCOPES",
    "_TRUST_AMR",
];

/// The LDAP variables.
pub(super) const LDAP_VARIABLES: [&str; 15] = [
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
pub(super) const WEBAUTHN_VARIABLES: [&str; 3] = [
    "AUTH_WEBAUTHN_RP_ID",
    "AUTH_WEBAUTHN_ORIGIN",
    "AUTH_WEBAUTHN_RP_NAME",
];

/// Whether `name` is a per-provider variable (`AUTH_OIDC_<NAME>_<SUFFIX>`).
pub(super) fn is_provider_variable(name: &str) -> bool {
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
pub(super) struct Vars(pub(super) std::collections::HashMap<String, String>);

impl Vars {
    pub(super) fn get(&self, name: &'static str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub(super) fn parse<T>(
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

    pub(super) fn set<T>(
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
    pub(super) fn required(
        &self,
        name: &'static str,
        because: &str,
    ) -> Result<&str, EnvConfigError> {
        self.get(name).ok_or_else(|| EnvConfigError {
            variable: name,
            message: format!("required with {because}"),
        })
    }
}

pub(super) fn boolean(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

pub(super) fn duration(raw: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(raw)
        .map_err(|e| format!("expected a duration such as 90s, 15m or 14days: {e}"))?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

pub(super) fn count(raw: &str) -> Result<u32, String> {
    match raw.parse::<u32>() {
        Ok(0) | Err(_) => Err("expected a whole number of at least 1".into()),
        Ok(n) => Ok(n),
    }
}

pub(super) fn non_empty(raw: &str) -> Result<String, String> {
    match raw.is_empty() {
        true => Err("must not be empty".into()),
        false => Ok(raw.to_owned()),
    }
}

/// `AUTH_LDAP_GROUP_ROLES`: `group=role` pairs separated by `;`; the last `=` of a pair
/// ends the group (a DN holds `=` signs, a role name none).
#[cfg_attr(not(feature = "ldap"), allow(dead_code))]
pub(super) fn group_roles(raw: &str) -> Result<Vec<(String, String)>, String> {
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
pub(super) fn cookie_name(raw: &str) -> Result<String, String> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if raw.is_empty() || !raw.bytes().all(token) {
        return Err("expected a cookie name (letters, digits and !#$%&'*+-.^_`|~)".into());
    }
    Ok(raw.to_owned())
}
