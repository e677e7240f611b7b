//! No pooled connection held across hashing, and hashing bounded, over HTTP on every
//! backend: registrations with a small pool, authenticated requests during a login flood,
//! and 503 `busy` when the hashing queue is full.

use std::time::{Duration, Instant};

use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::ThrottleConfig;
use auth_axum::{Database, DatabaseConfig};
use auth_tests::http::{Answer, TestApp, send};
use auth_tests::{TestDb, backend_tests};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

/// bcrypt cost of these tests: about 0.2 s a hash in a debug build, long enough that a
/// connection held across hashing shows.
const SLOW_COST: u32 = 10;

/// `t` with a pool of `size` connections that waits at most `wait` for one.
fn small_pool(mut t: TestDb, size: usize, wait: Duration) -> TestDb {
    t.db = Database::with_config(DatabaseConfig {
        max_connections: size,
        acquire_timeout: wait,
        ..DatabaseConfig::new(t.url.clone())
    })
    .expect("pool");
    t
}

fn post(path: &str, body: &serde_json::Value) -> Request<Body> {
    Request::post(format!("/api/contrib/auth/{path}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// 40 registrations at once through a pool of 2 connections that waits at most 1 s:
/// forty hashes take about 4 s on two cores, so were a connection held across each hash
/// most registrations would time out waiting for one (503 `unavailable`).
async fn forty_registrations_through_a_small_pool(t: TestDb) {
    let t = small_pool(t, 2, Duration::from_secs(1));
    let service = AuthService::builder()
        .bcrypt_cost(SLOW_COST)
        .hash_permits(2)
        .hash_queue(64)
        .build();
    let app = TestApp::with_service(t, service).await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let router = app.router.clone();
            let req = post(
                "register",
                &json!({"account": format!("user{i}"), "password": "pass-word-1"}),
            );
            tokio::spawn(async move { send(&router, req).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let a = task.await.unwrap();
        assert_eq!(
            a.status,
            StatusCode::CREATED,
            "registration {i}: {:?}",
            a.body
        );
    }
}

/// While 30 wrong-password logins hash (pool of 4 connections), a logged-in client's
/// `GET me` requests all answer 200, none in over 1 s.
async fn me_stays_fast_during_a_login_flood(t: TestDb) {
    let t = small_pool(t, 4, Duration::from_secs(5));
    let service = AuthService::builder()
        .bcrypt_cost(SLOW_COST)
        .throttle(ThrottleConfig::disabled())
        .hash_permits(2)
        .hash_queue(64)
        .build();
    let app = TestApp::with_service(t, service).await;
    app.register("victim", "pass-word-1").await;
    let (_, token) = app.user("reader").await;
    let flood: Vec<_> = (0..30)
        .map(|_| {
            let router = app.router.clone();
            let req = post("login", &json!({"account": "victim", "password": "wrong"}));
            tokio::spawn(async move { send(&router, req).await.status })
        })
        .collect();
    let mut times = Vec::new();
    // Until the flood is over (at least 10 requests, the first ones surely during it).
    while times.len() < 10 || flood.iter().any(|f| !f.is_finished()) {
        let start = Instant::now();
        let a = app.get("me", Some(&token)).await;
        times.push(start.elapsed());
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    }
    for f in flood {
        assert_eq!(f.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    let slowest = times.iter().max().unwrap();
    assert!(
        *slowest < Duration::from_secs(1),
        "GET me took {slowest:?} during the flood ({} requests: {times:?})",
        times.len()
    );
}

/// One hashing permit and no queue: of several logins at once, those that find the permit
/// taken answer 503 `busy` at once, with `Retry-After`; none waits for the pool.
async fn a_full_hashing_queue_answers_busy(t: TestDb) {
    let service = AuthService::builder()
        .bcrypt_cost(12)
        .throttle(ThrottleConfig::disabled())
        .hash_permits(1)
        .hash_queue(0)
        .build();
    let app = TestApp::with_service(t, service).await;
    app.register("alice", "pass-word-1").await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let router = app.router.clone();
            let req = Request::post("/api/contrib/auth/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"account": "alice", "password": "pass-word-1"}).to_string(),
                ))
                .unwrap();
            tokio::spawn(async move {
                let res = tower::ServiceExt::oneshot(router, req).await.unwrap();
                let retry = res.headers().get(header::RETRY_AFTER).cloned();
                let status = res.status();
                let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
                    .await
                    .unwrap();
                let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                (status, retry, body)
            })
        })
        .collect();
    let (mut ok, mut busy) = (0, 0);
    for task in tasks {
        let (status, retry, body) = task.await.unwrap();
        match status {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(body["code"], "busy", "{body:?}");
                assert_eq!(body["retry_after"], 1, "{body:?}");
                assert_eq!(retry.unwrap().to_str().unwrap(), "1");
                busy += 1;
            }
            other => panic!("unexpected {other}: {body:?}"),
        }
    }
    assert!(ok >= 1 && busy >= 1, "{ok} logged in, {busy} busy");
    // Busy attempts are not held against anyone: the next login works.
    let a: Answer = app
        .post(
            "login",
            json!({"account": "alice", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
}

backend_tests!(
    forty_registrations_through_a_small_pool,
    me_stays_fast_during_a_login_flood,
    a_full_hashing_queue_answers_busy,
);
