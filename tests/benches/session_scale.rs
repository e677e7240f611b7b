//! The session lookup at scale, on PostgreSQL: the same request timed against a nearly
//! empty `auth_sessions` and against a large one, in the same run.
//!
//! ```sh
//! AUTH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo bench -p auth-tests --bench session_scale
//! ```
//!
//! Two databases are created and dropped at the end: `empty` holds one user and its
//! session; `large` also holds `AUTH_BENCH_USERS` users (default 1,000,000) and
//! `AUTH_BENCH_SESSIONS` sessions (default 10,000,000), written with `generate_series` in
//! SQL. Timed, per database: `GET /api/contrib/auth/me` through the whole stack, and
//! `UserStore::find_by_session` on a pooled connection (the query every authenticated
//! request runs). After criterion, an interleaved run (`AUTH_BENCH_ROUNDS` rounds, default
//! 20, of `AUTH_BENCH_PER_ROUND` requests, default 200, on each table) prints the
//! large / empty ratios. `AUTH_BENCH_CHAR64=1` turns the large table's `token_hash` back
//! into `CHAR(64)` (the schema before migration 5) to measure the scan the issue reported.
//! Without `AUTH_TEST_POSTGRES_URL` the bench says so and does nothing.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use auth_axum::auth_core::migrate::{self, AppMigrations};
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::session::{SessionConfig, hash_token};
use auth_axum::{Backend, UserStore};
use auth_tests::TestDb;
use auth_tests::http::{TEST_COST, TestApp, send};
use auth_tests::model::v1::User;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{Criterion, criterion_group, criterion_main};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

/// How many distinct sessions each table is timed over, in turn.
const ROTATION: usize = 16;

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A migrated app with one registered (and logged-in) user; returns the app and a token.
async fn app(t: TestDb) -> (TestApp, String) {
    // No idle-expiry renewal while timing: reads only.
    let sessions = SessionConfig {
        touch_interval: Duration::from_secs(3600),
        ..SessionConfig::default()
    };
    let service = AuthService::<User>::builder()
        .bcrypt_cost(TEST_COST)
        .sessions(sessions)
        .build();
    let app = TestApp::with_service(t, service).await;
    let (_, token) = app.user("bench").await;
    (app, token)
}

/// Fills `url`'s users and sessions in SQL, then analyzes both tables.
async fn fill(url: &str, users: u64, sessions: u64) {
    let mut c = AsyncPgConnection::establish(url).await.unwrap();
    let started = Instant::now();
    c.batch_execute(&format!(
        "SET synchronous_commit = off;
         INSERT INTO users (account, password, email, is_superuser, is_active, is_verified,
                            date_joined, first_name, age, newsletter, external_id)
         SELECT 'user' || g, '!', 'user' || g || '@example.test', false, true, false,
                now() AT TIME ZONE 'utc', '', 0, false, gen_random_uuid()
         FROM generate_series(1, {users}) AS g;"
    ))
    .await
    .unwrap();
    // Sessions in chunks (one transaction each), spread over the users.
    let chunk = 1_000_000;
    let mut from = 1;
    while from <= sessions {
        let to = (from + chunk - 1).min(sessions);
        c.batch_execute(&format!(
            "INSERT INTO auth_sessions (token_hash, user_id, created_at, last_seen_at,
                                        idle_expires_at, absolute_expires_at, ip, user_agent)
             SELECT encode(sha256(('bench-session-' || g)::bytea), 'hex'),
                    (SELECT min(id) FROM users) + g % {users},
                    now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc',
                    now() AT TIME ZONE 'utc' + interval '1 day',
                    now() AT TIME ZONE 'utc' + interval '30 days',
                    '127.0.0.1', 'bench'
             FROM generate_series({from}, {to}) AS g;"
        ))
        .await
        .unwrap();
        from = to + 1;
    }
    // One statement per call: VACUUM refuses a multi-statement (transaction) block.
    for table in ["users", "auth_sessions"] {
        c.batch_execute(&format!("VACUUM ANALYZE {table}"))
            .await
            .unwrap();
    }
    eprintln!(
        "session_scale: {users} users and {sessions} sessions written in {:.1?}",
        started.elapsed()
    );
}

fn me(token: &str) -> Request<Body> {
    Request::get("/api/contrib/auth/me")
        .header("host", "localhost")
        .header("cookie", format!("auth_session={token}"))
        .body(Body::empty())
        .unwrap()
}

