//! The credential lifecycle (issue 25 items 1 and 2) over HTTP on every backend, written
//! as the attack it stops: someone holding a stolen session cookie, whose last proof of
//! identity is older than the sudo window, tries to plant a way back in (an API key, a
//! passkey, an authenticator, an external identity); the owner's password reset then
//! evicts whatever got in, API keys included; "sign out everywhere else" ends the rest.

use auth_axum::auth_core::account_mail::AccountMail;
use auth_axum::auth_core::audit::{self, EventFilter, EventType};
use auth_axum::auth_core::mail::SmtpMailer;
use auth_axum::auth_core::mfa::{MfaConfig, SecretKey};
use auth_axum::auth_core::service::{AuthService, AuthServiceBuilder};
use auth_axum::auth_core::session::SessionConfig;
use auth_tests::http::{Answer, TEST_COST, TestApp};
use auth_tests::smtp::SmtpServer;
use auth_tests::{TestDb, backend_tests};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

const PASSWORD: &str = "pass-word-1";

/// A service with account mail (to `server`) and MFA; `keep_keys` as
/// `keep_api_keys_on_reset`.
fn service(server: &SmtpServer, keep_keys: bool) -> AuthService<auth_tests::model::v1::User> {
    builder(server).keep_api_keys_on_reset(keep_keys).build()
}

/// The builder of [`service`].
fn builder(server: &SmtpServer) -> AuthServiceBuilder<auth_tests::model::v1::User> {
    let mailer = SmtpMailer::from_url(&server.url(), "Accounts <accounts@example.test>").unwrap();
    AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .mail(AccountMail::new(
            mailer,
            "http://localhost/api/contrib/auth",
            "Test App",
        ))
        .mfa(MfaConfig::new(SecretKey::generate(), "Test App"))
}

