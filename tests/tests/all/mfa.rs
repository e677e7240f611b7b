//! Multi-factor authentication over HTTP on every backend (issue 15, SPEC C10.1): TOTP
//! setup and confirmation (codes computed by pyotp, an independent implementation), the
//! login's second step for cookie and token logins, backup codes, replay and race
//! refusals, the code throttle, turning MFA off, the administrator's reset under the
//! coverage rule, the `mfa` and `fresh` guard options, and the audit trail.

use std::time::Duration;

use auth_axum::auth_core::audit::{self, EventFilter, EventType};
use auth_axum::auth_core::jwt::{JwtConfig, JwtKey};
use auth_axum::auth_core::mfa::{MfaConfig, SecretKey, totp};
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::ThrottleConfig;
use auth_axum::{Auth, CurrentUser, UserStore, login_required, permission_required};
use auth_tests::http::{Answer, HOST, ORIGIN, TEST_COST, TestApp, send};
use auth_tests::model::v1::User;
use auth_tests::{REQUIRE_ALL_ENV, TestDb, backend_tests};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};

const PASSWORD: &str = "pass-word-1";
const ED25519_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/jwt_ed25519_test_only.pem"
));

#[login_required(mfa)]
async fn strong(user: CurrentUser<User>) -> String {
    user.account.clone()
}

#[permission_required("vault.open", mfa)]
async fn vault(user: CurrentUser<User>) -> String {
    user.account.clone()
}

#[login_required(fresh = "10m")]
async fn sensitive(user: CurrentUser<User>) -> String {
    user.account.clone()
}

/// Seconds since the epoch now.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Whether python3 with pyotp can run; a skip (said) unless every tool is required.
pub(crate) fn pyotp_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import pyotp"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var(REQUIRE_ALL_ENV).as_deref() != Ok("1"),
            "python3 with pyotp (pip install pyotp) is required: {REQUIRE_ALL_ENV}=1"
        );
        eprintln!("skipped: python3 with pyotp is not installed (pip install pyotp)");
    }
    ok
}

/// The TOTP code of `secret` at `unix`, by pyotp.
pub(crate) fn pyotp(secret: &str, unix: u64) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
            secret,
            &unix.to_string(),
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The MFA configuration of these tests (a fresh key each time).
pub(crate) fn mfa_config() -> MfaConfig {
    MfaConfig::new(SecretKey::generate(), "Test App")
}

/// A service with cheap hashing, MFA, token logins and the default throttle.
fn service(mfa: MfaConfig, throttle: ThrottleConfig) -> AuthService<User> {
    AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .mfa(mfa)
        .jwt(JwtConfig::new(JwtKey::ed25519_pem("k1", ED25519_PEM).unwrap()).unwrap())
        .throttle(throttle)
        .build()
}

struct Mfa {
    app: TestApp,
    router: Router,
}

/// An enabled authenticator: its secret and the backup codes.
struct Enabled {
    secret: String,
    backup_codes: Vec<String>,
}

impl Mfa {
    async fn new(t: TestDb) -> Mfa {
        Mfa::with(t, mfa_config(), ThrottleConfig::default()).await
    }

