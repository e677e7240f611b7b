//! CSRF protection (SPEC C8.5): the check, a pure function of the request's method, headers
//! and cookies, and the middleware that runs it on every request behind the auth layer.
//!
//! A cookie-authenticated request with an unsafe method passes when its `Origin` (or the
//! origin of its `Referer`) is the application's own or an allowed one, or when it carries a
//! valid double-submit token; otherwise it is refused with 403 `csrf` before any handler
//! runs. The check reads headers and cookies only: no database work. See
//! [`crate::CsrfConfig`] for the rules as users see them.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::FutureExt;
use futures_util::future::{self, Either, Map, Ready};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower::Service;
use tower_cookies::Cookies;
use url::Url;

use crate::config::{HttpConfig, OriginScheme};
use crate::response::{ApiError, ErrorCode};

/// The header a double-submit token travels in.
pub(crate) const TOKEN_HEADER: &str = "x-csrf-token";

/// The CSRF token bound to a session: base64url(SHA-256("auth-csrf:" || session token)).
/// Only someone who knows the session token can compute it, so a cookie planted by a
/// sibling domain (cookie tossing) never matches the session the browser actually holds.
pub(crate) fn token_for(session_token: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"auth-csrf:");
    hash.update(session_token.as_bytes());
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

/// The configuration, prepared once: allowed origins normalised, the own scheme decided.
#[derive(Debug, Clone)]
pub(crate) struct CsrfPolicy {
    enabled: bool,
    scheme: OriginScheme,
    /// ASCII serialisations (`scheme://host[:port]`, default port omitted).
    allowed: Vec<String>,
    session_cookie: String,
    csrf_cookie: String,
}

impl CsrfPolicy {
    /// The policy of `http`; allowed origins that are not origins are dropped with a warning.
    pub(crate) fn new(http: &HttpConfig) -> Self {
        let csrf = &http.csrf;
        let allowed = csrf
            .allowed_origins
            .iter()
            .filter_map(|o| {
                let parsed = exact_origin(o);
                if parsed.is_none() {
                    tracing::warn!(
                        origin = %o,
                        "CsrfConfig::allowed_origins: not an origin (scheme://host[:port]); ignored"
                    );
                }
                parsed
            })
            .collect();
        let scheme = csrf.scheme.unwrap_or(if http.cookie.secure {
            OriginScheme::Https
        } else {
            OriginScheme::Http
        });
        CsrfPolicy {
            enabled: csrf.enabled,
            scheme,
            allowed,
            session_cookie: http.cookie.session_name(),
            csrf_cookie: http.cookie.named(&csrf.cookie_name),
        }
    }

    /// Whether the check runs at all.
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }
}

/// Why a request was refused (the message of the 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Neither `Origin` nor `Referer`, and no valid token.
    NoOrigin,
    /// `Origin: null`, or an `Origin` / `Referer` that does not parse.
    BadOrigin,
    /// A well-formed origin that is neither ours nor allowed.
    ForeignOrigin,
    /// An `X-CSRF-Token` header that does not match (and no acceptable origin).
    BadToken,
}

impl Refusal {
    fn message(self) -> &'static str {
        match self {
            Refusal::NoOrigin => {
                "cross-site request check failed: no Origin or Referer and no valid X-CSRF-Token"
            }
            Refusal::BadOrigin => "cross-site request check failed: malformed or null origin",
            Refusal::ForeignOrigin => "cross-site request check failed: origin not allowed",
            Refusal::BadToken => "cross-site request check failed: invalid X-CSRF-Token",
        }
    }
}

/// What the check looks at, besides the headers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RequestCookies<'a> {
    /// The session cookie's value, when the request carries it.
    pub(crate) session: Option<&'a str>,
    /// The CSRF cookie's value, when the request carries it.
    pub(crate) csrf: Option<&'a str>,
}

