use auth_axum::AuthUser;

#[derive(AuthUser)]
struct User {
    #[auth(id, unique)]
    id: i64,
    #[auth(account, email)]
    login: String,
    password: String,
    #[auth(active = true)]
    enabled: bool,
}

fn main() {}
