//! The admin endpoints over HTTP on every backend: the 401/403/200/404/409/422 matrix,
//! pagination and filters, suspension ending sessions, grant rules, replacing sets.

use auth_axum::auth_core::account_token::{self, Purpose};
use auth_axum::auth_core::audit::{self, AuditEvent, EventFilter, EventType};
use auth_axum::auth_core::rbac::{self, manage};
use auth_axum::{AuthUser, UserStore, auth_core::session};
use auth_tests::admin::Admin;
use auth_tests::model::v1::User;
use auth_tests::{TestDb, backend_tests};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_owned())
        .collect()
}

fn endpoints() -> Vec<(Method, &'static str, &'static str)> {
    vec![
        (Method::GET, "/users", "users.read"),
        (Method::POST, "/users", "users.manage"),
        (Method::GET, "/users/999999", "users.read"),
        (Method::PATCH, "/users/999999", "users.manage"),
        (Method::DELETE, "/users/999999", "users.manage"),
        (Method::PUT, "/users/999999/roles", "users.manage"),
        (Method::PUT, "/users/999999/groups", "users.manage"),
        (Method::POST, "/users/999999/password", "users.manage"),
        (Method::GET, "/users/999999/sessions", "users.read"),
        (Method::DELETE, "/users/999999/sessions/1", "users.manage"),
        (Method::GET, "/roles", "roles.read"),
        (Method::POST, "/roles", "roles.manage"),
        (Method::GET, "/roles/999999", "roles.read"),
        (Method::PATCH, "/roles/999999", "roles.manage"),
        (Method::DELETE, "/roles/999999", "roles.manage"),
        (Method::PUT, "/roles/999999/permissions", "roles.manage"),
        (Method::GET, "/groups", "roles.read"),
        (Method::POST, "/groups", "roles.manage"),
        (Method::GET, "/groups/999999", "roles.read"),
        (Method::PATCH, "/groups/999999", "roles.manage"),
        (Method::DELETE, "/groups/999999", "roles.manage"),
        (Method::PUT, "/groups/999999/roles", "roles.manage"),
        (Method::GET, "/permissions", "permissions.read"),
        (Method::POST, "/permissions", "permissions.manage"),
        (Method::GET, "/overview", "users.read"),
    ]
}

/// Every endpoint: 401 anonymous, 403 for a user without the permission, and the guard
/// passes (not 401/403) for a user holding exactly that permission.
async fn every_endpoint_is_guarded(t: TestDb) {
    let a = Admin::new(t).await;
    let (_, plain) = a.member("plain", "").await;
    for (i, (method, path, permission)) in endpoints().into_iter().enumerate() {
        let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
        let anon = a.call(method.clone(), path, body.clone(), "").await;
        assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        let lacking = a.call(method.clone(), path, body.clone(), &plain).await;
        assert_eq!(lacking.status, StatusCode::FORBIDDEN, "{method} {path}");
        let (id, holder) = a.app.user(&format!("holder{i}")).await;
        a.app
            .give_role(id, &format!("only{i}"), &[permission])
            .await;
        let passed = a.call(method.clone(), path, body, &holder).await;
        assert!(
            passed.status != StatusCode::UNAUTHORIZED && passed.status != StatusCode::FORBIDDEN,
            "{method} {path} with {permission}: {:?}",
            passed.body
        );
    }
}

