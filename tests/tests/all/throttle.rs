//! Login throttling (SPEC C8.1) and no enumeration through login (C8.2), over HTTP on every
//! backend: the 429 threshold and Retry-After, per account and per IP, the counter reset on
//! success, lock expiry and the growing cool-down, admins listing and clearing locks; login
//! by e-mail (opt-in), whose addresses share their account's counter and enumerate nothing.

use std::time::{Duration, Instant};

use auth_axum::UserStore;
use auth_axum::auth_core::audit::{self, EventFilter, EventType};
use auth_axum::auth_core::schema::auth_throttle;
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::ThrottleConfig;
use auth_axum::auth_core::with_conn;
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

/// [`app_with`] with login by e-mail on.
async fn email_app(t: TestDb, throttle: ThrottleConfig, cost: u32) -> TestApp {
    let service = AuthService::builder()
        .bcrypt_cost(cost)
        .throttle(throttle)
        .login_by_email(true)
        .build();
    TestApp::with_config(t, service, TestApp::forwarded_http_config()).await
}

/// Registers `account` with password `pass-word-1` and `email`.
async fn register_with_email(app: &TestApp, account: &str, email: &str) {
    let body = json!({"account": account, "password": "pass-word-1", "email": email});
    let a = app.post("register", body, None).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
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
    let past = auth_axum::auth_core::session::now() - Duration::from_secs(1);
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

/// Sends `n` logins at once (`password_of(i)` for the `i`th, as the `accounts` in turn),
/// each from its own IP, and returns the answers.
async fn parallel_logins(
    app: &TestApp,
    accounts: &[&str],
    n: usize,
    password_of: impl Fn(usize) -> &'static str,
) -> Vec<Answer> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let account = accounts[i % accounts.len()];
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
    let answers = parallel_logins(&app, &["target"], 20, |_| "wrong-guess").await;
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
    let answers = parallel_logins(&app, &["target"], 10, |i| {
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

/// Login by e-mail is opt-in. Off (the default), an address is an account name nobody
/// has: 401 `invalid_credentials`, the very answer of an unknown account. On, the address
/// logs in, as stored (addresses are kept as typed, so another case is an unknown
/// address), and an account named like an address wins over someone else's address.
async fn login_by_email_is_opt_in(t: TestDb) {
    let db = t.db.clone();
    let off = app_with(t, ThrottleConfig::default(), TEST_COST).await;
    register_with_email(&off, "alice", "Alice@Example.com").await;
    let by_email = login_from(&off, "Alice@Example.com", "pass-word-1", "10.0.0.1").await;
    let unknown = login_from(&off, "nobody", "pass-word-1", "10.0.0.1").await;
    assert_eq!(
        by_email.status,
        StatusCode::UNAUTHORIZED,
        "{:?}",
        by_email.body
    );
    assert_eq!(by_email.code(), "invalid_credentials");
    assert_eq!(by_email.body, unknown.body);
    assert!(by_email.token().is_none());

    // The same database, served with the option on.
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .login_by_email(true)
        .build();
    let on = auth_axum::Auth::with_http(db, service, TestApp::forwarded_http_config());
    let router = auth_tests::http::router(&on);
    let login = |account: &'static str, password: &'static str| {
        let router = router.clone();
        async move {
            let req = Request::builder()
                .method(Method::POST)
                .uri("/api/contrib/auth/login")
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-forwarded-for", "10.0.0.2")
                .body(Body::from(
                    json!({"account": account, "password": password}).to_string(),
                ))
                .unwrap();
            auth_tests::http::send(&router, req).await
        }
    };
    let a = login("Alice@Example.com", "pass-word-1").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["account"], "alice");
    assert!(a.token().is_some());
    let a = login("alice", "pass-word-1").await;
    assert_eq!(a.status, StatusCode::OK, "the account name still works");
    let a = login("alice@example.com", "pass-word-1").await;
    assert_eq!(
        a.status,
        StatusCode::UNAUTHORIZED,
        "another case is another address"
    );
    assert_eq!(a.body, unknown.body);
    // An account named "Alice@Example.com" is found by its name first.
    let r = off
        .post(
            "register",
            json!({"account": "Alice@Example.com", "password": "other-pass-2"}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let a = login("Alice@Example.com", "pass-word-1").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
    let a = login("Alice@Example.com", "other-pass-2").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["account"], "Alice@Example.com");
}

/// With login by e-mail on, an unknown address and a wrong password (given with the
/// address or with the name) answer alike, are audited alike, and cost the same time
/// (medians of interleaved attempts at a realistic cost, as above).
async fn unknown_email_and_wrong_password_are_indistinguishable(t: TestDb) {
    let app = email_app(t, ThrottleConfig::disabled(), 10).await;
    register_with_email(&app, "grace", "grace@example.com").await;
    let unknown = login_from(&app, "ghost@example.com", "wrong-1", "10.0.0.1").await;
    let wrong = login_from(&app, "grace@example.com", "wrong-1", "10.0.0.1").await;
    let wrong_name = login_from(&app, "grace", "wrong-1", "10.0.0.1").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    for other in [&wrong, &wrong_name] {
        assert_eq!(unknown.status, other.status);
        assert_eq!(unknown.body, other.body);
        assert_eq!(unknown.set_cookies, other.set_cookies);
    }
    let mut conn = app.t.db.conn().await.unwrap();
    let filter = EventFilter {
        event: Some(EventType::LoginFailure),
        ..EventFilter::default()
    };
    let events = audit::list(&mut conn, &filter, 0, 10).await.unwrap();
    assert_eq!(events.len(), 3);
    let shape = |e: &audit::AuditEvent| (e.user_id, e.ip.clone(), e.detail.clone());
    assert_eq!(shape(&events[0]), shape(&events[1]));
    assert_eq!(shape(&events[1]), shape(&events[2]));
    assert_eq!(events[0].detail["reason"], "invalid_credentials");
    let typed: Vec<_> = events.iter().map(|e| e.account.as_deref()).collect();
    assert_eq!(
        typed,
        [
            Some("grace"),
            Some("grace@example.com"),
            Some("ghost@example.com")
        ],
        "each failure records what was typed"
    );
    drop(conn);
    let mut times = (Vec::new(), Vec::new());
    for i in 0..5 {
        let start = Instant::now();
        login_from(&app, &format!("ghost-{i}@example.com"), "wrong", "10.0.0.1").await;
        times.0.push(start.elapsed());
        let start = Instant::now();
        login_from(&app, "grace@example.com", "wrong", "10.0.0.1").await;
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

/// A user's name and address share the account's counter: alternating them gets no more
/// than the account limit, one after the other or all at once. An address that names
/// nobody counts against itself and locks like an unknown account.
async fn name_and_email_share_the_account_limit(t: TestDb) {
    let app = email_app(t, ThrottleConfig::default(), 8).await;
    register_with_email(&app, "kim", "kim@example.com").await;
    for i in 0..5 {
        let typed = if i % 2 == 0 { "kim@example.com" } else { "kim" };
        let a = login_from(&app, typed, "wrong-guess", &format!("10.0.0.{i}")).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "failure {i} as {typed}");
    }
    for typed in ["kim", "kim@example.com"] {
        let a = login_from(&app, typed, "pass-word-1", "10.0.1.1").await;
        retry_after(&a);
        assert!(a.token().is_none());
    }
    let mut conn = app.t.db.conn().await.unwrap();
    let keys: Vec<String> = with_conn!(&mut conn, |c| {
        auth_throttle::table
            .filter(auth_throttle::scope.eq("account"))
            .select(auth_throttle::throttle_key)
            .load(c)
            .await
    })
    .unwrap();
    assert_eq!(keys, ["kim"], "one counter, under the account name");
    drop(conn);

    // At once: 20 guesses, the name and the address in turn, against a fresh account.
    register_with_email(&app, "lou", "lou@example.com").await;
    let answers = parallel_logins(&app, &["lou", "lou@example.com"], 20, |_| "wrong-guess").await;
    let refused = answers
        .iter()
        .filter(|a| a.status == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((refused, throttled), (5, 15));

    // An unknown address: its own counter, the same lock.
    for i in 0..5 {
        let a = login_from(&app, "ghost@example.com", "wrong", &format!("10.0.2.{i}")).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    retry_after(&login_from(&app, "ghost@example.com", "wrong", "10.0.3.1").await);
}

backend_tests!(
    login_by_email_is_opt_in,
    unknown_email_and_wrong_password_are_indistinguishable,
    name_and_email_share_the_account_limit,
);

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
