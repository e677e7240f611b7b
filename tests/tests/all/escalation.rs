//! Escalation prevention over HTTP on every backend (issue: roles.manage reached everything,
//! users.manage acted on users above it, the built-in admin could assign nothing). Each
//! case is an attacker holding one permission trying to get more than it grants; each
//! refusal is checked to have changed nothing.

use auth_axum::auth_core::rbac::{self, manage};
use auth_axum::{AuthUser, UserStore};
use auth_tests::admin::{Admin, role_id};
use auth_tests::model::v1::User;
use auth_tests::{TestDb, backend_tests};
use axum::http::{Method, StatusCode};
use serde_json::json;

/// A logged-in user whose only role `role` carries exactly `permissions`.
async fn holder(a: &Admin, account: &str, role: &str, permissions: &[&str]) -> (i64, String) {
    let (id, token) = a.app.user(account).await;
    a.app.give_role(id, role, permissions).await;
    (id, token)
}

async fn permissions_of(a: &Admin, role: &str) -> Vec<String> {
    let mut conn = a.app.t.db.conn().await.unwrap();
    manage::role_permissions(&mut conn, role).await.unwrap()
}

async fn grants_of(a: &Admin, user_id: i64) -> rbac::Grants {
    let mut conn = a.app.t.db.conn().await.unwrap();
    rbac::grants(&mut conn, user_id, None).await.unwrap()
}

fn assert_forbidden(r: &auth_tests::http::Answer, what: &str) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {:?}", r.body);
    assert_eq!(r.code(), "forbidden", "{what}");
}

