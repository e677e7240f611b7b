//! Passkeys (SPEC C10.2) through the HTTP router, on every backend: registration and
//! usernameless login with a software authenticator (tests/webauthn_soft.py, on the
//! soft-webauthn package), and the attacks on the ceremonies.

use std::path::{Path, PathBuf};

use auth_axum::UserStore;
use auth_axum::auth_core::audit::{self, EventFilter, EventType};
use auth_axum::auth_core::passkey::{self, WebauthnConfig};
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::ThrottleConfig;
use auth_tests::http::{Answer, HOST, ORIGIN, TEST_COST, TestApp};
use auth_tests::model::v1::User;
use auth_tests::{REQUIRE_ALL_ENV, TestDb, backend_tests};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// The app with a relying party for `http://localhost` (the test client's origin).
async fn app(t: TestDb) -> TestApp {
    app_with(t, ThrottleConfig::default()).await
}

async fn app_with(t: TestDb, throttle: ThrottleConfig) -> TestApp {
    let rp = WebauthnConfig::new("localhost", ORIGIN, "Passkey tests").unwrap();
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .throttle(throttle)
        .webauthn(rp)
        .build();
    TestApp::with_config(t, service, TestApp::forwarded_http_config()).await
}

/// Whether python3 with soft-webauthn can run here; under CI
/// (`AUTH_TEST_REQUIRE_ALL_BACKENDS=1`) it must.
fn soft_authenticator_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import soft_webauthn, fido2, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var(REQUIRE_ALL_ENV).as_deref() != Ok("1"),
            "python3 with soft-webauthn (pip install -r tests/requirements.txt) is required: \
             {REQUIRE_ALL_ENV}=1"
        );
        eprintln!(
            "skipped: python3 with soft-webauthn is not installed (pip install soft-webauthn)"
        );
    }
    ok
}

/// A software authenticator holding one credential in a temporary file.
struct Authenticator {
    _dir: tempfile::TempDir,
    state: PathBuf,
}

impl Authenticator {
    fn new() -> Authenticator {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("authenticator.json");
        Authenticator { _dir: dir, state }
    }

