use auth_axum::AuthUser;

#[derive(AuthUser)]
struct User {
    id: i32,
    account: String,
    #[auth(pasword)]
    password: String,
    tags: Vec<String>,
}

fn main() {}
