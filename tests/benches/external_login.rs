//! What an external login costs, as ratios against a password login measured in the same
//! run: `cargo bench -p auth-tests --bench external_login` (SQLite; needs Node.js for the
//! OpenID provider and Debian's slapd, which the tests' harnesses start).
//!
//! - `password`: `POST login` with bcrypt at the tests' cost (4), the baseline;
//! - `ldap_template` / `ldap_search`: `POST login` with `platform: "ldap"` for a user linked
//!   already (LDAPS with the test CA: a TLS handshake, a bind, a group search; the search
//!   mode adds the service account's bind and the user search), groups mapped to a role;
//! - `oidc`: the whole browser round of a linked user: `authorize` (302 and the binding),
//!   the provider's authorization endpoint, the callback (code exchange, ID-token
//!   verification against the cached JWKS, the session);
//! - `github`: the same with the GitHub preset (exchange, `/user`; no ID token).
//!
//! The upstream servers are local, so these are the framework's own costs plus loopback
//! round trips; a real provider adds its network latency to every upstream call.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use auth_axum::auth_core::ldap::{LdapBackend, LdapConfig};
use auth_axum::auth_core::oauth::{OAuthConfig, ProviderConfig};
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::ThrottleConfig;
use auth_tests::http::{HOST, TEST_COST, TestApp, send};
use auth_tests::oidc::{client_id, provider, scenario};
use auth_tests::slapd::{self, GROUPS, PEOPLE, READER_DN, READER_PASSWORD, unique};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const PUBLIC_URL: &str = "http://localhost/api/contrib/auth/";

fn login(account: &str, password: &str, platform: &str) -> Request<Body> {
    Request::post("/api/contrib/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"account": account, "password": password, "platform": platform}).to_string(),
        ))
        .unwrap()
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path).header("host", HOST);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    req.body(Body::empty()).unwrap()
}

/// One provider login of a linked user, through `authorize`, the provider and the callback.
async fn provider_login(app: &TestApp, http: &reqwest::Client, name: &str) {
    let a = send(
        &app.router,
        get(
            &format!("/api/contrib/auth/oauth/{name}/authorize?next=/"),
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::FOUND);
    let binding = a.cookie_value("auth_oauth").unwrap();
    let url = a.headers[header::LOCATION].to_str().unwrap().to_owned();
    let answer = http.get(url).send().await.unwrap();
    let back = answer.headers()["location"].to_str().unwrap();
    let back = back.strip_prefix("http://localhost").unwrap().to_owned();
    let a = send(
        &app.router,
        get(&back, Some(&format!("auth_oauth={binding}"))),
    )
    .await;
    assert_eq!(a.status, StatusCode::FOUND, "{:?}", a.body);
    assert!(a.token().is_some());
}

fn bench(c: &mut Criterion) {
    let (Some(ports), Some(s)) = (provider(), slapd::slapd()) else {
        eprintln!("external_login: needs Node.js and slapd; skipped");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = client_id("bench");
    let uid = unique("bench");
    let dn = s.add_user(&uid, "ldap-pass", Some("bench@example.test"));
    let staff = s.add_group(&unique("staff"), &[&dn]);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let app = rt.block_on(async {
        scenario(
            ports,
            &client,
            json!({"sub": "bench-sub", "github_user": {"id": 1, "login": "octo"}}),
        )
        .await;
        let oauth = OAuthConfig::new(PUBLIC_URL)
            .unwrap()
            .provider(
                ProviderConfig::oidc(
                    "mock",
                    &format!("http://127.0.0.1:{}/", ports.oidc),
                    &client,
                    Some("secret"),
                )
                .unwrap(),
            )
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
        let staff = staff.as_str();
        let template = LdapConfig::builder(&s.ldaps_url())
            .ca_file(&s.ca_file)
            .user_dn_template(&format!("uid={{account}},{PEOPLE}"))
            .group_search(GROUPS, None)
            .group_role(staff, "staff")
            .build()
            .unwrap();
        let search = LdapConfig::builder(&s.ldaps_url())
            .ca_file(&s.ca_file)
            .user_search(PEOPLE, "(uid={account})")
            .bind_credentials(READER_DN, READER_PASSWORD)
            .group_search(GROUPS, None)
            .group_role(staff, "staff")
            .build()
            .unwrap();
        let service = AuthService::builder()
            .bcrypt_cost(TEST_COST)
            .throttle(ThrottleConfig::disabled())
            .oauth(oauth)
            .unwrap()
            .backend("ldap", LdapBackend::new(template))
            .backend("ldap_search", LdapBackend::new(search))
            .build();
        let app = TestApp::with_service(auth_tests::TestDb::sqlite().await, service).await;
        app.register("bench", "pass-word-1").await;
        {
            let mut conn = app.t.db.conn().await.unwrap();
            auth_axum::auth_core::rbac::manage::get_or_create_role(&mut conn, "staff", None)
                .await
                .unwrap();
        }
        // First logins: the users and links exist before the measured ones.
        for platform in ["ldap", "ldap_search"] {
            let a = send(&app.router, login(&uid, "ldap-pass", platform)).await;
            assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        }
        provider_login(&app, &http, "mock").await;
        provider_login(&app, &http, "github").await;
        app
    });

    let mut group = c.benchmark_group("external_login");
    group.bench_function("password", |b| {
        b.to_async(&rt).iter(|| async {
            let a = send(&app.router, login("bench", "pass-word-1", "default")).await;
            assert_eq!(a.status, StatusCode::OK);
        })
    });
    for platform in ["ldap", "ldap_search"] {
        let name = if platform == "ldap" {
            "ldap_template"
        } else {
            "ldap_search"
        };
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let a = send(&app.router, login(&uid, "ldap-pass", platform)).await;
                assert_eq!(a.status, StatusCode::OK);
            })
        });
    }
    for name in ["mock", "github"] {
        let label = if name == "mock" { "oidc" } else { "github" };
        group.bench_function(label, |b| {
            b.to_async(&rt)
                .iter(|| async { provider_login(&app, &http, name).await })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
