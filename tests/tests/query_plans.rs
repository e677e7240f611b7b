//! Every query on a request, login, token or admin path finds its rows through an index:
//! none scans a whole table (issue: `auth_sessions.token_hash` was `CHAR(64)` on
//! PostgreSQL while the queries bind TEXT, so the session lookup of every request scanned
//! `auth_sessions`).
//!
//! The same flows run on each server backend, over HTTP: register, login (also a failed
//! one), `GET me`, a `#[login_required]` and a `#[permission_required]` route,
//! change-password, forgot-password, reset-password and verify with tokens issued by
//! `account_token::issue`, the session list and revocation, the admin routes, logout.
//!
//! - PostgreSQL: the test database gets `enable_seqscan = off` before any connection opens,
//!   so every connection of the pool plans with it: the planner then takes an index
//!   whenever one can serve the query, and a sequential scan remains only where no index
//!   can. The flows run on a pool of their own; before and after them every other
//!   connection to the test database is ended and awaited (a backend flushes its
//!   statistics before it leaves `pg_stat_activity`), and `pg_stat_user_tables.seq_scan`
//!   must not have grown on the checked tables. Only this test's database is read.
//! - MariaDB / MySQL (no per-table scan counters without `performance_schema`, which is
//!   off here): every statement the pool runs for this test's database is captured by a
//!   Diesel instrumentation (keyed by the connection URL, so tests running beside it do
//!   not mix in), its binds are written back as literals, and `EXPLAIN` runs on a
//!   dedicated connection with `max_seeks_for_key = 1` (the optimizer then takes an index
//!   whenever one can serve the query, like `enable_seqscan = off`). No checked table may
//!   show the access type `ALL` (whole table) or `index` (whole index).
//! - SQLite: the same capture, and `EXPLAIN QUERY PLAN` on a connection of its own: no
//!   checked table may be `SCAN`ned (whole table or whole index) by a statement with a
//!   WHERE clause, outside the admin list pages. (`CHAR(64)` has TEXT affinity there, so a
//!   TEXT bind and the column compare through the index.)

use std::collections::BTreeMap;
use std::sync::{Mutex, Once};
use std::time::Duration;

use auth_axum::auth_core::account_mail::AccountMail;
use auth_axum::auth_core::account_token::{self, Purpose};
use auth_axum::auth_core::jwt::JwtConfig;
use auth_axum::auth_core::mail::SmtpMailer;
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::AuthService;
use auth_axum::{
    Auth, Backend, CurrentUser, Database, UserStore, login_required, permission_required,
};
use auth_tests::TestDb;
use auth_tests::http::{Answer, HOST, ORIGIN, TEST_COST, TestApp, migrate_user_table, send};
use auth_tests::model::v1::User;
use auth_tests::smtp::SmtpServer;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::get;
use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{Connection, QueryableByName, SqliteConnection};
use diesel_async::{AsyncConnection as _, AsyncMysqlConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

/// Tables a hot path must reach through an index.
const CHECKED: &[&str] = &[
    "users",
    "auth_sessions",
    "auth_tokens",
    "auth_api_keys",
    "auth_refresh_tokens",
    "auth_events",
    "auth_throttle",
    "auth_user_status",
    "auth_user_roles",
    "auth_user_groups",
    "auth_group_roles",
    "auth_role_permissions",
    "auth_mfa_totp",
    "auth_mfa_backup_codes",
    "auth_mfa_challenges",
    "auth_identities",
    "auth_oauth_states",
];

/// PostgreSQL: unique indexes the flows' lookups must go through.
const LOOKUP_INDEXES: &[&str] = &[
    "auth_sessions_token_hash_key",
    "auth_tokens_token_hash_key",
    "auth_api_keys_key_hash",
    "auth_refresh_tokens_token_hash",
    "users_account_key",
    "users_email_key",
];

#[login_required]
async fn members(user: CurrentUser<User>) -> String {
    user.account.clone()
}

#[permission_required("article.create")]
async fn write_article() -> &'static str {
    "ok"
}

/// The flows' client: one router, same-origin headers.
struct Client {
    router: Router,
}

