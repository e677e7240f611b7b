use auth_axum::permission_required;

#[permission_required("Article.create")]
async fn create() {}

fn main() {}
