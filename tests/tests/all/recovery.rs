//! Password reset and e-mail verification (SPEC C8.4) and no enumeration through
//! forgot-password and private registration (C8.2), over HTTP on every backend, with the
//! mails going through a real SMTP server on 127.0.0.1: the test reads each delivered
//! message and follows its link.

use std::time::Duration;

use auth_axum::auth_core::account_mail::AccountMail;
use auth_axum::auth_core::audit::{self, EventFilter, EventType};
use auth_axum::auth_core::mail::SmtpMailer;
use auth_axum::auth_core::schema::auth_tokens;
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::MailThrottleConfig;
use auth_axum::{HttpConfig, RegistrationMode, auth_core::with_conn};
use auth_tests::http::{Answer, TEST_COST, TestApp};
use auth_tests::smtp::{ReceivedMail, SmtpServer};
use auth_tests::{TestDb, backend_tests};
use axum::http::{Method, StatusCode};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

const PUBLIC: &str = "http://localhost";

async fn app_with(t: TestDb, server: &SmtpServer, registration: RegistrationMode) -> TestApp {
    app_limited(t, server, registration, MailThrottleConfig::default()).await
}

/// [`app_with`] with explicit account-mail limits, trusting `X-Forwarded-For` (one proxy).
async fn app_limited(
    t: TestDb,
    server: &SmtpServer,
    registration: RegistrationMode,
    limits: MailThrottleConfig,
) -> TestApp {
    let mailer = SmtpMailer::from_url(&server.url(), "Accounts <accounts@example.test>").unwrap();
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .mail_throttle(limits)
        .mail(AccountMail::new(
            mailer,
            &format!("{PUBLIC}/api/contrib/auth"),
            "Test App",
        ))
        .build();
    let http = HttpConfig {
        registration,
        ..TestApp::forwarded_http_config()
    };
    TestApp::with_config(t, service, http).await
}

async fn register(app: &TestApp, account: &str, email: &str) -> Answer {
    app.post(
        "register",
        json!({"account": account, "password": "pass-word-1", "email": email}),
        None,
    )
    .await
}

/// The token in a mailed link, after following the link (GET) and checking it answers
/// that the token is usable.
async fn follow(app: &TestApp, mail: &ReceivedMail, route: &str) -> String {
    let link = mail.first_link().expect("the mail carries a link");
    let path = link
        .strip_prefix(PUBLIC)
        .expect("the link is under the public URL");
    assert!(
        path.starts_with(&format!("/api/contrib/auth/{route}?token=")),
        "{link}"
    );
    let a = app.call(Method::GET, path, None, None).await;
    assert_eq!(a.status, StatusCode::OK, "{link}: {:?}", a.body);
    assert_eq!(a.body["data"]["valid"], true);
    path.split("token=").nth(1).unwrap().to_owned()
}

async fn count(app: &TestApp, event: EventType) -> i64 {
    let mut conn = app.t.db.conn().await.unwrap();
    audit::count(
        &mut conn,
        &EventFilter {
            event: Some(event),
            ..EventFilter::default()
        },
    )
    .await
    .unwrap()
}

async fn expire_tokens(app: &TestApp) {
    let past = auth_axum::auth_core::session::now() - Duration::from_secs(1);
    let mut conn = app.t.db.conn().await.unwrap();
    with_conn!(&mut conn, |c| {
        diesel::update(auth_tokens::table)
            .set(auth_tokens::expires_at.eq(past))
            .execute(c)
            .await
    })
    .unwrap();
}

