//! `mfa` and `fresh = ".."` on every guard: the requirement records them (seconds), and
//! a handler without them requires neither.
#![deny(unused_qualifications, missing_docs, warnings)]

use auth_axum::auth_core::access;
use auth_axum::{login_required, permission_required, role_required};
use axum::Router;
use axum::routing::get;

#[login_required(mfa)]
async fn strong() {}

#[login_required(fresh = "10m")]
async fn fresh() {}

#[permission_required("article.delete", mfa, fresh = "1h 30m")]
async fn delete() {}

#[role_required("admin", "owner", mfa)]
async fn admin() {}

#[login_required]
async fn plain() {}

fn main() {
    let _app: Router = Router::new()
        .route("/strong", get(strong))
        .route("/fresh", get(fresh))
        .route("/delete", get(delete))
        .route("/admin", get(admin))
        .route("/plain", get(plain));
    let spec = |handler: &str| {
        *access::registered()
            .iter()
            .find(|s| s.handler == handler && !s.module.starts_with("auth_axum::"))
            .expect(handler)
    };
    assert!(spec("strong").mfa && spec("strong").fresh_secs.is_none());
    assert_eq!(spec("fresh").fresh_secs, Some(600));
    assert!(!spec("fresh").mfa);
    assert!(spec("delete").mfa);
    assert_eq!(spec("delete").fresh_secs, Some(5400));
    assert!(spec("admin").mfa);
    assert!(!spec("plain").mfa && spec("plain").fresh_secs.is_none());
}