impl Client {
    async fn call(&self, method: Method, path: &str, body: Option<Value>, token: &str) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/api/contrib/auth/{path}"))
            .header("host", HOST)
            .header("origin", ORIGIN);
        if !token.is_empty() {
            req = req.header("cookie", format!("auth_session={token}"));
        }
        let req = match body {
            Some(body) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => req.body(Body::empty()),
        };
        send(&self.router, req.unwrap()).await
    }

    async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: &str,
        status: StatusCode,
    ) -> Answer {
        let a = self.call(method.clone(), path, body, token).await;
        assert_eq!(a.status, status, "{method} {path}: {:?}", a.body);
        a
    }

    async fn login(&self, account: &str, password: &str) -> String {
        let body = json!({"account": account, "password": password});
        let a = self
            .expect(Method::POST, "login", Some(body), "", StatusCode::OK)
            .await;
        a.token().expect("login sets the session cookie")
    }

    async fn get_outside(&self, path: &str, token: &str) {
        let req = Request::get(path)
            .header("host", HOST)
            .header("cookie", format!("auth_session={token}"))
            .body(Body::empty())
            .unwrap();
        let a = send(&self.router, req).await;
        assert_eq!(a.status, StatusCode::OK, "GET {path}: {:?}", a.body);
    }
}

