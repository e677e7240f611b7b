//! Session lifetimes (idle, absolute, sliding), bounded cleanup, `MaybeUser`, roles and
//! groups in the login answer, and lifecycle hooks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_axum::auth_core::backend::BoxFuture;
use auth_axum::auth_core::schema::{
    auth_group_roles, auth_groups, auth_roles, auth_sessions, auth_user_groups, auth_user_roles,
};
use auth_axum::auth_core::service::{AuthService, Hooks};
use auth_axum::auth_core::session::{self, Session, SessionConfig};
use auth_axum::{UserStore, auth_core::with_conn};
use auth_tests::http::{TEST_COST, TestApp};
use auth_tests::model::v1::User;
use auth_tests::{TestDb, backend_tests};
use axum::http::{Method, StatusCode};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use time::PrimitiveDateTime;

async fn set_session_times(
    app: &TestApp,
    token: &str,
    idle: PrimitiveDateTime,
    absolute: PrimitiveDateTime,
) {
    let hash = session::hash_token(token);
    let mut conn = app.t.db.conn().await.unwrap();
    let n = with_conn!(&mut conn, |c| {
        diesel::update(auth_sessions::table.filter(auth_sessions::token_hash.eq(&hash)))
            .set((
                auth_sessions::idle_expires_at.eq(idle),
                auth_sessions::absolute_expires_at.eq(absolute),
            ))
            .execute(c)
            .await
    })
    .unwrap();
    assert_eq!(n, 1);
}

async fn session_count(app: &TestApp) -> i64 {
    let mut conn = app.t.db.conn().await.unwrap();
    with_conn!(&mut conn, |c| auth_sessions::table
        .count()
        .get_result(c)
        .await)
    .unwrap()
}

