//! The guard macros over HTTP on every backend: the 401/403/200 matrix, superusers,
//! inactive users, role and permission changes seen on the next request, scopes.

use auth_axum::auth_core::rbac::manage;
use auth_axum::{
    Auth, CurrentUser, JsonBody, UserStore, login_required, permission_required, role_required,
};
use auth_tests::http::{TestApp, send};
use auth_tests::model::v1::User;
use auth_tests::{TestDb, backend_tests};
use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Method, Request, StatusCode};
use axum::routing::{get, post};
use serde_json::Value;

#[login_required]
async fn members(user: CurrentUser<User>) -> String {
    user.account.clone()
}

#[permission_required("article.create")]
async fn create_article(user: CurrentUser<User>, JsonBody(body): JsonBody<Value>) -> String {
    format!(
        "{} {}",
        user.account,
        body["title"].as_str().unwrap_or_default()
    )
}

#[permission_required("article.edit", "article.publish")]
async fn edit_and_publish() -> &'static str {
    "both"
}

#[permission_required(any("article.edit", all("article.review", "article.publish")))]
async fn either() -> &'static str {
    "either"
}

#[role_required("admin", "editor")]
async fn staff() -> &'static str {
    "staff"
}

#[permission_required("projects.read", scope = "project_id")]
async fn project(Path(project_id): Path<String>) -> String {
    project_id
}

#[role_required("admin")]
#[login_required]
async fn stacked(user: CurrentUser<User>) -> String {
    user.account.clone()
}

fn routes(auth: &Auth<User>) -> Router {
    Router::new()
        .route("/members", get(members))
        .route("/articles", post(create_article))
        .route("/edit-publish", get(edit_and_publish))
        .route("/either", get(either))
        .route("/staff", get(staff))
        .route("/projects/{project_id}", get(project))
        .route("/stacked", get(stacked))
        .nest("/api/contrib/auth", auth.router())
        .layer(auth.layer())
}

struct Guarded {
    app: TestApp,
    router: Router,
}

impl Guarded {
    async fn new(t: TestDb) -> Guarded {
        let app = TestApp::new(t).await;
        let router = routes(&app.auth);
        let mut conn = app.t.db.conn().await.unwrap();
        for code in [
            "article.create",
            "article.edit",
            "article.publish",
            "article.review",
            "projects.read",
        ] {
            manage::get_or_create_permission(&mut conn, code, "")
                .await
                .unwrap();
        }
        Guarded { app, router }
    }

    /// Registers and logs in `account`; returns (user id, token).
    async fn user(&self, account: &str) -> (i64, String) {
        self.app.user(account).await
    }

