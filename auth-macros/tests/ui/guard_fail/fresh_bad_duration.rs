use auth_axum::login_required;

#[login_required(fresh = "soon")]
async fn read() {}

fn main() {}
