//! LDAP login (`platform: "ldap"`): the user proves their password by binding to the
//! directory as themselves; the first successful bind creates a local user linked to the
//! directory entry, and the directory's groups are mapped to local roles at every login.
//!
//! [`LdapBackend`] is an [`AuthBackend`]: registered under the platform `ldap`, it gets the
//! service's throttling, audit of the login, MFA step and session creation
//! ([`crate::service::AuthService::login`]).
//!
//! # Finding the user's DN
//! - DN template ([`LdapConfigBuilder::user_dn_template`]): `uid={account},ou=people,...`,
//!   the account escaped as an RFC 4514 attribute value.
//! - Search, then bind ([`LdapConfigBuilder::user_search`]): a search under a base with a
//!   filter such as `(uid={account})` (the account escaped per RFC 4515), as the service
//!   account ([`LdapConfigBuilder::bind_credentials`]) or anonymously; exactly one entry
//!   must answer. An unknown account still costs a bind (of a DN that does not exist), and
//!   answers [`AuthError::InvalidCredentials`] like a wrong password.
//!
//! # What the local user is
//! The identity's subject (provider `ldap`) is the entry's DN **as the directory returns
//! it from a search** (its stored spelling), never the DN built from what was typed: a user
//! typing `ALICE` reaches the identity of `uid=alice,...`, and both modes give the same
//! subject for one entry. No further normalization is made (no case folding: the
//! directory's own spelling is already one per entry).
//!
//! The first login creates the user with [`identity::provision`]: no usable password, the
//! account name wanted is the login name (a suffixed name when a local user holds it: an
//! existing local user of the same name is **never** linked to the entry, which would be an
//! account takeover), and the `mail` attribute as e-mail address (not marked verified;
//! dropped when another user holds it). Later logins find the user through the identity
//! alone; a deactivated local user is refused with [`AuthError::Inactive`].
//!
//! # Groups and roles
//! With a mapping ([`LdapConfigBuilder::group_role`]: a group's DN or `cn` to a role name),
//! the user's groups are found by a search under [`LdapConfigBuilder::group_search`] (by
//! default `(&(objectClass=groupOfNames)(member={dn}))`: `memberOf` is not read). At each
//! login, the mapped roles the groups give are assigned (globally, marked as given by the
//! sync), and those they no longer give are revoked, if the sync gave them. A role given
//! by hand is never touched, whether the mapping names it or not: an administrator who
//! gives a mapped role keeps it there after the group membership ends. (A role the user
//! held by hand when the group first gave it stays a hand-given role; assignments made by
//! the sync before migration 12 count as given by hand.) A mapped role that does not exist locally is skipped with a
//! warning: it is not created, and no permission is ever granted implicitly.
//!
//! # Order of work and failures
//! Every LDAP call happens first, with no database connection held. Then one transaction
//! creates the user (or finds it and records the login), syncs the roles (bumping the RBAC
//! version as [`crate::rbac::manage::assign_role`] does) and writes the audit events
//! `ldap.user_created` and `ldap.roles_synced`. A directory that cannot be reached, fails
//! TLS, times out or answers an unexpected result is [`AuthError::Upstream`] (HTTP 503):
//! nothing is written and the attempt does not count against the throttle.
//!
//! An empty password, or an account that is empty or holds a control character, is refused
//! as [`AuthError::InvalidCredentials`] without contacting the server: an empty password
//! would be an "unauthenticated bind", which many servers accept as anonymous.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings, LdapResult, Scope, SearchEntry, StdStream};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::json;

use crate::audit::{self, EventType, NewEvent};
use crate::backend::{AuthBackend, AuthError, BoxFuture, LoginRequest, RegisterRequest};
use crate::db::{Database, DbConn};
use crate::error::Error;
use crate::identity::{self, ExternalUser};
use crate::rbac::manage;
use crate::user::UserStore;

/// The provider name of LDAP identities (and the platform name the backend is meant for).
pub const PROVIDER: &str = "ldap";

