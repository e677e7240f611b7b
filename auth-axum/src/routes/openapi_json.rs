//! `GET openapi.json`: the router's OpenAPI document, with its paths under the prefix the
//! router is mounted at (read from the request: the part of the original path before
//! `/openapi.json`).

use std::sync::Arc;

use auth_core::UserStore;
use axum::Json;
use axum::extract::OriginalUri;
use axum::routing::{MethodRouter, get};

use crate::layer::Auth;
use crate::openapi::document;

/// The route serving `document`.
pub(crate) fn route<U: UserStore + Clone>(
    document: utoipa::openapi::OpenApi,
) -> MethodRouter<Auth<U>> {
    let document = Arc::new(document);
    get(move |OriginalUri(full): OriginalUri| {
        let document = Arc::clone(&document);
        async move {
            let prefix = full
                .path()
                .strip_suffix("/openapi.json")
                .unwrap_or_default()
                .to_owned();
            Json(document::under_prefix((*document).clone(), &prefix))
        }
    })
}