/// Registers, logs in, uses and ends sessions, resets and verifies, and administers, all
/// on `db`. The role `Writer` (granting `article.create`) and the built-in roles exist.
async fn drive(db: &Database) {
    // Account mail goes to a local SMTP server (forgot-password needs a mailer).
    let server = SmtpServer::start();
    let mailer = SmtpMailer::from_url(&server.url(), "Accounts <accounts@example.test>").unwrap();
    let service = AuthService::<User>::builder()
        .bcrypt_cost(TEST_COST)
        .mail(AccountMail::new(
            mailer,
            "http://localhost/api/contrib/auth",
            "Test App",
        ))
        .jwt(JwtConfig::ephemeral())
        .build();
    let auth = Auth::with_http(db.clone(), service, TestApp::http_config());
    let router = auth_tests::http::router(&auth)
        .route("/members", get(members))
        .route("/articles", get(write_article))
        .layer(auth.layer());
    let c = Client { router };
    let created = StatusCode::CREATED;
    let ok = StatusCode::OK;

    for (account, email) in [
        ("alice", "alice@example.test"),
        ("bob", "bob@example.test"),
        ("root", "root@example.test"),
    ] {
        let body = json!({"account": account, "password": "pass-word-1", "email": email});
        c.expect(Method::POST, "register", Some(body), "", created)
            .await;
    }
    // The confirmation mails of the three registrations.
    for _ in 0..3 {
        server.next_mail().await;
    }
    let mut conn = db.conn().await.unwrap();
    let alice = User::find_by_account(&mut conn, "alice")
        .await
        .unwrap()
        .unwrap();
    let mut root = User::find_by_account(&mut conn, "root")
        .await
        .unwrap()
        .unwrap();
    root.is_superuser = true;
    root.update(&mut conn).await.unwrap();
    manage::assign_role(&mut conn, alice.id, "Writer", None)
        .await
        .unwrap();

    // Login: a failure (throttle counters), then successes.
    let wrong = json!({"account": "bob", "password": "not-the-password"});
    c.expect(
        Method::POST,
        "login",
        Some(wrong),
        "",
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let bob = c.login("bob", "pass-word-1").await;
    let session = c.login("alice", "pass-word-1").await;
    let second = c.login("alice", "pass-word-1").await;

    // The request path: the session lookup, guards, the permission check.
    c.expect(Method::GET, "me", None, &session, ok).await;
    c.get_outside("/private", &session).await;
    c.get_outside("/members", &session).await;
    c.get_outside("/articles", &session).await;
    c.get_outside("/articles", &session).await;

    // Sessions: list, revoke the second.
    let list = c.expect(Method::GET, "sessions", None, &session, ok).await;
    let other = list.body["data"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["current"] != true))
        .and_then(|s| s["id"].as_i64())
        .unwrap_or_else(|| panic!("two sessions: {:?}", list.body));
    c.expect(
        Method::DELETE,
        &format!("sessions/{other}"),
        None,
        &session,
        ok,
    )
    .await;
    c.expect(Method::GET, "me", None, &second, StatusCode::UNAUTHORIZED)
        .await;

    // Change password (ends the other sessions, keeps this one).
    let body = json!({"old_password": "pass-word-1", "new_password": "pass-word-2"});
    c.expect(Method::POST, "change-password", Some(body), &session, ok)
        .await;

    // Tokens: forgot-password by account and by e-mail (each answered at once, the mail
    // sent in the background: wait for both mails, so that their token writes are done),
    // then reset and verify with tokens issued here.
    let body = json!({"account": "alice"});
    c.expect(
        Method::POST,
        "forgot-password",
        Some(body),
        "",
        StatusCode::ACCEPTED,
    )
    .await;
    let body = json!({"email": "bob@example.test"});
    c.expect(
        Method::POST,
        "forgot-password",
        Some(body),
        "",
        StatusCode::ACCEPTED,
    )
    .await;
    // (The password change's notice, which carries no link, may come between.)
    let mut resets = 0;
    while resets < 2 {
        let mail = server.next_mail().await;
        if mail
            .first_link()
            .is_some_and(|l| l.contains("reset-password"))
        {
            resets += 1;
        }
    }
    let day = Duration::from_secs(86_400);
    let reset = account_token::issue(&mut conn, Purpose::PasswordReset, alice.id, None, day)
        .await
        .unwrap();
    c.expect(
        Method::GET,
        &format!("reset-password?token={reset}"),
        None,
        "",
        ok,
    )
    .await;
    let body = json!({"token": reset, "new_password": "pass-word-3"});
    c.expect(Method::POST, "reset-password", Some(body), "", ok)
        .await;
    let verify = account_token::issue(
        &mut conn,
        Purpose::VerifyEmail,
        alice.id,
        Some("alice@example.test"),
        day,
    )
    .await
    .unwrap();
    c.expect(Method::GET, &format!("verify?token={verify}"), None, "", ok)
        .await;
    c.expect(
        Method::POST,
        "verify",
        Some(json!({"token": verify})),
        "",
        ok,
    )
    .await;
    drop(conn);
    let session = c.login("alice", "pass-word-3").await;
    c.expect(Method::GET, "me", None, &session, ok).await;

    // Admin routes, as a superuser.
    let admin = c.login("root", "pass-word-1").await;
    let id = alice.id;
    for path in [
        "admin/users".to_owned(),
        "admin/users?account=ali".to_owned(),
        format!("admin/users/{id}"),
        "admin/roles".to_owned(),
        "admin/groups".to_owned(),
        "admin/permissions".to_owned(),
        "admin/overview".to_owned(),
        "admin/events".to_owned(),
        format!("admin/events?user={id}"),
        "admin/locks".to_owned(),
    ] {
        c.expect(Method::GET, &path, None, &admin, ok).await;
    }
    let body = json!({"roles": ["Writer"]});
    c.expect(
        Method::PUT,
        &format!("admin/users/{id}/roles"),
        Some(body),
        &admin,
        ok,
    )
    .await;
    c.get_outside("/articles", &session).await;

    // API keys: created, used (the lookup by hash and the owner), listed, revoked.
    let key = c
        .expect(
            Method::POST,
            "api-keys",
            Some(json!({"name": "plans"})),
            &session,
            created,
        )
        .await;
    let key_id = key.body["data"]["id"].as_i64().unwrap();
    let key = key.body["data"]["key"].as_str().unwrap().to_owned();
    for path in ["/members", "/articles"] {
        let req = Request::get(path)
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        let a = send(&c.router, req).await;
        assert_eq!(a.status, StatusCode::OK, "bearer GET {path}: {:?}", a.body);
    }
    c.expect(Method::GET, "api-keys", None, &session, ok).await;
    c.expect(
        Method::DELETE,
        &format!("api-keys/{key_id}"),
        None,
        &session,
        ok,
    )
    .await;

    // JWT: a token login, bearer requests (the session by id, the owner), a refresh, a
    // reuse (the family ends), a revocation.
    let body = json!({"account": "alice", "password": "pass-word-3"});
    let pair = c.expect(Method::POST, "token", Some(body), "", ok).await;
    let access = pair.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = pair.body["data"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in ["/members", "/articles"] {
        let req = Request::get(path)
            .header("authorization", format!("Bearer {access}"))
            .body(Body::empty())
            .unwrap();
        let a = send(&c.router, req).await;
        assert_eq!(a.status, StatusCode::OK, "JWT GET {path}: {:?}", a.body);
    }
    let body = json!({"refresh_token": refresh});
    let next = c
        .expect(Method::POST, "token/refresh", Some(body.clone()), "", ok)
        .await;
    let unauthorized = StatusCode::UNAUTHORIZED;
    c.expect(Method::POST, "token/refresh", Some(body), "", unauthorized)
        .await;
    let body = json!({"refresh_token": next.body["data"]["refresh_token"]});
    c.expect(Method::POST, "token/revoke", Some(body), "", ok)
        .await;

    // Logout ends the session.
    c.expect(Method::POST, "logout", None, &bob, ok).await;
    c.expect(Method::GET, "me", None, &bob, StatusCode::UNAUTHORIZED)
        .await;
}

/// Migrates, creates the built-in roles and `Writer` (granting `article.create`).
async fn setup(t: &TestDb) -> tempfile::TempDir {
    let dir = migrate_user_table(t).await;
    let mut conn = t.db.conn().await.unwrap();
    manage::bootstrap(&mut conn).await.unwrap();
    manage::get_or_create_role(&mut conn, "Writer", None)
        .await
        .unwrap();
    manage::get_or_create_permission(&mut conn, "article.create", "")
        .await
        .unwrap();
    manage::grant_permission(&mut conn, "Writer", "article.create")
        .await
        .unwrap();
    dir
}

/// The database name of a server URL.
fn db_name(url: &str) -> &str {
    let path = url.split('?').next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
}

// ---------------------------------------------------------------------------------------
// PostgreSQL: sequential scans counted per table.

#[derive(QueryableByName)]
struct TableScans {
    #[diesel(sql_type = Text)]
    relname: String,
    #[diesel(sql_type = BigInt)]
    seq_scan: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    idx_scan: Option<i64>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Ends every other connection to the test database and waits until they are gone, so
/// that their statistics are flushed; then reads the per-table scan counters.
async fn quiesce_and_read(c: &mut AsyncPgConnection) -> BTreeMap<String, (i64, i64)> {
    diesel::sql_query(
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .get_result::<Count>(c)
    .await
    .unwrap();
    // A backend flushes its statistics before it leaves pg_stat_activity: wait for that.
    for _ in 0..6000 {
        let left = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .get_result::<Count>(c)
        .await
        .unwrap();
        if left.n == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    diesel::sql_query("SELECT pg_stat_clear_snapshot()")
        .execute(c)
        .await
        .unwrap();
    diesel::sql_query(
        "SELECT relname::text AS relname, seq_scan, idx_scan FROM pg_stat_user_tables \
         UNION ALL SELECT 'index ' || indexrelname, 0, idx_scan FROM pg_stat_user_indexes",
    )
    .load::<TableScans>(c)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.relname, (r.seq_scan, r.idx_scan.unwrap_or(0))))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_hot_paths_use_indexes() {
    let Some(t) = TestDb::server(Backend::Postgres).await else {
        return;
    };
    let name = db_name(&t.url).to_owned();
    let mut stats = AsyncPgConnection::establish(&t.url).await.unwrap();
    // Before the pool opens its first connection: every later session inherits it.
    diesel::sql_query(format!("ALTER DATABASE {name} SET enable_seqscan = off"))
        .execute(&mut stats)
        .await
        .unwrap();
    let _migrations = setup(&t).await;

    let before = quiesce_and_read(&mut stats).await;
    let db = Database::connect(&t.url).unwrap();
    drive(&db).await;
    drop(db);
    let after = quiesce_and_read(&mut stats).await;

    let mut report = Vec::new();
    let mut scanned = Vec::new();
    for (table, (seq, idx)) in after.iter().filter(|(k, _)| !k.starts_with("index ")) {
        let (seq0, idx0) = before.get(table).copied().unwrap_or((0, 0));
        let (seq, idx) = (seq - seq0, idx - idx0);
        report.push(format!("{table}: seq_scan +{seq}, idx_scan +{idx}"));
        if seq > 0 && CHECKED.contains(&table.as_str()) {
            scanned.push(format!("{table} (+{seq})"));
        }
    }
    eprintln!(
        "postgres scans during the flows:\n  {}",
        report.join("\n  ")
    );
    // With no sequential scan at all, PostgreSQL can still walk a whole index whose later
    // column matches (`auth_tokens_user` for `purpose = $2` when the hash index cannot
    // serve a TEXT bind): the lookups by hash, account and e-mail must use their own
    // unique indexes.
    for index in LOOKUP_INDEXES {
        let key = format!("index {index}");
        let used = after.get(&key).map_or(0, |s| s.1) - before.get(&key).map_or(0, |s| s.1);
        if used == 0 {
            scanned.push(format!("{index} unused"));
        }
    }
    assert!(
        scanned.is_empty(),
        "sequential scans on hot-path tables, or lookups missing their index: {}",
        scanned.join(", ")
    );
}

// ---------------------------------------------------------------------------------------
// MariaDB / MySQL: every captured statement explained.

/// Statements run by MySQL and SQLite connections, with the URL of their connection.
static CAPTURED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Records the statements of MySQL and SQLite connections (the URL comes first, at
/// establishment).
struct Capture {
    url: Option<String>,
}

impl Instrumentation for Capture {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                self.url = (!url.starts_with("postgres")).then(|| url.to_owned());
            }
            InstrumentationEvent::StartQuery { query, .. } => {
                if let Some(url) = &self.url {
                    CAPTURED
                        .lock()
                        .unwrap()
                        .push((url.clone(), query.to_string()));
                }
            }
            _ => {}
        }
    }
}

/// Takes the captured statements of connections whose URL `mine` accepts.
fn take_captured(mine: impl Fn(&str) -> bool) -> Vec<String> {
    let mut all = CAPTURED.lock().unwrap();
    let (mine, others): (Vec<_>, Vec<_>) = all.drain(..).partition(|(url, _)| mine(url));
    *all = others;
    mine.into_iter().map(|(_, q)| q).collect()
}

/// Splits Diesel's debug text `SQL -- binds: [a, b]` into the SQL and the bind items.
fn split_debug(text: &str) -> (String, Vec<String>) {
    let Some((sql, binds)) = text.rsplit_once(" -- binds: ") else {
        return (text.to_owned(), Vec::new());
    };
    let inner = binds
        .trim()
        .strip_prefix('[')
        .and_then(|b| b.strip_suffix(']'))
        .unwrap_or("");
    let mut items = Vec::new();
    let (mut cur, mut depth, mut quoted, mut escaped) = (String::new(), 0i32, false, false);
    for ch in inner.chars() {
        if quoted {
            cur.push(ch);
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                quoted = false;
            }
            continue;
        }
        match ch {
            '"' => {
                quoted = true;
                cur.push(ch);
            }
            '(' | '[' => {
                depth += 1;
                cur.push(ch);
            }
            ')' | ']' => {
                depth -= 1;
                cur.push(ch);
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut cur).trim().to_owned()),
            _ => cur.push(ch),
        }
    }
    if !cur.trim().is_empty() {
        items.push(cur.trim().to_owned());
    }
    (sql.to_owned(), items)
}

