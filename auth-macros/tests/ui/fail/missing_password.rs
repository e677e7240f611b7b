use auth_axum::AuthUser;

#[derive(AuthUser)]
struct User {
    id: i64,
    account: String,
    pass: String,
}

fn main() {}
