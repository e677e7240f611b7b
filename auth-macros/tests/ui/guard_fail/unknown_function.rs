use auth_axum::permission_required;

#[permission_required(either("article.read", "article.list"))]
async fn read() {}

fn main() {}
