//! CSRF protection (SPEC C8.5) through the HTTP layer: cookie-authenticated unsafe requests
//! pass only from the application's own origin, an allowed origin, or with the session's
//! double-submit token; everything else is a 403 `csrf` and the action does not happen.

use auth_axum::auth_core::service::AuthService;
use auth_axum::{CookieConfig, CsrfConfig, HttpConfig, OriginScheme};
use auth_tests::http::{Answer, HOST, ORIGIN, TEST_COST, TestApp};
use auth_tests::{TestDb, backend_tests};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use serde_json::{Value, json};

const LOGOUT: &str = "/api/contrib/auth/logout";
const FOREIGN: &str = "http://evil.example";

fn service() -> AuthService<auth_tests::model::v1::User> {
    AuthService::builder().bcrypt_cost(TEST_COST).build()
}

/// An app whose HTTP settings are the tests' defaults changed by `f`.
async fn app_with(t: TestDb, f: impl FnOnce(&mut HttpConfig)) -> TestApp {
    let mut http = TestApp::http_config();
    f(&mut http);
    TestApp::with_config(t, service(), http).await
}

/// A logged-in user: (session token, CSRF token from the login answer's data).
async fn login(app: &TestApp, account: &str) -> (String, String) {
    app.register(account, "pass-word-1").await;
    login_again(app, account).await
}

