use auth_axum::login_required;

#[login_required(fresh = "5m", mfa, fresh = "10m")]
async fn read() {}

fn main() {}
