//! `AuthConfig::from_env` (issue 13 item 4): every `AUTH_*` variable is applied, a bad value
//! is a start-up error naming the variable (and never echoing a secret), the README lists
//! every variable, and a configuration read this way drives the router (on every backend).

use std::time::Duration;

use auth_axum::{AuthConfig, EnvConfigError, RegistrationMode, UserStore};
use auth_tests::http::TestApp;
use auth_tests::model::v1::User;
use auth_tests::{TestDb, backend_tests};
use axum::http::StatusCode;
use serde_json::json;

const ED25519_PEM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/jwt_ed25519_test_only.pem"
);

fn merged(vars: &[(&str, &str)]) -> Result<AuthConfig, EnvConfigError> {
    AuthConfig::default().merge_vars(vars.iter().map(|&(k, v)| (k, v)))
}

#[test]
fn without_variables_the_defaults_stand() {
    let config = merged(&[]).unwrap();
    let defaults = AuthConfig::default();
    assert_eq!(config.bcrypt_cost, 12);
    assert_eq!(config.sessions.idle_timeout, defaults.sessions.idle_timeout);
    assert_eq!(config.throttle.account_limit, 5);
    assert_eq!(config.http.cookie.name, "auth_session");
    assert!(config.http.cookie.secure, "Secure by default");
    assert!(
        config.http.cookie.host_prefix,
        "the __Host- prefix by default"
    );
    assert!(config.http.csrf.enabled);
    assert!(config.mail.is_none() && config.jwt.is_none());
    assert_eq!(config.http.registration, RegistrationMode::Open);
}

#[test]
fn every_variable_is_applied() {
    let config = merged(&[
        ("AUTH_BCRYPT_COST", "10"),
        ("AUTH_SESSION_IDLE_TIMEOUT", "2h"),
        ("AUTH_SESSION_ABSOLUTE_TIMEOUT", "7days"),
        ("AUTH_SESSION_TOUCH_INTERVAL", "30s"),
        ("AUTH_SESSION_SUDO_WINDOW", "5m"),
        ("AUTH_COOKIE_NAME", "sid"),
        ("AUTH_COOKIE_DOMAIN", "example.com"),
        ("AUTH_COOKIE_SECURE", "false"),
        ("AUTH_COOKIE_HOST_PREFIX", "false"),
        ("AUTH_CSRF_ENABLED", "off"),
        (
            "AUTH_CSRF_ALLOWED_ORIGINS",
            "https://app.example.com, https://admin.example.com:443",
        ),
        ("AUTH_THROTTLE_ENABLED", "yes"),
        ("AUTH_THROTTLE_ACCOUNT_LIMIT", "3"),
        ("AUTH_THROTTLE_IP_LIMIT", "30"),
        ("AUTH_THROTTLE_WINDOW", "10m"),
        ("AUTH_THROTTLE_BASE_COOLDOWN", "1m"),
        ("AUTH_THROTTLE_MAX_COOLDOWN", "2h"),
        ("AUTH_REGISTRATION", "private"),
        ("AUTH_CLIENT_IP_HEADER", "x-forwarded-for"),
        ("AUTH_CLIENT_IP_TRUSTED_HOPS", "2"),
        ("AUTH_MAIL_URL", "smtp://127.0.0.1:2525"),
        ("AUTH_MAIL_FROM", "Accounts <accounts@example.com>"),
        (
            "AUTH_MAIL_LINK_BASE",
            "https://api.example.com/api/contrib/auth",
        ),
        ("AUTH_MAIL_APP_NAME", "Example"),
        ("AUTH_JWT_ED25519_PEM_FILE", ED25519_PEM),
        ("AUTH_JWT_KID", "2026-11"),
        ("AUTH_JWT_ACCESS_TTL", "5m"),
        ("AUTH_MFA_KEY", "c2hvcnQ"),
        ("AUTH_MFA_ISSUER", "needs a key"),
        ("AUTH_JWT_ISSUER", "example"),
        (
            "AUTH_MFA_KEY",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        ),
        ("AUTH_MFA_ISSUER", "Example MFA"),
        ("AUTH_MFA_CHALLENGE_TTL", "2m"),
        ("UNRELATED", "ignored"),
    ])
    .unwrap();
    assert_eq!(config.bcrypt_cost, 10);
    assert_eq!(config.sessions.idle_timeout, Duration::from_secs(7200));
    assert_eq!(
        config.sessions.absolute_timeout,
        Duration::from_secs(7 * 86_400)
    );
    assert_eq!(config.sessions.touch_interval, Duration::from_secs(30));
    assert_eq!(config.sessions.sudo_window, Duration::from_secs(5 * 60));
    assert_eq!(config.http.cookie.name, "sid");
    assert_eq!(config.http.cookie.domain.as_deref(), Some("example.com"));
    assert!(!config.http.cookie.secure);
    assert!(!config.http.cookie.host_prefix);
    assert!(!config.http.csrf.enabled);
    assert_eq!(
        config.http.csrf.allowed_origins,
        ["https://app.example.com", "https://admin.example.com"]
    );
    let t = &config.throttle;
    assert!(t.enabled);
    assert_eq!((t.account_limit, t.ip_limit), (3, 30));
    assert_eq!(t.window, Duration::from_secs(600));
    assert_eq!(t.base_cooldown, Duration::from_secs(60));
    assert_eq!(t.max_cooldown, Duration::from_secs(7200));
    assert_eq!(config.http.registration, RegistrationMode::Private);
    match &config.http.client_ip {
        auth_axum::ClientIpSource::Header { name, trusted_hops } => {
            assert_eq!((name.as_str(), *trusted_hops), ("x-forwarded-for", 2));
        }
        other => panic!("{other:?}"),
    }
    let mail = config.mail.as_ref().unwrap();
    assert_eq!(
        mail.reset_link,
        "https://api.example.com/api/contrib/auth/reset-password?token={token}"
    );
    assert_eq!(mail.app_name, "Example");
    let jwt = config.jwt.as_ref().unwrap();
    assert_eq!(jwt.signing_key().kid(), "2026-11");
    assert_eq!(jwt.access_ttl, Duration::from_secs(300));
    assert_eq!(jwt.issuer, "example");
    let mfa = config.mfa.as_ref().unwrap();
    assert_eq!(mfa.issuer, "Example MFA");
    assert_eq!(mfa.challenge_ttl, Duration::from_secs(120));
}

