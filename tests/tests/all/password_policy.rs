//! The password policy (SPEC C8.3) over HTTP on every backend: each rule refused on
//! register, admin user creation and change-password with a 422 `weak_password` naming the
//! rule, nothing written; good passwords accepted; the policy is configurable.

use auth_axum::auth_core::backend::AuthError;
use auth_axum::auth_core::password_policy::{PasswordPolicy, PolicyViolation};
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_axum::{UserStore, auth_core::with_conn};
use auth_tests::http::{Answer, TEST_COST, TestApp};
use auth_tests::model::v1::{self, User};
use auth_tests::{TestDb, backend_tests};
use axum::http::{Method, StatusCode};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

/// Passwords the default policy refuses for the account `alice`, with the rule named.
fn refused_for_alice() -> Vec<(String, &'static str)> {
    vec![
        ("k7#fQ2z".to_owned(), "min_length"),
        (format!("{}y", "k7#fQ2zx".repeat(8)), "max_length"),
        ("Password1".to_owned(), "common"),
        ("qwertyuiop".to_owned(), "common"),
        ("my-ALICE-pass".to_owned(), "contains_account"),
        ("ecila-backwards".to_owned(), "contains_account"),
    ]
}

async fn user_count(app: &TestApp) -> i64 {
    let mut conn = app.t.db.conn().await.unwrap();
    with_conn!(&mut conn, |c| v1::users::table.count().get_result(c).await).unwrap()
}

fn assert_weak(a: &Answer, rule: &str, what: &str) {
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what}: {:?}",
        a.body
    );
    assert_eq!(a.code(), "weak_password", "{what}: {:?}", a.body);
    assert_eq!(a.body["rule"], rule, "{what}: {:?}", a.body);
    assert_eq!(a.body["success"], false, "{what}");
    let message = a.body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("password: "), "{what}: {message}");
}

async fn register_refuses_each_rule(t: TestDb) {
    let app = TestApp::new(t).await;
    for (password, rule) in refused_for_alice() {
        let a = app
            .post(
                "register",
                json!({"account": "alice", "password": password}),
                None,
            )
            .await;
        assert_weak(&a, rule, &password);
    }
    // The message says what the rule wants.
    let short = app
        .post(
            "register",
            json!({"account": "alice", "password": "abc"}),
            None,
        )
        .await;
    assert_eq!(short.body["message"], "password: at least 8 characters");
    assert_eq!(user_count(&app).await, 0, "no refused user is stored");
}

