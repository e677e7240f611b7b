//! With a permission catalog, declared permissions compile, and `permission_catalog!` lists
//! them sorted by code.

use auth_axum::{permission_catalog, permission_required};

#[permission_required(any("article.create", "article.delete"))]
async fn create() -> &'static str {
    "created"
}

fn main() {
    let _ = create;
    let catalog: &[(&str, &str)] = permission_catalog!();
    assert_eq!(
        catalog,
        [("article.create", "Create articles"), ("article.delete", "Delete articles")]
    );
}
