//! The layer's guarantees that do not depend on the backend: lazy loading, the missing-layer
//! diagnostic, the secure cookie default (session and CSRF cookies).

use auth_axum::auth_core::service::AuthService;
use auth_axum::{
    Auth, AuthRejection, CurrentUser, Database, DatabaseConfig, LoginRequired, MissingAuthLayer,
    PermissionDenied, SessionRequired,
};
use auth_tests::http::{TEST_COST, send};
use auth_tests::model::v1::User;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use std::time::Duration;

/// A database nobody listens on: any query would fail (503 after a short timeout).
fn unreachable_db() -> Database {
    let mut config = DatabaseConfig::new("postgres://nobody@127.0.0.1:9/none");
    config.acquire_timeout = Duration::from_millis(500);
    Database::with_config(config).unwrap()
}

fn get_req(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn public_routes_never_touch_the_database() {
    let auth = Auth::new(
        unreachable_db(),
        AuthService::<User>::builder()
            .bcrypt_cost(TEST_COST)
            .build(),
    );
    let app = auth_tests::http::router(&auth);
    // Even with a session cookie, a route without an auth extractor answers.
    let public = send(&app, get_req("/public", Some("__Host-auth_session=abc"))).await;
    assert_eq!(public.status, StatusCode::OK);
    // A route that asks for the user does go to the database, which is down: a clean 503.
    let private = send(&app, get_req("/private", Some("__Host-auth_session=abc"))).await;
    assert_eq!(private.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(private.code(), "unavailable");
    assert!(
        !private.body.to_string().contains("127.0.0.1"),
        "no internals leak: {}",
        private.body
    );
    // Without a cookie there is nothing to look up: 401 without any query.
    let anonymous = send(&app, get_req("/private", None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_missing_layer_is_a_500_that_names_it() {
    let app: Router = Router::new().route(
        "/private",
        get(|u: CurrentUser<User>| async move { u.account.clone() }),
    );
    let answer = send(&app, get_req("/private", Some("auth_session=abc"))).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.code(), "internal");
    // The message for the developer is in the log (see ApiError::internal); the client sees
    // only the stable code.
}

/// What a handler sees when it takes the extractor's result: the typed rejection, by kind,
/// each answering with its own status and code (as axum-core's rejections do).
#[tokio::test]
async fn rejections_are_typed() {
    async fn who(user: Result<CurrentUser<User>, AuthRejection>) -> String {
        match user {
            Ok(u) => u.account.clone(),
            Err(AuthRejection::LoginRequired(r)) => format!("login required: {}", r.status()),
            Err(AuthRejection::MissingAuthLayer(_)) => "wired wrong".into(),
            Err(AuthRejection::Failed(e)) => format!("failed: {}", e.status),
            Err(other) => format!("other: {other}"),
        }
    }
    let t = auth_tests::TestDb::sqlite().await;
    let _dir = auth_tests::http::migrate_user_table(&t).await;
    let auth = Auth::new(
        t.db.clone(),
        AuthService::<User>::builder()
            .bcrypt_cost(TEST_COST)
            .build(),
    );
    let layered: Router = Router::new().route("/who", get(who)).layer(auth.layer());
    let bare: Router = Router::new().route("/who", get(who));
    let down = Auth::new(
        unreachable_db(),
        AuthService::<User>::builder()
            .bcrypt_cost(TEST_COST)
            .build(),
    );
    let unreachable: Router = Router::new().route("/who", get(who)).layer(down.layer());
    let text = |router: Router, cookie: Option<&'static str>| async move {
        let req = get_req("/who", cookie);
        let res = tower::ServiceExt::oneshot(router, req).await.unwrap();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    assert_eq!(
        text(layered, None).await,
        "login required: 401 Unauthorized"
    );
    assert_eq!(text(bare, None).await, "wired wrong");
    assert_eq!(
        text(unreachable, Some("__Host-auth_session=abc")).await,
        "failed: 503 Service Unavailable"
    );

    // Each answers in the envelope with its stable code.
    for (rejection, status, code) in [
        (
            AuthRejection::from(LoginRequired::default()),
            401,
            "unauthenticated",
        ),
        (
            AuthRejection::from(PermissionDenied::default()),
            403,
            "forbidden",
        ),
        (
            AuthRejection::from(SessionRequired::default()),
            403,
            "session_required",
        ),
        (
            AuthRejection::from(MissingAuthLayer::new("no layer")),
            500,
            "internal",
        ),
    ] {
        assert_eq!(rejection.status().as_u16(), status);
        let res = axum::response::IntoResponse::into_response(rejection);
        assert_eq!(res.status().as_u16(), status);
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["code"], code);
        assert_eq!(body["success"], false);
        assert!(
            !body.to_string().contains("no layer"),
            "the detail is logged only"
        );
    }
}

#[tokio::test]
async fn the_cookie_is_secure_by_default() {
    let t = auth_tests::TestDb::sqlite().await;
    let _dir = auth_tests::http::migrate_user_table(&t).await;
    let auth = Auth::new(
        t.db.clone(),
        AuthService::<User>::builder()
            .bcrypt_cost(TEST_COST)
            .build(),
    );
    let app = auth_tests::http::router(&auth);
    let body = serde_json::json!({"account": "sam", "password": "pass-word-1"}).to_string();
    let post = |path: &str| {
        Request::post(format!("/api/contrib/auth/{path}"))
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .unwrap()
    };
    assert_eq!(
        send(&app, post("register")).await.status,
        StatusCode::CREATED
    );
    let login = send(&app, post("login")).await;
    let csrf = login
        .cookie("__Host-auth_csrf")
        .expect("CSRF cookie")
        .to_owned();
    assert!(csrf.contains("Secure"), "{csrf}");
    assert!(!csrf.contains("HttpOnly"), "{csrf}");
    let cookie = login
        .cookie("__Host-auth_session")
        .expect("the session cookie, __Host- prefixed")
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
}
