//! The RBAC management API on every backend: the role hierarchy and its cycle check,
//! rename and delete, readers, the grant rules, the bootstrap, scoped assignments and the
//! RBAC version (bumped by real changes only).

use auth_axum::Actor;
use auth_axum::auth_core::migrate::{self, AppMigrations};
use auth_axum::auth_core::rbac::manage::{self, ScopedRole};
use auth_axum::auth_core::rbac::{self, Grants};
use auth_axum::{ApiError, DbConn, Error, ErrorCode};
use auth_tests::{TestDb, backend_tests};
use axum::http::StatusCode;

/// Migrates the core tables and returns a connection.
async fn conn(t: &TestDb) -> DbConn {
    migrate::run(&t.db, &AppMigrations::None)
        .await
        .expect("migrate");
    t.db.conn().await.expect("connection")
}

async fn grants(conn: &mut DbConn, user_id: i64, scope: Option<&str>) -> Grants {
    rbac::grants(conn, user_id, scope).await.unwrap()
}

fn set(items: &[&str]) -> std::collections::BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Roles with their parents, and the version: what a refused change must leave alone.
async fn snapshot(conn: &mut DbConn) -> (Vec<manage::RoleInfo>, i64) {
    (
        manage::list_roles(conn).await.unwrap(),
        rbac::version(conn).await.unwrap(),
    )
}

fn scoped(role: &str, scope: Option<&str>) -> ScopedRole {
    ScopedRole {
        role: role.to_owned(),
        scope: scope.map(str::to_owned),
    }
}

async fn inheritance_through_set_role_parent(t: TestDb) {
    let conn = &mut conn(&t).await;
    manage::get_or_create_permission(conn, "article.read", "Read")
        .await
        .unwrap();
    manage::get_or_create_permission(conn, "article.edit", "Edit")
        .await
        .unwrap();
    manage::get_or_create_role(conn, "reader", None)
        .await
        .unwrap();
    manage::get_or_create_role(conn, "editor", None)
        .await
        .unwrap();
    manage::grant_permission(conn, "reader", "article.read")
        .await
        .unwrap();
    manage::grant_permission(conn, "editor", "article.edit")
        .await
        .unwrap();
    manage::assign_role(conn, 7, "editor", None).await.unwrap();
    let before = grants(conn, 7, None).await;
    assert_eq!(before.roles, set(&["editor"]));
    assert_eq!(before.permissions, set(&["article.edit"]));

    let v0 = rbac::version(conn).await.unwrap();
    manage::set_role_parent(conn, "editor", Some("reader"))
        .await
        .unwrap();
    let v1 = rbac::version(conn).await.unwrap();
    assert!(v1 > v0, "a new parent bumps the version");
    let after = grants(conn, 7, None).await;
    assert_eq!(after.roles, set(&["editor", "reader"]));
    assert_eq!(after.permissions, set(&["article.edit", "article.read"]));
    let roles = manage::list_roles(conn).await.unwrap();
    let names: Vec<(&str, Option<&str>)> = roles
        .iter()
        .map(|r| (r.name.as_str(), r.parent.as_deref()))
        .collect();
    assert_eq!(names, [("editor", Some("reader")), ("reader", None)]);

    manage::set_role_parent(conn, "editor", Some("reader"))
        .await
        .unwrap();
    assert_eq!(
        rbac::version(conn).await.unwrap(),
        v1,
        "the same parent again changes nothing"
    );

    manage::set_role_parent(conn, "editor", None).await.unwrap();
    assert!(rbac::version(conn).await.unwrap() > v1);
    assert_eq!(grants(conn, 7, None).await, before, "clearing the parent");

    // get_or_create_role with a parent sets it on an existing role too.
    manage::get_or_create_role(conn, "editor", Some("reader"))
        .await
        .unwrap();
    assert!(grants(conn, 7, None).await.has_permission("article.read"));
    // Direct permissions only; role_table has the inherited ones.
    assert_eq!(
        manage::role_permissions(conn, "editor").await.unwrap(),
        ["article.edit"]
    );
    let table = rbac::role_table(conn).await.unwrap();
    let editor = &table.iter().find(|(n, _)| n == "editor").unwrap().1;
    assert_eq!(editor.permissions, set(&["article.edit", "article.read"]));

    assert!(matches!(
        manage::set_role_parent(conn, "editor", Some("nobody")).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        manage::set_role_parent(conn, "nobody", None).await,
        Err(Error::NotFound(_))
    ));
}