async fn get_me(app: &TestApp, token: &str) {
    let answer = send(&app.router, me(token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
}

async fn lookup(app: &TestApp, hash: &str) {
    let mut conn = app.t.db.conn().await.unwrap();
    let found = User::find_by_session(&mut conn, hash).await.unwrap();
    assert!(found.is_some());
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let users = env_count("AUTH_BENCH_USERS", 1_000_000);
    let sessions = env_count("AUTH_BENCH_SESSIONS", 10_000_000);
    let Some(tables) = rt.block_on(async {
        let empty = TestDb::server(Backend::Postgres).await?;
        let large = TestDb::server(Backend::Postgres).await?;
        if std::env::var("AUTH_BENCH_CHAR64").as_deref() == Ok("1") {
            // The schema before migration 5, to measure what the issue reported: the core
            // tables, then the column back to CHAR(64) before any pooled connection caches
            // a statement over it.
            migrate::run(&large.db, &AppMigrations::None).await.unwrap();
            let mut c = AsyncPgConnection::establish(&large.url).await.unwrap();
            c.batch_execute("ALTER TABLE auth_sessions ALTER COLUMN token_hash TYPE CHAR(64)")
                .await
                .unwrap();
            eprintln!("session_scale: large table with token_hash CHAR(64)");
        }
        let empty = app(empty).await;
        let large = app(large).await;
        fill(&large.0.t.url, users, sessions).await;
        // Each table is timed over 16 distinct sessions in turn (the same key every time
        // would flatter a sequential scan: PostgreSQL starts a scan of a large table where
        // the last one stopped). Nearly empty: 16 logins of the one user. Large: 16 of the
        // generated sessions (cookie token `bench-session-<g>`), spread over the heap.
        let mut empty_tokens = Vec::new();
        for _ in 0..ROTATION {
            empty_tokens.push(empty.0.login("bench", "pass-word-1").await);
        }
        // Visited 7/16 of the table apart, so that a scan restarting where the previous one
        // stopped still reads about half the table, as with random sessions.
        let large_tokens: Vec<String> = (0..ROTATION as u64)
            .map(|i| i * 7 % ROTATION as u64 + 1)
            .map(|k| format!("bench-session-{}", sessions * k / ROTATION as u64))
            .collect();
        Some([
            ("empty", empty.0, empty_tokens),
            ("large", large.0, large_tokens),
        ])
    }) else {
        eprintln!("session_scale: set AUTH_TEST_POSTGRES_URL to run this benchmark");
        return;
    };
    let hashes: Vec<Vec<String>> = tables
        .iter()
        .map(|(_, _, tokens)| tokens.iter().map(|t| hash_token(t)).collect())
        .collect();

    let mut group = c.benchmark_group("session_scale");
    for ((name, app, tokens), hashes) in tables.iter().zip(&hashes) {
        let next = AtomicUsize::new(0);
        let pick = || next.fetch_add(1, Ordering::Relaxed) % ROTATION;
        group.bench_function(format!("get_me/{name}"), |b| {
            b.to_async(&rt).iter(|| get_me(app, &tokens[pick()]))
        });
        group.bench_function(format!("find_by_session/{name}"), |b| {
            b.to_async(&rt).iter(|| lookup(app, &hashes[pick()]))
        });
    }
    group.finish();

    // The ratios, measured interleaved so that both tables see the same machine load.
    rt.block_on(async {
        let rounds = env_count("AUTH_BENCH_ROUNDS", 20);
        let per_round = env_count("AUTH_BENCH_PER_ROUND", 200) as usize;
        let mut totals = [[Duration::ZERO; 2]; 2];
        for _ in 0..rounds {
            for (i, ((_, app, tokens), hashes)) in tables.iter().zip(&hashes).enumerate() {
                let started = Instant::now();
                for k in 0..per_round {
                    get_me(app, &tokens[k % ROTATION]).await;
                }
                totals[0][i] += started.elapsed();
                let started = Instant::now();
                for k in 0..per_round {
                    lookup(app, &hashes[k % ROTATION]).await;
                }
                totals[1][i] += started.elapsed();
            }
        }
        let n = u32::try_from(rounds * per_round as u64).unwrap();
        for (kind, [empty, large]) in ["GET me", "find_by_session"].iter().zip(totals) {
            let (empty, large) = (empty / n, large / n);
            eprintln!(
                "session_scale: {kind}: empty table {empty:.1?}, {sessions} sessions \
                 {large:.1?}; large / empty time {:.2} (empty / large throughput {:.2})",
                large.as_secs_f64() / empty.as_secs_f64(),
                empty.as_secs_f64() / large.as_secs_f64(),
            );
        }
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
