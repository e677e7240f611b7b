//! An authenticated route during a login flood, against the same route with no flood, in
//! the same run: `cargo bench -p auth-tests --bench login_flood`.
//!
//! bcrypt runs at the default cost (12) with the default hashing limits (one permit per
//! core, 32 queued per permit), on a SQLite file database with the default pool (16
//! connections). The flood is 32 clients each sending wrong-password logins back to back
//! (throttling off, so every one is verified). Printed before criterion's figures:
//! - login throughput during the flood (verified logins per second) and how many were
//!   refused with 503 `busy`;
//! - p50 / p99 / max of `GET me` (one guarded request at a time) with no flood and during
//!   it, from 1,000 requests each.
//!
//! Criterion then measures the mean of `GET me` in both conditions (`me_idle`,
//! `me_during_flood`).

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::ThrottleConfig;
use auth_tests::http::{TestApp, send};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

/// Concurrent flooding clients.
const FLOODERS: usize = 32;
/// `GET me` requests per percentile figure.
const SAMPLES: usize = 1000;

fn me(token: &str) -> Request<Body> {
    Request::get("/api/contrib/auth/me")
        .header("cookie", format!("auth_session={token}"))
        .body(Body::empty())
        .unwrap()
}

fn wrong_login() -> Request<Body> {
    Request::post("/api/contrib/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"account": "victim", "password": "wrong-guess"}).to_string(),
        ))
        .unwrap()
}

/// A running flood: stop it with [`Flood::stop`], which returns (verified, busy) logins.
struct Flood {
    running: Arc<AtomicBool>,
    verified: Arc<AtomicU64>,
    busy: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Flood {
    fn start(router: &Router) -> Flood {
        let running = Arc::new(AtomicBool::new(true));
        let verified = Arc::new(AtomicU64::new(0));
        let busy = Arc::new(AtomicU64::new(0));
        let tasks = (0..FLOODERS)
            .map(|_| {
                let (router, running) = (router.clone(), running.clone());
                let (verified, busy) = (verified.clone(), busy.clone());
                tokio::spawn(async move {
                    while running.load(Ordering::Relaxed) {
                        match send(&router, wrong_login()).await.status {
                            StatusCode::UNAUTHORIZED => verified.fetch_add(1, Ordering::Relaxed),
                            StatusCode::SERVICE_UNAVAILABLE => busy.fetch_add(1, Ordering::Relaxed),
                            other => panic!("flood login answered {other}"),
                        };
                    }
                })
            })
            .collect();
        Flood {
            running,
            verified,
            busy,
            tasks,
        }
    }

    async fn stop(self) -> (u64, u64) {
        self.running.store(false, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        (
            self.verified.load(Ordering::Relaxed),
            self.busy.load(Ordering::Relaxed),
        )
    }
}

/// p50, p99 and max of sequential `GET me`: at least `SAMPLES`, and for at least `span`.
async fn percentiles(router: &Router, token: &str, span: Duration) -> [Duration; 3] {
    let mut times = Vec::with_capacity(SAMPLES);
    let start = Instant::now();
    while times.len() < SAMPLES || start.elapsed() < span {
        let t = Instant::now();
        let a = send(router, me(token)).await;
        times.push(t.elapsed());
        assert_eq!(a.status, StatusCode::OK);
    }
    times.sort();
    let n = times.len();
    [times[n / 2], times[n * 99 / 100], times[n - 1]]
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, token) = rt.block_on(async {
        let service = AuthService::builder()
            .throttle(ThrottleConfig::disabled())
            .build();
        let app = TestApp::with_service(auth_tests::TestDb::sqlite().await, service).await;
        app.register("victim", "pass-word-1").await;
        let (_, token) = app.user("reader").await;
        (app, token)
    });
    let router = app.router.clone();
    let limits = app.auth.service().hasher().limits();
    rt.block_on(async {
        percentiles(&router, &token, Duration::ZERO).await; // warm-up
        let idle = percentiles(&router, &token, Duration::ZERO).await;
        let flood = Flood::start(&router);
        // Let the flood fill the hashing queue, then count over the sampling span.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (start, before) = (Instant::now(), flood.verified.load(Ordering::Relaxed));
        let flooded = percentiles(&router, &token, Duration::from_secs(10)).await;
        let elapsed = start.elapsed();
        let verified = flood.verified.load(Ordering::Relaxed) - before;
        let (_, busy) = flood.stop().await;
        println!(
            "login_flood: cost {}, {} hashing permits, queue {}, {FLOODERS} flooding clients",
            app.auth.service().hasher().cost(),
            limits.permits,
            limits.queue
        );
        println!(
            "login_flood: login throughput {:.1}/s ({verified} verified in {:.1} s; {busy} busy)",
            verified as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64()
        );
        for (name, [p50, p99, max]) in [("no flood", idle), ("during flood", flooded)] {
            println!("login_flood: GET me {name}: p50 {p50:?}, p99 {p99:?}, max {max:?}");
        }
    });
    let mut group = c.benchmark_group("login_flood");
    group.bench_function("me_idle", |b| {
        b.to_async(&rt).iter(|| async {
            assert_eq!(send(&router, me(&token)).await.status, StatusCode::OK);
        })
    });
    let flood = rt.block_on(async { Flood::start(&router) });
    group.bench_function("me_during_flood", |b| {
        b.to_async(&rt).iter(|| async {
            assert_eq!(send(&router, me(&token)).await.status, StatusCode::OK);
        })
    });
    let (verified, busy) = rt.block_on(flood.stop());
    println!("login_flood: {verified} logins verified, {busy} busy during me_during_flood");
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