    async fn with(t: TestDb, mfa: MfaConfig, throttle: ThrottleConfig) -> Mfa {
        let app = TestApp::with_service(t, service(mfa, throttle)).await;
        let router = routes(&app.auth);
        Mfa { app, router }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST)
            .header("origin", ORIGIN);
        if let Some(token) = token {
            req = req.header("cookie", format!("auth_session={token}"));
        }
        let req = match body {
            Some(body) => req
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => req.body(Body::empty()),
        };
        send(&self.router, req.unwrap()).await
    }

    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Answer {
        self.call(
            Method::POST,
            &format!("/api/contrib/auth/{path}"),
            Some(body),
            token,
        )
        .await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, None, token).await
    }

    async fn password_login(&self, account: &str) -> Answer {
        let a = self
            .post(
                "login",
                json!({"account": account, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        a
    }

    /// `POST login` for a user with MFA: the `mfa_token`, after checking the challenge.
    async fn challenge(&self, account: &str) -> String {
        let a = self.password_login(account).await;
        let data = &a.body["data"];
        assert_eq!(data["mfa_required"], true, "{:?}", a.body);
        assert!(a.token().is_none(), "no session before the second factor");
        assert!(a.csrf_token().is_none(), "no CSRF cookie either");
        assert!(
            data.get("id").is_none() && data.get("account").is_none(),
            "no user yet"
        );
        data["mfa_token"].as_str().unwrap().to_owned()
    }

    /// Sets up and confirms TOTP for the session `token`, with pyotp's code of now.
    async fn enable(&self, token: &str) -> Enabled {
        let a = self.post("mfa/totp/setup", json!({}), Some(token)).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        let secret = a.body["data"]["secret"].as_str().unwrap().to_owned();
        let code = pyotp(&secret, unix_now());
        let a = self
            .post("mfa/totp/confirm", json!({"code": code}), Some(token))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        let backup_codes = a.body["data"]["backup_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        Enabled {
            secret,
            backup_codes,
        }
    }

    async fn events(&self, event: EventType) -> Vec<audit::AuditEvent> {
        let mut conn = self.app.t.db.conn().await.unwrap();
        let filter = EventFilter {
            event: Some(event),
            ..EventFilter::default()
        };
        audit::list(&mut conn, &filter, 0, 100).await.unwrap()
    }

    async fn id_of(&self, account: &str) -> i64 {
        let mut conn = self.app.t.db.conn().await.unwrap();
        auth_axum::AuthUser::id(
            &User::find_by_account(&mut conn, account)
                .await
                .unwrap()
                .unwrap(),
        )
    }
}

/// The routes of these tests around `auth`.
fn routes(auth: &Auth<User>) -> Router {
    Router::new()
        .route("/strong", get(strong))
        .route("/vault", get(vault))
        .route("/sensitive", get(sensitive))
        .route(
            "/private",
            get(|u: CurrentUser<User>| async move { u.account.clone() }),
        )
        .nest("/api/contrib/auth", auth.router())
        .layer(auth.layer())
}

async fn setup_confirm_and_the_login_step(t: TestDb) {
    if !pyotp_available() {
        return;
    }
    let m = Mfa::new(t).await;
    let (id, token) = m.app.user("alice").await;

    let a = m.post("mfa/totp/setup", json!({}), Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let data = &a.body["data"];
    let secret = data["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert_eq!(
        data["otpauth_uri"],
        format!(
            "otpauth://totp/Test%20App:alice?secret={secret}&issuer=Test%20App&algorithm=SHA1&digits=6&period=30"
        )
    );
    let svg = data["qr_svg"].as_str().unwrap();
    assert!(svg.contains("<svg"), "{}", &svg[..80.min(svg.len())]);

    // At rest the secret is encrypted: neither its base32 nor its bytes are stored.
    let stored = stored_secret(&m, id).await;
    assert!(
        stored.starts_with("v1.") && !stored.contains(&secret),
        "{stored}"
    );

    // Not on until confirmed: a login still opens a session at once.
    assert!(m.password_login("alice").await.token().is_some());

    // A wrong code does not confirm.
    let wrong = if pyotp(&secret, unix_now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let a = m
        .post("mfa/totp/confirm", json!({"code": wrong}), Some(&token))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "invalid_code"),
        "{:?}",
        a.body
    );
    let a = m
        .post("mfa/totp/confirm", json!({"code": "12a456"}), Some(&token))
        .await;
    assert_eq!(a.code(), "invalid_code");

    let now = unix_now();
    let a = m
        .post(
            "mfa/totp/confirm",
            json!({"code": pyotp(&secret, now)}),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let codes = a.body["data"]["backup_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let mut distinct: Vec<&str> = codes.iter().map(|c| c.as_str().unwrap()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);
    assert!(
        distinct.iter().all(|c| c.len() == 11 && &c[5..6] == "-"),
        "{distinct:?}"
    );
    // The confirming session passed the second factor.
    assert_eq!(m.get("/strong", Some(&token)).await.status, StatusCode::OK);
    let a = m.post("mfa/totp/setup", json!({}), Some(&token)).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "mfa_already_enabled")
    );

    let a = m.get("/api/contrib/auth/mfa", Some(&token)).await;
    assert_eq!(a.body["data"]["enabled"], true, "{:?}", a.body);
    assert_eq!(a.body["data"]["methods"], json!(["totp", "backup_code"]));
    assert_eq!(a.body["data"]["backup_codes_remaining"], 10);

    // The login now stops at the second step.
    let mfa_token = m.challenge("alice").await;
    let a = m.password_login("alice").await;
    assert_eq!(a.body["data"]["methods"], json!(["totp", "backup_code"]));
    // The confirming code's step is used: the next step's code is accepted (±1 step).
    let next = pyotp(&secret, now + 30);
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "code": next}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let session = a.token().expect("the second step sets the session cookie");
    assert!(a.csrf_token().is_some());
    assert_eq!(a.body["data"]["account"], "alice");
    assert_eq!(
        m.get("/private", Some(&session)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        m.get("/strong", Some(&session)).await.status,
        StatusCode::OK
    );

    // The mfa_token is used up.
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "code": next}),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );

    // The same code again (replay), or an older step's, is refused.
    let mfa_token = m.challenge("alice").await;
    for code in [next.clone(), pyotp(&secret, now), pyotp(&secret, now - 30)] {
        let a = m
            .post(
                "login/mfa",
                json!({"mfa_token": mfa_token, "code": code}),
                None,
            )
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "invalid_code"),
            "{code}"
        );
    }
    // A code two steps ahead is outside the window.
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "code": pyotp(&secret, now + 90)}),
            None,
        )
        .await;
    assert_eq!(a.code(), "invalid_code");

    // Audited: the challenge, the failures, the success with its method.
    assert!(!m.events(EventType::MfaEnabled).await.is_empty());
    assert!(m.events(EventType::MfaChallenged).await.len() >= 3);
    assert!(m.events(EventType::MfaFailure).await.len() >= 4);
    let logins = m.events(EventType::LoginSuccess).await;
    assert!(
        logins.iter().any(|e| e.detail["mfa"] == "totp"),
        "{logins:?}"
    );
}

