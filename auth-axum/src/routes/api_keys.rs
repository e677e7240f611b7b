//! A user's API keys: create (the key is shown once), list, revoke. A logged-in session is
//! needed for each: an API key cannot make, see or end keys (so a limited key cannot mint
//! an unlimited one).

use auth_core::UserStore;
use auth_core::api_key;
use auth_core::service::{ApiKeyRequest, CreatedApiKey};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::extract::{Client, CurrentUser};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::openapi::model::refs::Nothing;
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// `POST api-keys` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApiKeyCreate)]
pub(crate) struct CreateBody {
    /// A label, 1 to 100 characters.
    name: String,
    /// The permission codes the key is limited to (each held by the user); all of the
    /// user's when absent.
    permissions: Option<Vec<String>>,
    /// Days until the key stops working, 1 to 3650; never when absent.
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<i64>,
}

/// The creation answer: the stored record and, this once, the key.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiKeyCreated)]
pub(crate) struct Created {
    /// The key: shown only in this answer.
    key: String,
    #[serde(flatten)]
    record: api_key::ApiKey,
}

/// Creates an API key; the key itself is shown only in this answer.
#[utoipa::path(
    post,
    path = "/api-keys",
    tag = "api-keys",
    request_body = CreateBody,
    responses(
        (status = 201, description = "Created.", body = inline(Envelope<Created>)),
        (status = 403, description = "A listed permission the user does not hold (`forbidden`), or an API key acting (`session_required`).", body = ErrorBody),
        (status = 422, description = "Invalid input (`invalid_input`).", body = ErrorBody),
    )
)]
pub(crate) async fn create<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    let request = ApiKeyRequest {
        name: body.name,
        permissions: body.permissions,
        expires_in_days: body.expires_in_days,
    };
    let CreatedApiKey { key, record } = auth
        .service()
        .create_api_key(auth.db(), &current.actor(client), request)
        .await?;
    Ok(response::with_status(
        StatusCode::CREATED,
        Created { key, record },
        "api key created",
    ))
}

/// The user's API keys (never the key itself).
#[utoipa::path(
    get,
    path = "/api-keys",
    tag = "api-keys",
    responses((status = 200, description = "The keys.", body = inline(Envelope<Vec<api_key::ApiKey>>)))
)]
pub(crate) async fn list<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
) -> Result<Response, ApiError> {
    let keys = auth
        .service()
        .api_keys(auth.db(), &current.actor(client))
        .await?;
    Ok(response::ok(keys, "api keys"))
}

/// Revokes one of the user's API keys.
#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    tag = "api-keys",
    params(("id" = i64, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "Revoked.", body = inline(Envelope<Nothing>)),
        (status = 404, description = "Not one of the user's keys (`not_found`).", body = ErrorBody),
    )
)]
pub(crate) async fn revoke<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("api key"))?;
    auth.service()
        .revoke_api_key(auth.db(), &current.actor(client), id)
        .await?;
    Ok(response::ok(Value::Null, "api key revoked"))
}