async fn login_again(app: &TestApp, account: &str) -> (String, String) {
    let a = app
        .post(
            "login",
            json!({"account": account, "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let csrf = a.body["data"]["csrf_token"]
        .as_str()
        .expect("csrf_token in the login answer")
        .to_owned();
    (a.token().expect("session cookie"), csrf)
}

fn session(token: &str) -> String {
    format!("auth_session={token}")
}

/// Whether the session still works.
async fn alive(app: &TestApp, token: &str) -> bool {
    let a = app.call(Method::GET, "/private", None, Some(token)).await;
    a.status == StatusCode::OK
}

/// `POST logout` with exactly these headers.
async fn logout(app: &TestApp, headers: &[(&str, &str)]) -> Answer {
    app.call_bare(Method::POST, LOGOUT, None, headers).await
}

fn assert_refused(a: &Answer, what: &str) {
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{what}: {:?}", a.body);
    assert_eq!(a.body["success"], false, "{what}");
    assert_eq!(a.code(), "csrf", "{what}: {:?}", a.body);
    assert!(a.body["message"].is_string(), "{what}");
}

async fn cross_origin_is_refused_and_nothing_happens(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, _) = login(&app, "alice").await;
    let cookie = session(&token);
    let headers = [("host", HOST), ("origin", FOREIGN), ("cookie", &cookie)];
    assert_refused(&logout(&app, &headers).await, "logout");
    assert!(alive(&app, &token).await, "the session did not end");
    let change = app
        .call_bare(
            Method::POST,
            "/api/contrib/auth/change-password",
            Some(json!({"old_password": "pass-word-1", "new_password": "hijacked-pass"})),
            &headers,
        )
        .await;
    assert_refused(&change, "change-password");
    // The password did not change: the old one still logs in.
    login_again(&app, "alice").await;
    assert!(alive(&app, &token).await);
}

async fn no_origin_no_referer_no_token_is_refused(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, _) = login(&app, "alice").await;
    let cookie = session(&token);
    assert_refused(
        &logout(&app, &[("host", HOST), ("cookie", &cookie)]).await,
        "bare",
    );
    assert!(alive(&app, &token).await);
}

async fn same_origin_origin_is_allowed(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, _) = login(&app, "alice").await;
    let cookie = session(&token);
    let a = logout(
        &app,
        &[("host", HOST), ("origin", ORIGIN), ("cookie", &cookie)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(!alive(&app, &token).await);
}

async fn same_origin_referer_is_allowed_without_origin(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, _) = login(&app, "alice").await;
    let cookie = session(&token);
    let referer = format!("{ORIGIN}/account/settings?tab=1");
    let a = logout(
        &app,
        &[("host", HOST), ("referer", &referer), ("cookie", &cookie)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(!alive(&app, &token).await);
}

async fn cross_site_referer_is_refused(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, _) = login(&app, "alice").await;
    let cookie = session(&token);
    let a = logout(
        &app,
        &[
            ("host", HOST),
            ("referer", "http://evil.example/page"),
            ("cookie", &cookie),
        ],
    )
    .await;
    assert_refused(&a, "foreign referer");
    // Origin wins over a same-origin Referer.
    let a = logout(
        &app,
        &[
            ("host", HOST),
            ("origin", FOREIGN),
            ("referer", "http://localhost/"),
            ("cookie", &cookie),
        ],
    )
    .await;
    assert_refused(&a, "foreign origin, own referer");
    assert!(alive(&app, &token).await);
}

async fn a_configured_allowed_origin_is_allowed(t: TestDb) {
    let app = app_with(t, |h| {
        h.csrf.allowed_origins = vec!["https://App.Example.com:443".into()];
    })
    .await;
    let (token, _) = login(&app, "alice").await;
    let cookie = session(&token);
    let other = logout(
        &app,
        &[
            ("host", HOST),
            ("origin", "https://other.example.com"),
            ("cookie", &cookie),
        ],
    )
    .await;
    assert_refused(&other, "not configured");
    let allowed = logout(
        &app,
        &[
            ("host", HOST),
            ("origin", "https://app.example.com"),
            ("cookie", &cookie),
        ],
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK, "{:?}", allowed.body);
    assert!(!alive(&app, &token).await);
}

async fn a_valid_token_is_allowed_without_origin(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, csrf) = login(&app, "alice").await;
    let cookies = format!("auth_session={token}; auth_csrf={csrf}");
    let a = logout(
        &app,
        &[
            ("host", HOST),
            ("cookie", &cookies),
            ("x-csrf-token", &csrf),
        ],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(!alive(&app, &token).await);
}

async fn a_wrong_token_is_refused(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, csrf) = login(&app, "alice").await;
    let cookies = format!("auth_session={token}; auth_csrf={csrf}");
    let wrong = logout(
        &app,
        &[
            ("host", HOST),
            ("cookie", &cookies),
            ("x-csrf-token", "not-the-token"),
        ],
    )
    .await;
    assert_refused(&wrong, "wrong header");
    // A planted cookie echoed in the header (cookie tossing) is not this session's token.
    let planted = format!("auth_session={token}; auth_csrf=planted");
    let tossed = logout(
        &app,
        &[
            ("host", HOST),
            ("cookie", &planted),
            ("x-csrf-token", "planted"),
        ],
    )
    .await;
    assert_refused(&tossed, "planted cookie");
    // The right header without the cookie is not a double submit.
    let alone = logout(
        &app,
        &[
            ("host", HOST),
            ("cookie", &session(&token)),
            ("x-csrf-token", &csrf),
        ],
    )
    .await;
    assert_refused(&alone, "header without cookie");
    assert!(alive(&app, &token).await);
}

async fn a_token_from_another_session_is_refused(t: TestDb) {
    let app = TestApp::new(t).await;
    let (victim, _) = login(&app, "victim").await;
    let (_, attackers) = login(&app, "mallory").await;
    let (_, other_of_victim) = login_again(&app, "victim").await;
    for foreign in [&attackers, &other_of_victim] {
        let cookies = format!("auth_session={victim}; auth_csrf={foreign}");
        let a = logout(
            &app,
            &[
                ("host", HOST),
                ("cookie", &cookies),
                ("x-csrf-token", foreign),
            ],
        )
        .await;
        assert_refused(&a, "another session's token");
    }
    assert!(alive(&app, &victim).await);
}

async fn null_and_malformed_origins_are_refused(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, _) = login(&app, "alice").await;
    let cookie = session(&token);
    for origin in [
        "null",
        "http://[::1",
        "localhost",
        "http://localhost/path",
        "",
    ] {
        let a = logout(
            &app,
            &[("host", HOST), ("origin", origin), ("cookie", &cookie)],
        )
        .await;
        assert_refused(&a, origin);
    }
    let a = logout(
        &app,
        &[
            ("host", HOST),
            ("referer", "::not a url::"),
            ("cookie", &cookie),
        ],
    )
    .await;
    assert_refused(&a, "malformed referer");
    // Not UTF-8: still a clean 403.
    let req = Request::post(LOGOUT)
        .header("host", HOST)
        .header("cookie", &cookie)
        .header(
            "origin",
            HeaderValue::from_bytes(b"http://l\xffcalhost").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    assert_refused(&app.send(req).await, "non-UTF-8 origin");
    assert!(alive(&app, &token).await);
}

async fn a_scheme_or_port_mismatch_is_refused(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, _) = login(&app, "alice").await;
    let cookie = session(&token);
    for (host, origin) in [
        (HOST, "https://localhost"),
        (HOST, "http://localhost:8080"),
        ("localhost:3000", "http://localhost"),
        ("localhost:3000", "https://localhost:3000"),
    ] {
        let a = logout(
            &app,
            &[("host", host), ("origin", origin), ("cookie", &cookie)],
        )
        .await;
        assert_refused(&a, &format!("{host} / {origin}"));
    }
    assert!(alive(&app, &token).await);
    let a = logout(
        &app,
        &[
            ("host", "localhost:3000"),
            ("origin", "http://localhost:3000"),
            ("cookie", &cookie),
        ],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
}

/// With `Secure` on and no `Domain` (the production defaults) the cookies carry the
/// `__Host-` prefix, which a browser takes only from this exact host over HTTPS, with
/// `Path=/`: a sibling domain can neither plant nor overwrite them. The unprefixed name is
/// not read.
async fn secure_cookies_carry_the_host_prefix(t: TestDb) {
    let app = app_with(t, |h| h.cookie = CookieConfig::default()).await;
    app.register("hana", "pass-word-1").await;
    let a = app
        .post(
            "login",
            json!({"account": "hana", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    for name in ["__Host-auth_session", "__Host-auth_csrf"] {
        let set = a
            .cookie(name)
            .unwrap_or_else(|| panic!("{name} in {:?}", a.set_cookies));
        assert!(set.contains("Secure") && set.contains("Path=/"), "{set}");
        assert!(!set.contains("Domain"), "{set}");
    }
    assert!(a.token().is_none(), "no unprefixed session cookie");
    let token = a.cookie_value("__Host-auth_session").unwrap();
    let get = |cookie: String| {
        let app = &app;
        async move {
            app.call_bare(
                Method::GET,
                "/private",
                None,
                &[("host", HOST), ("cookie", &cookie)],
            )
            .await
            .status
        }
    };
    assert_eq!(
        get(format!("__Host-auth_session={token}")).await,
        StatusCode::OK
    );
    assert_eq!(
        get(format!("auth_session={token}")).await,
        StatusCode::UNAUTHORIZED,
        "the unprefixed name is not read"
    );
    // With a Domain (shared across subdomains) no prefix is possible: the plain names.
    let shared = app_with(TestDb::sqlite().await, |h| {
        h.cookie = CookieConfig {
            domain: Some("example.com".into()),
            ..CookieConfig::default()
        }
    })
    .await;
    shared.register("ivy", "pass-word-1").await;
    let a = shared
        .post(
            "login",
            json!({"account": "ivy", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert!(a.token().is_some(), "{:?}", a.set_cookies);
}

async fn the_own_scheme_is_https_with_a_secure_cookie_or_as_configured(t: TestDb) {
    // The plain names (this test reads them): the prefix is the next test's concern.
    let app = app_with(t, |h| {
        h.cookie = CookieConfig {
            host_prefix: false,
            ..CookieConfig::default()
        }
    })
    .await;
    let (token, _) = login(&app, "alice").await;
    let cookie = session(&token);
    let http = logout(
        &app,
        &[("host", HOST), ("origin", ORIGIN), ("cookie", &cookie)],
    )
    .await;
    assert_refused(&http, "http origin, Secure cookie");
    let https = app
        .call_bare(
            Method::POST,
            "/private",
            None,
            &[
                ("host", HOST),
                ("origin", "https://localhost"),
                ("cookie", &cookie),
            ],
        )
        .await;
    assert_eq!(https.status, StatusCode::OK, "{:?}", https.body);

    // An explicit scheme wins over the cookie: https behind a proxy with a plain cookie.
    let forced = app_with(TestDb::sqlite().await, |h| {
        h.csrf.scheme = Some(OriginScheme::Https)
    })
    .await;
    let (token, _) = login(&forced, "bob").await;
    let cookie = session(&token);
    let http = logout(
        &forced,
        &[("host", HOST), ("origin", ORIGIN), ("cookie", &cookie)],
    )
    .await;
    assert_refused(&http, "http origin, https configured");
    let https = logout(
        &forced,
        &[
            ("host", HOST),
            ("origin", "https://localhost"),
            ("cookie", &cookie),
        ],
    )
    .await;
    assert_eq!(https.status, StatusCode::OK, "{:?}", https.body);
}

/// A bearer header exempts a request only when it carries no session cookie: a junk
/// `Authorization: Bearer` beside the cookie from a foreign origin is refused.
async fn bearer_header_beside_the_cookie_exempts_nothing(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, _) = login(&app, "alice").await;
    let cookie = session(&token);
    let foreign = [("host", HOST), ("origin", FOREIGN), ("cookie", &cookie)];
    let refused = app
        .call_bare(Method::POST, "/private", None, &foreign)
        .await;
    assert_refused(&refused, "without bearer");
    let mut with_bearer = foreign.to_vec();
    with_bearer.push(("authorization", "Bearer junk"));
    let a = app
        .call_bare(Method::POST, "/private", None, &with_bearer)
        .await;
    assert_refused(&a, "junk bearer beside the cookie");
    // Without the cookie there is no session to ride: not a CSRF matter (401 at the guard).
    let bare = [
        ("host", HOST),
        ("origin", FOREIGN),
        ("authorization", "Bearer junk"),
    ];
    let a = app.call_bare(Method::POST, "/private", None, &bare).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
}

async fn safe_methods_from_a_foreign_origin_are_allowed(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, _) = login(&app, "alice").await;
    let cookie = session(&token);
    let headers = [("host", HOST), ("origin", FOREIGN), ("cookie", &cookie)];
    for path in [
        "/private",
        "/api/contrib/auth/me",
        "/api/contrib/auth/sessions",
    ] {
        let a = app.call_bare(Method::GET, path, None, &headers).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {:?}", a.body);
    }
    let head = app
        .call_bare(Method::HEAD, "/private", None, &headers)
        .await;
    assert_eq!(head.status, StatusCode::OK);
}

async fn requests_without_a_session_cookie_are_not_checked(t: TestDb) {
    let app = TestApp::new(t).await;
    let register = app
        .call_bare(
            Method::POST,
            "/api/contrib/auth/register",
            Some(json!({"account": "alice", "password": "pass-word-1"})),
            &[("host", HOST), ("origin", FOREIGN)],
        )
        .await;
    assert_eq!(register.status, StatusCode::CREATED, "{:?}", register.body);
    let body = json!({"account": "alice", "password": "pass-word-1"});
    let login = app
        .call_bare(
            Method::POST,
            "/api/contrib/auth/login",
            Some(body.clone()),
            &[("host", HOST), ("origin", FOREIGN)],
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    let token = login.token().unwrap();
    // With a session cookie, the same login is checked.
    let cookie = session(&token);
    let again = app
        .call_bare(
            Method::POST,
            "/api/contrib/auth/login",
            Some(body),
            &[("host", HOST), ("origin", FOREIGN), ("cookie", &cookie)],
        )
        .await;
    assert_refused(&again, "login with a session cookie");
    assert!(alive(&app, &token).await, "the old session was not ended");
}

async fn disabled_by_config_allows_everything(t: TestDb) {
    let app = app_with(t, |h| {
        h.csrf = CsrfConfig {
            enabled: false,
            ..CsrfConfig::default()
        }
    })
    .await;
    app.register("alice", "pass-word-1").await;
    let login = app
        .post(
            "login",
            json!({"account": "alice", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(
        login.cookie("auth_csrf").is_none(),
        "no CSRF cookie when off"
    );
    assert!(login.body["data"].get("csrf_token").is_none());
    let token = login.token().unwrap();
    let cookie = session(&token);
    let a = logout(
        &app,
        &[("host", HOST), ("origin", FOREIGN), ("cookie", &cookie)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(!alive(&app, &token).await);
}

async fn the_cookie_is_set_on_login_and_cleared_on_logout(t: TestDb) {
    let app = app_with(t, |h| {
        h.cookie.domain = Some("localhost".into());
        h.csrf.cookie_name = "my_csrf".into();
    })
    .await;
    app.register("alice", "pass-word-1").await;
    let login = app
        .post(
            "login",
            json!({"account": "alice", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    let set = login.cookie("my_csrf").expect("CSRF cookie set at login");
    assert!(!set.contains("HttpOnly"), "scripts must read it: {set}");
    for attribute in ["SameSite=Lax", "Path=/", "Domain=localhost", "Max-Age="] {
        assert!(set.contains(attribute), "{attribute} missing from {set}");
    }
    assert!(
        !set.contains("Secure"),
        "not Secure with insecure_dev: {set}"
    );
    let session_max_age = |c: &str| {
        c.split(';')
            .map(str::trim)
            .find(|a| a.starts_with("Max-Age="))
            .map(str::to_owned)
    };
    assert_eq!(
        session_max_age(set),
        session_max_age(login.set_cookie.as_deref().unwrap()),
        "same Max-Age as the session cookie"
    );
    let csrf = login.cookie_value("my_csrf").unwrap();
    assert_eq!(
        login.body["data"]["csrf_token"],
        Value::from(csrf.clone()),
        "the answer carries the same token"
    );
    assert!(csrf.len() >= 43, "a SHA-256 in base64url: {csrf}");

    let token = login.token().unwrap();
    // The renamed cookie is the one checked.
    let cookies = format!("auth_session={token}; my_csrf={csrf}");
    let out = logout(
        &app,
        &[
            ("host", HOST),
            ("cookie", &cookies),
            ("x-csrf-token", &csrf),
        ],
    )
    .await;
    assert_eq!(out.status, StatusCode::OK, "{:?}", out.body);
    let cleared = out
        .cookie("my_csrf")
        .expect("CSRF cookie cleared at logout");
    assert!(
        cleared.starts_with("my_csrf=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert!(
        cleared.contains("Path=/") && cleared.contains("Domain=localhost"),
        "{cleared}"
    );
}

async fn an_application_route_is_protected(t: TestDb) {
    let app = TestApp::new(t).await;
    let (token, csrf) = login(&app, "alice").await;
    let cookie = session(&token);
    let foreign = app
        .call_bare(
            Method::POST,
            "/private",
            None,
            &[("host", HOST), ("origin", FOREIGN), ("cookie", &cookie)],
        )
        .await;
    assert_refused(&foreign, "app route, foreign origin");
    let own = app.call(Method::POST, "/private", None, Some(&token)).await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.body);
    let cookies = format!("auth_session={token}; auth_csrf={csrf}");
    let with_token = app
        .call_bare(
            Method::POST,
            "/private",
            None,
            &[
                ("host", HOST),
                ("cookie", &cookies),
                ("x-csrf-token", &csrf),
            ],
        )
        .await;
    assert_eq!(with_token.status, StatusCode::OK, "{:?}", with_token.body);
}

backend_tests!(
    secure_cookies_carry_the_host_prefix,
    cross_origin_is_refused_and_nothing_happens,
    no_origin_no_referer_no_token_is_refused,
    same_origin_origin_is_allowed,
    same_origin_referer_is_allowed_without_origin,
    cross_site_referer_is_refused,
    a_configured_allowed_origin_is_allowed,
    a_valid_token_is_allowed_without_origin,
    a_wrong_token_is_refused,
    a_token_from_another_session_is_refused,
    null_and_malformed_origins_are_refused,
    a_scheme_or_port_mismatch_is_refused,
    the_own_scheme_is_https_with_a_secure_cookie_or_as_configured,
    bearer_header_beside_the_cookie_exempts_nothing,
    safe_methods_from_a_foreign_origin_are_allowed,
    requests_without_a_session_cookie_are_not_checked,
    disabled_by_config_allows_everything,
    the_cookie_is_set_on_login_and_cleared_on_logout,
    an_application_route_is_protected,
);
