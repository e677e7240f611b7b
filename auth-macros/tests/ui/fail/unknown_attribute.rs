use auth_axum::AuthUser;

#[derive(AuthUser)]
struct User {
    id: i64,
    #[auth(acount)]
    login: String,
    account: String,
    password: String,
}

fn main() {}
