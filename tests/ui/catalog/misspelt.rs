//! With a permission catalog, a misspelt permission is a compile error on the string.

use auth_axum::permission_required;

#[permission_required("article.craete")]
async fn create() -> &'static str {
    "created"
}

fn main() {
    let _ = create;
}