async fn idle_and_absolute_expiry_end_sessions(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("olga", "pass-word-1").await;
    let now = session::now();
    let hour = Duration::from_secs(3600);

    let idle = app.login("olga", "pass-word-1").await;
    set_session_times(&app, &idle, now - hour, now + hour).await;
    let absolute = app.login("olga", "pass-word-1").await;
    set_session_times(&app, &absolute, now + hour, now - hour).await;
    let live = app.login("olga", "pass-word-1").await;

    assert_eq!(
        app.get("me", Some(&idle)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("me", Some(&absolute)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("me", Some(&live)).await.status, StatusCode::OK);
    assert_eq!(
        session_count(&app).await,
        1,
        "an expired session met on use is deleted"
    );
    let listed = app.get("sessions", Some(&live)).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
}

async fn use_slides_the_idle_expiry_but_not_past_the_absolute(t: TestDb) {
    let sessions = SessionConfig {
        touch_interval: Duration::ZERO,
        ..SessionConfig::default()
    };
    let service = AuthService::<User>::builder()
        .bcrypt_cost(TEST_COST)
        .sessions(sessions)
        .build();
    let app = TestApp::with_service(t, service).await;
    app.register("pete", "pass-word-1").await;
    let token = app.login("pete", "pass-word-1").await;
    let now = session::now();
    let soon = now + Duration::from_secs(60);
    let later = now + Duration::from_secs(7200);
    set_session_times(&app, &token, soon, later).await;

    assert_eq!(app.get("me", Some(&token)).await.status, StatusCode::OK);
    let mut conn = app.t.db.conn().await.unwrap();
    let hash = session::hash_token(&token);
    let s: Session = with_conn!(&mut conn, |c| {
        auth_sessions::table
            .filter(auth_sessions::token_hash.eq(&hash))
            .select(Session::as_select())
            .first(c)
            .await
    })
    .unwrap();
    assert!(s.idle_expires_at > soon, "use renewed the idle expiry");
    assert_eq!(s.idle_expires_at, later, "capped at the absolute expiry");
    assert!(s.last_seen_at >= now);
}

async fn cleanup_deletes_expired_sessions_in_batches(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("quinn", "pass-word-1").await;
    let past = session::now() - Duration::from_secs(60);
    let future = session::now() + Duration::from_secs(3600);
    for _ in 0..5 {
        let token = app.login("quinn", "pass-word-1").await;
        set_session_times(&app, &token, past, future).await;
    }
    let live = app.login("quinn", "pass-word-1").await;
    let mut conn = app.t.db.conn().await.unwrap();
    let mut batches = Vec::new();
    loop {
        let n = session::cleanup_expired(&mut conn, 2).await.unwrap();
        batches.push(n);
        if n < 2 {
            break;
        }
    }
    assert_eq!(batches, vec![2, 2, 1]);
    assert_eq!(session_count(&app).await, 1);
    assert_eq!(app.get("me", Some(&live)).await.status, StatusCode::OK);
}

async fn maybe_user_is_optional(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("rita", "pass-word-1").await;
    let token = app.login("rita", "pass-word-1").await;
    let whoami = |token: Option<&str>| {
        let token = token.map(str::to_owned);
        let app = &app;
        async move {
            let req = axum::http::Request::get("/whoami");
            let req = match token {
                Some(t) => req.header("cookie", format!("auth_session={t}")),
                None => req,
            };
            let res = tower::ServiceExt::oneshot(
                app.router.clone(),
                req.body(axum::body::Body::empty()).unwrap(),
            )
            .await
            .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            String::from_utf8(
                axum::body::to_bytes(res.into_body(), 1024)
                    .await
                    .unwrap()
                    .to_vec(),
            )
            .unwrap()
        }
    };
    assert_eq!(whoami(None).await, "anonymous");
    assert_eq!(whoami(Some("not-a-token")).await, "anonymous");
    assert_eq!(whoami(Some(&token)).await, "rita");
}

async fn login_lists_roles_and_groups(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("sara", "pass-word-1").await;
    let mut conn = app.t.db.conn().await.unwrap();
    let id = User::find_by_account(&mut conn, "sara")
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = session::now();
    with_conn!(&mut conn, |c| {
        for name in ["Editor", "Reader", "Scoped"] {
            diesel::insert_into(auth_roles::table)
                .values(auth_roles::name.eq(name))
                .execute(c)
                .await
                .unwrap();
        }
        diesel::insert_into(auth_groups::table)
            .values(auth_groups::name.eq("Content Team"))
            .execute(c)
            .await
            .unwrap();
        let group: i64 = auth_groups::table
            .select(auth_groups::id)
            .first(c)
            .await
            .unwrap();
        let mut role_ids = Vec::new();
        for name in ["Reader", "Editor", "Scoped"] {
            let role: i64 = auth_roles::table
                .filter(auth_roles::name.eq(name))
                .select(auth_roles::id)
                .first(c)
                .await
                .unwrap();
            role_ids.push(role);
        }
        let [reader, editor, scoped] = role_ids[..] else {
            unreachable!()
        };
        for (role, scope) in [(reader, ""), (scoped, "project-7")] {
            diesel::insert_into(auth_user_roles::table)
                .values((
                    auth_user_roles::user_id.eq(id),
                    auth_user_roles::role_id.eq(role),
                    auth_user_roles::scope.eq(scope),
                    auth_user_roles::created_at.eq(now),
                ))
                .execute(c)
                .await
                .unwrap();
        }
        diesel::insert_into(auth_user_groups::table)
            .values((
                auth_user_groups::user_id.eq(id),
                auth_user_groups::group_id.eq(group),
            ))
            .execute(c)
            .await
            .unwrap();
        diesel::insert_into(auth_group_roles::table)
            .values((
                auth_group_roles::group_id.eq(group),
                auth_group_roles::role_id.eq(editor),
                auth_group_roles::scope.eq(""),
            ))
            .execute(c)
            .await
            .unwrap();
    });
    let login = app
        .post(
            "login",
            json!({"account": "sara", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    let names = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert!(r["id"].is_i64(), "{{id, name}}: {r}");
                r["name"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    assert_eq!(
        names(&login.body["data"]["roles"]),
        ["Editor", "Reader"],
        "global roles, direct and via groups"
    );
    assert_eq!(names(&login.body["data"]["groups"]), ["Content Team"]);
}

/// Records every hook call.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Hooks<User> for Recorder {
    fn after_register<'a>(&'a self, user: &'a User) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .push(format!("register {}", user.account))
        })
    }
    fn after_login<'a>(&'a self, user: &'a User, _session: &'a Session) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .push(format!("login {}", user.account))
        })
    }
    fn after_logout<'a>(&'a self, user_id: i64, _session: &'a Session) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .push(format!("logout {}", user_id > 0))
        })
    }
    fn after_change_password<'a>(&'a self, user: &'a User) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .push(format!("password {}", user.account))
        })
    }
}

