//! Where a presented credential came from. The credential itself
//! ([`auth_core::Credential`]) is auth-core's.

use auth_core::Credential;

/// Where a presented credential came from: a digest found under one kind never stands
/// for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Cookie,
    ApiKey,
    Jwt,
}

/// The kind `credential` was presented as.
pub(crate) fn kind(credential: &Credential) -> Kind {
    match credential {
        Credential::Session(_) => Kind::Cookie,
        Credential::ApiKey(_) => Kind::ApiKey,
        Credential::Jwt(_) => Kind::Jwt,
    }
}
