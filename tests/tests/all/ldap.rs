//! LDAP login over HTTP on every backend (issue 16, SPEC C11.2), against a real OpenLDAP
//! server (`auth_tests::slapd`: Debian's slapd in a temporary folder, with its own CA):
//! first login creates and links the user, later logins reuse it; wrong password and
//! unknown user answer alike; an empty password never binds; groups map to roles and are
//! refreshed at each login; both ways to find the DN; LDAPS and StartTLS with the custom
//! CA, plain LDAP refused unless allowed; the throttle; an unreachable server is a 503
//! that writes nothing; a local user of the same name is not taken over.

use auth_axum::UserStore;
use auth_axum::auth_core::audit::{self, EventFilter, EventType};
use auth_axum::auth_core::identity;
use auth_axum::auth_core::ldap::{LdapBackend, LdapConfig, LdapConfigBuilder};
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::ThrottleConfig;
use auth_tests::http::{Answer, TEST_COST, TestApp};
use auth_tests::model::v1::User;
use auth_tests::slapd::{self, GROUPS, PEOPLE, READER_DN, READER_PASSWORD, Slapd, unique};
use auth_tests::{TestDb, backend_tests};
use axum::http::StatusCode;
use serde_json::json;

/// A DN-template configuration over LDAPS with the test CA.
fn template(s: &Slapd) -> LdapConfigBuilder {
    LdapConfig::builder(&s.ldaps_url())
        .ca_file(&s.ca_file)
        .user_dn_template(&format!("uid={{account}},{PEOPLE}"))
}

/// A search-then-bind configuration over LDAPS with the test CA and the reader account.
fn search(s: &Slapd) -> LdapConfigBuilder {
    LdapConfig::builder(&s.ldaps_url())
        .ca_file(&s.ca_file)
        .user_search(PEOPLE, "(&(objectClass=inetOrgPerson)(uid={account}))")
        .bind_credentials(READER_DN, READER_PASSWORD)
}

async fn app_with(t: TestDb, config: LdapConfigBuilder, throttle: ThrottleConfig) -> TestApp {
    let service: AuthService<User> = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .throttle(throttle)
        .backend(
            "ldap",
            LdapBackend::new(config.build().expect("LDAP config")),
        )
        .build();
    TestApp::with_service(t, service).await
}

async fn ldap_app(t: TestDb, config: LdapConfigBuilder) -> TestApp {
    app_with(t, config, ThrottleConfig::default()).await
}

async fn ldap_login(app: &TestApp, account: &str, password: &str) -> Answer {
    app.post(
        "login",
        json!({"account": account, "password": password, "platform": "ldap"}),
        None,
    )
    .await
}

async fn events(app: &TestApp, event: EventType) -> Vec<audit::AuditEvent> {
    let mut conn = app.t.db.conn().await.unwrap();
    let filter = EventFilter {
        event: Some(event),
        ..EventFilter::default()
    };
    audit::list(&mut conn, &filter, 0, 100).await.unwrap()
}

async fn user_count(app: &TestApp) -> i64 {
    let mut conn = app.t.db.conn().await.unwrap();
    User::count(&mut conn, &Default::default()).await.unwrap()
}