/// roles.manage + roles.read alone: cannot widen its own role, re-parent it under
/// superadmin, delete superadmin, touch a built-in role, or hand a group more than it holds.
async fn roles_manage_cannot_escalate(t: TestDb) {
    let a = Admin::new(t).await;
    let (me, tok) = holder(&a, "mallory", "rolemgr", &["roles.manage", "roles.read"]).await;
    let own = role_id(&a, "rolemgr").await;
    let superadmin = role_id(&a, "superadmin").await;
    let user_role = role_id(&a, "user").await;

    let r = a
        .call(
            Method::PUT,
            &format!("/roles/{own}/permissions"),
            Some(json!({"permissions": ["roles.manage", "roles.read", "users.manage"]})),
            &tok,
        )
        .await;
    assert_forbidden(&r, "adding users.manage to the own role");
    assert_eq!(
        permissions_of(&a, "rolemgr").await,
        ["roles.manage", "roles.read"]
    );

    let r = a
        .call(
            Method::PATCH,
            &format!("/roles/{own}"),
            Some(json!({"parent": "superadmin"})),
            &tok,
        )
        .await;
    assert_forbidden(&r, "re-parenting the own role under superadmin");
    let g = grants_of(&a, me).await;
    assert!(!g.has_role("superadmin") && !g.has_permission("users.manage"));

    let r = a
        .call(
            Method::POST,
            "/roles",
            Some(json!({"name": "backdoor", "parent": "admin"})),
            &tok,
        )
        .await;
    assert_forbidden(&r, "a new role under admin");

    let r = a
        .call(Method::DELETE, &format!("/roles/{superadmin}"), None, &tok)
        .await;
    assert_forbidden(&r, "deleting superadmin");
    for (path, body) in [
        (format!("/roles/{user_role}"), json!({"name": "people"})),
        (format!("/roles/{user_role}"), json!({"parent": "rolemgr"})),
    ] {
        let r = a.call(Method::PATCH, &path, Some(body), &tok).await;
        assert_forbidden(&r, "changing a built-in role");
    }
    let r = a
        .call(
            Method::PUT,
            &format!("/roles/{user_role}/permissions"),
            Some(json!({"permissions": ["roles.read"]})),
            &tok,
        )
        .await;
    assert_forbidden(&r, "permissions on a built-in role");
    assert_eq!(role_id(&a, "superadmin").await, superadmin);
    assert!(permissions_of(&a, "user").await.is_empty());

    // A group carrying admin would hand its members users.manage.
    let g = a
        .call(Method::POST, "/groups", Some(json!({"name": "crew"})), &tok)
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{:?}", g.body);
    let gid = g.body["data"]["id"].as_i64().unwrap();
    let r = a
        .call(
            Method::PUT,
            &format!("/groups/{gid}/roles"),
            Some(json!({"roles": ["admin"]})),
            &tok,
        )
        .await;
    assert_forbidden(&r, "giving a group admin");

    // Within its own permissions it still works: an app role with roles.read only.
    let r = a
        .call(
            Method::POST,
            "/roles",
            Some(json!({"name": "auditor"})),
            &tok,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let auditor = r.body["data"]["id"].as_i64().unwrap();
    let r = a
        .call(
            Method::PUT,
            &format!("/roles/{auditor}/permissions"),
            Some(json!({"permissions": ["roles.read"]})),
            &tok,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = a
        .call(
            Method::PUT,
            &format!("/groups/{gid}/roles"),
            Some(json!({"roles": ["auditor"]})),
            &tok,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // A role above it (granting users.manage, made by root) cannot be stripped or deleted.
    let r = a
        .call(
            Method::POST,
            "/roles",
            Some(json!({"name": "boss"})),
            &a.root,
        )
        .await;
    let boss = r.body["data"]["id"].as_i64().unwrap();
    let r = a
        .call(
            Method::PUT,
            &format!("/roles/{boss}/permissions"),
            Some(json!({"permissions": ["users.manage"]})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = a
        .call(
            Method::PUT,
            &format!("/roles/{boss}/permissions"),
            Some(json!({"permissions": []})),
            &tok,
        )
        .await;
    assert_forbidden(&r, "stripping a role above");
    let r = a
        .call(Method::DELETE, &format!("/roles/{boss}"), None, &tok)
        .await;
    assert_forbidden(&r, "deleting a role above");
    assert_eq!(permissions_of(&a, "boss").await, ["users.manage"]);
}

/// The built-in admin (users.manage): may assign `user` and app roles it covers, but not
/// act on a superadmin or a superuser, nor on anyone holding what it lacks, nor hand out
/// roles or groups above it.
async fn users_manage_stays_below(t: TestDb) {
    let a = Admin::new(t).await;
    let (_, admin) = a.member("alice", "admin").await;
    let (boss_id, _) = a.member("boss", "superadmin").await;
    let plain = a.create_user("plain").await;

    // Assigning: user, admin (it holds all of admin's permissions), a covered app role.
    let viewer = a
        .call(
            Method::POST,
            "/roles",
            Some(json!({"name": "viewer"})),
            &a.root,
        )
        .await;
    let viewer = viewer.body["data"]["id"].as_i64().unwrap();
    a.call(
        Method::PUT,
        &format!("/roles/{viewer}/permissions"),
        Some(json!({"permissions": ["users.read"]})),
        &a.root,
    )
    .await;
    let editor = a
        .call(
            Method::POST,
            "/roles",
            Some(json!({"name": "editor"})),
            &a.root,
        )
        .await;
    assert_eq!(editor.status, StatusCode::CREATED);
    {
        let mut conn = a.app.t.db.conn().await.unwrap();
        manage::get_or_create_permission(&mut conn, "article.create", "")
            .await
            .unwrap();
        manage::grant_permission(&mut conn, "editor", "article.create")
            .await
            .unwrap();
    }
    let roles = format!("/users/{plain}/roles");
    let r = a
        .call(
            Method::PUT,
            &roles,
            Some(json!({"roles": ["user", "viewer", "admin"]})),
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "admin assigns user: {:?}", r.body);
    for above in ["superadmin", "editor"] {
        let r = a
            .call(
                Method::PUT,
                &roles,
                Some(json!({"roles": ["user", above]})),
                &admin,
            )
            .await;
        assert_forbidden(&r, above);
    }
    let g = grants_of(&a, plain).await;
    assert!(!g.has_role("superadmin") && !g.has_permission("article.create"));
    // Creating a user with a role above it: refused, and no user is left behind.
    let r = a
        .call(
            Method::POST,
            "/users",
            Some(json!({"account": "sneaky", "password": "pass-word-1", "roles": ["superadmin"]})),
            &admin,
        )
        .await;
    assert_forbidden(&r, "create with superadmin");
    let mut conn = a.app.t.db.conn().await.unwrap();
    assert!(
        User::find_by_account(&mut conn, "sneaky")
            .await
            .unwrap()
            .is_none()
    );

    // Joining a group that carries superadmin.
    let g = a
        .call(
            Method::POST,
            "/groups",
            Some(json!({"name": "owners"})),
            &a.root,
        )
        .await;
    let gid = g.body["data"]["id"].as_i64().unwrap();
    a.call(
        Method::PUT,
        &format!("/groups/{gid}/roles"),
        Some(json!({"roles": ["superadmin"]})),
        &a.root,
    )
    .await;
    let r = a
        .call(
            Method::PUT,
            &format!("/users/{plain}/groups"),
            Some(json!({"groups": ["owners"]})),
            &admin,
        )
        .await;
    assert_forbidden(&r, "joining a superadmin group");
    assert!(
        rbac::group_names(&mut conn, plain)
            .await
            .unwrap()
            .is_empty()
    );

    // Acting on a superadmin, a superuser, or someone holding article.create.
    let (writer, _) = a.member("writer", "").await;
    manage::assign_role(&mut conn, writer, "editor", None)
        .await
        .unwrap();
    for target in [boss_id, a.root_id, writer] {
        let user = format!("/users/{target}");
        let before = User::find_by_id(&mut conn, target).await.unwrap().unwrap();
        for (method, body) in [
            (Method::PATCH, Some(json!({"email": "evil@example.com"}))),
            (Method::PATCH, Some(json!({"suspend_reason": "gone"}))),
            (Method::PATCH, Some(json!({"is_active": false}))),
            (Method::DELETE, None),
        ] {
            let r = a.call(method.clone(), &user, body.clone(), &admin).await;
            assert_forbidden(&r, &format!("{method} {user} {body:?}"));
        }
        let r = a
            .call(
                Method::PUT,
                &format!("{user}/roles"),
                Some(json!({"roles": []})),
                &admin,
            )
            .await;
        assert_forbidden(&r, "stripping roles of a user above");
        let after = User::find_by_id(&mut conn, target).await.unwrap().unwrap();
        assert_eq!(
            (after.email(), after.is_active()),
            (before.email(), before.is_active()),
            "nothing changed"
        );
    }
    assert!(grants_of(&a, boss_id).await.has_role("superadmin"));
    // A user at or below it is fine.
    let r = a
        .call(
            Method::PATCH,
            &format!("/users/{plain}"),
            Some(json!({"email": "plain@example.com"})),
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

/// A superadmin passes the grant rules (may act on another superadmin), but reshapes no
/// built-in role and acts on no superuser.
async fn superadmin_limits(t: TestDb) {
    let a = Admin::new(t).await;
    let (_, boss) = a.member("boss", "superadmin").await;
    let (other, _) = a.member("other", "superadmin").await;
    let r = a
        .call(
            Method::PATCH,
            &format!("/users/{other}"),
            Some(json!({"email": "other@example.com"})),
            &boss,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = a
        .call(
            Method::PATCH,
            &format!("/users/{}", a.root_id),
            Some(json!({"email": "root@example.com"})),
            &boss,
        )
        .await;
    assert_forbidden(&r, "a superadmin acting on a superuser");
    let admin_role = role_id(&a, "admin").await;
    for (method, body) in [
        (Method::PATCH, Some(json!({"name": "administrator"}))),
        (Method::PATCH, Some(json!({"parent": null}))),
        (Method::DELETE, None),
    ] {
        let r = a
            .call(method, &format!("/roles/{admin_role}"), body, &boss)
            .await;
        assert_forbidden(&r, "a superadmin reshaping a built-in role");
    }
    // The superuser may.
    let r = a
        .call(
            Method::PATCH,
            &format!("/roles/{admin_role}"),
            Some(json!({"description": "Runs the place"})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

/// The id of the session `token` opened.
async fn session_id(a: &Admin, token: &str) -> i64 {
    let mut conn = a.app.t.db.conn().await.unwrap();
    let hash = auth_axum::auth_core::session::hash_token(token);
    let (_, session, _) = User::find_by_session(&mut conn, &hash)
        .await
        .unwrap()
        .expect("a live session");
    session.id
}

/// The account-level writes of issue 13 (rename, set the password, revoke a session) on a
/// user above the actor: a user-manager without coverage (the built-in admin) against a
/// superuser, a `superadmin` and a holder of a permission it lacks; a reader holding only
/// `users.read` against anyone. Every attempt is 403 and changes nothing: the name stays,
/// the old password still logs in, the session still answers. Also: a session of one user
/// revoked through the path of another (covered) user is 404 and survives.
async fn account_writes_stay_below(t: TestDb) {
    let a = Admin::new(t).await;
    let (_, admin) = a.member("alice", "admin").await;
    let (boss, boss_token) = a.member("boss", "superadmin").await;
    let (writer, writer_token) = a.member("writer", "").await;
    a.app.give_role(writer, "editor", &["article.create"]).await;
    let (plain, plain_token) = a.member("plain", "user").await;
    let (reader_id, reader) = a.member("reader", "").await;
    a.app.give_role(reader_id, "viewer", &["users.read"]).await;
    let root_sid = session_id(&a, &a.root).await;

    let attempts = |target: i64, sid: i64| {
        vec![
            (
                Method::PATCH,
                format!("/users/{target}"),
                Some(json!({"account": "renamed"})),
            ),
            (
                Method::POST,
                format!("/users/{target}/password"),
                Some(json!({"password": "taken-over-77"})),
            ),
            (
                Method::DELETE,
                format!("/users/{target}/sessions/{sid}"),
                None,
            ),
        ]
    };
    let cases = [
        (&admin, a.root_id, "root", &a.root, root_sid),
        (
            &admin,
            boss,
            "boss",
            &boss_token,
            session_id(&a, &boss_token).await,
        ),
        (
            &admin,
            writer,
            "writer",
            &writer_token,
            session_id(&a, &writer_token).await,
        ),
        (
            &reader,
            plain,
            "plain",
            &plain_token,
            session_id(&a, &plain_token).await,
        ),
        (&reader, a.root_id, "root", &a.root, root_sid),
    ];
    for (actor, target, account, token, sid) in cases {
        for (method, path, body) in attempts(target, sid) {
            let r = a.call(method.clone(), &path, body.clone(), actor).await;
            assert_forbidden(&r, &format!("{method} {path} {body:?} on {account}"));
        }
        let mut conn = a.app.t.db.conn().await.unwrap();
        let after = User::find_by_id(&mut conn, target).await.unwrap().unwrap();
        assert_eq!(after.account(), account, "the name stays");
        let me = a.app.get("me", Some(token)).await;
        assert_eq!(
            me.status,
            StatusCode::OK,
            "{account}'s session still answers"
        );
        // The old password still logs in (the new one does not).
        a.app.login(account, "pass-word-1").await;
        let r = a
            .app
            .post(
                "login",
                json!({"account": account, "password": "taken-over-77"}),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{account}");
    }
    // The reader may read (users.read), as it may read the user and the audit log.
    let r = a
        .get(&format!("/users/{}/sessions", a.root_id), &reader)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // The root's session through the path of a user alice covers: 404, and it survives.
    let r = a
        .call(
            Method::DELETE,
            &format!("/users/{plain}/sessions/{root_sid}"),
            None,
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    assert_eq!(a.app.get("me", Some(&a.root)).await.status, StatusCode::OK);
    let mut conn = a.app.t.db.conn().await.unwrap();
    for event in [
        auth_axum::auth_core::audit::EventType::PasswordChanged,
        auth_axum::auth_core::audit::EventType::SessionRevoked,
    ] {
        let filter = auth_axum::auth_core::audit::EventFilter {
            event: Some(event),
            ..Default::default()
        };
        assert_eq!(
            auth_axum::auth_core::audit::count(&mut conn, &filter)
                .await
                .unwrap(),
            0
        );
    }

    // A user alice covers: all three work.
    let plain_sid = session_id(&a, &plain_token).await;
    for (method, path, body) in attempts(plain, plain_sid).into_iter().rev() {
        let r = a.call(method.clone(), &path, body, &admin).await;
        assert_eq!(r.status, StatusCode::OK, "{method} {path}: {:?}", r.body);
    }
    a.app.login("renamed", "taken-over-77").await;
}

backend_tests!(
    account_writes_stay_below,
    roles_manage_cannot_escalate,
    users_manage_stays_below,
    superadmin_limits
);
