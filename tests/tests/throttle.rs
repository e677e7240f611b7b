//! Login throttling (SPEC C8.1) and no enumeration through login (C8.2), over HTTP on every
//! backend: the 429 threshold and Retry-After, per account and per IP, the counter reset on
//! success, lock expiry and the growing cool-down, admins listing and clearing locks.

use std::time::{Duration, Instant};

use auth_axum::UserStore;
use auth_axum::audit::{self, EventFilter, EventType};
use auth_axum::schema::auth_throttle;
use auth_axum::service::AuthService;
use auth_axum::throttle::ThrottleConfig;
use auth_axum::with_conn;
use auth_tests::http::{Answer, TEST_COST, TestApp};
use auth_tests::model::v1::User;
use auth_tests::{TestDb, backend_tests};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

/// An app that trusts `X-Forwarded-For` (one proxy), with `throttle`.
async fn app_with(t: TestDb, throttle: ThrottleConfig, cost: u32) -> TestApp {
    let service = AuthService::builder()
        .bcrypt_cost(cost)
        .throttle(throttle)
        .build();
    TestApp::with_config(t, service, TestApp::forwarded_http_config()).await
}

/// `POST login` from `ip`.
async fn login_from(app: &TestApp, account: &str, password: &str, ip: &str) -> Answer {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/contrib/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", format!("203.0.113.250, {ip}"))
        .body(Body::from(
            json!({"account": account, "password": password}).to_string(),
        ))
        .unwrap();
    app.send(req).await
}

fn retry_after(a: &Answer) -> u64 {
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", a.body);
    assert_eq!(a.code(), "too_many_attempts");
    a.body["retry_after"]
        .as_u64()
        .expect("retry_after in the body")
}

async fn expire_locks(app: &TestApp) {
    let past = auth_axum::session::now() - Duration::from_secs(1);
    let mut conn = app.t.db.conn().await.unwrap();
    with_conn!(&mut conn, |c| {
        diesel::update(auth_throttle::table)
            .set(auth_throttle::locked_until.eq(Some(past)))
            .execute(c)
            .await
    })
    .unwrap();
}

/// `DELETE admin/locks/<lock>` as the holder of `session`.
async fn delete_lock(app: &TestApp, lock: &str, session: &str) -> Answer {
    let path = format!("/api/contrib/auth/admin/locks/{lock}");
    app.call(Method::DELETE, &path, None, Some(session)).await
}

async fn account_threshold(t: TestDb) {
    let app = app_with(t, ThrottleConfig::default(), TEST_COST).await;
    app.register("alice", "pass-word-1").await;
    for i in 0..5 {
        let a = login_from(&app, "alice", "wrong", &format!("10.0.0.{i}")).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "failure {i}");
    }
    // Locked: even the right password is refused, from any IP, with Retry-After.
    let a = login_from(&app, "alice", "pass-word-1", "10.0.1.1").await;
    let seconds = retry_after(&a);
    assert!((299..=300).contains(&seconds), "{seconds}");
    assert!(a.token().is_none());
    // The header carries the same figure.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/contrib/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"account": "alice", "password": "x"}).to_string(),
        ))
        .unwrap();
    let res = tower::ServiceExt::oneshot(app.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let header: u64 = res.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((299..=300).contains(&header), "{header}");
    // Another account is not affected.
    app.register("bob", "pass-word-1").await;
    let a = login_from(&app, "bob", "pass-word-1", "10.0.0.1").await;
    assert_eq!(a.status, StatusCode::OK);
}

async fn unknown_accounts_lock_alike(t: TestDb) {
    let app = app_with(t, ThrottleConfig::default(), TEST_COST).await;
    app.register("alice", "pass-word-1").await;
    let mut last = (None, None);
    for (account, slot) in [("alice", 0), ("nobody", 1)] {
        for _ in 0..5 {
            let a = login_from(&app, account, "wrong", "10.0.0.1").await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        }
        let a = login_from(&app, account, "wrong", "10.0.0.1").await;
        retry_after(&a);
        let mut body = a.body.clone();
        body["retry_after"] = Value::Null;
        body["message"] = Value::Null;
        if slot == 0 {
            last.0 = Some(body);
        } else {
            last.1 = Some(body);
        }
    }
    assert_eq!(last.0, last.1, "a throttled unknown account answers alike");
}

