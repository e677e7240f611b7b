//! An application over a [`TestDb`] and a small client that drives it as a service.

use auth_axum::UserStore;
use auth_axum::auth_core::migrate::{self, AppMigrations};
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_axum::{
    Auth, CookieConfig, CurrentUser, HttpConfig, MaybeUser,
    auth_core::makemigrations::makemigrations,
};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::get;
use serde::Serialize;
use serde_json::Value;
use tower::ServiceExt;

use crate::TestDb;
use crate::model::v1::User;

/// The bcrypt cost tests use: the minimum, so hashing is fast.
pub const TEST_COST: u32 = 4;

/// The `Host` the test client sends by default.
pub const HOST: &str = "localhost";
/// The same-origin `Origin` the test client sends by default (the tests' cookie is not
/// `Secure`, so the application's own scheme is `http`).
pub const ORIGIN: &str = "http://localhost";

/// A migrated database and an app mounting the auth router at `/api/contrib/auth`, with a
/// public route `/public`, a login-only route `/private` (`GET` and `POST`) and `/whoami`
/// (`MaybeUser`).
pub struct TestApp<U: UserStore = User> {
    /// The database.
    pub t: TestDb,
    /// The auth handle.
    pub auth: Auth<U>,
    /// The application.
    pub router: Router,
    _migrations: tempfile::TempDir,
}

/// An answer: status, JSON body (or `Null`) and the cookies its `Set-Cookie` headers carried.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Parsed body.
    pub body: Value,
    /// The full `Set-Cookie` header of the session cookie (`auth_session`), if any.
    pub set_cookie: Option<String>,
    /// Every `Set-Cookie` header, in order.
    pub set_cookies: Vec<String>,
    /// Every header.
    pub headers: axum::http::HeaderMap,
}

impl Answer {
    /// The full `Set-Cookie` header setting (or clearing) the cookie `name`, if any.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies.iter().map(String::as_str).find(|c| {
            c.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('='))
        })
    }

    /// The non-empty value this answer sets for the cookie `name`, if any.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        let cookie = self.cookie(name)?;
        let value = cookie.get(name.len() + 1..)?.split(';').next()?;
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// The session token set by this answer (`auth_session=<token>`), if any.
    pub fn token(&self) -> Option<String> {
        self.cookie_value("auth_session")
    }

    /// The CSRF token set by this answer (`auth_csrf=<token>`), if any.
    pub fn csrf_token(&self) -> Option<String> {
        self.cookie_value("auth_csrf")
    }

    /// The error code of a failure envelope.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("<none>")
    }
}

/// Migrates `t` (core tables and `v1::User`'s generated migrations).
pub async fn migrate_user_table(t: &TestDb) -> tempfile::TempDir {
    migrate_model::<User>(t).await
}

/// Migrates `t` (core tables and the generated migrations of the model `U`).
pub async fn migrate_model<U: UserStore>(t: &TestDb) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    makemigrations(&<U as auth_axum::AuthUser>::TABLE, dir.path(), None).expect("makemigrations");
    migrate::run(&t.db, &AppMigrations::Directory(dir.path().into()))
        .await
        .expect("migrate");
    dir
}

/// The test application's routes around an `auth` handle.
pub fn router(auth: &Auth<User>) -> Router {
    router_for(auth)
}

/// [`router`] for any user model.
pub fn router_for<U: UserStore + Clone + Serialize>(auth: &Auth<U>) -> Router {
    Router::new()
        .route("/public", get(|| async { "public" }))
        .route(
            "/whoami",
            get(|user: MaybeUser<U>| async move {
                user.0
                    .map_or_else(|| "anonymous".to_owned(), |u| u.user.account().to_owned())
            }),
        )
        .route(
            "/private",
            get(|user: CurrentUser<U>| async move { user.user.account().to_owned() })
                .post(|user: CurrentUser<U>| async move { user.user.account().to_owned() }),
        )
        .nest("/api/contrib/auth", auth.router())
        .layer(auth.layer())
}

impl TestApp {
    /// Migrates `t` and builds the app with bcrypt cost [`TEST_COST`] and a non-`Secure`
    /// cookie (the tests speak plain HTTP).
    pub async fn new(t: TestDb) -> TestApp {
        TestApp::with_service(t, AuthService::builder().bcrypt_cost(TEST_COST).build()).await
    }

    /// The same with an explicit service.
    pub async fn with_service(t: TestDb, service: AuthService<User>) -> TestApp {
        TestApp::with_config(t, service, TestApp::http_config()).await
    }

    /// The same with explicit service and HTTP settings.
    pub async fn with_config(t: TestDb, service: AuthService<User>, http: HttpConfig) -> TestApp {
        TestApp::for_model(t, service, http).await
    }

    /// The HTTP settings of [`TestApp::new`]: the defaults with a non-`Secure` cookie.
    pub fn http_config() -> HttpConfig {
        HttpConfig {
            cookie: CookieConfig::insecure_dev(),
            ..HttpConfig::default()
        }
    }

    /// [`TestApp::http_config`] trusting `X-Forwarded-For` from one proxy, so that a test
    /// picks the client IP with that header.
    pub fn forwarded_http_config() -> HttpConfig {
        HttpConfig {
            client_ip: auth_axum::ClientIpSource::Header {
                name: header::HeaderName::from_static("x-forwarded-for"),
                trusted_hops: 1,
            },
            ..TestApp::http_config()
        }
    }
}

