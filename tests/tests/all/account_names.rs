//! Account names are one rule on every backend: a name with surrounding spaces never finds
//! an account (MySQL/MariaDB's `PAD SPACE` collations would find `alice` for `"alice "`),
//! and its failed logins count against the same throttle key everywhere.

use auth_tests::http::TestApp;
use auth_tests::{TestDb, backend_tests};
use axum::http::StatusCode;
use serde_json::json;

async fn padded_names_find_nobody_and_share_the_throttle(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("alice", "pass-word-1").await;
    // The right password under a padded name is not alice's login, on any backend.
    for padded in ["alice ", "alice  ", " alice", "alice\t"] {
        let a = app
            .post(
                "login",
                json!({"account": padded, "password": "pass-word-1"}),
                None,
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "{padded:?}: {:?}",
            a.body
        );
        assert_eq!(a.code(), "invalid_credentials", "{padded:?}");
    }
    // Registering a padded name is refused (422), so it cannot shadow alice either.
    let a = app
        .post(
            "register",
            json!({"account": "alice ", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", a.body);
    // "alice " and "alice  " above counted against alice's key: three more wrong guesses
    // lock her (limit 5), whichever spelling they use.
    for _ in 0..3 {
        let a = app
            .post(
                "login",
                json!({"account": "alice ", "password": "wrong"}),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
    }
    let a = app
        .post(
            "login",
            json!({"account": "alice", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", a.body);
    assert_eq!(a.code(), "too_many_attempts");
}

backend_tests!(padded_names_find_nobody_and_share_the_throttle);