/// Registers `account` with an address (`<account>@example.test`, where its mails go) and
/// logs in: the user's id and session token.
async fn member(app: &TestApp, account: &str) -> (i64, String) {
    let a = app
        .post(
            "register",
            json!({ "account": account, "password": PASSWORD, "email": format!("{account}@example.test") }),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let id = a.body["data"]["id"].as_i64().unwrap();
    (id, app.login(account, PASSWORD).await)
}

/// The next mail to `account` whose text contains `needle`, skipping any other.
async fn mail_saying(server: &SmtpServer, account: &str, needle: &str) -> String {
    loop {
        let mail = server.next_mail().await;
        if mail.rcpt_to == [format!("{account}@example.test")] && mail.text().contains(needle) {
            return mail.text();
        }
    }
}

/// `GET me` with the API key `key`.
async fn me_by_key(app: &TestApp, key: &str) -> Answer {
    app.call_bare(
        Method::GET,
        "/api/contrib/auth/me",
        None,
        &[("authorization", &format!("Bearer {key}"))],
    )
    .await
}

/// Creates an API key with the session `token`; panics unless 201.
async fn create_key(app: &TestApp, token: &str, name: &str) -> String {
    let a = app
        .post("api-keys", json!({ "name": name }), Some(token))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    a.body["data"]["key"].as_str().unwrap().to_owned()
}

async fn api_key_rows(app: &TestApp, user_id: i64) -> usize {
    use auth_axum::auth_core::schema::auth_api_keys as k;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let mut conn = app.t.db.conn().await.unwrap();
    let n: i64 = auth_axum::auth_core::with_conn!(&mut conn, |c| {
        k::table
            .filter(k::user_id.eq(user_id))
            .count()
            .get_result(c)
            .await
    })
    .unwrap();
    n as usize
}

/// Resets `account`'s password through the mailed link.
async fn reset_by_mail(app: &TestApp, server: &SmtpServer, account: &str, new_password: &str) {
    let a = app
        .post("forgot-password", json!({ "account": account }), None)
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    // The registration's verification mail may come first.
    let link = loop {
        let mail = server.next_mail().await;
        if let Some(link) = mail.first_link().filter(|l| l.contains("/reset-password?")) {
            break link;
        }
    };
    let token = link.split("token=").nth(1).expect("a token").to_owned();
    let a = app
        .post(
            "reset-password",
            json!({ "token": token, "new_password": new_password }),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
}

async fn a_stolen_session_cannot_keep_the_account(t: TestDb) {
    let server = SmtpServer::start();
    let app = TestApp::with_service(t, service(&server, false)).await;
    let (owner_id, _) = member(&app, "owner").await;
    // The owner's earlier key, made in sudo mode (the login counts as the proof).
    let owner_key = {
        let fresh = app.login("owner", PASSWORD).await;
        create_key(&app, &fresh, "owner's ci").await
    };
    // The thief's copy of a session cookie whose last proof is twenty minutes old.
    let stolen = app.login("owner", PASSWORD).await;
    app.age_sessions(owner_id, 20 * 60).await;

    let plants: [(Method, &str, Value); 6] = [
        (Method::POST, "api-keys", json!({ "name": "backdoor" })),
        (Method::POST, "mfa/totp/setup", json!({})),
        (Method::POST, "passkeys/register/start", json!({})),
        (Method::DELETE, "passkeys/1", Value::Null),
        (Method::DELETE, "identities/1", Value::Null),
        (Method::POST, "oauth/github/link", Value::Null),
    ];
    for (method, path, body) in &plants {
        let a = app
            .call(
                method.clone(),
                &format!("/api/contrib/auth/{path}"),
                (!body.is_null()).then(|| body.clone()),
                Some(&stolen),
            )
            .await;
        // Passkeys and OAuth are not configured here: refused first all the same.
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "reauthentication_required"),
            "{method} {path}: {:?}",
            a.body
        );
        let message = a.body["message"].as_str().unwrap_or_default();
        assert!(message.contains("reauthenticate"), "says how: {message}");
    }
    assert_eq!(api_key_rows(&app, owner_id).await, 1, "no key was planted");

    // A wrong password does not open sudo mode; the right one does, for the window.
    let a = app
        .post(
            "reauthenticate",
            json!({ "password": "guess-1234" }),
            Some(&stolen),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
    let a = app
        .post("api-keys", json!({ "name": "backdoor" }), Some(&stolen))
        .await;
    assert_eq!(a.code(), "reauthentication_required");
    let a = app
        .post(
            "reauthenticate",
            json!({ "password": PASSWORD }),
            Some(&stolen),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    // Here: the thief knew the password. The key they make...
    let backdoor = create_key(&app, &stolen, "backdoor").await;
    assert_eq!(me_by_key(&app, &backdoor).await.status, StatusCode::OK);

    // ...does not survive the owner's recovery: a reset ends every session and key.
    reset_by_mail(&app, &server, "owner", "brand-new-pass-9").await;
    for key in [&backdoor, &owner_key] {
        assert_eq!(
            me_by_key(&app, key).await.status,
            StatusCode::UNAUTHORIZED,
            "a key made before the reset is dead"
        );
    }
    assert_eq!(api_key_rows(&app, owner_id).await, 0);
    assert_eq!(
        app.get("me", Some(&stolen)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut conn = app.t.db.conn().await.unwrap();
    let resets = audit::list(
        &mut conn,
        &EventFilter {
            event: Some(EventType::PasswordReset),
            ..EventFilter::default()
        },
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        resets[0].detail["ended_api_keys"], 2,
        "{:?}",
        resets[0].detail
    );
}

async fn keep_api_keys_on_reset_keeps_them(t: TestDb) {
    let server = SmtpServer::start();
    let app = TestApp::with_service(t, service(&server, true)).await;
    let (id, token) = member(&app, "kept").await;
    let key = create_key(&app, &token, "deploy").await;
    // keep_api_keys_on_reset: the reset ends the sessions, not the key.
    reset_by_mail(&app, &server, "kept", "brand-new-pass-9").await;
    assert_eq!(
        app.get("me", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me_by_key(&app, &key).await.status, StatusCode::OK);
    assert_eq!(api_key_rows(&app, id).await, 1);
}

async fn an_admin_password_set_ends_the_keys(t: TestDb) {
    let server = SmtpServer::start();
    let app = TestApp::with_service(t, service(&server, false)).await;
    let (id, token) = member(&app, "victim").await;
    let key = create_key(&app, &token, "deploy").await;
    let (admin_id, _) = app.user("boss").await;
    {
        let mut conn = app.t.db.conn().await.unwrap();
        auth_axum::auth_core::rbac::manage::bootstrap(&mut conn)
            .await
            .unwrap();
        auth_axum::auth_core::rbac::manage::assign_role(&mut conn, admin_id, "admin", None)
            .await
            .unwrap();
    }
    let admin = app.login("boss", PASSWORD).await;
    let a = app
        .post(
            &format!("admin/users/{id}/password"),
            json!({ "password": "set-by-admin-7" }),
            Some(&admin),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(me_by_key(&app, &key).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api_key_rows(&app, id).await, 0);
}

async fn sign_out_everywhere_else(t: TestDb) {
    let server = SmtpServer::start();
    let app = TestApp::with_service(t, service(&server, false)).await;
    let (id, here) = member(&app, "roamer").await;
    let phone = app.login("roamer", PASSWORD).await;
    let laptop = app.login("roamer", PASSWORD).await;
    let key = create_key(&app, &here, "ci").await;
    // An API key cannot do it (it manages sessions).
    let a = app
        .call_bare(
            Method::DELETE,
            "/api/contrib/auth/sessions",
            None,
            &[("authorization", &format!("Bearer {key}"))],
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "session_required")
    );
    assert_eq!(app.get("me", Some(&phone)).await.status, StatusCode::OK);
    // Needs no recent proof: it only takes access away.
    app.age_sessions(id, 3600).await;
    let a = app
        .call(
            Method::DELETE,
            "/api/contrib/auth/sessions",
            None,
            Some(&here),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["ended_sessions"], 2);
    for gone in [&phone, &laptop] {
        assert_eq!(
            app.get("me", Some(gone)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(app.get("me", Some(&here)).await.status, StatusCode::OK);
    assert_eq!(
        me_by_key(&app, &key).await.status,
        StatusCode::OK,
        "keys stay"
    );
}

/// The owner hears of every way in added or removed, and of a reset, with what the reset
/// left on the account.
async fn notices_reach_the_owner(t: TestDb) {
    if !crate::mfa::pyotp_available() {
        return;
    }
    let server = SmtpServer::start();
    let app = TestApp::with_service(t, service(&server, false)).await;
    let (_, token) = member(&app, "noticed").await;
    let key = create_key(&app, &token, "deploy").await;
    mail_saying(&server, "noticed", "a new API key \"deploy\" was created").await;
    let a = app.post("mfa/totp/setup", json!({}), Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let secret = a.body["data"]["secret"].as_str().unwrap().to_owned();
    let code = crate::mfa::pyotp(&secret, crate::mfa::unix_now());
    let a = app
        .post("mfa/totp/confirm", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    mail_saying(
        &server,
        "noticed",
        "two-factor authentication was turned on",
    )
    .await;
    let keys = app.get("api-keys", Some(&token)).await;
    let key_id = keys.body["data"][0]["id"].as_i64().unwrap();
    let a = app
        .call(
            Method::DELETE,
            &format!("/api/contrib/auth/api-keys/{key_id}"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(me_by_key(&app, &key).await.status, StatusCode::UNAUTHORIZED);
    mail_saying(&server, "noticed", "an API key was revoked").await;
    reset_by_mail(&app, &server, "noticed", "brand-new-pass-9").await;
    let text = mail_saying(&server, "noticed", "the password was reset").await;
    assert!(text.contains("Still on the account"), "{text}");
    assert!(text.contains("an authenticator app"), "{text}");
    assert!(!text.contains(&secret), "never a secret in a mail");
}

/// A user with no local password (made by a directory or a provider) gets no reset link,
/// so that forgot-password cannot add a password beside their one way in; unless the
/// service allows it (`first_password_by_reset`).
async fn no_first_password_through_a_reset(t: TestDb, allow: bool) {
    let server = SmtpServer::start();
    let service = builder(&server).first_password_by_reset(allow).build();
    let app = TestApp::with_service(t, service).await;
    let (id, _) = member(&app, "external").await;
    {
        use auth_tests::model::v1::users;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let mut conn = app.t.db.conn().await.unwrap();
        auth_axum::auth_core::with_conn!(&mut conn, |c| {
            diesel::update(users::table.filter(users::id.eq(id)))
                .set(users::password.eq(auth_axum::auth_core::identity::NO_PASSWORD))
                .execute(c)
                .await
        })
        .unwrap();
    }
    app.auth.service().wait_background().await;
    while server.try_next_mail().is_some() {}
    let a = app
        .post("forgot-password", json!({ "account": "external" }), None)
        .await;
    assert_eq!(
        a.status,
        StatusCode::ACCEPTED,
        "the same answer: {:?}",
        a.body
    );
    app.auth.service().wait_background().await;
    let mail = server.try_next_mail();
    assert_eq!(mail.is_some(), allow, "a reset link only when allowed");
}

async fn no_reset_link_without_a_local_password(t: TestDb) {
    no_first_password_through_a_reset(t, false).await;
}

async fn first_password_by_reset_when_allowed(t: TestDb) {
    no_first_password_through_a_reset(t, true).await;
}

async fn the_sudo_window_is_configurable(t: TestDb) {
    let sessions = SessionConfig {
        sudo_window: std::time::Duration::from_secs(3 * 3600),
        ..SessionConfig::default()
    };
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .sessions(sessions)
        .build();
    let app = TestApp::with_service(t, service).await;
    let (id, token) = app.user("patient").await;
    app.age_sessions(id, 2 * 3600).await;
    create_key(&app, &token, "within three hours").await;
    app.age_sessions(id, 4 * 3600).await;
    let a = app
        .post("api-keys", json!({ "name": "too late" }), Some(&token))
        .await;
    assert_eq!(a.code(), "reauthentication_required", "{:?}", a.body);
}

backend_tests!(
    a_stolen_session_cannot_keep_the_account,
    keep_api_keys_on_reset_keeps_them,
    an_admin_password_set_ends_the_keys,
    sign_out_everywhere_else,
    notices_reach_the_owner,
    no_reset_link_without_a_local_password,
    first_password_by_reset_when_allowed,
    the_sudo_window_is_configurable
);