impl<U: UserStore + Clone + Serialize> TestApp<U> {
    /// The app over the user model `U` (migrated from its derive), with `service` and
    /// `http`.
    pub async fn for_model(t: TestDb, service: AuthService<U>, http: HttpConfig) -> TestApp<U> {
        let dir = migrate_model::<U>(&t).await;
        let auth = Auth::with_http(t.db.clone(), service, http);
        let router = router_for(&auth);
        TestApp {
            t,
            auth,
            router,
            _migrations: dir,
        }
    }

    /// Sends a request with an optional JSON body and session token, as a same-origin browser
    /// would: with `Host: localhost` and `Origin: http://localhost` ([`HOST`], [`ORIGIN`]).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Answer {
        let cookie = token.map(|t| format!("auth_session={t}"));
        let mut headers = vec![("host", HOST), ("origin", ORIGIN)];
        if let Some(cookie) = &cookie {
            headers.push(("cookie", cookie));
        }
        self.call_bare(method, path, body, &headers).await
    }

    /// Sends a request with an optional JSON body and exactly the `headers` given: no
    /// default `Host`, `Origin` or cookie (the CSRF tests build their own).
    pub async fn call_bare(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = match body {
            Some(body) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.expect("request")).await
    }

    /// Sends a prepared request.
    pub async fn send(&self, req: Request<Body>) -> Answer {
        send(&self.router, req).await
    }

    /// `POST /api/contrib/auth/<path>` with a JSON body.
    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Answer {
        self.call(
            Method::POST,
            &format!("/api/contrib/auth/{path}"),
            Some(body),
            token,
        )
        .await
    }

    /// `GET /api/contrib/auth/<path>`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(
            Method::GET,
            &format!("/api/contrib/auth/{path}"),
            None,
            token,
        )
        .await
    }

    /// Registers `account` with `password`; panics unless 201.
    pub async fn register(&self, account: &str, password: &str) -> Value {
        let a = self
            .post(
                "register",
                serde_json::json!({"account": account, "password": password}),
                None,
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::CREATED,
            "register {account}: {:?}",
            a.body
        );
        a.body
    }

    /// Registers and logs in `account` (password `pass-word-1`); returns the user's id and
    /// the session token.
    pub async fn user(&self, account: &str) -> (i64, String) {
        self.register(account, "pass-word-1").await;
        let token = self.login(account, "pass-word-1").await;
        let mut conn = self.t.db.conn().await.expect("connection");
        let user = U::find_by_account(&mut conn, account)
            .await
            .expect("lookup")
            .expect("registered");
        (auth_axum::AuthUser::id(&user), token)
    }

    /// Creates `role` if needed, grants it `permissions` (created if needed) and assigns it
    /// globally to `user_id`.
    pub async fn give_role(&self, user_id: i64, role: &str, permissions: &[&str]) {
        let mut conn = self.t.db.conn().await.expect("connection");
        manage::get_or_create_role(&mut conn, role, None)
            .await
            .expect("role");
        for permission in permissions {
            manage::get_or_create_permission(&mut conn, permission, "")
                .await
                .expect("permission");
            manage::grant_permission(&mut conn, role, permission)
                .await
                .expect("grant");
        }
        manage::assign_role(&mut conn, user_id, role, None)
            .await
            .expect("assign");
    }

    /// Moves the creation and proofs of `user_id`'s sessions `seconds` into the past (a
    /// session kept since, a stolen cookie), and tells the session caches, as any session
    /// change does.
    pub async fn age_sessions(&self, user_id: i64, seconds: i64) {
        use auth_axum::auth_core::schema::auth_sessions as s;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let past = auth_axum::auth_core::session::now() - time::Duration::seconds(seconds);
        let mut conn = self.t.db.conn().await.expect("connection");
        auth_axum::auth_core::with_conn!(&mut conn, |c| {
            diesel::update(s::table.filter(s::user_id.eq(user_id)))
                .set((
                    s::created_at.eq(past),
                    s::reauthenticated_at.eq(None::<time::PrimitiveDateTime>),
                ))
                .execute(c)
                .await
                .expect("age the sessions");
            // Only a session that passed a second factor keeps one (older now).
            diesel::update(
                s::table
                    .filter(s::user_id.eq(user_id))
                    .filter(s::mfa_at.is_not_null()),
            )
            .set(s::mfa_at.eq(Some(past)))
            .execute(c)
            .await
            .expect("age the second factors")
        });
        auth_axum::auth_core::revocation::user_changed(&mut conn, user_id)
            .await
            .expect("tell the caches");
    }

    /// Logs in; panics unless 200; returns the session token.
    pub async fn login(&self, account: &str, password: &str) -> String {
        let a = self
            .post(
                "login",
                serde_json::json!({"account": account, "password": password}),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "login {account}: {:?}", a.body);
        a.token().expect("login sets the session cookie")
    }
}

/// Drives `router` with one request.
pub async fn send(router: &Router, req: Request<Body>) -> Answer {
    let res = router
        .clone()
        .oneshot(req)
        .await
        .expect("infallible service");
    let status = res.status();
    let set_cookies: Vec<String> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    let set_cookie = set_cookies
        .iter()
        .find(|c| c.starts_with("auth_session="))
        .cloned();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        set_cookie,
        set_cookies,
        headers,
    }
}
