use auth_axum::AuthUser;

#[derive(AuthUser)]
struct User {
    id: i64,
    account: String,
    password: String,
    nickname: Option<Option<String>>,
    joined: time::OffsetDateTime,
    tag: &'static str,
    last_login: time::PrimitiveDateTime,
}

fn main() {}
