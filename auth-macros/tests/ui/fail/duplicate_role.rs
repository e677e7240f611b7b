use auth_axum::AuthUser;

#[derive(AuthUser)]
struct User {
    id: i64,
    #[auth(account)]
    username: String,
    #[auth(account)]
    login: String,
    password: String,
}

fn main() {}