async fn ip_threshold(t: TestDb) {
    let config = ThrottleConfig {
        ip_limit: 3,
        ..ThrottleConfig::default()
    };
    let app = app_with(t, config, TEST_COST).await;
    app.register("carol", "pass-word-1").await;
    for name in ["a1", "a2", "a3"] {
        let a = login_from(&app, name, "wrong", "198.51.100.7").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    // The IP is locked, for every account, the right password included.
    let a = login_from(&app, "carol", "pass-word-1", "198.51.100.7").await;
    retry_after(&a);
    // Another IP is not; the left-most (client-claimed) entry is never used.
    let a = login_from(&app, "carol", "pass-word-1", "198.51.100.8").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
}

async fn success_resets_account_counter(t: TestDb) {
    let app = app_with(t, ThrottleConfig::default(), TEST_COST).await;
    app.register("dave", "pass-word-1").await;
    for _ in 0..4 {
        login_from(&app, "dave", "wrong", "10.0.0.1").await;
    }
    let a = login_from(&app, "dave", "pass-word-1", "10.0.0.1").await;
    assert_eq!(a.status, StatusCode::OK);
    // Four more failures: without the reset, the fifth overall would have locked.
    for i in 0..4 {
        let a = login_from(&app, "dave", "wrong", "10.0.0.1").await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "failure {i} after success"
        );
    }
    let a = login_from(&app, "dave", "pass-word-1", "10.0.0.1").await;
    assert_eq!(a.status, StatusCode::OK);
}