async fn cycles_are_refused(t: TestDb) {
    let conn = &mut conn(&t).await;
    manage::get_or_create_role(conn, "a", None).await.unwrap();
    manage::get_or_create_role(conn, "b", Some("a"))
        .await
        .unwrap();
    manage::get_or_create_role(conn, "c", Some("b"))
        .await
        .unwrap();
    let before = snapshot(conn).await;

    let direct = manage::set_role_parent(conn, "a", Some("a")).await;
    assert!(matches!(direct, Err(Error::Invalid(_))), "{direct:?}");
    let indirect = manage::set_role_parent(conn, "a", Some("c")).await;
    match indirect {
        Err(Error::Invalid(message)) => assert!(message.contains("ancestor"), "{message}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let two = manage::set_role_parent(conn, "b", Some("c")).await;
    assert!(matches!(two, Err(Error::Invalid(_))), "{two:?}");
    let via_create = manage::get_or_create_role(conn, "a", Some("c")).await;
    assert!(
        matches!(via_create, Err(Error::Invalid(_))),
        "{via_create:?}"
    );
    let own = manage::get_or_create_role(conn, "c", Some("c")).await;
    assert!(matches!(own, Err(Error::Invalid(_))), "{own:?}");
    assert_eq!(
        snapshot(conn).await,
        before,
        "a refused change changes nothing"
    );

    // Grants still resolve (no cycle was stored), and a legal move works.
    manage::assign_role(conn, 1, "c", None).await.unwrap();
    assert_eq!(grants(conn, 1, None).await.roles, set(&["a", "b", "c"]));
    manage::set_role_parent(conn, "c", Some("a")).await.unwrap();
    assert_eq!(grants(conn, 1, None).await.roles, set(&["a", "c"]));
}

async fn rename_and_conflicts(t: TestDb) {
    let conn = &mut conn(&t).await;
    manage::get_or_create_permission(conn, "doc.read", "")
        .await
        .unwrap();
    manage::get_or_create_permission(conn, "doc.write", "")
        .await
        .unwrap();
    manage::get_or_create_role(conn, "base", None)
        .await
        .unwrap();
    manage::get_or_create_role(conn, "writer", Some("base"))
        .await
        .unwrap();
    manage::get_or_create_role(conn, "other", None)
        .await
        .unwrap();
    manage::grant_permission(conn, "writer", "doc.write")
        .await
        .unwrap();
    manage::get_or_create_group(conn, "team").await.unwrap();
    manage::get_or_create_group(conn, "crew").await.unwrap();
    manage::grant_group_role(conn, "team", "writer", None)
        .await
        .unwrap();
    manage::add_to_group(conn, 3, "team").await.unwrap();

    manage::rename_role(conn, "writer", "author").await.unwrap();
    manage::rename_role(conn, "base", "root").await.unwrap();
    manage::rename_permission(conn, "doc.write", "doc.author")
        .await
        .unwrap();
    manage::rename_group(conn, "team", "squad").await.unwrap();
    let g = grants(conn, 3, None).await;
    assert_eq!(g.roles, set(&["author", "root"]), "links and parent stay");
    assert_eq!(g.permissions, set(&["doc.author"]));
    assert_eq!(
        manage::group_roles(conn, "squad").await.unwrap(),
        [scoped("author", None)]
    );
    let roles = manage::list_roles(conn).await.unwrap();
    assert_eq!(
        roles
            .iter()
            .map(|r| (r.name.as_str(), r.parent.as_deref()))
            .collect::<Vec<_>>(),
        [("author", Some("root")), ("other", None), ("root", None)]
    );

    let v = rbac::version(conn).await.unwrap();
    for result in [
        manage::rename_role(conn, "author", "other").await,
        manage::rename_group(conn, "squad", "crew").await,
        manage::rename_permission(conn, "doc.author", "doc.read").await,
    ] {
        assert!(matches!(result, Err(Error::Conflict { .. })), "{result:?}");
    }
    manage::rename_role(conn, "author", "author").await.unwrap();
    assert_eq!(rbac::version(conn).await.unwrap(), v, "nothing changed");
    assert_eq!(manage::list_roles(conn).await.unwrap(), roles);

    assert!(matches!(
        manage::rename_role(conn, "ghost", "spirit").await,
        Err(Error::NotFound(_))
    ));
    let long = "x".repeat(151);
    for bad in ["", " padded", "tab\there", long.as_str()] {
        let r = manage::rename_role(conn, "author", bad).await;
        assert!(matches!(r, Err(Error::Invalid(_))), "{bad:?}: {r:?}");
        let g = manage::get_or_create_group(conn, bad).await;
        assert!(matches!(g, Err(Error::Invalid(_))), "{bad:?}: {g:?}");
    }
    manage::rename_role(conn, "author", &"é".repeat(150))
        .await
        .unwrap();
    for bad in ["Doc.Read", "doc", "doc..read", "doc.read\n"] {
        let r = manage::rename_permission(conn, "doc.author", bad).await;
        assert!(matches!(r, Err(Error::Invalid(_))), "{bad:?}: {r:?}");
    }
}

async fn delete_in_use_removes_links(t: TestDb) {
    let conn = &mut conn(&t).await;
    for code in ["a.one", "a.two", "a.three"] {
        manage::get_or_create_permission(conn, code, "")
            .await
            .unwrap();
    }
    manage::get_or_create_role(conn, "parent", None)
        .await
        .unwrap();
    manage::get_or_create_role(conn, "child", Some("parent"))
        .await
        .unwrap();
    manage::get_or_create_role(conn, "grouped", None)
        .await
        .unwrap();
    manage::grant_permission(conn, "parent", "a.one")
        .await
        .unwrap();
    manage::grant_permission(conn, "child", "a.two")
        .await
        .unwrap();
    manage::grant_permission(conn, "child", "a.three")
        .await
        .unwrap();
    manage::grant_permission(conn, "grouped", "a.three")
        .await
        .unwrap();
    manage::assign_role(conn, 10, "child", None).await.unwrap();
    manage::assign_role(conn, 11, "parent", Some("t1"))
        .await
        .unwrap();
    manage::get_or_create_group(conn, "g").await.unwrap();
    manage::grant_group_role(conn, "g", "grouped", None)
        .await
        .unwrap();
    manage::grant_group_role(conn, "g", "parent", Some("t1"))
        .await
        .unwrap();
    manage::add_to_group(conn, 12, "g").await.unwrap();
    assert_eq!(
        grants(conn, 10, None).await.permissions,
        set(&["a.one", "a.two", "a.three"])
    );

    // A permission in use: taken from every role.
    assert!(manage::delete_permission(conn, "a.three").await.unwrap());
    assert_eq!(
        grants(conn, 10, None).await.permissions,
        set(&["a.one", "a.two"])
    );
    assert!(grants(conn, 12, None).await.permissions.is_empty());
    assert_eq!(
        manage::role_permissions(conn, "child").await.unwrap(),
        ["a.two"]
    );
    assert!(!manage::delete_permission(conn, "a.three").await.unwrap());

    // A group in use: its members lose its roles.
    assert_eq!(
        grants(conn, 12, Some("t1")).await.roles,
        set(&["grouped", "parent"])
    );
    assert!(manage::delete_group(conn, "g").await.unwrap());
    assert_eq!(grants(conn, 12, Some("t1")).await, Grants::default());
    assert!(rbac::group_names(conn, 12).await.unwrap().is_empty());
    assert!(manage::list_groups(conn).await.unwrap().is_empty());
    assert!(!manage::delete_group(conn, "g").await.unwrap());
    // A new group of the same name starts empty.
    manage::get_or_create_group(conn, "g").await.unwrap();
    assert!(manage::group_roles(conn, "g").await.unwrap().is_empty());

    // A role in use (assigned, scoped, and a parent): everything goes, children are orphaned.
    assert!(manage::delete_role(conn, "parent").await.unwrap());
    let g10 = grants(conn, 10, None).await;
    assert_eq!(g10.roles, set(&["child"]));
    assert_eq!(g10.permissions, set(&["a.two"]));
    assert_eq!(grants(conn, 11, Some("t1")).await, Grants::default());
    assert!(manage::user_roles(conn, 11).await.unwrap().is_empty());
    let child = manage::list_roles(conn).await.unwrap();
    assert_eq!(child.len(), 2);
    assert!(child.iter().all(|r| r.parent.is_none()));
    assert!(!manage::delete_role(conn, "parent").await.unwrap());
    // A new role of the same name starts with nothing.
    manage::get_or_create_role(conn, "parent", None)
        .await
        .unwrap();
    assert!(
        manage::role_permissions(conn, "parent")
            .await
            .unwrap()
            .is_empty()
    );
    let v = rbac::version(conn).await.unwrap();
    assert!(!manage::delete_role(conn, "nothing").await.unwrap());
    assert_eq!(
        rbac::version(conn).await.unwrap(),
        v,
        "deleting nothing changes nothing"
    );
}

async fn grant_rules(t: TestDb) {
    let conn = &mut conn(&t).await;
    manage::bootstrap(conn).await.unwrap();
    let (admin, plain, target) = (1, 2, 3);
    manage::assign_role(conn, admin, "admin", None)
        .await
        .unwrap();
    manage::assign_role(conn, plain, "user", None)
        .await
        .unwrap();
    let as_admin = Actor::for_user_id(admin, false);
    let as_plain = Actor::for_user_id(plain, false);
    let as_superuser = Actor::for_user_id(99, true);

    // Out of the box, admin holds users.manage: enough to assign roles it covers.
    manage::assign_role_as(conn, &as_admin, target, "user", None)
        .await
        .unwrap();
    manage::assign_role_as(conn, &as_admin, target, "admin", None)
        .await
        .unwrap();
    manage::assign_role_as(conn, &as_admin, target, "user", Some("t1"))
        .await
        .unwrap();
    let refused = manage::assign_role_as(conn, &as_admin, target, "superadmin", None).await;
    let Err(Error::Forbidden(message)) = refused else {
        panic!("expected Forbidden, got {refused:?}");
    };
    assert!(message.contains("superadmin"), "{message}");
    let api = ApiError::from(Error::Forbidden(message));
    assert_eq!(
        (api.status, api.code),
        (StatusCode::FORBIDDEN, ErrorCode::Forbidden)
    );
    let r = manage::assign_role_as(conn, &as_admin, target, "no-such-role", None).await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    assert_eq!(
        manage::user_roles(conn, target).await.unwrap(),
        [
            scoped("admin", None),
            scoped("user", None),
            scoped("user", Some("t1"))
        ]
    );

    // Without users.manage or roles.manage, nothing at all, not even their own role.
    for role in ["user", "admin", "superadmin"] {
        let r = manage::assign_role_as(conn, &as_plain, target, role, None).await;
        assert!(matches!(r, Err(Error::Forbidden(_))), "{role}: {r:?}");
        let r = manage::revoke_role_as(conn, &as_plain, target, role, None).await;
        assert!(matches!(r, Err(Error::Forbidden(_))), "{role}: {r:?}");
    }

    // Revoking follows the same rules; a superuser may assign anything, and then the
    // target is above the admin: it may no longer act on them at all.
    assert!(
        manage::revoke_role_as(conn, &as_admin, target, "user", Some("t1"))
            .await
            .unwrap()
    );
    manage::assign_role_as(conn, &as_superuser, target, "superadmin", None)
        .await
        .unwrap();
    let r = manage::revoke_role_as(conn, &as_admin, target, "superadmin", None).await;
    assert!(matches!(r, Err(Error::Forbidden(_))), "{r:?}");
    let r = manage::revoke_role_as(conn, &as_admin, target, "user", None).await;
    assert!(
        matches!(r, Err(Error::Forbidden(_))),
        "acting on a superadmin: {r:?}"
    );
    assert!(
        manage::revoke_role_as(conn, &as_superuser, target, "superadmin", None)
            .await
            .unwrap()
    );
    let r = manage::assign_role_as(conn, &as_superuser, target, "no-such-role", None).await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let api = ApiError::from(r.unwrap_err());
    assert_eq!(
        (api.status, api.code),
        (StatusCode::NOT_FOUND, ErrorCode::NotFound)
    );
    assert_eq!(
        manage::user_roles(conn, target).await.unwrap(),
        [scoped("admin", None), scoped("user", None)]
    );

    // A superadmin holds roles.manage and every role below: may assign superadmin.
    manage::assign_role(conn, 4, "superadmin", None)
        .await
        .unwrap();
    let as_superadmin = Actor::for_user_id(4, false);
    manage::assign_role_as(conn, &as_superadmin, 5, "superadmin", None)
        .await
        .unwrap();
    // Roles held through a group count too.
    manage::get_or_create_group(conn, "admins").await.unwrap();
    manage::grant_group_role(conn, "admins", "admin", None)
        .await
        .unwrap();
    manage::add_to_group(conn, 6, "admins").await.unwrap();
    let as_grouped = Actor::for_user_id(6, false);
    manage::assign_role_as(conn, &as_grouped, 7, "user", None)
        .await
        .unwrap();
}

async fn bootstrap_is_idempotent(t: TestDb) {
    let conn = &mut conn(&t).await;
    let v0 = rbac::version(conn).await.unwrap();
    let first = manage::bootstrap(conn).await.unwrap();
    assert!(first.changed());
    assert_eq!(first.roles_created, ["user", "admin", "superadmin"]);
    assert_eq!(first.permissions_created.len(), 6);
    assert_eq!(first.grants_created, 10);
    let v1 = rbac::version(conn).await.unwrap();
    assert!(v1 > v0);
    let roles = manage::list_roles(conn).await.unwrap();
    let permissions = manage::list_permissions(conn).await.unwrap();
    assert_eq!(
        roles
            .iter()
            .map(|r| (r.name.as_str(), r.parent.as_deref()))
            .collect::<Vec<_>>(),
        [
            ("admin", Some("user")),
            ("superadmin", Some("admin")),
            ("user", None)
        ]
    );
    assert_eq!(
        permissions
            .iter()
            .map(|p| p.code.as_str())
            .collect::<Vec<_>>(),
        [
            "permissions.manage",
            "permissions.read",
            "roles.manage",
            "roles.read",
            "users.manage",
            "users.read"
        ]
    );
    assert!(permissions.iter().all(|p| !p.remark.is_empty()));
    let table = rbac::role_table(conn).await.unwrap();
    let of = |name: &str| table.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert!(of("user").permissions.is_empty());
    assert_eq!(
        of("admin").permissions,
        set(&[
            "users.read",
            "users.manage",
            "roles.read",
            "permissions.read"
        ])
    );
    assert_eq!(of("superadmin").permissions.len(), 6);
    assert_eq!(
        of("superadmin").roles,
        set(&["superadmin", "admin", "user"])
    );
    assert!(
        manage::role_permissions(conn, "user")
            .await
            .unwrap()
            .is_empty()
    );

    let second = manage::bootstrap(conn).await.unwrap();
    assert!(!second.changed(), "{second:?}");
    assert_eq!(
        rbac::version(conn).await.unwrap(),
        v1,
        "no cache is flushed at restart"
    );
    assert_eq!(manage::list_roles(conn).await.unwrap(), roles);
    assert_eq!(manage::list_permissions(conn).await.unwrap(), permissions);
    assert_eq!(rbac::role_table(conn).await.unwrap(), table);

    // An administrator's changes survive the next start.
    manage::revoke_permission(conn, "admin", "users.manage")
        .await
        .unwrap();
    manage::get_or_create_permission(conn, "users.read", "Custom remark")
        .await
        .unwrap();
    let v2 = rbac::version(conn).await.unwrap();
    assert!(!manage::bootstrap(conn).await.unwrap().changed());
    assert_eq!(rbac::version(conn).await.unwrap(), v2);
    assert!(!of_table(conn, "admin").await.has_permission("users.manage"));
    let remark = manage::list_permissions(conn)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.code == "users.read")
        .unwrap()
        .remark;
    assert_eq!(remark, "Custom remark");

    // A missing default is restored with its grants.
    manage::delete_permission(conn, "roles.read").await.unwrap();
    let third = manage::bootstrap(conn).await.unwrap();
    assert_eq!(third.permissions_created, ["roles.read"]);
    assert_eq!(third.grants_created, 2);
    assert!(rbac::version(conn).await.unwrap() > v2);
    assert!(of_table(conn, "admin").await.has_permission("roles.read"));
}

async fn of_table(conn: &mut DbConn, role: &str) -> Grants {
    rbac::role_table(conn)
        .await
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == role)
        .unwrap()
        .1
}