async fn users_list_pages_and_filters(t: TestDb) {
    let a = Admin::new(t).await;
    for n in 1..=24 {
        a.create_user(&format!("user_{n}")).await;
    }
    a.create_user("userA1").await;
    // 26 users: root, user_1..user_24, userA1.
    let first = a.get("/users", &a.root).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let data = &first.body["data"];
    assert_eq!(data["total"], 26);
    assert_eq!(data["page"], 1);
    assert_eq!(data["per_page"], 20);
    assert_eq!(data["items"].as_array().unwrap().len(), 20);
    assert_eq!(data["items"][0]["account"], "root", "ordered by id");
    assert!(data["items"][0].get("password").is_none(), "no hash");
    let second = a.get("/users?page=2", &a.root).await;
    assert_eq!(second.body["data"]["items"].as_array().unwrap().len(), 6);
    assert_eq!(second.body["data"]["total"], 26);
    let beyond = a.get("/users?page=5&per_page=10", &a.root).await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert_eq!(beyond.body["data"]["items"].as_array().unwrap().len(), 0);
    let max = a.get("/users?per_page=100", &a.root).await;
    assert_eq!(max.body["data"]["items"].as_array().unwrap().len(), 26);
    for bad in [
        "page=0",
        "per_page=0",
        "per_page=101",
        "page=-1",
        "page=x",
        "is_active=maybe",
        "sort=id",
    ] {
        let r = a.get(&format!("/users?{bad}"), &a.root).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(r.code(), "invalid_input");
    }
    // `_` is literal: "user_1" does not match "userA1".
    let filtered = a.get("/users?account=user_1&per_page=100", &a.root).await;
    let accounts = names(&filtered.body["data"]["items"], "account");
    assert_eq!(filtered.body["data"]["total"], 11, "{accounts:?}");
    assert!(!accounts.contains(&"userA1".to_owned()));
    let percent = a.get("/users?account=%25", &a.root).await;
    assert_eq!(percent.body["data"]["total"], 0, "% is literal");
    // is_active
    let id = a.create_user("sleeper").await;
    let r = a
        .call(
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"is_active": false})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let inactive = a.get("/users?is_active=false", &a.root).await;
    assert_eq!(inactive.body["data"]["total"], 1);
    assert_eq!(inactive.body["data"]["items"][0]["account"], "sleeper");
    let active = a.get("/users?is_active=true&account=user", &a.root).await;
    assert_eq!(active.body["data"]["total"], 25);
}

