//! The OpenAPI document of the auth router (issue 13 item 3): served at
//! `{prefix}/openapi.json`, valid OpenAPI 3.1 by an independent validator
//! (openapi-spec-validator, `tests/openapi_check.py`), which must also refuse a broken
//! document; every documented operation is served and guarded as documented; real answers
//! on every backend match the documented schemas; the user schemas follow the model; and an
//! application merges the document into its own.

use std::path::Path;
use std::process::Command;

use auth_axum::Auth;
use auth_axum::utoipa::{self, OpenApi};
use auth_tests::REQUIRE_ALL_ENV;
use auth_tests::admin::Admin;
use auth_tests::http::TestApp;
use auth_tests::model::v1::User;
use auth_tests::{TestDb, backend_tests};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

const PREFIX: &str = "/api/contrib/auth";
const PASSWORD: &str = "pass-word-1";
/// What the permission guard answers (any other 403 is a rule of the handler itself).
const GUARD_REFUSAL: &str = "you do not have permission to do this";

fn validator_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import openapi_spec_validator, jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var(REQUIRE_ALL_ENV).as_deref() != Ok("1"),
            "python3 with openapi-spec-validator (pip install -r tests/requirements.txt) is \
             required: {REQUIRE_ALL_ENV}=1"
        );
        eprintln!("skipped: python3 with openapi-spec-validator is not installed");
    }
    ok
}

/// Runs `tests/openapi_check.py` with `args` after writing `files` (name, JSON) into a
/// temporary directory (the arguments name them); returns its status and output.
fn check(args: &[&str], files: &[(&str, &Value)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in files {
        std::fs::write(dir.path().join(name), value.to_string()).unwrap();
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi_check.py");
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if files.iter().any(|(name, _)| name == a) {
                dir.path().join(a).display().to_string()
            } else {
                (*a).to_owned()
            }
        })
        .collect();
    let out = Command::new("python3")
        .arg(script)
        .args(&args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn valid_document(doc: &Value) -> (bool, String) {
    check(&["document", "doc.json"], &[("doc.json", doc)])
}

async fn document(app: &TestApp) -> Value {
    let a = app.get("openapi.json", None).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    a.body
}

/// Every `(METHOD, path)` of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    ops
}

/// The document is OpenAPI 3.1, valid by openapi-spec-validator, with every path under the
/// prefix the router is mounted at, and lists the whole router.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_valid_openapi_3_1() {
    let app = TestApp::new(TestDb::sqlite().await).await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["version"].is_string());
    let ops = operations(&doc);
    let mut ids: Vec<&str> = ops
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), ops.len(), "operation ids repeat");
    for (method, path, op) in &ops {
        assert!(path.starts_with(&format!("{PREFIX}/")), "{method} {path}");
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no answers"
        );
    }
    let mut listed: Vec<String> = ops
        .iter()
        .map(|(m, p, _)| format!("{m} {}", &p[PREFIX.len()..]))
        .collect();
    listed.sort();
    let mut expected = vec![
        "POST /register",
        "POST /login",
        "POST /logout",
        "GET /me",
        "PATCH /me",
        "POST /change-password",
        "POST /forgot-password",
        "POST /request-verify",
        "GET /reset-password",
        "POST /reset-password",
        "GET /verify",
        "POST /verify",
        "GET /sessions",
        "DELETE /sessions",
        "DELETE /sessions/{id}",
        "GET /api-keys",
        "POST /api-keys",
        "DELETE /api-keys/{id}",
        "POST /token",
        "POST /token/refresh",
        "POST /token/revoke",
        "GET /.well-known/jwks.json",
        "POST /passkeys/register/start",
        "POST /passkeys/register/finish",
        "POST /passkeys/login/start",
        "POST /passkeys/login/finish",
        "GET /passkeys",
        "DELETE /passkeys/{id}",
        "GET /identities",
        "DELETE /identities/{id}",
        "GET /oauth/{provider}/authorize",
        "GET /oauth-login-redirect",
        "POST /oauth/{provider}/link",
        "POST /oauth/{provider}/reauthenticate",
        "GET /oauth/{provider}/callback",
        "GET /admin/users",
        "POST /admin/users",
        "GET /admin/users/{id}",
        "PATCH /admin/users/{id}",
        "DELETE /admin/users/{id}",
        "PUT /admin/users/{id}/roles",
        "PUT /admin/users/{id}/groups",
        "POST /admin/users/{id}/password",
        "GET /admin/users/{id}/sessions",
        "DELETE /admin/users/{id}/sessions/{session}",
        "GET /admin/roles",
        "POST /admin/roles",
        "GET /admin/roles/{id}",
        "PATCH /admin/roles/{id}",
        "DELETE /admin/roles/{id}",
        "PUT /admin/roles/{id}/permissions",
        "GET /admin/groups",
        "POST /admin/groups",
        "GET /admin/groups/{id}",
        "PATCH /admin/groups/{id}",
        "DELETE /admin/groups/{id}",
        "PUT /admin/groups/{id}/roles",
        "GET /admin/permissions",
        "POST /admin/permissions",
        "GET /admin/overview",
        "GET /admin/events",
        "GET /admin/locks",
        "DELETE /admin/locks/{scope}/{key}",
        "POST /login/mfa",
        "GET /mfa",
        "POST /mfa/totp/setup",
        "POST /mfa/totp/confirm",
        "POST /mfa/totp/disable",
        "POST /mfa/backup-codes",
        "POST /reauthenticate",
        "POST /reauthenticate/passkey",
        "DELETE /admin/users/{id}/mfa",
        "POST /login/mfa/passkey",
    ];
    expected.sort_unstable();
    assert_eq!(listed, expected);
    // The session cookie's scheme carries the configured name.
    assert_eq!(
        doc["components"]["securitySchemes"]["session"],
        json!({"type": "apiKey", "in": "cookie", "name": "auth_session",
               "description": "The session cookie `login` sets."})
    );

    // Mounted elsewhere, the same router documents its paths there.
    let moved = axum::Router::new()
        .nest("/auth/v2", app.auth.router())
        .layer(app.auth.layer());
    let a = auth_tests::http::send(
        &moved,
        axum::http::Request::get("/auth/v2/openapi.json")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert!(a.body["paths"]["/auth/v2/login"]["post"].is_object());
    assert_eq!(
        a.body["paths"].as_object().unwrap().len(),
        doc["paths"].as_object().unwrap().len()
    );

    if !validator_available() {
        return;
    }
    let (ok, out) = valid_document(&doc);
    assert!(ok, "openapi-spec-validator refused the document: {out}");
}

