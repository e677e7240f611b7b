use auth_axum::AuthUser;

#[derive(AuthUser)]
struct User {
    id: i64,
    account: String,
    password: String,
    is_active: String,
}

fn main() {}
