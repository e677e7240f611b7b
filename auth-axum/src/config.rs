//! HTTP-side settings: the session cookie and request limits.

use std::time::Duration;

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
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "auth_session".into(),
            secure: true,
            domain: None,
        }
    }
}

impl CookieConfig {
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
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            cookie: CookieConfig::default(),
            body_limit: 64 * 1024,
            cookie_max_age: None,
            client_ip: ClientIpSource::default(),
            registration: RegistrationMode::default(),
        }
    }
}
