use auth_axum::AuthUser;

#[derive(AuthUser)]
struct User {
    id: i64,
    login: String,
    password: String,
}

fn main() {}