/// A bind's debug text as a MySQL literal.
fn literal(item: &str) -> String {
    if let Some(inner) = item.strip_prefix("Some(").and_then(|s| s.strip_suffix(')')) {
        return literal(inner);
    }
    if item == "None" || item == "Null" {
        return "NULL".into();
    }
    // SQLite's binds print as their variant: `I64(20)`, `String("x")`, `BorrowedString(..)`.
    if let Some((variant, inner)) = item.split_once('(')
        && variant.chars().all(|c| c.is_ascii_alphanumeric())
        && let Some(inner) = inner.strip_suffix(')')
    {
        return literal(inner);
    }
    if item == "true" || item == "false" {
        return item.to_uppercase();
    }
    if let Some(s) = item.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        let unescaped = s.replace("\\\"", "\"").replace("\\\\", "\\");
        return format!("'{}'", unescaped.replace('\\', "\\\\").replace('\'', "''"));
    }
    if item.parse::<f64>().is_ok() {
        return item.to_owned();
    }
    // Timestamps and the like: their text.
    format!("'{item}'")
}

/// The statement with its binds written in place of the `?` placeholders.
fn inline_binds(sql: &str, binds: &[String]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut binds = binds.iter();
    let (mut in_string, mut in_ident) = (false, false);
    for ch in sql.chars() {
        match ch {
            '\'' if !in_ident => in_string = !in_string,
            '`' | '"' if !in_string => in_ident = !in_ident,
            '?' if !in_string && !in_ident => {
                out.push_str(&literal(binds.next().expect("a bind per placeholder")));
                continue;
            }
            _ => {}
        }
        out.push(ch);
    }
    out
}