async fn scoped_assignment_and_revocation(t: TestDb) {
    let conn = &mut conn(&t).await;
    manage::get_or_create_permission(conn, "projects.read", "")
        .await
        .unwrap();
    manage::get_or_create_permission(conn, "projects.write", "")
        .await
        .unwrap();
    manage::get_or_create_role(conn, "viewer", None)
        .await
        .unwrap();
    manage::get_or_create_role(conn, "maintainer", None)
        .await
        .unwrap();
    manage::grant_permission(conn, "viewer", "projects.read")
        .await
        .unwrap();
    manage::grant_permission(conn, "maintainer", "projects.write")
        .await
        .unwrap();

    manage::assign_role(conn, 1, "viewer", Some("p1"))
        .await
        .unwrap();
    manage::assign_role(conn, 1, "maintainer", Some("p2"))
        .await
        .unwrap();
    assert!(grants(conn, 1, None).await.permissions.is_empty());
    assert_eq!(
        grants(conn, 1, Some("p1")).await.permissions,
        set(&["projects.read"])
    );
    assert_eq!(
        grants(conn, 1, Some("p2")).await.permissions,
        set(&["projects.write"])
    );
    assert!(grants(conn, 1, Some("p3")).await.permissions.is_empty());
    // A global assignment counts in every scope.
    manage::assign_role(conn, 1, "viewer", None).await.unwrap();
    assert!(
        grants(conn, 1, Some("p3"))
            .await
            .has_permission("projects.read")
    );
    assert_eq!(
        manage::user_roles(conn, 1).await.unwrap(),
        [
            scoped("viewer", None),
            scoped("viewer", Some("p1")),
            scoped("maintainer", Some("p2"))
        ]
    );

    // Revocation is per scope.
    assert!(
        !manage::revoke_role(conn, 1, "maintainer", None)
            .await
            .unwrap()
    );
    assert!(
        !manage::revoke_role(conn, 1, "maintainer", Some("p1"))
            .await
            .unwrap()
    );
    assert!(
        grants(conn, 1, Some("p2"))
            .await
            .has_permission("projects.write")
    );
    assert!(
        manage::revoke_role(conn, 1, "maintainer", Some("p2"))
            .await
            .unwrap()
    );
    assert!(
        !grants(conn, 1, Some("p2"))
            .await
            .has_permission("projects.write")
    );
    assert!(manage::revoke_role(conn, 1, "viewer", None).await.unwrap());
    assert!(
        !grants(conn, 1, Some("p3"))
            .await
            .has_permission("projects.read")
    );
    assert!(
        grants(conn, 1, Some("p1"))
            .await
            .has_permission("projects.read")
    );

    // Group roles carry scopes too; revoke_group_role ungrants one scope.
    manage::get_or_create_group(conn, "ops").await.unwrap();
    manage::add_to_group(conn, 2, "ops").await.unwrap();
    manage::grant_group_role(conn, "ops", "maintainer", Some("p1"))
        .await
        .unwrap();
    manage::grant_group_role(conn, "ops", "viewer", None)
        .await
        .unwrap();
    assert_eq!(
        manage::group_roles(conn, "ops").await.unwrap(),
        [scoped("viewer", None), scoped("maintainer", Some("p1"))]
    );
    assert!(
        grants(conn, 2, Some("p1"))
            .await
            .has_permission("projects.write")
    );
    assert!(
        !grants(conn, 2, Some("p2"))
            .await
            .has_permission("projects.write")
    );
    assert!(
        !manage::revoke_group_role(conn, "ops", "maintainer", None)
            .await
            .unwrap()
    );
    assert!(
        manage::revoke_group_role(conn, "ops", "maintainer", Some("p1"))
            .await
            .unwrap()
    );
    assert!(
        !grants(conn, 2, Some("p1"))
            .await
            .has_permission("projects.write")
    );
    assert!(
        grants(conn, 2, Some("p1"))
            .await
            .has_permission("projects.read")
    );
    assert!(matches!(
        manage::group_roles(conn, "nobody").await,
        Err(Error::NotFound(_))
    ));
}

