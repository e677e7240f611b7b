//! API keys over HTTP on every backend (issue 14, SPEC C9.1): shown once and stored hashed;
//! `Authorization: Bearer` and `X-API-Key` through every guard; a limited key is the
//! intersection of its list and the owner's current permissions; revoked, expired,
//! unknown keys and deactivated owners get one 401; keys cannot manage credentials; bearer
//! requests skip CSRF; the last use is written at most once a minute. Written as attacks
//! where it matters: each refusal is checked to change nothing.

use auth_axum::auth_core::audit::{self, EventFilter, EventType};
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::schema::auth_api_keys;
use auth_axum::auth_core::service::AuthService;
use auth_axum::{
    CurrentUser, MaybeUser, UserStore, auth_core::session, auth_core::with_conn,
    permission_required, role_required,
};
use auth_tests::http::{Answer, HOST, ORIGIN, TEST_COST, TestApp, send};
use auth_tests::model::v1::User;
use auth_tests::{TestDb, backend_tests};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::get;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

#[permission_required("article.read")]
async fn read(user: CurrentUser<User>) -> String {
    user.account.clone()
}

#[permission_required("article.write")]
async fn write() -> &'static str {
    "written"
}

#[role_required("Editor")]
async fn editors() -> &'static str {
    "editor"
}

async fn private(user: CurrentUser<User>) -> String {
    user.account.clone()
}

async fn whoami(user: MaybeUser<User>) -> String {
    user.0
        .map_or_else(|| "anonymous".to_owned(), |u| u.account.clone())
}

struct Keys {
    app: TestApp,
    router: Router,
}

impl Keys {
    async fn new(t: TestDb) -> Keys {
        // Every refused key audited (no per-client interval): the tests read each reason.
        let service = AuthService::builder()
            .bcrypt_cost(TEST_COST)
            .rejection_log_interval(std::time::Duration::ZERO)
            .build();
        let app = TestApp::with_service(t, service).await;
        let router = Router::new()
            .route("/read", get(read))
            .route("/write", get(write).post(write))
            .route("/editors", get(editors))
            .route("/private", get(private))
            .route("/whoami", get(whoami))
            .nest("/api/contrib/auth", app.auth.router())
            .layer(app.auth.layer());
        let mut conn = app.t.db.conn().await.unwrap();
        for code in ["article.read", "article.write", "article.delete"] {
            manage::get_or_create_permission(&mut conn, code, "")
                .await
                .unwrap();
        }
        Keys { app, router }
    }

    /// A user holding `article.read` and `article.write` through the role `Editor`;
    /// returns (id, session token).
    async fn editor(&self, account: &str) -> (i64, String) {
        let (id, token) = self.app.user(account).await;
        self.app
            .give_role(id, "Editor", &["article.read", "article.write"])
            .await;
        (id, token)
    }

    /// `POST api-keys` with the session; returns the answer.
    async fn create(&self, token: &str, body: Value) -> Answer {
        self.app.post("api-keys", body, Some(token)).await
    }

    /// Creates a key; returns (key id, key).
    async fn key(&self, token: &str, body: Value) -> (i64, String) {
        let a = self.create(token, body).await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        let data = &a.body["data"];
        (
            data["id"].as_i64().unwrap(),
            data["key"].as_str().unwrap().to_owned(),
        )
    }

    /// A request with `headers` only (no cookie, no origin unless given).
    async fn with(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        send(&self.router, req.body(Body::empty()).unwrap()).await
    }

    /// `GET path` with `Authorization: Bearer key`.
    async fn bearer(&self, path: &str, key: &str) -> Answer {
        let auth = format!("Bearer {key}");
        self.with(Method::GET, path, &[("authorization", &auth)])
            .await
    }

