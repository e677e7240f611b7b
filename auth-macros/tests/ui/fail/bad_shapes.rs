use auth_axum::AuthUser;

#[derive(AuthUser)]
struct Tuple(i64, String, String);

#[derive(AuthUser)]
struct Generic<T> {
    id: i64,
    account: String,
    password: String,
    extra: T,
}

#[derive(AuthUser)]
#[allow(non_camel_case_types)]
struct users {
    id: i64,
    account: String,
    password: String,
    table: String,
}

fn main() {}
