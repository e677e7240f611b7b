//! What account security adds to a login, as ratios against the same login with throttling
//! off, measured in the same run: `cargo bench -p auth-tests --bench login_cost`.
//!
//! Both apps record audit events (that is not optional). bcrypt runs at the tests' cost (4)
//! so that the database work shows; at the default cost 12 bcrypt dominates every figure.
//! - `*_unthrottled`: `ThrottleConfig::disabled()`, the baseline;
//! - `*_throttled`: the defaults: a lock check before the password, failure counters on a
//!   refusal, the account counter cleared on success;
//! - `failure_*` uses a new unknown account name each time (a spraying attacker), so the
//!   throttled app writes a new counter row each time.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};

use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::ThrottleConfig;
use auth_tests::http::{TEST_COST, TestApp, send};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn login(account: &str, password: &str) -> Request<Body> {
    Request::post("/api/contrib/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"account": account, "password": password}).to_string(),
        ))
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let apps = rt.block_on(async {
        let mut apps = Vec::new();
        for (name, throttle) in [
            ("unthrottled", ThrottleConfig::disabled()),
            ("throttled", ThrottleConfig::default()),
        ] {
            let service = AuthService::builder()
                .bcrypt_cost(TEST_COST)
                .throttle(throttle)
                .build();
            let app = TestApp::with_service(auth_tests::TestDb::sqlite().await, service).await;
            app.register("bench", "pass-word-1").await;
            apps.push((name, app));
        }
        apps
    });
    let unknown = AtomicU64::new(0);
    let mut group = c.benchmark_group("login_cost");
    for (name, app) in &apps {
        group.bench_function(format!("success_{name}"), |b| {
            b.to_async(&rt).iter(|| async {
                let a = send(&app.router, login("bench", "pass-word-1")).await;
                assert_eq!(a.status, StatusCode::OK);
            })
        });
        group.bench_function(format!("failure_{name}"), |b| {
            b.to_async(&rt).iter(|| async {
                let n = unknown.fetch_add(1, Ordering::Relaxed);
                let a = send(&app.router, login(&format!("nobody-{n}"), "wrong")).await;
                assert_eq!(a.status, StatusCode::UNAUTHORIZED);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
