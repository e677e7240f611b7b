//! The guard runs before the handler's other extractors: without the auth layer it refuses
//! the request (500, the layer is missing) before `Json` looks at the body, which would be
//! refused with 415 otherwise.
#![deny(unused_qualifications, missing_docs, warnings)]

use auth_axum::{login_required, permission_required};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use tower::ServiceExt;

async fn open(Json(body): Json<Vec<i64>>) -> String {
    body.len().to_string()
}

#[permission_required("article.create")]
async fn guarded(Json(body): Json<Vec<i64>>) -> String {
    body.len().to_string()
}

#[login_required]
#[permission_required("article.create")]
async fn stacked(Json(body): Json<Vec<i64>>) -> String {
    body.len().to_string()
}

async fn status(app: &Router, uri: &str) -> StatusCode {
    let request = Request::post(uri).body(Body::from("not json")).expect("request");
    app.clone().oneshot(request).await.expect("infallible").status()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = Router::new()
        .route("/open", post(open))
        .route("/guarded", post(guarded))
        .route("/stacked", post(stacked));
    assert_eq!(status(&app, "/open").await, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(status(&app, "/guarded").await, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(status(&app, "/stacked").await, StatusCode::INTERNAL_SERVER_ERROR);
}
