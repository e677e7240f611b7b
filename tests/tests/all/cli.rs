//! The command-line verbs of `auth_axum::auth_core::cli` on every backend, driven as the binary would
//! (parsed by clap, run with `AuthCommand::run_with`, a given password and an in-memory
//! output) or through their functions: createsuperuser, changepassword, assign-role,
//! revoke-role, cleanup and list-users, with what an attacker or a careless operator would
//! try (weak passwords, taken names, unknown roles, sessions opened before a password
//! change, live rows beside expired ones).

use std::path::Path;
use std::time::Duration;

use auth_axum::HttpConfig;
use auth_axum::auth_core::account_token::{self, Purpose};
use auth_axum::auth_core::api_key::{self, NewApiKey};
use auth_axum::auth_core::audit::{self, AuditEvent, EventFilter, EventType};
use auth_axum::auth_core::backend::AuthError;
use auth_axum::auth_core::cli::{self, AuthCommand, CliError, PasswordSource};
use auth_axum::auth_core::mfa;
use auth_axum::auth_core::migrate::AppMigrations;
use auth_axum::auth_core::rbac::{self, manage};
use auth_axum::auth_core::schema::{auth_refresh_tokens, auth_sessions, auth_throttle};
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::{self, Key, ThrottleConfig};
use auth_axum::{Error, UserStore, auth_core::with_conn};
use auth_axum::{auth_core::refresh_token, auth_core::session};
use auth_tests::http::{TEST_COST, TestApp};
use auth_tests::model::v1::{self, User};
use auth_tests::{TestDb, backend_tests};
use axum::http::StatusCode;
use clap::Parser;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

/// An application embedding the verbs, as the quickstart does.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: AuthCommand,
}

/// Parses `args` as the command line and runs the verb with `password` (an empty one when
/// `None`); returns what it printed.
async fn run(app: &TestApp, args: &[&str], password: Option<&str>) -> Result<String, CliError> {
    let cli = Cli::try_parse_from(std::iter::once("app").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let source = PasswordSource::Given(password.unwrap_or_default().to_owned());
    let mut out = Vec::new();
    cli.command
        .run_with(
            &app.t.db,
            app.auth.service(),
            &AppMigrations::None,
            Path::new("migrations"),
            &source,
            &mut out,
        )
        .await?;
    Ok(String::from_utf8(out).expect("UTF-8 output"))
}

fn given(password: &str) -> PasswordSource {
    PasswordSource::Given(password.to_owned())
}

async fn find(app: &TestApp, account: &str) -> Option<User> {
    let mut conn = app.t.db.conn().await.unwrap();
    User::find_by_account(&mut conn, account).await.unwrap()
}

async fn user_count(app: &TestApp) -> i64 {
    let mut conn = app.t.db.conn().await.unwrap();
    with_conn!(&mut conn, |c| v1::users::table.count().get_result(c).await).unwrap()
}

async fn events(app: &TestApp, event: EventType) -> Vec<AuditEvent> {
    let mut conn = app.t.db.conn().await.unwrap();
    let filter = EventFilter {
        event: Some(event),
        ..EventFilter::default()
    };
    audit::list(&mut conn, &filter, 0, 1000).await.unwrap()
}

fn weak_rule(err: &CliError) -> &'static str {
    match err {
        CliError::Auth(AuthError::WeakPassword(v)) => v.rule(),
        other => panic!("expected a weak password, got {other:?}"),
    }
}