/// The stored (encrypted) TOTP secret of `user_id`.
async fn stored_secret(m: &Mfa, user_id: i64) -> String {
    use auth_axum::auth_core::schema::auth_mfa_totp as t;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let mut conn = m.app.t.db.conn().await.unwrap();
    auth_axum::auth_core::with_conn!(&mut conn, |c| {
        t::table
            .find(user_id)
            .select(t::secret)
            .first::<String>(c)
            .await
            .unwrap()
    })
}

async fn backup_codes_are_single_use_and_regenerate(t: TestDb) {
    if !pyotp_available() {
        return;
    }
    let m = Mfa::new(t).await;
    let (_, token) = m.app.user("bob").await;
    let enabled = m.enable(&token).await;
    let first = &enabled.backup_codes[0];

    let mfa_token = m.challenge("bob").await;
    // Case, spaces and the dash do not matter.
    let typed = format!(" {} ", first.to_uppercase().replace('-', ""));
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": typed}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(a.token().is_some());

    let mfa_token = m.challenge("bob").await;
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": first}),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "invalid_code"),
        "used once"
    );
    let a = m.get("/api/contrib/auth/mfa", Some(&token)).await;
    assert_eq!(a.body["data"]["backup_codes_remaining"], 9);
    assert_eq!(m.events(EventType::MfaBackupCodeUsed).await.len(), 1);

    // Regenerating needs the password and a code; the old codes stop working.
    let a = m
        .post(
            "mfa/backup-codes",
            json!({"password": "wrong-pass-word", "code": &enabled.backup_codes[1]}),
            Some(&token),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let a = m
        .post(
            "mfa/backup-codes",
            json!({"password": PASSWORD, "code": "zzzzz-zzzzz"}),
            Some(&token),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "invalid_code")
    );
    let a = m
        .post(
            "mfa/backup-codes",
            json!({"password": PASSWORD, "code": &enabled.backup_codes[1]}),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let fresh: Vec<String> =
        serde_json::from_value(a.body["data"]["backup_codes"].clone()).unwrap();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !enabled.backup_codes.contains(c)));
    let mfa_token = m.challenge("bob").await;
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": &enabled.backup_codes[2]}),
            None,
        )
        .await;
    assert_eq!(a.code(), "invalid_code", "an old code after regeneration");
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": &fresh[0]}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(
        m.events(EventType::MfaBackupCodesRegenerated).await.len(),
        1
    );
    let _ = enabled.secret;
}