/// The check. `authority` is the request URI's authority, used when there is no `Host`
/// header (HTTP/2 carries it there).
pub(crate) fn check(
    policy: &CsrfPolicy,
    method: &Method,
    headers: &HeaderMap,
    authority: Option<&str>,
    cookies: RequestCookies<'_>,
) -> Result<(), Refusal> {
    if !policy.enabled || is_safe(method) {
        return Ok(());
    }
    // No session cookie, no session to ride.
    let Some(session) = cookies.session else {
        return Ok(());
    };
    // The session cookie rides along whatever else the request carries: an
    // `Authorization` header (even a bearer one) exempts nothing while it is there.
    let origin_verdict = match source_origin(headers) {
        Source::None => Err(Refusal::NoOrigin),
        Source::Malformed => Err(Refusal::BadOrigin),
        Source::Origin(origin) => {
            if own_origin(policy, headers, authority).as_deref() == Some(origin.as_str())
                || policy.allowed.contains(&origin)
            {
                Ok(())
            } else {
                Err(Refusal::ForeignOrigin)
            }
        }
    };
    if origin_verdict.is_ok() {
        return origin_verdict;
    }
    match token_header(headers) {
        TokenHeader::Absent => origin_verdict,
        TokenHeader::Malformed => Err(Refusal::BadToken),
        TokenHeader::Value(sent) => {
            if token_matches(sent, cookies.csrf, session) {
                Ok(())
            } else {
                Err(Refusal::BadToken)
            }
        }
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

enum Source {
    None,
    Malformed,
    Origin(String),
}

/// The origin the request says it comes from: `Origin`, else the `Referer`'s origin.
fn source_origin(headers: &HeaderMap) -> Source {
    let single = |name| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => None,
            (Some(v), None) => Some(v.to_str().ok()),
            // Two values: nothing to trust.
            (Some(_), Some(_)) => Some(None),
        }
    };
    if let Some(origin) = single(header::ORIGIN) {
        // `null` (sandboxed frames, privacy redirects) fails to parse as a URL: refused.
        return match origin.and_then(exact_origin) {
            Some(o) => Source::Origin(o),
            None => Source::Malformed,
        };
    }
    if let Some(referer) = single(header::REFERER) {
        return match referer.and_then(url_origin) {
            Some(o) => Source::Origin(o),
            None => Source::Malformed,
        };
    }
    Source::None
}

/// The origin of an http(s) URL with a host, normalised (lower-case host, default port
/// dropped).
fn url_origin(s: &str) -> Option<String> {
    let url = Url::parse(s).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

/// `s` if it is an origin and nothing more (no credentials, path, query or fragment),
/// normalised.
pub(crate) fn exact_origin(s: &str) -> Option<String> {
    let url = Url::parse(s).ok()?;
    if !url.username().is_empty()
        || url.password().is_some()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return None;
    }
    url_origin(s)
}

/// Our own origin: the configured scheme with the `Host` header (or the URI's authority).
fn own_origin(policy: &CsrfPolicy, headers: &HeaderMap, authority: Option<&str>) -> Option<String> {
    let host = match headers.get(header::HOST) {
        Some(v) => v.to_str().ok()?,
        None => authority?,
    };
    // An authority is host[:port] only.
    if host.is_empty()
        || host.chars().any(|c| {
            matches!(c, '/' | '?' | '#' | '@' | '\\') || c.is_whitespace() || c.is_control()
        })
    {
        return None;
    }
    exact_origin(&format!("{}://{host}", policy.scheme.as_str()))
}

enum TokenHeader<'a> {
    Absent,
    Malformed,
    Value(&'a str),
}

fn token_header(headers: &HeaderMap) -> TokenHeader<'_> {
    match headers.get(TOKEN_HEADER) {
        None => TokenHeader::Absent,
        Some(v) => v
            .to_str()
            .map_or(TokenHeader::Malformed, TokenHeader::Value),
    }
}

/// Double submit, bound to the session: the header equals the cookie, and both are the
/// session's token. Compared in constant time.
fn token_matches(sent: &str, cookie: Option<&str>, session: &str) -> bool {
    let Some(cookie) = cookie else {
        return false;
    };
    let expected = token_for(session);
    let same_as_cookie: bool = sent.as_bytes().ct_eq(cookie.as_bytes()).into();
    let bound: bool = sent.as_bytes().ct_eq(expected.as_bytes()).into();
    same_as_cookie & bound
}

