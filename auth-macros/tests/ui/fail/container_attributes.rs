use auth_axum::AuthUser;

#[derive(AuthUser)]
#[auth(tabel = "users", table = "user accounts", account)]
struct User {
    id: i64,
    #[auth(table = "x")]
    account: String,
    password: String,
}

fn main() {}
