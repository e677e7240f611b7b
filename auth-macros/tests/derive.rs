//! Behaviour of the code `#[derive(AuthUser)]` generates.

use auth_axum::{AuthUser, Backend, ColumnType, DefaultValue};
use time::PrimitiveDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// A user with every role and custom fields.
#[derive(AuthUser, Clone)]
#[auth(table = "members")]
pub struct Member {
    id: i64,
    #[auth(account)]
    username: String,
    password: String,
    email: Option<String>,
    is_superuser: bool,
    is_active: bool,
    is_verified: bool,
    last_login: Option<PrimitiveDateTime>,
    date_joined: PrimitiveDateTime,
    #[auth(max_length = 80)]
    display_name: String,
    bio: Option<String>,
    age: i32,
    newsletter: bool,
    #[auth(unique)]
    external_id: Uuid,
    birthday: Option<PrimitiveDateTime>,
    score: f64,
}

fn member() -> Member {
    Member {
        id: 7,
        username: "alice".into(),
        password: "$2b$12$secret-hash-value".into(),
        email: Some("alice@example.com".into()),
        is_superuser: false,
        is_active: true,
        is_verified: false,
        last_login: None,
        date_joined: datetime!(2024-01-02 03:04:05),
        display_name: "Alice".into(),
        bio: None,
        age: 30,
        newsletter: true,
        external_id: Uuid::nil(),
        birthday: None,
        score: 1.5,
    }
}

#[test]
fn debug_hides_the_password() {
    let text = format!("{:?}", member());
    assert!(!text.contains("secret-hash-value"), "{text}");
    assert!(text.contains("password: <redacted>"), "{text}");
    assert!(text.contains("username: \"alice\""), "{text}");
    assert!(text.starts_with("Member {"), "{text}");
}

#[test]
fn accessors() {
    let mut m = member();
    assert_eq!(m.id(), 7);
    assert_eq!(AuthUser::account(&m), "alice");
    assert_eq!(m.password_hash(), "$2b$12$secret-hash-value");
    m.set_password_hash("new".into());
    assert_eq!(m.password_hash(), "new");
    assert_eq!(AuthUser::email(&m), Some("alice@example.com"));
    assert!(!AuthUser::is_verified(&m));
    assert_eq!(
        AuthUser::date_joined(&m),
        Some(datetime!(2024-01-02 03:04:05))
    );
}

#[test]
fn schema_module_is_generated() {
    let _ = members::table;
    let _ = members::username;
}

#[test]
fn create_sql() {
    println!("{}", Member::create_table_sql(Backend::Mysql));
    println!("{:?}", Member::TABLE);
    let _ = (ColumnType::Text, DefaultValue::Zero);
}
