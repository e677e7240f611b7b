//! Login through OpenID Connect and OAuth2 providers (authorization-code flow with PKCE).
//!
//! - [`state`]: the authorizations under way, stored server-side under the hash of their
//!   `state` and bound to the browser that started them (single use, minutes long).
//! - [`check_next`]: the open-redirect guard of `next`.
//! - With the `oauth` feature: [`ProviderConfig`] (an OpenID Connect issuer, or a plain
//!   OAuth2 provider with a user-info mapping; [`ProviderConfig::github`] is a preset),
//!   [`OAuthConfig`], and the upstream calls (discovery, token exchange, ID-token
//!   verification by the `openidconnect` crate, user info), internal to the service.
//!
//! The service's side ([`crate::service::AuthService::oauth_start`],
//! [`crate::service::AuthService::oauth_finish`]) turns a verified identity into a local
//! user (see [`crate::identity`]) and a session, with the MFA step for users who have it.

pub use crate::error::OAuthError;

#[cfg(feature = "oauth")]
mod config;
#[cfg(feature = "oauth")]
pub(crate) mod upstream;

pub mod state;

#[cfg(feature = "oauth")]
pub use config::{OAuthConfig, ProviderConfig, ProviderKind, UserInfoMapping};

/// Longest `next` accepted.
pub const MAX_NEXT_CHARS: usize = 2000;

/// `next` if it is a local path: it starts with one `/` (not `//` or `/\`, which browsers
/// read as another host), holds no backslash, no control character and no scheme, and is
/// at most [`MAX_NEXT_CHARS`] long. `None` (absent or empty) is `/`.
pub fn check_next(next: Option<&str>) -> Result<String, OAuthError> {
    let next = match next {
        None | Some("") => return Ok("/".to_owned()),
        Some(n) => n,
    };
    let mut chars = next.chars();
    let local = chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && next.chars().count() <= MAX_NEXT_CHARS;
    if local {
        Ok(next.to_owned())
    } else {
        Err(OAuthError::InvalidNext)
    }
}

/// A provider's OAuth2 error code as shown: only `[a-z0-9_]`, at most 64 characters.
#[cfg_attr(not(feature = "oauth"), allow(dead_code))]
pub(crate) fn error_code(code: &str) -> String {
    let cleaned: String = code
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "error".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_local() {
        assert_eq!(check_next(None).unwrap(), "/");
        assert_eq!(check_next(Some("")).unwrap(), "/");
        assert_eq!(check_next(Some("/app?x=1#y")).unwrap(), "/app?x=1#y");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil.example",
            "/a\\b",
            "/a\nb",
            "/a b",
            "javascript:alert(1)",
        ] {
            assert_eq!(check_next(Some(bad)), Err(OAuthError::InvalidNext), "{bad}");
        }
        assert!(check_next(Some(&format!("/{}", "a".repeat(MAX_NEXT_CHARS)))).is_err());
    }

    #[test]
    fn provider_codes_are_reduced() {
        assert_eq!(error_code("access_denied"), "access_denied");
        assert_eq!(error_code("<script>"), "script");
        assert_eq!(error_code("!!"), "error");
    }
}
