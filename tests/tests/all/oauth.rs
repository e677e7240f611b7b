//! OpenID Connect and OAuth2 login over HTTP on every backend (issue 16, SPEC C11.1),
//! against a real OpenID provider process: `tests/oidc/mock_provider.mjs`
//! (oauth2-mock-server: discovery, JWKS, RS256 ID tokens, PKCE checked at its token
//! endpoint), started once per test binary. Each case has its own client id, through which
//! it tells the provider who logs in and which fault to inject.
//!
//! The browser is played by hand: our `authorize` answer (302 and the binding cookie), the
//! provider's authorization endpoint (302 back with `code` and `state`), our callback.

use auth_axum::UserStore;
use auth_axum::auth_core::audit::{self, EventFilter, EventType};
use auth_axum::auth_core::identity;
use auth_axum::auth_core::mfa::{MfaConfig, SecretKey};
use auth_axum::auth_core::oauth::{OAuthConfig, ProviderConfig};
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::session;
use auth_tests::http::{Answer, HOST, TEST_COST, TestApp};
use auth_tests::model::v1::User;
use auth_tests::oidc::{Ports, client_id, provider, scenario};
use auth_tests::{TestDb, backend_tests};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

/// The public URL the router is mounted at in these tests.
const PUBLIC_URL: &str = "http://localhost/api/contrib/auth/";
const AUTH: &str = "/api/contrib/auth";

fn oidc_provider(ports: Ports, client: &str) -> ProviderConfig {
    ProviderConfig::oidc(
        "mock",
        &format!("http://127.0.0.1:{}/", ports.oidc),
        client,
        Some("client-secret"),
    )
    .unwrap()
}

struct Flow {
    app: TestApp,
    ports: Ports,
    client: String,
}

/// The location of a 302.
fn location(a: &Answer) -> String {
    assert_eq!(a.status, StatusCode::FOUND, "{:?}", a.body);
    a.headers[header::LOCATION].to_str().unwrap().to_owned()
}

impl Flow {
    async fn new(
        t: TestDb,
        case: &str,
        tweak: impl FnOnce(OAuthConfig) -> OAuthConfig,
    ) -> Option<Flow> {
        let ports = provider()?;
        let client = client_id(case);
        let config = OAuthConfig::new(PUBLIC_URL)
            .unwrap()
            .provider(oidc_provider(ports, &client))
            .unwrap()
            .provider(
                ProviderConfig::github_at(
                    &format!("http://127.0.0.1:{}", ports.github),
                    &format!("http://127.0.0.1:{}", ports.control),
                    &client,
                    "gh-secret",
                )
                .unwrap(),
            )
            .unwrap();
        let service = AuthService::builder()
            .bcrypt_cost(TEST_COST)
            .mfa(MfaConfig::new(SecretKey::generate(), "Test"))
            .oauth(tweak(config))
            .unwrap()
            .build();
        let app = TestApp::with_service(t, service).await;
        Some(Flow { app, ports, client })
    }

    async fn scenario(&self, value: Value) {
        scenario(self.ports, &self.client, value).await;
    }

    /// `GET <path>` with these cookies (`name=value; ...`).
    async fn get(&self, path: &str, cookies: &str) -> Answer {
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("host", HOST);
        if !cookies.is_empty() {
            req = req.header("cookie", cookies);
        }
        self.app.send(req.body(Body::empty()).unwrap()).await
    }

    /// Starts a login: the provider URL and the binding cookie.
    async fn start(&self, provider: &str, next: &str, cookies: &str) -> (String, String) {
        let a = self
            .get(
                &format!("{AUTH}/oauth/{provider}/authorize?next={next}"),
                cookies,
            )
            .await;
        let url = location(&a);
        let binding = a
            .cookie_value("auth_oauth")
            .expect("the binding cookie is set");
        let set = a.cookie("auth_oauth").unwrap();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        (url, binding)
    }

    /// The provider's answer to the authorization request: our callback's path and query.
    async fn at_provider(&self, url: &str) -> String {
        let answer = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(url)
            .send()
            .await
            .expect("the provider answers");
        assert_eq!(answer.status().as_u16(), 302, "{:?}", answer.text().await);
        let back = answer.headers()["location"].to_str().unwrap().to_owned();
        let back = back
            .strip_prefix("http://localhost")
            .unwrap_or_else(|| panic!("back to us: {back}"))
            .to_owned();
        assert!(back.starts_with(&format!("{AUTH}/oauth/")), "{back}");
        back
    }