    async fn keys_in_db(&self) -> Vec<(i64, String, String)> {
        let mut conn = self.app.t.db.conn().await.unwrap();
        with_conn!(&mut conn, |c| auth_api_keys::table
            .select((
                auth_api_keys::id,
                auth_api_keys::prefix,
                auth_api_keys::key_hash
            ))
            .order(auth_api_keys::id)
            .load::<(i64, String, String)>(c)
            .await)
        .unwrap()
    }

    async fn events(&self, event: EventType) -> Vec<audit::AuditEvent> {
        let mut conn = self.app.t.db.conn().await.unwrap();
        let filter = EventFilter {
            event: Some(event),
            ..EventFilter::default()
        };
        audit::list(&mut conn, &filter, 0, 100).await.unwrap()
    }
}

async fn keys_are_shown_once_and_stored_hashed(t: TestDb) {
    let k = Keys::new(t).await;
    let (_, token) = k.editor("ada").await;
    let a = k
        .create(
            &token,
            json!({"name": "ci", "permissions": ["article.read"], "expires_in_days": 30}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let data = &a.body["data"];
    let key = data["key"].as_str().unwrap();
    let prefix = data["prefix"].as_str().unwrap();
    assert!(key.starts_with("ak_") && key.starts_with(prefix) && key.len() > 50);
    assert_eq!(data["name"], "ci");
    assert_eq!(data["permissions"], json!(["article.read"]));
    assert!(data["expires_at"].is_string() && data["created_at"].is_string());
    assert!(data.get("user_id").is_none() && data.get("key_hash").is_none());

    // Only the hash is stored; the list never shows the key.
    let stored = k.keys_in_db().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].2, session::hash_token(key));
    assert!(!stored[0].2.contains(key) && stored[0].1 == prefix);
    let list = k.app.get("api-keys", Some(&token)).await;
    assert_eq!(list.status, StatusCode::OK);
    let listed = list.body["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("key").is_none());
    assert!(!list.body.to_string().contains(key));
    assert_eq!(k.events(EventType::ApiKeyCreated).await.len(), 1);

    // Bad input: 422, nothing stored.
    for body in [
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "n", "expires_in_days": 0}),
        json!({"name": "n", "expires_in_days": 3651}),
        json!({"name": "n", "permissions": "article.read"}),
        json!({"name": "n", "owner": 1}),
    ] {
        let a = k.create(&token, body.clone()).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    assert_eq!(k.keys_in_db().await.len(), 1);
}

async fn a_key_authenticates_every_guard(t: TestDb) {
    let k = Keys::new(t).await;
    let (_, token) = k.editor("bea").await;
    let (_, key) = k.key(&token, json!({"name": "all"})).await;
    for round in 0..2 {
        for path in ["/private", "/read", "/write", "/editors", "/api-contrib-me"] {
            let path = if path == "/api-contrib-me" {
                "/api/contrib/auth/me"
            } else {
                path
            };
            let a = k.bearer(path, &key).await;
            assert_eq!(
                a.status,
                StatusCode::OK,
                "{path} round {round}: {:?}",
                a.body
            );
        }
        let a = k
            .with(Method::GET, "/private", &[("x-api-key", key.as_str())])
            .await;
        assert_eq!(a.status, StatusCode::OK, "X-API-Key");
        let a = k
            .with(
                Method::GET,
                "/private",
                &[("authorization", &format!("bEaReR {key}"))],
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "scheme is case-insensitive");
    }
    let me = k.bearer("/api/contrib/auth/me", &key).await;
    assert_eq!(me.body["data"]["account"], "bea", "{:?}", me.body);
    assert_eq!(k.bearer("/whoami", &key).await.status, StatusCode::OK);
    // Accepted bearer requests are not audited.
    assert!(k.events(EventType::BearerRejected).await.is_empty());
}