    fn run(&self, args: &[&str], options: &Value) -> Value {
        use std::io::Write;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("webauthn_soft.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(options.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "webauthn_soft.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The new credential for `options` (the data of `register/start`).
    fn create(&self, options: &Value) -> Value {
        self.run(&["register", self.state.to_str().unwrap(), ORIGIN], options)
    }

    /// An assertion for `options` (the data of `login/start`).
    fn get(&self, options: &Value) -> Value {
        self.run(&["login", self.state.to_str().unwrap(), ORIGIN], options)
    }

    /// An assertion with the counter set to `count` first (a clone replays an old one).
    fn get_with_count(&self, options: &Value, count: u32) -> Value {
        let count = count.to_string();
        self.run(
            &["login", self.state.to_str().unwrap(), ORIGIN, &count],
            options,
        )
    }
}

/// Sends a request as a same-origin browser from IP 203.0.113.9, with these cookies.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    cookies: &[(&str, &str)],
) -> Answer {
    let cookie = cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut headers = vec![
        ("host", HOST),
        ("origin", ORIGIN),
        ("x-forwarded-for", "203.0.113.9"),
    ];
    if !cookie.is_empty() {
        headers.push(("cookie", &cookie));
    }
    app.call_bare(method, &format!("/api/contrib/auth/{path}"), body, &headers)
        .await
}

async fn post(app: &TestApp, path: &str, body: Option<Value>, cookies: &[(&str, &str)]) -> Answer {
    send(app, Method::POST, path, body, cookies).await
}

/// The ceremony cookie a start answer sets.
fn ceremony(a: &Answer) -> String {
    a.cookie_value("auth_webauthn")
        .unwrap_or_else(|| panic!("no ceremony cookie: {:?}", a.set_cookies))
}

/// Registers a passkey named `name` for the session `token`; returns its id.
async fn register_passkey(app: &TestApp, token: &str, key: &Authenticator, name: &str) -> i64 {
    let start = post(
        app,
        "passkeys/register/start",
        None,
        &[("auth_session", token)],
    )
    .await;
    assert_eq!(start.status, StatusCode::OK, "{:?}", start.body);
    let cer = ceremony(&start);
    let mut credential = key.create(&start.body["data"]);
    credential["name"] = name.into();
    let finish = post(
        app,
        "passkeys/register/finish",
        Some(credential),
        &[("auth_session", token), ("auth_webauthn", &cer)],
    )
    .await;
    assert_eq!(finish.status, StatusCode::CREATED, "{:?}", finish.body);
    finish.body["data"]["id"].as_i64().unwrap()
}

/// A login ceremony: its cookie and options.
async fn login_start(app: &TestApp) -> (String, Value) {
    let start = post(app, "passkeys/login/start", None, &[]).await;
    assert_eq!(start.status, StatusCode::OK, "{:?}", start.body);
    (ceremony(&start), start.body["data"].clone())
}

async fn login_finish(app: &TestApp, cer: Option<&str>, assertion: Value) -> Answer {
    let cookies: Vec<(&str, &str)> = cer.map(|c| ("auth_webauthn", c)).into_iter().collect();
    post(app, "passkeys/login/finish", Some(assertion), &cookies).await
}

async fn events(app: &TestApp, event: EventType) -> Vec<audit::AuditEvent> {
    let mut conn = app.t.db.conn().await.unwrap();
    let filter = EventFilter {
        event: Some(event),
        ..EventFilter::default()
    };
    audit::list(&mut conn, &filter, 0, 100).await.unwrap()
}

async fn register_then_login_usernameless(t: TestDb) {
    if !soft_authenticator_available() {
        return;
    }
    let app = app(t).await;
    let (alice, token) = app.user("alice").await;
    let key = Authenticator::new();

    let start = post(
        &app,
        "passkeys/register/start",
        None,
        &[("auth_session", &token)],
    )
    .await;
    assert_eq!(start.status, StatusCode::OK, "{:?}", start.body);
    let options = &start.body["data"]["publicKey"];
    assert_eq!(options["rp"]["id"], "localhost");
    let selection = &options["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "{selection}");
    assert_eq!(selection["requireResidentKey"], true);
    assert_eq!(selection["userVerification"], "required");
    let set = start.cookie("auth_webauthn").unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Max-Age=300", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    let cer = ceremony(&start);
    assert!(
        !start.body.to_string().contains(&cer),
        "the token stays in the cookie"
    );
    let mut credential = key.create(&start.body["data"]);
    credential["name"] = "laptop".into();
    let finish = post(
        &app,
        "passkeys/register/finish",
        Some(credential),
        &[("auth_session", &token), ("auth_webauthn", &cer)],
    )
    .await;
    assert_eq!(finish.status, StatusCode::CREATED, "{:?}", finish.body);
    assert_eq!(finish.body["data"]["name"], "laptop");
    assert!(
        finish.cookie("auth_webauthn").is_some(),
        "the ceremony cookie is cleared"
    );
    assert_eq!(events(&app, EventType::PasskeyAdded).await.len(), 1);

    // Usernameless: the options name no credential and no user.
    let (cer, options) = login_start(&app).await;
    let allowed = &options["publicKey"]["allowCredentials"];
    assert!(
        allowed.is_null() || allowed.as_array().unwrap().is_empty(),
        "{options}"
    );
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert!(options.get("mediation").is_none(), "{options}");
    let login = login_finish(&app, Some(&cer), key.get(&options)).await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    assert_eq!(login.body["data"]["account"], "alice");
    assert!(login.body["data"]["roles"].is_array());
    let session = login.token().expect("session cookie");
    let csrf = login.csrf_token().expect("CSRF cookie");
    assert_eq!(login.body["data"]["csrf_token"], csrf.as_str());
    let me = send(&app, Method::GET, "me", None, &[("auth_session", &session)]).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["data"]["id"], alice);
    assert!(!me.body["data"]["last_login"].is_null());

    // The session is a passkey login, audited as one.
    let sessions = send(
        &app,
        Method::GET,
        "sessions",
        None,
        &[("auth_session", &session)],
    )
    .await;
    let current = sessions.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .cloned()
        .unwrap();
    assert_eq!(current["platform"], "passkey", "{current}");
    // A passkey is a second factor: the session records it.
    let session_id = current["id"].as_i64().unwrap();
    let mut conn = app.t.db.conn().await.unwrap();
    let stored = auth_axum::auth_core::session::find_by_id(&mut conn, session_id)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert!(stored.mfa_at.is_some() && stored.passed_mfa(), "{stored:?}");
    let success = events(&app, EventType::LoginSuccess).await;
    let passkey_login = success
        .iter()
        .find(|e| e.detail["platform"] == "passkey")
        .expect("login.success with platform passkey");
    assert_eq!(passkey_login.user_id, Some(alice));
    assert_eq!(
        passkey_login.detail["mfa"], "passkey",
        "{:?}",
        passkey_login.detail
    );

    // Listed with its last use, never with the key material.
    let list = send(
        &app,
        Method::GET,
        "passkeys",
        None,
        &[("auth_session", &session)],
    )
    .await;
    assert_eq!(list.status, StatusCode::OK);
    let keys = list.body["data"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["name"], "laptop");
    assert!(!keys[0]["created_at"].is_null() && !keys[0]["last_used_at"].is_null());
    let mut fields: Vec<&String> = keys[0].as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["created_at", "id", "last_used_at", "name"]);

