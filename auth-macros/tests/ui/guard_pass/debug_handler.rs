//! `#[axum::debug_handler]` above or below the guards, with `State` first (which the guard
//! leaves alone, so that debug_handler still infers the state type).
//!
//! Above a guard, debug_handler checks a copy of the handler as written, so it only works
//! when the guard joins an existing argument (not for handlers without arguments, or with
//! only `State`s, which get a new one), and the guard is registered twice (the copy's too).
#![deny(unused_qualifications, missing_docs, warnings)]

use auth_axum::auth_core::access;
use auth_axum::{login_required, permission_required, role_required};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::HashMap;

/// Application state.
#[derive(Clone)]
pub struct AppState;

#[axum::debug_handler]
#[permission_required("article.create")]
async fn above(State(_s): State<AppState>, Json(body): Json<Vec<i64>>) -> String {
    body.len().to_string()
}

#[permission_required("article.create")]
#[axum::debug_handler]
async fn below(State(_s): State<AppState>, Json(body): Json<Vec<i64>>) -> String {
    body.len().to_string()
}

#[login_required]
#[axum::debug_handler]
#[role_required("admin")]
async fn between(
    State(_s): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> String {
    format!("{id} {}", q.len())
}

#[login_required]
#[axum::debug_handler]
async fn only_state(State(_s): State<AppState>) {}

#[login_required]
#[axum::debug_handler]
async fn below_no_arguments() -> &'static str {
    "ok"
}

fn main() {
    let _app: Router = Router::new()
        .route("/above", post(above))
        .route("/below", post(below))
        .route("/between/{id}", get(between))
        .route("/state", get(only_state))
        .route("/none2", get(below_no_arguments))
        .with_state(AppState);
    // auth-axum's own admin handlers are registered too: keep this file's.
    let specs: Vec<_> = access::registered()
        .into_iter()
        .filter(|s| !s.module.starts_with("auth_axum::"))
        .collect();
    let count = |handler: &str| specs.iter().filter(|s| s.handler == handler).count();
    let distinct = |handler: &str| {
        let mut found = Vec::new();
        for spec in specs.iter().filter(|s| s.handler == handler) {
            if !found.contains(spec) {
                found.push(*spec);
            }
        }
        found.len()
    };
    // debug_handler compiles a copy of the function it is given, so a guard below it is
    // expanded (and registered) twice, unless the registry removes duplicates.
    assert!((1..=2).contains(&count("above")));
    assert_eq!(distinct("above"), 1);
    assert_eq!(count("below"), 1);
    assert!((2..=3).contains(&count("between")));
    assert_eq!(distinct("between"), 2);
    assert_eq!(count("only_state"), 1);
    assert_eq!(count("below_no_arguments"), 1);
}
