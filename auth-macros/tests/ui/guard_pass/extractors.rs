//! Each guard on handlers taking the usual extractors, every handler in a `Router` so that
//! axum checks its `Handler` impl, and the registered requirements read back at run time.
#![deny(unused_qualifications, missing_docs, warnings)]

use std::collections::HashMap;

use auth_axum::auth_core::access::{self, Requirement, Rule};
use auth_axum::{AuthUser, CurrentUser, login_required, permission_required, role_required};
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

/// The application's user.
#[derive(AuthUser, Clone)]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Login name.
    pub account: String,
    /// Password hash.
    pub password: String,
}

/// Application state.
#[derive(Clone)]
pub struct AppState {
    /// A setting.
    pub greeting: &'static str,
}

/// A new article.
#[derive(Deserialize)]
pub struct NewArticle {
    /// Its title.
    pub title: String,
}

/// Paging.
#[derive(Deserialize)]
pub struct Paging {
    /// Page number.
    pub page: u32,
}

/// Logged-in users only.
#[login_required]
pub async fn profile(user: CurrentUser<User>) -> String {
    user.user.account.clone()
}

#[login_required(crate = "::auth_axum")]
async fn with_state(State(state): State<AppState>, Query(paging): Query<Paging>) -> String {
    format!("{} {}", state.greeting, paging.page)
}

#[permission_required("article.create")]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser<User>,
    Json(article): Json<NewArticle>,
) -> impl IntoResponse {
    format!("{} {} {}", state.greeting, user.user.id, article.title)
}

#[permission_required("article.read", "article.list", scope = "project_id")]
async fn list(
    Path((project_id, page)): Path<(i64, u32)>,
    Query(filters): Query<HashMap<String, String>>,
) -> String {
    format!("{project_id} {page} {}", filters.len())
}

#[permission_required(any("article.update", all("article.own", "article.edit")), crate = "auth_axum")]
async fn update(Path(id): Path<i64>, Json(article): Json<NewArticle>) -> String {
    format!("{id} {}", article.title)
}

#[permission_required(r"raw.string")]
async fn body_only(Json(article): Json<NewArticle>) -> String {
    article.title
}

#[role_required("admin", "editor")]
async fn publish(mut paging: Query<Paging>, _user: CurrentUser<User>) -> String {
    paging.page += 1;
    paging.page.to_string()
}

#[role_required("Chef d'équipe")]
async fn request_body(body: String) -> String {
    body
}

/// A generic handler keeps its generics and where clause.
#[login_required]
pub async fn generic<S>(State(_state): State<S>, Path(id): Path<i64>) -> String
where
    S: Clone + Send + Sync + 'static,
{
    id.to_string()
}

/// Guards in a module, with a raw identifier.
pub mod nested {
    use auth_axum::permission_required;

    /// `r#type`.
    #[permission_required("article.type")]
    pub(crate) async fn r#type() {}
}

fn app() -> Router {
    Router::new()
        .route("/profile", get(profile))
        .route("/with_state", get(with_state))
        .route("/articles", post(create))
        .route("/projects/{project_id}/articles/{page}", get(list))
        .route("/articles/{id}", post(update))
        .route("/body", post(body_only))
        .route("/publish", post(publish))
        .route("/request_body", post(request_body))
        .route("/generic/{id}", get(generic::<AppState>))
        .route("/type", get(nested::r#type))
        .with_state(AppState { greeting: "hi" })
}

fn main() {
    let _app = app();
    // auth-axum's own admin handlers are registered too: keep this file's.
    let specs: Vec<_> = access::registered()
        .into_iter()
        .filter(|s| !s.module.starts_with("auth_axum::"))
        .collect();
    let find = |handler: &str| {
        let found: Vec<_> = specs.iter().filter(|s| s.handler == handler).collect();
        assert_eq!(found.len(), 1, "{handler}: {specs:#?}");
        *found[0]
    };
    assert_eq!(specs.len(), 10, "{specs:#?}");
    assert_eq!(find("profile").requirement, Requirement::Login);
    assert_eq!(find("profile").module, module_path!());
    assert_eq!(find("profile").scope_param, None);
    assert_eq!(
        find("create").requirement,
        Requirement::Permission(Rule::Permission("article.create"))
    );
    let list = find("list");
    assert_eq!(list.requirement.to_string(), "permission all(article.read, article.list)");
    assert_eq!(list.scope_param, Some("project_id"));
    assert_eq!(
        find("update").requirement.to_string(),
        "permission any(article.update, all(article.own, article.edit))"
    );
    assert_eq!(find("body_only").requirement.to_string(), "permission raw.string");
    assert_eq!(find("publish").requirement, Requirement::Role(&["admin", "editor"]));
    assert_eq!(find("request_body").requirement, Requirement::Role(&["Chef d'équipe"]));
    assert_eq!(find("generic").requirement, Requirement::Login);
    let r#type = find("type");
    assert_eq!(r#type.module, format!("{}::nested", module_path!()));
    assert_eq!(r#type.requirement.to_string(), "permission article.type");
}
