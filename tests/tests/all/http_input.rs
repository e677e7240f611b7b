//! Bad input gets a 4xx envelope with a stable code, never a 500 or a panic; and nothing is
//! half-written.

use auth_axum::auth_core::with_conn;
use auth_tests::http::TestApp;
use auth_tests::model::v1;
use auth_tests::{TestDb, backend_tests};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

fn raw(path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut req = Request::post(format!("/api/contrib/auth/{path}"));
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.body(body.into()).unwrap()
}

async fn user_count(app: &TestApp) -> i64 {
    let mut conn = app.t.db.conn().await.unwrap();
    with_conn!(&mut conn, |c| v1::users::table.count().get_result(c).await).unwrap()
}

async fn bad_bodies_are_clean_4xx(t: TestDb) {
    let app = TestApp::new(t).await;
    let json = Some("application/json");
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            raw("register", json, "{\"account\": "),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "not an object",
            raw("register", json, "[1,2]"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "wrong type",
            raw("register", json, r#"{"account": 5, "password": "x"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "missing field",
            raw("register", json, r#"{"account": "a"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "unknown field",
            raw(
                "register",
                json,
                r#"{"account": "a", "password": "p", "is_superuser": true}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "no content type",
            raw("register", None, r#"{"account": "a", "password": "p"}"#),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "oversized",
            raw(
                "register",
                json,
                format!(
                    r#"{{"account": "a", "password": "{}"}}"#,
                    "x".repeat(70 * 1024)
                ),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "NUL in account",
            raw(
                "register",
                json,
                json!({"account": "a\u{0}b", "password": "p"}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "very long account",
            raw(
                "register",
                json,
                json!({"account": "a".repeat(5000), "password": "p"}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "empty account",
            raw(
                "register",
                json,
                json!({"account": "", "password": "p"}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "NUL in password",
            raw(
                "register",
                json,
                json!({"account": "a", "password": "p\u{0}q"}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "password over 72 bytes",
            raw(
                "register",
                json,
                json!({"account": "a", "password": "é".repeat(37)}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "bad email",
            raw(
                "register",
                json,
                json!({"account": "a", "password": "p", "email": "not-an-email"}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "role in extra",
            raw(
                "register",
                json,
                json!({"account": "a", "password": "pass-word-1", "extra": {"is_superuser": true}})
                    .to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "NUL in custom field",
            raw(
                "register",
                json,
                json!({"account": "a", "password": "pass-word-1", "extra": {"first_name": "x\u{0}"}})
                    .to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "custom field too long",
            raw(
                "register",
                json,
                json!({"account": "a", "password": "pass-word-1", "extra": {"first_name": "x".repeat(65)}})
                    .to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "custom field wrong type",
            raw(
                "register",
                json,
                json!({"account": "a", "password": "pass-word-1", "extra": {"age": 1.5}}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "unknown platform",
            raw(
                "register",
                json,
                json!({"account": "a", "password": "p", "platform": "nope"}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "unknown_platform",
        ),
        (
            "login malformed",
            raw("login", json, "{"),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "login NUL",
            raw(
                "login",
                json,
                json!({"account": "a\u{0}", "password": "p"}).to_string(),
            ),
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        ),
        (
            "login huge account",
            raw(
                "login",
                json,
                json!({"account": "a".repeat(5000), "password": "p"}).to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "login unknown platform",
            raw(
                "login",
                json,
                json!({"account": "a", "password": "p", "platform": "ldap"}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "unknown_platform",
        ),
        (
            "invalid UTF-8",
            raw("login", json, vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
    ];
    for (what, req, status, code) in cases {
        let answer = app.send(req).await;
        assert_eq!(answer.status, status, "{what}: {:?}", answer.body);
        assert_eq!(answer.body["success"], false, "{what}");
        assert_eq!(answer.code(), code, "{what}: {:?}", answer.body);
        assert!(answer.body["message"].is_string(), "{what}");
    }
    assert_eq!(
        user_count(&app).await,
        0,
        "nothing was written by any refused request"
    );
}

async fn sql_metacharacters_are_just_text(t: TestDb) {
    let app = TestApp::new(t).await;
    let account = "robert'); DROP TABLE users;-- \"%_\\";
    app.register(account, "pass-word-1").await;
    let token = app.login(account, "pass-word-1").await;
    assert_eq!(
        app.get("me", Some(&token)).await.body["data"]["account"],
        account
    );
    assert_eq!(user_count(&app).await, 1);
    let wildcard = app
        .post(
            "login",
            json!({"account": "robert%", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(
        wildcard.status,
        StatusCode::UNAUTHORIZED,
        "no LIKE matching"
    );
}

async fn odd_unicode_round_trips(t: TestDb) {
    let app = TestApp::new(t).await;
    let account = "Zoë\u{200d}李👩‍💻";
    app.register(account, "pässwörd-✓").await;
    let token = app.login(account, "pässwörd-✓").await;
    assert_eq!(
        app.get("me", Some(&token)).await.body["data"]["account"],
        account
    );
    let nfd = "Zoe\u{308}\u{200d}李👩‍💻";
    let other = app
        .post(
            "login",
            json!({"account": nfd, "password": "pässwörd-✓"}),
            None,
        )
        .await;
    assert_eq!(
        other.status,
        StatusCode::UNAUTHORIZED,
        "accounts compare exactly"
    );
}

async fn garbage_cookies_are_anonymous(t: TestDb) {
    let app = TestApp::new(t).await;
    for token in [
        "",
        "x",
        "'; DROP TABLE auth_sessions; --",
        &"A".repeat(4000),
    ] {
        let me = app.get("me", Some(token)).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(me.code(), "unauthenticated");
    }
}

backend_tests!(
    bad_bodies_are_clean_4xx,
    sql_metacharacters_are_just_text,
    odd_unicode_round_trips,
    garbage_cookies_are_anonymous,
);