async fn version_moves_only_on_change(t: TestDb) {
    let conn = &mut conn(&t).await;
    let mut last = rbac::version(conn).await.unwrap();
    macro_rules! step {
        ($changes:expr, $call:expr) => {{
            let out = $call.await.unwrap();
            let now = rbac::version(conn).await.unwrap();
            assert_eq!(now > last, $changes, "{}", stringify!($call));
            assert!(now >= last);
            last = now;
            out
        }};
    }
    step!(
        true,
        manage::get_or_create_permission(conn, "x.read", "Read")
    );
    step!(
        false,
        manage::get_or_create_permission(conn, "x.read", "Read")
    );
    step!(
        true,
        manage::get_or_create_permission(conn, "x.read", "Read x")
    );
    step!(false, manage::sync_catalog(conn, &[("x.read", "Read x")]));
    step!(
        true,
        manage::sync_catalog(conn, &[("x.read", "Read x"), ("x.write", "")])
    );
    step!(true, manage::get_or_create_role(conn, "r", None));
    step!(false, manage::get_or_create_role(conn, "r", None));
    step!(true, manage::get_or_create_role(conn, "s", Some("r")));
    step!(false, manage::get_or_create_role(conn, "s", Some("r")));
    step!(false, manage::get_or_create_role(conn, "s", None));
    step!(true, manage::grant_permission(conn, "r", "x.read"));
    step!(false, manage::grant_permission(conn, "r", "x.read"));
    step!(true, manage::assign_role(conn, 1, "s", None));
    step!(false, manage::assign_role(conn, 1, "s", None));
    step!(true, manage::get_or_create_group(conn, "g"));
    step!(false, manage::get_or_create_group(conn, "g"));
    step!(true, manage::describe_group(conn, "g", "A group"));
    step!(false, manage::describe_group(conn, "g", "A group"));
    step!(true, manage::describe_role(conn, "r", "A role"));
    step!(false, manage::describe_role(conn, "r", "A role"));
    step!(true, manage::add_to_group(conn, 1, "g"));
    step!(false, manage::add_to_group(conn, 1, "g"));
    step!(true, manage::grant_group_role(conn, "g", "r", Some("t")));
    step!(false, manage::grant_group_role(conn, "g", "r", Some("t")));
    step!(true, manage::revoke_group_role(conn, "g", "r", Some("t")));
    step!(false, manage::revoke_group_role(conn, "g", "r", Some("t")));
    step!(true, manage::remove_from_group(conn, 1, "g"));
    step!(false, manage::remove_from_group(conn, 1, "g"));
    step!(true, manage::revoke_permission(conn, "r", "x.read"));
    step!(false, manage::revoke_permission(conn, "r", "x.read"));
    step!(true, manage::forget_user(conn, 1));
    step!(false, manage::forget_user(conn, 1));
    let _ = last;

    assert_eq!(
        manage::list_groups(conn).await.unwrap()[0].description,
        "A group"
    );
    let r = manage::list_roles(conn).await.unwrap();
    assert_eq!(r[0].description, "A role");
    assert!(matches!(
        manage::get_or_create_permission(conn, "Bad Code", "").await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        manage::sync_catalog(conn, &[("ok.code", ""), ("bad", "")]).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        manage::get_or_create_role(conn, "nul\0", None).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        manage::grant_permission(conn, "r", "missing.code").await,
        Err(Error::NotFound(_))
    ));
}