#[test]
fn a_bad_value_names_its_variable() {
    for (name, value) in [
        ("AUTH_BCRYPT_COST", "3"),
        ("AUTH_BCRYPT_COST", "32"),
        ("AUTH_BCRYPT_COST", "twelve"),
        ("AUTH_SESSION_IDLE_TIMEOUT", "0s"),
        ("AUTH_SESSION_IDLE_TIMEOUT", "forever"),
        ("AUTH_SESSION_IDLE_TIMEOUT", "60days"),
        ("AUTH_COOKIE_NAME", "my session"),
        ("AUTH_COOKIE_NAME", ""),
        ("AUTH_COOKIE_DOMAIN", "a;b"),
        ("AUTH_COOKIE_SECURE", "maybe"),
        (
            "AUTH_CSRF_ALLOWED_ORIGINS",
            "https://ok.example, app.example.com",
        ),
        ("AUTH_CSRF_ALLOWED_ORIGINS", "https://example.com/path"),
        ("AUTH_THROTTLE_ACCOUNT_LIMIT", "0"),
        ("AUTH_THROTTLE_IP_LIMIT", "-1"),
        ("AUTH_THROTTLE_BASE_COOLDOWN", "3h"),
        ("AUTH_REGISTRATION", "closed"),
        ("AUTH_CLIENT_IP_HEADER", "bad header"),
        ("AUTH_CLIENT_IP_TRUSTED_HOPS", "2"),
        ("AUTH_JWT_ED25519_PEM_FILE", "/nonexistent/jwt.pem"),
        ("AUTH_JWT_ACCESS_TTL", "5m"),
        ("AUTH_MAIL_FROM", "needs-the-url@example.com"),
    ] {
        let e = match merged(&[(name, value)]) {
            Ok(_) if name == "AUTH_MAIL_FROM" => continue, // ignored without AUTH_MAIL_URL
            Ok(_) => panic!("{name}={value:?} was accepted"),
            Err(e) => e,
        };
        assert_eq!(e.variable, name, "{name}={value:?}: {e}");
        assert!(e.to_string().starts_with(name), "{e}");
    }
    // Mail settings come together; a secret in a bad URL is never echoed.
    let e = merged(&[("AUTH_MAIL_URL", "smtp://127.0.0.1")]).unwrap_err();
    assert_eq!(e.variable, "AUTH_MAIL_FROM");
    let e = merged(&[
        ("AUTH_MAIL_URL", "gopher://user:hunter2@mail.example.com"),
        ("AUTH_MAIL_FROM", "a@example.com"),
        ("AUTH_MAIL_LINK_BASE", "https://api.example.com/auth"),
    ])
    .unwrap_err();
    assert_eq!(e.variable, "AUTH_MAIL_URL");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = merged(&[
        ("AUTH_MAIL_URL", "smtp://127.0.0.1"),
        ("AUTH_MAIL_FROM", "not an address"),
        ("AUTH_MAIL_LINK_BASE", "https://api.example.com/auth"),
    ])
    .unwrap_err();
    assert_eq!(e.variable, "AUTH_MAIL_FROM");
}

