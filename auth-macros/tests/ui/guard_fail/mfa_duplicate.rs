use auth_axum::login_required;

#[login_required(mfa, mfa)]
async fn read() {}

fn main() {}