/// The middleware: runs [`check`] and answers 403 `csrf` on refusal. Sits inside the cookie
/// manager (it reads the same cookie jar the extractors do). Added by [`crate::Auth::layer`].
#[derive(Debug, Clone)]
pub struct CsrfService<S> {
    inner: S,
    policy: Arc<CsrfPolicy>,
}

impl<S> CsrfService<S> {
    pub(crate) fn new(inner: S, policy: Arc<CsrfPolicy>) -> Self {
        CsrfService { inner, policy }
    }

    fn verdict<B>(&self, req: &Request<B>) -> Result<(), Refusal> {
        if !self.policy.enabled || is_safe(req.method()) {
            return Ok(());
        }
        let jar = req.extensions().get::<Cookies>();
        let session = jar.and_then(|j| j.get(&self.policy.session_cookie));
        let csrf = jar.and_then(|j| j.get(&self.policy.csrf_cookie));
        check(
            &self.policy,
            req.method(),
            req.headers(),
            req.uri().authority().map(|a| a.as_str()),
            RequestCookies {
                session: session.as_ref().map(|c| c.value()),
                csrf: csrf.as_ref().map(|c| c.value()),
            },
        )
    }
}

/// The answer of an inner service, as a [`Response`].
type IntoResponseFn<R, E> = fn(Result<R, E>) -> Result<Response, E>;

/// The future of [`CsrfService`]: the refusal, or the inner service's answer. A plain enum,
/// not a box: the layer costs no allocation per request.
type CsrfFuture<F, R, E> = Either<Ready<Result<Response, E>>, Map<F, IntoResponseFn<R, E>>>;