async fn createsuperuser_creates_an_active_superuser(t: TestDb) {
    let app = TestApp::new(t).await;
    let out = run(
        &app,
        &[
            "createsuperuser",
            "--account",
            "root",
            "--email",
            "root@example.com",
        ],
        Some("correct horse"),
    )
    .await
    .unwrap();
    let user = find(&app, "root").await.expect("created");
    assert_eq!(out, format!("Superuser root created (id {}).\n", user.id));
    assert!(user.is_superuser, "superuser");
    assert!(user.is_active, "active");
    assert_eq!(user.email.as_deref(), Some("root@example.com"));
    assert!(user.password.starts_with("$2"), "stored as a bcrypt hash");
    // The password works, and a superuser passes the admin guards.
    let token = app.login("root", "correct horse").await;
    assert_eq!(
        app.get("admin/users", Some(&token)).await.status,
        StatusCode::OK
    );
    // Audited with the actor `cli`; no secret in the row.
    let created = events(&app, EventType::UserChanged).await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].user_id, Some(user.id));
    assert_eq!(created[0].account.as_deref(), Some("root"));
    assert_eq!(
        created[0].detail,
        json!({"action": "created", "superuser": true, "by": "cli"})
    );
    let row = serde_json::to_string(&created[0]).unwrap();
    assert!(!row.contains("correct horse") && !row.contains(&user.password));
}