async fn wrong_codes_are_throttled_apart_from_the_password(t: TestDb) {
    if !pyotp_available() {
        return;
    }
    let throttle = ThrottleConfig {
        account_limit: 3,
        ..ThrottleConfig::default()
    };
    let m = Mfa::with(t, mfa_config(), throttle).await;
    let (_, token) = m.app.user("carol").await;
    let enabled = m.enable(&token).await;
    // The attacker knows the password: each new login (which clears the password counter)
    // must not buy more code guesses.
    for _ in 0..3 {
        let mfa_token = m.challenge("carol").await;
        let a = m
            .post(
                "login/mfa",
                json!({"mfa_token": mfa_token, "backup_code": "aaaaa-aaaaa"}),
                None,
            )
            .await;
        assert_eq!(a.code(), "invalid_code");
    }
    let mfa_token = m.challenge("carol").await;
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": &enabled.backup_codes[0]}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", a.body);
    assert_eq!(a.code(), "too_many_attempts");
    assert!(a.token().is_none());
    // The right code was not checked, so it is still unused.
    let mut conn = m.app.t.db.conn().await.unwrap();
    let id = m.id_of("carol").await;
    assert_eq!(
        auth_axum::auth_core::mfa::backup_codes::remaining(&mut conn, id)
            .await
            .unwrap(),
        10
    );
    let locks = m.events(EventType::Lockout).await;
    assert!(
        locks.iter().any(|e| e.detail["scope"] == "mfa"),
        "{locks:?}"
    );
}

async fn the_mfa_token_expires_and_survives_no_race(t: TestDb) {
    if !pyotp_available() {
        return;
    }
    let expired = mfa_config().with_challenge_ttl(Duration::ZERO);
    let m = Mfa::with(t, expired, ThrottleConfig::default()).await;
    let (_, token) = m.app.user("dave").await;
    let enabled = m.enable(&token).await;
    let mfa_token = m.challenge("dave").await;
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": &enabled.backup_codes[0]}),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token"),
        "expired"
    );
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": "made-up", "code": "123456"}),
            None,
        )
        .await;
    assert_eq!(a.code(), "invalid_token");
    // Malformed bodies are 422, never 500.
    for body in [
        json!({"mfa_token": "x"}),
        json!({"mfa_token": "x", "code": "123456", "backup_code": "abcde-fghij"}),
        json!({"mfa_token": "", "code": "123456"}),
        json!({"mfa_token": "x", "code": "1".repeat(100)}),
        json!({"mfa_token": "x", "code": 123456}),
    ] {
        let a = m.post("login/mfa", body.clone(), None).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:?}",
            a.body
        );
    }
}

