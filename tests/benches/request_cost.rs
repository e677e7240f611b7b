//! What authentication costs per request, as ratios against a public route measured in the
//! same run: `cargo bench -p auth-tests --bench request_cost`.
//!
//! Every request goes through the full stack (auth layer, cookie parsing, router) as a
//! service on a SQLite file database, with the session cache on (`cached/...`, the
//! default) and off (`uncached/...`, one query per authenticated request):
//! - `public`: no auth extractor (the baseline; the layer only attaches a handle);
//! - `current_user`: `CurrentUser<User>`;
//! - `permission_warm`: `#[permission_required]` with the grants cached;
//! - `permission_warm_api_key`, `permission_warm_jwt`: the same with an API key, then a JWT
//!   access token, as `Authorization: Bearer` (a warm bearer request should cost what a
//!   warm cookie request does);
//! - `permission_after_rbac_change`: the same after an RBAC change each time (session and
//!   grants re-read); subtract `rbac_change_only` (the change by itself).
//!
//! `request_cost/roles/permission_warm/{1,10,100,1000}` repeats the warm check for a user
//! holding that many roles: the cached check does not grow with them.
//!
//! It also prints the memory one cached session takes: the process's resident size before
//! and after 20,000 sessions are resolved once each (so cached), divided by 20,000.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use auth_axum::auth_core::jwt::JwtConfig;
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_axum::{CurrentUser, HttpConfig, SessionCacheConfig, permission_required};
use auth_axum::{auth_core::api_key, auth_core::session};
use auth_tests::http::{TEST_COST, TestApp, send};
use auth_tests::model::v1::User;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};

#[permission_required("article.create")]
async fn guarded() -> &'static str {
    "ok"
}

async fn current(user: CurrentUser<User>) -> String {
    user.account.clone()
}

fn request(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header("cookie", format!("auth_session={token}"))
        .body(Body::empty())
        .unwrap()
}

