//! A guarded handler with axum's maximum of 16 arguments keeps 16 arguments; handlers with
//! no argument, or only `State`, get one.
#![deny(unused_qualifications, missing_docs, warnings)]

use auth_axum::{login_required, permission_required};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, Method, Uri, Version};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;

type Q = Query<HashMap<String, String>>;

#[permission_required("article.create")]
#[allow(clippy::too_many_arguments)]
async fn sixteen(
    State(_s): State<u8>,
    Path(_id): Path<i64>,
    _q1: Q,
    _q2: Q,
    _q3: Q,
    _h1: HeaderMap,
    _h2: HeaderMap,
    _h3: HeaderMap,
    _m1: Method,
    _m2: Method,
    _u1: Uri,
    _u2: Uri,
    _o: OriginalUri,
    _v1: Version,
    _v2: Version,
    body: String,
) -> String {
    body
}

#[login_required]
async fn zero() -> &'static str {
    "zero"
}

#[login_required]
async fn only_state(State(s): State<u8>) -> String {
    s.to_string()
}

fn main() {
    let _app: Router = Router::new()
        .route("/sixteen/{id}", post(sixteen))
        .route("/zero", get(zero))
        .route("/only_state", get(only_state))
        .with_state(7u8);
}
