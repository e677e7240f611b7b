//! Two app instances on one database, each with its own pool and session cache (SPEC
//! C12.4): a change made on A is refused by B within B's sync interval, although B
//! answers warm requests from its cache. B is polled until a deadline; no fixed sleeps.

use std::time::{Duration, Instant};

use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_axum::{Auth, Database, HttpConfig, SessionCacheConfig};
use auth_tests::http::{Answer, TEST_COST, TestApp, router, send};
use auth_tests::{TestDb, backend_tests};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

/// How long B may take: its sync interval plus ample slack for a loaded CI machine.
const DEADLINE: Duration = Duration::from_secs(10);

fn http() -> HttpConfig {
    HttpConfig {
        session_cache: SessionCacheConfig {
            sync_interval: Duration::from_millis(200),
            ..SessionCacheConfig::default()
        },
        ..TestApp::http_config()
    }
}

/// Instance A (the test app) and a second instance B on the same database.
async fn two_instances(t: TestDb) -> (TestApp, Router) {
    let service = || AuthService::builder().bcrypt_cost(TEST_COST).build();
    let url = t.url.clone();
    let a = TestApp::with_config(t, service(), http()).await;
    let b_db = Database::connect(&url).expect("second pool");
    let b = router(&Auth::with_http(b_db, service(), http()));
    (a, b)
}

async fn get(router: &Router, path: &str, token: &str) -> Answer {
    let req = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header("cookie", format!("auth_session={token}"))
        .body(Body::empty())
        .unwrap();
    send(router, req).await
}

/// Polls `path` on `b` until it answers `want`, failing after [`DEADLINE`].
async fn until(b: &Router, path: &str, token: &str, want: StatusCode, what: &str) {
    let start = Instant::now();
    loop {
        let a = get(b, path, token).await;
        if a.status == want {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: instance B still answers {} after {DEADLINE:?}",
            a.status
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// B serves `path` warm (twice, so the second is from its cache).
async fn warm(b: &Router, path: &str, token: &str) {
    for _ in 0..2 {
        let a = get(b, path, token).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {:?}", a.body);
    }
}

async fn logout_on_a_ends_the_session_on_b(t: TestDb) {
    let (a, b) = two_instances(t).await;
    let (_, token) = a.user("alice").await;
    warm(&b, "/private", &token).await;
    let r = a.post("logout", json!({}), Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // A itself refuses at once.
    assert_eq!(
        a.get("me", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    until(&b, "/private", &token, StatusCode::UNAUTHORIZED, "logout").await;
}

async fn password_change_and_revocation_reach_b(t: TestDb) {
    let (a, b) = two_instances(t).await;
    let (_, first) = a.user("bob").await;
    let second = a.login("bob", "pass-word-1").await;
    let third = a.login("bob", "pass-word-1").await;
    for token in [&first, &second, &third] {
        warm(&b, "/private", token).await;
    }
    // Revoke the second session from the first.
    let sessions = a.get("sessions", Some(&first)).await;
    let id = sessions.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .and_then(|s| s["id"].as_i64())
        .unwrap();
    let r = a
        .call(
            Method::DELETE,
            &format!("/api/contrib/auth/sessions/{id}"),
            None,
            Some(&first),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // Then change the password from the first: every other session ends.
    let r = a
        .post(
            "change-password",
            json!({"old_password": "pass-word-1", "new_password": "fresh-pass-9"}),
            Some(&first),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for token in [&second, &third] {
        until(
            &b,
            "/private",
            token,
            StatusCode::UNAUTHORIZED,
            "other sessions",
        )
        .await;
    }
    warm(&b, "/private", &first).await;
}

async fn deactivation_and_edits_reach_b(t: TestDb) {
    let (a, b) = two_instances(t).await;
    let (id, token) = a.user("carol").await;
    warm(&b, "/api/contrib/auth/me", &token).await;
    // An edit on A shows on B.
    let r = a
        .call(
            Method::PATCH,
            "/api/contrib/auth/me",
            Some(json!({"nickname": "cc"})),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let start = Instant::now();
    loop {
        let me = get(&b, "/api/contrib/auth/me", &token).await;
        if me.body["data"]["extra"]["nickname"] == "cc" {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "the edit never reached B");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // A deactivation (straight through the storage API on A's pool) ends it on B.
    let mut conn = a.t.db.conn().await.unwrap();
    let mut user = <auth_tests::model::v1::User as auth_axum::UserStore>::find_by_id(&mut conn, id)
        .await
        .unwrap()
        .unwrap();
    user.is_active = false;
    auth_axum::UserStore::update_fields(&user, &mut conn, &["is_active"])
        .await
        .unwrap();
    until(
        &b,
        "/private",
        &token,
        StatusCode::UNAUTHORIZED,
        "deactivation",
    )
    .await;
}

async fn rbac_changes_reach_b(t: TestDb) {
    let (a, b) = two_instances(t).await;
    let (id, token) = a.user("dave").await;
    a.give_role(id, "admin-ish", &["users.read"]).await;
    {
        let mut conn = a.t.db.conn().await.unwrap();
        manage::bootstrap(&mut conn).await.unwrap();
    }
    warm(&b, "/api/contrib/auth/admin/users", &token).await;
    let mut conn = a.t.db.conn().await.unwrap();
    manage::revoke_role(&mut conn, id, "admin-ish", None)
        .await
        .unwrap();
    until(
        &b,
        "/api/contrib/auth/admin/users",
        &token,
        StatusCode::FORBIDDEN,
        "role revoked",
    )
    .await;
}

backend_tests!(
    logout_on_a_ends_the_session_on_b,
    password_change_and_revocation_reach_b,
    deactivation_and_edits_reach_b,
    rbac_changes_reach_b,
);
