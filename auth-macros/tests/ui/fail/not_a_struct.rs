use auth_axum::AuthUser;

#[derive(AuthUser)]
enum User {
    Anonymous,
    Known { id: i64, account: String, password: String },
}

fn main() {}
