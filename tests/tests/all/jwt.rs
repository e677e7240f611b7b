//! JWT access and refresh tokens over HTTP on every backend (issue 14, SPEC C9.2): token
//! login throttled like login, access tokens through every guard against the current RBAC,
//! refresh rotation with reuse detection, revocation, deactivation and password changes,
//! key rotation, forged tokens, and an independent verifier (PyJWT). Written as attacks
//! where it matters: each refusal is checked to leave the family dead, not half-alive.

use auth_axum::auth_core::audit::{self, EventFilter, EventType};
use auth_axum::auth_core::jwt::{JwtConfig, JwtKey};
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::ThrottleConfig;
use auth_axum::{Auth, CurrentUser, UserStore, permission_required};
use auth_tests::http::{Answer, TestApp, send};
use auth_tests::model::v1::User;
use auth_tests::{REQUIRE_ALL_ENV, TestDb, backend_tests};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

const PASSWORD: &str = "pass-word-1";
const ED25519_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/jwt_ed25519_test_only.pem"
));
const RS256_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/jwt_rs256_test_only.pem"
));

#[permission_required("article.read")]
async fn read(user: CurrentUser<User>) -> String {
    user.account.clone()
}

#[permission_required("article.write")]
async fn write() -> &'static str {
    "written"
}

async fn private(user: CurrentUser<User>) -> String {
    user.account.clone()
}

/// The service of these tests: cheap hashing, token logins with `jwt`, every refused
/// token audited (no per-client interval: the tests read each refusal's reason).
fn service(jwt: JwtConfig) -> AuthService<User> {
    AuthService::builder()
        .bcrypt_cost(auth_tests::http::TEST_COST)
        .jwt(jwt)
        .rejection_log_interval(std::time::Duration::ZERO)
        .build()
}

/// Token logins signed by the Ed25519 fixture key `k1`.
fn fixture_config() -> JwtConfig {
    JwtConfig::new(JwtKey::ed25519_pem("k1", ED25519_PEM).unwrap()).unwrap()
}

struct Tokens {
    app: TestApp,
    router: Router,
}

/// The routes of these tests around `auth`.
fn routes(auth: &Auth<User>) -> Router {
    Router::new()
        .route("/read", get(read))
        .route("/write", get(write))
        .route("/private", get(private).post(private))
        .nest("/api/contrib/auth", auth.router())
        .layer(auth.layer())
}

impl Tokens {
    async fn new(t: TestDb) -> Tokens {
        Tokens::with_service(t, service(fixture_config())).await
    }

    async fn with_service(t: TestDb, service: AuthService<User>) -> Tokens {
        let app = TestApp::with_service(t, service).await;
        let router = routes(&app.auth);
        let mut conn = app.t.db.conn().await.unwrap();
        for code in ["article.read", "article.write"] {
            manage::get_or_create_permission(&mut conn, code, "")
                .await
                .unwrap();
        }
        Tokens { app, router }
    }

    /// A request with `headers` only: no cookie, no origin.
    async fn with(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
        with(&self.router, method, path, headers).await
    }

    /// `GET path` with `Authorization: Bearer token`.
    async fn bearer(&self, path: &str, token: &str) -> Answer {
        bearer(&self.router, path, token).await
    }

    /// `POST /api/contrib/auth/<path>` with a JSON body, as a non-browser client: no cookie,
    /// no origin.
    async fn post(&self, path: &str, body: Value) -> Answer {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/contrib/auth/{path}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        send(&self.router, req).await
    }

    /// Registers `account` (with `article.read` through the role `Reader`); returns its id.
    async fn reader(&self, account: &str) -> i64 {
        self.app.register(account, PASSWORD).await;
        let id = self.id(account).await;
        self.app.give_role(id, "Reader", &["article.read"]).await;
        id
    }

    async fn id(&self, account: &str) -> i64 {
        let mut conn = self.app.t.db.conn().await.unwrap();
        let user = User::find_by_account(&mut conn, account)
            .await
            .unwrap()
            .unwrap();
        auth_axum::AuthUser::id(&user)
    }