async fn createsuperuser_refuses_weak_passwords_and_taken_names(t: TestDb) {
    let app = TestApp::new(t).await;
    let (db, service) = (&app.t.db, app.auth.service());
    // The registration policy, rule by rule; nothing is stored.
    for (password, rule) in [
        ("k7#fQ2z", "min_length"),
        ("Password1", "common"),
        ("qwertyuiop", "common"),
        ("my-ROOT-pass", "contains_account"),
        ("toor-backwards", "contains_account"),
    ] {
        let err = cli::createsuperuser(db, service, "root", None, &given(password))
            .await
            .unwrap_err();
        assert_eq!(weak_rule(&err), rule, "{password}");
    }
    let err = run(&app, &["createsuperuser", "--account", "root"], Some("abc"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "password: at least 8 characters");
    let err = cli::createsuperuser(db, service, "root", None, &given(""))
        .await
        .unwrap_err();
    assert!(matches!(err, CliError::Invalid(_)), "{err:?}");
    // The account-name and address rules of registration.
    for (account, email) in [
        (" root", None),
        ("ro\u{1b}ot", None),
        ("", None),
        ("root", Some("not-an-address")),
        ("root", Some("a b@example.com")),
    ] {
        let err = cli::createsuperuser(db, service, account, email, &given("correct horse"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, CliError::Invalid(_)),
            "{account:?} {email:?}: {err:?}"
        );
    }
    assert_eq!(user_count(&app).await, 0, "no refused user is stored");
    assert!(events(&app, EventType::UserChanged).await.is_empty());

    // A taken account name or address is a clear error, and the first user is untouched.
    let root = cli::createsuperuser(
        db,
        service,
        "root",
        Some("root@example.com"),
        &given("correct horse"),
    )
    .await
    .unwrap();
    let err = run(
        &app,
        &["createsuperuser", "--account", "root"],
        Some("other secret words"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CliError::Taken(_)), "{err:?}");
    assert_eq!(err.to_string(), "account \"root\" is taken");
    let err = cli::createsuperuser(
        db,
        service,
        "admin2",
        Some("root@example.com"),
        &given("other secret words"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "e-mail address \"root@example.com\" is taken"
    );
    assert_eq!(user_count(&app).await, 1);
    assert_eq!(find(&app, "root").await.unwrap(), root);
    app.login("root", "correct horse").await;
}

async fn changepassword_ends_sessions_and_follows_the_policy(t: TestDb) {
    let app = TestApp::new(t).await;
    let (id, first) = app.user("alice").await;
    let second = app.login("alice", "pass-word-1").await;
    for token in [&first, &second] {
        // Warm: the session cache holds both.
        assert_eq!(app.get("me", Some(token)).await.status, StatusCode::OK);
    }
    let reset = {
        let mut conn = app.t.db.conn().await.unwrap();
        account_token::issue(
            &mut conn,
            Purpose::PasswordReset,
            id,
            None,
            Duration::from_secs(3600),
        )
        .await
        .unwrap()
    };
    // Lock the account with wrong passwords (5 by default).
    for _ in 0..ThrottleConfig::default().account_limit {
        let a = app
            .post(
                "login",
                json!({"account": "alice", "password": "wrong guess 1"}),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
    }

    // A weak password is refused and changes nothing.
    let err = run(&app, &["changepassword", "alice"], Some("my-ALICE-pass"))
        .await
        .unwrap_err();
    assert_eq!(weak_rule(&err), "contains_account");
    let err = run(&app, &["changepassword", "alice"], Some("password"))
        .await
        .unwrap_err();
    assert_eq!(weak_rule(&err), "common");
    for token in [&first, &second] {
        assert_eq!(app.get("me", Some(token)).await.status, StatusCode::OK);
    }
    assert!(events(&app, EventType::PasswordChanged).await.is_empty());
    // An API key made before: a password set without the old one ends it too.
    let key = app
        .post("api-keys", json!({"name": "ci"}), Some(&first))
        .await
        .body["data"]["key"]
        .as_str()
        .unwrap()
        .to_owned();

    let out = run(
        &app,
        &["changepassword", "--account", "alice"],
        Some("new secret words"),
    )
    .await
    .unwrap();
    assert_eq!(out, "Password of alice changed; 2 session(s) ended.\n");
    let by_key = app
        .call_bare(
            axum::http::Method::GET,
            "/api/contrib/auth/me",
            None,
            &[("authorization", &format!("Bearer {key}"))],
        )
        .await;
    assert_eq!(by_key.status, StatusCode::UNAUTHORIZED, "the key ended");
    // The sessions opened before no longer resolve, warm cache or not.
    for token in [&first, &second] {
        assert_eq!(
            app.get("me", Some(token)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let mut conn = app.t.db.conn().await.unwrap();
    assert!(
        User::find_by_session(&mut conn, &session::hash_token(&first))
            .await
            .unwrap()
            .is_none()
    );
    // The outstanding reset link died with the old password.
    assert!(
        account_token::peek(&mut conn, Purpose::PasswordReset, &reset)
            .await
            .is_err()
    );
    drop(conn);
    // The old password is refused; the new one works at once (the lock was cleared).
    let old = app
        .post(
            "login",
            json!({"account": "alice", "password": "pass-word-1"}),
            None,
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{:?}", old.body);
    app.login("alice", "new secret words").await;
    // Audited with the actor `cli`.
    let changed = events(&app, EventType::PasswordChanged).await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].user_id, Some(id));
    assert_eq!(
        changed[0].detail,
        json!({"ended_sessions": 2, "ended_api_keys": 1, "by": "cli"})
    );

    let err = cli::changepassword(
        &app.t.db,
        app.auth.service(),
        "nobody",
        &given("new secret words"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CliError::UnknownAccount(_)), "{err:?}");
    assert_eq!(err.to_string(), "no account \"nobody\"");
}

async fn assign_and_revoke_role(t: TestDb) {
    let app = TestApp::new(t).await;
    let (id, _) = app.user("bob").await;
    let mut conn = app.t.db.conn().await.unwrap();
    manage::get_or_create_role(&mut conn, "Editor", None)
        .await
        .unwrap();
    manage::get_or_create_permission(&mut conn, "article.edit", "")
        .await
        .unwrap();
    manage::grant_permission(&mut conn, "Editor", "article.edit")
        .await
        .unwrap();
    let version = rbac::version(&mut conn).await.unwrap();
    drop(conn);

    // Unknown role or account: an error, and nothing changes.
    let err = run(&app, &["assign-role", "bob", "Superboss"], None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CliError::Storage(Error::NotFound(_))),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "role \"Superboss\" not found");
    let err = run(&app, &["assign-role", "nobody", "Editor"], None)
        .await
        .unwrap_err();
    assert!(matches!(err, CliError::UnknownAccount(_)), "{err:?}");
    let mut conn = app.t.db.conn().await.unwrap();
    assert!(manage::user_roles(&mut conn, id).await.unwrap().is_empty());
    assert_eq!(rbac::version(&mut conn).await.unwrap(), version);
    drop(conn);
    assert!(events(&app, EventType::RoleAssigned).await.is_empty());

    // Positional or named; a second assignment changes nothing.
    let out = run(&app, &["assign-role", "bob", "Editor"], None)
        .await
        .unwrap();
    assert_eq!(out, "bob now holds Editor.\n");
    let out = run(
        &app,
        &["assign-role", "--account", "bob", "--role", "Editor"],
        None,
    )
    .await
    .unwrap();
    assert_eq!(out, "bob already holds Editor.\n");
    let mut conn = app.t.db.conn().await.unwrap();
    let grants = rbac::grants(&mut conn, id, None).await.unwrap();
    assert!(grants.permissions.contains("article.edit"), "{grants:?}");
    drop(conn);
    let assigned = events(&app, EventType::RoleAssigned).await;
    assert_eq!(assigned.len(), 1, "only the real change: {assigned:?}");
    assert_eq!(assigned[0].user_id, Some(id));
    assert_eq!(
        assigned[0].detail,
        json!({"roles": ["Editor"], "by": "cli"})
    );

    let err = run(&app, &["revoke-role", "bob", "Superboss"], None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "role \"Superboss\" not found");
    let out = run(&app, &["revoke-role", "bob", "Editor"], None)
        .await
        .unwrap();
    assert_eq!(out, "bob no longer holds Editor.\n");
    let out = run(&app, &["revoke-role", "bob", "Editor"], None)
        .await
        .unwrap();
    assert_eq!(out, "bob did not hold Editor.\n");
    let mut conn = app.t.db.conn().await.unwrap();
    let grants = rbac::grants(&mut conn, id, None).await.unwrap();
    assert!(grants.permissions.is_empty(), "{grants:?}");
    drop(conn);
    let revoked = events(&app, EventType::RoleRevoked).await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0].detail, json!({"roles": ["Editor"], "by": "cli"}));
}

/// The throttle keys left, sorted.
async fn throttle_keys(app: &TestApp) -> Vec<String> {
    let mut conn = app.t.db.conn().await.unwrap();
    with_conn!(&mut conn, |c| {
        auth_throttle::table
            .order(auth_throttle::throttle_key)
            .select(auth_throttle::throttle_key)
            .load::<String>(c)
            .await
    })
    .unwrap()
}

async fn cleanup_deletes_only_expired_rows(t: TestDb) {
    let app = TestApp::new(t).await;
    let (carol, live) = app.user("carol").await;
    let (dave, _) = app.user("dave").await;
    let now = session::now();
    let past = now - Duration::from_secs(60);
    // Three expired sessions (idle or absolute expiry passed) beside the live ones.
    for (idle, absolute) in [
        (past, now + Duration::from_secs(3600)),
        (now + Duration::from_secs(3600), past),
        (past, past),
    ] {
        let token = app.login("carol", "pass-word-1").await;
        let hash = session::hash_token(&token);
        let mut conn = app.t.db.conn().await.unwrap();
        let n = with_conn!(&mut conn, |c| {
            diesel::update(auth_sessions::table.filter(auth_sessions::token_hash.eq(&hash)))
                .set((
                    auth_sessions::idle_expires_at.eq(idle),
                    auth_sessions::absolute_expires_at.eq(absolute),
                ))
                .execute(c)
                .await
        })
        .unwrap();
        assert_eq!(n, 1);
    }
    let mut conn = app.t.db.conn().await.unwrap();
    // Two expired account tokens, one live.
    for (user, purpose, ttl) in [
        (carol, Purpose::PasswordReset, Duration::ZERO),
        (dave, Purpose::PasswordReset, Duration::ZERO),
        (carol, Purpose::VerifyEmail, Duration::from_secs(3600)),
    ] {
        account_token::issue(&mut conn, purpose, user, Some("c@example.com"), ttl)
            .await
            .unwrap();
    }
    let live_verify = account_token::issue(
        &mut conn,
        Purpose::VerifyEmail,
        dave,
        Some("d@example.com"),
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    // Two expired API keys, one that expires later, one that never does.
    for (name, expires_at) in [
        ("gone", Some(past)),
        ("gone too", Some(past)),
        ("later", Some(now + Duration::from_secs(3600))),
        ("never", None),
    ] {
        api_key::create(
            &mut conn,
            NewApiKey {
                user_id: carol,
                name,
                permissions: None,
                expires_at,
            },
        )
        .await
        .unwrap();
    }
    // Refresh tokens of carol's live session: two expired, one live.
    let family = session::list_for_user(&mut conn, carol).await.unwrap()[0].id;
    for expires_at in [past, past, now + Duration::from_secs(3600)] {
        refresh_token::issue(&mut conn, family, expires_at)
            .await
            .unwrap();
    }
    // MFA login challenges: three expired, one live.
    for ttl in [
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::from_secs(300),
    ] {
        mfa::challenge::issue(
            &mut conn,
            dave,
            mfa::challenge::Finish::Session,
            "default",
            ttl,
            now,
        )
        .await
        .unwrap();
    }
    // Throttle rows: two stale (one never locked, one whose lock ended), one stale but
    // locked now, one fresh.
    let config = ThrottleConfig::default();
    for key in ["stale", "stale-lock-ended", "stale-but-locked", "fresh"] {
        throttle::reserve(&mut conn, &[(Key::account(key), 5)], &config)
            .await
            .unwrap();
    }
    let long_ago = now - Duration::from_secs(2 * 24 * 3600);
    for (key, locked_until) in [
        ("stale", None),
        ("stale-lock-ended", Some(now - Duration::from_secs(3600))),
        ("stale-but-locked", Some(now + Duration::from_secs(3600))),
    ] {
        with_conn!(&mut conn, |c| {
            diesel::update(auth_throttle::table.filter(auth_throttle::throttle_key.eq(key)))
                .set((
                    auth_throttle::updated_at.eq(long_ago),
                    auth_throttle::window_started_at.eq(long_ago),
                    auth_throttle::locked_until.eq(locked_until),
                ))
                .execute(c)
                .await
        })
        .unwrap();
    }
    drop(conn);
    // OAuth logins under way: one live, then one past its time (a start sweeps the expired
    // ones, so the expired one comes last).
    {
        let mut conn = app.t.db.conn().await.unwrap();
        for (s, ttl) in [("live-state", 600), ("old-state", 0)] {
            store_state(&mut conn, s, Duration::from_secs(ttl)).await;
        }
    }

    // Small batches: several statements per kind.
    let out = run(&app, &["cleanup", "--batch", "2"], None).await.unwrap();
    assert_eq!(
        out,
        "expired sessions deleted: 3\n\
         expired account tokens deleted: 2\n\
         expired API keys deleted: 2\n\
         expired refresh tokens deleted: 2\n\
         stale throttle rows deleted: 2\n\
         expired MFA login challenges deleted: 3\n\
         expired OAuth logins deleted: 1\n\
         expired passkey ceremonies deleted: 0\n"
    );
    // Everything live is still there and still works.
    assert_eq!(app.get("me", Some(&live)).await.status, StatusCode::OK);
    let mut conn = app.t.db.conn().await.unwrap();
    assert_eq!(
        session::list_for_user(&mut conn, carol)
            .await
            .unwrap()
            .len(),
        1
    );
    let remaining: i64 = with_conn!(&mut conn, |c| {
        auth_sessions::table.count().get_result(c).await
    })
    .unwrap();
    assert_eq!(remaining, 2, "carol's and dave's live sessions");
    account_token::peek(&mut conn, Purpose::VerifyEmail, &live_verify)
        .await
        .expect("a live token is kept");
    let mut keys: Vec<String> = api_key::list_for_user(&mut conn, carol)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    keys.sort();
    assert_eq!(keys, ["later", "never"]);
    let refresh_left: i64 = with_conn!(&mut conn, |c| {
        auth_refresh_tokens::table.count().get_result(c).await
    })
    .unwrap();
    assert_eq!(refresh_left, 1, "the live refresh token is kept");
    let challenges_left: i64 = with_conn!(&mut conn, |c| {
        auth_axum::auth_core::schema::auth_mfa_challenges::table
            .count()
            .get_result(c)
            .await
    })
    .unwrap();
    assert_eq!(challenges_left, 1, "the live MFA challenge is kept");
    drop(conn);
    assert_eq!(throttle_keys(&app).await, ["fresh", "stale-but-locked"]);

    // Nothing left to do.
    let cleaned = cli::cleanup(&app.t.db, app.auth.service(), 1000)
        .await
        .unwrap();
    assert_eq!(cleaned, cli::Cleaned::default());
}

async fn list_users_shows_flags_never_hashes(t: TestDb) {
    let app = TestApp::new(t).await;
    let root = cli::createsuperuser(
        &app.t.db,
        app.auth.service(),
        "root",
        Some("root@example.com"),
        &given("correct horse"),
    )
    .await
    .unwrap();
    app.register("erin", "pass-word-1").await;
    let mut erin = find(&app, "erin").await.unwrap();
    erin.is_active = false;
    let mut conn = app.t.db.conn().await.unwrap();
    assert!(erin.update(&mut conn).await.unwrap());
    drop(conn);

    let out = run(&app, &["list-users"], None).await.unwrap();
    assert_eq!(
        out,
        format!(
            "id\taccount\temail\tactive\tsuperuser\n\
             {}\troot\troot@example.com\tyes\tyes\n\
             {}\terin\t-\tno\tno\n",
            root.id, erin.id
        )
    );
    assert!(!out.contains(&root.password) && !out.contains(&erin.password));
    assert!(!out.contains("$2"), "no bcrypt hash: {out}");
}

/// Stores an OAuth login under way, started a second ago, that lives `ttl`.
async fn store_state(conn: &mut auth_axum::DbConn, name: &str, ttl: Duration) {
    auth_axum::auth_core::oauth::state::store(
        conn,
        auth_axum::auth_core::oauth::state::NewPending {
            state: name,
            browser_token: "b",
            provider: "p",
            pkce_verifier: "v",
            nonce: "n",
            next: "/",
            link_user_id: None,
            reauth_session_id: None,
        },
        session::now() - time::Duration::seconds(1),
        ttl,
    )
    .await
    .unwrap();
}

/// The expired rows also go in the background, without the command: an OAuth login
/// started and abandoned (a public route writes it) and an expired session.
async fn expired_rows_are_purged_in_the_background(t: TestDb) {
    use auth_axum::auth_core::pause::Point;
    use auth_axum::auth_core::schema::auth_oauth_states;
    let http = HttpConfig {
        purge_interval: Duration::from_millis(10),
        ..TestApp::http_config()
    };
    let service = AuthService::builder().bcrypt_cost(TEST_COST).build();
    let app = TestApp::with_config(t, service, http).await;
    let pauses = auth_tests::pause::Pauses::install(&app.t.db);
    let (id, token) = app.user("erin").await;
    let mut conn = app.t.db.conn().await.unwrap();
    store_state(&mut conn, "abandoned", Duration::ZERO).await;
    let past = session::now() - time::Duration::hours(1);
    with_conn!(&mut conn, |c| {
        diesel::update(auth_sessions::table.filter(auth_sessions::user_id.eq(id)))
            .set(auth_sessions::idle_expires_at.eq(past))
            .execute(c)
            .await
    })
    .unwrap();
    drop(conn);
    // Two purges from now: the second began after the rows were written.
    for _ in 0..2 {
        let mut purged = pauses.hold(Point::Purged);
        tokio::time::timeout(Duration::from_secs(30), purged.reached())
            .await
            .expect("no background purge ran");
        purged.release();
    }
    let mut conn = app.t.db.conn().await.unwrap();
    let sessions: i64 = with_conn!(&mut conn, |c| {
        auth_sessions::table.count().get_result(c).await
    })
    .unwrap();
    let states: i64 = with_conn!(&mut conn, |c| {
        auth_oauth_states::table.count().get_result(c).await
    })
    .unwrap();
    assert_eq!((sessions, states), (0, 0));
    assert_eq!(
        app.get("me", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

backend_tests!(
    expired_rows_are_purged_in_the_background,
    createsuperuser_creates_an_active_superuser,
    createsuperuser_refuses_weak_passwords_and_taken_names,
    changepassword_ends_sessions_and_follows_the_policy,
    assign_and_revoke_role,
    cleanup_deletes_only_expired_rows,
    list_users_shows_flags_never_hashes,
);
