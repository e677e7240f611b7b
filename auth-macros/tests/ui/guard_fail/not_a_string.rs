use auth_axum::permission_required;

#[permission_required("article.read", 42)]
async fn read() {}

fn main() {}