/// The validator is not a rubber stamp: a dangling `$ref`, a parameter in an unknown place
/// and an unknown type are each refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validator_refuses_a_broken_document() {
    if !validator_available() {
        return;
    }
    let app = TestApp::new(TestDb::sqlite().await).await;
    let doc = document(&app).await;

    let mut dangling = doc.clone();
    dangling["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("Error");
    let mut bad_parameter = doc.clone();
    bad_parameter["paths"][format!("{PREFIX}/sessions/{{id}}")]["delete"]["parameters"][0]["in"] =
        json!("body");
    let mut bad_type = doc.clone();
    bad_type["components"]["schemas"]["User"]["type"] = json!("text");
    for (what, broken) in [
        ("dangling $ref", dangling),
        ("parameter in the body", bad_parameter),
        ("unknown type", bad_type),
    ] {
        let (ok, out) = valid_document(&broken);
        assert!(
            !ok,
            "the validator accepted a document with a {what}: {out}"
        );
    }
}

/// Each documented operation is served (no bare 404 or 405 from the router) and guarded as
/// documented: without credentials, 401 exactly where the operation lists security; with a
/// user holding no permission, the guard's 403 exactly where a permission is documented;
/// and holding the documented permission gets past the guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served_and_guarded_as_documented() {
    let admin = Admin::new(TestDb::sqlite().await).await;
    let app = &admin.app;
    let doc = document(app).await;
    let (_, nobody) = app.user("nobody").await;
    let mut holders = std::collections::HashMap::<String, String>::new();
    for (method, path, op) in operations(&doc) {
        let uri = path
            .replace("{id}", "999999")
            .replace("{session}", "999999")
            .replace("{scope}", "account")
            .replace("{key}", "someone");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        let description = op["description"].as_str().unwrap_or_default();
        let permission = description
            .split("Requires the permission `")
            .nth(1)
            .and_then(|rest| rest.split('`').next());

        let anonymous = app.call(method.clone(), &uri, None, None).await;
        let what = format!("{method} {path}");
        assert!(
            anonymous.body["success"] == json!(false),
            "{what}: no error envelope (not served?): {} {:?}",
            anonymous.status,
            anonymous.body
        );
        assert_eq!(
            anonymous.status == StatusCode::UNAUTHORIZED
                && anonymous.body["code"] == "unauthenticated",
            secured,
            "{what}: {} {:?}",
            anonymous.status,
            anonymous.body
        );

        let plain = app.call(method.clone(), &uri, None, Some(&nobody)).await;
        let guarded =
            plain.status == StatusCode::FORBIDDEN && plain.body["message"] == GUARD_REFUSAL;
        assert_eq!(guarded, permission.is_some(), "{what}: {:?}", plain.body);

        if let Some(code) = permission {
            let token = match holders.get(code) {
                Some(token) => token.clone(),
                None => {
                    let (id, token) = app
                        .user(&format!("holder-{}", code.replace('.', "-")))
                        .await;
                    app.give_role(id, &format!("only-{code}"), &[code]).await;
                    holders.insert(code.to_owned(), token.clone());
                    token
                }
            };
            let holder = app.call(method.clone(), &uri, None, Some(&token)).await;
            assert_ne!(
                holder.body["message"], GUARD_REFUSAL,
                "{what}: the documented permission {code} does not pass the guard"
            );
        }
    }
}

