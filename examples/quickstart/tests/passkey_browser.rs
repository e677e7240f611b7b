//! The passkey demo page in headless Chromium with a WebDriver virtual authenticator: a user
//! logged in by password registers a passkey, logs out, and logs in again with the passkey
//! alone (usernameless). The quickstart's router serves on a real socket at `localhost`.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian's `chromium` and
//! `chromium-driver`); without them the test says so and passes, unless
//! `AUTH_TEST_REQUIRE_ALL_BACKENDS=1` (CI), where it fails.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use auth_axum::auth_core::backend::RegisterRequest;
use auth_axum::auth_core::passkey::WebauthnConfig;
use auth_axum::auth_core::service::AuthService;
use auth_axum::{Auth, CookieConfig, Database, HttpConfig};
use quickstart::model::User;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Ends chromedriver (the process this test started) with the test.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 exchange with chromedriver: the status and the JSON answer's `value`.
/// The answer is read to its `Content-Length` (or its last chunk): chromedriver keeps the
/// connection open.
async fn webdriver(port: u16, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let (status, payload) = loop {
        let n = stream.read(&mut buf).await.unwrap();
        raw.extend_from_slice(&buf[..n]);
        if let Some(answer) = complete(&raw) {
            break answer;
        }
        assert!(n > 0, "chromedriver closed the connection mid-answer");
    };
    let json: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
    (status, json["value"].clone())
}

/// The status and body of a complete HTTP answer in `raw`; `None` while it is incomplete.
fn complete(raw: &[u8]) -> Option<(u16, String)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let rest = &raw[end + 4..];
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let length = head.lines().find_map(|line| {
        line.strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    if let Some(length) = length {
        return (rest.len() >= length).then(|| {
            (
                status,
                String::from_utf8_lossy(&rest[..length]).into_owned(),
            )
        });
    }
    if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = rest;
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).ok()?.trim(), 16)
                    .ok()?;
            if size == 0 {
                return Some((status, String::from_utf8_lossy(&out).into_owned()));
            }
            let chunk = rest.get(line_end + 2..line_end + 2 + size)?;
            out.extend_from_slice(chunk);
            rest = rest.get(line_end + 4 + size..)?;
        }
    }
    Some((status, String::from_utf8_lossy(rest).into_owned()))
}

/// Runs `call` (an expression on `window.passkeyDemo` giving a promise) in the page and
/// waits for its result: WebDriver's async script returns when the promise settles.
async fn run(port: u16, session: &str, call: &str) -> Value {
    let script = format!(
        "const done = arguments[arguments.length - 1];\
         {call}.then(done, e => done({{error: String(e)}}));"
    );
    let (status, value) = webdriver(
        port,
        "POST",
        &format!("/session/{session}/execute/async"),
        Some(json!({"script": script, "args": []})),
    )
    .await;
    assert_eq!(status, 200, "{call}: {value}");
    value
}

fn tools_available() -> bool {
    let ok = std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !ok {
        assert!(
            std::env::var("AUTH_TEST_REQUIRE_ALL_BACKENDS").as_deref() != Ok("1"),
            "{CHROMIUM} and {CHROMEDRIVER} are required (apt-get install chromium chromium-driver)"
        );
        eprintln!("skipped: {CHROMIUM} or {CHROMEDRIVER} is missing");
    }
    ok
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_registered_in_chromium_logs_in_usernameless() {
    if !tools_available() {
        return;
    }
    // The quickstart on a real socket, its relying party `localhost` at that port.
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(&format!("sqlite://{}", dir.path().join("q.db").display())).unwrap();
    quickstart::prepare(&db, &quickstart::migrations())
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://localhost:{port}");
    let service = AuthService::<User>::builder()
        .bcrypt_cost(4)
        .webauthn(WebauthnConfig::new("localhost", &origin, "quickstart").unwrap())
        .build();
    service
        .register(
            &db,
            None,
            &RegisterRequest {
                account: "alice".into(),
                password: "pass-word-1".into(),
                ..RegisterRequest::default()
            },
        )
        .await
        .unwrap();
    let http = HttpConfig {
        cookie: CookieConfig::insecure_dev(),
        ..HttpConfig::default()
    };
    let app = quickstart::app(&Auth::with_http(db.clone(), service, http));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });

    // chromedriver, ready when its /status says so.
    let driver_port = free_port();
    let _driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", driver_port)).await {
            drop(s.shutdown().await);
            let (_, status) = webdriver(driver_port, "GET", "/status", None).await;
            if status["ready"] == true {
                ready = true;
                break;
            }
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "chromedriver did not become ready");

    let profile = tempfile::tempdir().unwrap();
    let (status, created) = webdriver(
        driver_port,
        "POST",
        "/session",
        Some(json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}})),
    )
    .await;
    assert_eq!(status, 200, "new session: {created}");
    let session = created["sessionId"].as_str().unwrap().to_owned();
    let s = |path: &str| format!("/session/{session}{path}");

    let (status, value) = webdriver(
        driver_port,
        "POST",
        &s("/timeouts"),
        Some(json!({"script": 30_000})),
    )
    .await;
    assert_eq!(status, 200, "{value}");
    let (status, authenticator) = webdriver(
        driver_port,
        "POST",
        &s("/webauthn/authenticator"),
        Some(
            json!({"protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
                    "hasUserVerification": true, "isUserVerified": true}),
        ),
    )
    .await;
    assert_eq!(status, 200, "virtual authenticator: {authenticator}");
    let authenticator = authenticator.as_str().unwrap().to_owned();
    let (status, value) = webdriver(
        driver_port,
        "POST",
        &s("/url"),
        Some(json!({"url": format!("{origin}/passkey-demo")})),
    )
    .await;
    assert_eq!(status, 200, "{value}");

    let login = run(
        driver_port,
        &session,
        "passkeyDemo.passwordLogin('alice', 'pass-word-1')",
    )
    .await;
    assert_eq!(login["status"], 200, "{login}");
    let registered = run(driver_port, &session, "passkeyDemo.register('Chromium')").await;
    assert_eq!(registered["status"], 201, "{registered}");
    assert_eq!(registered["body"]["data"]["name"], "Chromium");
    let (status, credentials) = webdriver(
        driver_port,
        "GET",
        &s(&format!(
            "/webauthn/authenticator/{authenticator}/credentials"
        )),
        None,
    )
    .await;
    assert_eq!(status, 200, "{credentials}");
    let credentials = credentials.as_array().unwrap();
    assert_eq!(credentials.len(), 1, "{credentials:?}");
    assert_eq!(credentials[0]["isResidentCredential"], true, "discoverable");

    let out = run(driver_port, &session, "passkeyDemo.logout()").await;
    assert_eq!(out["status"], 200, "{out}");
    let anonymous = run(driver_port, &session, "passkeyDemo.me()").await;
    assert_eq!(anonymous["status"], 401, "{anonymous}");

    let passkey = run(driver_port, &session, "passkeyDemo.passkeyLogin()").await;
    assert_eq!(passkey["status"], 200, "{passkey}");
    assert_eq!(passkey["body"]["data"]["account"], "alice");
    let me = run(driver_port, &session, "passkeyDemo.me()").await;
    assert_eq!(me["status"], 200, "{me}");
    assert_eq!(me["body"]["data"]["account"], "alice");

    let (status, _) = webdriver(driver_port, "DELETE", &s(""), None).await;
    assert_eq!(status, 200);
}
