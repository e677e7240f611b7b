use auth_axum::permission_required;

#[permission_required(any("article.read", all()))]
async fn read() {}

fn main() {}
