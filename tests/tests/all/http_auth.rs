//! The auth router over HTTP (the router as a service), on every backend: register, login,
//! me, logout, password change, sessions, and the cookie's properties.

use auth_axum::auth_core::rbac::manage;
use auth_axum::{UserStore, auth_core::session, auth_core::with_conn};
use auth_tests::http::TestApp;
use auth_tests::model::v1;
use auth_tests::{TestDb, backend_tests};
use axum::http::{Method, StatusCode};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

async fn register_login_me_logout(t: TestDb) {
    let app = TestApp::new(t).await;
    let reg = app
        .post(
            "register",
            json!({"account": "alice", "password": "s3cret-pass", "email": "alice@example.com",
                   "extra": {"first_name": "Alice", "age": 30}}),
            None,
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{:?}", reg.body);
    assert_eq!(reg.body["success"], true);
    assert_eq!(reg.body["data"]["account"], "alice");
    assert_eq!(reg.body["data"]["extra"]["first_name"], "Alice");
    assert_eq!(reg.body["data"]["extra"]["age"], 30);
    assert!(
        reg.body["data"].get("first_name").is_none(),
        "custom fields under extra"
    );
    assert!(
        reg.body["data"].get("password").is_none(),
        "the hash never leaves: {}",
        reg.body
    );
    assert!(reg.set_cookie.is_none(), "registering does not log in");

    let login = app
        .post(
            "login",
            json!({"account": "alice", "password": "s3cret-pass"}),
            None,
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    assert_eq!(login.body["data"]["account"], "alice");
    assert_eq!(login.body["data"]["email"], "alice@example.com");
    assert_eq!(login.body["data"]["roles"], json!([]));
    assert_eq!(login.body["data"]["groups"], json!([]));
    assert!(
        login.body["data"]["last_login"].is_string(),
        "this login is recorded: {}",
        login.body
    );
    assert!(login.body["data"].get("password").is_none());
    let token = login.token().expect("session cookie");
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    let cookie = login.set_cookie.clone().unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }

    let me = app.get("me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["data"]["account"], "alice");
    assert_eq!(
        app.call(Method::GET, "/private", None, Some(&token))
            .await
            .status,
        StatusCode::OK
    );

    let out = app.post("logout", json!({}), Some(&token)).await;
    assert_eq!(out.status, StatusCode::OK, "{:?}", out.body);
    assert!(
        out.set_cookie
            .as_deref()
            .is_some_and(|c| c.contains("auth_session=;") || c.contains("Max-Age=0"))
    );

    // The cookie replayed after logout is dead everywhere.
    let replay = app.get("me", Some(&token)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.code(), "unauthenticated");
    assert_eq!(
        app.call(Method::GET, "/private", None, Some(&token))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.post("logout", json!({}), Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn sessions_store_only_token_hashes(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("bob", "pass-word-1").await;
    let token = app.login("bob", "pass-word-1").await;
    let mut conn = app.t.db.conn().await.unwrap();
    let hashes: Vec<String> = with_conn!(&mut conn, |c| {
        auth_axum::auth_core::schema::auth_sessions::table
            .select(auth_axum::auth_core::schema::auth_sessions::token_hash)
            .load(c)
            .await
    })
    .unwrap();
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], token);
    assert!(!hashes[0].contains(&token));
    assert_eq!(hashes[0], session::hash_token(&token));
}

async fn a_new_token_at_every_login(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("carol", "pass-word-1").await;
    let first = app.login("carol", "pass-word-1").await;
    // Logging in again with the old cookie rotates it: the old token dies.
    let again = app
        .post(
            "login",
            json!({"account": "carol", "password": "pass-word-1"}),
            Some(&first),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let second = again.token().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        app.get("me", Some(&first)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("me", Some(&second)).await.status, StatusCode::OK);
}

async fn wrong_password_and_unknown_account_look_alike(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("dave", "pass-word-1").await;
    let wrong = app
        .post(
            "login",
            json!({"account": "dave", "password": "nope"}),
            None,
        )
        .await;
    let unknown = app
        .post(
            "login",
            json!({"account": "nobody", "password": "nope"}),
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    assert_eq!(wrong.code(), "invalid_credentials");
    assert!(wrong.set_cookie.is_none() && unknown.set_cookie.is_none());
}

async fn change_password_ends_other_sessions(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("erin", "old-pass-1").await;
    let here = app.login("erin", "old-pass-1").await;
    let elsewhere = app.login("erin", "old-pass-1").await;

    let bad = app
        .post(
            "change-password",
            json!({"old_password": "wrong", "new_password": "new-pass-2"}),
            Some(&here),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("me", Some(&elsewhere)).await.status,
        StatusCode::OK,
        "a refused change ends nothing"
    );

    let ok = app
        .post(
            "change-password",
            json!({"old_password": "old-pass-1", "new_password": "new-pass-2"}),
            Some(&here),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["data"]["ended_sessions"], 1);
    assert_eq!(
        app.get("me", Some(&here)).await.status,
        StatusCode::OK,
        "the session that changed it stays"
    );
    assert_eq!(
        app.get("me", Some(&elsewhere)).await.status,
        StatusCode::UNAUTHORIZED
    );

    let old = app
        .post(
            "login",
            json!({"account": "erin", "password": "old-pass-1"}),
            None,
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    app.login("erin", "new-pass-2").await;
}

async fn list_and_revoke_sessions(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("frank", "pass-word-1").await;
    app.register("grace", "pass-word-1").await;
    let mine = app.login("frank", "pass-word-1").await;
    let laptop = app.login("frank", "pass-word-1").await;
    let hers = app.login("grace", "pass-word-1").await;

    let list = app.get("sessions", Some(&mine)).await;
    assert_eq!(list.status, StatusCode::OK);
    let sessions = list.body["data"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        sessions
            .iter()
            .all(|s| s.get("token_hash").is_none() && s["last_seen_at"].is_string())
    );
    let other_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_i64()
        .unwrap();

    let her_id = app.get("sessions", Some(&hers)).await.body["data"][0]["id"]
        .as_i64()
        .unwrap();
    let not_mine = app
        .call(
            Method::DELETE,
            &format!("/api/contrib/auth/sessions/{her_id}"),
            None,
            Some(&mine),
        )
        .await;
    assert_eq!(
        not_mine.status,
        StatusCode::NOT_FOUND,
        "one user cannot end another's session"
    );
    assert_eq!(app.get("me", Some(&hers)).await.status, StatusCode::OK);
    let junk = app
        .call(
            Method::DELETE,
            "/api/contrib/auth/sessions/abc",
            None,
            Some(&mine),
        )
        .await;
    assert_eq!(junk.status, StatusCode::NOT_FOUND);

    let revoked = app
        .call(
            Method::DELETE,
            &format!("/api/contrib/auth/sessions/{other_id}"),
            None,
            Some(&mine),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(
        app.get("me", Some(&laptop)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("me", Some(&mine)).await.status, StatusCode::OK);
}

async fn patch_me_updates_custom_fields_only(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("heidi", "pass-word-1").await;
    let token = app.login("heidi", "pass-word-1").await;
    let patch = |body| {
        app.call(
            Method::PATCH,
            "/api/contrib/auth/me",
            Some(body),
            Some(&token),
        )
    };

    let ok =
        patch(json!({"first_name": "Heidi", "nickname": "hd", "email": "heidi@example.com", "current_password": "pass-word-1"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(
        app.get("me", Some(&token)).await.body["data"]["extra"]["first_name"],
        "Heidi"
    );

    for forbidden in [
        json!({"is_superuser": true}),
        json!({"account": "x"}),
        json!({"password": "x"}),
        json!({"nope": 1}),
    ] {
        let refused = patch(forbidden.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{forbidden}: {:?}",
            refused.body
        );
        assert_eq!(refused.code(), "invalid_input");
    }
    let wrong_type = patch(json!({"age": "old"})).await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong_type.body["message"].as_str().unwrap().contains("age"));

    let mut conn = app.t.db.conn().await.unwrap();
    let stored = v1::User::find_by_account(&mut conn, "heidi")
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.is_superuser);
    assert_eq!(stored.nickname.as_deref(), Some("hd"));
}

async fn duplicate_registration_is_409_and_writes_nothing(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("ivan", "pass-word-1").await;
    let again = app
        .post(
            "register",
            json!({"account": "ivan", "password": "other-pass"}),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "conflict");
    let mut conn = app.t.db.conn().await.unwrap();
    let count: i64 =
        with_conn!(&mut conn, |c| v1::users::table.count().get_result(c).await).unwrap();
    assert_eq!(count, 1);
    app.login("ivan", "pass-word-1").await;
}

async fn inactive_users_cannot_log_in_or_keep_sessions(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("judy", "pass-word-1").await;
    let token = app.login("judy", "pass-word-1").await;
    let mut conn = app.t.db.conn().await.unwrap();
    let mut judy = v1::User::find_by_account(&mut conn, "judy")
        .await
        .unwrap()
        .unwrap();
    judy.is_active = false;
    judy.update(&mut conn).await.unwrap();
    assert_eq!(
        app.get("me", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let login = app
        .post(
            "login",
            json!({"account": "judy", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    assert_eq!(login.code(), "inactive_account");
    let wrong = app
        .post(
            "login",
            json!({"account": "judy", "password": "wrong"}),
            None,
        )
        .await;
    assert_eq!(
        wrong.code(),
        "invalid_credentials",
        "without the password nothing about the account shows"
    );
}

async fn outdated_hashes_are_upgraded_at_login(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("kim", "pass-word-1").await;
    let stronger = auth_axum::auth_core::service::AuthService::<v1::User>::builder()
        .bcrypt_cost(5)
        .build();
    let upgraded = auth_axum::Auth::with_http(app.t.db.clone(), stronger, app.auth.http().clone());
    let router = auth_tests::http::router(&upgraded);
    let req = axum::http::Request::post("/api/contrib/auth/login")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"account": "kim", "password": "pass-word-1"}).to_string(),
        ))
        .unwrap();
    assert_eq!(
        auth_tests::http::send(&router, req).await.status,
        StatusCode::OK
    );
    let mut conn = app.t.db.conn().await.unwrap();
    let kim = v1::User::find_by_account(&mut conn, "kim")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        auth_axum::auth_core::password::hash_cost(auth_axum::AuthUser::password_hash(&kim)),
        Some(5)
    );
    assert!(kim.last_login.is_some(), "login records last_login");
    app.login("kim", "pass-word-1").await;
}

/// Every answer of the auth router, success or failure, says `Cache-Control: no-store`
/// (login answers carry the CSRF token, `me` and `sessions` personal data).
async fn auth_answers_are_not_cached(t: TestDb) {
    let app = TestApp::new(t).await;
    let (_, token) = app.user("carol").await;
    let answers = [
        (
            "login",
            app.post(
                "login",
                json!({"account": "carol", "password": "pass-word-1"}),
                None,
            )
            .await,
        ),
        (
            "failed login",
            app.post(
                "login",
                json!({"account": "carol", "password": "wrong"}),
                None,
            )
            .await,
        ),
        ("me", app.get("me", Some(&token)).await),
        ("me anonymous", app.get("me", None).await),
        ("sessions", app.get("sessions", Some(&token)).await),
        ("admin", app.get("admin/users", Some(&token)).await),
    ];
    for (what, a) in answers {
        assert_eq!(
            a.headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{what} ({}): {:?}",
            a.status,
            a.headers
        );
    }
}

/// Seed 000's "User Registration" and "User Login" examples, sent verbatim (but for the
/// password: the seed's `secret123` is on the common-password list, rightly refused):
/// `email` and the custom fields inside `extra` register; the login answer carries the core
/// fields at the top level, `roles` and `groups` as `[{id, name}]`, and the custom fields
/// under `extra`, as the seed shows it. `me` answers the same shape.
async fn seed_000_examples_replay_verbatim(t: TestDb) {
    let app = TestApp::new(t).await;
    let password = "correct horse battery";
    let reg = app
        .post(
            "register",
            json!({
                "account": "alice",
                "password": password,
                "platform": "default",
                "extra": {
                    "email": "alice@example.com",
                    "first_name": "Alice",
                    "last_name": "Smith"
                }
            }),
            None,
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{:?}", reg.body);
    assert_eq!(reg.body["success"], true);
    let mut conn = app.t.db.conn().await.unwrap();
    let alice = v1::User::find_by_account(&mut conn, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(
        (alice.first_name.as_str(), alice.last_name.as_str()),
        ("Alice", "Smith")
    );
    // The seed's roles and group: User and Editor, Editor also through Content Team.
    let id = auth_axum::AuthUser::id(&alice);
    for role in ["User", "Editor"] {
        manage::get_or_create_role(&mut conn, role, None)
            .await
            .unwrap();
    }
    manage::assign_role(&mut conn, id, "User", None)
        .await
        .unwrap();
    manage::get_or_create_group(&mut conn, "Content Team")
        .await
        .unwrap();
    manage::add_to_group(&mut conn, id, "Content Team")
        .await
        .unwrap();
    manage::grant_group_role(&mut conn, "Content Team", "Editor", None)
        .await
        .unwrap();
    drop(conn);

    let login = app
        .post(
            "login",
            json!({
                "account": "alice",
                "password": password,
                "platform": "default",
                "extra": {}
            }),
            None,
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    assert_eq!(login.body["success"], true);
    let token = login.token().unwrap();
    let me = app.get("me", Some(&token)).await;
    for data in [&login.body["data"], &me.body["data"]] {
        assert_eq!(data["account"], "alice");
        assert_eq!(data["email"], "alice@example.com");
        let named = |list: &serde_json::Value| -> Vec<(bool, String)> {
            list.as_array()
                .unwrap()
                .iter()
                .map(|x| (x["id"].is_i64(), x["name"].as_str().unwrap().to_owned()))
                .collect()
        };
        assert_eq!(
            named(&data["roles"]),
            [(true, "Editor".to_owned()), (true, "User".to_owned())]
        );
        assert_eq!(named(&data["groups"]), [(true, "Content Team".to_owned())]);
        assert_eq!(data["extra"]["first_name"], "Alice");
        assert_eq!(data["extra"]["last_name"], "Smith");
        assert!(data.get("first_name").is_none() && data.get("password").is_none());
    }

    // The same fields at the top level register too; a field given both ways, or a core
    // field smuggled in as custom, is a 422 that writes nothing.
    let top = app
        .post(
            "register",
            json!({"account": "bob", "password": password, "email": "bob@example.com",
                   "first_name": "Bob", "last_name": "Jones"}),
            None,
        )
        .await;
    assert_eq!(top.status, StatusCode::CREATED, "{:?}", top.body);
    assert_eq!(top.body["data"]["extra"]["last_name"], "Jones");
    for body in [
        json!({"account": "carl", "password": password, "first_name": "C",
               "extra": {"first_name": "D"}}),
        json!({"account": "carl", "password": password, "email": "c@example.com",
               "extra": {"email": "d@example.com"}}),
        json!({"account": "carl", "password": password, "is_superuser": true}),
        json!({"account": "carl", "password": password, "extra": {"is_superuser": true}}),
        json!({"account": "carl", "password": password, "extra": {"email": 7}}),
    ] {
        let a = app.post("register", body.clone(), None).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:?}",
            a.body
        );
        assert_eq!(a.code(), "invalid_input");
    }
    let mut conn = app.t.db.conn().await.unwrap();
    assert!(
        v1::User::find_by_account(&mut conn, "carl")
            .await
            .unwrap()
            .is_none()
    );
}

backend_tests!(
    seed_000_examples_replay_verbatim,
    auth_answers_are_not_cached,
    register_login_me_logout,
    sessions_store_only_token_hashes,
    a_new_token_at_every_login,
    wrong_password_and_unknown_account_look_alike,
    change_password_ends_other_sessions,
    list_and_revoke_sessions,
    patch_me_updates_custom_fields_only,
    duplicate_registration_is_409_and_writes_nothing,
    inactive_users_cannot_log_in_or_keep_sessions,
    outdated_hashes_are_upgraded_at_login,
);