    /// `POST token` for `account`; returns (access, refresh), panicking unless 200.
    async fn pair(&self, account: &str) -> (String, String) {
        let a = self
            .post("token", json!({"account": account, "password": PASSWORD}))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        pair_of(&a)
    }

    /// `POST token/refresh`.
    async fn refresh(&self, refresh: &str) -> Answer {
        self.post("token/refresh", json!({"refresh_token": refresh}))
            .await
    }

    async fn events(&self, event: EventType) -> Vec<audit::AuditEvent> {
        let mut conn = self.app.t.db.conn().await.unwrap();
        let filter = EventFilter {
            event: Some(event),
            ..EventFilter::default()
        };
        audit::list(&mut conn, &filter, 0, 100).await.unwrap()
    }

    async fn audit_count(&self) -> i64 {
        let mut conn = self.app.t.db.conn().await.unwrap();
        audit::count(&mut conn, &EventFilter::default())
            .await
            .unwrap()
    }
}

async fn with(router: &Router, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    send(router, req.body(Body::empty()).unwrap()).await
}

async fn bearer(router: &Router, path: &str, token: &str) -> Answer {
    let auth = format!("Bearer {token}");
    with(router, Method::GET, path, &[("authorization", &auth)]).await
}

/// `POST token` for `account` on `router`; the (access, refresh) pair, panicking unless 200.
async fn token_login(router: &Router, account: &str) -> (String, String) {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/contrib/auth/token")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"account": account, "password": PASSWORD}).to_string(),
        ))
        .unwrap();
    let a = send(router, req).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    pair_of(&a)
}