    // The counter was stored: a second login with a higher count passes...
    let (cer, options) = login_start(&app).await;
    let again = login_finish(&app, Some(&cer), key.get(&options)).await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
}

async fn cloned_authenticator_is_refused(t: TestDb) {
    if !soft_authenticator_available() {
        return;
    }
    let app = app(t).await;
    let (_, token) = app.user("carol").await;
    let key = Authenticator::new();
    register_passkey(&app, &token, &key, "key").await;
    let (cer, options) = login_start(&app).await;
    let first = login_finish(&app, Some(&cer), key.get_with_count(&options, 4)).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    // A clone that signs with a counter not above the stored one.
    let (cer, options) = login_start(&app).await;
    let clone = login_finish(&app, Some(&cer), key.get_with_count(&options, 3)).await;
    assert_eq!(clone.status, StatusCode::UNAUTHORIZED, "{:?}", clone.body);
    assert_eq!(clone.code(), "invalid_credential");
    assert!(clone.token().is_none());
}

async fn replayed_or_foreign_ceremonies_fail(t: TestDb) {
    if !soft_authenticator_available() {
        return;
    }
    let app = app(t).await;
    let (_, token) = app.user("dave").await;
    let key = Authenticator::new();
    register_passkey(&app, &token, &key, "key").await;

    // A replayed finish: the same ceremony cookie and assertion twice.
    let (cer, options) = login_start(&app).await;
    let assertion = key.get(&options);
    let first = login_finish(&app, Some(&cer), assertion.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let replay = login_finish(&app, Some(&cer), assertion).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{:?}", replay.body);
    assert_eq!(replay.code(), "invalid_ceremony");
    assert!(replay.token().is_none());

    // No ceremony cookie at all; an unknown one.
    let (_, options) = login_start(&app).await;
    let assertion = key.get(&options);
    let bare = login_finish(&app, None, assertion.clone()).await;
    assert_eq!(bare.status, StatusCode::BAD_REQUEST);
    assert_eq!(bare.code(), "invalid_ceremony");
    let forged = login_finish(&app, Some("not-a-ceremony"), assertion).await;
    assert_eq!(forged.code(), "invalid_ceremony");

    // An assertion signed for another browser's challenge, with this browser's cookie.
    let (_, theirs) = login_start(&app).await;
    let (mine, _) = login_start(&app).await;
    let crossed = login_finish(&app, Some(&mine), key.get(&theirs)).await;
    assert_eq!(
        crossed.status,
        StatusCode::UNAUTHORIZED,
        "{:?}",
        crossed.body
    );
    assert_eq!(crossed.code(), "invalid_credential");
    assert!(crossed.token().is_none());

    // A registration ceremony is its starter's: another user's cookie does not carry it.
    let (_, erin) = app.user("erin").await;
    let start = post(
        &app,
        "passkeys/register/start",
        None,
        &[("auth_session", &erin)],
    )
    .await;
    let erins = ceremony(&start);
    let credential = Authenticator::new().create(&start.body["data"]);
    let stolen = post(
        &app,
        "passkeys/register/finish",
        Some(credential.clone()),
        &[("auth_session", &token), ("auth_webauthn", &erins)],
    )
    .await;
    assert_eq!(stolen.status, StatusCode::BAD_REQUEST, "{:?}", stolen.body);
    assert_eq!(stolen.code(), "invalid_ceremony");
    // ... and a login ceremony's cookie cannot finish a registration.
    let (login_cer, _) = login_start(&app).await;
    let wrong_kind = post(
        &app,
        "passkeys/register/finish",
        Some(credential.clone()),
        &[("auth_session", &erin), ("auth_webauthn", &login_cer)],
    )
    .await;
    assert_eq!(wrong_kind.code(), "invalid_ceremony");
    // Erin's own ceremony is still there for her (it was not used up by the others).
    let own = post(
        &app,
        "passkeys/register/finish",
        Some(credential),
        &[("auth_session", &erin), ("auth_webauthn", &erins)],
    )
    .await;
    assert_eq!(own.status, StatusCode::CREATED, "{:?}", own.body);

    // Garbage is a 4xx with a stable code, never a 500.
    let (cer, _) = login_start(&app).await;
    let junk = login_finish(&app, Some(&cer), json!({"id": "x"})).await;
    assert_eq!(
        junk.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        junk.body
    );
    let (cer, _) = login_start(&app).await;
    let bad = json!({"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {
        "authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA", "userHandle": "AAAA"}});
    let refused = login_finish(&app, Some(&cer), bad).await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "{:?}",
        refused.body
    );
    assert_eq!(refused.code(), "invalid_credential");
}