async fn first_login_creates_the_user_and_later_logins_reuse_it(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("alice");
    let dn = s.add_user(&uid, "alice-pass", Some(&format!("{uid}@example.org")));
    let app = ldap_app(t, template(s)).await;

    let a = ldap_login(&app, &uid, "alice-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let token = a.token().expect("session cookie");
    let me = app.get("me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    assert_eq!(me.body["data"]["account"], uid.as_str(), "{:?}", me.body);
    let id = me.body["data"]["id"].as_i64().expect("id");

    let mut conn = app.t.db.conn().await.unwrap();
    let linked = identity::find(&mut conn, "ldap", &dn)
        .await
        .unwrap()
        .expect("the identity is linked, subject = the DN");
    assert_eq!(linked.user_id, id);
    let user = User::find_by_id(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(user.password, identity::NO_PASSWORD, "no usable password");
    assert_eq!(
        user.email.as_deref(),
        Some(format!("{uid}@example.org").as_str())
    );
    drop(conn);
    assert_eq!(events(&app, EventType::LdapUserCreated).await.len(), 1);

    // Again, typed in upper case: the directory's spelling of the DN finds the same user.
    let a = ldap_login(&app, &uid.to_uppercase(), "alice-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let me = app.get("me", a.token().as_deref()).await;
    assert_eq!(me.body["data"]["id"].as_i64(), Some(id), "{:?}", me.body);
    assert_eq!(user_count(&app).await, 1);
    assert_eq!(events(&app, EventType::LdapUserCreated).await.len(), 1);
    assert_eq!(events(&app, EventType::LoginSuccess).await.len(), 2);
    // Its password login is not a way in ("!" matches nothing).
    let a = app
        .post(
            "login",
            json!({"account": uid, "password": "alice-pass"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
}

async fn wrong_password_and_unknown_user_answer_alike(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("bob");
    s.add_user(&uid, "bob-pass", None);
    let app = ldap_app(t, search(s)).await;
    let wrong = ldap_login(&app, &uid, "not-bob-pass").await;
    let unknown = ldap_login(&app, &unique("nobody"), "bob-pass").await;
    // An account holding filter syntax finds nobody (RFC 4515 escaping).
    let injected = ldap_login(&app, "*", "bob-pass").await;
    for a in [&wrong, &unknown, &injected] {
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
        assert_eq!(a.code(), "invalid_credentials");
        assert_eq!(a.body, wrong.body);
    }
    // The DN-template mode answers the same (RFC 4514 escaping of a DN-breaking account).
    let app2 = TestApp::with_service(
        TestDb::sqlite().await,
        AuthService::builder()
            .backend("ldap", LdapBackend::new(template(s).build().unwrap()))
            .build(),
    )
    .await;
    for (account, password) in [(uid.as_str(), "x-wrong"), ("nobody,ou=x", "bob-pass")] {
        let a = ldap_login(&app2, account, password).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
        assert_eq!(a.body, wrong.body);
    }
    assert_eq!(user_count(&app).await, 0);
    let failures = events(&app, EventType::LoginFailure).await;
    assert_eq!(failures.len(), 3);
    assert!(
        failures
            .iter()
            .all(|e| e.detail["reason"] == "invalid_credentials"),
        "{failures:?}"
    );
}

async fn an_empty_password_never_binds(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("carol");
    let dn = s.add_user(&uid, "carol-pass", None);
    // The danger is real on this server: an empty password binds, as anonymous.
    assert_eq!(s.whoami(&dn, "").as_deref(), Some("anonymous"));
    let app = ldap_app(t, template(s)).await;
    let a = ldap_login(&app, &uid, "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
    assert_eq!(a.code(), "invalid_credentials");
    assert_eq!(user_count(&app).await, 0);
    drop(app);

    // Neither an empty password nor an account with a control character reaches the
    // server: against an unreachable one, they are refused as bad credentials, not 503.
    let t2 = TestDb::sqlite().await;
    let down = LdapConfig::builder(&format!("ldaps://127.0.0.1:{}", slapd::free_port()))
        .ca_file(&s.ca_file)
        .user_dn_template(&format!("uid={{account}},{PEOPLE}"));
    let app = app_with(t2, down, ThrottleConfig::default()).await;
    for (account, password) in [
        (uid.as_str(), ""),
        ("car\0ol", "carol-pass"),
        ("carol\n", "x"),
    ] {
        let a = ldap_login(&app, account, password).await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "{account:?}: {:?}",
            a.body
        );
        assert_eq!(a.code(), "invalid_credentials");
    }
    let a = ldap_login(&app, &uid, "carol-pass").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", a.body);
}

async fn groups_map_to_roles_at_each_login(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("dave");
    let other = unique("erin");
    let dn = s.add_user(&uid, "dave-pass", None);
    let other_dn = s.add_user(&other, "erin-pass", None);
    let editors = s.add_group(&unique("editors"), &[&dn, &other_dn]);
    let viewers_cn = unique("viewers");
    s.add_group(&viewers_cn, &[&dn]);
    let ghosts = s.add_group(&unique("ghosts"), &[&dn]);
    let config = template(s)
        .group_search(GROUPS, None)
        // By DN (any case) and by cn; a role that does not exist locally is skipped.
        .group_role(&editors.to_uppercase(), "editor")
        .group_role(&viewers_cn, "viewer")
        .group_role(&ghosts, "ghost");
    let app = ldap_app(t, config).await;
    {
        let mut conn = app.t.db.conn().await.unwrap();
        for role in ["editor", "viewer", "local-only"] {
            manage::get_or_create_role(&mut conn, role, None)
                .await
                .unwrap();
        }
    }
    let a = ldap_login(&app, &uid, "dave-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let me = app.get("me", a.token().as_deref()).await;
    let id = me.body["data"]["id"].as_i64().expect("id");
    let roles = |conn_roles: Vec<manage::ScopedRole>| -> Vec<String> {
        conn_roles.into_iter().map(|r| r.role).collect()
    };
    let mut conn = app.t.db.conn().await.unwrap();
    assert_eq!(
        roles(manage::user_roles(&mut conn, id).await.unwrap()),
        ["editor", "viewer"]
    );
    assert!(
        !manage::list_roles(&mut conn)
            .await
            .unwrap()
            .iter()
            .any(|r| r.name == "ghost"),
        "a mapped role unknown locally is not created"
    );
    // A role granted locally, outside the mapping.
    manage::assign_role(&mut conn, id, "local-only", None)
        .await
        .unwrap();
    drop(conn);

    // Dave leaves the editors in the directory: the next login revokes the role.
    s.set_members(&editors, &[&other_dn]);
    let a = ldap_login(&app, &uid, "dave-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let mut conn = app.t.db.conn().await.unwrap();
    assert_eq!(
        roles(manage::user_roles(&mut conn, id).await.unwrap()),
        ["local-only", "viewer"]
    );
    drop(conn);
    let synced = events(&app, EventType::LdapRolesSynced).await;
    assert_eq!(synced.len(), 2, "{synced:?}");
    let details: Vec<_> = synced.iter().map(|e| e.detail.clone()).collect();
    assert!(
        details.contains(&json!({"assigned": ["editor", "viewer"], "revoked": []})),
        "{details:?}"
    );
    assert!(
        details.contains(&json!({"assigned": [], "revoked": ["editor"]})),
        "{details:?}"
    );
    // A login that changes nothing records nothing.
    let a = ldap_login(&app, &uid, "dave-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(events(&app, EventType::LdapRolesSynced).await.len(), 2);

    // Erin holds the mapped role "viewer" by hand (an administrator gave it to her local
    // account, linked to her entry), without the viewers group: the sync leaves it.
    let a = ldap_login(&app, &other, "erin-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let me = app.get("me", a.token().as_deref()).await;
    let erin = me.body["data"]["id"].as_i64().expect("id");
    let mut conn = app.t.db.conn().await.unwrap();
    manage::assign_role(&mut conn, erin, "viewer", None)
        .await
        .unwrap();
    drop(conn);
    let a = ldap_login(&app, &other, "erin-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let mut conn = app.t.db.conn().await.unwrap();
    assert_eq!(
        roles(manage::user_roles(&mut conn, erin).await.unwrap()),
        ["editor", "viewer"],
        "a mapped role given by hand was taken by the sync"
    );
    drop(conn);
    // When the editors group lets her go, the role the sync gave goes; hers stays.
    s.set_members(&editors, &[&dn]);
    let a = ldap_login(&app, &other, "erin-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let mut conn = app.t.db.conn().await.unwrap();
    assert_eq!(
        roles(manage::user_roles(&mut conn, erin).await.unwrap()),
        ["viewer"]
    );
}

async fn search_then_bind_finds_the_entry(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("frank");
    let dn = s.add_user(&uid, "frank-pass", Some(&format!("{uid}@example.org")));
    let app = ldap_app(t, search(s)).await;
    let a = ldap_login(&app, &uid, "frank-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let mut conn = app.t.db.conn().await.unwrap();
    assert!(
        identity::find(&mut conn, "ldap", &dn)
            .await
            .unwrap()
            .is_some()
    );
    drop(conn);

    // A wrong service password is the server's problem, not the user's: 503, no count.
    let broken = LdapConfig::builder(&s.ldaps_url())
        .ca_file(&s.ca_file)
        .user_search(PEOPLE, "(uid={account})")
        .bind_credentials(READER_DN, "not-the-reader-password");
    let app = ldap_app(TestDb::sqlite().await, broken).await;
    let a = ldap_login(&app, &uid, "frank-pass").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", a.body);
    assert_eq!(a.code(), "upstream_unavailable");
}

async fn starttls_ldaps_and_plain(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("grace");
    s.add_user(&uid, "grace-pass", None);
    let dn_template = format!("uid={{account}},{PEOPLE}");
    // Plain ldap:// is refused at configuration time unless allowed.
    let plain = || LdapConfig::builder(&s.ldap_url()).user_dn_template(&dn_template);
    let err = plain().build().unwrap_err();
    assert!(err.to_string().contains("StartTLS"), "{err}");

    let starttls = plain().starttls(true).ca_file(&s.ca_file);
    let app1 = ldap_app(t, starttls).await;
    let a = ldap_login(&app1, &uid, "grace-pass").await;
    assert_eq!(a.status, StatusCode::OK, "StartTLS: {:?}", a.body);

    let app2 = ldap_app(TestDb::sqlite().await, plain().allow_plain(true)).await;
    let a = ldap_login(&app2, &uid, "grace-pass").await;
    assert_eq!(a.status, StatusCode::OK, "allowed plain: {:?}", a.body);

    // Without the test CA (the system's store), the server's certificate is refused.
    let untrusted = LdapConfig::builder(&s.ldaps_url()).user_dn_template(&dn_template);
    if untrusted.clone().build().is_ok() {
        let app3 = ldap_app(TestDb::sqlite().await, untrusted).await;
        let a = ldap_login(&app3, &uid, "grace-pass").await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", a.body);
        assert_eq!(a.code(), "upstream_unavailable");
        assert_eq!(user_count(&app3).await, 0);
    }
    // StartTLS with the wrong CA fails the same way.
    let other_ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        other_ca.path(),
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/ldap_other_ca.pem"
        )),
    )
    .unwrap();
    let app4 = ldap_app(
        TestDb::sqlite().await,
        plain().starttls(true).ca_file(other_ca.path()),
    )
    .await;
    let a = ldap_login(&app4, &uid, "grace-pass").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", a.body);
}

async fn wrong_passwords_are_throttled(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("heidi");
    s.add_user(&uid, "heidi-pass", None);
    let throttle = ThrottleConfig {
        account_limit: 3,
        ..ThrottleConfig::default()
    };
    let app = app_with(t, template(s), throttle).await;
    for _ in 0..3 {
        let a = ldap_login(&app, &uid, "wrong").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
    }
    let a = ldap_login(&app, &uid, "heidi-pass").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", a.body);
    assert_eq!(a.code(), "too_many_attempts");
    assert_eq!(user_count(&app).await, 0);
}

/// A user the directory created has no local password: they reach sudo mode with their
/// directory password (a bind as their entry), and a wrong one is refused.
async fn a_directory_user_reauthenticates_with_the_directory(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("judy");
    s.add_user(&uid, "judy-pass", None);
    let app = ldap_app(t, template(s)).await;
    let a = ldap_login(&app, &uid, "judy-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let token = a.token().expect("session cookie");
    let id = a.body["data"]["id"].as_i64().unwrap();
    app.age_sessions(id, 20 * 60).await;
    let a = app
        .post("api-keys", json!({"name": "ci"}), Some(&token))
        .await;
    assert_eq!(a.code(), "reauthentication_required", "{:?}", a.body);
    let a = app
        .post("reauthenticate", json!({"password": "wrong"}), Some(&token))
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
    let a = app
        .post(
            "reauthenticate",
            json!({"password": "judy-pass"}),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = app
        .post("api-keys", json!({"name": "ci"}), Some(&token))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
}

/// The directory binds every spelling of a name to one entry, so every spelling counts
/// against one throttle key: `bob`, `Bob`, `BOB` and ` bob ` do not each get their tries.
async fn every_spelling_counts_against_one_key(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("ivan");
    s.add_user(&uid, "ivan-pass", None);
    let throttle = ThrottleConfig {
        account_limit: 4,
        ..ThrottleConfig::default()
    };
    let app = app_with(t, template(s), throttle).await;
    let mut title = uid.clone();
    title[..1].make_ascii_uppercase();
    for spelling in [uid.clone(), title, uid.to_uppercase(), format!(" {uid} ")] {
        let a = ldap_login(&app, &spelling, "wrong").await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "{spelling:?}: {:?}",
            a.body
        );
    }
    for spelling in [uid.clone(), uid.to_uppercase()] {
        let a = ldap_login(&app, &spelling, "ivan-pass").await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            "{spelling:?}: {:?}",
            a.body
        );
    }
    assert_eq!(user_count(&app).await, 0);
}

async fn an_unreachable_server_is_a_503_that_writes_nothing(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let down = LdapConfig::builder(&format!("ldaps://127.0.0.1:{}", slapd::free_port()))
        .ca_file(&s.ca_file)
        .user_dn_template(&format!("uid={{account}},{PEOPLE}"))
        .group_search(GROUPS, None)
        .group_role("editors", "editor");
    let throttle = ThrottleConfig {
        account_limit: 2,
        ..ThrottleConfig::default()
    };
    let app = app_with(t, down, throttle).await;
    // More attempts than the limit: none counts, so none is throttled.
    for _ in 0..4 {
        let a = ldap_login(&app, "ivan", "ivan-pass").await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", a.body);
        assert_eq!(a.code(), "upstream_unavailable");
        assert!(a.token().is_none());
    }
    assert_eq!(user_count(&app).await, 0);
    let mut conn = app.t.db.conn().await.unwrap();
    assert!(
        identity::list_for_user(&mut conn, 1)
            .await
            .unwrap()
            .is_empty()
    );
    drop(conn);
    assert!(events(&app, EventType::LoginSuccess).await.is_empty());
    assert!(events(&app, EventType::LdapUserCreated).await.is_empty());
    assert!(
        events(&app, EventType::LoginFailure)
            .await
            .iter()
            .all(|e| e.detail["reason"] != "invalid_credentials")
    );
}

async fn a_local_user_of_the_same_name_is_not_taken_over(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("judy");
    let dn = s.add_user(&uid, "judy-ldap-pass", None);
    let app = ldap_app(t, template(s)).await;
    app.register(&uid, "judy-local-pass-1").await;
    let local = {
        let mut conn = app.t.db.conn().await.unwrap();
        User::find_by_account(&mut conn, &uid)
            .await
            .unwrap()
            .unwrap()
    };
    let a = ldap_login(&app, &uid, "judy-ldap-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let me = app.get("me", a.token().as_deref()).await;
    let ldap_id = me.body["data"]["id"].as_i64().expect("id");
    assert_ne!(ldap_id, local.id, "the local user was taken over");
    let account = me.body["data"]["account"].as_str().unwrap();
    assert!(account.starts_with(&format!("{uid}-")), "{account}");
    let mut conn = app.t.db.conn().await.unwrap();
    assert!(
        identity::list_for_user(&mut conn, local.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        identity::find(&mut conn, "ldap", &dn)
            .await
            .unwrap()
            .unwrap()
            .user_id,
        ldap_id
    );
    drop(conn);
    // The local user still logs in with its own password, as itself.
    let a = app
        .post(
            "login",
            json!({"account": uid, "password": "judy-local-pass-1"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let me = app.get("me", a.token().as_deref()).await;
    assert_eq!(me.body["data"]["id"].as_i64(), Some(local.id));
}

async fn inactive_users_and_registration_are_refused(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("mallory");
    s.add_user(&uid, "mallory-pass", None);
    let app = ldap_app(t, template(s)).await;
    let a = ldap_login(&app, &uid, "mallory-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    {
        let mut conn = app.t.db.conn().await.unwrap();
        let mut user = User::find_by_account(&mut conn, &uid)
            .await
            .unwrap()
            .unwrap();
        user.is_active = false;
        user.update(&mut conn).await.unwrap();
    }
    let a = ldap_login(&app, &uid, "mallory-pass").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{:?}", a.body);
    assert_eq!(a.code(), "inactive_account");

    let a = app
        .post(
            "register",
            json!({"account": unique("new"), "password": "pass-word-1", "platform": "ldap"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{:?}", a.body);
    assert_eq!(user_count(&app).await, 1);
}

/// The same login, configured by the `AUTH_LDAP_*` variables.
async fn the_environment_configures_ldap_login(t: TestDb) {
    let Some(s) = slapd::slapd() else { return };
    let uid = unique("oscar");
    let dn = s.add_user(&uid, "oscar-pass", None);
    let group = unique("ops");
    s.add_group(&group, &[&dn]);
    let ca = s.ca_file.to_str().unwrap().to_owned();
    let config = auth_axum::AuthConfig::default()
        .merge_vars([
            ("AUTH_LDAP_URL", s.ldap_url()),
            ("AUTH_LDAP_STARTTLS", "true".into()),
            ("AUTH_LDAP_CA_FILE", ca),
            ("AUTH_LDAP_SEARCH_BASE", PEOPLE.into()),
            ("AUTH_LDAP_BIND_DN", READER_DN.into()),
            ("AUTH_LDAP_BIND_PASSWORD", READER_PASSWORD.into()),
            ("AUTH_LDAP_GROUP_SEARCH_BASE", GROUPS.into()),
            ("AUTH_LDAP_GROUP_ROLES", format!("{group}=operator")),
        ])
        .expect("AUTH_LDAP_* variables");
    let service = config
        .service_builder::<User>()
        .bcrypt_cost(TEST_COST)
        .build();
    let app = TestApp::with_service(t, service).await;
    {
        let mut conn = app.t.db.conn().await.unwrap();
        manage::get_or_create_role(&mut conn, "operator", None)
            .await
            .unwrap();
    }
    let a = ldap_login(&app, &uid, "oscar-pass").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let me = app.get("me", a.token().as_deref()).await;
    let id = me.body["data"]["id"].as_i64().expect("id");
    let mut conn = app.t.db.conn().await.unwrap();
    let roles: Vec<String> = manage::user_roles(&mut conn, id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.role)
        .collect();
    assert_eq!(roles, ["operator"]);
}

backend_tests!(
    a_directory_user_reauthenticates_with_the_directory,
    every_spelling_counts_against_one_key,
    the_environment_configures_ldap_login,
    first_login_creates_the_user_and_later_logins_reuse_it,
    wrong_password_and_unknown_user_answer_alike,
    an_empty_password_never_binds,
    groups_map_to_roles_at_each_login,
    search_then_bind_finds_the_entry,
    starttls_ldaps_and_plain,
    wrong_passwords_are_throttled,
    an_unreachable_server_is_a_503_that_writes_nothing,
    a_local_user_of_the_same_name_is_not_taken_over,
    inactive_users_and_registration_are_refused,
);