/// The (access, refresh) tokens of an answer.
fn pair_of(a: &Answer) -> (String, String) {
    let data = &a.body["data"];
    (
        data["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        data["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    )
}

/// The decoded (unverified) JSON of part `i` of a compact JWT.
fn part(token: &str, i: usize) -> Value {
    let text = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn assert_401(a: &Answer) {
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
}

async fn token_login_answers_a_pair_that_passes_the_guards(t: TestDb) {
    let k = Tokens::new(t).await;
    let id = k.reader("alice").await;
    let a = k
        .post("token", json!({"account": "alice", "password": PASSWORD}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(a.set_cookie.is_none(), "a token login sets no cookie");
    let data = &a.body["data"];
    assert_eq!(data["token_type"], "Bearer");
    assert_eq!(data["expires_in"], 900, "15 minutes by default");
    let (access, refresh) = pair_of(&a);
    assert!(refresh.starts_with("rt_"), "{refresh}");
    let header = part(&access, 0);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], "k1");
    let claims = part(&access, 1);
    assert_eq!(claims["sub"], id.to_string());
    for claim in ["iat", "exp", "jti", "sid", "iss"] {
        assert!(!claims[claim].is_null(), "{claim} in {claims}");
    }
    assert!(claims.get("permissions").is_none() && claims.get("roles").is_none());

    assert_eq!(k.bearer("/private", &access).await.status, StatusCode::OK);
    assert_eq!(k.bearer("/read", &access).await.status, StatusCode::OK);
    assert_eq!(
        k.bearer("/write", &access).await.status,
        StatusCode::FORBIDDEN
    );
    let me = k.bearer("/api/contrib/auth/me", &access).await;
    assert_eq!(me.body["data"]["account"], "alice", "{:?}", me.body);

    let wrong = k
        .post(
            "token",
            json!({"account": "alice", "password": "wrong-password"}),
        )
        .await;
    assert_401(&wrong);
    assert_eq!(wrong.code(), "invalid_credentials");
    let logins = k.events(EventType::LoginSuccess).await;
    assert!(
        logins.iter().any(|e| e.detail["platform"] == "jwt"),
        "audited like a login: {logins:?}"
    );
    assert!(!k.events(EventType::LoginFailure).await.is_empty());
    // The stored refresh token is a hash, never the token.
    let mut conn = k.app.t.db.conn().await.unwrap();
    let stored = auth_axum::auth_core::refresh_token::find(&mut conn, &refresh)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.used_at.is_none());
}

async fn login_with_platform_jwt_answers_the_user_and_tokens(t: TestDb) {
    let k = Tokens::new(t).await;
    k.reader("bob").await;
    let a = k
        .post(
            "login",
            json!({"account": "bob", "password": PASSWORD, "platform": "jwt"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(
        a.set_cookie.is_none(),
        "no session cookie: {:?}",
        a.set_cookies
    );
    let data = &a.body["data"];
    assert_eq!(data["account"], "bob");
    assert_eq!(data["roles"][0]["name"], "Reader");
    assert!(data["roles"][0]["id"].is_i64());
    assert!(data["groups"].is_array());
    assert!(data.get("password").is_none(), "no hash in the answer");
    assert_eq!(data["token"], data["access_token"], "seed 000's name");
    let (access, _) = pair_of(&a);
    assert_eq!(k.bearer("/read", &access).await.status, StatusCode::OK);
}

async fn access_tokens_see_permission_changes_on_the_next_request(t: TestDb) {
    let k = Tokens::new(t).await;
    let id = k.reader("carol").await;
    let (access, _) = k.pair("carol").await;
    assert_eq!(
        k.bearer("/write", &access).await.status,
        StatusCode::FORBIDDEN
    );
    k.app.give_role(id, "Writer", &["article.write"]).await;
    assert_eq!(k.bearer("/write", &access).await.status, StatusCode::OK);
    let mut conn = k.app.t.db.conn().await.unwrap();
    manage::revoke_role(&mut conn, id, "Writer", None)
        .await
        .unwrap();
    assert_eq!(
        k.bearer("/write", &access).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn refresh_rotates_and_reuse_ends_the_family(t: TestDb) {
    let k = Tokens::new(t).await;
    k.reader("dave").await;
    let (access1, refresh1) = k.pair("dave").await;
    let a = k.refresh(&refresh1).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let (access2, refresh2) = pair_of(&a);
    assert_ne!(refresh1, refresh2);
    assert_ne!(access1, access2);
    assert_eq!(
        part(&access1, 1)["sid"],
        part(&access2, 1)["sid"],
        "one family"
    );
    assert_eq!(k.bearer("/private", &access2).await.status, StatusCode::OK);

    // The thief (or the client) presents the used token again: the family ends.
    let reused = k.refresh(&refresh1).await;
    assert_401(&reused);
    assert_eq!(reused.code(), "invalid_token");
    assert_401(&k.refresh(&refresh2).await);
    assert_401(&k.bearer("/private", &access2).await);
    assert_401(&k.bearer("/private", &access1).await);
    let events = k.events(EventType::TokenReused).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].user_id, Some(k.id("dave").await));
    assert_eq!(k.events(EventType::TokenRefreshed).await.len(), 1);
}

async fn concurrent_refreshes_with_one_token_end_the_family(t: TestDb) {
    let k = Tokens::new(t).await;
    k.reader("erin").await;
    let (access, refresh) = k.pair("erin").await;
    let (a, b) = tokio::join!(k.refresh(&refresh), k.refresh(&refresh));
    let ok: Vec<&Answer> = [&a, &b]
        .into_iter()
        .filter(|x| x.status == StatusCode::OK)
        .collect();
    assert!(
        ok.len() <= 1,
        "one token, at most one new pair: {a:?} {b:?}"
    );
    for x in [&a, &b] {
        assert!(
            x.status == StatusCode::OK || x.status == StatusCode::UNAUTHORIZED,
            "{x:?}"
        );
    }
    // Whatever the order, the race is a reuse: nothing of the family works afterwards.
    for winner in ok {
        let (new_access, new_refresh) = pair_of(winner);
        assert_401(&k.refresh(&new_refresh).await);
        assert_401(&k.bearer("/private", &new_access).await);
    }
    assert_401(&k.bearer("/private", &access).await);
}

async fn refresh_fails_after_deactivation_and_password_change(t: TestDb) {
    let k = Tokens::new(t).await;
    let id = k.reader("fay").await;
    let (access, refresh) = k.pair("fay").await;
    let mut conn = k.app.t.db.conn().await.unwrap();
    let mut user = User::find_by_id(&mut conn, id).await.unwrap().unwrap();
    user.is_active = false;
    user.update(&mut conn).await.unwrap();
    assert_401(&k.bearer("/private", &access).await);
    assert_401(&k.refresh(&refresh).await);
    user.is_active = true;
    user.update(&mut conn).await.unwrap();
    assert_401(&k.refresh(&refresh).await);

    // A password change from a browser session ends every other login, tokens included.
    k.reader("gus").await;
    let (access, refresh) = k.pair("gus").await;
    let session = k.app.login("gus", PASSWORD).await;
    let changed = k
        .app
        .post(
            "change-password",
            json!({"old_password": PASSWORD, "new_password": "another-pass-2"}),
            Some(&session),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_401(&k.bearer("/private", &access).await);
    assert_401(&k.refresh(&refresh).await);
}

async fn revoke_and_logout_end_the_family(t: TestDb) {
    let k = Tokens::new(t).await;
    k.reader("hana").await;
    let (access, refresh) = k.pair("hana").await;
    let a = k
        .post("token/revoke", json!({"refresh_token": refresh}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_401(&k.refresh(&refresh).await);
    assert_401(&k.bearer("/private", &access).await);
    assert_eq!(k.events(EventType::TokenRevoked).await.len(), 1);
    let unknown = k
        .post("token/revoke", json!({"refresh_token": "rt_unknown"}))
        .await;
    assert_eq!(unknown.status, StatusCode::OK, "the same answer (RFC 7009)");

    // A JWT login is a session: listed, marked current, ended by logout with its token.
    let (access, refresh) = k.pair("hana").await;
    let sessions = k.bearer("/api/contrib/auth/sessions", &access).await;
    assert_eq!(sessions.status, StatusCode::OK, "{:?}", sessions.body);
    let list = sessions.body["data"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|s| s["platform"] == "jwt" && s["current"] == true),
        "{list:?}"
    );
    let auth = format!("Bearer {access}");
    let out = k
        .with(
            Method::POST,
            "/api/contrib/auth/logout",
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(out.status, StatusCode::OK, "{:?}", out.body);
    assert_401(&k.bearer("/private", &access).await);
    assert_401(&k.refresh(&refresh).await);
}

async fn forged_and_expired_tokens_get_401(t: TestDb) {
    let k = Tokens::new(t).await;
    let id = k.reader("ivan").await;
    let (access, _) = k.pair("ivan").await;
    let claims = part(&access, 1);
    let [header, payload, signature]: [&str; 3] =
        access.split('.').collect::<Vec<_>>().try_into().unwrap();

    // Another user's id in a token signed for ivan.
    let mut other = claims.clone();
    other["sub"] = json!((id + 1).to_string());
    let tampered = format!("{header}.{}.{signature}", encode_part(&other));
    // alg none, with and without a signature.
    let none = encode_part(&json!({"alg": "none", "typ": "JWT", "kid": "k1"}));
    let unsigned = format!("{none}.{payload}.");
    // Algorithm confusion: HS256 keyed with the published public key.
    let jwks = k
        .with(Method::GET, "/api/contrib/auth/.well-known/jwks.json", &[])
        .await;
    let x = jwks.body["keys"][0]["x"].as_str().unwrap().to_owned();
    let public = URL_SAFE_NO_PAD.decode(&x).unwrap();
    let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = Some("k1".into());
    let confused = jsonwebtoken::encode(
        &hs,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&public).unwrap(),
    )
    .unwrap();
    // Expired: our own key, issued an hour ago.
    let jwt = k.app.auth.service().jwt().unwrap();
    let sid = claims["sid"].as_i64().unwrap();
    let (expired, _) = jwt
        .issue(id, sid, auth_axum::auth_core::jwt::unix_now() - 3600)
        .unwrap();
    // A stranger's key under our kid.
    let stranger = auth_axum::auth_core::jwt::Jwt::new(
        JwtConfig::new(JwtKey::generate_ed25519("k1")).unwrap(),
    );
    let (foreign, _) = stranger
        .issue(id, sid, auth_axum::auth_core::jwt::unix_now())
        .unwrap();

    let mut answers = Vec::new();
    for forged in [
        &tampered,
        &unsigned,
        &format!("{none}.{payload}.{signature}"),
        &confused,
        &expired,
        &foreign,
        &"e30.e30.e30".to_owned(),
    ] {
        answers.push(k.bearer("/private", forged).await);
    }
    for a in &answers {
        assert_401(a);
        assert_eq!(a.body, answers[0].body, "one shape for every refusal");
    }
    let reasons: Vec<String> = k
        .events(EventType::BearerRejected)
        .await
        .iter()
        .map(|e| format!("{}/{}", e.detail["kind"], e.detail["reason"]))
        .collect();
    for reason in [r#""jwt"/"expired""#, r#""jwt"/"invalid""#] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} in {reasons:?}"
        );
    }
    // The genuine token still works.
    assert_eq!(k.bearer("/private", &access).await.status, StatusCode::OK);
}

async fn keys_rotate_without_logging_anyone_out(t: TestDb) {
    let old = Tokens::new(t).await;
    old.reader("judy").await;
    let (by_old, _) = old.pair("judy").await;

    // Step 2 of a rotation: a new key signs, the old one still verifies.
    let next = JwtKey::generate_ed25519("k2");
    let rotated = JwtConfig::new(next.clone())
        .unwrap()
        .verify_also(JwtKey::ed25519_pem("k1", ED25519_PEM).unwrap())
        .unwrap();
    let db = old.app.t.db.clone();
    let during = Auth::with_http(db.clone(), service(rotated), TestApp::http_config());
    let during = routes(&during);
    assert_eq!(
        bearer(&during, "/private", &by_old).await.status,
        StatusCode::OK
    );
    let jwks = with(
        &during,
        Method::GET,
        "/api/contrib/auth/.well-known/jwks.json",
        &[],
    )
    .await;
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["k2", "k1"]);
    for key in jwks.body["keys"].as_array().unwrap() {
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none(), "no private part published: {key}");
    }
    let (by_new, _) = token_login(&during, "judy").await;
    assert_eq!(part(&by_new, 0)["kid"], "k2");

    // Step 3: the old key is retired: its tokens stop verifying, the new ones do not.
    let after = Auth::with_http(
        db,
        service(JwtConfig::new(next).unwrap()),
        TestApp::http_config(),
    );
    let after = routes(&after);
    assert_401(&bearer(&after, "/private", &by_old).await);
    assert_eq!(
        bearer(&after, "/private", &by_new).await.status,
        StatusCode::OK
    );
}

async fn hs256_and_rs256_sign_and_verify(t: TestDb) {
    let hs = service(
        JwtConfig::new(JwtKey::hs256("h1", b"a shared secret of 32 bytes!!!!!").unwrap()).unwrap(),
    );
    let k = Tokens::with_service(t, hs).await;
    k.reader("kim").await;
    let (access, _) = k.pair("kim").await;
    assert_eq!(part(&access, 0)["alg"], "HS256");
    assert_eq!(k.bearer("/read", &access).await.status, StatusCode::OK);
    let jwks = k
        .with(Method::GET, "/api/contrib/auth/.well-known/jwks.json", &[])
        .await;
    assert_eq!(
        jwks.body,
        json!({"keys": []}),
        "a secret is never published"
    );

    let rs = JwtConfig::new(JwtKey::rs256_pem("r1", RS256_PEM).unwrap()).unwrap();
    let auth = Auth::with_http(k.app.t.db.clone(), service(rs), TestApp::http_config());
    let router = routes(&auth);
    let (access, _) = token_login(&router, "kim").await;
    assert_eq!(part(&access, 0)["alg"], "RS256");
    assert_eq!(
        bearer(&router, "/read", &access).await.status,
        StatusCode::OK
    );
    let jwks = with(
        &router,
        Method::GET,
        "/api/contrib/auth/.well-known/jwks.json",
        &[],
    )
    .await;
    let key = &jwks.body["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert!(key["n"].is_string() && key["e"].is_string());
    assert!(key.get("d").is_none() && key.get("p").is_none(), "{key}");
}

async fn token_login_is_throttled_like_login(t: TestDb) {
    let throttled = AuthService::builder()
        .bcrypt_cost(auth_tests::http::TEST_COST)
        .throttle(ThrottleConfig {
            account_limit: 3,
            ..ThrottleConfig::default()
        })
        .jwt(fixture_config())
        .build();
    let k = Tokens::with_service(t, throttled).await;
    k.reader("lena").await;
    let wrong = json!({"account": "lena", "password": "wrong-password"});
    // Failures on `login` and on `token` count against the same account.
    assert_401(&k.post("login", wrong.clone()).await);
    assert_401(&k.post("token", wrong.clone()).await);
    assert_401(&k.post("token", wrong.clone()).await);
    let locked = k
        .post("token", json!({"account": "lena", "password": PASSWORD}))
        .await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:?}",
        locked.body
    );
    assert!(locked.headers.get("retry-after").is_some());
}

async fn accepted_bearer_requests_are_not_audited(t: TestDb) {
    let k = Tokens::new(t).await;
    k.reader("mia").await;
    let (access, _) = k.pair("mia").await;
    let before = k.audit_count().await;
    for _ in 0..5 {
        assert_eq!(k.bearer("/read", &access).await.status, StatusCode::OK);
    }
    assert_eq!(k.audit_count().await, before);
}

async fn bearer_requests_skip_csrf(t: TestDb) {
    let k = Tokens::new(t).await;
    k.reader("nora").await;
    let (access, _) = k.pair("nora").await;
    let auth = format!("Bearer {access}");
    let cross_site = k
        .with(
            Method::POST,
            "/private",
            &[("authorization", &auth), ("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::OK, "{:?}", cross_site.body);
}

async fn tokens_need_configuration(t: TestDb) {
    let app = TestApp::new(t).await;
    app.register("omar", PASSWORD).await;
    let router = routes(&app.auth);
    let body = json!({"account": "omar", "password": PASSWORD});
    let token = app.post("token", body.clone(), None).await;
    assert_eq!(
        token.status,
        StatusCode::NOT_IMPLEMENTED,
        "{:?}",
        token.body
    );
    assert_eq!(token.code(), "not_configured");
    let jwks = with(
        &router,
        Method::GET,
        "/api/contrib/auth/.well-known/jwks.json",
        &[],
    )
    .await;
    assert_eq!(jwks.status, StatusCode::NOT_IMPLEMENTED);
    let mut login = body;
    login["platform"] = json!("jwt");
    let a = app.post("login", login, None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{:?}", a.body);
    assert_eq!(a.code(), "unknown_platform");
    let stranger = auth_axum::auth_core::jwt::Jwt::new(JwtConfig::ephemeral());
    let (jwt, _) = stranger
        .issue(1, 1, auth_axum::auth_core::jwt::unix_now())
        .unwrap();
    assert_401(&bearer(&router, "/private", &jwt).await);
}

/// `POST token` shares the login path: with login by e-mail on, the address works (off,
/// the default, is tested on `POST login` in `throttle.rs`).
async fn token_login_by_email(t: TestDb) {
    let on = AuthService::builder()
        .bcrypt_cost(auth_tests::http::TEST_COST)
        .jwt(fixture_config())
        .login_by_email(true)
        .build();
    let k = Tokens::with_service(t, on).await;
    let r = k
        .post(
            "register",
            json!({"account": "pia", "password": PASSWORD, "email": "pia@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let by_email = json!({"account": "pia@example.com", "password": PASSWORD});
    let a = k.post("token", by_email.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let (access, _) = pair_of(&a);
    assert_eq!(k.bearer("/private", &access).await.status, StatusCode::OK);
    // A wrong password by address is refused like any other.
    let wrong = json!({"account": "pia@example.com", "password": "wrong-pass-1"});
    let a = k.post("token", wrong).await;
    assert_401(&a);
    assert_eq!(a.code(), "invalid_credentials");
}

/// An administrator's password set and session revocation end token logins too: the
/// refresh token of the family is refused afterwards, and so is its access token.
async fn admin_actions_end_token_logins(t: TestDb) {
    let k = Tokens::new(t).await;
    let id = k.reader("quinn").await;
    let (root_id, root) = k.app.user("root").await;
    let mut conn = k.app.t.db.conn().await.unwrap();
    let mut user = User::find_by_id(&mut conn, root_id).await.unwrap().unwrap();
    user.is_superuser = true;
    user.update(&mut conn).await.unwrap();
    let admin = |method: Method, path: String, body: Option<Value>| {
        let root = root.clone();
        let app = &k.app;
        async move {
            app.call(
                method,
                &format!("/api/contrib/auth/admin{path}"),
                body,
                Some(&root),
            )
            .await
        }
    };
    // Revoking the token login's session ends its family.
    let (access, refresh) = k.pair("quinn").await;
    let (kept_access, kept_refresh) = k.pair("quinn").await;
    let sessions = admin(Method::GET, format!("/users/{id}/sessions"), None).await;
    let listed = sessions.body["data"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{:?}", sessions.body);
    assert!(listed.iter().all(|s| s["platform"] == "jwt"));
    let claims = |token: &str| -> Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    };
    let sid = claims(&access)["sid"].as_i64().unwrap();
    let r = admin(Method::DELETE, format!("/users/{id}/sessions/{sid}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_401(&k.bearer("/private", &access).await);
    assert_401(&k.refresh(&refresh).await);
    assert_eq!(
        k.bearer("/private", &kept_access).await.status,
        StatusCode::OK
    );
    // Setting the password ends the other one.
    let r = admin(
        Method::POST,
        format!("/users/{id}/password"),
        Some(json!({"password": "admin-set-pass-3"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["ended_sessions"], 1);
    assert_401(&k.bearer("/private", &kept_access).await);
    assert_401(&k.refresh(&kept_refresh).await);
}

backend_tests!(token_login_by_email, admin_actions_end_token_logins);

/// The authority rules hold for a token login as they do for a session and an API key: an
/// administrator's access token cannot act on its own account, a plain user's cannot raise
/// its own roles, and a token login whose last proof is old is not in sudo mode. Nothing
/// the refused requests asked for is changed.
async fn a_token_login_meets_the_same_authority_rules(t: TestDb) {
    let k = Tokens::new(t).await;
    k.app.register("boss", PASSWORD).await;
    k.app.register("pleb", PASSWORD).await;
    let (boss_id, pleb_id) = (k.id("boss").await, k.id("pleb").await);
    {
        let mut conn = k.app.t.db.conn().await.unwrap();
        manage::bootstrap(&mut conn).await.unwrap();
        manage::assign_role(&mut conn, boss_id, "admin", None)
            .await
            .unwrap();
    }
    let (boss, _) = k.pair("boss").await;
    let (pleb, _) = k.pair("pleb").await;
    let call = |token: &str, method: Method, path: String, body: Value| {
        let req = Request::builder()
            .method(method)
            .uri(format!("/api/contrib/auth/{path}"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let router = k.router.clone();
        async move { send(&router, req).await }
    };
    for (path, body) in [
        (
            format!("admin/users/{boss_id}/password"),
            json!({"password": "taken-over-9"}),
        ),
        (
            format!("admin/users/{boss_id}/roles"),
            json!({"roles": ["superadmin"]}),
        ),
    ] {
        let method = if path.ends_with("roles") {
            Method::PUT
        } else {
            Method::POST
        };
        let a = call(&boss, method, path.clone(), body).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "own_account"),
            "{path}: {:?}",
            a.body
        );
    }
    let a = call(
        &pleb,
        Method::PUT,
        format!("admin/users/{pleb_id}/roles"),
        json!({"roles": ["admin"]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{:?}", a.body);
    // Nothing changed: the roles are as they were, the old password still logs in.
    {
        use auth_axum::auth_core::rbac::query::user_roles;
        let mut conn = k.app.t.db.conn().await.unwrap();
        let names = |roles: Vec<auth_axum::auth_core::rbac::Named>| {
            roles.into_iter().map(|r| r.name).collect::<Vec<_>>()
        };
        let boss_roles = names(user_roles(&mut conn, boss_id).await.unwrap());
        assert_eq!(boss_roles, ["admin"]);
        assert!(user_roles(&mut conn, pleb_id).await.unwrap().is_empty());
    }
    k.pair("boss").await;
    // Sudo mode: a token login proven an hour ago cannot add a way in.
    k.app.age_sessions(pleb_id, 3600).await;
    let a = call(
        &pleb,
        Method::POST,
        "api-keys".into(),
        json!({"name": "ci"}),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "reauthentication_required"),
        "{:?}",
        a.body
    );
}

backend_tests!(
    a_token_login_meets_the_same_authority_rules,
    token_login_answers_a_pair_that_passes_the_guards,
    login_with_platform_jwt_answers_the_user_and_tokens,
    access_tokens_see_permission_changes_on_the_next_request,
    refresh_rotates_and_reuse_ends_the_family,
    concurrent_refreshes_with_one_token_end_the_family,
    refresh_fails_after_deactivation_and_password_change,
    revoke_and_logout_end_the_family,
    forged_and_expired_tokens_get_401,
    keys_rotate_without_logging_anyone_out,
    hs256_and_rs256_sign_and_verify,
    token_login_is_throttled_like_login,
    accepted_bearer_requests_are_not_audited,
    bearer_requests_skip_csrf,
    tokens_need_configuration,
);

/// Whether Python with PyJWT can run here; under CI (`AUTH_TEST_REQUIRE_ALL_BACKENDS=1`)
/// it must.
fn pyjwt_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var(REQUIRE_ALL_ENV).as_deref() != Ok("1"),
            "python3 with PyJWT (pip install 'pyjwt[crypto]') is required: {REQUIRE_ALL_ENV}=1"
        );
        eprintln!("skipped: python3 with PyJWT is not installed (pip install 'pyjwt[crypto]')");
    }
    ok
}

/// Runs `tests/jwt_check.py` on `token` with `jwks`; returns its exit status and output.
fn pyjwt_check(jwks: &Value, token: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/jwt_check.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&path)
        .arg(token)
        .arg("axum-auth")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// An independent implementation (PyJWT) accepts our access tokens with the keys of our
/// JWKS endpoint, EdDSA and RS256 alike, and refuses a tampered one: our tokens are
/// standard, and the check can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyjwt_verifies_our_access_tokens() {
    if !pyjwt_available() {
        return;
    }
    let k = Tokens::new(TestDb::sqlite().await).await;
    let id = k.reader("pyjwt").await;
    let rs = JwtConfig::new(JwtKey::rs256_pem("r1", RS256_PEM).unwrap()).unwrap();
    let rs = Auth::with_http(k.app.t.db.clone(), service(rs), TestApp::http_config());
    for router in [&k.router, &routes(&rs)] {
        let (access, _) = token_login(router, "pyjwt").await;
        let jwks = with(
            router,
            Method::GET,
            "/api/contrib/auth/.well-known/jwks.json",
            &[],
        )
        .await
        .body;
        let (ok, out) = pyjwt_check(&jwks, &access);
        assert!(ok, "PyJWT refused our token: {out}");
        let claims: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(claims["sub"], id.to_string());
        assert_eq!(claims["iss"], "axum-auth");

        let mut tampered = access.clone();
        let flip = tampered.len() - 3;
        let c = if tampered.as_bytes()[flip] == b'A' {
            "B"
        } else {
            "A"
        };
        tampered.replace_range(flip..flip + 1, c);
        let (ok, out) = pyjwt_check(&jwks, &tampered);
        assert!(!ok, "PyJWT accepted a tampered token: {out}");
    }
}
