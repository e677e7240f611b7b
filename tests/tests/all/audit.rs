//! The audit log (SPEC C8.6) over HTTP on every backend: a row for each event type the
//! routes produce, `GET admin/events` with its filters, pagination and guard, the alert
//! hook, and no secret in any row.

use std::sync::{Arc, Mutex};

use auth_axum::UserStore;
use auth_axum::auth_core::audit::{AuditEvent, AuditHook, EventFilter, EventType};
use auth_axum::auth_core::backend::BoxFuture;
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::ThrottleConfig;
use auth_tests::http::{Answer, TEST_COST, TestApp};
use auth_tests::model::v1::User;
use auth_tests::{TestDb, backend_tests};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<AuditEvent>>>);

impl AuditHook for Collect {
    fn on_event<'a>(&'a self, event: &'a AuditEvent) -> BoxFuture<'a, ()> {
        self.0.lock().unwrap().push(event.clone());
        Box::pin(async {})
    }
}

async fn app(t: TestDb, hook: Collect) -> TestApp {
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .throttle(ThrottleConfig {
            account_limit: 3,
            ..ThrottleConfig::default()
        })
        .audit_hook(hook)
        .build();
    TestApp::with_config(t, service, TestApp::forwarded_http_config()).await
}

async fn login_as(app: &TestApp, account: &str, password: &str, ip: &str, ua: &str) -> Answer {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/contrib/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", ip)
        .header(header::USER_AGENT, ua)
        .body(Body::from(
            json!({"account": account, "password": password}).to_string(),
        ))
        .unwrap();
    app.send(req).await
}

async fn events(app: &TestApp, filter: EventFilter) -> Vec<AuditEvent> {
    let mut conn = app.t.db.conn().await.unwrap();
    auth_axum::auth_core::audit::list(&mut conn, &filter, 0, 1000)
        .await
        .unwrap()
}

async fn of_type(app: &TestApp, event: EventType) -> Vec<AuditEvent> {
    events(
        app,
        EventFilter {
            event: Some(event),
            ..EventFilter::default()
        },
    )
    .await
}

