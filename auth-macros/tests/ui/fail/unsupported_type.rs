use auth_axum::AuthUser;

#[derive(AuthUser)]
struct User {
    id: i64,
    account: String,
    password: String,
    logins: u32,
}

fn main() {}