/// Saves `(method, documented path, status, body)` for the batch check.
fn case(cases: &mut Vec<Value>, method: &str, path: &str, a: &auth_tests::http::Answer) {
    cases.push(json!({
        "method": method,
        "path": format!("{PREFIX}{path}"),
        "status": a.status.as_u16(),
        "body": a.body,
    }));
}

/// Real answers, success and failure, match the schemas the document gives for them.
async fn answers_match_the_documented_schemas(t: TestDb) {
    let admin = Admin::new(t).await;
    let app = &admin.app;
    let root = admin.root.clone();
    let doc = document(app).await;
    let mut cases = Vec::new();

    let a = app
        .post(
            "register",
            json!({"account": "seed", "password": PASSWORD,
                   "extra": {"email": "seed@example.com", "first_name": "Ada", "last_name": "L",
                             "age": 36, "birthday": "1815-12-10T00:00:00Z"}}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    case(&mut cases, "POST", "/register", &a);
    let id = a.body["data"]["id"].as_i64().unwrap();
    case(
        &mut cases,
        "POST",
        "/register",
        &app.post(
            "register",
            json!({"account": "seed", "password": PASSWORD}),
            None,
        )
        .await,
    );
    let a = app
        .post(
            "login",
            json!({"account": "seed", "password": PASSWORD}),
            None,
        )
        .await;
    case(&mut cases, "POST", "/login", &a);
    let token = a.token().unwrap();
    case(
        &mut cases,
        "POST",
        "/login",
        &app.post(
            "login",
            json!({"account": "seed", "password": "wrong-one-1"}),
            None,
        )
        .await,
    );
    case(&mut cases, "GET", "/me", &app.get("me", Some(&token)).await);
    let a = app
        .call(
            Method::PATCH,
            &format!("{PREFIX}/me"),
            Some(json!({"nickname": "ada", "extra": {"newsletter": true}})),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    case(&mut cases, "PATCH", "/me", &a);
    case(
        &mut cases,
        "GET",
        "/sessions",
        &app.get("sessions", Some(&token)).await,
    );
    let a = app
        .post(
            "api-keys",
            json!({"name": "ci", "expires_in_days": 30}),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    case(&mut cases, "POST", "/api-keys", &a);
    case(
        &mut cases,
        "GET",
        "/api-keys",
        &app.get("api-keys", Some(&token)).await,
    );
    case(
        &mut cases,
        "GET",
        "/reset-password",
        &app.get("reset-password?token=nope", None).await,
    );
    case(
        &mut cases,
        "POST",
        "/token",
        &app.post(
            "token",
            json!({"account": "seed", "password": PASSWORD}),
            None,
        )
        .await,
    );

    for path in [
        "/users",
        &format!("/users/{id}"),
        &format!("/users/{id}/sessions"),
        "/roles",
        "/groups",
        "/permissions",
        "/overview",
        "/events",
        "/locks",
    ] {
        let a = admin.get(path, &root).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {:?}", a.body);
        let documented = path.replace(&id.to_string(), "{id}");
        case(&mut cases, "GET", &format!("/admin{documented}"), &a);
    }
    let a = admin
        .call(
            Method::POST,
            "/users",
            Some(
                json!({"account": "made", "password": PASSWORD, "roles": ["user"],
                        "extra": {"first_name": "M"}}),
            ),
            &root,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    case(&mut cases, "POST", "/admin/users", &a);
    let a = admin
        .call(
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"suspend_reason": "testing"})),
            &root,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    case(&mut cases, "PATCH", "/admin/users/{id}", &a);
    let a = admin
        .call(
            Method::POST,
            "/roles",
            Some(json!({"name": "editor", "description": "edits"})),
            &root,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    case(&mut cases, "POST", "/admin/roles", &a);
    let a = admin
        .call(
            Method::POST,
            "/groups",
            Some(json!({"name": "staff"})),
            &root,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    case(&mut cases, "POST", "/admin/groups", &a);
    let a = admin
        .call(
            Method::POST,
            &format!("/users/{id}/password"),
            Some(json!({"password": "another-pass-2"})),
            &root,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    case(&mut cases, "POST", "/admin/users/{id}/password", &a);
    mfa_cases(app, &mut cases).await;

    if !validator_available() {
        return;
    }
    let cases = Value::Array(cases);
    let (ok, out) = check(
        &["answers", "doc.json", "answers.json"],
        &[("doc.json", &doc), ("answers.json", &cases)],
    );
    assert!(ok, "answers that break the document:\n{out}");
}

/// The MFA answers (setup, confirm, status, the login's challenge and second step for
/// cookie and token logins, reauthentication), from the same database served with MFA
/// and token logins on.
async fn mfa_cases(app: &TestApp, cases: &mut Vec<Value>) {
    use auth_axum::auth_core::jwt::JwtConfig;
    use auth_axum::auth_core::mfa::{MfaConfig, SecretKey, totp};
    let service = auth_axum::AuthService::builder()
        .bcrypt_cost(auth_tests::http::TEST_COST)
        .mfa(MfaConfig::new(SecretKey::generate(), "Docs"))
        .jwt(JwtConfig::ephemeral())
        .build();
    let auth = auth_axum::Auth::with_http(app.t.db.clone(), service, TestApp::http_config());
    let router = auth_tests::http::router(&auth);
    let post = |path: &str, body: Value, token: Option<&str>| {
        let mut req = axum::http::Request::builder()
            .method(Method::POST)
            .uri(format!("{PREFIX}{path}"))
            .header("host", auth_tests::http::HOST)
            .header("origin", auth_tests::http::ORIGIN)
            .header("content-type", "application/json");
        if let Some(token) = token {
            req = req.header("cookie", format!("auth_session={token}"));
        }
        let req = req.body(axum::body::Body::from(body.to_string())).unwrap();
        let router = router.clone();
        async move { auth_tests::http::send(&router, req).await }
    };
    app.register("mfa-user", PASSWORD).await;
    let login = json!({"account": "mfa-user", "password": PASSWORD});
    let token = post("/login", login.clone(), None).await.token().unwrap();
    let a = post("/mfa/totp/setup", json!({}), Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    case(cases, "POST", "/mfa/totp/setup", &a);
    let secret = a.body["data"]["secret"].as_str().unwrap().to_owned();
    let a = post("/mfa/totp/confirm", json!({"code": "12345"}), Some(&token)).await;
    case(cases, "POST", "/mfa/totp/confirm", &a);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = totp::code_at(&secret, now).unwrap();
    let a = post("/mfa/totp/confirm", json!({"code": code}), Some(&token)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    case(cases, "POST", "/mfa/totp/confirm", &a);
    let backup: Vec<String> =
        serde_json::from_value(a.body["data"]["backup_codes"].clone()).unwrap();
    let status = app
        .call(Method::GET, &format!("{PREFIX}/mfa"), None, Some(&token))
        .await;
    case(cases, "GET", "/mfa", &status);
    for (start, body) in [("/login", login.clone()), ("/token", login.clone())] {
        let a = post(start, body, None).await;
        assert_eq!(a.body["data"]["mfa_required"], true, "{:?}", a.body);
        case(cases, "POST", start, &a);
        let mfa_token = a.body["data"]["mfa_token"].as_str().unwrap().to_owned();
        let wrong = post(
            "/login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": "aaaaa-aaaaa"}),
            None,
        )
        .await;
        case(cases, "POST", "/login/mfa", &wrong);
        let code = if start == "/login" {
            &backup[0]
        } else {
            &backup[1]
        };
        let a = post(
            "/login/mfa",
            json!({"mfa_token": mfa_token, "backup_code": code}),
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        case(cases, "POST", "/login/mfa", &a);
    }
    let a = post(
        "/reauthenticate",
        json!({"password": PASSWORD}),
        Some(&token),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    case(cases, "POST", "/reauthenticate", &a);
    let a = post(
        "/mfa/backup-codes",
        json!({"password": PASSWORD, "code": &backup[2]}),
        Some(&token),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    case(cases, "POST", "/mfa/backup-codes", &a);
    let a = post(
        "/mfa/totp/disable",
        json!({"password": PASSWORD, "code": &backup[3]}),
        Some(&token),
    )
    .await;
    case(cases, "POST", "/mfa/totp/disable", &a);
    let a = post(
        "/mfa/totp/disable",
        json!({"password": PASSWORD, "code": &backup[4]}),
        Some(&token),
    )
    .await;
    case(cases, "POST", "/mfa/totp/disable", &a);
}

backend_tests!(answers_match_the_documented_schemas);

/// The user schemas come from the model: no password, the custom fields typed under
/// `extra` (and flat in the admin shape), nullable ones accepting `null`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_schemas_follow_the_model() {
    let app = TestApp::new(TestDb::sqlite().await).await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let user = &schemas["User"];
    let core = user["properties"].as_object().unwrap();
    for field in [
        "id",
        "account",
        "email",
        "is_superuser",
        "is_active",
        "date_joined",
    ] {
        assert!(core.contains_key(field), "User lacks {field}");
    }
    for absent in ["password", "first_name", "age"] {
        assert!(
            !core.contains_key(absent),
            "User shows {absent} at the top level"
        );
    }
    let extra = &user["properties"]["extra"]["properties"];
    assert_eq!(extra["first_name"]["type"], "string");
    assert_eq!(extra["first_name"]["maxLength"], 64);
    assert_eq!(extra["age"]["type"], "integer");
    assert_eq!(extra["external_id"]["format"], "uuid");
    assert_eq!(extra["birthday"]["type"], json!(["string", "null"]));
    assert_eq!(extra["birthday"]["format"], "date-time");
    let admin_user = schemas["AdminUser"]["properties"].as_object().unwrap();
    assert!(admin_user.contains_key("first_name") && !admin_user.contains_key("password"));
    // Nothing anywhere in the document is a password hash's schema.
    assert!(!doc.to_string().contains("password_hash"));
}

#[derive(OpenApi)]
#[openapi(paths(list_articles))]
struct AppApi;

/// The application's own operation.
#[utoipa::path(get, path = "/articles", responses((status = 200, description = "Articles.")))]
#[allow(dead_code)]
async fn list_articles() {}

/// `Auth::openapi` merges into the application's document under the mount point, and the
/// result is still valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_merges_the_document_into_its_own() {
    let t = TestDb::sqlite().await;
    let auth = Auth::<User>::new(
        t.db.clone(),
        auth_axum::auth_core::service::AuthService::builder().build(),
    );
    let merged = AppApi::openapi().nest(PREFIX, auth.openapi());
    let merged = serde_json::to_value(&merged).unwrap();
    assert!(merged["paths"]["/articles"]["get"].is_object());
    assert!(merged["paths"][format!("{PREFIX}/login")]["post"].is_object());
    assert!(merged["components"]["schemas"]["User"].is_object());
    assert!(merged["components"]["securitySchemes"]["session"].is_object());
    if !validator_available() {
        return;
    }
    let (ok, out) = valid_document(&merged);
    assert!(ok, "the merged document is invalid: {out}");
    assert!(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi_check.py")).exists());
}