async fn create_user_with_roles(t: TestDb) {
    let a = Admin::new(t).await;
    let r = a
        .call(
            Method::POST,
            "/users",
            Some(
                json!({"account": "ann", "password": "pass-word-1", "email": "ann@example.com",
                "roles": ["user"], "extra": {"first_name": "Ann"}}),
            ),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["data"]["roles"][0]["role"], "user");
    assert_eq!(r.body["data"]["first_name"], "Ann");
    a.app.login("ann", "pass-word-1").await;
    let again = a
        .call(
            Method::POST,
            "/users",
            Some(json!({"account": "ann", "password": "pass-word-1"})),
            &a.root,
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    for body in [
        json!({"account": "bob", "password": "pass-word-1", "roles": ["nope"]}),
        json!({"account": "", "password": "pass-word-1"}),
        json!({"account": "bob", "password": ""}),
        json!({"account": "bob", "password": "pass-word-1", "email": "no-at"}),
        json!({"account": "bob"}),
        json!({"account": "bob", "password": "pass-word-1", "admin": true}),
    ] {
        let r = a
            .call(Method::POST, "/users", Some(body.clone()), &a.root)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    // An admin (users.manage, and roles.manage through another role) cannot hand out
    // superadmin: 403, and no user is left behind.
    let (boss_id, boss) = a.member("boss", "admin").await;
    a.app
        .give_role(boss_id, "assigner", &["roles.manage"])
        .await;
    let r = a
        .call(
            Method::POST,
            "/users",
            Some(json!({"account": "bob", "password": "pass-word-1", "roles": ["superadmin"]})),
            &boss,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let r = a
        .call(
            Method::POST,
            "/users",
            Some(json!({"account": "bob", "password": "pass-word-1", "roles": ["admin"]})),
            &boss,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let none = a.get("/users?account=bob", &a.root).await;
    assert_eq!(none.body["data"]["total"], 1, "only the allowed one");
}

async fn show_change_suspend_delete(t: TestDb) {
    let a = Admin::new(t).await;
    let (id, token) = a.member("carol", "user").await;
    let mut conn = a.app.t.db.conn().await.unwrap();
    let gid = manage::get_or_create_group(&mut conn, "team")
        .await
        .unwrap();
    assert!(gid > 0);
    manage::add_to_group(&mut conn, id, "team").await.unwrap();
    let r = a.get(&format!("/users/{id}"), &a.root).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["account"], "carol");
    assert_eq!(r.body["data"]["groups"], json!(["team"]));
    assert_eq!(r.body["data"]["suspension"], Value::Null);
    for missing in ["999999", "abc"] {
        assert_eq!(
            a.get(&format!("/users/{missing}"), &a.root).await.status,
            StatusCode::NOT_FOUND
        );
        let p = a
            .call(
                Method::PATCH,
                &format!("/users/{missing}"),
                Some(json!({"is_active": false})),
                &a.root,
            )
            .await;
        assert_eq!(p.status, StatusCode::NOT_FOUND);
        let d = a
            .call(Method::DELETE, &format!("/users/{missing}"), None, &a.root)
            .await;
        assert_eq!(d.status, StatusCode::NOT_FOUND);
    }
    let path = format!("/users/{id}");
    let r = a
        .call(
            Method::PATCH,
            &path,
            Some(json!({"email": "carol@example.com", "age": 33})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["email"], "carol@example.com");
    assert_eq!(r.body["data"]["age"], 33);
    for bad in [
        json!({"is_superuser": true}),
        json!({"account": " x"}),
        json!({"account": 7}),
        json!({"is_active": "no"}),
        json!({"suspend_reason": ""}),
        json!({"suspend_reason": "x", "is_active": true}),
        json!({"email": "nope"}),
        json!({"unknown": 1}),
    ] {
        let r = a
            .call(Method::PATCH, &path, Some(bad.clone()), &a.root)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    // Suspension: the session ends at once, the reason is shown.
    assert_eq!(a.app.get("me", Some(&token)).await.status, StatusCode::OK);
    let r = a
        .call(
            Method::PATCH,
            &path,
            Some(json!({"suspend_reason": "spam"})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["is_active"], false);
    assert_eq!(r.body["data"]["suspension"]["reason"], "spam");
    assert_eq!(r.body["data"]["suspension"]["changed_by"], a.root_id);
    assert!(
        session::list_for_user(&mut conn, id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        a.app.get("me", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = a
        .call(
            Method::PATCH,
            &path,
            Some(json!({"is_active": true})),
            &a.root,
        )
        .await;
    assert_eq!(r.body["data"]["is_active"], true);
    assert_eq!(r.body["data"]["suspension"], Value::Null);
    let token = a.app.login("carol", "pass-word-1").await;
    // Plain deactivation also ends sessions.
    let r = a
        .call(
            Method::PATCH,
            &path,
            Some(json!({"is_active": false})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        a.app.get("me", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A non-superuser admin cannot touch a superuser.
    let (_, boss) = a.member("boss", "admin").await;
    let r = a
        .call(
            Method::PATCH,
            &format!("/users/{}", a.root_id),
            Some(json!({"is_active": false})),
            &boss,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = a
        .call(
            Method::DELETE,
            &format!("/users/{}", a.root_id),
            None,
            &boss,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Delete: the user, their sessions and their links go.
    a.call(
        Method::PATCH,
        &path,
        Some(json!({"is_active": true})),
        &a.root,
    )
    .await;
    a.app.login("carol", "pass-word-1").await;
    assert!(
        !session::list_for_user(&mut conn, id)
            .await
            .unwrap()
            .is_empty()
    );
    let r = a.call(Method::DELETE, &path, None, &a.root).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(
        session::list_for_user(&mut conn, id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(manage::user_roles(&mut conn, id).await.unwrap().is_empty());
    assert!(rbac::group_names(&mut conn, id).await.unwrap().is_empty());
    assert!(User::find_by_id(&mut conn, id).await.unwrap().is_none());
    assert_eq!(a.get(&path, &a.root).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        a.call(Method::DELETE, &path, None, &a.root).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn replace_roles_and_groups(t: TestDb) {
    let a = Admin::new(t).await;
    let (id, _) = a.member("dave", "user").await;
    let mut conn = a.app.t.db.conn().await.unwrap();
    manage::assign_role(&mut conn, id, "user", Some("project-1"))
        .await
        .unwrap();
    let roles = format!("/users/{id}/roles");
    let r = a
        .call(
            Method::PUT,
            &roles,
            Some(json!({"roles": ["admin"]})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let held = manage::user_roles(&mut conn, id).await.unwrap();
    let global: Vec<&str> = held
        .iter()
        .filter(|r| r.scope.is_none())
        .map(|r| r.role.as_str())
        .collect();
    assert_eq!(global, ["admin"], "user removed, admin added");
    assert_eq!(held.len(), 2, "the scoped assignment stays");
    let r = a
        .call(
            Method::PUT,
            &roles,
            Some(json!({"roles": ["nope"]})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = a.call(Method::PUT, &roles, Some(json!({})), &a.root).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = a
        .call(
            Method::PUT,
            "/users/999999/roles",
            Some(json!({"roles": []})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Grant rules: an admin with roles.manage may grant admin but not superadmin.
    let (boss_id, boss) = a.member("boss", "admin").await;
    a.app
        .give_role(boss_id, "assigner", &["roles.manage"])
        .await;
    let r = a
        .call(
            Method::PUT,
            &roles,
            Some(json!({"roles": ["superadmin"]})),
            &boss,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert_eq!(
        rbac::user_roles(&mut conn, id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect::<Vec<_>>(),
        ["admin"],
        "unchanged"
    );
    let r = a
        .call(Method::PUT, &roles, Some(json!({"roles": ["user"]})), &boss)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // Groups: replaced; a group carrying superadmin is out of the admin's reach.
    manage::get_or_create_group(&mut conn, "a").await.unwrap();
    manage::get_or_create_group(&mut conn, "b").await.unwrap();
    manage::get_or_create_group(&mut conn, "top").await.unwrap();
    manage::grant_group_role(&mut conn, "top", "superadmin", None)
        .await
        .unwrap();
    let groups = format!("/users/{id}/groups");
    let r = a
        .call(
            Method::PUT,
            &groups,
            Some(json!({"groups": ["a", "b"]})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["groups"], json!(["a", "b"]));
    let r = a
        .call(
            Method::PUT,
            &groups,
            Some(json!({"groups": ["b"]})),
            &a.root,
        )
        .await;
    assert_eq!(r.body["data"]["groups"], json!(["b"]));
    let r = a
        .call(
            Method::PUT,
            &groups,
            Some(json!({"groups": ["zzz"]})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = a
        .call(
            Method::PUT,
            &groups,
            Some(json!({"groups": ["top"]})),
            &boss,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(rbac::group_names(&mut conn, id).await.unwrap(), ["b"]);
}

async fn roles_endpoints(t: TestDb) {
    let a = Admin::new(t).await;
    let r = a
        .call(
            Method::POST,
            "/roles",
            Some(json!({"name": "editor", "description": "Edits", "parent": "user"})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["data"]["id"].as_i64().unwrap();
    assert_eq!(r.body["data"]["parent"], "user");
    assert_eq!(r.body["data"]["description"], "Edits");
    let dup = a
        .call(
            Method::POST,
            "/roles",
            Some(json!({"name": "editor"})),
            &a.root,
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "parent": "nope"}),
        json!({"title": "x"}),
    ] {
        let r = a
            .call(Method::POST, "/roles", Some(bad.clone()), &a.root)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let list = a.get("/roles", &a.root).await;
    assert_eq!(
        names(&list.body["data"], "name"),
        ["admin", "editor", "superadmin", "user"]
    );
    let path = format!("/roles/{id}");
    assert_eq!(a.get(&path, &a.root).await.status, StatusCode::OK);
    assert_eq!(
        a.get("/roles/999999", &a.root).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.get("/roles/x", &a.root).await.status,
        StatusCode::NOT_FOUND
    );
    let r = a
        .call(
            Method::PATCH,
            &path,
            Some(json!({"name": "writer", "description": "Writes", "parent": null})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["name"], "writer");
    assert_eq!(r.body["data"]["parent"], Value::Null);
    let taken = a
        .call(
            Method::PATCH,
            &path,
            Some(json!({"name": "admin"})),
            &a.root,
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    // superadmin -> admin -> user: user under superadmin would be a cycle.
    let mut conn = a.app.t.db.conn().await.unwrap();
    let user_id = manage::list_roles(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "user")
        .unwrap()
        .id;
    let cycle = a
        .call(
            Method::PATCH,
            &format!("/roles/{user_id}"),
            Some(json!({"parent": "superadmin"})),
            &a.root,
        )
        .await;
    assert_eq!(cycle.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = a
        .call(
            Method::PATCH,
            &path,
            Some(json!({"parent": "nope"})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        a.call(Method::PATCH, "/roles/999999", Some(json!({})), &a.root)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Permissions: replaced as a set.
    let perms = format!("{path}/permissions");
    let r = a
        .call(
            Method::PUT,
            &perms,
            Some(json!({"permissions": ["users.read", "roles.read"]})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["data"]["permissions"],
        json!(["roles.read", "users.read"])
    );
    let r = a
        .call(
            Method::PUT,
            &perms,
            Some(json!({"permissions": ["permissions.read"]})),
            &a.root,
        )
        .await;
    assert_eq!(r.body["data"]["permissions"], json!(["permissions.read"]));
    let r = a
        .call(
            Method::PUT,
            &perms,
            Some(json!({"permissions": ["no.such"]})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        manage::role_permissions(&mut conn, "writer").await.unwrap(),
        ["permissions.read"],
        "unchanged"
    );
    // The built-in admin role reads roles but may not change them.
    let (_, boss) = a.member("boss", "admin").await;
    assert_eq!(a.get("/roles", &boss).await.status, StatusCode::OK);
    assert_eq!(
        a.call(Method::DELETE, &path, None, &boss).await.status,
        StatusCode::FORBIDDEN
    );
    // Delete: the role and its links go.
    let (holder, _) = a.member("holder", "").await;
    manage::assign_role(&mut conn, holder, "writer", None)
        .await
        .unwrap();
    let r = a.call(Method::DELETE, &path, None, &a.root).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(
        manage::user_roles(&mut conn, holder)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(a.get(&path, &a.root).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        a.call(Method::DELETE, &path, None, &a.root).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn groups_endpoints(t: TestDb) {
    let a = Admin::new(t).await;
    let r = a
        .call(
            Method::POST,
            "/groups",
            Some(json!({"name": "Content Team", "description": "Writers"})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["data"]["id"].as_i64().unwrap();
    assert_eq!(r.body["data"]["description"], "Writers");
    let dup = a
        .call(
            Method::POST,
            "/groups",
            Some(json!({"name": "Content Team"})),
            &a.root,
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let bad = a
        .call(
            Method::POST,
            "/groups",
            Some(json!({"name": " x"})),
            &a.root,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    a.call(
        Method::POST,
        "/groups",
        Some(json!({"name": "Other"})),
        &a.root,
    )
    .await;
    let list = a.get("/groups", &a.root).await;
    assert_eq!(names(&list.body["data"], "name"), ["Content Team", "Other"]);
    let path = format!("/groups/{id}");
    assert_eq!(a.get(&path, &a.root).await.status, StatusCode::OK);
    assert_eq!(
        a.get("/groups/999999", &a.root).await.status,
        StatusCode::NOT_FOUND
    );
    let r = a
        .call(
            Method::PATCH,
            &path,
            Some(json!({"name": "Editors"})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["name"], "Editors");
    let taken = a
        .call(
            Method::PATCH,
            &path,
            Some(json!({"name": "Other"})),
            &a.root,
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let roles = format!("{path}/roles");
    let r = a
        .call(
            Method::PUT,
            &roles,
            Some(json!({"roles": ["user", "admin"]})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(names(&r.body["data"]["roles"], "role"), ["admin", "user"]);
    let r = a
        .call(
            Method::PUT,
            &roles,
            Some(json!({"roles": ["user"]})),
            &a.root,
        )
        .await;
    assert_eq!(names(&r.body["data"]["roles"], "role"), ["user"]);
    let r = a
        .call(
            Method::PUT,
            &roles,
            Some(json!({"roles": ["ghost"]})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A non-superuser with roles.manage cannot attach superadmin to a group.
    let (boss_id, boss) = a.member("boss", "admin").await;
    a.app
        .give_role(boss_id, "assigner", &["roles.manage"])
        .await;
    let r = a
        .call(
            Method::PUT,
            &roles,
            Some(json!({"roles": ["superadmin"]})),
            &boss,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut conn = a.app.t.db.conn().await.unwrap();
    let (member, _) = a.member("member", "").await;
    manage::add_to_group(&mut conn, member, "Editors")
        .await
        .unwrap();
    let r = a.call(Method::DELETE, &path, None, &a.root).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        rbac::group_names(&mut conn, member)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        a.call(Method::DELETE, &path, None, &a.root).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn permissions_and_overview(t: TestDb) {
    let a = Admin::new(t).await;
    let r = a
        .call(
            Method::POST,
            "/permissions",
            Some(json!({"code": "article.view", "remark": "Read articles"})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["data"]["code"], "article.view");
    let dup = a
        .call(
            Method::POST,
            "/permissions",
            Some(json!({"code": "article.view"})),
            &a.root,
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    for bad in [json!({"code": "Bad Code"}), json!({"remark": "x"})] {
        let r = a
            .call(Method::POST, "/permissions", Some(bad.clone()), &a.root)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let list = a.get("/permissions", &a.root).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 7);
    let mut conn = a.app.t.db.conn().await.unwrap();
    manage::get_or_create_group(&mut conn, "team")
        .await
        .unwrap();
    manage::grant_group_role(&mut conn, "team", "user", None)
        .await
        .unwrap();
    let o = a.get("/overview", &a.root).await;
    assert_eq!(o.status, StatusCode::OK, "{:?}", o.body);
    let d = &o.body["data"];
    assert_eq!(
        d["counts"],
        json!({"users": 1, "roles": 3, "permissions": 7, "groups": 1})
    );
    let admin = d["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "admin")
        .unwrap();
    assert_eq!(admin["parent"], "user");
    assert_eq!(
        admin["permissions"],
        json!([
            "permissions.read",
            "roles.read",
            "users.manage",
            "users.read"
        ])
    );
    assert_eq!(d["groups"][0]["name"], "team");
    assert_eq!(d["groups"][0]["roles"][0]["role"], "user");
}

/// The audited `event`s, newest first.
async fn events(a: &Admin, event: EventType) -> Vec<AuditEvent> {
    let mut conn = a.app.t.db.conn().await.unwrap();
    let filter = EventFilter {
        event: Some(event),
        ..EventFilter::default()
    };
    audit::list(&mut conn, &filter, 0, 100).await.unwrap()
}

/// The account name of user `id`, read from the database.
async fn account_of(a: &Admin, id: i64) -> String {
    let mut conn = a.app.t.db.conn().await.unwrap();
    let user = User::find_by_id(&mut conn, id).await.unwrap().unwrap();
    user.account
}

/// `POST login`'s status for `account` and `password`.
async fn login_status(a: &Admin, account: &str, password: &str) -> StatusCode {
    a.app
        .post(
            "login",
            json!({"account": account, "password": password}),
            None,
        )
        .await
        .status
}

/// Rename through `PATCH admin/users/{id}` `{account}`: the registration rule (422), 409
/// for a taken name with nothing written (the e-mail sent beside it neither), sessions
/// survive, the new name logs in and the old one does not, audited with old and new.
async fn rename_user(t: TestDb) {
    let a = Admin::new(t).await;
    let (id, token) = a.member("carol", "user").await;
    a.create_user("dave").await;
    let path = format!("/users/{id}");
    for bad in [
        json!({"account": ""}),
        json!({"account": "carol "}),
        json!({"account": "a\u{7}b"}),
        json!({"account": "x".repeat(151)}),
        json!({"account": null}),
    ] {
        let r = a
            .call(Method::PATCH, &path, Some(bad.clone()), &a.root)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {:?}",
            r.body
        );
        assert_eq!(r.code(), "invalid_input", "{bad}");
    }
    let r = a
        .call(
            Method::PATCH,
            &path,
            Some(json!({"account": "dave", "email": "carol@example.com"})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.code(), "conflict");
    let mut conn = a.app.t.db.conn().await.unwrap();
    let carol = User::find_by_id(&mut conn, id).await.unwrap().unwrap();
    assert_eq!((carol.account.as_str(), carol.email()), ("carol", None));
    assert!(
        events(&a, EventType::UserChanged)
            .await
            .iter()
            .all(|e| e.user_id != Some(id))
    );

    let r = a
        .call(
            Method::PATCH,
            &path,
            Some(json!({"account": "caroline"})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["account"], "caroline");
    assert_eq!(account_of(&a, id).await, "caroline");
    // Nothing else ends: the session answers, as the renamed user.
    let me = a.app.get("me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    assert_eq!(me.body["data"]["account"], "caroline");
    assert_eq!(
        login_status(&a, "caroline", "pass-word-1").await,
        StatusCode::OK
    );
    assert_eq!(
        login_status(&a, "carol", "pass-word-1").await,
        StatusCode::UNAUTHORIZED
    );
    let changed = events(&a, EventType::UserChanged).await;
    let e = changed.iter().find(|e| e.user_id == Some(id)).unwrap();
    assert_eq!(e.account.as_deref(), Some("caroline"));
    assert_eq!(
        e.detail["account"],
        json!({"old": "carol", "new": "caroline"})
    );
    assert_eq!(e.detail["fields"], json!(["account"]));
    assert_eq!(e.detail["by"], json!({"id": a.root_id, "account": "root"}));
    // The freed name can be taken again.
    a.create_user("carol").await;
}

/// `POST admin/users/{id}/password`: the policy first (nothing changes on a refusal), then
/// the new password, every session of the user ended, their reset link dead, audited.
async fn set_user_password(t: TestDb) {
    let a = Admin::new(t).await;
    let (id, first) = a.member("erin", "user").await;
    let second = a.app.login("erin", "pass-word-1").await;
    let (_, other) = a.member("frank", "user").await;
    let mut conn = a.app.t.db.conn().await.unwrap();
    let reset = account_token::issue(
        &mut conn,
        Purpose::PasswordReset,
        id,
        None,
        std::time::Duration::from_secs(3600),
    )
    .await
    .unwrap();
    let path = format!("/users/{id}/password");
    for (body, code) in [
        (json!({"password": "short"}), "weak_password"),
        (json!({"password": "password123"}), "weak_password"),
        (json!({"password": "erin-erin-99"}), "weak_password"),
        (json!({"password": ""}), "invalid_input"),
        (json!({"password": "x\u{0}yzzy-long"}), "invalid_input"),
        (
            json!({"password": "fine-pass-word-9", "is_superuser": true}),
            "invalid_input",
        ),
        (json!({}), "invalid_input"),
    ] {
        let r = a
            .call(Method::POST, &path, Some(body.clone()), &a.root)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:?}",
            r.body
        );
        assert_eq!(r.code(), code, "{body}: {:?}", r.body);
    }
    let r = a
        .call(
            Method::POST,
            &path,
            Some(json!({"password": "short"})),
            &a.root,
        )
        .await;
    assert_eq!(r.body["rule"], "min_length");
    // Nothing changed: both sessions answer, the old password logs in, the link works.
    for token in [&first, &second] {
        assert_eq!(a.app.get("me", Some(token)).await.status, StatusCode::OK);
    }
    assert_eq!(
        login_status(&a, "erin", "pass-word-1").await,
        StatusCode::OK
    );
    assert!(
        account_token::peek(&mut conn, Purpose::PasswordReset, &reset)
            .await
            .is_ok()
    );
    assert!(events(&a, EventType::PasswordChanged).await.is_empty());
    let r = a
        .call(
            Method::POST,
            "/users/999999/password",
            Some(json!({"password": "new-pass-word-2"})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let sessions = session::list_for_user(&mut conn, id).await.unwrap().len();
    assert_eq!(sessions, 3);
    let r = a
        .call(
            Method::POST,
            &path,
            Some(json!({"password": "new-pass-word-2"})),
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["ended_sessions"], 3);
    for token in [&first, &second] {
        assert_eq!(
            a.app.get("me", Some(token)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(
        session::list_for_user(&mut conn, id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        account_token::peek(&mut conn, Purpose::PasswordReset, &reset)
            .await
            .is_err()
    );
    // Another user's session is untouched.
    assert_eq!(a.app.get("me", Some(&other)).await.status, StatusCode::OK);
    assert_eq!(
        login_status(&a, "erin", "pass-word-1").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_status(&a, "erin", "new-pass-word-2").await,
        StatusCode::OK
    );
    let changed = events(&a, EventType::PasswordChanged).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].user_id, Some(id));
    assert_eq!(changed[0].detail["ended_sessions"], 3);
    assert_eq!(
        changed[0].detail["by"],
        json!({"id": a.root_id, "account": "root"})
    );
    let text = changed[0].detail.to_string();
    assert!(
        !text.contains("new-pass-word-2") && !text.contains("$2"),
        "{text}"
    );
}

/// `GET admin/users/{id}/sessions` lists the user's sessions without any token or hash;
/// `DELETE admin/users/{id}/sessions/{sid}` ends one (the others stay), 404 for a session
/// that is not that user's (which then still answers), audited with `by`.
async fn list_and_revoke_user_sessions(t: TestDb) {
    let a = Admin::new(t).await;
    let (id, first) = a.member("gina", "user").await;
    let second = a.app.login("gina", "pass-word-1").await;
    let (hugo, hugo_token) = a.member("hugo", "user").await;
    let list = a.get(&format!("/users/{id}/sessions"), &a.root).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let items = list.body["data"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let text = list.body.to_string();
    for token in [&first, &second] {
        assert!(!text.contains(token.as_str()));
        assert!(!text.contains(&session::hash_token(token)));
    }
    for item in items {
        assert_eq!(item["user_id"], id);
        assert!(item.get("token_hash").is_none() && item.get("session_info").is_none());
    }
    assert_eq!(
        a.get("/users/999999/sessions", &a.root).await.status,
        StatusCode::NOT_FOUND
    );

    let mut conn = a.app.t.db.conn().await.unwrap();
    let hash = session::hash_token(&first);
    let sid = session::list_for_user(&mut conn, id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.token_hash == hash)
        .unwrap()
        .id;
    let hugo_sid = session::list_for_user(&mut conn, hugo).await.unwrap()[0].id;
    // Hugo's session through Gina's path, a non-numeric id, an unknown one: 404.
    for wrong in [hugo_sid.to_string(), "abc".into(), "999999".into()] {
        let r = a
            .call(
                Method::DELETE,
                &format!("/users/{id}/sessions/{wrong}"),
                None,
                &a.root,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{wrong}: {:?}", r.body);
    }
    assert_eq!(
        a.app.get("me", Some(&hugo_token)).await.status,
        StatusCode::OK
    );
    assert!(events(&a, EventType::SessionRevoked).await.is_empty());

    let r = a
        .call(
            Method::DELETE,
            &format!("/users/{id}/sessions/{sid}"),
            None,
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        a.app.get("me", Some(&first)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(a.app.get("me", Some(&second)).await.status, StatusCode::OK);
    let r = a
        .call(
            Method::DELETE,
            &format!("/users/{id}/sessions/{sid}"),
            None,
            &a.root,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let list = a.get(&format!("/users/{id}/sessions"), &a.root).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    let revoked = events(&a, EventType::SessionRevoked).await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].user_id, Some(id));
    assert_eq!(revoked[0].detail["session_id"], sid);
    assert_eq!(
        revoked[0].detail["by"],
        json!({"id": a.root_id, "account": "root"})
    );
}

backend_tests!(
    rename_user,
    set_user_password,
    list_and_revoke_user_sessions,
);

backend_tests!(
    every_endpoint_is_guarded,
    users_list_pages_and_filters,
    create_user_with_roles,
    show_change_suspend_delete,
    replace_roles_and_groups,
    roles_endpoints,
    groups_endpoints,
    permissions_and_overview,
);
