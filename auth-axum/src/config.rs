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

/// HTTP settings of the auth router and layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Session cookie.
    pub cookie: CookieConfig,
    /// Largest request body the auth routes accept (default 64 KiB); larger is a 413.
    pub body_limit: usize,
    /// Cookie `Max-Age`; normally the session's absolute lifetime.
    pub cookie_max_age: Option<Duration>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            cookie: CookieConfig::default(),
            body_limit: 64 * 1024,
            cookie_max_age: None,
        }
    }
}