#[test]
fn the_asvs_l2_profile_and_its_overrides() {
    let config = merged(&[("AUTH_SESSION_PROFILE", "asvs_l2")]).unwrap();
    assert_eq!(config.sessions.idle_timeout, Duration::from_secs(30 * 60));
    assert_eq!(
        config.sessions.absolute_timeout,
        Duration::from_secs(12 * 3600)
    );
    let config = merged(&[
        ("AUTH_SESSION_PROFILE", "ASVS_L2"),
        ("AUTH_SESSION_IDLE_TIMEOUT", "10m"),
    ])
    .unwrap();
    assert_eq!(config.sessions.idle_timeout, Duration::from_secs(10 * 60));
    assert_eq!(
        config.sessions.absolute_timeout,
        Duration::from_secs(12 * 3600)
    );
    let e = merged(&[("AUTH_SESSION_PROFILE", "paranoid")]).unwrap_err();
    assert_eq!(e.variable, "AUTH_SESSION_PROFILE");
}

/// `AUTH_DB_QUERY_TIMEOUT` is the statement deadline of the pool `database_config` gives.
#[test]
fn the_database_deadline_is_read() {
    let config = merged(&[]).unwrap();
    assert_eq!(config.db_query_timeout, Duration::from_secs(5));
    let db = config.database_config("sqlite::memory:");
    assert_eq!(db.query_timeout, Some(Duration::from_secs(5)));
    let config = merged(&[("AUTH_DB_QUERY_TIMEOUT", "300ms")]).unwrap();
    let db = config.database_config("postgres://u@h/db");
    assert_eq!(db.query_timeout, Some(Duration::from_millis(300)));
    assert_eq!(db.url, "postgres://u@h/db");
    for bad in ["0s", "soon"] {
        let e = merged(&[("AUTH_DB_QUERY_TIMEOUT", bad)]).unwrap_err();
        assert_eq!(e.variable, "AUTH_DB_QUERY_TIMEOUT");
    }
}

#[test]
fn the_readme_lists_every_variable() {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
    for (name, default) in AuthConfig::VARIABLES {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md does not list {name} (default {default})"
        );
    }
}