async fn reset_flow(t: TestDb) {
    let server = SmtpServer::start();
    let app = app_with(t, &server, RegistrationMode::Open).await;
    let a = register(&app, "alice", "alice@example.test").await;
    assert_eq!(a.status, StatusCode::CREATED);
    let welcome = server.next_mail().await;
    assert!(
        welcome.subject().unwrap().contains("confirm"),
        "{:?}",
        welcome.subject()
    );
    let session = app.login("alice", "pass-word-1").await;

    let a = app
        .post("forgot-password", json!({"account": "alice"}), None)
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    let mail = server.next_mail().await;
    assert_eq!(mail.rcpt_to, vec!["alice@example.test".to_owned()]);
    assert!(mail.subject().unwrap().contains("reset your password"));
    assert!(mail.text().contains("\"alice\""));
    let token = follow(&app, &mail, "reset-password").await;
    // Stored hashed: the token itself is nowhere in the table.
    let mut conn = app.t.db.conn().await.unwrap();
    let hashes: Vec<String> = with_conn!(&mut conn, |c| {
        auth_tokens::table
            .select(auth_tokens::token_hash)
            .load(c)
            .await
    })
    .unwrap();
    assert!(!hashes.is_empty() && !hashes.contains(&token));
    drop(conn);

    let a = app
        .post(
            "reset-password",
            json!({"token": token, "new_password": "brand-new-9"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    // The owner hears of it, with what a reset does not end (nothing here).
    let notice = server.next_mail().await;
    assert_eq!(notice.rcpt_to, vec!["alice@example.test".to_owned()]);
    assert!(
        notice.text().contains("the password was reset"),
        "{}",
        notice.text()
    );
    assert!(!notice.text().contains("Still on the account"));
    assert_eq!(notice.first_link(), None, "a notice carries no token");
    // Every session ended; the old password is gone, the new one works.
    assert_eq!(
        app.get("me", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let a = app
        .post(
            "login",
            json!({"account": "alice", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    app.login("alice", "brand-new-9").await;
    // Single use.
    let a = app
        .post(
            "reset-password",
            json!({"token": token, "new_password": "another-one-8"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.code(), "invalid_token");
    let a = app
        .get(&format!("reset-password?token={token}"), None)
        .await;
    assert_eq!(a.code(), "invalid_token");
    assert_eq!(count(&app, EventType::PasswordResetRequested).await, 1);
    assert_eq!(count(&app, EventType::PasswordReset).await, 1);

    // By e-mail address too; a newer mail replaces the older one.
    app.post(
        "forgot-password",
        json!({"email": "alice@example.test"}),
        None,
    )
    .await;
    let first = follow(&app, &server.next_mail().await, "reset-password").await;
    app.post("forgot-password", json!({"account": "alice"}), None)
        .await;
    let second = follow(&app, &server.next_mail().await, "reset-password").await;
    let a = app
        .post(
            "reset-password",
            json!({"token": first, "new_password": "another-one-8"}),
            None,
        )
        .await;
    assert_eq!(a.code(), "invalid_token");
    // Expired.
    expire_tokens(&app).await;
    let a = app
        .get(&format!("reset-password?token={second}"), None)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.code(), "token_expired");
    let a = app
        .post(
            "reset-password",
            json!({"token": second, "new_password": "another-one-8"}),
            None,
        )
        .await;
    assert_eq!(a.code(), "token_expired");
    app.login("alice", "brand-new-9").await;
}

async fn forgot_password_reveals_nothing(t: TestDb) {
    let server = SmtpServer::start();
    let app = app_with(t, &server, RegistrationMode::Open).await;
    register(&app, "bob", "bob@example.test").await;
    server.next_mail().await;
    let known = app
        .post("forgot-password", json!({"account": "bob"}), None)
        .await;
    let unknown = app
        .post("forgot-password", json!({"account": "nobody"}), None)
        .await;
    let unknown_email = app
        .post(
            "forgot-password",
            json!({"email": "nobody@example.test"}),
            None,
        )
        .await;
    app.auth.service().wait_background().await;
    for a in [&unknown, &unknown_email] {
        assert_eq!(a.status, known.status);
        assert_eq!(a.body, known.body);
        assert_eq!(a.set_cookie, known.set_cookie);
    }
    // Exactly one mail went out, to bob.
    let mail = server.next_mail().await;
    assert_eq!(mail.rcpt_to, vec!["bob@example.test".to_owned()]);
    assert!(server.try_next_mail().is_none());

    for bad in [
        json!({}),
        json!({"account": "bob", "email": "bob@example.test"}),
        json!({"account": ""}),
        json!({"account": 5}),
    ] {
        let a = app.post("forgot-password", bad.clone(), None).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    for token in ["", "short", &"x".repeat(5000), "a\u{0}b"] {
        let a = app
            .post(
                "reset-password",
                json!({"token": token, "new_password": "brand-new-9"}),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert_eq!(a.code(), "invalid_token");
    }
}

async fn verify_flow(t: TestDb) {
    let server = SmtpServer::start();
    let app = app_with(t, &server, RegistrationMode::Open).await;
    let a = register(&app, "carol", "carol@example.test").await;
    assert_eq!(a.body["data"]["is_verified"], false);
    let mail = server.next_mail().await;
    assert_eq!(mail.rcpt_to, vec!["carol@example.test".to_owned()]);
    let token = follow(&app, &mail, "verify").await;
    let a = app.post("verify", json!({"token": token}), None).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["is_verified"], true);
    let a = app.post("verify", json!({"token": token}), None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.code(), "invalid_token");
    assert_eq!(count(&app, EventType::Verified).await, 1);
    let session = app.login("carol", "pass-word-1").await;
    assert_eq!(
        app.get("me", Some(&session)).await.body["data"]["is_verified"],
        true
    );
    let a = app.post("request-verify", json!({}), Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["message"], "already verified");

    // request-verify: logged in only; a new mail; expiry refused.
    register(&app, "dan", "dan@example.test").await;
    server.next_mail().await;
    let a = app.post("request-verify", json!({}), None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let dan = app.login("dan", "pass-word-1").await;
    let a = app.post("request-verify", json!({}), Some(&dan)).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let token = follow(&app, &server.next_mail().await, "verify").await;
    expire_tokens(&app).await;
    let a = app.post("verify", json!({"token": token}), None).await;
    assert_eq!(a.code(), "token_expired");
    // A token mailed to an address the user has changed since proves nothing (the change
    // confirmed through its own link, which kills the older verification links).
    app.post("request-verify", json!({}), Some(&dan)).await;
    let token = follow(&app, &server.next_mail().await, "verify").await;
    let a = app
        .call(
            Method::PATCH,
            "/api/contrib/auth/me",
            Some(json!({"email": "dan@elsewhere.test", "current_password": "pass-word-1"})),
            Some(&dan),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    let change = follow(&app, &server.next_mail().await, "verify").await;
    server.next_mail().await; // the notice to the current address
    let a = app.post("verify", json!({"token": change}), None).await;
    assert_eq!(
        a.body["data"]["email"], "dan@elsewhere.test",
        "{:?}",
        a.body
    );
    server.next_mail().await; // the notice that it changed
    let a = app.post("verify", json!({"token": token}), None).await;
    assert_eq!(a.code(), "invalid_token");
    // The audit row of a mail is written after its delivery: wait for the jobs.
    app.auth.service().wait_background().await;
    assert!(count(&app, EventType::VerifyRequested).await >= 4);
}

async fn private_registration_reveals_nothing(t: TestDb) {
    let server = SmtpServer::start();
    let app = app_with(t, &server, RegistrationMode::Private).await;
    let new = register(&app, "erin", "erin@example.test").await;
    assert_eq!(new.status, StatusCode::ACCEPTED, "{:?}", new.body);
    assert!(new.body["data"].is_null());
    let welcome = server.next_mail().await;
    assert_eq!(welcome.rcpt_to, vec!["erin@example.test".to_owned()]);
    let taken = app
        .post(
            "register",
            json!({"account": "erin", "password": "other-pass-7", "email": "mallory@example.test"}),
            None,
        )
        .await;
    assert_eq!(taken.status, new.status);
    assert_eq!(taken.body, new.body);
    // The owner hears of it; the other address gets nothing.
    let notice = server.next_mail().await;
    assert_eq!(notice.rcpt_to, vec!["erin@example.test".to_owned()]);
    assert!(notice.subject().unwrap().contains("tried to register"));
    app.auth.service().wait_background().await;
    assert!(server.try_next_mail().is_none());
    // The account kept its password.
    app.login("erin", "pass-word-1").await;
    // Input errors are still reported (they do not depend on other accounts).
    let a = app
        .post(
            "register",
            json!({"account": "", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn without_mail_configuration(t: TestDb) {
    let app = TestApp::new(t).await;
    let a = app
        .post("forgot-password", json!({"account": "x"}), None)
        .await;
    assert_eq!(a.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(a.code(), "not_configured");
}

/// All the mails delivered so far (after [`AuthService::wait_background`]).
fn delivered(server: &SmtpServer) -> Vec<ReceivedMail> {
    std::iter::from_fn(|| server.try_next_mail()).collect()
}

/// `POST forgot-password` with `body` from `ip`.
async fn forgot_from(app: &TestApp, body: serde_json::Value, ip: &str) -> Answer {
    let req = axum::http::Request::post("/api/contrib/auth/forgot-password")
        .header("content-type", "application/json")
        .header("x-forwarded-for", ip)
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    app.send(req).await
}

/// 20 forgot-password requests at once for one account (by name and by address, from
/// different IPs): every answer is the same 202, and at most 5 mails reach the account in
/// the hour, the verification mail of its registration included.
async fn forgot_password_flood_mails_at_most_the_limit(t: TestDb) {
    let server = SmtpServer::start();
    let app = app_with(t, &server, RegistrationMode::Open).await;
    register(&app, "alice", "alice@example.test").await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let router = app.router.clone();
            let body = if i % 2 == 0 {
                json!({"account": "alice"})
            } else {
                json!({"email": "alice@example.test"})
            };
            let req = axum::http::Request::post("/api/contrib/auth/forgot-password")
                .header("content-type", "application/json")
                .header("x-forwarded-for", format!("198.51.100.{i}"))
                .body(axum::body::Body::from(body.to_string()))
                .unwrap();
            tokio::spawn(async move { auth_tests::http::send(&router, req).await })
        })
        .collect();
    let mut first: Option<Answer> = None;
    for task in tasks {
        let a = task.await.unwrap();
        assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
        if let Some(first) = &first {
            assert_eq!(a.body, first.body);
        } else {
            first = Some(a);
        }
    }
    app.auth.service().wait_background().await;
    let mails = delivered(&server);
    let resets = mails
        .iter()
        .filter(|m| m.subject().unwrap().contains("reset your password"))
        .count();
    assert_eq!((mails.len(), resets), (5, 4), "1 verification + 4 resets");
    assert_eq!(count(&app, EventType::PasswordResetRequested).await, 4);
}

/// From one IP (limit 3 here), forgot-password mails stop after 3, whichever accounts they
/// name; the answers do not change.
async fn forgot_password_is_limited_per_ip(t: TestDb) {
    let server = SmtpServer::start();
    let limits = MailThrottleConfig {
        ip_limit: 3,
        ..MailThrottleConfig::default()
    };
    let app = app_limited(t, &server, RegistrationMode::Open, limits).await;
    for i in 0..5 {
        register(&app, &format!("user{i}"), &format!("user{i}@example.test")).await;
    }
    app.auth.service().wait_background().await;
    assert_eq!(delivered(&server).len(), 5, "the verification mails");
    for i in 0..5 {
        let a = forgot_from(&app, json!({"account": format!("user{i}")}), "203.0.113.9").await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
    }
    app.auth.service().wait_background().await;
    assert_eq!(delivered(&server).len(), 3);
    // Another IP is not affected.
    forgot_from(&app, json!({"account": "user4"}), "203.0.113.10").await;
    app.auth.service().wait_background().await;
    assert_eq!(delivered(&server).len(), 1);
}

/// request-verify counts against the same account-mail limit (5): after the registration
/// mail and 4 requests, the next is 429 `too_many_attempts` with Retry-After.
async fn request_verify_is_limited(t: TestDb) {
    let server = SmtpServer::start();
    let app = app_with(t, &server, RegistrationMode::Open).await;
    register(&app, "carl", "carl@example.test").await;
    let token = app.login("carl", "pass-word-1").await;
    for i in 0..4 {
        let a = app.post("request-verify", json!({}), Some(&token)).await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "request {i}: {:?}", a.body);
    }
    let a = app.post("request-verify", json!({}), Some(&token)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", a.body);
    assert_eq!(a.code(), "too_many_attempts");
    let seconds = a.body["retry_after"].as_u64().unwrap();
    assert!((3599..=3600).contains(&seconds), "{seconds}");
    app.auth.service().wait_background().await;
    assert_eq!(delivered(&server).len(), 5);
    // Logins are not affected by the mail limit.
    app.login("carl", "pass-word-1").await;
}

backend_tests!(
    forgot_password_flood_mails_at_most_the_limit,
    forgot_password_is_limited_per_ip,
    request_verify_is_limited,
);

backend_tests!(
    reset_flow,
    forgot_password_reveals_nothing,
    verify_flow,
    private_registration_reveals_nothing,
    without_mail_configuration,
);
