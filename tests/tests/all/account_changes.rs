//! Changes to an account over HTTP on every backend: the e-mail change (current password
//! for self-service, unverified afterwards, outstanding tokens dead, a notice to the old
//! address, audited), only the changed columns written, and an admin delete that is all
//! or nothing.

use auth_axum::auth_core::account_mail::AccountMail;
use auth_axum::auth_core::account_token::{self, Purpose};
use auth_axum::auth_core::audit::{self, EventFilter, EventType};
use auth_axum::auth_core::mail::SmtpMailer;
use auth_axum::auth_core::rbac;
use auth_axum::auth_core::service::AuthService;
use auth_axum::{Backend, UserStore, auth_core::session};
use auth_tests::admin::Admin;
use auth_tests::http::{TEST_COST, TestApp};
use auth_tests::model::v1::User;
use auth_tests::smtp::SmtpServer;
use auth_tests::{TestDb, backend_tests};
use axum::http::{Method, StatusCode};
use diesel_async::SimpleAsyncConnection;
use serde_json::json;

const PUBLIC: &str = "http://localhost";

async fn app_with_mail(t: TestDb, server: &SmtpServer) -> TestApp {
    let mailer = SmtpMailer::from_url(&server.url(), "Accounts <accounts@example.test>").unwrap();
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .mail(AccountMail::new(
            mailer,
            &format!("{PUBLIC}/api/contrib/auth"),
            "Test App",
        ))
        .build();
    TestApp::with_service(t, service).await
}

async fn events(app: &TestApp, event: EventType) -> Vec<audit::AuditEvent> {
    let mut conn = app.t.db.conn().await.unwrap();
    let filter = EventFilter {
        event: Some(event),
        ..EventFilter::default()
    };
    audit::list(&mut conn, &filter, 0, 100).await.unwrap()
}

async fn load(app: &TestApp, id: i64) -> User {
    let mut conn = app.t.db.conn().await.unwrap();
    User::find_by_id(&mut conn, id).await.unwrap().unwrap()
}

