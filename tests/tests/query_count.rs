//! The per-request cost model, counted, with the session cache off and on: every statement any connection runs is counted by a
//! process-wide Diesel instrumentation (this binary holds this one test, so nothing else
//! runs statements meanwhile). Backends run one after the other.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::session::SessionConfig;
use auth_axum::{Backend, CurrentUser, HttpConfig, SessionCacheConfig, permission_required};
use auth_tests::TestDb;
use auth_tests::http::{TEST_COST, TestApp, send};
use auth_tests::model::v1::User;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};

static QUERIES: AtomicUsize = AtomicUsize::new(0);

struct Counter;

impl Instrumentation for Counter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            QUERIES.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[permission_required("article.create")]
async fn guarded() -> &'static str {
    "ok"
}

async fn current(user: CurrentUser<User>) -> String {
    user.account.clone()
}

/// Statements run while answering `GET path` with the session cookie.
async fn cost(router: &Router, path: &str, token: &str) -> usize {
    let req = Request::get(path)
        .header("cookie", format!("auth_session={token}"))
        .body(Body::empty())
        .unwrap();
    let before = QUERIES.load(Ordering::SeqCst);
    let answer = send(router, req).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {:?}", answer.body);
    QUERIES.load(Ordering::SeqCst) - before
}

async fn measure(t: TestDb, cache: SessionCacheConfig) {
    // No idle-expiry renewal during the measurement: it is a separate, rate-limited write.
    let sessions = SessionConfig {
        touch_interval: Duration::from_secs(3600),
        ..SessionConfig::default()
    };
    let service = AuthService::<User>::builder()
        .bcrypt_cost(TEST_COST)
        .sessions(sessions)
        .build();
    let cached = cache.enabled();
    let http = HttpConfig {
        session_cache: cache,
        ..TestApp::http_config()
    };
    let app = TestApp::with_config(t, service, http).await;
    let (id, token) = app.user("counted").await;
    app.give_role(id, "Writer", &["article.create"]).await;
    let router: Router = Router::new()
        .route("/public", get(|| async { "ok" }))
        .route("/current", get(current))
        .route("/guarded", get(guarded))
        .layer(app.auth.layer());
    let backend = app.t.db.backend();

    assert_eq!(
        cost(&router, "/public", &token).await,
        0,
        "{backend}: public routes do no database work"
    );
    if !cached {
        assert_eq!(
            cost(&router, "/current", &token).await,
            1,
            "{backend}: session + user + version in one query"
        );
        let first = cost(&router, "/guarded", &token).await;
        assert!(
            (2..=5).contains(&first),
            "{backend}: a cold grant cache costs the lookup plus at most four: {first}"
        );
        assert_eq!(
            cost(&router, "/guarded", &token).await,
            1,
            "{backend}: a warm grant cache adds nothing"
        );
        return;
    }
    let cold = cost(&router, "/current", &token).await;
    assert!(
        (1..=3).contains(&cold),
        "{backend}: one lookup, plus where the revocation log stands the first time: {cold}"
    );
    assert_eq!(
        cost(&router, "/current", &token).await,
        0,
        "{backend}: a warm session costs nothing"
    );
    let first = cost(&router, "/guarded", &token).await;
    assert!(
        (1..=4).contains(&first),
        "{backend}: a cold grant cache costs at most four: {first}"
    );
    for _ in 0..3 {
        assert_eq!(
            cost(&router, "/guarded", &token).await,
            0,
            "{backend}: a warm guarded request does no database work"
        );
    }
    // An RBAC change here is seen on the very next request: it re-reads.
    app.give_role(id, "Reader", &["article.read"]).await;
    assert!(cost(&router, "/guarded", &token).await >= 1, "{backend}");
    assert_eq!(cost(&router, "/guarded", &token).await, 0, "{backend}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_per_request() {
    set_default_instrumentation(|| Some(Box::new(Counter))).unwrap();
    // The log reader's first read comes after an hour: none during the measurement.
    let cached = SessionCacheConfig {
        sync_interval: Duration::from_secs(3600),
        ..SessionCacheConfig::default()
    };
    for cache in [SessionCacheConfig::disabled(), cached] {
        measure(TestDb::sqlite().await, cache.clone()).await;
        for backend in [Backend::Postgres, Backend::Mysql] {
            if let Some(t) = TestDb::server(backend).await {
                measure(t, cache.clone()).await;
            }
        }
    }
}
