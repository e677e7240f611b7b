use auth_axum::permission_required;

#[permission_required("article.read", fresh = 600)]
async fn read() {}

fn main() {}
