//! An app with the built-in roles and a logged-in superuser, for the admin-endpoint tests.

use auth_axum::UserStore;
use auth_axum::auth_core::rbac::manage;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::TestDb;
use crate::http::{Answer, TestApp};
use crate::model::v1::User;

/// Where the admin endpoints are mounted.
pub const BASE: &str = "/api/contrib/auth/admin";

/// The admin-test fixture: an app, and a superuser's session.
pub struct Admin {
    /// The app.
    pub app: TestApp,
    /// A superuser's session.
    pub root: String,
    /// The id of the superuser.
    pub root_id: i64,
}

impl Admin {
    /// A migrated app with the built-in roles and a logged-in superuser `root`.
    pub async fn new(t: TestDb) -> Admin {
        let app = TestApp::new(t).await;
        let mut conn = app.t.db.conn().await.unwrap();
        manage::bootstrap(&mut conn).await.unwrap();
        let (root_id, root) = app.user("root").await;
        let mut user = User::find_by_id(&mut conn, root_id).await.unwrap().unwrap();
        user.is_superuser = true;
        user.update(&mut conn).await.unwrap();
        Admin { app, root, root_id }
    }

    /// Calls `BASE` + `path` with the session `token` (none when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: &str,
    ) -> Answer {
        let token = (!token.is_empty()).then_some(token);
        self.app
            .call(method, &format!("{BASE}{path}"), body, token)
            .await
    }

    /// `GET BASE + path`.
    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, None, token).await
    }

    /// A logged-in user holding the built-in role `role` (none when empty).
    pub async fn member(&self, account: &str, role: &str) -> (i64, String) {
        let (id, token) = self.app.user(account).await;
        if !role.is_empty() {
            let mut conn = self.app.t.db.conn().await.unwrap();
            manage::assign_role(&mut conn, id, role, None)
                .await
                .unwrap();
        }
        (id, token)
    }

    /// Creates a user through `POST admin/users` as root; returns its id.
    pub async fn create_user(&self, account: &str) -> i64 {
        let a = self
            .call(
                Method::POST,
                "/users",
                Some(json!({"account": account, "password": "pass-word-1"})),
                &self.root,
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        a.body["data"]["id"].as_i64().unwrap()
    }
}

/// The id of the role `name`, through `GET admin/roles` as root.
pub async fn role_id(a: &Admin, name: &str) -> i64 {
    let list = a.get("/roles", &a.root).await;
    list.body["data"]
        .as_array()
        .and_then(|roles| roles.iter().find(|r| r["name"] == name))
        .and_then(|r| r["id"].as_i64())
        .unwrap_or_else(|| panic!("no role {name}: {:?}", list.body))
}