async fn lock_expires_and_cooldown_grows(t: TestDb) {
    let app = app_with(t, ThrottleConfig::default(), TEST_COST).await;
    app.register("erin", "pass-word-1").await;
    for _ in 0..5 {
        login_from(&app, "erin", "wrong", "10.0.0.1").await;
    }
    assert!((299..=300).contains(&retry_after(
        &login_from(&app, "erin", "wrong", "10.0.0.1").await
    )));
    // Time passes: the lock is over, the right password works again... but not a reset of
    // the escalation: the next lock is twice as long.
    expire_locks(&app).await;
    for _ in 0..5 {
        let a = login_from(&app, "erin", "wrong", "10.0.0.1").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let seconds = retry_after(&login_from(&app, "erin", "pass-word-1", "10.0.0.1").await);
    assert!((599..=600).contains(&seconds), "{seconds}");
    expire_locks(&app).await;
    let a = login_from(&app, "erin", "pass-word-1", "10.0.0.1").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
}

async fn admins_see_and_clear_locks(t: TestDb) {
    let app = app_with(t, ThrottleConfig::default(), TEST_COST).await;
    let (admin_id, admin) = app.user("admin").await;
    app.give_role(admin_id, "ops", &["users.read", "users.manage"])
        .await;
    let (reader_id, reader) = app.user("reader").await;
    app.give_role(reader_id, "viewer", &["users.read"]).await;
    app.register("frank", "pass-word-1").await;
    for _ in 0..5 {
        login_from(&app, "frank", "wrong", "10.0.0.9").await;
    }
    let a = app.get("admin/locks", Some(&reader)).await;
    assert_eq!(a.status, StatusCode::OK);
    let locks = a.body["data"].as_array().unwrap().clone();
    assert!(
        locks
            .iter()
            .any(|l| l["scope"] == "account" && l["key"] == "frank" && l["lockouts"] == 1),
        "{locks:?}"
    );
    // users.read may look, not clear.
    let a = delete_lock(&app, "account/frank", &reader).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = delete_lock(&app, "account/frank", &admin).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = login_from(&app, "frank", "pass-word-1", "10.0.0.9").await;
    assert_eq!(a.status, StatusCode::OK);
    // Clearing again: nothing to clear.
    let a = delete_lock(&app, "account/frank", &admin).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = delete_lock(&app, "bogus/frank", &admin).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// Unknown account and wrong password: same status and body, and (bcrypt at a realistic
/// cost dominating) the same time within noise. The comparison is of medians of
/// interleaved attempts, with a wide band: without the dummy verification an unknown
/// account answers about 50 times faster.
async fn unknown_and_wrong_are_indistinguishable(t: TestDb) {
    let app = app_with(t, ThrottleConfig::disabled(), 10).await;
    app.register("grace", "pass-word-1").await;
    let unknown = login_from(&app, "nobody-here", "wrong", "10.0.0.1").await;
    let wrong = login_from(&app, "grace", "wrong", "10.0.0.1").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(unknown.body, wrong.body);
    assert_eq!(unknown.set_cookie, wrong.set_cookie);
    let mut times = (Vec::new(), Vec::new());
    for i in 0..5 {
        let start = Instant::now();
        login_from(&app, &format!("nobody-{i}"), "wrong", "10.0.0.1").await;
        times.0.push(start.elapsed());
        let start = Instant::now();
        login_from(&app, "grace", "wrong", "10.0.0.1").await;
        times.1.push(start.elapsed());
    }
    times.0.sort();
    times.1.sort();
    let ratio = times.0[2].as_secs_f64() / times.1[2].as_secs_f64();
    assert!(
        (0.5..2.0).contains(&ratio),
        "unknown/wrong median time ratio {ratio:.2} ({:?} vs {:?})",
        times.0[2],
        times.1[2]
    );
}

/// Sends `n` logins at once (`password_of(i)` for the `i`th), each from its own IP, and
/// returns the answers.
async fn parallel_logins(
    app: &TestApp,
    account: &str,
    n: usize,
    password_of: impl Fn(usize) -> &'static str,
) -> Vec<Answer> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let router = app.router.clone();
            let req = Request::builder()
                .method(Method::POST)
                .uri("/api/contrib/auth/login")
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-forwarded-for", format!("10.1.{}.{}", i / 200, i % 200))
                .body(Body::from(
                    json!({"account": account, "password": password_of(i)}).to_string(),
                ))
                .unwrap();
            tokio::spawn(async move { auth_tests::http::send(&router, req).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// The `reason`s of the audited events of `event`, counted.
async fn reasons(app: &TestApp, event: EventType) -> std::collections::BTreeMap<String, usize> {
    let mut conn = app.t.db.conn().await.unwrap();
    let filter = EventFilter {
        event: Some(event),
        ..EventFilter::default()
    };
    let mut out = std::collections::BTreeMap::new();
    for e in audit::list(&mut conn, &filter, 0, 1000).await.unwrap() {
        let reason = e.detail["reason"].as_str().unwrap_or("<none>").to_owned();
        *out.entry(reason).or_default() += 1;
    }
    out
}

/// 20 wrong guesses at once against one account (limit 5): exactly 5 are checked and
/// counted, the other 15 are throttled without a check. Then the right password, sent
/// among more guesses, does not get past the lock.
async fn parallel_guesses_never_exceed_the_limit(t: TestDb) {
    let app = app_with(t, ThrottleConfig::default(), 8).await;
    app.register("target", "pass-word-1").await;
    let answers = parallel_logins(&app, "target", 20, |_| "wrong-guess").await;
    let refused = answers
        .iter()
        .filter(|a| a.status == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((refused, throttled), (5, 15));
    let audited = reasons(&app, EventType::LoginFailure).await;
    assert_eq!(audited.get("invalid_credentials"), Some(&5), "{audited:?}");
    assert_eq!(audited.get("throttled"), Some(&15), "{audited:?}");
    let answers = parallel_logins(&app, "target", 10, |i| {
        if i == 5 { "pass-word-1" } else { "wrong-guess" }
    })
    .await;
    for a in &answers {
        retry_after(a);
        assert!(a.token().is_none());
    }
    assert_eq!(
        reasons(&app, EventType::LoginSuccess)
            .await
            .values()
            .sum::<usize>(),
        0
    );
}

/// 20 wrong guesses at once from one IP (limit 5), each at another account: the IP's
/// counter is shared by every attempt, so exactly 5 are checked.
async fn parallel_guesses_from_one_ip_never_exceed_its_limit(t: TestDb) {
    let config = ThrottleConfig {
        ip_limit: 5,
        ..ThrottleConfig::default()
    };
    let app = app_with(t, config, 8).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let router = app.router.clone();
            let req = Request::builder()
                .method(Method::POST)
                .uri("/api/contrib/auth/login")
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-forwarded-for", "192.0.2.44")
                .body(Body::from(
                    json!({"account": format!("sprayed-{i}"), "password": "guess"}).to_string(),
                ))
                .unwrap();
            tokio::spawn(async move { auth_tests::http::send(&router, req).await.status })
        })
        .collect();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(refused, 5);
    let audited = reasons(&app, EventType::LoginFailure).await;
    assert_eq!(audited.get("invalid_credentials"), Some(&5), "{audited:?}");
}

/// change-password: a wrong old password counts like a failed login; the sixth attempt
/// (limit 5) is 429 with Retry-After, even with the right old password, and every refusal
/// is audited as `password.change_failed`. The login of the account is locked too.
async fn wrong_old_passwords_lock_change_password(t: TestDb) {
    let app = app_with(t, ThrottleConfig::default(), TEST_COST).await;
    let (_, token) = app.user("henry").await;
    let change = |old: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            app.post(
                "change-password",
                json!({"old_password": old, "new_password": "new-pass-word-2"}),
                Some(&token),
            )
            .await
        }
    };
    for i in 0..5 {
        let a = change("wrong-old-1").await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "attempt {i}: {:?}",
            a.body
        );
        assert_eq!(a.code(), "invalid_credentials");
    }
    let a = change("wrong-old-1").await;
    let seconds = retry_after(&a);
    assert!((299..=300).contains(&seconds), "{seconds}");
    let a = change("pass-word-1").await;
    retry_after(&a);
    let audited = reasons(&app, EventType::PasswordChangeFailed).await;
    assert_eq!(audited.get("invalid_credentials"), Some(&5), "{audited:?}");
    assert_eq!(audited.get("throttled"), Some(&2), "{audited:?}");
    retry_after(&login_from(&app, "henry", "pass-word-1", "10.0.0.1").await);
    assert_eq!(
        reasons(&app, EventType::PasswordChanged)
            .await
            .values()
            .sum::<usize>(),
        0
    );
}

