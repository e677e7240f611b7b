//! The quickstart as users meet it: its seeded roles and its guarded articles API, over HTTP
//! (the app as a service) on a fresh SQLite file.

use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_axum::{Auth, CookieConfig, Database, HttpConfig, UserStore};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use quickstart::model::User;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    // A same-origin browser request: the CSRF check is on (the cookie is not Secure, so the
    // application's own origin is http://<Host>).
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:3000")
        .header("origin", "http://127.0.0.1:3000");
    if let Some(t) = token {
        req = req.header("cookie", format!("auth_session={t}"));
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(Body::from(body.unwrap_or_default().to_owned()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("auth_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        cookie,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_articles_api_follows_the_seeded_roles() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(&format!("sqlite://{}", dir.path().join("q.db").display())).unwrap();
    quickstart::prepare(&db, &quickstart::migrations())
        .await
        .unwrap();
    quickstart::prepare(&db, &quickstart::migrations())
        .await
        .unwrap(); // idempotent
    let service = AuthService::<User>::builder().bcrypt_cost(4).build();
    let http = HttpConfig {
        cookie: CookieConfig::insecure_dev(),
        ..HttpConfig::default()
    };
    let app = quickstart::app(&Auth::with_http(db.clone(), service, http));

    let creds =
        json!({"account": "alice", "password": "correct horse", "extra": {"first_name": "Alice"}})
            .to_string();
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/contrib/auth/register",
            None,
            Some(&creds)
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let login = json!({"account": "alice", "password": "correct horse"}).to_string();
    let (status, body, token) =
        call(&app, "POST", "/api/contrib/auth/login", None, Some(&login)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["extra"]["first_name"], "Alice");
    let token = token.unwrap();
    let article = r#"{"title": "Hello", "body": "First post"}"#;

    assert_eq!(
        call(&app, "GET", "/api/articles", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, "POST", "/api/articles", None, Some("{oops"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, "GET", "/api/articles", Some(&token), None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "POST", "/api/articles", Some(&token), Some(article))
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    let mut conn = db.conn().await.unwrap();
    let id = User::find_by_account(&mut conn, "alice")
        .await
        .unwrap()
        .unwrap()
        .id;
    manage::add_to_group(&mut conn, id, "Content Team")
        .await
        .unwrap();
    let (status, body, _) = call(&app, "POST", "/api/articles", Some(&token), Some(article)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "Content Team holds Editor: {body}"
    );
    let path = format!("/api/articles/{}", body["data"]["id"]);
    assert_eq!(
        call(&app, "DELETE", &path, Some(&token), None).await.0,
        StatusCode::FORBIDDEN,
        "Editor cannot delete"
    );

    manage::assign_role(&mut conn, id, "Administrator", None)
        .await
        .unwrap();
    assert_eq!(
        call(&app, "DELETE", &path, Some(&token), None).await.0,
        StatusCode::OK
    );
    let (_, listed, _) = call(&app, "GET", "/api/articles", Some(&token), None).await;
    assert_eq!(listed["data"], json!([]));
}
