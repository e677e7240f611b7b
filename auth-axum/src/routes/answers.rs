//! Small answers several routes share, typed so the OpenAPI document derives from them.

use serde::Serialize;

/// `{valid: true}`: a token is still usable.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TokenValid {
    /// Always `true` (an unusable token is a 400).
    pub(crate) valid: bool,
}

/// `{ended_sessions}`: how many sessions a password change ended.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct EndedSessions {
    /// Sessions ended (token logins included).
    pub(crate) ended_sessions: usize,
}
