//! Every flow on the smallest model (issue 24 item 8): account, password and e-mail, no
//! `is_active`, `is_superuser`, `is_verified`, times or custom fields. Optional fields are
//! optional: register, log in, `me`, an e-mail change (self-service and by an
//! administrator), change-password, API keys and sessions all work without them; so do the
//! mailed flows (a password reset, e-mail verification, which such a model has nothing to
//! record) and a second factor.

use auth_axum::UserStore;
use auth_axum::auth_core::account_mail::AccountMail;
use auth_axum::auth_core::mail::SmtpMailer;
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_tests::http::{TEST_COST, TestApp};
use auth_tests::model::minimal::User;
use auth_tests::smtp::{ReceivedMail, SmtpServer};
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

/// The token of a mailed link to `route` (the link is checked to answer that it is usable).
async fn mailed_token(app: &TestApp<User>, mail: &ReceivedMail, route: &str) -> String {
    let link = mail.first_link().expect("the mail carries a link");
    let path = link
        .strip_prefix("http://localhost")
        .expect("the link is under the public URL");
    assert!(
        path.starts_with(&format!("/api/contrib/auth/{route}?token=")),
        "{link}"
    );
    let a = app.call(Method::GET, path, None, None).await;
    assert_eq!(a.status, StatusCode::OK, "{link}: {:?}", a.body);
    path.split("token=").nth(1).unwrap().to_owned()
}

async fn mailed_flows_and_mfa_on_a_minimal_model(t: TestDb) {
    if !crate::mfa::pyotp_available() {
        return;
    }
    let server = SmtpServer::start();
    let mailer = SmtpMailer::from_url(&server.url(), "Accounts <accounts@example.test>").unwrap();
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .mail(AccountMail::new(
            mailer,
            "http://localhost/api/contrib/auth",
            "Test App",
        ))
        .mfa(crate::mfa::mfa_config())
        .build();
    let app = TestApp::for_model(t, service, TestApp::http_config()).await;
    let a = app
        .post(
            "register",
            json!({ "account": "min", "password": "pass-word-1", "email": "min@example.com" }),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let session = app.login("min", "pass-word-1").await;

    // Verification: a model without is_verified counts every address as verified, so
    // there is nothing to mail.
    let a = app.post("request-verify", json!({}), Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["message"], "already verified");

    // A password reset through the mailed link.
    let a = app
        .post("forgot-password", json!({ "account": "min" }), None)
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    let mail = server.next_mail().await;
    assert_eq!(mail.rcpt_to, vec!["min@example.com".to_owned()]);
    let token = mailed_token(&app, &mail, "reset-password").await;
    let a = app
        .post(
            "reset-password",
            json!({ "token": token, "new_password": "brand-new-9" }),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(
        app.get("me", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED,
        "the reset ended the session"
    );
    let session = app.login("min", "brand-new-9").await;

    // A second factor: set up, confirmed, then asked for at login.
    let a = app.post("mfa/totp/setup", json!({}), Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let secret = a.body["data"]["secret"].as_str().unwrap().to_owned();
    let code = crate::mfa::pyotp(&secret, crate::mfa::unix_now());
    let a = app
        .post("mfa/totp/confirm", json!({ "code": code }), Some(&session))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let backup = a.body["data"]["backup_codes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let a = app
        .post(
            "login",
            json!({ "account": "min", "password": "brand-new-9" }),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["mfa_required"], true, "{:?}", a.body);
    assert!(a.token().is_none(), "no session before the second factor");
    let mfa_token = a.body["data"]["mfa_token"].as_str().unwrap().to_owned();
    let a = app
        .post(
            "login/mfa",
            json!({ "mfa_token": mfa_token, "backup_code": backup }),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["account"], "min");
    let second = a.token().expect("the second step sets the session cookie");
    assert_eq!(app.get("me", Some(&second)).await.status, StatusCode::OK);
}

backend_tests!(
    flows_on_a_minimal_model,
    mailed_flows_and_mfa_on_a_minimal_model
);
