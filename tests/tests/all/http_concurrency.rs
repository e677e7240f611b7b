//! Concurrency: racing registrations, and logins that hash off the executor.

use std::sync::{Arc, Mutex};

use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::with_conn;
use auth_tests::http::{TestApp, send};
use auth_tests::model::v1;
use auth_tests::{TestDb, backend_tests};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

fn post(path: &str, body: &serde_json::Value) -> Request<Body> {
    Request::post(format!("/api/contrib/auth/{path}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn fifty_identical_registrations_make_one_user(t: TestDb) {
    // A hashing queue for all fifty: this test is about the unique account, not the
    // hashing limit (http_pool.rs tests that).
    let service = AuthService::<v1::User>::builder()
        .bcrypt_cost(auth_tests::http::TEST_COST)
        .hash_queue(64)
        .build();
    let app = TestApp::with_service(t, service).await;
    let body = json!({"account": "racer", "password": "pass-word-1", "email": "racer@example.com"});
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let router = app.router.clone();
            let req = post("register", &body);
            tokio::spawn(async move { send(&router, req).await })
        })
        .collect();
    let mut created = 0;
    let mut conflicts = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                assert_eq!(answer.code(), "conflict");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {:?}", answer.body),
        }
    }
    assert_eq!((created, conflicts), (1, 49));
    let mut conn = app.t.db.conn().await.unwrap();
    let count: i64 =
        with_conn!(&mut conn, |c| v1::users::table.count().get_result(c).await).unwrap();
    assert_eq!(count, 1);
}

backend_tests!(fifty_identical_registrations_make_one_user);

/// With one executor thread, requests that need no hashing all finish before the first of
/// eight concurrent logins at bcrypt's default cost: hashing runs on the blocking pool, not
/// on the executor. (Were it run inline, the executor thread would be held by a hash and the
/// unrelated requests would queue behind it.) Shown by the order of completions.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn unrelated_requests_are_not_stalled_by_hashing() {
    // Throttling off: eight parallel attempts on one account are more than its limit, and
    // attempts are counted before they are checked.
    let service = AuthService::<v1::User>::builder()
        .bcrypt_cost(auth_axum::auth_core::password::DEFAULT_BCRYPT_COST)
        .throttle(auth_axum::auth_core::throttle::ThrottleConfig::disabled())
        .build();
    let app = TestApp::with_service(TestDb::sqlite().await, service).await;
    app.register("busy", "pass-word-1").await;

    let order = Arc::new(Mutex::new(Vec::new()));
    let logins: Vec<_> = (0..8)
        .map(|_| {
            let (router, order) = (app.router.clone(), order.clone());
            let req = post(
                "login",
                &json!({"account": "busy", "password": "pass-word-1"}),
            );
            tokio::spawn(async move {
                let answer = send(&router, req).await;
                order.lock().unwrap().push("login");
                answer.status
            })
        })
        .collect();
    for _ in 0..20 {
        let router = app.router.clone();
        let req = Request::get("/public").body(Body::empty()).unwrap();
        let answer = tokio::spawn(async move { send(&router, req).await })
            .await
            .unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        order.lock().unwrap().push("public");
    }
    for login in logins {
        assert_eq!(login.await.unwrap(), StatusCode::OK);
    }
    let order = order.lock().unwrap();
    let first_login = order.iter().position(|e| *e == "login").unwrap();
    let last_public = order.iter().rposition(|e| *e == "public").unwrap();
    assert!(
        last_public < first_login,
        "unrelated requests waited for hashing: {order:?}"
    );
}
