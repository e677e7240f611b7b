//! Guards stack, in any order and any number, each adding its own check.
#![deny(unused_qualifications, missing_docs, warnings)]

use auth_axum::auth_core::access::{self, Requirement};
use auth_axum::{login_required, permission_required, role_required};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};

#[login_required]
#[permission_required("article.create")]
async fn login_then_permission(Path(id): Path<i64>, Json(body): Json<Vec<i64>>) -> String {
    format!("{id} {}", body.len())
}

#[permission_required("article.create")]
#[login_required]
async fn permission_then_login(Path(id): Path<i64>, Json(body): Json<Vec<i64>>) -> String {
    format!("{id} {}", body.len())
}

#[role_required("admin")]
#[permission_required("article.delete", scope = "id")]
#[login_required]
async fn three(State(_s): State<u8>, Path(id): Path<i64>) -> String {
    id.to_string()
}

#[login_required]
#[role_required("admin")]
#[permission_required("article.delete")]
async fn three_without_arguments() {}

#[login_required]
#[login_required]
async fn twice(body: String) -> String {
    body
}

fn main() {
    let _app: Router = Router::new()
        .route("/a/{id}", post(login_then_permission))
        .route("/b/{id}", post(permission_then_login))
        .route("/c/{id}", get(three))
        .route("/d", get(three_without_arguments))
        .route("/e", post(twice))
        .with_state(1u8);
    // auth-axum's own admin handlers are registered too: keep this file's.
    let specs: Vec<_> = access::registered()
        .into_iter()
        .filter(|s| !s.module.starts_with("auth_axum::"))
        .collect();
    let count = |handler: &str| specs.iter().filter(|s| s.handler == handler).count();
    assert_eq!(count("login_then_permission"), 2);
    assert_eq!(count("permission_then_login"), 2);
    assert_eq!(count("three"), 3);
    assert_eq!(count("three_without_arguments"), 3);
    // Two identical guards: the registry may list them once.
    assert!((1..=2).contains(&count("twice")));
    let three: Vec<_> = specs.iter().filter(|s| s.handler == "three").collect();
    assert!(three.iter().any(|s| s.requirement == Requirement::Login));
    assert!(three.iter().any(|s| s.scope_param == Some("id")));
    assert!(three.iter().any(|s| s.requirement == Requirement::Role(&["admin"])));
}
