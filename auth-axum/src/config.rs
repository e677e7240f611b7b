//! HTTP-side settings: the session cookie, request limits and CSRF protection.

use std::time::Duration;

pub use crate::session_cache::SessionCacheConfig;

/// Settings of the session cookie. The cookie is always `HttpOnly`, `SameSite=Lax` and
/// `Path=/`.
#[derive(Debug, Clone)]
pub struct CookieConfig {
    /// Cookie name. Default `auth_session`.
    pub name: String,
    /// `Secure` attribute. On by default; turn off only for plain-HTTP development
    /// ([`CookieConfig::insecure_dev`]).
    pub secure: bool,
    /// `Domain` attribute; `None` (the default) binds the cookie to the exact host.
    pub domain: Option<String>,
    /// Whether the cookies (session, CSRF, the OAuth binding, the passkey ceremony) carry
    /// the `__Host-` prefix when they can: with `Secure` on and no `Domain`, so by default
    /// in production. A browser then takes such a cookie only from this exact host over
    /// HTTPS, with `Path=/`: no sibling domain can plant or overwrite it. Default `true`.
    /// Turning it on (or upgrading to it) renames the cookies: everyone signs in again once.
    pub host_prefix: bool,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "auth_session".into(),
            secure: true,
            domain: None,
            host_prefix: true,
        }
    }
}

impl CookieConfig {
    /// The name a cookie called `base` goes by: `__Host-<base>` with the prefix on,
    /// `Secure` on and no `Domain`; `base` otherwise.
    pub fn named(&self, base: &str) -> String {
        if self.host_prefix && self.secure && self.domain.is_none() {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// The session cookie's name ([`CookieConfig::named`] of [`CookieConfig::name`]).
    pub fn session_name(&self) -> String {
        self.named(&self.name)
    }

    /// The defaults with `Secure` off, for development over plain HTTP on localhost.
    pub fn insecure_dev() -> Self {
        CookieConfig {
            secure: false,
            ..CookieConfig::default()
        }
    }
}

/// Where the client IP (throttling, sessions, audit log) comes from.
#[derive(Debug, Clone, Default)]
pub enum ClientIpSource {
    /// The TCP peer address. The default. Needs the server started with
    /// `into_make_service_with_connect_info::<SocketAddr>()`; without it the IP is unknown
    /// (and only the per-account throttle applies).
    #[default]
    Peer,
    /// A header that your reverse proxies set, such as `X-Forwarded-For`: a comma-separated
    /// list to which each proxy appends the address it received the request from. The
    /// client is the entry `trusted_hops` places from the right (1 when one proxy of yours
    /// sits in front). Entries further left are the client's own claims and are never
    /// used. Configure this only behind proxies that set the header: otherwise any client
    /// can pick its IP. When the header is missing or malformed, the peer address is used.
    Header {
        /// Header name, e.g. `x-forwarded-for`.
        name: axum::http::HeaderName,
        /// How many proxies of yours append to the header (at least 1).
        trusted_hops: usize,
    },
}

/// What `POST register` tells the client about existing accounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RegistrationMode {
    /// The default: 201 with the new user, or 409 `conflict` when the account name or
    /// e-mail address is taken. This reveals which accounts exist (as any sign-up form that
    /// says "name taken" does); throttle or CAPTCHA the route if that matters.
    #[default]
    Open,
    /// Reveals nothing: every acceptable request gets the same 202 answer with no data,
    /// whether it created a user or hit a taken name or address. The new user gets a
    /// verification mail; the owner of a taken account gets a notice (both need
    /// [`auth_core::account_mail::AccountMail`]). Input errors (a malformed field, the
    /// password policy) are still reported: they do not depend on other accounts.
    Private,
}

/// HTTP settings of the auth router and layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Session cookie.
    pub cookie: CookieConfig,
    /// Largest request body the auth routes accept (default 64 KiB); larger is a 413.
    pub body_limit: usize,
    /// Cookie `Max-Age`; normally the session's absolute lifetime.
    pub cookie_max_age: Option<Duration>,
    /// Where the client IP comes from (default: the TCP peer).
    pub client_ip: ClientIpSource,
    /// What registration reveals (default [`RegistrationMode::Open`]).
    pub registration: RegistrationMode,
    /// CSRF protection of cookie-authenticated requests (on by default).
    pub csrf: CsrfConfig,
    /// The resolved-session cache (on by default: a warm authenticated request reads no
    /// database; other instances' changes are seen within its sync interval).
    pub session_cache: SessionCacheConfig,
    /// How often the expired rows are deleted in the background
    /// ([`auth_core::service::AuthService::purge_expired`]: sessions, tokens, OAuth logins
    /// and passkey ceremonies under way, ...), starting one interval after
    /// [`crate::Auth::layer`] is first called in a tokio runtime. Default 10 minutes;
    /// `Duration::ZERO` leaves it to the `cleanup` command.
    pub purge_interval: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            cookie: CookieConfig::default(),
            body_limit: 64 * 1024,
            cookie_max_age: None,
            client_ip: ClientIpSource::default(),
            registration: RegistrationMode::default(),
            csrf: CsrfConfig::default(),
            session_cache: SessionCacheConfig::default(),
            purge_interval: Duration::from_secs(600),
        }
    }
}