/// A stored hash bcrypt cannot read (here a disabled account's `!`) costs a login the
/// time of a verification, like a wrong password: no timing oracle. Medians of interleaved
/// attempts, with the same wide band as above.
async fn unreadable_hashes_cost_a_verification(t: TestDb) {
    let app = app_with(t, ThrottleConfig::disabled(), 10).await;
    app.register("ivan", "pass-word-1").await;
    app.register("judy", "pass-word-1").await;
    let mut conn = app.t.db.conn().await.unwrap();
    let mut judy = User::find_by_account(&mut conn, "judy")
        .await
        .unwrap()
        .unwrap();
    auth_axum::AuthUser::set_password_hash(&mut judy, "!disabled".into());
    judy.update(&mut conn).await.unwrap();
    drop(conn);
    let unreadable = login_from(&app, "judy", "pass-word-1", "10.0.0.1").await;
    let wrong = login_from(&app, "ivan", "wrong", "10.0.0.1").await;
    assert_eq!(unreadable.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unreadable.body, wrong.body);
    let mut times = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let start = Instant::now();
        login_from(&app, "judy", "pass-word-1", "10.0.0.1").await;
        times.0.push(start.elapsed());
        let start = Instant::now();
        login_from(&app, "ivan", "wrong", "10.0.0.1").await;
        times.1.push(start.elapsed());
    }
    times.0.sort();
    times.1.sort();
    let ratio = times.0[2].as_secs_f64() / times.1[2].as_secs_f64();
    assert!(
        (0.5..2.0).contains(&ratio),
        "unreadable/wrong median time ratio {ratio:.2} ({:?} vs {:?})",
        times.0[2],
        times.1[2]
    );
}

backend_tests!(
    parallel_guesses_never_exceed_the_limit,
    parallel_guesses_from_one_ip_never_exceed_its_limit,
    wrong_old_passwords_lock_change_password,
    unreadable_hashes_cost_a_verification,
);

backend_tests!(
    account_threshold,
    unknown_accounts_lock_alike,
    ip_threshold,
    success_resets_account_counter,
    lock_expires_and_cooldown_grows,
    admins_see_and_clear_locks,
    unknown_and_wrong_are_indistinguishable,
);
