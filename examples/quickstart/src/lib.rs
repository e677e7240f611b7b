//! The quickstart application as a library: its user model, its articles API, the start-up
//! preparation and the router, so that `main.rs` and the tests build the same application.

pub mod articles;
pub mod model;

use auth_axum::Auth;
use auth_axum::Database;
use auth_axum::auth_core::migrate::AppMigrations;
use auth_axum::auth_core::rbac::manage;

use model::User;

/// The user-table migrations written by `makemigrations`, embedded.
pub fn migrations() -> AppMigrations {
    auth_axum::embed_app_migrations!()
}

/// Migrates, creates the built-in roles and permissions (superadmin, admin, user;
/// users.*, roles.*, permissions.*), syncs the permission catalog and seeds the example roles (idempotent): Reader
/// (article.view), Editor (view, create, edit), Administrator (every article permission),
/// and the group "Content Team" holding Editor.
pub async fn prepare(
    db: &Database,
    migrations: &auth_axum::auth_core::migrate::AppMigrations,
) -> Result<(), auth_axum::Error> {
    auth_axum::auth_core::migrate::run(db, migrations).await?;
    let mut conn = db.conn().await?;
    manage::bootstrap(&mut conn).await?;
    let catalog = auth_axum::permission_catalog!();
    let created = manage::sync_catalog(&mut conn, catalog).await?;
    tracing::info!(created, "permission catalog synced");
    let roles: [(&str, &[&str]); 3] = [
        ("Reader", &["article.view"]),
        (
            "Editor",
            &["article.view", "article.create", "article.edit"],
        ),
        (
            "Administrator",
            &[
                "article.view",
                "article.create",
                "article.edit",
                "article.delete",
            ],
        ),
    ];
    for (role, permissions) in roles {
        manage::get_or_create_role(&mut conn, role, None).await?;
        for permission in permissions {
            manage::grant_permission(&mut conn, role, permission).await?;
        }
    }
    manage::get_or_create_group(&mut conn, "Content Team").await?;
    manage::grant_group_role(&mut conn, "Content Team", "Editor", None).await?;
    Ok(())
}

/// The passkey demo page: plain HTML and inline JavaScript calling
/// `navigator.credentials.create` / `get` with the options of the auth router's
/// `passkeys/*/start` routes. Open it at `http://localhost:3000/passkey-demo` (`localhost`,
/// not 127.0.0.1: the relying party is a domain, and `localhost` is a secure context).
pub const PASSKEY_DEMO: &str = include_str!("passkey_demo.html");

/// The application: the articles API, the passkey demo page at `/passkey-demo`, and the
/// auth router at `/api/contrib/auth`, behind the auth layer.
pub fn app(auth: &Auth<User>) -> axum::Router {
    axum::Router::new()
        .merge(articles::router())
        .route(
            "/passkey-demo",
            axum::routing::get(|| async { axum::response::Html(PASSKEY_DEMO) }),
        )
        .nest("/api/contrib/auth", auth.router())
        .layer(auth.layer())
}
