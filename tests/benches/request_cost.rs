//! What authentication costs per request, as ratios against a public route measured in the
//! same run: `cargo bench -p auth-tests --bench request_cost`.
//!
//! Every request goes through the full stack (auth layer, cookie parsing, router) as a
//! service on a SQLite file database:
//! - `public`: no auth extractor (the baseline; the layer only attaches a handle);
//! - `current_user`: `CurrentUser<User>` (one query: session, user and RBAC version);
//! - `permission_cached`: `#[permission_required]` with the grants cached;
//! - `permission_uncached`: the same after an RBAC change each time (grants recomputed);
//!   subtract `rbac_change_only` (the change by itself).

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use auth_axum::rbac::manage;
use auth_axum::{CurrentUser, permission_required};
use auth_tests::http::{TestApp, send};
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

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, router, token) = rt.block_on(async {
        let app = TestApp::new(auth_tests::TestDb::sqlite().await).await;
        let (id, token) = app.user("bench").await;
        app.give_role(id, "Writer", &["article.create"]).await;
        let router: Router = Router::new()
            .route("/public", get(|| async { "ok" }))
            .route("/current", get(current))
            .route("/guarded", get(guarded))
            .layer(app.auth.layer());
        (app, router, token)
    });
    let mut group = c.benchmark_group("request_cost");
    for (name, path) in [
        ("public", "/public"),
        ("current_user", "/current"),
        ("permission_cached", "/guarded"),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let answer = send(&router, request(path, &token)).await;
                assert_eq!(answer.status, StatusCode::OK);
            })
        });
    }
    // The RBAC change alone, to subtract from `permission_uncached`.
    group.bench_function("rbac_change_only", |b| {
        b.to_async(&rt).iter(|| async {
            let mut conn = app.t.db.conn().await.unwrap();
            manage::get_or_create_permission(&mut conn, "article.create", "")
                .await
                .unwrap();
        })
    });
    group.bench_function("permission_uncached", |b| {
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

criterion_group!(benches, bench);
criterion_main!(benches);