/// The service label of [`AuthError::Upstream`].
const SERVICE: &str = "LDAP";

/// How the role assignments the group sync gives are marked (`granted_by`), so that it
/// removes only those.
pub const SYNC_SOURCE: &str = "ldap";

/// The default group search filter.
pub const DEFAULT_GROUP_FILTER: &str = "(&(objectClass=groupOfNames)(member={dn}))";

/// The default connect timeout (TCP, TLS handshake and StartTLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The default timeout of each LDAP operation (bind, search).
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// LDAP result code `invalidCredentials`.
const RC_INVALID_CREDENTIALS: u32 = 49;
/// LDAP result code `invalidDNSyntax` (a template DN the server cannot parse).
const RC_INVALID_DN_SYNTAX: u32 = 34;

/// How the user's DN is found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UserDn {
    Template(String),
    Search { base: String, filter: String },
}

/// The LDAP backend's configuration; build it with [`LdapConfig::builder`]. `Debug` never
/// shows the service account's password.
#[derive(Clone)]
pub struct LdapConfig {
    url: String,
    starttls: bool,
    user_dn: UserDn,
    bind: Option<(String, String)>,
    connect_timeout: Duration,
    operation_timeout: Duration,
    mail_attribute: Option<String>,
    group_base: Option<String>,
    group_filter: String,
    /// (group DN or cn, lower-cased; role).
    group_roles: Vec<(String, String)>,
    ca_file: Option<PathBuf>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for LdapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapConfig")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("user_dn", &self.user_dn)
            .field("bind_dn", &self.bind.as_ref().map(|(dn, _)| dn))
            .field("bind_password", &self.bind.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("mail_attribute", &self.mail_attribute)
            .field("group_base", &self.group_base)
            .field("group_filter", &self.group_filter)
            .field("group_roles", &self.group_roles)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

/// Builds an [`LdapConfig`]; [`LdapConfigBuilder::build`] checks it.
#[derive(Clone)]
pub struct LdapConfigBuilder {
    url: String,
    starttls: bool,
    allow_plain: bool,
    template: Option<String>,
    search: Option<(String, String)>,
    bind: Option<(String, String)>,
    connect_timeout: Duration,
    operation_timeout: Duration,
    mail_attribute: Option<String>,
    group_base: Option<String>,
    group_filter: Option<String>,
    group_roles: Vec<(String, String)>,
    ca_file: Option<PathBuf>,
}

impl fmt::Debug for LdapConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapConfigBuilder")
            .field("url", &self.url)
            .field("bind_dn", &self.bind.as_ref().map(|(dn, _)| dn))
            .finish_non_exhaustive()
    }
}

impl LdapConfig {
    /// A builder for the server at `url` (`ldaps://host[:port]`, or `ldap://host[:port]`
    /// with [`LdapConfigBuilder::starttls`] or, for tests only,
    /// [`LdapConfigBuilder::allow_plain`]).
    pub fn builder(url: &str) -> LdapConfigBuilder {
        LdapConfigBuilder {
            url: url.trim().to_owned(),
            starttls: false,
            allow_plain: false,
            template: None,
            search: None,
            bind: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            mail_attribute: Some("mail".into()),
            group_base: None,
            group_filter: None,
            group_roles: Vec::new(),
            ca_file: None,
        }
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The roles the mapping names (sorted, without duplicates).
    pub fn mapped_roles(&self) -> Vec<&str> {
        let mut roles: Vec<&str> = self.group_roles.iter().map(|(_, r)| r.as_str()).collect();
        roles.sort_unstable();
        roles.dedup();
        roles
    }
}

fn config_error(message: impl Into<String>) -> Error {
    Error::Config(message.into())
}

impl LdapConfigBuilder {
    /// Finds the user's DN by putting the account (escaped per RFC 4514) in `template`
    /// where it says `{account}`, e.g. `uid={account},ou=people,dc=example,dc=org`.
    pub fn user_dn_template(mut self, template: &str) -> Self {
        self.template = Some(template.trim().to_owned());
        self
    }

