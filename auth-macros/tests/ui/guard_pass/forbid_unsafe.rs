//! A crate that forbids unsafe code, as the workspace lints do, can use the guards.
#![forbid(unsafe_code)]
#![deny(unused_qualifications, missing_docs, warnings)]

use auth_axum::{login_required, permission_required, role_required};
use axum::Router;
use axum::routing::get;

#[login_required]
async fn a() {}

#[permission_required("article.create")]
async fn b() {}

#[role_required("admin")]
async fn c() {}

fn main() {
    let _app: Router = Router::new().route("/a", get(a)).route("/b", get(b)).route("/c", get(c));
}