async fn every_event_is_recorded(t: TestDb) {
    let hook = Collect::default();
    let app = app(t, hook.clone()).await;
    let mut conn = app.t.db.conn().await.unwrap();
    manage::bootstrap(&mut conn).await.unwrap();
    drop(conn);

    // Registration, success, failure, new device, lockout.
    app.register("alice", "pass-word-1").await;
    let a = login_as(&app, "alice", "pass-word-1", "192.0.2.1", "Firefox").await;
    assert_eq!(a.status, StatusCode::OK);
    let token = a.token().unwrap();
    let a = login_as(&app, "alice", "pass-word-1", "192.0.2.1", "Firefox").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        of_type(&app, EventType::NewDevice).await.is_empty(),
        "a known device"
    );
    let a = login_as(&app, "alice", "pass-word-1", "192.0.2.99", "Firefox").await;
    assert_eq!(a.status, StatusCode::OK);
    let other = a.token().unwrap();
    let new_device = of_type(&app, EventType::NewDevice).await;
    assert_eq!(new_device.len(), 1);
    assert_eq!(new_device[0].ip.as_deref(), Some("192.0.2.99"));
    assert_eq!(new_device[0].detail["new_ip"], true);
    assert_eq!(new_device[0].detail["new_user_agent"], false);
    for _ in 0..3 {
        login_as(&app, "alice", "bad-guess-1", "192.0.2.7", "curl").await;
    }
    let failures = of_type(&app, EventType::LoginFailure).await;
    assert_eq!(failures.len(), 3);
    assert_eq!(failures[0].detail["reason"], "invalid_credentials");
    assert_eq!(failures[0].account.as_deref(), Some("alice"));
    assert_eq!(failures[0].ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(failures[0].user_agent.as_deref(), Some("curl"));
    let lockouts = of_type(&app, EventType::Lockout).await;
    assert_eq!(lockouts.len(), 1);
    assert_eq!(lockouts[0].detail["scope"], "account");
    let a = login_as(&app, "alice", "pass-word-1", "192.0.2.7", "curl").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        of_type(&app, EventType::LoginFailure).await[0].detail["reason"],
        "throttled"
    );

    // Password change, session revocation, logout. (A wrong old password counts against
    // the same keys as a login, so the lock above would refuse the change: clear it.)
    let mut conn = app.t.db.conn().await.unwrap();
    auth_axum::auth_core::throttle::clear(
        &mut conn,
        &auth_axum::auth_core::throttle::Key::account("alice"),
    )
    .await
    .unwrap();
    drop(conn);
    let a = app
        .post(
            "change-password",
            json!({"old_password": "pass-word-1", "new_password": "pass-word-2"}),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(of_type(&app, EventType::PasswordChanged).await.len(), 1);
    // (The change ended the other session; make a fresh one to revoke.)
    let _ = other;
    let a = login_as(&app, "alice", "pass-word-2", "192.0.2.1", "Firefox").await;
    let second = a.token().unwrap();
    let sessions = app.get("sessions", Some(&token)).await;
    let id = sessions.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let a = app
        .call(
            Method::DELETE,
            &format!("/api/contrib/auth/sessions/{id}"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let revoked = of_type(&app, EventType::SessionRevoked).await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].detail["session_id"], id);
    let _ = second;
    let a = app.post("logout", json!({}), Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(of_type(&app, EventType::Logout).await.len(), 1);

    // Administrators' role and permission changes.
    let (root_id, root) = app.user("root").await;
    let mut conn = app.t.db.conn().await.unwrap();
    let mut user = User::find_by_id(&mut conn, root_id).await.unwrap().unwrap();
    user.is_superuser = true;
    user.update(&mut conn).await.unwrap();
    drop(conn);
    let admin = |m: Method, path: &str, body: Value| {
        let root = root.clone();
        let path = format!("/api/contrib/auth/admin/{path}");
        let app = &app;
        async move { app.call(m, &path, Some(body), Some(&root)).await }
    };
    let a = admin(
        Method::POST,
        "permissions",
        json!({"code": "article.create"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let a = admin(Method::POST, "roles", json!({"name": "editor"})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let role_id = a.body["data"]["id"].as_i64().unwrap();
    let a = admin(
        Method::PUT,
        &format!("roles/{role_id}/permissions"),
        json!({"permissions": ["article.create"]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = admin(
        Method::PUT,
        &format!("roles/{role_id}/permissions"),
        json!({"permissions": []}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let alice_id = of_type(&app, EventType::Registered)
        .await
        .last()
        .unwrap()
        .user_id
        .unwrap();
    let a = admin(
        Method::PUT,
        &format!("users/{alice_id}/roles"),
        json!({"roles": ["editor"]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = admin(
        Method::PUT,
        &format!("users/{alice_id}/roles"),
        json!({"roles": []}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = admin(Method::POST, "groups", json!({"name": "team"})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let a = admin(
        Method::PATCH,
        &format!("users/{alice_id}"),
        json!({"suspend_reason": "abuse"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);

    let granted = of_type(&app, EventType::PermissionGranted).await;
    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0].detail["permissions"], json!(["article.create"]));
    assert_eq!(granted[0].detail["by"]["id"], root_id);
    assert_eq!(of_type(&app, EventType::PermissionRevoked).await.len(), 1);
    assert_eq!(of_type(&app, EventType::PermissionChanged).await.len(), 1);
    assert_eq!(of_type(&app, EventType::RoleChanged).await.len(), 1);
    let assigned = of_type(&app, EventType::RoleAssigned).await;
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0].user_id, Some(alice_id));
    assert_eq!(assigned[0].detail["roles"], json!(["editor"]));
    assert_eq!(of_type(&app, EventType::RoleRevoked).await.len(), 1);
    assert_eq!(of_type(&app, EventType::GroupChanged).await.len(), 1);
    let changed = of_type(&app, EventType::UserChanged).await;
    assert_eq!(changed[0].detail["action"], "suspended");

    // The hook saw every stored event, in order.
    let stored = events(&app, EventFilter::default()).await;
    let seen = hook.0.lock().unwrap().clone();
    assert_eq!(seen.len(), stored.len());
    assert_eq!(
        seen.iter().map(|e| e.id).collect::<Vec<_>>(),
        stored.iter().rev().map(|e| e.id).collect::<Vec<_>>()
    );
    // No secret anywhere.
    let all = serde_json::to_string(&stored).unwrap();
    for secret in ["pass-word-1", "pass-word-2", "bad-guess-1", "$2b$", &token] {
        assert!(!all.contains(secret), "{secret} leaked into the audit log");
    }
}

async fn events_endpoint(t: TestDb) {
    let app = app(t, Collect::default()).await;
    let (admin_id, admin) = app.user("admin").await;
    app.give_role(admin_id, "auditor", &["users.read"]).await;
    let (_, plain) = app.user("plain").await;
    for _ in 0..2 {
        login_as(&app, "plain", "nope-nope-1", "192.0.2.3", "x").await;
    }

    let a = app.get("admin/events", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = app.get("admin/events", Some(&plain)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    let a = app.get("admin/events", Some(&admin)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let total = a.body["data"]["total"].as_i64().unwrap();
    // 2 registrations, 2 logins, 2 failures.
    assert_eq!(total, 6, "{:?}", a.body);
    let items = a.body["data"]["items"].as_array().unwrap();
    assert_eq!(items[0]["event"], "login.failure", "newest first");
    assert!(items[0]["created_at"].as_str().unwrap().ends_with('Z'));

    let a = app
        .get("admin/events?event=login.failure", Some(&admin))
        .await;
    assert_eq!(a.body["data"]["total"], 2);
    let a = app
        .get(&format!("admin/events?user={admin_id}"), Some(&admin))
        .await;
    let items = a.body["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|e| e["user_id"] == admin_id));
    let a = app
        .get("admin/events?page=2&per_page=4", Some(&admin))
        .await;
    assert_eq!(a.body["data"]["items"].as_array().unwrap().len(), 2);
    assert_eq!(a.body["data"]["page"], 2);

    for bad in [
        "admin/events?event=nope",
        "admin/events?user=abc",
        "admin/events?page=0",
        "admin/events?per_page=1000",
        "admin/events?colour=red",
    ] {
        let a = app.get(bad, Some(&admin)).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(a.code(), "invalid_input", "{bad}");
    }
}

backend_tests!(every_event_is_recorded, events_endpoint);
