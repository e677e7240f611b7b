//! The JSON envelope every route answers with, and the stable error codes.
//!
//! Success: `{"success": true, "data": ..., "message": "..."}`.
//! Failure: `{"success": false, "code": "<stable_code>", "message": "..."}`; the code is
//! what clients should branch on, the message is for people and may change. A
//! `weak_password` failure adds `"rule": "<rule>"` (`min_length`, `max_length`, `common`,
//! `contains_account`), equally stable.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A successful answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Envelope<T: Serialize> {
    /// Always `true`.
    pub success: bool,
    /// The payload.
    pub data: T,
    /// A short human-readable message.
    pub message: String,
}

/// `200` with `data`.
pub fn ok<T: Serialize>(data: T, message: &str) -> Response {
    with_status(StatusCode::OK, data, message)
}

/// `status` with `data`.
pub fn with_status<T: Serialize>(status: StatusCode, data: T, message: &str) -> Response {
    (
        status,
        Json(Envelope {
            success: true,
            data,
            message: message.to_owned(),
        }),
    )
        .into_response()
}

pub use auth_core::error::ErrorCode;

/// The `Retry-After` of a 503 `busy`: a hash takes well under a second, so the queue
/// moves on within one.
pub use auth_core::error::BUSY_RETRY_AFTER_SECS;

/// A failure answer. Build with [`ApiError::new`]; convert from core errors with `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: ErrorCode,
    /// Human-readable message, safe to show.
    pub message: String,
    /// Seconds to wait before retrying (429, 503 `busy` and `unavailable`): sent as
    /// `Retry-After` and in the body.
    pub retry_after: Option<u64>,
    /// The broken rule, for codes that have one (`weak_password`); sent as `rule`.
    pub rule: Option<&'static str>,
}

/// The error envelope: `{success: false, code, message}`, with `retry_after` (429, 503
/// `busy`) and `rule` (`weak_password`) when they apply.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(crate) struct ErrorBody<'a> {
    /// Always `false`.
    success: bool,
    /// What went wrong; clients branch on it.
    code: ErrorCode,
    /// For people; may change.
    message: &'a str,
    /// Seconds to wait (also the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    /// The password rule broken: `min_length`, `max_length`, `common`, `contains_account`.
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'static str>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            rule: None,
        }
    }

    /// The same error naming the broken `rule` (sent as `"rule"` in the body).
    pub fn with_rule(mut self, rule: &'static str) -> Self {
        self.rule = Some(rule);
        self
    }

    /// 422 `weak_password`: the violation's message and rule.
    pub fn weak_password(violation: &auth_core::password_policy::PolicyViolation) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::WeakPassword,
            violation.to_string(),
        )
        .with_rule(violation.rule())
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "authentication required",
        )
    }

    /// 422 `invalid_input` naming the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidInput,
            message,
        )
    }

    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("{what} not found"),
        )
    }

    /// 500 `internal`; the cause is logged, never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            success: false,
            code: self.code,
            message: &self.message,
            retry_after: self.retry_after,
            rule: self.rule,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<auth_core::Error> for ApiError {
    fn from(e: auth_core::Error) -> Self {
        if let auth_core::Error::Unavailable(cause) = &e {
            tracing::error!(error = %cause, "database unavailable");
        }
        described(&e, e.answer(), e.retry_after())
    }
}

/// The answer `answer` of the error `e`, its `Display` as the message; an internal error
/// is logged with its causes and answers only "internal error".
fn described(
    e: &dyn std::error::Error,
    answer: auth_core::error::Answer,
    retry_after: Option<u64>,
) -> ApiError {
    if answer.is_internal() {
        return ApiError::internal(&DisplayChain(e));
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut api = ApiError::new(status, answer.code, e.to_string());
    api.retry_after = retry_after;
    api
}

/// Displays an error with its sources, for logs.
struct DisplayChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

impl From<auth_core::backend::AuthError> for ApiError {
    fn from(e: auth_core::backend::AuthError) -> Self {
        use auth_core::account_token::TokenError as T;
        use auth_core::backend::AuthError as A;
        match e {
            A::Storage(e) | A::Token(T::Storage(e)) => e.into(),
            A::WeakPassword(violation) => ApiError::weak_password(&violation),
            e => {
                if let A::Upstream { service, source } = &e {
                    tracing::warn!(service = %service, error = %source, "upstream unavailable");
                }
                described(&e, e.answer(), e.retry_after())
            }
        }
    }
}