async fn hooks_run_after_each_step(t: TestDb) {
    let recorder = Recorder::default();
    let service = AuthService::<User>::builder()
        .bcrypt_cost(TEST_COST)
        .hooks(recorder.clone())
        .build();
    let app = TestApp::with_service(t, service).await;
    app.register("tina", "pass-word-1").await;
    let bad = app
        .post(
            "login",
            json!({"account": "tina", "password": "wrong"}),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let token = app.login("tina", "pass-word-1").await;
    let changed = app
        .post(
            "change-password",
            json!({"old_password": "pass-word-1", "new_password": "pass-word-2"}),
            Some(&token),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(
        app.call(Method::POST, "/api/contrib/auth/logout", None, Some(&token))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [
            "register tina",
            "login tina",
            "password tina",
            "logout true"
        ],
        "one call per successful step, none for the failed login"
    );
}

/// `GET me` with `cookie` as the raw `Cookie` header.
async fn me_with_cookie(app: &TestApp, cookie: &str) -> StatusCode {
    let req = axum::http::Request::get("/api/contrib/auth/me")
        .header("cookie", cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    app.send(req).await.status
}

/// The session cookie is read as the cookie jar reads it, whether the fast path (a plain
/// value read straight from the header) or the jar (a quoted or percent-encoded one) finds
/// it; each case twice, the second from the session cache.
async fn the_session_cookie_is_read_as_the_jar_reads_it(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("petra", "pass-word-1").await;
    let token = app.login("petra", "pass-word-1").await;
    let encoded: String = token.bytes().map(|b| format!("%{b:02X}")).collect();
    let cases = [
        (format!("auth_session={token}"), StatusCode::OK),
        (format!("a=1; auth_session={token}; b=2"), StatusCode::OK),
        (format!(" auth_session = {token} ;x=y"), StatusCode::OK),
        (format!("auth_session={encoded}"), StatusCode::OK),
        // The last cookie of the name wins, as in the jar.
        (
            format!("auth_session=forged; auth_session={token}"),
            StatusCode::OK,
        ),
        (
            format!("auth_session={token}; auth_session=forged"),
            StatusCode::UNAUTHORIZED,
        ),
        (format!("xauth_session={token}"), StatusCode::UNAUTHORIZED),
        (format!("auth_session={token}x"), StatusCode::UNAUTHORIZED),
        ("auth_session=".to_owned(), StatusCode::UNAUTHORIZED),
        ("auth_session=%".to_owned(), StatusCode::UNAUTHORIZED),
    ];
    for (cookie, want) in cases {
        for round in 0..2 {
            assert_eq!(
                me_with_cookie(&app, &cookie).await,
                want,
                "{cookie} (round {round})"
            );
        }
    }
}

backend_tests!(
    the_session_cookie_is_read_as_the_jar_reads_it,
    idle_and_absolute_expiry_end_sessions,
    use_slides_the_idle_expiry_but_not_past_the_absolute,
    cleanup_deletes_expired_sessions_in_batches,
    maybe_user_is_optional,
    login_lists_roles_and_groups,
    hooks_run_after_each_step,
);
