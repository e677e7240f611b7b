//! A user's API keys: create (the key is shown once), list, revoke. A logged-in session is
//! needed for each: an API key cannot make, see or end keys (so a limited key cannot mint
//! an unlimited one).

use auth_core::UserStore;
use auth_core::api_key::{self, NewApiKey};
use auth_core::audit::EventType;
use auth_core::rbac::manage;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::extract::{Client, CurrentUser};
use crate::json::JsonBody;
use crate::layer::Auth;
use crate::openapi::model::refs::Nothing;
use crate::response::{self, ApiError, Envelope, ErrorBody, ErrorCode};

/// The longest name.
const MAX_NAME: usize = 100;
/// The most permissions a key may list.
const MAX_PERMISSIONS: usize = 200;

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
        (status = 403, description = "A listed permission the user does not hold (`forbidden`).", body = ErrorBody),
        (status = 422, description = "Invalid input (`invalid_input`).", body = ErrorBody),
    )
)]
pub(crate) async fn create<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    let client = current.acting(client);
    current.require_session()?;
    let user = &current.user;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ApiError::invalid(format!(
            "name: 1 to {MAX_NAME} characters"
        )));
    }
    let expires_at = match body.expires_in_days {
        None => None,
        Some(days @ 1..=3650) => Some(auth_core::session::now() + time::Duration::days(days)),
        Some(_) => return Err(ApiError::invalid("expires_in_days: 1 to 3650")),
    };
    let mut permissions = body.permissions;
    if let Some(codes) = &mut permissions {
        codes.sort();
        codes.dedup();
        if codes.len() > MAX_PERMISSIONS {
            return Err(ApiError::invalid(format!(
                "permissions: at most {MAX_PERMISSIONS}"
            )));
        }
        check_held(&auth, user, codes).await?;
    }
    let mut conn = auth.db().conn().await?;
    let (key, record) = api_key::create(
        &mut conn,
        NewApiKey {
            user_id: user.id(),
            name,
            permissions: permissions.as_deref(),
            expires_at,
        },
    )
    .await?;
    let detail = json!({
        "key_id": record.id,
        "name": record.name,
        "prefix": record.prefix,
        "permissions": record.permissions,
    });
    auth.service()
        .audit_user(&mut conn, &client, EventType::ApiKeyCreated, user, detail)
        .await?;
    Ok(response::with_status(
        StatusCode::CREATED,
        Created { key, record },
        "api key created",
    ))
}

/// 403 unless `user` holds every code in `codes` (a superuser holds every permission that
/// exists; an unknown code is held by nobody).
async fn check_held<U: UserStore + Clone>(
    auth: &Auth<U>,
    user: &U,
    codes: &[String],
) -> Result<(), ApiError> {
    let missing: Vec<&String> = if user.is_superuser() {
        let mut conn = auth.db().conn().await?;
        let known: std::collections::BTreeSet<String> = manage::list_permissions(&mut conn)
            .await?
            .into_iter()
            .map(|p| p.code)
            .collect();
        codes.iter().filter(|c| !known.contains(*c)).collect()
    } else {
        let grants = auth.grants_of(user.id(), None).await?;
        codes.iter().filter(|c| !grants.has_permission(c)).collect()
    };
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::Forbidden,
        format!("permissions: you do not hold {missing:?}"),
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
) -> Result<Response, ApiError> {
    current.require_session()?;
    let mut conn = auth.db().conn().await?;
    let keys = api_key::list_for_user(&mut conn, current.user.id()).await?;
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
    let client = current.acting(client);
    current.require_session()?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("api key"))?;
    let mut conn = auth.db().conn().await?;
    if !api_key::revoke_for_user(&mut conn, current.user.id(), id).await? {
        return Err(ApiError::not_found("api key"));
    }
    let detail = json!({ "key_id": id });
    auth.service()
        .audit_user(
            &mut conn,
            &client,
            EventType::ApiKeyRevoked,
            &current.user,
            detail,
        )
        .await?;
    Ok(response::ok(Value::Null, "api key revoked"))
}