async fn expired_ceremony_fails(t: TestDb) {
    if !soft_authenticator_available() {
        return;
    }
    let app = app(t).await;
    let (_, token) = app.user("frank").await;
    let key = Authenticator::new();
    register_passkey(&app, &token, &key, "key").await;
    let (cer, options) = login_start(&app).await;
    {
        use auth_axum::auth_core::schema::auth_webauthn_ceremonies as c;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let past = auth_axum::auth_core::session::now() - passkey::CEREMONY_TTL;
        let mut conn = app.t.db.conn().await.unwrap();
        auth_axum::auth_core::with_conn!(&mut conn, |conn| diesel::update(c::table)
            .set(c::expires_at.eq(past))
            .execute(conn)
            .await)
        .unwrap();
    }
    let late = login_finish(&app, Some(&cer), key.get(&options)).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "{:?}", late.body);
    assert_eq!(late.code(), "ceremony_expired");
}

async fn deleted_passkey_no_longer_logs_in(t: TestDb) {
    if !soft_authenticator_available() {
        return;
    }
    let app = app(t).await;
    let (_, token) = app.user("gina").await;
    let key = Authenticator::new();
    let id = register_passkey(&app, &token, &key, "key").await;
    let deleted = send(
        &app,
        Method::DELETE,
        &format!("passkeys/{id}"),
        None,
        &[("auth_session", &token)],
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK, "{:?}", deleted.body);
    assert_eq!(events(&app, EventType::PasskeyRemoved).await.len(), 1);
    let (cer, options) = login_start(&app).await;
    let login = login_finish(&app, Some(&cer), key.get(&options)).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{:?}", login.body);
    assert_eq!(login.code(), "invalid_credential");
    let failures = events(&app, EventType::LoginFailure).await;
    assert!(
        failures.iter().any(
            |e| e.detail["platform"] == "passkey" && e.detail["reason"] == "invalid_credential"
        ),
        "{failures:?}"
    );
}

async fn passkeys_are_their_owners_only(t: TestDb) {
    if !soft_authenticator_available() {
        return;
    }
    let app = app(t).await;
    let (_, alice) = app.user("alice").await;
    let (_, bob) = app.user("bob").await;
    let id = register_passkey(&app, &alice, &Authenticator::new(), "alice's").await;
    let list = send(
        &app,
        Method::GET,
        "passkeys",
        None,
        &[("auth_session", &bob)],
    )
    .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["data"], json!([]));
    let path = format!("passkeys/{id}");
    let steal = send(&app, Method::DELETE, &path, None, &[("auth_session", &bob)]).await;
    assert_eq!(steal.status, StatusCode::NOT_FOUND, "{:?}", steal.body);
    assert_eq!(steal.code(), "not_found");
    let missing = send(
        &app,
        Method::DELETE,
        "passkeys/999999",
        None,
        &[("auth_session", &bob)],
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let junk = send(
        &app,
        Method::DELETE,
        "passkeys/abc",
        None,
        &[("auth_session", &bob)],
    )
    .await;
    assert_eq!(junk.status, StatusCode::NOT_FOUND);
    let mine = send(
        &app,
        Method::GET,
        "passkeys",
        None,
        &[("auth_session", &alice)],
    )
    .await;
    assert_eq!(mine.body["data"].as_array().unwrap().len(), 1);
}

