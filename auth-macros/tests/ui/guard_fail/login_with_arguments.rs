use auth_axum::login_required;

#[login_required("article.read")]
async fn read() {}

fn main() {}