async fn two_racing_second_steps_open_one_session(t: TestDb) {
    if !pyotp_available() {
        return;
    }
    let m = Mfa::new(t).await;
    let (_, token) = m.app.user("erin").await;
    let enabled = m.enable(&token).await;
    let mfa_token = m.challenge("erin").await;
    let body = json!({"mfa_token": mfa_token, "backup_code": &enabled.backup_codes[0]});
    let (a, b) = tokio::join!(
        m.post("login/mfa", body.clone(), None),
        m.post("login/mfa", body.clone(), None)
    );
    let ok = [&a, &b]
        .iter()
        .filter(|x| x.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{:?} / {:?}", a.body, b.body);
    // Two different codes racing on one token: still one session.
    let mfa_token = m.challenge("erin").await;
    let (a, b) = tokio::join!(
        m.post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": &enabled.backup_codes[1]}),
            None
        ),
        m.post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": &enabled.backup_codes[2]}),
            None
        )
    );
    let ok = [&a, &b]
        .iter()
        .filter(|x| x.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{:?} / {:?}", a.body, b.body);
}

async fn token_logins_take_the_second_step_too(t: TestDb) {
    if !pyotp_available() {
        return;
    }
    let m = Mfa::new(t).await;
    let (_, token) = m.app.user("frank").await;
    let enabled = m.enable(&token).await;

    let a = m
        .post(
            "token",
            json!({"account": "frank", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["mfa_required"], true);
    assert!(
        a.body["data"].get("access_token").is_none(),
        "no token before the code"
    );
    let mfa_token = a.body["data"]["mfa_token"].as_str().unwrap();
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": &enabled.backup_codes[0]}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(a.token().is_none(), "a token login sets no cookie");
    let access = a.body["data"]["access_token"].as_str().unwrap();
    assert!(a.body["data"]["refresh_token"].as_str().is_some());
    let req = Request::builder()
        .uri("/strong")
        .header("authorization", format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    let a = send(&m.router, req).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "the token login passed the second factor: {:?}",
        a.body
    );

    // `POST login` with `platform: "jwt"` answers the user with the token fields.
    let a = m
        .post(
            "login",
            json!({"account": "frank", "password": PASSWORD, "platform": "jwt"}),
            None,
        )
        .await;
    let mfa_token = a.body["data"]["mfa_token"]
        .as_str()
        .expect("challenge")
        .to_owned();
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": &enabled.backup_codes[1]}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["account"], "frank");
    assert!(a.body["data"]["token"].as_str().is_some());
    assert!(a.token().is_none());
}

async fn guards_ask_for_the_second_factor_and_freshness(t: TestDb) {
    if !pyotp_available() {
        return;
    }
    let m = Mfa::new(t).await;
    // Two sessions from before MFA: `password_only` stays one; the other turns MFA on.
    let (gina, password_only) = m.app.user("gina").await;
    let other_device = m.app.login("gina", PASSWORD).await;
    m.app.give_role(gina, "Keeper", &["vault.open"]).await;
    // A password-only session: logged in, permitted, but no second factor.
    let a = m.get("/strong", Some(&password_only)).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "mfa_required")
    );
    let a = m.get("/vault", Some(&password_only)).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "mfa_required")
    );
    assert_eq!(
        m.get("/strong", None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // An API key never passes a second factor.
    let a = m
        .post("api-keys", json!({"name": "script"}), Some(&password_only))
        .await;
    let key = a.body["data"]["key"].as_str().unwrap().to_owned();
    let req = Request::builder()
        .uri("/strong")
        .header("x-api-key", &key)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&m.router, req).await.code(), "mfa_required");
    let req = Request::builder()
        .uri("/sensitive")
        .header("x-api-key", &key)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&m.router, req).await.code(),
        "reauthentication_required"
    );

    // After MFA: the new session passes both; a user without the permission still gets
    // `forbidden`, not an MFA prompt.
    let enabled = m.enable(&other_device).await;
    let mfa_token = m.challenge("gina").await;
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": &enabled.backup_codes[0]}),
            None,
        )
        .await;
    let strong_session = a.token().unwrap();
    assert_eq!(
        m.get("/strong", Some(&strong_session)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        m.get("/vault", Some(&strong_session)).await.status,
        StatusCode::OK
    );
    let (_, other) = m.app.user("hank").await;
    let hank = m.enable(&other).await;
    let mfa_token = m.challenge("hank").await;
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": &hank.backup_codes[0]}),
            None,
        )
        .await;
    let a = m.get("/vault", Some(&a.token().unwrap())).await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"));

    // Freshness: a new login is fresh; one proven over 10 minutes ago is not.
    assert_eq!(
        m.get("/sensitive", Some(&strong_session)).await.status,
        StatusCode::OK
    );
    m.app.age_sessions(gina, 3600).await;
    let a = m.get("/sensitive", Some(&strong_session)).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "reauthentication_required")
    );
    let a = m
        .post(
            "reauthenticate",
            json!({"password": "not-my-pass-word"}),
            Some(&strong_session),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let a = m
        .post("reauthenticate", json!({}), Some(&strong_session))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", a.body);
    let a = m
        .post(
            "reauthenticate",
            json!({"password": PASSWORD}),
            Some(&strong_session),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(a.body["data"]["reauthenticated_at"].is_string());
    assert_eq!(
        m.get("/sensitive", Some(&strong_session)).await.status,
        StatusCode::OK
    );
    assert!(!m.events(EventType::Reauthenticated).await.is_empty());

    // A code reauthenticates and counts as the second factor for a password-only session
    // (one opened before MFA was turned on).
    let plain = password_only;
    assert_eq!(m.get("/strong", Some(&plain)).await.code(), "mfa_required");
    let a = m
        .post(
            "reauthenticate",
            json!({"code": &enabled.backup_codes[1]}),
            Some(&plain),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(a.body["data"]["mfa_at"].is_string());
    assert_eq!(m.get("/strong", Some(&plain)).await.status, StatusCode::OK);
}

async fn turning_mfa_off_needs_password_and_code(t: TestDb) {
    if !pyotp_available() {
        return;
    }
    let m = Mfa::new(t).await;
    let (id, token) = m.app.user("ivan").await;
    let enabled = m.enable(&token).await;
    let a = m
        .post(
            "mfa/totp/disable",
            json!({"password": "wrong-pass-word", "code": &enabled.backup_codes[0]}),
            Some(&token),
        )
        .await;
    assert_eq!(a.code(), "invalid_credentials");
    let a = m
        .post(
            "mfa/totp/disable",
            json!({"password": PASSWORD, "code": "000000"}),
            Some(&token),
        )
        .await;
    assert_eq!(a.code(), "invalid_code");
    let a = m
        .post(
            "mfa/totp/disable",
            json!({"password": PASSWORD, "code": &enabled.backup_codes[0]}),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["enabled"], false);
    assert_eq!(a.body["data"]["backup_codes_remaining"], 0);
    // The login no longer stops; the old codes and secret are gone.
    assert!(m.password_login("ivan").await.token().is_some());
    let mut conn = m.app.t.db.conn().await.unwrap();
    assert!(
        !auth_axum::auth_core::mfa::is_enabled(&mut conn, id)
            .await
            .unwrap()
    );
    let a = m
        .post(
            "mfa/backup-codes",
            json!({"password": PASSWORD, "code": &enabled.backup_codes[1]}),
            Some(&token),
        )
        .await;
    assert_eq!(a.code(), "invalid_code");
    let disabled = m.events(EventType::MfaDisabled).await;
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].detail["by"], "user");
    // An API key cannot start a setup (it manages credentials).
    let a = m.post("api-keys", json!({"name": "k"}), Some(&token)).await;
    let key = a.body["data"]["key"].as_str().unwrap().to_owned();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/contrib/auth/mfa/totp/setup")
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let a = send(&m.router, req).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "session_required")
    );
    let _ = enabled.secret;
}