    /// Finds the user's DN by a subtree search under `base` with `filter`, where
    /// `{account}` is replaced by the account escaped per RFC 4515, e.g. `(uid={account})`.
    /// The search runs as the service account ([`LdapConfigBuilder::bind_credentials`]),
    /// or anonymously without one.
    pub fn user_search(mut self, base: &str, filter: &str) -> Self {
        self.search = Some((base.trim().to_owned(), filter.trim().to_owned()));
        self
    }

    /// The service account: the user search and the group search run bound as `dn`.
    pub fn bind_credentials(mut self, dn: &str, password: &str) -> Self {
        self.bind = Some((dn.trim().to_owned(), password.to_owned()));
        self
    }

    /// Upgrades an `ldap://` connection with StartTLS (default: off).
    pub fn starttls(mut self, on: bool) -> Self {
        self.starttls = on;
        self
    }

    /// Allows an `ldap://` URL without StartTLS: passwords then cross the network in clear
    /// (default: refused).
    pub fn allow_plain(mut self, on: bool) -> Self {
        self.allow_plain = on;
        self
    }

    /// Trusts the CA certificates of this PEM file (instead of the system's store).
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Self {
        self.ca_file = Some(path.as_ref().to_owned());
        self
    }

    /// The connect timeout: TCP, StartTLS and TLS handshake (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The timeout of each operation: bind, search (default 10 s).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The attribute holding the user's e-mail address (default `mail`; `None`: no address).
    pub fn mail_attribute(mut self, attribute: Option<&str>) -> Self {
        self.mail_attribute = attribute.map(|a| a.trim().to_owned());
        self
    }

    /// Where the groups are searched (a subtree search under `base`) and with what filter
    /// (`None`: [`DEFAULT_GROUP_FILTER`]); in the filter `{dn}` is the user's DN and
    /// `{account}` the login name, both escaped per RFC 4515.
    pub fn group_search(mut self, base: &str, filter: Option<&str>) -> Self {
        self.group_base = Some(base.trim().to_owned());
        self.group_filter = filter.map(|f| f.trim().to_owned());
        self
    }

    /// Maps the group `group` (its DN, or its `cn`; compared without regard to ASCII
    /// case) to the local role `role`.
    pub fn group_role(mut self, group: &str, role: &str) -> Self {
        self.group_roles
            .push((group.trim().to_ascii_lowercase(), role.trim().to_owned()));
        self
    }