async fn a_limited_key_holds_the_intersection(t: TestDb) {
    let k = Keys::new(t).await;
    let (id, token) = k.editor("cid").await;
    let (_, key) = k
        .key(
            &token,
            json!({"name": "reader", "permissions": ["article.read"]}),
        )
        .await;
    assert_eq!(k.bearer("/read", &key).await.status, StatusCode::OK);
    assert_eq!(k.bearer("/write", &key).await.status, StatusCode::FORBIDDEN);
    // A limited key carries no roles.
    assert_eq!(
        k.bearer("/editors", &key).await.status,
        StatusCode::FORBIDDEN
    );
    // The owner's permissions are read now, not at creation: revoking one is seen on the
    // very next request.
    let mut conn = k.app.t.db.conn().await.unwrap();
    manage::revoke_permission(&mut conn, "Editor", "article.read")
        .await
        .unwrap();
    assert_eq!(k.bearer("/read", &key).await.status, StatusCode::FORBIDDEN);
    manage::grant_permission(&mut conn, "Editor", "article.read")
        .await
        .unwrap();
    assert_eq!(k.bearer("/read", &key).await.status, StatusCode::OK);

    // Asking for more than the owner holds: 403, no key.
    let before = k.keys_in_db().await.len();
    for permissions in [
        json!(["article.delete"]),
        json!(["article.read", "no.such"]),
    ] {
        let a = k
            .create(&token, json!({"name": "more", "permissions": permissions}))
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{permissions}");
    }
    assert_eq!(k.keys_in_db().await.len(), before);

    // A superuser's limited key holds its list, and nothing more.
    let mut user = User::find_by_id(&mut conn, id).await.unwrap().unwrap();
    user.is_superuser = true;
    user.update(&mut conn).await.unwrap();
    let (_, limited) = k
        .key(
            &token,
            json!({"name": "su", "permissions": ["article.delete"]}),
        )
        .await;
    assert_eq!(
        k.bearer("/write", &limited).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        k.bearer("/editors", &limited).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(k.bearer("/private", &limited).await.status, StatusCode::OK);
    let (_, unlimited) = k.key(&token, json!({"name": "su-all"})).await;
    assert_eq!(k.bearer("/write", &unlimited).await.status, StatusCode::OK);
}

async fn dead_keys_get_one_401(t: TestDb) {
    let k = Keys::new(t).await;
    let (id, token) = k.editor("dan").await;
    let (revoked_id, revoked) = k.key(&token, json!({"name": "revoked"})).await;
    let (expired_id, expired) = k.key(&token, json!({"name": "expired"})).await;
    let (_, owner_key) = k.key(&token, json!({"name": "owner"})).await;
    // Warm the revoked and the owner's key: their refusals must beat the cache. (The
    // expiry below is written behind the framework's back, which a cached entry would not
    // see; it is read on first use.)
    for key in [&revoked, &owner_key] {
        assert_eq!(k.bearer("/read", key).await.status, StatusCode::OK);
    }

    let a = k
        .app
        .call(
            Method::DELETE,
            &format!("/api/contrib/auth/api-keys/{revoked_id}"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let mut conn = k.app.t.db.conn().await.unwrap();
    let past = session::now() - time::Duration::hours(1);
    with_conn!(&mut conn, |c| diesel::update(
        auth_api_keys::table.filter(auth_api_keys::id.eq(expired_id))
    )
    .set(auth_api_keys::expires_at.eq(Some(past)))
    .execute(c)
    .await)
    .unwrap();
    let mut answers = vec![
        k.bearer("/read", &revoked).await,
        k.bearer("/read", &expired).await,
        k.bearer("/read", "ak_unknown_key_of_the_right_shape").await,
        k.bearer("/read", "not-an-api-key").await,
    ];
    let mut user = User::find_by_id(&mut conn, id).await.unwrap().unwrap();
    user.is_active = false;
    user.update(&mut conn).await.unwrap();
    answers.push(k.bearer("/read", &owner_key).await);
    for a in &answers {
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
        assert_eq!(a.body, answers[0].body, "one shape for every refusal");
    }
    let reasons: Vec<String> = k
        .events(EventType::BearerRejected)
        .await
        .iter()
        .map(|e| e.detail["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    for reason in ["unknown", "expired", "inactive"] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} in {reasons:?}"
        );
    }
    assert_eq!(k.events(EventType::ApiKeyRevoked).await.len(), 1);
}

async fn keys_cannot_manage_credentials(t: TestDb) {
    let k = Keys::new(t).await;
    let (_, token) = k.editor("eve").await;
    let (key_id, key) = k
        .key(
            &token,
            json!({"name": "limited", "permissions": ["article.read"]}),
        )
        .await;
    let auth = format!("Bearer {key}");
    let own_key = format!("api-keys/{key_id}");
    // Every route that manages the user's own credentials or second factors refuses a key,
    // in auth-core (`Actor::own_login`): none of these routes checks it itself.
    let attempts: [(Method, &str, Value); 13] = [
        (Method::POST, "api-keys", json!({"name": "wider"})),
        (Method::GET, "api-keys", Value::Null),
        (Method::DELETE, &own_key, Value::Null),
        (
            Method::POST,
            "change-password",
            json!({"old_password": "x", "new_password": "another-pass-1"}),
        ),
        (Method::POST, "logout", Value::Null),
        (Method::GET, "sessions", Value::Null),
        (Method::PATCH, "me", json!({"email": "eve@evil.test"})),
        (Method::POST, "mfa/totp/setup", json!({})),
        (
            Method::POST,
            "mfa/totp/disable",
            json!({"password": "x", "code": "123456"}),
        ),
        (
            Method::POST,
            "mfa/backup-codes",
            json!({"password": "x", "code": "123456"}),
        ),
        (Method::POST, "reauthenticate", json!({"password": "x"})),
        (Method::DELETE, "identities/1", Value::Null),
        (Method::DELETE, "sessions/1", Value::Null),
    ];
    for (method, path, body) in attempts {
        let a = k
            .app
            .call_bare(
                method.clone(),
                &format!("/api/contrib/auth/{path}"),
                (!body.is_null()).then_some(body),
                &[("authorization", &auth)],
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {:?}",
            a.body
        );
        assert_eq!(a.code(), "session_required", "{method} {path}");
    }
    assert_eq!(k.keys_in_db().await.len(), 1, "no key was made or lost");
    assert_eq!(k.bearer("/read", &key).await.status, StatusCode::OK);

    // Another user cannot end this key: 404, and it still works.
    let (_, other) = k.editor("mallory").await;
    let a = k
        .app
        .call(
            Method::DELETE,
            &format!("/api/contrib/auth/api-keys/{key_id}"),
            None,
            Some(&other),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(k.bearer("/read", &key).await.status, StatusCode::OK);
    let a = k
        .app
        .call(
            Method::DELETE,
            "/api/contrib/auth/api-keys/nope",
            None,
            Some(&other),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// A bearer request without the session cookie needs no CSRF token (nothing a cross-site
/// page could ride); with the cookie beside it, the check applies as for any cookie request.
/// A flood of bad keys from one client writes one `bearer.rejected` row per interval (60 s
/// by default), an IPv6 client counting as its /64; other clients get their own row.
async fn a_flood_of_bad_keys_writes_a_row_per_client(t: TestDb) {
    let service = AuthService::builder().bcrypt_cost(TEST_COST).build();
    let app = TestApp::with_config(t, service, TestApp::forwarded_http_config()).await;
    let bad = |ip: &'static str, n: usize| {
        let app = &app;
        async move {
            for i in 0..n {
                let key = format!("ak_{i:08}_{}", "x".repeat(43));
                let a = app
                    .call_bare(
                        Method::GET,
                        "/api/contrib/auth/me",
                        None,
                        &[
                            ("authorization", &format!("Bearer {key}")),
                            ("x-forwarded-for", ip),
                        ],
                    )
                    .await;
                assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
            }
        }
    };
    let rows = || async {
        let mut conn = app.t.db.conn().await.unwrap();
        audit::list(
            &mut conn,
            &EventFilter {
                event: Some(EventType::BearerRejected),
                ..EventFilter::default()
            },
            0,
            100,
        )
        .await
        .unwrap()
    };
    bad("203.0.113.5", 30).await;
    assert_eq!(rows().await.len(), 1, "one row for thirty refusals");
    bad("2001:db8:1:2::1", 5).await;
    bad("2001:db8:1:2:ffff::9", 5).await;
    assert_eq!(rows().await.len(), 2, "one /64, one more row");
    bad("203.0.113.6", 3).await;
    let all = rows().await;
    assert_eq!(all.len(), 3);
    assert!(
        all.iter().all(|e| e.detail["reason"] == "unknown"),
        "{all:?}"
    );
}

async fn bearer_requests_skip_csrf_and_never_fall_back_to_the_cookie(t: TestDb) {
    let k = Keys::new(t).await;
    let (_, token) = k.editor("fay").await;
    let (_, key) = k.key(&token, json!({"name": "w"})).await;
    let cookie = format!("auth_session={token}");
    let auth = format!("Bearer {key}");
    // No Origin, no CSRF token: a bearer POST passes, a cookie POST does not.
    let a = k
        .with(
            Method::POST,
            "/write",
            &[("host", HOST), ("authorization", &auth)],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = k
        .with(
            Method::POST,
            "/write",
            &[("host", HOST), ("cookie", &cookie)],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.code(), "csrf");
    // A bad bearer beside a good cookie: 401, the cookie is not consulted.
    let a = k
        .with(
            Method::GET,
            "/private",
            &[("cookie", &cookie), ("authorization", "Bearer ak_forged")],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // A bearer beside the cookie exempts nothing from the CSRF check (csrf.rs): a
    // foreign-origin POST carrying the cookie is refused whatever the bearer.
    for bearer in ["Bearer ak_forged", &auth] {
        let a = k
            .with(
                Method::POST,
                "/write",
                &[
                    ("host", HOST),
                    ("origin", "http://evil.test"),
                    ("cookie", &cookie),
                    ("authorization", bearer),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{bearer}");
        assert_eq!(a.code(), "csrf");
    }
    // The same-origin cookie request still works.
    let a = k
        .with(
            Method::POST,
            "/write",
            &[("host", HOST), ("origin", ORIGIN), ("cookie", &cookie)],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
}

async fn the_last_use_is_written_at_most_once_a_minute(t: TestDb) {
    let k = Keys::new(t).await;
    let (_, token) = k.editor("gus").await;
    let (key_id, key) = k.key(&token, json!({"name": "used"})).await;
    let last_used = || async {
        let mut conn = k.app.t.db.conn().await.unwrap();
        with_conn!(&mut conn, |c| auth_api_keys::table
            .find(key_id)
            .select(auth_api_keys::last_used_at)
            .first::<Option<time::PrimitiveDateTime>>(c)
            .await)
        .unwrap()
    };
    assert_eq!(last_used().await, None);
    assert_eq!(k.bearer("/read", &key).await.status, StatusCode::OK);
    let first = last_used().await.expect("recorded on first use");
    for _ in 0..3 {
        assert_eq!(k.bearer("/read", &key).await.status, StatusCode::OK);
    }
    assert_eq!(
        last_used().await,
        Some(first),
        "not rewritten within the minute"
    );
    let listed = k.app.get("api-keys", Some(&token)).await;
    assert!(listed.body["data"][0]["last_used_at"].is_string());
}

backend_tests!(
    a_flood_of_bad_keys_writes_a_row_per_client,
    keys_are_shown_once_and_stored_hashed,
    a_key_authenticates_every_guard,
    a_limited_key_holds_the_intersection,
    dead_keys_get_one_401,
    keys_cannot_manage_credentials,
    bearer_requests_skip_csrf_and_never_fall_back_to_the_cookie,
    the_last_use_is_written_at_most_once_a_minute,
);
