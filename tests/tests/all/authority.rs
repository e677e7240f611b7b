//! The authority boundary (issue 24, SPEC C4.6), written as attacks through the HTTP layer
//! on every backend: the credential that acts decides (a limited API key acts with its
//! limit everywhere, the superuser bypass needs an unlimited credential), no one acts on
//! their own account through the admin routes, covering a target counts every scope it
//! holds roles in, clearing a lock needs authority over the account, and every admin
//! change is one transaction with its audit event. Each refusal is checked to change
//! nothing.

use auth_axum::auth_core::audit::{self, EventFilter, EventType};
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::with_conn;
use auth_axum::{Actor, Backend, CurrentUser, UserStore};
use auth_tests::admin::{Admin, BASE};
use auth_tests::http::{Answer, HOST, send};
use auth_tests::model::v1::User;
use auth_tests::{TestDb, backend_tests};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::get;
use diesel_async::SimpleAsyncConnection;
use serde_json::{Value, json};

/// A request authenticated by `key` alone (`Authorization: Bearer`), with a JSON body.
async fn with_key(f: &Admin, method: Method, path: &str, body: Option<Value>, key: &str) -> Answer {
    let auth = format!("Bearer {key}");
    f.app
        .call_bare(
            method,
            &format!("{BASE}{path}"),
            body,
            &[("host", HOST), ("authorization", &auth)],
        )
        .await
}

/// Creates an API key with the session `token`, limited to `permissions` (`None`: all
/// of the owner's); returns the key.
async fn key(f: &Admin, token: &str, permissions: Option<&[&str]>) -> String {
    let mut body = json!({ "name": "ops" });
    if let Some(p) = permissions {
        body["permissions"] = json!(p);
    }
    let a = f.app.post("api-keys", body, Some(token)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    a.body["data"]["key"].as_str().unwrap().to_owned()
}

/// Whether `account` logs in with `password`.
async fn logs_in(f: &Admin, account: &str, password: &str) -> bool {
    let a = f
        .app
        .post(
            "login",
            json!({ "account": account, "password": password }),
            None,
        )
        .await;
    a.status == StatusCode::OK
}

/// The global roles of `id`, sorted.
async fn roles_of(f: &Admin, id: i64) -> Vec<String> {
    let mut conn = f.app.t.db.conn().await.unwrap();
    let mut roles: Vec<String> = manage::user_roles(&mut conn, id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.scope.is_none())
        .map(|r| r.role)
        .collect();
    roles.sort();
    roles
}

/// A key limited to `users.manage`, made by the built-in `admin` role's holder, cannot
/// reset its own owner's password (and so log in as them with every permission): 403
/// `own_account`, the password unchanged. The same key still acts on a user it covers.
async fn a_limited_key_cannot_take_over_its_owner(t: TestDb) {
    let f = Admin::new(t).await;
    let (owner, token) = f.member("operator", "admin").await;
    let (plain, _) = f.member("plain", "user").await;
    let ops = key(&f, &token, Some(&["users.manage"])).await;

    let a = with_key(
        &f,
        Method::POST,
        &format!("/users/{owner}/password"),
        Some(json!({ "password": "taken-over-1" })),
        &ops,
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "own_account"),
        "{:?}",
        a.body
    );
    assert!(!logs_in(&f, "operator", "taken-over-1").await);
    assert!(
        logs_in(&f, "operator", "pass-word-1").await,
        "the password is unchanged"
    );

    // The session of the same owner is refused too: self-service is the way.
    let a = f
        .call(
            Method::POST,
            &format!("/users/{owner}/password"),
            Some(json!({ "password": "taken-over-1" })),
            &token,
        )
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "own_account"));
    for (method, path, body) in [
        (
            Method::PUT,
            format!("/users/{owner}/roles"),
            Some(json!({ "roles": ["admin", "user"] })),
        ),
        (
            Method::PUT,
            format!("/users/{owner}/groups"),
            Some(json!({ "groups": [] })),
        ),
        (
            Method::PATCH,
            format!("/users/{owner}"),
            Some(json!({ "is_active": false })),
        ),
        (Method::DELETE, format!("/users/{owner}/mfa"), None),
        (Method::DELETE, format!("/users/{owner}"), None),
    ] {
        let a = with_key(&f, method.clone(), &path, body, &ops).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "own_account"),
            "{method} {path}: {:?}",
            a.body
        );
    }
    assert_eq!(roles_of(&f, owner).await, ["admin"]);

    // On another user it covers, the key acts, and the audit log names it.
    let a = with_key(
        &f,
        Method::POST,
        &format!("/users/{plain}/password"),
        Some(json!({ "password": "reset-by-ops-1" })),
        &ops,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(logs_in(&f, "plain", "reset-by-ops-1").await);
    let mut conn = f.app.t.db.conn().await.unwrap();
    let filter = EventFilter {
        event: Some(EventType::PasswordChanged),
        user_id: Some(plain),
    };
    let events = audit::list(&mut conn, &filter, 0, 10).await.unwrap();
    let prefix = &ops[..11];
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].detail["credential"],
        json!(format!("api_key:{prefix}"))
    );
    assert_eq!(events[0].detail["by"]["id"], json!(owner));
    // A self-service event names the credential too: the session that made the key.
    let filter = EventFilter {
        event: Some(EventType::ApiKeyCreated),
        user_id: Some(owner),
    };
    let created = audit::list(&mut conn, &filter, 0, 10).await.unwrap();
    assert_eq!(created.len(), 1);
    let label = created[0].detail["credential"].as_str().unwrap_or_default();
    assert!(label.starts_with("session:"), "{:?}", created[0].detail);
}

