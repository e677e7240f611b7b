//! The orderings in which a session cache could keep a revoked session (issue: cross-instance
//! revocation without races). Each test holds one party at a pause point
//! ([`auth_tests::pause`]) while the other passes its own, then checks that the revoked
//! session is refused. No sleeps: the tests wait on the points and on the cache's log reads.
//!
//! - A late commit: ids are taken at insert, so a revocation committed after a later one
//!   has a smaller id than the log reader has already passed.
//! - A read before a remote commit, cached after the log reader saw that commit.
//! - A local counter bumped before its transaction committed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use auth_axum::auth_core::pause::Point;
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::session::SessionConfig;
use auth_axum::{Auth, Database, HttpConfig, SessionCacheConfig};
use auth_tests::http::{Answer, TEST_COST, TestApp, router, send};
use auth_tests::pause::Pauses;
use auth_tests::{TestDb, backend_tests};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

/// How long a wait may take before the test fails (a hang, not a timing).
const STUCK: Duration = Duration::from_secs(30);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(STUCK, f)
        .await
        .unwrap_or_else(|_| panic!("stuck waiting for {what}"))
}

fn http(sync: Duration) -> HttpConfig {
    HttpConfig {
        session_cache: SessionCacheConfig {
            sync_interval: sync,
            ..SessionCacheConfig::default()
        },
        ..TestApp::http_config()
    }
}

fn service() -> AuthService<auth_tests::model::v1::User> {
    AuthService::builder().bcrypt_cost(TEST_COST).build()
}

/// Instance A (whose own log reader is too slow to matter) and instance B, which reads
/// the log every few milliseconds; pause points on both.
async fn two_instances(t: TestDb) -> (Arc<TestApp>, Arc<Pauses>, Router, Arc<Pauses>) {
    let url = t.url.clone();
    let a = TestApp::with_config(t, service(), http(Duration::from_secs(3600))).await;
    let a_pauses = Pauses::install(&a.t.db);
    let b_db = Database::connect(&url).expect("second pool");
    let b_pauses = Pauses::install(&b_db);
    let b = router(&Auth::with_http(
        b_db,
        service(),
        http(Duration::from_millis(5)),
    ));
    (Arc::new(a), a_pauses, b, b_pauses)
}

async fn get(router: &Router, token: &str) -> Answer {
    let req = Request::builder()
        .method(Method::GET)
        .uri("/private")
        .header("cookie", format!("auth_session={token}"))
        .body(Body::empty())
        .unwrap();
    send(router, req).await
}

/// The id of `token`'s session (listed as current from itself).
async fn session_id(a: &TestApp, token: &str) -> i64 {
    let own = a.get("sessions", Some(token)).await;
    own.body["data"]
        .as_array()
        .expect("a list of sessions")
        .iter()
        .find(|s| s["current"] == true)
        .and_then(|s| s["id"].as_i64())
        .expect("a current session")
}

/// `DELETE sessions/{id}` as `acting`, on A, in its own task.
fn revoke(a: &Arc<TestApp>, acting: &str, id: i64) -> tokio::task::JoinHandle<Answer> {
    let (a, acting) = (a.clone(), acting.to_owned());
    tokio::spawn(async move {
        a.call(
            Method::DELETE,
            &format!("/api/contrib/auth/sessions/{id}"),
            None,
            Some(&acting),
        )
        .await
    })
}

/// B has read the log at least once since now (a whole read began after this call).
async fn b_caught_up(b_pauses: &Pauses) {
    let since = b_pauses.polls();
    within("B's log reads", b_pauses.polled(since, 2)).await;
}

/// Two revocations commit out of id order: the reader must not skip the earlier id.
async fn a_late_commit_is_not_skipped(t: TestDb) {
    let (a, a_pauses, b, b_pauses) = two_instances(t).await;
    let (u1, s1a) = a.user("ann").await;
    let s1b = a.login("ann", "pass-word-1").await;
    let (_, s2a) = a.user("ben").await;
    let s2b = a.login("ben", "pass-word-1").await;
    for token in [&s1b, &s2b] {
        for _ in 0..2 {
            assert_eq!(get(&b, token).await.status, StatusCode::OK);
        }
    }
    let (s1b_id, s2b_id) = (session_id(&a, &s1b).await, session_id(&a, &s2b).await);
    // Ann's revocation takes its log id, then waits before committing.
    let mut held = a_pauses.hold(Point::Commit { user_id: u1 });
    let first = revoke(&a, &s1a, s1b_id);
    within("ann's commit point", held.reached()).await;
    // Ben's takes the next id and commits; B reads past it.
    let second = revoke(&a, &s2a, s2b_id).await.unwrap();
    assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);
    b_caught_up(&b_pauses).await;
    assert_eq!(get(&b, &s2b).await.status, StatusCode::UNAUTHORIZED);
    // Ann's commits now, with the smaller id.
    held.release();
    let first = within("ann's revocation", first).await.unwrap();
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    b_caught_up(&b_pauses).await;
    assert_eq!(
        get(&b, &s1b).await.status,
        StatusCode::UNAUTHORIZED,
        "B skipped a revocation committed out of id order"
    );
}