/// Self-service: no current password, no change (422); a wrong one, 401; the right one
/// mails a link to the new address (and a notice to the current one) and changes nothing
/// until it is followed; then the address is the new one, verified, the reset link mailed
/// to the old address is dead, the old address got a notice, and `email.changed` is
/// recorded.
async fn email_change_needs_the_password_and_cleans_up(t: TestDb) {
    let server = SmtpServer::start();
    let app = app_with_mail(t, &server).await;
    let a = app
        .post(
            "register",
            json!({"account": "alice", "password": "pass-word-1", "email": "alice@example.test"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let id = a.body["data"]["id"].as_i64().unwrap();
    let verify = server.next_mail().await;
    let verify_link = verify.first_link().unwrap();
    let session = app.login("alice", "pass-word-1").await;
    // Mark verified through the mailed link, then ask for a reset link.
    let token = verify_link.split("token=").nth(1).unwrap();
    let a = app.post("verify", json!({"token": token}), None).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = app
        .post("forgot-password", json!({"account": "alice"}), None)
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let reset = server.next_mail().await;
    let reset_token = reset.first_link().unwrap();
    let reset_token = reset_token.split("token=").nth(1).unwrap().to_owned();

    let patch = |body: serde_json::Value| {
        let (app, session) = (&app, &session);
        async move {
            app.call(
                Method::PATCH,
                "/api/contrib/auth/me",
                Some(body),
                Some(session),
            )
            .await
        }
    };
    let a = patch(json!({"email": "mallory@example.test"})).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", a.body);
    let a = patch(json!({"email": "mallory@example.test", "current_password": "wrong"})).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
    assert_eq!(a.code(), "invalid_credentials");
    let user = load(&app, id).await;
    assert_eq!(user.email.as_deref(), Some("alice@example.test"));
    assert!(user.is_verified);
    // Other fields need no password; the same address is no change.
    let a = patch(json!({"first_name": "Alice", "email": "alice@example.test"})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(events(&app, EventType::EmailChanged).await.is_empty());

    // The right password: nothing changes until the new address confirms it. A link goes
    // there; the current address is told (without the new one).
    let a = patch(json!({"email": "new@example.test", "current_password": "pass-word-1"})).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    assert_eq!(a.body["data"]["email"], "alice@example.test");
    let confirm = server.next_mail().await;
    assert_eq!(confirm.rcpt_to, vec!["new@example.test".to_owned()]);
    let requested = server.next_mail().await;
    assert_eq!(requested.rcpt_to, vec!["alice@example.test".to_owned()]);
    assert!(!requested.text().contains("new@example.test"));
    assert_eq!(requested.first_link(), None, "no token to the old address");
    let user = load(&app, id).await;
    assert_eq!(
        (
            user.email.as_deref(),
            user.is_verified,
            user.first_name.as_str()
        ),
        (Some("alice@example.test"), true, "Alice")
    );
    assert!(events(&app, EventType::EmailChanged).await.is_empty());
    // The link makes the change: the new address, verified (the link proved it).
    let link = confirm.first_link().expect("a confirmation link");
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let a = app.get(&format!("verify?token={token}"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = app.post("verify", json!({"token": token}), None).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["email"], "new@example.test");
    let user = load(&app, id).await;
    assert_eq!(
        (user.email.as_deref(), user.is_verified),
        (Some("new@example.test"), true)
    );
    let a = app.post("verify", json!({"token": token}), None).await;
    assert_eq!(a.code(), "invalid_token", "single use");
    let a = app
        .post(
            "reset-password",
            json!({"token": reset_token, "new_password": "brand-new-9"}),
            None,
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "the old reset link: {:?}",
        a.body
    );
    assert_eq!(a.code(), "invalid_token");
    let notice = server.next_mail().await;
    assert_eq!(notice.rcpt_to, vec!["alice@example.test".to_owned()]);
    assert!(
        notice
            .subject()
            .unwrap()
            .contains("e-mail address was changed")
    );
    assert!(
        !notice.text().contains("new@example.test"),
        "the new address stays private"
    );
    let changed = events(&app, EventType::EmailChanged).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].user_id, Some(id));
    assert_eq!(changed[0].detail["old"], "alice@example.test");
    assert_eq!(changed[0].detail["new"], "new@example.test");
    assert_eq!(changed[0].detail["confirmed"], true);
    app.auth.service().wait_background().await;
    assert_eq!(events(&app, EventType::EmailChangeRequested).await.len(), 1);
}

/// A pending change dies with a password reset (the request may be an intruder's), and
/// the link of a change cannot take an address another user got meanwhile.
async fn a_pending_change_dies_with_a_reset(t: TestDb) {
    let server = SmtpServer::start();
    let app = app_with_mail(t, &server).await;
    let a = app
        .post(
            "register",
            json!({"account": "erin", "password": "pass-word-1", "email": "erin@example.test"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    server.next_mail().await; // the verification mail
    let session = app.login("erin", "pass-word-1").await;
    let a = app
        .call(
            Method::PATCH,
            "/api/contrib/auth/me",
            Some(json!({"email": "thief@example.test", "current_password": "pass-word-1"})),
            Some(&session),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    let confirm = server.next_mail().await;
    assert_eq!(confirm.rcpt_to, vec!["thief@example.test".to_owned()]);
    let change = confirm
        .first_link()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    server.next_mail().await; // the notice to erin
    // Erin resets her password through her (still her) address.
    app.post("forgot-password", json!({"account": "erin"}), None)
        .await;
    let reset = server.next_mail().await;
    assert_eq!(reset.rcpt_to, vec!["erin@example.test".to_owned()]);
    let reset = reset
        .first_link()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let a = app
        .post(
            "reset-password",
            json!({"token": reset, "new_password": "brand-new-9"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = app.post("verify", json!({"token": change}), None).await;
    assert_eq!(a.code(), "invalid_token", "the change died with the reset");
    let user = User::find_by_account(&mut app.t.db.conn().await.unwrap(), "erin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.email.as_deref(), Some("erin@example.test"));
}

/// An administrator changes the address without a password; the same clean-up follows and
/// the audit row names the administrator.
async fn admin_email_change_is_audited_with_the_admin(t: TestDb) {
    let a = Admin::new(t).await;
    let (_, admin) = a.member("ann", "admin").await;
    let target = a.create_user("bob").await;
    let r = a
        .call(
            Method::PATCH,
            &format!("/users/{target}"),
            Some(json!({"email": "bob@example.test"})),
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let changed = events(&a.app, EventType::EmailChanged).await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].detail["by"]["account"], "ann");
    assert_eq!(changed[0].detail["new"], "bob@example.test");
}

/// Two writers that loaded the same user each change one field: both changes survive
/// (`update_fields` writes only what it is told; `update` would write the stale rest).
async fn only_changed_columns_are_written(t: TestDb) {
    let app = TestApp::new(t).await;
    let (id, session) = app.user("carol").await;
    let mut conn = app.t.db.conn().await.unwrap();
    let mut stale = User::find_by_id(&mut conn, id).await.unwrap().unwrap();
    // Another request changes the nickname meanwhile.
    let a = app
        .call(
            Method::PATCH,
            "/api/contrib/auth/me",
            Some(json!({"nickname": "cc"})),
            Some(&session),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    stale.age = 41;
    assert!(stale.update_fields(&mut conn, &["age"]).await.unwrap());
    let user = load(&app, id).await;
    assert_eq!((user.age, user.nickname.as_deref()), (41, Some("cc")));
    // Role names work as well as field names; unknown names are ignored.
    stale.is_active = false;
    assert!(
        stale
            .update_fields(&mut conn, &["is_active", "no_such_field"])
            .await
            .unwrap()
    );
    let user = load(&app, id).await;
    assert!(!user.is_active && user.age == 41 && user.nickname.as_deref() == Some("cc"));
    assert!(
        stale.update_fields(&mut conn, &[]).await.unwrap(),
        "the row exists"
    );
    User::delete(&mut conn, id).await.unwrap();
    assert!(!stale.update_fields(&mut conn, &["age"]).await.unwrap());
}

/// Makes the database refuse every `op` (`DELETE`, `UPDATE`) on the users table with an
/// error, from a trigger: a real failure in the middle of a multi-step change.
async fn refuse_on_users(app: &TestApp, op: &str) {
    let ddl = match app.t.db.backend() {
        Backend::Sqlite => format!(
            "CREATE TRIGGER keep_users BEFORE {op} ON users BEGIN SELECT RAISE(ABORT, 'kept'); END;"
        ),
        Backend::Postgres => format!(
            "CREATE FUNCTION keep_users() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'kept'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER keep_users BEFORE {op} ON users \
             FOR EACH ROW EXECUTE FUNCTION keep_users();"
        ),
        Backend::Mysql => format!(
            "CREATE TRIGGER keep_users BEFORE {op} ON users FOR EACH ROW \
             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'kept'"
        ),
    };
    let mut conn = app.t.db.conn().await.unwrap();
    auth_axum::auth_core::with_conn!(&mut conn, |c| c.batch_execute(&ddl).await).unwrap();
}

async fn drop_refusal(app: &TestApp) {
    let ddl = match app.t.db.backend() {
        Backend::Postgres => "DROP TRIGGER keep_users ON users",
        _ => "DROP TRIGGER keep_users",
    };
    let mut conn = app.t.db.conn().await.unwrap();
    auth_axum::auth_core::with_conn!(&mut conn, |c| c.batch_execute(ddl).await).unwrap();
}

/// A reset whose password write fails (a trigger refuses the update) changes nothing: the
/// token is not used up, the sessions live, the lock stays; once the database accepts the
/// write again, the same token works.
async fn reset_is_all_or_nothing(t: TestDb) {
    let app = TestApp::new(t).await;
    let (id, session) = app.user("dora").await;
    let token = {
        let mut conn = app.t.db.conn().await.unwrap();
        account_token::issue(
            &mut conn,
            Purpose::PasswordReset,
            id,
            None,
            std::time::Duration::from_secs(600),
        )
        .await
        .unwrap()
    };
    refuse_on_users(&app, "UPDATE").await;
    let body = json!({"token": token, "new_password": "brand-new-9"});
    let a = app.post("reset-password", body.clone(), None).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", a.body);
    assert_eq!(app.get("me", Some(&session)).await.status, StatusCode::OK);
    drop_refusal(&app).await;
    let a = app.post("reset-password", body, None).await;
    assert_eq!(a.status, StatusCode::OK, "the token survived: {:?}", a.body);
    assert_eq!(
        app.get("me", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.login("dora", "brand-new-9").await;
}

/// A wrong current password on an e-mail change counts like a failed login: audited as
/// `email.change_failed`, and the fifth locks the account (429, logins too).
async fn email_change_guesses_are_throttled(t: TestDb) {
    let app = TestApp::new(t).await;
    let (_, session) = app.user("erin").await;
    for _ in 0..5 {
        let a = app
            .call(
                Method::PATCH,
                "/api/contrib/auth/me",
                Some(json!({"email": "x@example.test", "current_password": "guess"})),
                Some(&session),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
    }
    let a = app
        .call(
            Method::PATCH,
            "/api/contrib/auth/me",
            Some(json!({"email": "x@example.test", "current_password": "pass-word-1"})),
            Some(&session),
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", a.body);
    let a = app
        .post(
            "login",
            json!({"account": "erin", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", a.body);
    let failed = events(&app, EventType::EmailChangeFailed).await;
    assert_eq!(failed.len(), 6, "five wrong, one throttled");
    assert_eq!(load(&app, 1).await.email, None);
}

/// A database error in the middle of an admin delete (a trigger refuses to delete the user
/// row, after the sessions and role links are gone) rolls the whole delete back.
async fn admin_delete_is_all_or_nothing(t: TestDb) {
    let a = Admin::new(t).await;
    let (victim, victim_session) = a.member("victim", "user").await;
    refuse_on_users(&a.app, "DELETE").await;
    let r = a
        .call(Method::DELETE, &format!("/users/{victim}"), None, &a.root)
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", r.body);
    assert!(
        !r.body.to_string().contains("kept"),
        "no internals in the answer: {:?}",
        r.body
    );
    let mut conn = a.app.t.db.conn().await.unwrap();
    assert!(User::find_by_id(&mut conn, victim).await.unwrap().is_some());
    assert!(
        rbac::grants(&mut conn, victim, None)
            .await
            .unwrap()
            .has_role("user"),
        "the role link survived"
    );
    assert_eq!(
        session::list_for_user(&mut conn, victim)
            .await
            .unwrap()
            .len(),
        1,
        "the session survived"
    );
    assert_eq!(
        a.app.get("me", Some(&victim_session)).await.status,
        StatusCode::OK
    );
}

backend_tests!(
    a_pending_change_dies_with_a_reset,
    email_change_needs_the_password_and_cleans_up,
    admin_email_change_is_audited_with_the_admin,
    only_changed_columns_are_written,
    admin_delete_is_all_or_nothing,
    reset_is_all_or_nothing,
    email_change_guesses_are_throttled,
);