async fn admins_reset_mfa_only_for_users_they_cover(t: TestDb) {
    if !pyotp_available() {
        return;
    }
    let m = Mfa::new(t).await;
    {
        let mut conn = m.app.t.db.conn().await.unwrap();
        manage::bootstrap(&mut conn).await.unwrap();
    }
    let (admin, admin_token) = m.app.user("admin").await;
    m.app
        .give_role(admin, "Support", &["users.manage", "users.read"])
        .await;
    let (victim, victim_token) = m.app.user("victim").await;
    m.enable(&victim_token).await;
    let (boss, boss_token) = m.app.user("boss").await;
    {
        let mut conn = m.app.t.db.conn().await.unwrap();
        manage::assign_role(&mut conn, boss, "superadmin", None)
            .await
            .unwrap();
    }
    m.enable(&boss_token).await;
    let (_, plain_token) = m.app.user("plain").await;

    let reset = |id: i64, token: String| {
        let m = &m;
        async move {
            m.call(
                Method::DELETE,
                &format!("/api/contrib/auth/admin/users/{id}/mfa"),
                None,
                Some(&token),
            )
            .await
        }
    };
    // Without users.manage: forbidden.
    assert_eq!(reset(victim, plain_token).await.code(), "forbidden");
    // Over someone holding more than the admin: refused, nothing changes.
    let a = reset(boss, admin_token.clone()).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{:?}", a.body);
    let mut conn = m.app.t.db.conn().await.unwrap();
    assert!(
        auth_axum::auth_core::mfa::is_enabled(&mut conn, boss)
            .await
            .unwrap()
    );
    // Over a covered user: done, audited with the admin as `by`.
    let a = reset(victim, admin_token.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(
        !auth_axum::auth_core::mfa::is_enabled(&mut conn, victim)
            .await
            .unwrap()
    );
    assert!(m.password_login("victim").await.token().is_some());
    let a = reset(victim, admin_token).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "not_found"),
        "nothing left"
    );
    let events = m.events(EventType::MfaDisabled).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail["by"]["account"], "admin");
    // Deleting a user removes their MFA rows in the same transaction.
    let _ = m.id_of("boss").await;
}