async fn an_api_key_cannot_manage_passkeys(t: TestDb) {
    let app = app(t).await;
    let (_, token) = app.user("hank").await;
    let created = post(
        &app,
        "api-keys",
        Some(json!({"name": "ci"})),
        &[("auth_session", &token)],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let key = created.body["data"]["key"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {key}");
    for (method, path) in [
        (Method::POST, "passkeys/register/start"),
        (Method::POST, "passkeys/register/finish"),
        (Method::GET, "passkeys"),
        (Method::DELETE, "passkeys/1"),
    ] {
        let body = (method == Method::POST).then(|| json!({}));
        let a = app
            .call_bare(
                method.clone(),
                &format!("/api/contrib/auth/{path}"),
                body,
                &[("host", HOST), ("authorization", &bearer)],
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {:?}",
            a.body
        );
        assert_eq!(a.code(), "session_required");
    }
    // Anonymous: 401.
    let anonymous = post(&app, "passkeys/register/start", None, &[]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn an_inactive_users_passkey_is_refused(t: TestDb) {
    if !soft_authenticator_available() {
        return;
    }
    let app = app(t).await;
    let (id, token) = app.user("ivan").await;
    let key = Authenticator::new();
    register_passkey(&app, &token, &key, "key").await;
    {
        let mut conn = app.t.db.conn().await.unwrap();
        let mut ivan = User::find_by_id(&mut conn, id).await.unwrap().unwrap();
        ivan.is_active = false;
        ivan.update(&mut conn).await.unwrap();
    }
    let (cer, options) = login_start(&app).await;
    let login = login_finish(&app, Some(&cer), key.get(&options)).await;
    assert_eq!(login.status, StatusCode::FORBIDDEN, "{:?}", login.body);
    assert_eq!(login.code(), "inactive_account");
    assert!(login.token().is_none());
}

async fn failures_are_throttled_per_ip(t: TestDb) {
    let throttle = ThrottleConfig {
        ip_limit: 2,
        ..ThrottleConfig::default()
    };
    let app = app_with(t, throttle).await;
    let bad = json!({"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {
        "authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA", "userHandle": "AAAA"}});
    for _ in 0..2 {
        let (cer, _) = login_start(&app).await;
        let a = login_finish(&app, Some(&cer), bad.clone()).await;
        assert_eq!(a.code(), "invalid_credential", "{:?}", a.body);
    }
    let (cer, _) = login_start(&app).await;
    let locked = login_finish(&app, Some(&cer), bad).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:?}",
        locked.body
    );
    assert_eq!(locked.code(), "too_many_attempts");
}

async fn deleting_a_user_deletes_their_passkeys(t: TestDb) {
    if !soft_authenticator_available() {
        return;
    }
    let app = app(t).await;
    let (admin, admin_token) = app.user("root").await;
    app.give_role(admin, "Admin", &["users.manage"]).await;
    let (jane, token) = app.user("jane").await;
    let key = Authenticator::new();
    register_passkey(&app, &token, &key, "key").await;
    let gone = send(
        &app,
        Method::DELETE,
        &format!("admin/users/{jane}"),
        None,
        &[("auth_session", &admin_token)],
    )
    .await;
    assert_eq!(gone.status, StatusCode::OK, "{:?}", gone.body);
    let mut conn = app.t.db.conn().await.unwrap();
    assert!(
        passkey::list_stored(&mut conn, jane)
            .await
            .unwrap()
            .is_empty()
    );
    drop(conn);
    let (cer, options) = login_start(&app).await;
    let login = login_finish(&app, Some(&cer), key.get(&options)).await;
    assert_eq!(login.code(), "invalid_credential");
}

async fn without_a_relying_party_the_routes_answer_501(t: TestDb) {
    let app = TestApp::new(t).await;
    let (_, token) = app.user("kate").await;
    for (method, path, body) in [
        (Method::POST, "passkeys/register/start", None),
        (Method::POST, "passkeys/register/finish", Some(json!({}))),
        (Method::POST, "passkeys/login/start", None),
        (Method::POST, "passkeys/login/finish", Some(json!({}))),
        (Method::GET, "passkeys", None),
        (Method::DELETE, "passkeys/1", None),
    ] {
        let a = send(
            &app,
            method.clone(),
            path,
            body,
            &[("auth_session", &token)],
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::NOT_IMPLEMENTED,
            "{method} {path}: {:?}",
            a.body
        );
        assert_eq!(a.code(), "not_configured");
    }
}

/// A passkey is a proof of identity for sudo mode: `POST reauthenticate/passkey`, then
/// `POST reauthenticate {passkey}` in the same browser; the ceremony is used once, and an
/// API key can start none.
async fn a_passkey_reauthenticates_for_sudo_mode(t: TestDb) {
    if !soft_authenticator_available() {
        return;
    }
    let rp = WebauthnConfig::new("localhost", ORIGIN, "Passkey tests").unwrap();
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .webauthn(rp)
        .build();
    let app = TestApp::with_config(t, service, TestApp::forwarded_http_config()).await;
    let (id, alice) = app.user("alice").await;
    let key = Authenticator::new();
    register_passkey(&app, &alice, &key, "laptop").await;
    app.age_sessions(id, 3600).await;
    let session = [("auth_session", alice.as_str())];
    let a = post(&app, "api-keys", Some(json!({"name": "ci"})), &session).await;
    assert_eq!(a.code(), "reauthentication_required", "{:?}", a.body);

    let start = post(&app, "reauthenticate/passkey", None, &session).await;
    assert_eq!(start.status, StatusCode::OK, "{:?}", start.body);
    let cer = ceremony(&start);
    let options = start.body["data"].clone();
    let assertion = key.get(&options);
    let with_ceremony = [
        ("auth_session", alice.as_str()),
        ("auth_webauthn", cer.as_str()),
    ];
    let a = post(
        &app,
        "reauthenticate",
        Some(json!({"passkey": assertion})),
        &with_ceremony,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(a.body["data"]["mfa_at"].is_string(), "a second factor too");
    let a = post(&app, "api-keys", Some(json!({"name": "ci"})), &session).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let key_text = a.body["data"]["key"].as_str().unwrap().to_owned();
    // The ceremony was used.
    let a = post(
        &app,
        "reauthenticate",
        Some(json!({"passkey": assertion})),
        &with_ceremony,
    )
    .await;
    assert_eq!(a.code(), "invalid_ceremony", "{:?}", a.body);
    // An API key starts no re-authentication.
    let bearer = format!("Bearer {key_text}");
    let a = app
        .call_bare(
            Method::POST,
            "/api/contrib/auth/reauthenticate/passkey",
            None,
            &[("host", HOST), ("authorization", &bearer)],
        )
        .await;
    assert_eq!(a.code(), "session_required", "{:?}", a.body);
}

/// A passkey finishes the second step of a password login for a user with MFA: the
/// options list that user's passkeys only, another user's passkey is refused, and the
/// ceremony is used once.
async fn a_passkey_is_a_second_factor_for_mfa_users(t: TestDb) {
    if !soft_authenticator_available() {
        return;
    }
    use auth_axum::auth_core::mfa::{MfaConfig, SecretKey, totp};
    let rp = WebauthnConfig::new("localhost", ORIGIN, "Passkey tests").unwrap();
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .webauthn(rp)
        .mfa(MfaConfig::new(SecretKey::generate(), "Passkey tests"))
        .build();
    let app = TestApp::with_config(t, service, TestApp::forwarded_http_config()).await;
    let (_, alice) = app.user("alice").await;
    let (_, bob) = app.user("bob").await;
    let alice_key = Authenticator::new();
    let bob_key = Authenticator::new();
    register_passkey(&app, &alice, &alice_key, "laptop").await;
    register_passkey(&app, &bob, &bob_key, "phone").await;
    // MFA on for alice (the TOTP code from our generator: pyotp checks it in mfa.rs).
    let setup = post(&app, "mfa/totp/setup", None, &[("auth_session", &alice)]).await;
    assert_eq!(setup.status, StatusCode::OK, "{:?}", setup.body);
    let secret = setup.body["data"]["secret"].as_str().unwrap().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = totp::code_at(&secret, now).unwrap();
    let confirm = post(
        &app,
        "mfa/totp/confirm",
        Some(json!({"code": code})),
        &[("auth_session", &alice)],
    )
    .await;
    assert_eq!(confirm.status, StatusCode::OK, "{:?}", confirm.body);

    let challenge = || async {
        let a = post(
            &app,
            "login",
            Some(json!({"account": "alice", "password": "pass-word-1"})),
            &[],
        )
        .await;
        assert_eq!(a.body["data"]["mfa_required"], true, "{:?}", a.body);
        assert_eq!(
            a.body["data"]["methods"],
            json!(["totp", "backup_code", "passkey"])
        );
        a.body["data"]["mfa_token"].as_str().unwrap().to_owned()
    };
    let start = |mfa_token: String| {
        let app = &app;
        async move {
            let a = post(
                app,
                "login/mfa/passkey",
                Some(json!({"mfa_token": mfa_token})),
                &[],
            )
            .await;
            assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
            (ceremony(&a), a.body["data"].clone())
        }
    };

    // Bob's passkey cannot stand for alice's second factor.
    let mfa_token = challenge().await;
    let (cer, options) = start(mfa_token.clone()).await;
    let allowed = options["publicKey"]["allowCredentials"].as_array().unwrap();
    assert_eq!(allowed.len(), 1, "alice's passkey only: {options}");
    let a = post(
        &app,
        "login/mfa",
        Some(json!({"mfa_token": mfa_token, "passkey": bob_key.get(&options)})),
        &[("auth_webauthn", &cer)],
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "invalid_code"),
        "{:?}",
        a.body
    );
    assert!(a.token().is_none());
    // The ceremony was used by that attempt.
    let a = post(
        &app,
        "login/mfa",
        Some(json!({"mfa_token": mfa_token, "passkey": alice_key.get(&options)})),
        &[("auth_webauthn", &cer)],
    )
    .await;
    assert_eq!(a.code(), "invalid_ceremony", "{:?}", a.body);

    // Alice's passkey finishes the login: a session that passed the second factor.
    let (cer, options) = start(mfa_token.clone()).await;
    let a = post(
        &app,
        "login/mfa",
        Some(json!({"mfa_token": mfa_token, "passkey": alice_key.get(&options)})),
        &[("auth_webauthn", &cer)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["data"]["account"], "alice");
    let session = a.token().expect("session cookie");
    let mut conn = app.t.db.conn().await.unwrap();
    let user = User::find_by_account(&mut conn, "alice")
        .await
        .unwrap()
        .unwrap();
    let sessions =
        auth_axum::auth_core::session::list_for_user(&mut conn, auth_axum::AuthUser::id(&user))
            .await
            .unwrap();
    let newest = sessions
        .iter()
        .find(|s| s.token_hash == auth_axum::auth_core::session::hash_token(&session))
        .unwrap();
    assert!(newest.passed_mfa());
    let logins = events(&app, EventType::LoginSuccess).await;
    assert!(
        logins.iter().any(|e| e.detail["mfa"] == "passkey"),
        "{logins:?}"
    );
    // The token is used up.
    let a = post(
        &app,
        "login/mfa/passkey",
        Some(json!({"mfa_token": mfa_token})),
        &[],
    )
    .await;
    assert_eq!(a.code(), "invalid_token");

    // A user with MFA but no passkey is not offered one.
    let (_, carol) = app.user("carol").await;
    let setup = post(&app, "mfa/totp/setup", None, &[("auth_session", &carol)]).await;
    let secret = setup.body["data"]["secret"].as_str().unwrap().to_owned();
    let code = totp::code_at(&secret, now).unwrap();
    post(
        &app,
        "mfa/totp/confirm",
        Some(json!({"code": code})),
        &[("auth_session", &carol)],
    )
    .await;
    let a = post(
        &app,
        "login",
        Some(json!({"account": "carol", "password": "pass-word-1"})),
        &[],
    )
    .await;
    assert_eq!(a.body["data"]["methods"], json!(["totp", "backup_code"]));
    let mfa_token = a.body["data"]["mfa_token"].as_str().unwrap();
    let a = post(
        &app,
        "login/mfa/passkey",
        Some(json!({"mfa_token": mfa_token})),
        &[],
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "invalid_credential")
    );
}

backend_tests!(
    a_passkey_reauthenticates_for_sudo_mode,
    a_passkey_is_a_second_factor_for_mfa_users,
    register_then_login_usernameless,
    cloned_authenticator_is_refused,
    replayed_or_foreign_ceremonies_fail,
    expired_ceremony_fails,
    deleted_passkey_no_longer_logs_in,
    passkeys_are_their_owners_only,
    an_api_key_cannot_manage_passkeys,
    an_inactive_users_passkey_is_refused,
    failures_are_throttled_per_ip,
    deleting_a_user_deletes_their_passkeys,
    without_a_relying_party_the_routes_answer_501,
);
