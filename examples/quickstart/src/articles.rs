//! A small articles API, kept in memory, protected by the guard macros:
//! `GET /api/articles` needs a login, `POST` needs `article.create`, `DELETE` needs
//! `article.delete` (see `permissions.toml`).

use std::sync::{Arc, Mutex};

use auth_axum::response::{self, ApiError};
use auth_axum::{CurrentUser, JsonBody, login_required, permission_required};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};

use crate::model::User;

/// One article.
#[derive(Debug, Clone, Serialize)]
pub struct Article {
    id: u64,
    title: String,
    body: String,
    author: String,
}

/// The store.
#[derive(Debug, Clone, Default)]
pub struct Articles {
    inner: Arc<Mutex<(u64, Vec<Article>)>>,
}

/// `POST /api/articles` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewArticle {
    title: String,
    body: String,
}

/// `/api/articles` routes.
pub fn router() -> Router {
    Router::new()
        .route("/api/articles", get(list).post(create))
        .route("/api/articles/{id}", delete(remove))
        .with_state(Articles::default())
}

#[login_required]
async fn list(State(store): State<Articles>) -> Response {
    let articles = store.inner.lock().map(|g| g.1.clone()).unwrap_or_default();
    response::ok(articles, "articles")
}

#[permission_required("article.create")]
async fn create(
    State(store): State<Articles>,
    user: CurrentUser<User>,
    JsonBody(new): JsonBody<NewArticle>,
) -> Result<Response, ApiError> {
    if new.title.trim().is_empty() || new.title.chars().count() > 200 {
        return Err(ApiError::invalid("title: 1 to 200 characters"));
    }
    let mut guard = store.inner.lock().map_err(|e| ApiError::internal(&e))?;
    guard.0 += 1;
    let article = Article {
        id: guard.0,
        title: new.title,
        body: new.body,
        author: user.account.clone(),
    };
    guard.1.push(article.clone());
    Ok(response::with_status(
        axum::http::StatusCode::CREATED,
        article,
        "created",
    ))
}

#[permission_required("article.delete")]
async fn remove(State(store): State<Articles>, Path(id): Path<u64>) -> Result<Response, ApiError> {
    let mut guard = store.inner.lock().map_err(|e| ApiError::internal(&e))?;
    let before = guard.1.len();
    guard.1.retain(|a| a.id != id);
    if guard.1.len() == before {
        return Err(ApiError::not_found("article"));
    }
    Ok(response::ok(serde_json::Value::Null, "deleted"))
}