impl<S, B> Service<Request<B>> for CsrfService<S>
where
    S: Service<Request<B>>,
    S::Response: IntoResponse,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CsrfFuture<S::Future, S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if let Err(refusal) = self.verdict(&req) {
            let refused = ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Csrf, refusal.message());
            return Either::Left(future::ready(Ok(refused.into_response())));
        }
        let into_response: IntoResponseFn<S::Response, S::Error> =
            |answer| answer.map(IntoResponse::into_response);
        Either::Right(self.inner.call(req).map(into_response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CookieConfig, CsrfConfig};
    use axum::http::HeaderValue;

    const SESSION: &str = "session-token-of-the-victim";

    fn policy(f: impl FnOnce(&mut HttpConfig)) -> CsrfPolicy {
        let mut http = HttpConfig {
            cookie: CookieConfig::insecure_dev(),
            ..HttpConfig::default()
        };
        f(&mut http);
        CsrfPolicy::new(&http)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn with_session() -> RequestCookies<'static> {
        RequestCookies {
            session: Some(SESSION),
            csrf: None,
        }
    }

    fn post(p: &CsrfPolicy, pairs: &[(&'static str, &str)]) -> Result<(), Refusal> {
        check(p, &Method::POST, &headers(pairs), None, with_session())
    }

    #[test]
    fn the_token_is_bound_to_the_session() {
        let token = token_for(SESSION);
        assert_eq!(token.len(), 43, "32 bytes, base64url without padding");
        assert_eq!(token, token_for(SESSION));
        assert_ne!(token, token_for("another-session"));
        assert!(!token.contains(['+', '/', '=']));
    }

    #[test]
    fn same_origin_passes_and_others_do_not() {
        let p = policy(|_| {});
        let host = ("host", "localhost:3000");
        assert_eq!(
            post(&p, &[host, ("origin", "http://localhost:3000")]),
            Ok(())
        );
        assert_eq!(
            post(&p, &[host, ("origin", "HTTP://LOCALHOST:3000")]),
            Ok(()),
            "scheme and host compare case-insensitively"
        );
        assert_eq!(
            post(&p, &[host, ("origin", "http://evil.example")]),
            Err(Refusal::ForeignOrigin)
        );
        assert_eq!(
            post(&p, &[host, ("origin", "https://localhost:3000")]),
            Err(Refusal::ForeignOrigin),
            "scheme mismatch"
        );
        assert_eq!(
            post(&p, &[host, ("origin", "http://localhost:3001")]),
            Err(Refusal::ForeignOrigin),
            "port mismatch"
        );
        assert_eq!(
            post(
                &p,
                &[("host", "localhost"), ("origin", "http://localhost:80")]
            ),
            Ok(()),
            "a default port is no port"
        );
        assert_eq!(
            post(
                &p,
                &[("host", "localhost:80"), ("origin", "http://localhost")]
            ),
            Ok(())
        );
    }

    #[test]
    fn the_own_scheme_follows_the_cookie_unless_configured() {
        let secure = policy(|h| h.cookie.secure = true);
        let host = ("host", "app.example.com");
        assert_eq!(
            post(&secure, &[host, ("origin", "https://app.example.com")]),
            Ok(())
        );
        assert_eq!(
            post(&secure, &[host, ("origin", "http://app.example.com")]),
            Err(Refusal::ForeignOrigin)
        );
        let forced = policy(|h| h.csrf.scheme = Some(OriginScheme::Https));
        assert_eq!(
            post(&forced, &[host, ("origin", "https://app.example.com")]),
            Ok(())
        );
        assert_eq!(
            post(&forced, &[host, ("origin", "http://app.example.com")]),
            Err(Refusal::ForeignOrigin)
        );
    }

    #[test]
    fn the_uri_authority_stands_in_for_a_missing_host() {
        let p = policy(|_| {});
        let h = headers(&[("origin", "http://localhost:3000")]);
        assert_eq!(
            check(
                &p,
                &Method::POST,
                &h,
                Some("localhost:3000"),
                with_session()
            ),
            Ok(())
        );
        assert_eq!(
            check(&p, &Method::POST, &h, None, with_session()),
            Err(Refusal::ForeignOrigin)
        );
    }

    #[test]
    fn referer_counts_only_without_origin() {
        let p = policy(|_| {});
        let host = ("host", "localhost");
        assert_eq!(
            post(&p, &[host, ("referer", "http://localhost/page?x=1#y")]),
            Ok(())
        );
        assert_eq!(
            post(&p, &[host, ("referer", "http://evil.example/page")]),
            Err(Refusal::ForeignOrigin)
        );
        assert_eq!(
            post(
                &p,
                &[
                    host,
                    ("origin", "http://evil.example"),
                    ("referer", "http://localhost/")
                ]
            ),
            Err(Refusal::ForeignOrigin),
            "Origin wins"
        );
        assert_eq!(post(&p, &[host]), Err(Refusal::NoOrigin));
    }

    #[test]
    fn null_and_malformed_origins_are_refused() {
        let p = policy(|_| {});
        let host = ("host", "localhost");
        for bad in [
            "null",
            "",
            "localhost",
            "http://",
            "http://localhost/path",
            "http://user@localhost",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://[::1",
            "http://localhost:99999",
        ] {
            assert_eq!(
                post(&p, &[host, ("origin", bad)]),
                Err(Refusal::BadOrigin),
                "{bad:?}"
            );
        }
        for bad in ["not a url", "null", "ftp://localhost/"] {
            assert_eq!(
                post(&p, &[host, ("referer", bad)]),
                Err(Refusal::BadOrigin),
                "{bad:?}"
            );
        }
        let mut h = headers(&[host]);
        h.insert(
            "origin",
            HeaderValue::from_bytes(b"http://l\xffcalhost").unwrap(),
        );
        assert_eq!(
            check(&p, &Method::POST, &h, None, with_session()),
            Err(Refusal::BadOrigin),
            "not UTF-8"
        );
        assert_eq!(
            post(
                &p,
                &[
                    host,
                    ("origin", "http://localhost"),
                    ("origin", "http://localhost")
                ]
            ),
            Err(Refusal::BadOrigin),
            "two Origin headers"
        );
    }

    #[test]
    fn a_malformed_host_is_never_our_origin() {
        let p = policy(|_| {});
        for host in ["evil.example/ x", "a@localhost", "", "local host"] {
            assert_eq!(
                post(&p, &[("host", host), ("origin", "http://localhost")]),
                Err(Refusal::ForeignOrigin),
                "{host:?}"
            );
        }
    }

    #[test]
    fn allowed_origins_are_normalised() {
        let p = policy(|h| {
            h.csrf.allowed_origins = vec![
                "https://App.Example.com:443".into(),
                "http://admin.example.com:8080/".into(),
                "not an origin".into(),
                "https://x.example.com/path".into(),
            ]
        });
        assert_eq!(
            p.allowed,
            ["https://app.example.com", "http://admin.example.com:8080"]
        );
        let host = ("host", "api.example.com");
        assert_eq!(
            post(&p, &[host, ("origin", "https://app.example.com")]),
            Ok(())
        );
        assert_eq!(
            post(&p, &[host, ("origin", "http://admin.example.com:8080")]),
            Ok(())
        );
        assert_eq!(
            post(&p, &[host, ("origin", "http://app.example.com")]),
            Err(Refusal::ForeignOrigin)
        );
        assert_eq!(
            post(&p, &[host, ("origin", "https://x.example.com")]),
            Err(Refusal::ForeignOrigin)
        );
    }

    #[test]
    fn the_double_submit_token_passes_when_bound_to_the_session() {
        let p = policy(|_| {});
        let token = token_for(SESSION);
        let both = RequestCookies {
            session: Some(SESSION),
            csrf: Some(&token),
        };
        let h = headers(&[("host", "localhost"), (TOKEN_HEADER, &token)]);
        assert_eq!(check(&p, &Method::POST, &h, None, both), Ok(()));
        assert_eq!(
            check(&p, &Method::DELETE, &h, None, both),
            Ok(()),
            "any unsafe method"
        );
        // Wrong header.
        let wrong = headers(&[(TOKEN_HEADER, "nope")]);
        assert_eq!(
            check(&p, &Method::POST, &wrong, None, both),
            Err(Refusal::BadToken)
        );
        // Header without the cookie.
        assert_eq!(
            check(&p, &Method::POST, &h, None, with_session()),
            Err(Refusal::BadToken)
        );
        // A planted cookie with the matching header, but not this session's token.
        let planted = token_for("the-attackers-session");
        let tossed = RequestCookies {
            session: Some(SESSION),
            csrf: Some(&planted),
        };
        let h = headers(&[(TOKEN_HEADER, &planted)]);
        assert_eq!(
            check(&p, &Method::POST, &h, None, tossed),
            Err(Refusal::BadToken)
        );
        // A valid token passes even with a foreign Origin (either way suffices).
        let h = headers(&[("origin", "http://evil.example"), (TOKEN_HEADER, &token)]);
        assert_eq!(check(&p, &Method::POST, &h, None, both), Ok(()));
    }

    #[test]
    fn exemptions() {
        let p = policy(|_| {});
        let foreign = headers(&[("host", "localhost"), ("origin", "http://evil.example")]);
        for safe in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert_eq!(
                check(&p, &safe, &foreign, None, with_session()),
                Ok(()),
                "{safe}"
            );
        }
        for unsafe_method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert_eq!(
                check(&p, &unsafe_method, &foreign, None, with_session()),
                Err(Refusal::ForeignOrigin),
                "{unsafe_method}"
            );
        }
        assert_eq!(
            check(&p, &Method::POST, &foreign, None, RequestCookies::default()),
            Ok(()),
            "no session cookie"
        );
        for authorization in ["Bearer abc", "bearer abc", "Basic YTpi"] {
            let mut h = foreign.clone();
            h.insert("authorization", HeaderValue::from_static(authorization));
            assert_eq!(
                check(&p, &Method::POST, &h, None, with_session()),
                Err(Refusal::ForeignOrigin),
                "{authorization} beside the session cookie exempts nothing"
            );
            assert_eq!(
                check(&p, &Method::POST, &h, None, RequestCookies::default()),
                Ok(()),
                "{authorization} alone: no session to ride"
            );
        }
        let off = policy(|h| {
            h.csrf = CsrfConfig {
                enabled: false,
                ..CsrfConfig::default()
            }
        });
        assert!(!off.enabled());
        assert_eq!(
            check(&off, &Method::POST, &foreign, None, with_session()),
            Ok(())
        );
    }
}