/// A superuser's key limited to `users.manage` is no superuser: it cannot grant
/// `superadmin`, act on a superuser, or reshape a built-in role; its session can.
async fn a_superusers_limited_key_is_not_a_superuser(t: TestDb) {
    let f = Admin::new(t).await;
    let (target, _) = f.member("target", "user").await;
    let ops = key(&f, &f.root, Some(&["users.manage"])).await;

    let a = with_key(
        &f,
        Method::PUT,
        &format!("/users/{target}/roles"),
        Some(json!({ "roles": ["superadmin"] })),
        &ops,
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "forbidden"),
        "{:?}",
        a.body
    );
    assert_eq!(roles_of(&f, target).await, ["user"]);

    let a = with_key(
        &f,
        Method::PUT,
        "/roles/1/permissions",
        Some(json!({ "permissions": [] })),
        &ops,
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::FORBIDDEN,
        "the guard: roles.manage is not in the key"
    );

    // A second superuser is out of the key's reach, not of the root session's.
    let (other, _) = f.member("other-root", "").await;
    {
        let mut conn = f.app.t.db.conn().await.unwrap();
        let mut u = User::find_by_id(&mut conn, other).await.unwrap().unwrap();
        u.is_superuser = true;
        u.update(&mut conn).await.unwrap();
    }
    let a = with_key(
        &f,
        Method::PATCH,
        &format!("/users/{other}"),
        Some(json!({ "is_active": false })),
        &ops,
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{:?}", a.body);
    let a = f
        .call(
            Method::PUT,
            &format!("/users/{target}/roles"),
            Some(json!({ "roles": ["superadmin"] })),
            &f.root,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(roles_of(&f, target).await, ["superadmin"]);
}

/// An admin holding `users.manage` globally cannot act on a user who holds, in a scope,
/// a permission the admin lacks there.
async fn covering_a_target_counts_every_scope(t: TestDb) {
    let f = Admin::new(t).await;
    let (_, admin) = f.member("admin", "admin").await;
    let (target, _) = f.member("billing", "user").await;
    {
        let mut conn = f.app.t.db.conn().await.unwrap();
        manage::get_or_create_role(&mut conn, "Billing", None)
            .await
            .unwrap();
        manage::get_or_create_permission(&mut conn, "billing.manage", "")
            .await
            .unwrap();
        manage::grant_permission(&mut conn, "Billing", "billing.manage")
            .await
            .unwrap();
        manage::assign_role(&mut conn, target, "Billing", Some("org-42"))
            .await
            .unwrap();
    }
    let a = f
        .call(
            Method::POST,
            &format!("/users/{target}/password"),
            Some(json!({ "password": "taken-over-1" })),
            &admin,
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "forbidden"),
        "{:?}",
        a.body
    );
    assert!(
        a.body["message"].as_str().unwrap().contains("org-42"),
        "{:?}",
        a.body
    );
    assert!(logs_in(&f, "billing", "pass-word-1").await);

    // Through a group the same.
    let (grouped, _) = f.member("grouped", "user").await;
    {
        let mut conn = f.app.t.db.conn().await.unwrap();
        manage::get_or_create_group(&mut conn, "payers")
            .await
            .unwrap();
        manage::grant_group_role(&mut conn, "payers", "Billing", Some("org-7"))
            .await
            .unwrap();
        manage::add_to_group(&mut conn, grouped, "payers")
            .await
            .unwrap();
    }
    let a = f
        .call(Method::DELETE, &format!("/users/{grouped}"), None, &admin)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{:?}", a.body);

    // Holding the permission in that scope is enough.
    {
        let mut conn = f.app.t.db.conn().await.unwrap();
        let (admin_id, _) = (
            User::find_by_account(&mut conn, "admin")
                .await
                .unwrap()
                .unwrap()
                .id,
            (),
        );
        manage::assign_role(&mut conn, admin_id, "Billing", Some("org-42"))
            .await
            .unwrap();
    }
    let a = f
        .call(
            Method::POST,
            &format!("/users/{target}/password"),
            Some(json!({ "password": "reset-by-admin-1" })),
            &admin,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
}

/// `Auth::has_permission` and `has_role` answer for the request's credential: a limited
/// key holds only its list, and a superuser's limited key no bypass.
async fn programmatic_checks_honour_the_key_limit(t: TestDb) {
    let f = Admin::new(t).await;
    async fn check(
        State(auth): State<auth_axum::Auth<User>>,
        user: CurrentUser<User>,
    ) -> axum::Json<String> {
        let manage = auth
            .has_permission(&user, "users.manage", None)
            .await
            .unwrap();
        let roles = auth
            .has_permission(&user, "users.read", None)
            .await
            .unwrap();
        let admin = auth.has_role(&user, "admin").await.unwrap();
        let direct = auth
            .user_has_permission(&user.user, "users.read", None)
            .await
            .unwrap();
        axum::Json(format!("{manage} {roles} {admin} {direct}"))
    }
    let router = Router::new()
        .route("/check", get(check))
        .with_state(f.app.auth.clone())
        .layer(f.app.auth.layer());
    let (_, admin) = f.member("admin", "admin").await;
    let limited = key(&f, &admin, Some(&["users.manage"])).await;
    let root_limited = key(&f, &f.root, Some(&["users.manage"])).await;
    let ask = async |credential: &str, is_key: bool| {
        let mut req = Request::builder().uri("/check").header(header::HOST, HOST);
        req = if is_key {
            req.header(header::AUTHORIZATION, format!("Bearer {credential}"))
        } else {
            req.header(header::COOKIE, format!("auth_session={credential}"))
        };
        let a = send(&router, req.body(Body::empty()).unwrap()).await;
        assert_eq!(a.status, StatusCode::OK);
        a.body
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| a.body.to_string())
    };
    assert_eq!(ask(&admin, false).await, "true true true true");
    assert_eq!(ask(&limited, true).await, "true false false true");
    assert_eq!(ask(&f.root, false).await, "true true true true");
    assert_eq!(ask(&root_limited, true).await, "true false false true");
}