/// The scheme of the application's own origin, for the CSRF origin check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginScheme {
    /// `http://`
    Http,
    /// `https://`
    Https,
}

impl OriginScheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            OriginScheme::Http => "http",
            OriginScheme::Https => "https",
        }
    }
}

/// CSRF protection (on by default).
///
/// A request that carries the session cookie and uses an unsafe method (anything but `GET`,
/// `HEAD`, `OPTIONS` and `TRACE`) is refused with 403 `csrf` unless
/// - its `Origin` header (or, without one, the origin of its `Referer`) is the
///   application's own origin (the [`scheme`](CsrfConfig::scheme) with the host and port of
///   the request's `Host` header) or one of [`allowed_origins`](CsrfConfig::allowed_origins);
///   `Origin: null` and malformed values are refused; or
/// - its `X-CSRF-Token` header equals the CSRF cookie ([`cookie_name`](CsrfConfig::cookie_name)),
///   whose value is bound to the session: set at login (and returned there as `csrf_token`),
///   it is valid only with the session it was issued for.
///
/// Requests without the session cookie have no session to ride and are not checked (an API
/// client authenticating with `Authorization: Bearer ...` alone passes). A request that
/// carries the session cookie is checked whatever other credentials it carries: a
/// cross-site attacker can add a junk bearer header to a cookie-authenticated request.
#[derive(Debug, Clone)]
pub struct CsrfConfig {
    /// Whether the check runs. Default `true`.
    pub enabled: bool,
    /// Other origins allowed to send unsafe requests, exactly as browsers send them in
    /// `Origin`: `scheme://host[:port]`, e.g. `https://app.example.com` (a default port is
    /// ignored: `https://app.example.com:443` is the same). Entries that are not such an
    /// origin are ignored with a warning at start-up.
    pub allowed_origins: Vec<String>,
    /// The scheme of the application's own origin. The server usually sits behind TLS
    /// termination, so the request itself cannot tell; `None` (the default) means `https`
    /// when the session cookie is `Secure` ([`CookieConfig::secure`], the default) and
    /// `http` otherwise.
    pub scheme: Option<OriginScheme>,
    /// Name of the CSRF token cookie (not `HttpOnly`: scripts read it and echo it in the
    /// `X-CSRF-Token` header). Default `auth_csrf`.
    pub cookie_name: String,
}

impl Default for CsrfConfig {
    fn default() -> Self {
        CsrfConfig {
            enabled: true,
            allowed_origins: Vec::new(),
            scheme: None,
            cookie_name: "auth_csrf".into(),
        }
    }
}
