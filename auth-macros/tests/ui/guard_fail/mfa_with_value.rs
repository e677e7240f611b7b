use auth_axum::permission_required;

#[permission_required("article.read", mfa = true)]
async fn read() {}

fn main() {}