/// Clearing an account's lock needs authority over the account: the built-in admin
/// cannot clear a superuser's lock (between batches of guesses), nor their own.
async fn clearing_a_lock_needs_authority_over_the_account(t: TestDb) {
    let f = Admin::new(t).await;
    let (_, admin) = f.member("admin", "admin").await;
    for _ in 0..6 {
        f.app
            .post(
                "login",
                json!({ "account": "root", "password": "wrong-guess" }),
                None,
            )
            .await;
        f.app
            .post(
                "login",
                json!({ "account": "admin", "password": "wrong-guess" }),
                None,
            )
            .await;
    }
    let locked = |a: &Answer, key: &str| {
        a.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["scope"] == "account" && l["key"] == key)
    };
    let a = f.get("/locks", &f.root).await;
    assert!(locked(&a, "root") && locked(&a, "admin"), "{:?}", a.body);
    for key in ["root", "admin"] {
        let a = f
            .call(
                Method::DELETE,
                &format!("/locks/account/{key}"),
                None,
                &admin,
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{key}: {:?}", a.body);
    }
    let a = f.get("/locks", &f.root).await;
    assert!(locked(&a, "root") && locked(&a, "admin"), "nothing cleared");
    // The superuser clears the admin's lock (and gets 404 for one that is not there).
    let a = f
        .call(Method::DELETE, "/locks/account/admin", None, &f.root)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = f
        .call(Method::DELETE, "/locks/mfa/nobody", None, &f.root)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// A trigger that refuses the audit insert makes `PUT admin/users/{id}/roles` change
/// nothing: the change and its audit event are one transaction.
async fn a_failed_audit_write_undoes_the_change(t: TestDb) {
    let backend = t.db.backend();
    let f = Admin::new(t).await;
    let (target, _) = f.member("target", "user").await;
    let ddl = match backend {
        Backend::Sqlite => "CREATE TRIGGER refuse_audit BEFORE INSERT ON auth_events \
                            BEGIN SELECT RAISE(ABORT, 'audit refused'); END;"
            .to_owned(),
        Backend::Postgres => "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN \
                              RAISE EXCEPTION 'audit refused'; END; $$ LANGUAGE plpgsql; \
                              CREATE TRIGGER refuse_audit BEFORE INSERT ON auth_events \
                              FOR EACH ROW EXECUTE FUNCTION refuse_audit();"
            .to_owned(),
        Backend::Mysql => "CREATE TRIGGER refuse_audit BEFORE INSERT ON auth_events \
                           FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit refused'"
            .to_owned(),
    };
    {
        let mut conn = f.app.t.db.conn().await.unwrap();
        with_conn!(&mut conn, |c| c.batch_execute(&ddl).await).unwrap();
    }
    let a = f
        .call(
            Method::PUT,
            &format!("/users/{target}/roles"),
            Some(json!({ "roles": ["admin"] })),
            &f.root,
        )
        .await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", a.body);
    assert_eq!(roles_of(&f, target).await, ["user"], "nothing changed");
    let a = f
        .call(
            Method::POST,
            &format!("/users/{target}/password"),
            Some(json!({ "password": "never-stored-1" })),
            &f.root,
        )
        .await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    let drop = match backend {
        Backend::Postgres => "DROP TRIGGER refuse_audit ON auth_events",
        _ => "DROP TRIGGER refuse_audit",
    };
    {
        let mut conn = f.app.t.db.conn().await.unwrap();
        with_conn!(&mut conn, |c| c.batch_execute(drop).await).unwrap();
    }
    assert!(
        logs_in(&f, "target", "pass-word-1").await,
        "the password is unchanged"
    );
}

/// The last active superuser is never deleted or deactivated, not even by the system
/// actor; with two, one goes.
async fn the_last_superuser_stays(t: TestDb) {
    let f = Admin::new(t).await;
    let system = Actor::system("test");
    let admin = f.app.auth.admin();
    let e = admin.delete_user(&system, f.root_id).await.unwrap_err();
    assert!(e.to_string().contains("last active superuser"), "{e}");
    let changes = auth_axum::auth_core::service::admin::UserChanges {
        is_active: Some(false),
        ..Default::default()
    };
    assert!(
        admin
            .change_user(&system, f.root_id, changes.clone())
            .await
            .is_err()
    );
    let mut conn = f.app.t.db.conn().await.unwrap();
    assert!(
        User::find_by_id(&mut conn, f.root_id)
            .await
            .unwrap()
            .unwrap()
            .is_active
    );
    // A second superuser: now one of them may go.
    let (other, _) = f.member("root2", "").await;
    let mut u = User::find_by_id(&mut conn, other).await.unwrap().unwrap();
    u.is_superuser = true;
    u.update(&mut conn).await.unwrap();
    admin
        .change_user(&system, f.root_id, changes)
        .await
        .unwrap();
    let e = admin.delete_user(&system, other).await.unwrap_err();
    assert!(e.to_string().contains("last active superuser"), "{e}");
}

backend_tests!(
    a_limited_key_cannot_take_over_its_owner,
    a_superusers_limited_key_is_not_a_superuser,
    covering_a_target_counts_every_scope,
    programmatic_checks_honour_the_key_limit,
    clearing_a_lock_needs_authority_over_the_account,
    a_failed_audit_write_undoes_the_change,
    the_last_superuser_stays,
);