async fn concurrent_get_or_create(t: TestDb) {
    conn(&t).await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = db.conn().await.unwrap();
            let role = manage::get_or_create_role(&mut conn, "racer", None)
                .await
                .unwrap();
            let group = manage::get_or_create_group(&mut conn, "racers")
                .await
                .unwrap();
            let permission = manage::get_or_create_permission(&mut conn, "race.run", "")
                .await
                .unwrap();
            manage::assign_role(&mut conn, 1, "racer", None)
                .await
                .unwrap();
            (role, group, permission)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let conn = &mut t.db.conn().await.unwrap();
    assert_eq!(manage::list_roles(conn).await.unwrap().len(), 1);
    assert_eq!(manage::list_groups(conn).await.unwrap().len(), 1);
    assert_eq!(manage::list_permissions(conn).await.unwrap().len(), 1);
    assert_eq!(manage::user_roles(conn, 1).await.unwrap().len(), 1);
    assert_eq!(
        rbac::version(conn).await.unwrap(),
        4,
        "one bump per actual change"
    );
}

backend_tests!(
    inheritance_through_set_role_parent,
    cycles_are_refused,
    rename_and_conflicts,
    delete_in_use_removes_links,
    grant_rules,
    bootstrap_is_idempotent,
    scoped_assignment_and_revocation,
    version_moves_only_on_change,
    concurrent_get_or_create,
);
