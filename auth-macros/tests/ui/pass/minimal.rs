//! The smallest model: the three required roles by their conventional names.
#![deny(unused_qualifications, missing_docs, warnings)]

use auth_axum::{AuthUser, Backend};

/// A user with only the required fields.
#[derive(AuthUser)]
struct User {
    id: i64,
    account: String,
    password: String,
}

fn main() {
    let user = User { id: 1, account: "a".into(), password: "h".into() };
    assert_eq!(user.email(), None);
    assert!(user.is_active() && user.is_verified() && !user.is_superuser());
    assert_eq!(user.last_login(), None);
    assert_eq!(user.date_joined(), None);
    let _ = users::table;
    println!("{:?} {}", user, User::create_table_sql(Backend::Sqlite));
}