/// A configuration read from variables drives the router: the cookie name, the
/// registration mode and the throttle limit.
async fn the_router_follows_the_variables(t: TestDb) {
    let config = merged(&[
        ("AUTH_BCRYPT_COST", "4"),
        ("AUTH_COOKIE_NAME", "sid"),
        ("AUTH_COOKIE_SECURE", "false"),
        ("AUTH_REGISTRATION", "private"),
        ("AUTH_THROTTLE_ACCOUNT_LIMIT", "2"),
    ])
    .unwrap();
    let service = config.service_builder::<User>().build();
    let app = TestApp::with_config(t, service, config.http.clone()).await;
    let body = json!({"account": "env", "password": "pass-word-1"});
    let reg = app.post("register", body.clone(), None).await;
    assert_eq!(
        reg.status,
        StatusCode::ACCEPTED,
        "private registration: {:?}",
        reg.body
    );
    let login = app.post("login", body.clone(), None).await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    assert!(
        login.set_cookies.iter().any(|c| c.starts_with("sid=")),
        "{:?}",
        login.set_cookies
    );
    let wrong = json!({"account": "env", "password": "wrong-password"});
    for _ in 0..2 {
        assert_eq!(
            app.post("login", wrong.clone(), None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = app.post("login", body, None).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    let mut conn = app.t.db.conn().await.unwrap();
    let user = User::find_by_account(&mut conn, "env")
        .await
        .unwrap()
        .unwrap();
    assert!(
        user.password.starts_with("$2b$04$"),
        "cost 4 from AUTH_BCRYPT_COST"
    );
}

backend_tests!(the_router_follows_the_variables);

#[test]
fn the_webauthn_variables_make_the_relying_party() {
    assert!(merged(&[]).unwrap().webauthn.is_none());
    let config = merged(&[
        ("AUTH_WEBAUTHN_RP_ID", "example.com"),
        ("AUTH_WEBAUTHN_ORIGIN", "https://app.example.com"),
    ])
    .unwrap();
    let rp = config.webauthn.expect("a relying party");
    assert_eq!(rp.rp_id(), "example.com");
    assert_eq!(rp.origin().as_str(), "https://app.example.com/");
    assert_eq!(
        rp.rp_name(),
        "example.com",
        "the name defaults to the RP id"
    );
    let err = merged(&[("AUTH_WEBAUTHN_RP_ID", "example.com")]).unwrap_err();
    assert_eq!(err.variable, "AUTH_WEBAUTHN_ORIGIN");
    let err = merged(&[("AUTH_WEBAUTHN_ORIGIN", "https://app.example.com")]).unwrap_err();
    assert_eq!(err.variable, "AUTH_WEBAUTHN_ORIGIN");
    assert!(err.message.contains("AUTH_WEBAUTHN_RP_ID"), "{err}");
    // An origin outside the RP id is a start-up error, not a passkey that never works.
    let err = merged(&[
        ("AUTH_WEBAUTHN_RP_ID", "example.com"),
        ("AUTH_WEBAUTHN_ORIGIN", "https://evil.test"),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "AUTH_WEBAUTHN_ORIGIN");
}

#[test]
fn the_oidc_variables_make_the_providers() {
    assert!(merged(&[]).unwrap().oauth.is_none());
    let config = merged(&[
        (
            "AUTH_OAUTH_PUBLIC_URL",
            "https://app.example.com/api/contrib/auth",
        ),
        ("AUTH_OIDC_GOOGLE_ISSUER", "https://accounts.google.com"),
        ("AUTH_OIDC_GOOGLE_CLIENT_ID", "google-client"),
        ("AUTH_OIDC_GOOGLE_CLIENT_SECRET", "google-secret"),
        ("AUTH_OIDC_CORP_SSO_ISSUER", "https://sso.corp.example/"),
        ("AUTH_OIDC_CORP_SSO_CLIENT_ID", "corp"),
        ("AUTH_OIDC_CORP_SSO_SCOPES", "openid email"),
        ("AUTH_OIDC_CORP_SSO_TRUST_AMR", "true"),
        ("AUTH_OIDC_GITHUB_CLIENT_ID", "gh"),
        ("AUTH_OIDC_GITHUB_CLIENT_SECRET", "gh-secret"),
        ("AUTH_OAUTH_LINK_VERIFIED_EMAIL", "true"),
    ])
    .unwrap();
    let oauth = config.oauth.expect("providers");
    let names: Vec<&str> = oauth.providers().iter().map(|p| p.name()).collect();
    assert_eq!(names, ["corp_sso", "github", "google"]);
    assert_eq!(
        oauth.redirect_uri("google").as_str(),
        "https://app.example.com/api/contrib/auth/oauth/google/callback"
    );
    // The secret never shows in Debug output.
    assert!(!format!("{oauth:?}").contains("google-secret"));

    // A provider without its client id, an unknown preset, a bad issuer, a bad boolean, no
    // public URL: each names what to fix, never a secret.
    for (vars, variable, hint) in [
        (
            vec![
                ("AUTH_OAUTH_PUBLIC_URL", "https://a.example/"),
                ("AUTH_OIDC_X_ISSUER", "https://x.example"),
            ],
            "AUTH_OIDC_<NAME>_*",
            "AUTH_OIDC_X_CLIENT_ID",
        ),
        (
            vec![
                ("AUTH_OAUTH_PUBLIC_URL", "https://a.example/"),
                ("AUTH_OIDC_X_CLIENT_ID", "x"),
            ],
            "AUTH_OIDC_<NAME>_*",
            "AUTH_OIDC_X_ISSUER",
        ),
        (
            vec![
                ("AUTH_OAUTH_PUBLIC_URL", "https://a.example/"),
                ("AUTH_OIDC_X_CLIENT_ID", "x"),
                ("AUTH_OIDC_X_CLIENT_SECRET", "sekrit"),
                ("AUTH_OIDC_X_ISSUER", "not a url"),
            ],
            "AUTH_OIDC_<NAME>_*",
            "AUTH_OIDC_X_ISSUER",
        ),
        (
            vec![
                ("AUTH_OAUTH_PUBLIC_URL", "https://a.example/"),
                ("AUTH_OIDC_X_CLIENT_ID", "x"),
                ("AUTH_OIDC_X_ISSUER", "https://x.example"),
                ("AUTH_OIDC_X_TRUST_AMR", "maybe"),
            ],
            "AUTH_OIDC_<NAME>_*",
            "AUTH_OIDC_X_TRUST_AMR",
        ),
        (
            vec![
                ("AUTH_OIDC_X_CLIENT_ID", "x"),
                ("AUTH_OIDC_X_ISSUER", "https://x.example"),
            ],
            "AUTH_OAUTH_PUBLIC_URL",
            "required",
        ),
        (
            vec![("AUTH_OAUTH_CREATE_USERS", "false")],
            "AUTH_OAUTH_CREATE_USERS",
            "provider",
        ),
    ] {
        let err = merged(&vars).unwrap_err();
        assert_eq!(err.variable, variable, "{err}");
        assert!(err.message.contains(hint), "{err}");
        assert!(!err.to_string().contains("sekrit"), "{err}");
    }
}

const LDAP_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ldap_other_ca.pem");

#[test]
fn the_ldap_variables_make_the_ldap_backend() {
    assert!(merged(&[]).unwrap().ldap.is_none());
    let config = merged(&[
        ("AUTH_LDAP_URL", "ldap://ldap.example.org:389"),
        ("AUTH_LDAP_STARTTLS", "true"),
        ("AUTH_LDAP_CA_FILE", LDAP_CA),
        ("AUTH_LDAP_SEARCH_BASE", "ou=people,dc=example,dc=org"),
        ("AUTH_LDAP_SEARCH_FILTER", "(mail={account})"),
        ("AUTH_LDAP_BIND_DN", "cn=reader,dc=example,dc=org"),
        ("AUTH_LDAP_BIND_PASSWORD", "hunter2-ldap"),
        ("AUTH_LDAP_MAIL_ATTRIBUTE", "email"),
        ("AUTH_LDAP_GROUP_SEARCH_BASE", "ou=groups,dc=example,dc=org"),
        ("AUTH_LDAP_GROUP_FILTER", "(memberUid={account})"),
        (
            "AUTH_LDAP_GROUP_ROLES",
            "cn=admins,ou=groups,dc=example,dc=org=admin; developers=dev",
        ),
        ("AUTH_LDAP_CONNECT_TIMEOUT", "2s"),
        ("AUTH_LDAP_TIMEOUT", "3s"),
    ])
    .unwrap();
    let ldap = config.ldap.as_ref().expect("an LDAP configuration");
    assert_eq!(ldap.url(), "ldap://ldap.example.org:389");
    assert_eq!(ldap.mapped_roles(), ["admin", "dev"]);
    let shown = format!("{ldap:?}");
    for part in [
        "starttls: true",
        "(mail={account})",
        "cn=reader,dc=example,dc=org",
        "\"email\"",
        "(memberUid={account})",
        "(\"cn=admins,ou=groups,dc=example,dc=org\", \"admin\")",
        "(\"developers\", \"dev\")",
        "connect_timeout: 2s",
        "operation_timeout: 3s",
    ] {
        assert!(shown.contains(part), "{part} missing from {shown}");
    }
    assert!(
        !shown.contains("hunter2"),
        "the bind password is shown: {shown}"
    );
    assert!(!format!("{config:?}").contains("hunter2"));
    // The service gets the backend under the platform "ldap".
    let service = config.service_builder::<User>().build();
    assert!(format!("{service:?}").contains("\"ldap\""), "{service:?}");
}

#[test]
fn a_bad_ldap_value_names_its_variable() {
    let template = ("AUTH_LDAP_USER_DN_TEMPLATE", "uid={account},dc=x");
    let url = ("AUTH_LDAP_URL", "ldaps://ldap.example.org");
    let ca = ("AUTH_LDAP_CA_FILE", LDAP_CA);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![template], "AUTH_LDAP_USER_DN_TEMPLATE"),
        (
            vec![("AUTH_LDAP_URL", "http://x"), template],
            "AUTH_LDAP_URL",
        ),
        (
            vec![("AUTH_LDAP_URL", "ldaps://"), template],
            "AUTH_LDAP_URL",
        ),
        (
            vec![("AUTH_LDAP_URL", "ldaps://u:hunter2@h"), template],
            "AUTH_LDAP_URL",
        ),
        (
            vec![("AUTH_LDAP_URL", "ldap://h"), template],
            "AUTH_LDAP_URL",
        ),
        (
            vec![url, ("AUTH_LDAP_STARTTLS", "true"), template],
            "AUTH_LDAP_STARTTLS",
        ),
        (
            vec![url, ("AUTH_LDAP_STARTTLS", "maybe"), template],
            "AUTH_LDAP_STARTTLS",
        ),
        (vec![url, ca], "AUTH_LDAP_USER_DN_TEMPLATE"),
        (
            vec![url, ca, ("AUTH_LDAP_USER_DN_TEMPLATE", "uid=alice,dc=x")],
            "AUTH_LDAP_USER_DN_TEMPLATE",
        ),
        (
            vec![url, ca, template, ("AUTH_LDAP_SEARCH_BASE", "dc=x")],
            "AUTH_LDAP_USER_DN_TEMPLATE",
        ),
        (
            vec![
                url,
                ca,
                ("AUTH_LDAP_SEARCH_BASE", "dc=x"),
                ("AUTH_LDAP_SEARCH_FILTER", "(uid=x)"),
            ],
            "AUTH_LDAP_SEARCH_FILTER",
        ),
        (
            vec![url, ca, template, ("AUTH_LDAP_BIND_DN", "cn=svc,dc=x")],
            "AUTH_LDAP_BIND_PASSWORD",
        ),
        (
            vec![url, ca, template, ("AUTH_LDAP_BIND_PASSWORD", "hunter2")],
            "AUTH_LDAP_BIND_PASSWORD",
        ),
        (
            vec![url, ca, template, ("AUTH_LDAP_GROUP_ROLES", "admins=admin")],
            "AUTH_LDAP_GROUP_SEARCH_BASE",
        ),
        (
            vec![
                url,
                ca,
                template,
                ("AUTH_LDAP_GROUP_SEARCH_BASE", "dc=x"),
                ("AUTH_LDAP_GROUP_ROLES", "admins"),
            ],
            "AUTH_LDAP_GROUP_ROLES",
        ),
        (
            vec![
                url,
                ca,
                template,
                ("AUTH_LDAP_GROUP_SEARCH_BASE", "dc=x"),
                ("AUTH_LDAP_GROUP_FILTER", "(cn=x)"),
            ],
            "AUTH_LDAP_GROUP_FILTER",
        ),
        (
            vec![url, ca, template, ("AUTH_LDAP_TIMEOUT", "0s")],
            "AUTH_LDAP_TIMEOUT",
        ),
        (
            vec![url, ca, template, ("AUTH_LDAP_CONNECT_TIMEOUT", "soon")],
            "AUTH_LDAP_CONNECT_TIMEOUT",
        ),
        (
            vec![url, template, ("AUTH_LDAP_CA_FILE", "/nonexistent/ca.pem")],
            "AUTH_LDAP_CA_FILE",
        ),
        (
            vec![url, template, ("AUTH_LDAP_CA_FILE", ED25519_PEM)],
            "AUTH_LDAP_CA_FILE",
        ),
        (
            vec![
                url,
                ca,
                template,
                ("AUTH_LDAP_MAIL_ATTRIBUTE", "mail address"),
            ],
            "AUTH_LDAP_MAIL_ATTRIBUTE",
        ),
    ];
    for (vars, variable) in cases {
        let e = match merged(&vars) {
            Ok(_) => panic!("{vars:?} was accepted"),
            Err(e) => e,
        };
        assert_eq!(e.variable, variable, "{vars:?}: {e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
    // Plain LDAP only when allowed.
    let config = merged(&[
        ("AUTH_LDAP_URL", "ldap://h"),
        ("AUTH_LDAP_ALLOW_PLAIN", "true"),
        template,
    ])
    .unwrap();
    assert!(config.ldap.is_some());
}
