use auth_axum::AuthUser;

#[derive(AuthUser)]
struct User {
    id: i64,
    account: String,
    password: String,
    #[auth(max_length = 10)]
    newsletter: bool,
    #[auth(max_length = "long")]
    nickname: String,
    #[auth(max_length = 0)]
    motto: String,
}

fn main() {}
