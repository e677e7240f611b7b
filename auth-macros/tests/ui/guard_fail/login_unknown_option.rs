use auth_axum::login_required;

#[login_required(mfaa)]
async fn read() {}

fn main() {}