/// B reads a session, A logs it out, B's reader sees the logout, and only then does B's
/// request cache what it read: the entry must not count as current.
async fn a_read_before_a_remote_commit_is_not_cached(t: TestDb) {
    let (a, _, b, b_pauses) = two_instances(t).await;
    let (u1, token) = a.user("cid").await;
    let mut held = b_pauses.hold(Point::Resolved { user_id: u1 });
    let b_request = {
        let (b, token) = (b.clone(), token.clone());
        tokio::spawn(async move { get(&b, &token).await })
    };
    within("B's read", held.reached()).await;
    let r = a.post("logout", json!({}), Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    b_caught_up(&b_pauses).await;
    held.release();
    // Read before the logout: it may answer as it was.
    within("B's request", b_request).await.unwrap();
    assert_eq!(
        get(&b, &token).await.status,
        StatusCode::UNAUTHORIZED,
        "B cached a session read before another instance's logout"
    );
}

/// One instance: a request reads the session while the revoking transaction is open but
/// not committed. Its read must not stay cached after the commit.
async fn a_read_during_an_open_revocation_is_not_kept(t: TestDb) {
    let a = TestApp::with_config(t, service(), http(Duration::from_secs(3600))).await;
    let a = Arc::new(a);
    let pauses = Pauses::install(&a.t.db);
    let (u1, acting) = a.user("dee").await;
    let victim = a.login("dee", "pass-word-1").await;
    let id = session_id(&a, &victim).await;
    for _ in 0..2 {
        assert_eq!(get(&a.router, &victim).await.status, StatusCode::OK);
    }
    let mut held = pauses.hold(Point::Commit { user_id: u1 });
    let revoking = revoke(&a, &acting, id);
    within("the commit point", held.reached()).await;
    // Not committed yet: the session is still good.
    assert_eq!(get(&a.router, &victim).await.status, StatusCode::OK);
    held.release();
    let r = within("the revocation", revoking).await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        get(&a.router, &victim).await.status,
        StatusCode::UNAUTHORIZED,
        "a read made before the commit was kept as current"
    );
}

/// B has not heard of a logout yet, but its background touch of the cached session finds
/// the row gone: that counts as the revocation, without waiting for the log.
async fn a_touch_that_finds_the_session_gone_revokes_it(t: TestDb) {
    let url = t.url.clone();
    let a = TestApp::new(t).await;
    let always_touch = || {
        AuthService::builder()
            .bcrypt_cost(TEST_COST)
            .sessions(SessionConfig {
                touch_interval: Duration::ZERO,
                ..SessionConfig::default()
            })
            .build()
    };
    let b_db = Database::connect(&url).expect("second pool");
    let b_pauses = Pauses::install(&b_db);
    // B never reads the log during the test.
    let b = router(&Auth::with_http(
        b_db,
        always_touch(),
        http(Duration::from_secs(3600)),
    ));
    let (u1, token) = a.user("eve").await;
    // Warm on B; every hit writes a touch in the background.
    let mut written = b_pauses.hold(Point::Written { user_id: u1 });
    for _ in 0..2 {
        assert_eq!(get(&b, &token).await.status, StatusCode::OK);
    }
    within("B's touch", written.reached()).await;
    written.release();
    let r = a.post("logout", json!({}), Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // A hit (B has not heard), whose touch finds nothing to update.
    let mut written = b_pauses.hold(Point::Written { user_id: u1 });
    assert_eq!(get(&b, &token).await.status, StatusCode::OK);
    within("B's touch", written.reached()).await;
    written.release();
    assert_eq!(
        get(&b, &token).await.status,
        StatusCode::UNAUTHORIZED,
        "a touch of a deleted session left it cached"
    );
}

/// Two writers interleave only on the server databases (SQLite has one writer).
async fn a_late_commit_is_not_skipped_on_servers(t: TestDb) {
    if t.db.backend() == auth_axum::Backend::Sqlite {
        return;
    }
    a_late_commit_is_not_skipped(t).await;
}

backend_tests!(
    a_late_commit_is_not_skipped_on_servers,
    a_read_before_a_remote_commit_is_not_cached,
    a_read_during_an_open_revocation_is_not_kept,
    a_touch_that_finds_the_session_gone_revokes_it,
);
