//! Every flow on the smallest model (issue 24 item 8): account, password and e-mail, no
//! `is_active`, `is_superuser`, `is_verified`, times or custom fields. Optional fields are
//! optional: register, log in, `me`, an e-mail change (self-service and by an
//! administrator), change-password, API keys and sessions all work without them.

use auth_axum::UserStore;
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_tests::http::{TEST_COST, TestApp};
use auth_tests::model::minimal::User;
use auth_tests::{TestDb, backend_tests};
use axum::http::{Method, StatusCode};
use serde_json::json;

async fn app(t: TestDb) -> TestApp<User> {
    let service = AuthService::builder().bcrypt_cost(TEST_COST).build();
    TestApp::for_model(t, service, TestApp::http_config()).await
}

async fn email_of(app: &TestApp<User>, account: &str) -> String {
    let mut conn = app.t.db.conn().await.unwrap();
    User::find_by_account(&mut conn, account)
        .await
        .unwrap()
        .unwrap()
        .email
}

async fn flows_on_a_minimal_model(t: TestDb) {
    let app = app(t).await;
    let a = app
        .post(
            "register",
            json!({ "account": "min", "password": "pass-word-1", "email": "min@example.com" }),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let token = app.login("min", "pass-word-1").await;
    let a = app.get("me", Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["account"], "min");

    // Self-service e-mail change: the model has no is_verified field to clear.
    let a = app
        .call(
            Method::PATCH,
            "/api/contrib/auth/me",
            Some(json!({ "email": "new@example.com", "current_password": "pass-word-1" })),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(email_of(&app, "min").await, "new@example.com");

    // An administrator's edit of another user's address.
    let (admin_id, admin) = {
        let a = app
            .post(
                "register",
                json!({ "account": "boss", "password": "pass-word-1", "email": "boss@example.com" }),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        let mut conn = app.t.db.conn().await.unwrap();
        manage::bootstrap(&mut conn).await.unwrap();
        let boss = User::find_by_account(&mut conn, "boss")
            .await
            .unwrap()
            .unwrap();
        manage::assign_role(&mut conn, boss.id, "admin", None)
            .await
            .unwrap();
        (boss.id, app.login("boss", "pass-word-1").await)
    };
    let min_id = {
        let mut conn = app.t.db.conn().await.unwrap();
        User::find_by_account(&mut conn, "min")
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let a = app
        .call(
            Method::PATCH,
            &format!("/api/contrib/auth/admin/users/{min_id}"),
            Some(json!({ "email": "set-by-admin@example.com" })),
            Some(&admin),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(email_of(&app, "min").await, "set-by-admin@example.com");
    // A model without is_active cannot be deactivated: a clear 422, nothing written.
    let a = app
        .call(
            Method::PATCH,
            &format!("/api/contrib/auth/admin/users/{min_id}"),
            Some(json!({ "is_active": false, "email": "other@example.com" })),
            Some(&admin),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", a.body);
    assert_eq!(email_of(&app, "min").await, "set-by-admin@example.com");
    let a = app
        .call(
            Method::POST,
            &format!("/api/contrib/auth/admin/users/{admin_id}/password"),
            Some(json!({ "password": "pass-word-2" })),
            Some(&admin),
        )
        .await;
    assert_eq!(a.code(), "own_account");

    // Change-password, API keys, sessions.
    let a = app
        .post(
            "change-password",
            json!({ "old_password": "pass-word-1", "new_password": "pass-word-9" }),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let token = app.login("min", "pass-word-9").await;
    let a = app
        .post("api-keys", json!({ "name": "ci" }), Some(&token))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let a = app.get("sessions", Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = app.post("logout", json!({}), Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(
        app.get("me", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

backend_tests!(flows_on_a_minimal_model);