async fn good_password_is_accepted(t: TestDb) {
    let app = TestApp::new(t).await;
    let reg = app
        .post(
            "register",
            json!({"account": "alice", "password": "correct horse"}),
            None,
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{:?}", reg.body);
    app.login("alice", "correct horse").await;
    // Exactly the limits: 8 and 64 characters.
    app.register("bob", "k7#fQ2zx").await;
    app.register("carol", &"k7#fQ2zx".repeat(8)).await;
    assert_eq!(user_count(&app).await, 3);
    // Other failures keep their envelope, without `rule`.
    let taken = app
        .post(
            "register",
            json!({"account": "alice", "password": "correct horse"}),
            None,
        )
        .await;
    assert_eq!(taken.code(), "conflict");
    assert!(taken.body.get("rule").is_none(), "{:?}", taken.body);
    // The hasher's own limits stay `invalid_input`, checked before the policy.
    let nul = app
        .post(
            "register",
            json!({"account": "dave", "password": "p\u{0}q"}),
            None,
        )
        .await;
    assert_eq!(nul.code(), "invalid_input", "{:?}", nul.body);
    assert!(nul.body.get("rule").is_none());
}

async fn change_password_refuses_each_rule(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("alice", "old-pass-1").await;
    let token = app.login("alice", "old-pass-1").await;
    for (password, rule) in refused_for_alice() {
        let a = app
            .post(
                "change-password",
                json!({"old_password": "old-pass-1", "new_password": password}),
                Some(&token),
            )
            .await;
        assert_weak(&a, rule, &password);
    }
    // The old password is checked first: a wrong one is 401 whatever the new one.
    let wrong = app
        .post(
            "change-password",
            json!({"old_password": "wrong-pass", "new_password": "abc"}),
            Some(&token),
        )
        .await;
    assert_eq!(wrong.code(), "invalid_credentials", "{:?}", wrong.body);
    // Nothing changed: the old password still works.
    app.login("alice", "old-pass-1").await;
    let ok = app
        .post(
            "change-password",
            json!({"old_password": "old-pass-1", "new_password": "new-pass-2"}),
            Some(&token),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    app.login("alice", "new-pass-2").await;
}

async fn admin_created_users_follow_the_policy(t: TestDb) {
    let app = TestApp::new(t).await;
    let mut conn = app.t.db.conn().await.unwrap();
    manage::bootstrap(&mut conn).await.unwrap();
    let (root_id, root) = app.user("root").await;
    let mut user = User::find_by_id(&mut conn, root_id).await.unwrap().unwrap();
    user.is_superuser = true;
    user.update(&mut conn).await.unwrap();
    for (password, rule) in refused_for_alice() {
        let a = app
            .call(
                Method::POST,
                "/api/contrib/auth/admin/users",
                Some(json!({"account": "alice", "password": password})),
                Some(&root),
            )
            .await;
        assert_weak(&a, rule, &password);
    }
    assert_eq!(user_count(&app).await, 1, "only root");
}

async fn permissive_policy_allows_what_default_refuses(t: TestDb) {
    let policy = PasswordPolicy {
        min_length: 4,
        reject_common: false,
        reject_account: false,
        ..PasswordPolicy::default()
    };
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .password_policy(policy.clone())
        .build();
    let app = TestApp::with_service(t, service).await;
    assert_eq!(app.auth.service().password_policy(), &policy);
    app.register("alice", "password").await;
    app.register("bob", "bob-pass").await;
    app.register("carol", "k7#f").await;
    let token = app.login("alice", "password").await;
    let ok = app
        .post(
            "change-password",
            json!({"old_password": "password", "new_password": "alice"}),
            Some(&token),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    // Its own minimum still holds.
    let short = app
        .post(
            "register",
            json!({"account": "dave", "password": "abc"}),
            None,
        )
        .await;
    assert_weak(&short, "min_length", "abc");
    assert_eq!(short.body["message"], "password: at least 4 characters");

    // No policy at all: a one-character password.
    let none = AuthService::<User>::builder()
        .password_policy(PasswordPolicy::none())
        .build();
    assert!(none.check_password("alice", "a").is_ok());
}

async fn stricter_policy_refuses_what_default_allows(t: TestDb) {
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .password_policy(PasswordPolicy {
            min_length: 12,
            max_length: 20,
            ..PasswordPolicy::default()
        })
        .build();
    let app = TestApp::with_service(t, service).await;
    // 11 characters: fine by default, short here.
    let a = app
        .post(
            "register",
            json!({"account": "alice", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_weak(&a, "min_length", "pass-word-1");
    assert_eq!(a.body["message"], "password: at least 12 characters");
    let a = app
        .post(
            "register",
            json!({"account": "alice", "password": "k7#fQ2zx".repeat(3)}),
            None,
        )
        .await;
    assert_weak(&a, "max_length", "24 characters");
    assert_eq!(a.body["message"], "password: at most 20 characters");
    assert_eq!(user_count(&app).await, 0);
    app.register("alice", "pass-word-12").await;
    let token = app.login("alice", "pass-word-12").await;
    let a = app
        .post(
            "change-password",
            json!({"old_password": "pass-word-12", "new_password": "new-pass-2"}),
            Some(&token),
        )
        .await;
    assert_weak(&a, "min_length", "change to 10 characters");
}

backend_tests!(
    register_refuses_each_rule,
    good_password_is_accepted,
    change_password_refuses_each_rule,
    admin_created_users_follow_the_policy,
    permissive_policy_allows_what_default_refuses,
    stricter_policy_refuses_what_default_allows,
);

/// The check the reset-password flow calls: the hasher's limits, then the policy.
#[test]
fn service_check_password() {
    let service = AuthService::<User>::builder().build();
    assert_eq!(service.password_policy(), &PasswordPolicy::default());
    assert!(service.check_password("alice", "correct horse").is_ok());
    for (password, rule) in refused_for_alice() {
        match service.check_password("alice", &password) {
            Err(AuthError::WeakPassword(v)) => assert_eq!(v.rule(), rule, "{password}"),
            other => panic!("{password}: {other:?}"),
        }
    }
    assert!(matches!(
        service.check_password("alice", "abc"),
        Err(AuthError::WeakPassword(PolicyViolation::TooShort {
            min: 8
        }))
    ));
    assert!(matches!(
        service.check_password("alice", "correct\0horse"),
        Err(AuthError::Password(_))
    ));
    // 37 characters (inside the policy), 74 bytes (over bcrypt's limit).
    assert!(matches!(
        service.check_password("alice", &"é".repeat(37)),
        Err(AuthError::Password(_))
    ));
}
