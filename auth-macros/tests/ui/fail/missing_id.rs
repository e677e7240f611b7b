use auth_axum::AuthUser;

#[derive(AuthUser)]
struct User {
    user_id: i64,
    account: String,
    password: String,
}

fn main() {}