async fn without_an_mfa_key_the_routes_answer_501_and_mfa_users_still_need_a_code(t: TestDb) {
    if !pyotp_available() {
        return;
    }
    let config = mfa_config();
    let m = Mfa::with(t, config, ThrottleConfig::default()).await;
    let (_, token) = m.app.user("judy").await;
    let enabled = m.enable(&token).await;
    // The same database served without an MFA configuration.
    let plain = AuthService::builder().bcrypt_cost(TEST_COST).build();
    let auth = Auth::with_http(m.app.t.db.clone(), plain, TestApp::http_config());
    let router = routes(&auth);
    let post = |path: &str, body: Value| {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/contrib/auth/{path}"))
            .header("host", HOST)
            .header("origin", ORIGIN)
            .header("cookie", format!("auth_session={token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        send(&router, req)
    };
    let a = post("mfa/totp/setup", json!({})).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_IMPLEMENTED, "not_configured")
    );
    // Fail closed: a user who turned MFA on is not let in on a password alone.
    let a = post("login", json!({"account": "judy", "password": PASSWORD})).await;
    assert_eq!(a.body["data"]["mfa_required"], true, "{:?}", a.body);
    let mfa_token = a.body["data"]["mfa_token"].as_str().unwrap().to_owned();
    let a = post(
        "login/mfa",
        json!({"mfa_token": mfa_token, "code": pyotp(&enabled.secret, unix_now())}),
    )
    .await;
    assert_eq!(
        a.code(),
        "not_configured",
        "no key: a TOTP code cannot be checked"
    );
    let a = post(
        "login/mfa",
        json!({"mfa_token": mfa_token, "backup_code": &enabled.backup_codes[0]}),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_IMPLEMENTED, "not_configured"),
        "no key: a backup code (a keyed digest) cannot be checked either"
    );
    // Back with the key, the code works.
    let a = m.password_login("judy").await;
    let mfa_token = a.body["data"]["mfa_token"].as_str().unwrap().to_owned();
    let a = m
        .post(
            "login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": &enabled.backup_codes[0]}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
}