    /// The checked configuration; [`Error::Config`] says what is wrong (never the
    /// password).
    pub fn build(self) -> Result<LdapConfig, Error> {
        let url = url::Url::parse(&self.url)
            .map_err(|e| config_error(format!("the LDAP URL is invalid: {e}")))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(config_error("the LDAP URL names no host"));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || !url.username().is_empty() {
            return Err(config_error(
                "the LDAP URL is scheme://host[:port] (no DN, query or credentials)",
            ));
        }
        match (url.scheme(), self.starttls) {
            ("ldaps", true) => {
                return Err(config_error(
                    "StartTLS is for ldap:// URLs (ldaps:// is TLS already)",
                ));
            }
            ("ldaps", false) | ("ldap", true) => {}
            ("ldap", false) if self.allow_plain => {
                tracing::warn!(
                    "LDAP without TLS: passwords cross the network in clear (allow_plain)"
                );
            }
            ("ldap", false) => {
                return Err(config_error(
                    "an ldap:// URL needs StartTLS (or ldaps://); plain LDAP sends passwords \
                     in clear and is refused unless explicitly allowed",
                ));
            }
            (other, _) => {
                return Err(config_error(format!(
                    "the LDAP URL's scheme is {other:?}: expected ldaps or ldap"
                )));
            }
        }
        let user_dn = match (self.template, self.search) {
            (Some(t), None) => {
                if !t.contains("{account}") {
                    return Err(config_error("the user DN template has no {account}"));
                }
                UserDn::Template(t)
            }
            (None, Some((base, filter))) => {
                if base.is_empty() {
                    return Err(config_error("the user search base is empty"));
                }
                if !filter.contains("{account}") {
                    return Err(config_error("the user search filter has no {account}"));
                }
                UserDn::Search { base, filter }
            }
            (Some(_), Some(_)) => {
                return Err(config_error(
                    "give either a user DN template or a user search, not both",
                ));
            }
            (None, None) => {
                return Err(config_error(
                    "give a user DN template or a user search (base and filter)",
                ));
            }
        };
        if let Some((dn, _)) = &self.bind
            && dn.is_empty()
        {
            return Err(config_error("the bind DN is empty"));
        }
        if self.connect_timeout.is_zero() || self.operation_timeout.is_zero() {
            return Err(config_error("LDAP timeouts must be more than zero"));
        }
        let group_filter = self
            .group_filter
            .unwrap_or_else(|| DEFAULT_GROUP_FILTER.to_owned());
        if !self.group_roles.is_empty() {
            if self.group_base.as_deref().is_none_or(str::is_empty) {
                return Err(config_error(
                    "a group-to-role mapping needs a group search base",
                ));
            }
            if !group_filter.contains("{dn}") && !group_filter.contains("{account}") {
                return Err(config_error(
                    "the group search filter has neither {dn} nor {account}",
                ));
            }
        }
        if let Some((group, role)) = self
            .group_roles
            .iter()
            .find(|(g, r)| g.is_empty() || r.is_empty())
        {
            return Err(config_error(format!(
                "empty group or role in the group mapping ({group:?} = {role:?})"
            )));
        }
        let tls = match url.scheme() == "ldaps" || self.starttls {
            true => Some(tls_config(self.ca_file.as_deref())?),
            false => None,
        };
        Ok(LdapConfig {
            url: self.url,
            starttls: self.starttls,
            user_dn,
            bind: self.bind,
            connect_timeout: self.connect_timeout,
            operation_timeout: self.operation_timeout,
            mail_attribute: self.mail_attribute.filter(|a| !a.is_empty()),
            group_base: self.group_base,
            group_filter,
            group_roles: self.group_roles,
            ca_file: self.ca_file,
            tls,
        })
    }
}

/// The rustls client configuration: the CA file's certificates, or the system's store.
fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| config_error(format!("cannot read the LDAP CA file {path:?}: {e}")))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| {
                    config_error(format!("the LDAP CA file {path:?} is not PEM: {e}"))
                })?;
                roots.add(cert).map_err(|e| {
                    config_error(format!("a certificate of {path:?} is unusable: {e}"))
                })?;
            }
            if roots.is_empty() {
                return Err(config_error(format!(
                    "the LDAP CA file {path:?} holds no certificate"
                )));
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for error in &native.errors {
                tracing::warn!(%error, "a system CA certificate could not be loaded");
            }
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                return Err(config_error(
                    "no system CA certificate found: configure an LDAP CA file",
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Why the directory could not be used (for logs; never shown to clients).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failure(String);

fn upstream(what: &str, cause: impl fmt::Display) -> AuthError {
    let message = format!("{what}: {cause}");
    tracing::warn!(error = %message, "LDAP server unavailable");
    AuthError::Upstream {
        service: SERVICE.into(),
        source: Box::new(Failure(message)),
    }
}

fn unexpected(what: &str, result: &LdapResult) -> AuthError {
    upstream(
        what,
        format_args!("result code {} ({})", result.rc, result.text),
    )
}

/// What the directory said about a user whose bind succeeded.
#[derive(Debug, Clone)]
struct DirectoryUser {
    dn: String,
    mail: Option<String>,
    /// The user's groups: (DN, cns), lower-cased.
    groups: Vec<(String, Vec<String>)>,
}

/// The LDAP login backend (see the module docs). Register it under the platform
/// [`PROVIDER`] (`ldap`): `AuthService::builder().backend("ldap", LdapBackend::new(config))`.
#[derive(Debug, Clone)]
pub struct LdapBackend {
    config: Arc<LdapConfig>,
}

impl LdapBackend {
    /// A backend with `config`.
    pub fn new(config: LdapConfig) -> Self {
        LdapBackend {
            config: Arc::new(config),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LdapConfig {
        &self.config
    }

    /// The TCP connection to the server, with Nagle's algorithm off. LDAP writes small
    /// messages and waits for each answer; with Nagle on (ldap3's own connect leaves it
    /// on), a write waiting for the peer's delayed ACK stalled every login by about 40 ms.
    async fn tcp(&self) -> Result<std::net::TcpStream, AuthError> {
        let url = url::Url::parse(&self.config.url).map_err(|e| upstream("connect", e))?;
        let port = url
            .port()
            .unwrap_or(if url.scheme() == "ldaps" { 636 } else { 389 });
        let stream = match url.host() {
            Some(url::Host::Domain(host)) => tokio::net::TcpStream::connect((host, port)).await,
            Some(url::Host::Ipv4(ip)) => tokio::net::TcpStream::connect((ip, port)).await,
            Some(url::Host::Ipv6(ip)) => tokio::net::TcpStream::connect((ip, port)).await,
            None => return Err(upstream("connect", "the URL has no host")),
        }
        .map_err(|e| upstream("connect", e))?;
        stream
            .set_nodelay(true)
            .map_err(|e| upstream("connect", e))?;
        stream.into_std().map_err(|e| upstream("connect", e))
    }

    /// Connects (TCP, then TLS or StartTLS), within the connect timeout.
    async fn connect(&self) -> Result<ldap3::Ldap, AuthError> {
        let c = &self.config;
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(c.connect_timeout)
            .set_starttls(c.starttls);
        if let Some(tls) = &c.tls {
            settings = settings.set_config(tls.clone());
        }
        let connected = async {
            let stream = self.tcp().await?;
            LdapConnAsync::with_settings(settings.set_std_stream(StdStream::Tcp(stream)), &c.url)
                .await
                .map_err(|e| upstream("connect", e))
        };
        let (conn, ldap) = tokio::time::timeout(c.connect_timeout, connected)
            .await
            .map_err(|_| upstream("connect", "timed out"))??;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "LDAP connection ended");
            }
        });
        Ok(ldap)
    }

    /// Binds as `dn` with `password`: `Ok(true)` accepted, `Ok(false)` invalid
    /// credentials (or, with `dn_syntax_is_invalid`, a DN the server cannot parse).
    async fn bind(
        &self,
        ldap: &mut ldap3::Ldap,
        dn: &str,
        password: &str,
        dn_syntax_is_invalid: bool,
    ) -> Result<bool, AuthError> {
        let result = ldap
            .with_timeout(self.config.operation_timeout)
            .simple_bind(dn, password)
            .await
            .map_err(|e| upstream("bind", e))?;
        match result.rc {
            0 => Ok(true),
            RC_INVALID_CREDENTIALS => Ok(false),
            RC_INVALID_DN_SYNTAX if dn_syntax_is_invalid => Ok(false),
            _ => Err(unexpected("bind", &result)),
        }
    }

    /// Binds as the service account, if there is one.
    async fn bind_service(&self, ldap: &mut ldap3::Ldap) -> Result<(), AuthError> {
        if let Some((dn, password)) = &self.config.bind
            && !self.bind(ldap, dn, password, false).await?
        {
            return Err(upstream(
                "bind as the service account",
                "invalid credentials (check the bind DN and password)",
            ));
        }
        Ok(())
    }

    async fn search(
        &self,
        ldap: &mut ldap3::Ldap,
        base: &str,
        scope: Scope,
        filter: &str,
        attributes: Vec<&str>,
    ) -> Result<Vec<SearchEntry>, AuthError> {
        let (entries, _) = ldap
            .with_timeout(self.config.operation_timeout)
            .search(base, scope, filter, attributes)
            .await
            .map_err(|e| upstream("search", e))?
            .success()
            .map_err(|e| upstream("search", e))?;
        Ok(entries.into_iter().map(SearchEntry::construct).collect())
    }

    fn attributes(&self) -> Vec<&str> {
        match &self.config.mail_attribute {
            Some(mail) => vec![mail.as_str()],
            // No attribute at all ("1.1": RFC 4511 4.5.1.8).
            None => vec!["1.1"],
        }
    }

    fn mail_of(&self, entry: &SearchEntry) -> Option<String> {
        let attribute = self.config.mail_attribute.as_deref()?;
        entry
            .attrs
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
            .and_then(|(_, values)| values.first())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Every LDAP step of a login, on one connection: `Ok(None)` for invalid credentials.
    async fn directory_login(
        &self,
        ldap: &mut ldap3::Ldap,
        account: &str,
        password: &str,
    ) -> Result<Option<DirectoryUser>, AuthError> {
        let entry = match &self.config.user_dn {
            UserDn::Template(template) => {
                let dn = template.replace("{account}", &ldap3::dn_escape(account));
                if !self.bind(ldap, &dn, password, true).await? {
                    return Ok(None);
                }
                self.bind_service(ldap).await?;
                // The entry as the directory spells it (the subject of the identity).
                let mut entries = self
                    .search(ldap, &dn, Scope::Base, "(objectClass=*)", self.attributes())
                    .await?;
                match entries.len() {
                    1 => entries.remove(0),
                    n => {
                        return Err(upstream(
                            "read the user's entry after the bind",
                            format_args!("{n} entries"),
                        ));
                    }
                }
            }
            UserDn::Search { base, filter } => {
                self.bind_service(ldap).await?;
                let filter = filter.replace("{account}", &ldap3::ldap_escape(account));
                let mut entries = self
                    .search(ldap, base, Scope::Subtree, &filter, self.attributes())
                    .await?;
                if entries.len() != 1 {
                    if entries.len() > 1 {
                        tracing::warn!(
                            entries = entries.len(),
                            "LDAP user search: several entries answer one account; refused"
                        );
                    }
                    // The same round trip as a wrong password, and the same answer.
                    let nobody = format!("cn=auth-no-such-user,{base}");
                    self.bind(ldap, &nobody, password, true).await?;
                    return Ok(None);
                }
                let entry = entries.remove(0);
                if !self.bind(ldap, &entry.dn, password, false).await? {
                    return Ok(None);
                }
                self.bind_service(ldap).await?;
                entry
            }
        };
        let groups = match (&self.config.group_base, self.config.group_roles.is_empty()) {
            (Some(base), false) => {
                let filter = self
                    .config
                    .group_filter
                    .replace("{dn}", &ldap3::ldap_escape(entry.dn.as_str()))
                    .replace("{account}", &ldap3::ldap_escape(account));
                self.search(ldap, base, Scope::Subtree, &filter, vec!["cn"])
                    .await?
                    .into_iter()
                    .map(|g| {
                        let cns = g
                            .attrs
                            .iter()
                            .find(|(name, _)| name.eq_ignore_ascii_case("cn"))
                            .map(|(_, v)| v.iter().map(|cn| cn.to_ascii_lowercase()).collect())
                            .unwrap_or_default();
                        (g.dn.to_ascii_lowercase(), cns)
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok(Some(DirectoryUser {
            mail: self.mail_of(&entry),
            dn: entry.dn,
            groups,
        }))
    }

    /// The mapped roles `user`'s groups give.
    fn roles_given(&self, user: &DirectoryUser) -> Vec<&str> {
        let mut roles: Vec<&str> = self
            .config
            .group_roles
            .iter()
            .filter(|(group, _)| {
                user.groups
                    .iter()
                    .any(|(dn, cns)| dn == group || cns.iter().any(|cn| cn == group))
            })
            .map(|(_, role)| role.as_str())
            .collect();
        roles.sort_unstable();
        roles.dedup();
        roles
    }

    /// The database step, in one transaction: find or create the user, sync the roles,
    /// audit.
    async fn local_login<U: UserStore>(
        &self,
        conn: &mut DbConn,
        account: &str,
        found: &DirectoryUser,
    ) -> Result<U, AuthError> {
        let user = match identity::find(conn, PROVIDER, &found.dn).await? {
            Some(linked) => self.linked_user(conn, &linked, found).await?,
            None => {
                let new = ExternalUser {
                    provider: PROVIDER,
                    subject: &found.dn,
                    account,
                    email: found.mail.as_deref(),
                    email_verified: false,
                };
                let provisioned = identity::provision::<U>(conn, &new).await?;
                if provisioned.created {
                    let user = &provisioned.user;
                    audit::insert(
                        conn,
                        NewEvent::new(EventType::LdapUserCreated)
                            .user(user.id(), user.account())
                            .detail(json!({ "dn": found.dn })),
                    )
                    .await?;
                    tracing::info!(user_id = user.id(), "LDAP: local user created");
                    provisioned.user
                } else {
                    // Created by a concurrent first login meanwhile.
                    self.linked_user(conn, &provisioned.identity, found).await?
                }
            }
        };
        self.sync_roles(conn, &user, found).await?;
        Ok(user)
    }

    async fn linked_user<U: UserStore>(
        &self,
        conn: &mut DbConn,
        linked: &identity::Identity,
        found: &DirectoryUser,
    ) -> Result<U, AuthError> {
        let Some(user) = U::find_by_id(conn, linked.user_id).await? else {
            return Err(Error::NotFound("the user of an LDAP identity".into()).into());
        };
        if !user.is_active() {
            return Err(AuthError::Inactive);
        }
        identity::record_login(
            conn,
            linked.id,
            crate::session::now(),
            found.mail.as_deref(),
        )
        .await?;
        Ok(user)
    }

    /// Assigns the mapped roles the groups give and revokes those they no longer give, if
    /// the sync gave them ([`SYNC_SOURCE`]); a role given by hand, mapped or not, is left
    /// alone. A mapped role unknown locally is skipped (warned).
    async fn sync_roles<U: UserStore>(
        &self,
        conn: &mut DbConn,
        user: &U,
        found: &DirectoryUser,
    ) -> Result<(), AuthError> {
        if self.config.group_roles.is_empty() {
            return Ok(());
        }
        let given = self.roles_given(found);
        let (mut assigned, mut revoked, mut missing) = (Vec::new(), Vec::new(), Vec::new());
        for role in self.config.mapped_roles() {
            let give = given.contains(&role);
            let changed = manage::sync_role(conn, user.id(), role, SYNC_SOURCE, give)
                .await
                .map(|changed| {
                    let list = if give { &mut assigned } else { &mut revoked };
                    changed.then(|| list.push(role))
                });
            match changed {
                Ok(_) => {}
                Err(Error::NotFound(_)) => missing.push(role),
                Err(e) => return Err(e.into()),
            }
        }
        if !missing.is_empty() {
            tracing::warn!(
                roles = ?missing,
                "LDAP group mapping names roles that do not exist locally: skipped"
            );
        }
        if !assigned.is_empty() || !revoked.is_empty() {
            audit::insert(
                conn,
                NewEvent::new(EventType::LdapRolesSynced)
                    .user(user.id(), user.account())
                    .detail(json!({ "assigned": assigned, "revoked": revoked })),
            )
            .await?;
            tracing::info!(
                user_id = user.id(),
                ?assigned,
                ?revoked,
                "LDAP roles synced"
            );
        }
        Ok(())
    }
}

/// Whether `account` can be sent to the directory at all.
fn usable_account(account: &str) -> bool {
    !account.is_empty() && !account.chars().any(char::is_control)
}

impl<U: UserStore> AuthBackend<U> for LdapBackend {
    fn login<'a>(
        &'a self,
        db: &'a Database,
        req: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<U, AuthError>> {
        Box::pin(async move {
            // An empty password would be an unauthenticated bind (anonymous on many
            // servers): refused before any network I/O, as are accounts no entry can have.
            if req.password.is_empty() || !usable_account(&req.account) {
                return Err(AuthError::InvalidCredentials);
            }
            // Every LDAP call first, without a database connection.
            let mut ldap = self.connect().await?;
            let found = self
                .directory_login(&mut ldap, &req.account, &req.password)
                .await;
            // Best effort: the server ends the connection anyway when the driver drops it.
            let _ = tokio::time::timeout(self.config.operation_timeout, ldap.unbind()).await;
            let Some(found) = found? else {
                return Err(AuthError::InvalidCredentials);
            };
            let mut conn = db.conn().await?;
            conn.transaction(async |conn: &mut DbConn| {
                self.local_login::<U>(conn, &req.account, &found).await
            })
            .await
        })
    }

    fn register<'a>(
        &'a self,
        _db: &'a Database,
        _req: &'a RegisterRequest,
    ) -> BoxFuture<'a, Result<U, AuthError>> {
        Box::pin(async { Err(AuthError::Unsupported(PROVIDER.into())) })
    }

    /// Binds as the directory entry the user is linked to (the identity's subject is its
    /// DN), so that a user the directory created proves who they are again with their
    /// directory password.
    fn confirm_password<'a>(
        &'a self,
        db: &'a Database,
        user: &'a U,
        password: &'a str,
    ) -> BoxFuture<'a, Option<Result<bool, AuthError>>> {
        Box::pin(async move {
            let linked = async {
                let mut conn = db.conn().await?;
                let links = identity::list_for_user(&mut conn, user.id()).await?;
                Ok::<_, AuthError>(links.into_iter().find(|l| l.provider == PROVIDER))
            };
            let dn = match linked.await {
                Ok(Some(link)) => link.subject,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            if password.is_empty() {
                return Some(Ok(false));
            }
            let checked = async {
                let mut ldap = self.connect().await?;
                let bound = self.bind(&mut ldap, &dn, password, true).await;
                let _ = tokio::time::timeout(self.config.operation_timeout, ldap.unbind()).await;
                bound
            };
            Some(checked.await)
        })
    }

    /// Directory names match without regard to case or surrounding spaces, so each
    /// spelling of one account counts against one throttle key.
    fn throttle_name<'a>(&self, typed: &'a str) -> std::borrow::Cow<'a, str> {
        typed.trim().to_lowercase().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ldap_is_refused_unless_allowed() {
        let base =
            || LdapConfig::builder("ldap://127.0.0.1:389").user_dn_template("uid={account},dc=x");
        let err = base().build().unwrap_err();
        assert!(err.to_string().contains("StartTLS"), "{err}");
        assert!(base().allow_plain(true).build().is_ok());
    }

    #[test]
    fn one_way_to_find_the_dn() {
        let err = LdapConfig::builder("ldap://h")
            .allow_plain(true)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("template"), "{err}");
        let err = LdapConfig::builder("ldap://h")
            .allow_plain(true)
            .user_dn_template("uid=x,dc=x")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("{account}"), "{err}");
        let err = LdapConfig::builder("ldap://h")
            .allow_plain(true)
            .user_dn_template("uid={account},dc=x")
            .user_search("dc=x", "(uid={account})")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
    }

    #[test]
    fn debug_hides_the_bind_password() {
        let config = LdapConfig::builder("ldap://h")
            .allow_plain(true)
            .user_search("dc=x", "(uid={account})")
            .bind_credentials("cn=svc,dc=x", "hunter2-secret")
            .build()
            .unwrap();
        let shown = format!("{config:?} {:?}", LdapBackend::new(config.clone()));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("cn=svc,dc=x"), "{shown}");
    }

    #[test]
    fn accounts_with_control_characters_are_unusable() {
        assert!(usable_account("alice"));
        assert!(!usable_account(""));
        assert!(!usable_account("al\0ice"));
        assert!(!usable_account("alice\n"));
    }

    #[test]
    fn a_mapping_needs_a_group_base() {
        let err = LdapConfig::builder("ldaps://h")
            .user_dn_template("uid={account},dc=x")
            .group_role("admins", "admin")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("group search base"), "{err}");
    }
}