fn bearer(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

/// The bearer credentials of `id` (holding the session of `token`): an API key and a JWT
/// access token of that session.
async fn bearers(app: &TestApp, id: i64) -> (String, String) {
    let mut conn = app.t.db.conn().await.unwrap();
    let (key, _) = api_key::create(
        &mut conn,
        api_key::NewApiKey {
            user_id: id,
            name: "bench",
            permissions: None,
            expires_at: None,
        },
    )
    .await
    .unwrap();
    let sid = session::list_for_user(&mut conn, id).await.unwrap()[0].id;
    let jwt = app.auth.service().jwt().unwrap();
    let (access, _) = jwt
        .issue(id, sid, auth_axum::auth_core::jwt::unix_now())
        .unwrap();
    (key, access)
}

/// The app with the session cache set by `cache`, one user holding `article.create`.
async fn app_with(cache: SessionCacheConfig) -> (TestApp, Router, String) {
    let http = HttpConfig {
        session_cache: cache,
        ..TestApp::http_config()
    };
    let mut jwt = JwtConfig::ephemeral();
    // Longer than any run of the benchmark.
    jwt.access_ttl = std::time::Duration::from_secs(24 * 3600);
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .jwt(jwt)
        .build();
    let app = TestApp::with_config(auth_tests::TestDb::sqlite().await, service, http).await;
    let (id, token) = app.user("bench").await;
    app.give_role(id, "Writer", &["article.create"]).await;
    let router: Router = Router::new()
        .route("/public", get(|| async { "ok" }))
        .route("/current", get(current))
        .route("/guarded", get(guarded))
        .layer(app.auth.layer())
        // As `axum::serve` does: turn the handlers into services once, not per request.
        .with_state(());
    (app, router, token)
}

/// The app with one user holding `roles` roles, each granting its own permission, the
/// last one granting `article.create` too (so the check has the whole set to look in).
async fn app_with_roles(roles: usize) -> (TestApp, Router, String) {
    let (app, _, _) = app_with(SessionCacheConfig::default()).await;
    let (id, token) = app.user("many").await;
    for i in 0..roles {
        let own = format!("app.perm{i}");
        let mut grants = vec![own.as_str()];
        if i + 1 == roles {
            grants.push("article.create");
        }
        app.give_role(id, &format!("Role{i}"), &grants).await;
    }
    let router: Router = Router::new()
        .route("/guarded", get(guarded))
        .layer(app.auth.layer())
        .with_state(());
    (app, router, token)
}

/// Resident memory of this process in bytes (Linux), if readable.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Prints the resident memory per cached session: 20,000 sessions (created straight in
/// the database) each resolved once.
fn memory_per_session(rt: &tokio::runtime::Runtime) {
    rt.block_on(async {
        let (app, router, _) = app_with(SessionCacheConfig::default()).await;
        let n = 20_000;
        let mut tokens = Vec::with_capacity(n);
        let mut conn = app.t.db.conn().await.unwrap();
        let user = <User as auth_axum::UserStore>::find_by_account(&mut conn, "bench")
            .await
            .unwrap()
            .map(|u| auth_axum::AuthUser::id(&u))
            .unwrap();
        for _ in 0..n {
            let (token, _) = session::create(
                &mut conn,
                session::NewSession {
                    user_id: user,
                    platform: "default",
                    ip: Some("127.0.0.1"),
                    user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) bench"),
                    session_info: None,
                    mfa: false,
                },
                &session::SessionConfig::default(),
            )
            .await
            .unwrap();
            tokens.push(token);
        }
        drop(conn);
        // Warm the allocator and the code paths, then measure.
        for token in tokens.iter().take(100) {
            send(&router, request("/current", token)).await;
        }
        let before = resident_bytes();
        for token in &tokens {
            let answer = send(&router, request("/current", token)).await;
            assert_eq!(answer.status, StatusCode::OK);
        }
        let after = resident_bytes();
        if let (Some(before), Some(after)) = (before, after) {
            println!(
                "session cache: {} sessions cached, resident memory +{} KiB, about {} bytes each",
                n,
                after.saturating_sub(before) / 1024,
                after.saturating_sub(before) / n as u64
            );
        }
    });
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    memory_per_session(&rt);
    for (label, cache) in [
        ("cached", SessionCacheConfig::default()),
        ("uncached", SessionCacheConfig::disabled()),
    ] {
        let (app, router, token) = rt.block_on(app_with(cache));
        let id = rt.block_on(async {
            let mut conn = app.t.db.conn().await.unwrap();
            let user = <User as auth_axum::UserStore>::find_by_account(&mut conn, "bench")
                .await
                .unwrap()
                .unwrap();
            auth_axum::AuthUser::id(&user)
        });
        let (key, access) = rt.block_on(bearers(&app, id));
        let mut group = c.benchmark_group(format!("request_cost/{label}"));
        for (name, path) in [
            ("public", "/public"),
            ("current_user", "/current"),
            ("permission_warm", "/guarded"),
        ] {
            group.bench_function(name, |b| {
                b.to_async(&rt).iter(|| async {
                    let answer = send(&router, request(path, &token)).await;
                    assert_eq!(answer.status, StatusCode::OK);
                })
            });
        }
        for (name, credential) in [
            ("permission_warm_api_key", &key),
            ("permission_warm_jwt", &access),
        ] {
            group.bench_function(name, |b| {
                b.to_async(&rt).iter(|| async {
                    let answer = send(&router, bearer("/guarded", credential)).await;
                    assert_eq!(answer.status, StatusCode::OK);
                })
            });
        }
        // The RBAC change alone, to subtract from `permission_after_rbac_change`.
        group.bench_function("rbac_change_only", |b| {
            b.to_async(&rt).iter(|| async {
                let mut conn = app.t.db.conn().await.unwrap();
                manage::get_or_create_permission(&mut conn, "article.create", "")
                    .await
                    .unwrap();
            })
        });
        group.bench_function("permission_after_rbac_change", |b| {
            b.to_async(&rt).iter(|| async {
                let mut conn = app.t.db.conn().await.unwrap();
                manage::get_or_create_permission(&mut conn, "article.create", "")
                    .await
                    .unwrap();
                drop(conn);
                let answer = send(&router, request("/guarded", &token)).await;
                assert_eq!(answer.status, StatusCode::OK);
            })
        });
        group.finish();
    }
    // The warm check against the number of roles the user holds: flat, since the grants
    // are held by the session's cache entry (one set lookup).
    let mut group = c.benchmark_group("request_cost/roles");
    for roles in [1, 10, 100, 1000] {
        let (_app, router, token) = rt.block_on(app_with_roles(roles));
        group.bench_function(format!("permission_warm/{roles}"), |b| {
            b.to_async(&rt).iter(|| async {
                let answer = send(&router, request("/guarded", &token)).await;
                assert_eq!(answer.status, StatusCode::OK);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
