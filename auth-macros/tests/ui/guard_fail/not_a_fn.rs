use auth_axum::login_required;

#[login_required]
struct Handler;

fn main() {}
