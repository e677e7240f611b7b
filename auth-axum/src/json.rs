//! `JsonBody<T>`: axum's `Json` with every rejection turned into the error envelope.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::response::{ApiError, ErrorCode};

/// A JSON request body. Malformed JSON is 400 `malformed_json`; a wrong or missing field is
/// 422 `invalid_input` naming it; a missing `Content-Type: application/json` is 415; a body
/// over the limit is 413 `payload_too_large`.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(map_rejection(rejection)),
        }
    }
}

fn map_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::invalid(cut(&e.body_text())),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedJson,
            "the body is not valid JSON",
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "expected Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                "the body is too large",
            )
        }
        other => ApiError::new(
            other.status(),
            ErrorCode::InvalidInput,
            "the body could not be read",
        ),
    }
}

/// serde's messages quote the offending input; keep them short.
fn cut(message: &str) -> String {
    let message = message
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(message);
    message.chars().take(200).collect()
}