    /// A whole login at `provider` to `next`: the callback's answer.
    async fn login(&self, provider: &str, next: &str) -> Answer {
        let (url, binding) = self.start(provider, next, "").await;
        let back = self.at_provider(&url).await;
        self.get(&back, &format!("auth_oauth={binding}")).await
    }

    /// `POST <path>` from the page's own origin (a form's submit) with these cookies.
    async fn post(&self, path: &str, cookies: &str) -> Answer {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("host", HOST)
            .header("origin", auth_tests::http::ORIGIN);
        if !cookies.is_empty() {
            req = req.header("cookie", cookies);
        }
        self.app.send(req.body(Body::empty()).unwrap()).await
    }

    /// Starts linking `provider` in the session `token` (a form's POST) and goes through
    /// the provider: the callback's path and query, and the binding cookie.
    async fn link_start(&self, provider: &str, next: &str, token: &str) -> (String, String) {
        let a = self
            .post(
                &format!("{AUTH}/oauth/{provider}/link?next={next}"),
                &format!("auth_session={token}"),
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{:?}", a.body);
        let binding = a.cookie_value("auth_oauth").expect("the binding cookie");
        let to = a.headers[header::LOCATION].to_str().unwrap().to_owned();
        (self.at_provider(&to).await, binding)
    }

    /// A login that must succeed: the session token.
    async fn logged_in(&self, next: &str) -> String {
        let a = self.login("mock", next).await;
        assert_eq!(location(&a), next);
        a.token().expect("a session cookie")
    }

    async fn me(&self, token: &str) -> Value {
        let a = self.app.get("me", Some(token)).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        a.body["data"].clone()
    }

    async fn users(&self) -> i64 {
        let mut conn = self.app.t.db.conn().await.unwrap();
        User::count(&mut conn, &Default::default()).await.unwrap()
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

/// A refused callback: 400 (or `status`) with `code`, no session cookie.
fn refused(a: &Answer, status: StatusCode, code: &str) {
    assert_eq!((a.status, a.code()), (status, code), "{:?}", a.body);
    assert!(a.token().is_none(), "no session after a refusal");
}

async fn full_flow_creates_then_reuses_the_user(t: TestDb) {
    let Some(f) = Flow::new(t, "full", |c| c).await else {
        return;
    };
    f.scenario(json!({"sub": "sub-alice", "claims": {
        "email": "alice@example.test", "email_verified": true, "preferred_username": "alice"}}))
        .await;
    let (url, _) = f.start("mock", "/app", "").await;
    // What the provider is asked: code flow, PKCE S256, a nonce, our callback.
    let asked = url::Url::parse(&url).unwrap();
    let q: std::collections::HashMap<_, _> = asked.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["nonce"].len() >= 16 && q["state"].len() >= 16);
    assert_eq!(
        q["redirect_uri"],
        format!("{PUBLIC_URL}oauth/mock/callback")
    );
    assert!(q["scope"].split(' ').any(|s| s == "openid"));

    let users_before = f.users().await;
    let token = f.logged_in("/app").await;
    let me = f.me(&token).await;
    assert_eq!(me["account"], "alice");
    assert_eq!(me["email"], "alice@example.test");
    assert_eq!(me["is_verified"], true);
    assert_eq!(f.users().await, users_before + 1);
    let a = f.app.get("identities", Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let ids = a.body["data"].as_array().unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        (ids[0]["provider"].as_str(), ids[0]["subject"].as_str()),
        (Some("mock"), Some("sub-alice"))
    );
    // The user has no password: a password login with anything fails.
    let a = f
        .app
        .post("login", json!({"account": "alice", "password": "!"}), None)
        .await;
    assert_eq!(a.code(), "invalid_credentials");

    // Again: the same user, a new session.
    let again = f.logged_in("/other").await;
    assert_ne!(again, token);
    assert_eq!(f.me(&again).await["id"], me["id"]);
    assert_eq!(f.users().await, users_before + 1);
    let logins = f.events(EventType::LoginSuccess).await;
    assert_eq!(logins.len(), 2);
    assert!(logins.iter().all(|e| e.detail["platform"] == "mock"));
    assert_eq!(f.events(EventType::IdentityLinked).await.len(), 1);

    // Seed 000's alias.
    let a = f
        .get(
            &format!("{AUTH}/oauth-login-redirect?platform=mock&next=/x"),
            "",
        )
        .await;
    assert!(location(&a).starts_with(&format!("http://127.0.0.1:{}/authorize?", f.ports.oidc)));
}

/// The binding cookie is a fresh value at every authorization: a value planted in the
/// browser (set from a sibling domain, say) is never adopted, so it binds nothing.
async fn a_planted_binding_is_never_reused(t: TestDb) {
    let Some(f) = Flow::new(t, "planted", |c| c).await else {
        return;
    };
    f.scenario(json!({"sub": "sub-p"})).await;
    let planted = "p".repeat(43);
    let (url, binding) = f.start("mock", "/", &format!("auth_oauth={planted}")).await;
    assert_ne!(binding, planted, "a fresh binding");
    let back = f.at_provider(&url).await;
    refused(
        &f.get(&back, &format!("auth_oauth={planted}")).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    );
    // Two starts in one browser: each its own value.
    let (_, again) = f.start("mock", "/", &format!("auth_oauth={binding}")).await;
    assert_ne!(again, binding);
}

async fn state_is_single_use_and_bound_to_the_browser(t: TestDb) {
    let Some(f) = Flow::new(t, "state", |c| c).await else {
        return;
    };
    f.scenario(json!({"sub": "sub-s"})).await;
    let users_before = f.users().await;
    let (url, binding) = f.start("mock", "/app", "").await;
    let back = f.at_provider(&url).await;
    // Another browser (its own binding), no binding, a forged state: refused, and the
    // real browser's login still works afterwards.
    let (_, other) = f.start("mock", "/", "").await;
    refused(
        &f.get(&back, &format!("auth_oauth={other}")).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    );
    refused(
        &f.get(&back, "").await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    );
    let forged = back.replace("state=", "state=x");
    refused(
        &f.get(&forged, &format!("auth_oauth={binding}")).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    );
    // Another provider's callback with this state.
    let cross = back.replace("/oauth/mock/", "/oauth/github/");
    refused(
        &f.get(&cross, &format!("auth_oauth={binding}")).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    );
    let a = f.get(&back, &format!("auth_oauth={binding}")).await;
    assert_eq!(location(&a), "/app");
    assert!(a.token().is_some());
    // Replayed: the state was used.
    refused(
        &f.get(&back, &format!("auth_oauth={binding}")).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    );
    assert_eq!(f.users().await, users_before + 1);
    let failures = f.events(EventType::LoginFailure).await;
    assert!(
        failures
            .iter()
            .all(|e| e.detail["reason"] == "invalid_state")
    );
    assert_eq!(failures.len(), 5);

    // Two callbacks racing with one state: one session.
    let (url, binding) = f.start("mock", "/app", "").await;
    let back = f.at_provider(&url).await;
    let cookie = format!("auth_oauth={binding}");
    let (a, b) = tokio::join!(f.get(&back, &cookie), f.get(&back, &cookie));
    let sessions = [&a, &b].iter().filter(|x| x.token().is_some()).count();
    assert_eq!(sessions, 1, "{:?} / {:?}", a.body, b.body);
}

async fn an_expired_state_is_refused(t: TestDb) {
    let Some(f) = Flow::new(t, "expired", |c| c.state_ttl(std::time::Duration::ZERO)).await else {
        return;
    };
    f.scenario(json!({"sub": "sub-e"})).await;
    refused(
        &f.login("mock", "/").await,
        StatusCode::BAD_REQUEST,
        "state_expired",
    );
}

/// `authorize` is public: each start sweeps the expired states, so a flood of starts
/// leaves at most one state lifetime of rows (here a zero lifetime: one row).
async fn starts_sweep_the_expired_states(t: TestDb) {
    use auth_axum::auth_core::schema::auth_oauth_states as st;
    use auth_axum::auth_core::with_conn;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let Some(f) = Flow::new(t, "sweep", |c| c.state_ttl(std::time::Duration::ZERO)).await else {
        return;
    };
    for _ in 0..5 {
        f.start("mock", "/", "").await;
    }
    let mut conn = f.app.t.db.conn().await.unwrap();
    let rows: i64 = with_conn!(&mut conn, |c| st::table.count().get_result(c).await).unwrap();
    assert_eq!(rows, 1, "only the latest start's row");
}

/// The query parameter `key` of the local URL `path`.
fn query_param(path: &str, key: &str) -> String {
    url::Url::parse(&format!("http://localhost{path}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} in {path}"))
        .1
        .into_owned()
}

async fn the_provider_checks_pkce(t: TestDb) {
    let Some(f) = Flow::new(t, "pkce", |c| c).await else {
        return;
    };
    f.scenario(json!({"sub": "sub-victim"})).await;
    // An attacker injects the code of one login (the victim's) into their own login: our
    // server sends their login's PKCE verifier, which the provider refuses.
    let (victim_url, _) = f.start("mock", "/", "").await;
    let victim_back = f.at_provider(&victim_url).await;
    let stolen_code = query_param(&victim_back, "code");
    let (own_url, own_binding) = f.start("mock", "/", "").await;
    let own_back = f.at_provider(&own_url).await;
    let own_state = query_param(&own_back, "state");
    let injected = format!("{AUTH}/oauth/mock/callback?code={stolen_code}&state={own_state}");
    let a = f.get(&injected, &format!("auth_oauth={own_binding}")).await;
    refused(&a, StatusCode::BAD_REQUEST, "provider_error");
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("invalid_request"),
        "{:?}",
        a.body
    );
}

async fn bad_id_tokens_are_refused(t: TestDb) {
    let Some(f) = Flow::new(t, "idtoken", |c| c).await else {
        return;
    };
    let users_before = f.users().await;
    for (tamper, code, what) in [
        ("aud", "invalid_id_token", "audience"),
        ("signature", "invalid_id_token", "signature"),
        ("iss", "invalid_id_token", "issuer"),
        ("exp", "invalid_id_token", "expired"),
        ("nonce", "invalid_nonce", "nonce"),
    ] {
        f.scenario(json!({"sub": format!("sub-{tamper}"), "tamper": tamper}))
            .await;
        let a = f.login("mock", "/").await;
        refused(&a, StatusCode::BAD_REQUEST, code);
        assert!(
            a.body["message"].as_str().unwrap().contains(what),
            "{tamper}: {:?}",
            a.body
        );
    }
    assert_eq!(
        f.users().await,
        users_before,
        "no user from a refused token"
    );
    let mut conn = f.app.t.db.conn().await.unwrap();
    assert!(
        identity::find(&mut conn, "mock", "sub-aud")
            .await
            .unwrap()
            .is_none()
    );
}

async fn provider_errors_are_refused(t: TestDb) {
    let Some(f) = Flow::new(t, "perror", |c| c).await else {
        return;
    };
    f.scenario(json!({"sub": "s", "authorize_error": "access_denied"}))
        .await;
    let a = f.login("mock", "/").await;
    refused(&a, StatusCode::BAD_REQUEST, "provider_error");
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("access_denied")
    );
    f.scenario(json!({"sub": "s", "token_error": "invalid_grant"}))
        .await;
    let a = f.login("mock", "/").await;
    refused(&a, StatusCode::BAD_REQUEST, "provider_error");
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("invalid_grant")
    );
}