    async fn status(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> StatusCode {
        // A same-origin browser request (the CSRF check is on).
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", auth_tests::http::HOST)
            .header("origin", auth_tests::http::ORIGIN);
        if let Some(t) = token {
            req = req.header("cookie", format!("auth_session={t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_owned())),
            None => req.body(Body::empty()),
        };
        let answer = send(&self.router, req.unwrap()).await;
        if answer.status == StatusCode::UNAUTHORIZED {
            assert_eq!(answer.code(), "unauthenticated");
        }
        if answer.status == StatusCode::FORBIDDEN {
            assert_eq!(answer.code(), "forbidden");
        }
        answer.status
    }

    async fn get(&self, path: &str, token: Option<&str>) -> StatusCode {
        self.status(Method::GET, path, token, None).await
    }
}

async fn anonymous_requests_get_401_before_the_body_is_read(t: TestDb) {
    let g = Guarded::new(t).await;
    for path in [
        "/members",
        "/edit-publish",
        "/either",
        "/staff",
        "/projects/p1",
        "/stacked",
    ] {
        assert_eq!(g.get(path, None).await, StatusCode::UNAUTHORIZED, "{path}");
    }
    let malformed = g
        .status(Method::POST, "/articles", None, Some("{not json"))
        .await;
    assert_eq!(
        malformed,
        StatusCode::UNAUTHORIZED,
        "the guard answers before the body is parsed"
    );
    let (_, token) = g.user("nobody").await;
    let forbidden = g
        .status(Method::POST, "/articles", Some(&token), Some("{not json"))
        .await;
    assert_eq!(
        forbidden,
        StatusCode::FORBIDDEN,
        "and a lacking user gets 403, not 400"
    );
}

async fn permissions_decide(t: TestDb) {
    let g = Guarded::new(t).await;
    let mut conn = g.app.t.db.conn().await.unwrap();
    let (plain, plain_token) = g.user("plain").await;
    let (writer, writer_token) = g.user("writer").await;
    manage::get_or_create_role(&mut conn, "Writer", None)
        .await
        .unwrap();
    manage::grant_permission(&mut conn, "Writer", "article.create")
        .await
        .unwrap();
    manage::assign_role(&mut conn, writer, "Writer", None)
        .await
        .unwrap();

    assert_eq!(g.get("/members", Some(&plain_token)).await, StatusCode::OK);
    let body = Some(r#"{"title": "t"}"#);
    assert_eq!(
        g.status(Method::POST, "/articles", Some(&plain_token), body)
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        g.status(Method::POST, "/articles", Some(&writer_token), body)
            .await,
        StatusCode::OK
    );
    let malformed = g
        .status(Method::POST, "/articles", Some(&writer_token), Some("{"))
        .await;
    assert_eq!(
        malformed,
        StatusCode::BAD_REQUEST,
        "once allowed, the body is checked"
    );

    // Several strings: all of them.
    manage::grant_permission(&mut conn, "Writer", "article.edit")
        .await
        .unwrap();
    assert_eq!(
        g.get("/edit-publish", Some(&writer_token)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        g.get("/either", Some(&writer_token)).await,
        StatusCode::OK,
        "any(article.edit, ...)"
    );
    manage::grant_permission(&mut conn, "Writer", "article.publish")
        .await
        .unwrap();
    assert_eq!(
        g.get("/edit-publish", Some(&writer_token)).await,
        StatusCode::OK
    );

    // all(review, publish) inside any(...).
    manage::get_or_create_role(&mut conn, "Reviewer", None)
        .await
        .unwrap();
    manage::grant_permission(&mut conn, "Reviewer", "article.review")
        .await
        .unwrap();
    manage::assign_role(&mut conn, plain, "Reviewer", None)
        .await
        .unwrap();
    assert_eq!(
        g.get("/either", Some(&plain_token)).await,
        StatusCode::FORBIDDEN
    );
    manage::grant_permission(&mut conn, "Reviewer", "article.publish")
        .await
        .unwrap();
    assert_eq!(g.get("/either", Some(&plain_token)).await, StatusCode::OK);
}

async fn groups_and_inheritance_grant(t: TestDb) {
    let g = Guarded::new(t).await;
    let mut conn = g.app.t.db.conn().await.unwrap();
    let (member, token) = g.user("member").await;
    manage::get_or_create_role(&mut conn, "Author", None)
        .await
        .unwrap();
    manage::grant_permission(&mut conn, "Author", "article.create")
        .await
        .unwrap();
    manage::get_or_create_role(&mut conn, "editor", Some("Author"))
        .await
        .unwrap();
    manage::get_or_create_group(&mut conn, "Content Team")
        .await
        .unwrap();
    manage::grant_group_role(&mut conn, "Content Team", "editor", None)
        .await
        .unwrap();

    let body = Some(r#"{"title": "t"}"#);
    assert_eq!(
        g.status(Method::POST, "/articles", Some(&token), body)
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(g.get("/staff", Some(&token)).await, StatusCode::FORBIDDEN);
    manage::add_to_group(&mut conn, member, "Content Team")
        .await
        .unwrap();
    assert_eq!(
        g.status(Method::POST, "/articles", Some(&token), body)
            .await,
        StatusCode::OK,
        "group -> editor -> parent Author -> article.create"
    );
    assert_eq!(
        g.get("/staff", Some(&token)).await,
        StatusCode::OK,
        "role_required: any of admin, editor"
    );
    manage::remove_from_group(&mut conn, member, "Content Team")
        .await
        .unwrap();
    assert_eq!(g.get("/staff", Some(&token)).await, StatusCode::FORBIDDEN);
}

async fn changes_apply_on_the_next_request(t: TestDb) {
    let g = Guarded::new(t).await;
    let mut conn = g.app.t.db.conn().await.unwrap();
    let (id, token) = g.user("changing").await;
    manage::get_or_create_role(&mut conn, "Writer", None)
        .await
        .unwrap();
    manage::grant_permission(&mut conn, "Writer", "article.create")
        .await
        .unwrap();
    manage::assign_role(&mut conn, id, "Writer", None)
        .await
        .unwrap();
    let body = Some(r#"{"title": "t"}"#);
    assert_eq!(
        g.status(Method::POST, "/articles", Some(&token), body)
            .await,
        StatusCode::OK
    );
    // Cached now; revoking the permission from the role is still seen at once.
    assert!(
        manage::revoke_permission(&mut conn, "Writer", "article.create")
            .await
            .unwrap()
    );
    assert_eq!(
        g.status(Method::POST, "/articles", Some(&token), body)
            .await,
        StatusCode::FORBIDDEN
    );
    manage::grant_permission(&mut conn, "Writer", "article.create")
        .await
        .unwrap();
    assert_eq!(
        g.status(Method::POST, "/articles", Some(&token), body)
            .await,
        StatusCode::OK
    );
    // Revoking the role from the user.
    assert!(
        manage::revoke_role(&mut conn, id, "Writer", None)
            .await
            .unwrap()
    );
    assert_eq!(
        g.status(Method::POST, "/articles", Some(&token), body)
            .await,
        StatusCode::FORBIDDEN
    );
    // Deleting a role in use.
    manage::assign_role(&mut conn, id, "Writer", None)
        .await
        .unwrap();
    assert_eq!(
        g.status(Method::POST, "/articles", Some(&token), body)
            .await,
        StatusCode::OK
    );
    assert!(manage::delete_role(&mut conn, "Writer").await.unwrap());
    assert_eq!(
        g.status(Method::POST, "/articles", Some(&token), body)
            .await,
        StatusCode::FORBIDDEN
    );
}

async fn superusers_pass_and_inactive_users_never_do(t: TestDb) {
    let g = Guarded::new(t).await;
    let mut conn = g.app.t.db.conn().await.unwrap();
    let (_, token) = g.user("root").await;
    let mut root = User::find_by_account(&mut conn, "root")
        .await
        .unwrap()
        .unwrap();
    root.is_superuser = true;
    root.update(&mut conn).await.unwrap();
    for path in [
        "/members",
        "/edit-publish",
        "/either",
        "/staff",
        "/projects/p9",
        "/stacked",
    ] {
        assert_eq!(g.get(path, Some(&token)).await, StatusCode::OK, "{path}");
    }
    root.is_active = false;
    root.update(&mut conn).await.unwrap();
    for path in ["/members", "/staff", "/stacked"] {
        assert_eq!(
            g.get(path, Some(&token)).await,
            StatusCode::UNAUTHORIZED,
            "inactive superuser on {path}"
        );
    }
}

async fn scoped_permissions_follow_the_path(t: TestDb) {
    let g = Guarded::new(t).await;
    let mut conn = g.app.t.db.conn().await.unwrap();
    let (local, local_token) = g.user("local").await;
    let (global, global_token) = g.user("global").await;
    manage::get_or_create_role(&mut conn, "Viewer", None)
        .await
        .unwrap();
    manage::grant_permission(&mut conn, "Viewer", "projects.read")
        .await
        .unwrap();
    manage::assign_role(&mut conn, local, "Viewer", Some("p1"))
        .await
        .unwrap();
    manage::assign_role(&mut conn, global, "Viewer", None)
        .await
        .unwrap();
    assert_eq!(
        g.get("/projects/p1", Some(&local_token)).await,
        StatusCode::OK
    );
    assert_eq!(
        g.get("/projects/p2", Some(&local_token)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        g.get("/projects/p2", Some(&global_token)).await,
        StatusCode::OK,
        "a global grant holds in every scope"
    );
    // A scope past the columns' width (191 characters) holds no assignment: the global
    // grants decide, and a path cannot make grant-cache entries of its own.
    for n in [192, 4000] {
        let long = format!("/projects/{}", "p".repeat(n));
        assert_eq!(g.get(&long, Some(&global_token)).await, StatusCode::OK);
        assert_eq!(
            g.get(&long, Some(&local_token)).await,
            StatusCode::FORBIDDEN
        );
    }
    // Nor can an assignment be made in such a scope: a clear refusal, not a driver error.
    let long = "p".repeat(192);
    let err = manage::assign_role(&mut conn, local, "Viewer", Some(&long))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("191"), "{err}");
}

async fn stacked_guards_all_apply(t: TestDb) {
    let g = Guarded::new(t).await;
    let mut conn = g.app.t.db.conn().await.unwrap();
    let (id, token) = g.user("stacker").await;
    assert_eq!(g.get("/stacked", Some(&token)).await, StatusCode::FORBIDDEN);
    manage::get_or_create_role(&mut conn, "admin", None)
        .await
        .unwrap();
    manage::assign_role(&mut conn, id, "admin", None)
        .await
        .unwrap();
    assert_eq!(g.get("/stacked", Some(&token)).await, StatusCode::OK);
}

backend_tests!(
    anonymous_requests_get_401_before_the_body_is_read,
    permissions_decide,
    groups_and_inheritance_grant,
    changes_apply_on_the_next_request,
    superusers_pass_and_inactive_users_never_do,
    scoped_permissions_follow_the_path,
    stacked_guards_all_apply,
);

#[tokio::test]
async fn a_database_outage_is_503_never_allow_or_deny() {
    let mut config = auth_axum::DatabaseConfig::new("postgres://nobody@127.0.0.1:9/none");
    config.acquire_timeout = std::time::Duration::from_millis(300);
    let db = auth_axum::Database::with_config(config).unwrap();
    let service = auth_axum::auth_core::service::AuthService::<User>::builder()
        .bcrypt_cost(4)
        .build();
    let router = routes(&Auth::new(db, service));
    for path in ["/members", "/staff", "/edit-publish"] {
        let req = Request::get(path)
            .header("cookie", "__Host-auth_session=abc")
            .body(Body::empty())
            .unwrap();
        let answer = send(&router, req).await;
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {:?}",
            answer.body
        );
        assert_eq!(answer.code(), "unavailable");
    }
}

async fn programmatic_checks_and_the_access_report(t: TestDb) {
    let g = Guarded::new(t).await;
    let mut conn = g.app.t.db.conn().await.unwrap();
    let (id, _) = g.user("prog").await;
    manage::get_or_create_role(&mut conn, "Author", None)
        .await
        .unwrap();
    manage::grant_permission(&mut conn, "Author", "article.create")
        .await
        .unwrap();
    manage::get_or_create_role(&mut conn, "editor", Some("Author"))
        .await
        .unwrap();
    manage::grant_permission(&mut conn, "editor", "article.edit")
        .await
        .unwrap();
    manage::get_or_create_group(&mut conn, "Desk")
        .await
        .unwrap();
    manage::grant_group_role(&mut conn, "Desk", "editor", None)
        .await
        .unwrap();
    manage::add_to_group(&mut conn, id, "Desk").await.unwrap();
    manage::get_or_create_role(&mut conn, "Viewer", None)
        .await
        .unwrap();
    manage::grant_permission(&mut conn, "Viewer", "projects.read")
        .await
        .unwrap();
    manage::assign_role(&mut conn, id, "Viewer", Some("p1"))
        .await
        .unwrap();

    let auth = &g.app.auth;
    let user = User::find_by_id(&mut conn, id).await.unwrap().unwrap();
    assert!(
        auth.user_has_permission(&user, "article.create", None)
            .await
            .unwrap(),
        "inherited through the group's role"
    );
    assert!(
        !auth
            .user_has_permission(&user, "article.publish", None)
            .await
            .unwrap()
    );
    assert!(
        !auth
            .user_has_permission(&user, "projects.read", None)
            .await
            .unwrap()
    );
    assert!(
        auth.user_has_permission(&user, "projects.read", Some("p1"))
            .await
            .unwrap()
    );
    assert!(auth.user_has_role(&user, "editor").await.unwrap());
    assert!(
        auth.user_has_role(&user, "Author").await.unwrap(),
        "holding a role implies its ancestors"
    );
    assert!(!auth.user_has_role(&user, "admin").await.unwrap());
    assert_eq!(auth.query_roles(id).await.unwrap(), ["Author", "editor"]);
    assert_eq!(auth.query_groups(id).await.unwrap(), ["Desk"]);
    assert_eq!(
        auth.effective_permissions(id, None).await.unwrap(),
        ["article.create", "article.edit"]
    );
    assert_eq!(
        auth.effective_permissions(id, Some("p1")).await.unwrap(),
        ["article.create", "article.edit", "projects.read"]
    );
    let mut inactive = user.clone();
    inactive.is_active = false;
    assert!(
        !auth
            .user_has_permission(&inactive, "article.create", None)
            .await
            .unwrap()
    );

    // The access report lists this file's guarded handlers with the roles that pass (by
    // their full path: other modules of this test binary have guarded handlers too).
    let report = auth_axum::auth_core::report::access_report(&mut conn)
        .await
        .unwrap();
    let row = |handler: &str| {
        report
            .iter()
            .find(|r| r.handler == format!("{}::{handler}", module_path!()))
            .unwrap_or_else(|| panic!("{handler} missing from {report:?}"))
            .clone()
    };
    assert_eq!(
        row("create_article").requirement,
        "permission article.create"
    );
    assert_eq!(row("create_article").roles, ["Author", "editor"]);
    assert_eq!(
        row("either").requirement,
        "permission any(article.edit, all(article.review, article.publish))"
    );
    assert_eq!(row("either").roles, ["editor"]);
    assert_eq!(row("staff").roles, ["editor"]);
    assert_eq!(row("project").scope_param.as_deref(), Some("project_id"));
    assert_eq!(row("members").requirement, "login");
    assert_eq!(
        report
            .iter()
            .filter(|r| r.handler == format!("{}::stacked", module_path!()))
            .count(),
        2,
        "one row per guard"
    );
}

backend_tests!(programmatic_checks_and_the_access_report);