/// Backup codes are stored as keyed digests (HMAC under a key derived from the MFA key):
/// a database dump alone cannot be brute-forced (about 50 bits per code). A code stored
/// by an earlier version (the plain SHA-256) still verifies, once.
async fn backup_codes_are_stored_keyed_and_old_ones_still_work(t: TestDb) {
    use auth_axum::auth_core::schema::auth_mfa_backup_codes as b;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use sha2::{Digest, Sha256};
    if !pyotp_available() {
        return;
    }
    let m = Mfa::new(t).await;
    let (id, token) = m.app.user("kim").await;
    let enabled = m.enable(&token).await;
    let mut conn = m.app.t.db.conn().await.unwrap();
    let stored: Vec<String> = auth_axum::auth_core::with_conn!(&mut conn, |c| {
        b::table
            .filter(b::user_id.eq(id))
            .select(b::code_hash)
            .load(c)
            .await
    })
    .unwrap();
    assert_eq!(stored.len(), 10);
    let plain = |code: &str| hex::encode(Sha256::digest(format!("{id}:{}", code.replace('-', ""))));
    for (hash, code) in stored.iter().zip(&enabled.backup_codes) {
        assert!(hash.starts_with("h1:"), "{hash}");
        assert!(!stored.contains(&plain(code)), "not the plain SHA-256");
    }
    // A code of the old format, as an earlier version stored it.
    let old = "abcde-fghjk";
    auth_axum::auth_core::with_conn!(&mut conn, |c| {
        diesel::insert_into(b::table)
            .values((
                b::user_id.eq(id),
                b::code_hash.eq(plain(old)),
                b::used_at.eq(None::<time::PrimitiveDateTime>),
                b::created_at.eq(auth_axum::auth_core::session::now()),
            ))
            .execute(c)
            .await
    })
    .unwrap();
    drop(conn);
    for expected in [StatusCode::OK, StatusCode::BAD_REQUEST] {
        let mfa_token = m.challenge("kim").await;
        let a = m
            .post(
                "login/mfa",
                json!({"mfa_token": mfa_token, "backup_code": old}),
                None,
            )
            .await;
        assert_eq!(a.status, expected, "used once, then spent: {:?}", a.body);
    }
}

backend_tests!(
    setup_confirm_and_the_login_step,
    backup_codes_are_single_use_and_regenerate,
    wrong_codes_are_throttled_apart_from_the_password,
    the_mfa_token_expires_and_survives_no_race,
    two_racing_second_steps_open_one_session,
    token_logins_take_the_second_step_too,
    guards_ask_for_the_second_factor_and_freshness,
    turning_mfa_off_needs_password_and_code,
    admins_reset_mfa_only_for_users_they_cover,
    without_an_mfa_key_the_routes_answer_501_and_mfa_users_still_need_a_code,
    backup_codes_are_stored_keyed_and_old_ones_still_work,
);

/// Our codes agree with pyotp's (an independent implementation) across secrets and times,
/// at the step edges too.
#[test]
fn our_codes_agree_with_pyotp() {
    if !pyotp_available() {
        return;
    }
    let secrets = [
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U",
    ];
    let times = [
        0u64,
        29,
        30,
        59,
        1_111_111_109,
        1_234_567_890,
        2_000_000_000,
        unix_now(),
    ];
    for secret in secrets {
        for unix in times {
            assert_eq!(
                totp::code_at(secret, unix).as_deref(),
                Some(pyotp(secret, unix).as_str()),
                "{secret} at {unix}"
            );
        }
    }
}