async fn next_must_be_a_local_path(t: TestDb) {
    let Some(f) = Flow::new(t, "next", |c| c).await else {
        return;
    };
    for bad in [
        "//evil.example/x",
        "https://evil.example/",
        "/%5Cevil.example",
        "evil",
    ] {
        let a = f
            .get(&format!("{AUTH}/oauth/mock/authorize?next={bad}"), "")
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            "{bad}"
        );
        assert!(a.cookie("auth_oauth").is_none());
    }
    let a = f.get(&format!("{AUTH}/oauth/nope/authorize"), "").await;
    assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"));
    // No next: home.
    f.scenario(json!({"sub": "sub-n"})).await;
    let (url, binding) = f.start("mock", "", "").await;
    let back = f.at_provider(&url).await;
    assert_eq!(
        location(&f.get(&back, &format!("auth_oauth={binding}")).await),
        "/"
    );
}

/// Registers `account` with `email`, marked verified or not.
async fn local_user(app: &TestApp, account: &str, email: &str, verified: bool) -> i64 {
    let a = app
        .post(
            "register",
            json!({"account": account, "password": "pass-word-1", "email": email}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let mut conn = app.t.db.conn().await.unwrap();
    let mut user = User::find_by_account(&mut conn, account)
        .await
        .unwrap()
        .unwrap();
    user.is_verified = verified;
    user.update_fields(&mut conn, &["is_verified"])
        .await
        .unwrap();
    user.id
}

async fn linking_by_email_follows_the_rules(t: TestDb) {
    let Some(f) = Flow::new(t, "email", |c| c.link_verified_email(true)).await else {
        return;
    };
    let alice = local_user(&f.app, "alice", "alice@example.test", true).await;
    let carol = local_user(&f.app, "carol", "carol@example.test", false).await;
    // Unverified at the provider: not alice.
    f.scenario(
        json!({"sub": "p1", "claims": {"email": "alice@example.test", "email_verified": false}}),
    )
    .await;
    let token = f.logged_in("/").await;
    assert_ne!(f.me(&token).await["id"], alice);
    // Verified at the provider, verified here: alice.
    f.scenario(
        json!({"sub": "p2", "claims": {"email": "alice@example.test", "email_verified": true}}),
    )
    .await;
    let token = f.logged_in("/").await;
    assert_eq!(f.me(&token).await["id"], alice);
    // Verified at the provider, unverified here (someone may have registered the victim's
    // address): not carol.
    f.scenario(
        json!({"sub": "p3", "claims": {"email": "carol@example.test", "email_verified": true}}),
    )
    .await;
    let token = f.logged_in("/").await;
    assert_ne!(f.me(&token).await["id"], carol);
    let linked = f.events(EventType::IdentityLinked).await;
    assert!(linked.iter().any(|e| e.detail["by"] == "email"));
}

async fn linking_by_email_is_off_by_default(t: TestDb) {
    let Some(f) = Flow::new(t, "emailoff", |c| c).await else {
        return;
    };
    let alice = local_user(&f.app, "alice", "alice@example.test", true).await;
    f.scenario(json!({"sub": "q1", "claims": {"email": "alice@example.test", "email_verified": true, "preferred_username": "alice"}})).await;
    let token = f.logged_in("/").await;
    let me = f.me(&token).await;
    assert_ne!(me["id"], alice);
    // The name was taken: another one; the address is alice's: not copied.
    assert_ne!(me["account"], "alice");
    assert!(me["account"].as_str().unwrap().starts_with("alice-"));
    assert_eq!(me["email"], Value::Null);
}

/// An address the provider did not verify does not become the new account's: whoever
/// claimed `victim@example.test` at a provider that does not check cannot sit in an account
/// that later receives the victim's mail (and their password-reset links).
async fn an_unverified_address_is_not_stored(t: TestDb) {
    let Some(f) = Flow::new(t, "unverified", |c| c).await else {
        return;
    };
    f.scenario(json!({"sub": "u1", "claims": {"email": "victim@example.test", "email_verified": false, "preferred_username": "claimer"}})).await;
    let token = f.logged_in("/").await;
    let me = f.me(&token).await;
    assert_eq!(me["email"], Value::Null, "{me:?}");
    // Verified: stored, and marked so.
    f.scenario(json!({"sub": "u2", "claims": {"email": "owner@example.test", "email_verified": true, "preferred_username": "owner"}})).await;
    let token = f.logged_in("/").await;
    let me = f.me(&token).await;
    assert_eq!(me["email"], "owner@example.test");
    assert_eq!(me["is_verified"], true);
}

async fn no_user_is_created_when_configured_so(t: TestDb) {
    let Some(f) = Flow::new(t, "nocreate", |c| c.create_users(false)).await else {
        return;
    };
    f.scenario(json!({"sub": "nobody"})).await;
    let before = f.users().await;
    refused(
        &f.login("mock", "/").await,
        StatusCode::FORBIDDEN,
        "no_account",
    );
    assert_eq!(f.users().await, before);
}

async fn link_and_unlink(t: TestDb) {
    let Some(f) = Flow::new(t, "link", |c| c).await else {
        return;
    };
    local_user(&f.app, "alice", "alice@example.test", true).await;
    let alice = f.app.login("alice", "pass-word-1").await;
    local_user(&f.app, "bob", "bob@example.test", true).await;
    let bob = f.app.login("bob", "pass-word-1").await;
    f.scenario(json!({"sub": "alice-at-mock"})).await;
    let users_before = f.users().await;

    // alice links: no new session, no new user.
    let session = format!("auth_session={alice}");
    let (back, binding) = f.link_start("mock", "/settings", &alice).await;
    // Finished in bob's session: refused.
    refused(
        &f.get(&back, &format!("auth_oauth={binding}; auth_session={bob}"))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    );
    // Start again, finish in alice's.
    let (back, binding) = f.link_start("mock", "/settings", &alice).await;
    let a = f
        .get(&back, &format!("auth_oauth={binding}; {session}"))
        .await;
    assert_eq!(location(&a), "/settings");
    assert!(a.token().is_none(), "linking opens no session");
    assert_eq!(f.users().await, users_before);
    // Now the provider logs alice in.
    let token = f.logged_in("/").await;
    assert_eq!(f.me(&token).await["account"], "alice");

    // bob cannot take alice's identity.
    let bob_session = format!("auth_session={bob}");
    let (back, binding) = f.link_start("mock", "/", &bob).await;
    refused(
        &f.get(&back, &format!("auth_oauth={binding}; {bob_session}"))
            .await,
        StatusCode::CONFLICT,
        "identity_taken",
    );
    // A cross-site page cannot start a link in bob's browser (the CSRF check), nor can a
    // GET (a link or an image).
    let cross = f
        .app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri(format!("{AUTH}/oauth/mock/link"))
                .header("host", HOST)
                .header("origin", "https://evil.example")
                .header("cookie", &bob_session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (cross.status, cross.code()),
        (StatusCode::FORBIDDEN, "csrf"),
        "{:?}",
        cross.body
    );
    let a = f
        .get(&format!("{AUTH}/oauth/mock/link"), &bob_session)
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(a.cookie("auth_oauth").is_none());
    // Linking needs a recent login; an API-key-less anonymous request is refused.
    let a = f.post(&format!("{AUTH}/oauth/mock/link"), "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    {
        // bob's login an hour old (and the session caches told, as any session change does).
        use auth_axum::auth_core::schema::auth_sessions as s;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let mut conn = f.app.t.db.conn().await.unwrap();
        let bob_id = User::find_by_account(&mut conn, "bob")
            .await
            .unwrap()
            .unwrap()
            .id;
        let old = session::now() - time::Duration::hours(1);
        auth_axum::auth_core::with_conn!(&mut conn, |c| {
            diesel::update(s::table.filter(s::user_id.eq(bob_id)))
                .set(s::created_at.eq(old))
                .execute(c)
                .await
        })
        .unwrap();
        auth_axum::auth_core::revocation::user_changed(&mut conn, bob_id)
            .await
            .unwrap();
    }
    let a = f
        .post(&format!("{AUTH}/oauth/mock/link"), &bob_session)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "reauthentication_required"),
        "{:?}",
        a.body
    );
    assert!(a.cookie("auth_oauth").is_none());

    // alice unlinks (she has a password): done; not hers: 404 (bob proves himself again
    // first: unlinking is in sudo mode, and his login is an hour old).
    let a = f
        .app
        .post(
            "reauthenticate",
            json!({"password": "pass-word-1"}),
            Some(&bob),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let ids = f.app.get("identities", Some(&alice)).await.body["data"].clone();
    let id = ids[0]["id"].as_i64().unwrap();
    let a = f
        .app
        .call(
            Method::DELETE,
            &format!("{AUTH}/identities/{id}"),
            None,
            Some(&bob),
        )
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"));
    let a = f
        .app
        .call(
            Method::DELETE,
            &format!("{AUTH}/identities/{id}"),
            None,
            Some(&alice),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(f.events(EventType::IdentityUnlinked).await.len(), 1);
}

async fn the_last_login_method_stays(t: TestDb) {
    let Some(f) = Flow::new(t, "last", |c| c).await else {
        return;
    };
    // A user made by the provider: no password.
    f.scenario(json!({"sub": "only", "claims": {"preferred_username": "olly"}}))
        .await;
    let token = f.logged_in("/").await;
    let ids = f.app.get("identities", Some(&token)).await.body["data"].clone();
    let id = ids[0]["id"].as_i64().unwrap();
    let a = f
        .app
        .call(
            Method::DELETE,
            &format!("{AUTH}/identities/{id}"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "last_login_method")
    );

    // A second provider linked: either can go, not both, even racing.
    f.scenario(json!({"sub": "only", "github_user": {"id": 7, "login": "olly"}}))
        .await;
    let session = format!("auth_session={token}");
    let (back, binding) = f.link_start("github", "/", &token).await;
    let a = f
        .get(&back, &format!("auth_oauth={binding}; {session}"))
        .await;
    assert_eq!(location(&a), "/");
    let ids = f.app.get("identities", Some(&token)).await.body["data"].clone();
    assert_eq!(ids.as_array().unwrap().len(), 2);
    let (first, second) = (
        ids[0]["id"].as_i64().unwrap(),
        ids[1]["id"].as_i64().unwrap(),
    );
    let (first, second) = (
        format!("{AUTH}/identities/{first}"),
        format!("{AUTH}/identities/{second}"),
    );
    let (a, b) = tokio::join!(
        f.app.call(Method::DELETE, &first, None, Some(&token)),
        f.app.call(Method::DELETE, &second, None, Some(&token)),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{:?} / {:?}",
        a.body,
        b.body
    );
    let ids = f.app.get("identities", Some(&token)).await.body["data"].clone();
    assert_eq!(ids.as_array().unwrap().len(), 1);
}

async fn mfa_users_pass_their_second_factor(t: TestDb) {
    let Some(f) = Flow::new(t, "mfa", |c| c).await else {
        return;
    };
    f.scenario(
        json!({"sub": "m1", "claims": {"preferred_username": "mia", "amr": ["pwd", "mfa"]}}),
    )
    .await;
    let token = f.logged_in("/").await;
    // MFA on for this user (the secret's code computed here by the crate's own TOTP).
    let a = f.app.post("mfa/totp/setup", json!({}), Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let secret = a.body["data"]["secret"].as_str().unwrap().to_owned();
    let code = |at: u64| auth_axum::auth_core::mfa::totp::code_at(&secret, at).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let a = f
        .app
        .post("mfa/totp/confirm", json!({"code": code(now)}), Some(&token))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);

    // The provider's amr is not trusted by default: no session, the MFA step.
    let a = f.login("mock", "/app").await;
    assert!(a.token().is_none(), "no session before the second factor");
    let to = location(&a);
    let (page, fragment) = to.split_once('#').unwrap();
    assert_eq!(page, "/app");
    let params: std::collections::HashMap<_, _> = url::form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(params["next"], "/app");
    assert!(params["methods"].contains("totp"));
    let a = f
        .app
        .post(
            "login/mfa",
            json!({"mfa_token": params["mfa_token"], "code": code(now + 30)}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(a.token().is_some());
}

async fn a_trusted_amr_passes_the_second_factor(t: TestDb) {
    let Some(ports) = provider() else {
        return;
    };
    let client = client_id("amr");
    let config = OAuthConfig::new(PUBLIC_URL)
        .unwrap()
        .provider(oidc_provider(ports, &client).trust_amr(true))
        .unwrap();
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .mfa(MfaConfig::new(SecretKey::generate(), "Test"))
        .oauth(config)
        .unwrap()
        .build();
    let f = Flow {
        app: TestApp::with_service(t, service).await,
        ports,
        client,
    };
    f.scenario(json!({"sub": "t1", "claims": {"amr": ["pwd", "otp"]}}))
        .await;
    let token = f.logged_in("/").await;
    let a = f.app.post("mfa/totp/setup", json!({}), Some(&token)).await;
    let secret = a.body["data"]["secret"].as_str().unwrap().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = auth_axum::auth_core::mfa::totp::code_at(&secret, now).unwrap();
    let a = f
        .app
        .post("mfa/totp/confirm", json!({"code": code}), Some(&token))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    // Trusted, with a second factor in amr: a session that counts as MFA-passed.
    let token = f.logged_in("/").await;
    let sessions = f.app.get("sessions", Some(&token)).await;
    let current = sessions.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()
        .clone();
    assert!(!current["mfa_at"].is_null(), "{current:?}");
    // Trusted, but a password only: the MFA step.
    f.scenario(json!({"sub": "t1", "claims": {"amr": ["pwd"]}}))
        .await;
    let a = f.login("mock", "/").await;
    assert!(a.token().is_none());
    assert!(location(&a).contains("#mfa_token="));
}

async fn github_preset(t: TestDb) {
    let Some(f) = Flow::new(t, "github", |c| c).await else {
        return;
    };
    f.scenario(json!({
        "github_user": {"id": 4242, "login": "octocat", "email": null},
        "github_emails": [
            {"email": "old@example.test", "primary": false, "verified": true},
            {"email": "octo@example.test", "primary": true, "verified": true}
        ]
    }))
    .await;
    let a = f.login("github", "/gh").await;
    assert_eq!(location(&a), "/gh");
    let token = a.token().unwrap();
    let me = f.me(&token).await;
    assert_eq!(
        (me["account"].as_str(), me["email"].as_str()),
        (Some("octocat"), Some("octo@example.test"))
    );
    assert_eq!(me["is_verified"], true);
    let ids = f.app.get("identities", Some(&token)).await.body["data"].clone();
    assert_eq!(
        (ids[0]["provider"].as_str(), ids[0]["subject"].as_str()),
        (Some("github"), Some("4242"))
    );
}

async fn an_unreachable_provider_is_503(t: TestDb) {
    // A port nobody listens on, held for the whole test.
    let closed = auth_tests::ClosedPort::bind();
    let port = closed.port();
    let config = OAuthConfig::new(PUBLIC_URL)
        .unwrap()
        .provider(
            ProviderConfig::oidc("down", &format!("http://127.0.0.1:{port}/"), "c", None).unwrap(),
        )
        .unwrap();
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .oauth(config)
        .unwrap()
        .build();
    let app = TestApp::with_service(t, service).await;
    let a = app.get("oauth/down/authorize?next=/", None).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable"),
        "{:?}",
        a.body
    );
    assert!(a.cookie("auth_oauth").is_none());
}

/// A user whose way in is the provider proves again who they are there (sudo mode): only a
/// login the provider made after the start (`auth_time`), of their own identity, counts.
async fn a_fresh_provider_login_is_a_sudo_proof(t: TestDb) {
    let Some(f) = Flow::new(t, "reauth", |c| c).await else {
        return;
    };
    f.scenario(json!({"sub": "quin-at-mock"})).await;
    let token = f.logged_in("/").await;
    let quin = f.me(&token).await["id"].as_i64().unwrap();
    let session = format!("auth_session={token}");
    let new_key = async || {
        f.app
            .post("api-keys", json!({"name": "ci"}), Some(&token))
            .await
    };
    // A session kept for an hour (a stolen cookie) is not in sudo mode.
    f.app.age_sessions(quin, 3600).await;
    let a = new_key().await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "reauthentication_required"),
        "{:?}",
        a.body
    );
    let reauth = async |cookies: &str| {
        let a = f
            .post(
                &format!("{AUTH}/oauth/mock/reauthenticate?next=/settings"),
                cookies,
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{:?}", a.body);
        let binding = a.cookie_value("auth_oauth").expect("the binding cookie");
        let to = a.headers[header::LOCATION].to_str().unwrap().to_owned();
        assert_eq!(query_param(&to[to.find('?').unwrap()..], "prompt"), "login");
        assert_eq!(query_param(&to[to.find('?').unwrap()..], "max_age"), "0");
        (f.at_provider(&to).await, binding)
    };
    let now = session::now().assume_utc().unix_timestamp();
    // No auth_time, an old one, or a fresh login of another identity: refused, and the
    // session stays out of sudo mode.
    for claims in [
        json!({"sub": "quin-at-mock"}),
        json!({"sub": "quin-at-mock", "claims": {"auth_time": now - 3600}}),
        json!({"sub": "someone-else", "claims": {"auth_time": now}}),
    ] {
        f.scenario(claims.clone()).await;
        let (back, binding) = reauth(&session).await;
        refused(
            &f.get(&back, &format!("auth_oauth={binding}; {session}"))
                .await,
            StatusCode::FORBIDDEN,
            "stale_login",
        );
        let a = new_key().await;
        assert_eq!(a.code(), "reauthentication_required", "{claims}");
    }
    // Finished in another session (the attacker's own): refused.
    f.scenario(json!({"sub": "quin-at-mock", "claims": {"auth_time": now}}))
        .await;
    local_user(&f.app, "mallory", "mallory@example.test", true).await;
    let mallory = f.app.login("mallory", "pass-word-1").await;
    let (back, binding) = reauth(&session).await;
    refused(
        &f.get(
            &back,
            &format!("auth_oauth={binding}; auth_session={mallory}"),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    );
    // A fresh login of quin's identity: back to `next`, no new session, sudo mode on.
    let (back, binding) = reauth(&session).await;
    let a = f
        .get(&back, &format!("auth_oauth={binding}; {session}"))
        .await;
    assert_eq!(location(&a), "/settings");
    assert!(a.token().is_none(), "re-authenticating opens no session");
    let a = new_key().await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let reauths = f.events(EventType::Reauthenticated).await;
    assert_eq!(reauths.len(), 1, "{reauths:?}");
    assert_eq!(reauths[0].detail["method"], "provider");
    // Mallory has no identity there, GitHub cannot prove a fresh login, and an API key
    // is not a session.
    let a = f
        .post(
            &format!("{AUTH}/oauth/mock/reauthenticate"),
            &format!("auth_session={mallory}"),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "no_fresh_login")
    );
    let a = f
        .post(&format!("{AUTH}/oauth/github/reauthenticate"), &session)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "no_fresh_login")
    );
    let key = a_key(&new_key().await);
    let a = f
        .app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri(format!("{AUTH}/oauth/mock/reauthenticate"))
                .header("host", HOST)
                .header("authorization", format!("Bearer {key}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "session_required")
    );
}

fn a_key(a: &Answer) -> String {
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    a.body["data"]["key"].as_str().expect("the key").to_owned()
}

backend_tests!(
    a_fresh_provider_login_is_a_sudo_proof,
    starts_sweep_the_expired_states,
    a_planted_binding_is_never_reused,
    an_unverified_address_is_not_stored,
    full_flow_creates_then_reuses_the_user,
    state_is_single_use_and_bound_to_the_browser,
    an_expired_state_is_refused,
    the_provider_checks_pkce,
    bad_id_tokens_are_refused,
    provider_errors_are_refused,
    next_must_be_a_local_path,
    linking_by_email_follows_the_rules,
    linking_by_email_is_off_by_default,
    no_user_is_created_when_configured_so,
    link_and_unlink,
    the_last_login_method_stays,
    mfa_users_pass_their_second_factor,
    a_trusted_amr_passes_the_second_factor,
    github_preset,
    an_unreachable_provider_is_503,
);