/// Installs [`Capture`] as the default instrumentation of every connection (once).
fn install_capture() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        set_default_instrumentation(|| Some(Box::new(Capture { url: None }))).unwrap();
    });
}

/// Whether a statement is one to explain: a read, update or delete of a checked table
/// (`quote` is the backend's identifier quote).
fn to_explain(sql: &str, quote: char) -> bool {
    let head = sql.trim_start().to_ascii_uppercase();
    (head.starts_with("SELECT") || head.starts_with("UPDATE") || head.starts_with("DELETE"))
        && CHECKED
            .iter()
            .any(|t| sql.contains(&format!("{quote}{t}{quote}")))
}

/// The admin list pages (a page of rows in id order, and the total) walk an index by
/// nature; every other statement must seek.
fn is_listing(sql: &str) -> bool {
    sql.contains(" OFFSET ") || sql.trim_start().starts_with("SELECT COUNT(*) FROM")
}

#[derive(QueryableByName, Debug)]
struct PlanRow {
    #[diesel(sql_type = Nullable<Text>)]
    table: Option<String>,
    #[diesel(sql_type = Nullable<Text>, column_name = "type")]
    access: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    key: Option<String>,
    #[diesel(sql_type = Nullable<Text>, column_name = "Extra")]
    extra: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_hot_paths_use_indexes() {
    install_capture();
    let Some(t) = TestDb::server(Backend::Mysql).await else {
        return;
    };
    let name = db_name(&t.url).to_owned();
    let _migrations = setup(&t).await;
    take_captured(|url| db_name(url) == name);
    drive(&t.db).await;
    let statements = take_captured(|url| db_name(url) == name);

    let mut explain = AsyncMysqlConnection::establish(&t.url).await.unwrap();
    diesel::sql_query("SET SESSION max_seeks_for_key = 1")
        .execute(&mut explain)
        .await
        .unwrap();
    let mut explained = 0;
    let mut seen = BTreeMap::new();
    let mut failures = Vec::new();
    for text in &statements {
        let (sql, binds) = split_debug(text);
        if !to_explain(&sql, '`') {
            continue;
        }
        let query = inline_binds(&sql, &binds);
        let listing = is_listing(&sql);
        let rows = diesel::sql_query(format!("EXPLAIN {query}"))
            .load::<PlanRow>(&mut explain)
            .await
            .unwrap_or_else(|e| panic!("EXPLAIN {query}: {e}"));
        explained += 1;
        for row in &rows {
            let table = row.table.as_deref().unwrap_or("");
            let access = row.access.as_deref().unwrap_or("");
            *seen.entry(format!("{table}:{access}")).or_insert(0) += 1;
            if CHECKED.contains(&table) && (access == "ALL" || (access == "index" && !listing)) {
                failures.push(format!(
                    "{table}: {access} (key {:?}, {:?})\n    {query}",
                    row.key, row.extra
                ));
            }
        }
    }
    eprintln!(
        "mysql: explained {explained} of {} statements",
        statements.len()
    );
    eprintln!("mysql access types (table:type count): {seen:?}");
    assert!(explained > 20, "the flows' statements were captured");
    assert!(
        failures.is_empty(),
        "statements scanning a hot-path table:\n  {}",
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------
// SQLite: the same capture, `EXPLAIN QUERY PLAN` on a connection of its own.

#[derive(QueryableByName, Debug)]
struct SqlitePlanRow {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_hot_paths_use_indexes() {
    install_capture();
    let t = TestDb::sqlite().await;
    let path = t.url.trim_start_matches("sqlite://").to_owned();
    let _migrations = setup(&t).await;
    take_captured(|url| url.ends_with(&path));
    drive(&t.db).await;
    let statements = take_captured(|url| url.ends_with(&path));

    let mut explain = SqliteConnection::establish(&path).unwrap();
    let mut explained = 0;
    let mut failures = Vec::new();
    for text in &statements {
        let (sql, binds) = split_debug(text);
        if !to_explain(&sql, '`') {
            continue;
        }
        let query = inline_binds(&sql, &binds);
        let rows = diesel::RunQueryDsl::load::<SqlitePlanRow>(
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}")),
            &mut explain,
        )
        .unwrap_or_else(|e| panic!("EXPLAIN QUERY PLAN {query}: {e}"));
        explained += 1;
        for row in &rows {
            // `SCAN t` reads the whole table, `SCAN t USING ... INDEX i` the whole index;
            // `SEARCH t USING ...` seeks.
            let Some(scanned) = row.detail.strip_prefix("SCAN ") else {
                continue;
            };
            let table = scanned.split(' ').next().unwrap_or("");
            // A statement without a WHERE clause asks for every row (the escalation check's
            // whole role-permission map), and a list page walks the table in id order (the
            // rowid is the id): neither is an index missing.
            let whole_read = is_listing(&sql) || !sql.contains(" WHERE ");
            if CHECKED.contains(&table) && !whole_read {
                failures.push(format!("{}\n    {query}", row.detail));
            }
        }
    }
    eprintln!(
        "sqlite: explained {explained} of {} statements",
        statements.len()
    );
    assert!(explained > 20, "the flows' statements were captured");
    assert!(
        failures.is_empty(),
        "statements scanning a hot-path table:\n  {}",
        failures.join("\n  ")
    );
}
