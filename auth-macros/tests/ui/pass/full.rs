//! A model with every role and custom fields of every kind, in a crate that denies
//! `unused_qualifications` and `missing_docs`.
#![deny(unused_qualifications, missing_docs, warnings)]

use auth_axum::AuthUser;
use time::PrimitiveDateTime;
use uuid::Uuid;

/// The application's user.
#[derive(AuthUser, Clone)]
#[auth(table = "accounts", crate = "::auth_axum")]
pub struct User {
    /// Primary key.
    #[auth(id)]
    pub user_id: i64,
    /// Login name.
    #[auth(account)]
    pub username: String,
    /// Password hash.
    #[auth(password)]
    pub password_hash: String,
    /// E-mail address.
    pub email: String,
    /// Superuser flag.
    #[auth(superuser)]
    pub admin: bool,
    /// Active flag.
    pub is_active: bool,
    /// Verified flag.
    pub is_verified: bool,
    /// Last login.
    pub last_login: Option<PrimitiveDateTime>,
    /// Creation time.
    pub date_joined: PrimitiveDateTime,
    /// Custom: display name.
    #[auth(max_length = 64)]
    pub display_name: String,
    /// Custom: optional nickname.
    pub nickname: Option<String>,
    /// Custom: age.
    pub age: i32,
    /// Custom: newsletter opt-in.
    pub newsletter: bool,
    /// Custom: external identifier.
    #[auth(unique)]
    pub external_id: Uuid,
    /// Custom: birthday.
    pub birthday: Option<PrimitiveDateTime>,
    /// Custom: optional external reference.
    pub referrer: Option<Uuid>,
    /// Custom: small and floating-point numbers.
    pub level: i16,
    /// Custom: a ratio.
    pub ratio: f32,
}

/// Prints the PostgreSQL DDL of the model.
fn main() {
    let sql = User::create_table_sql(auth_axum::Backend::Postgres);
    assert!(sql.contains("\"display_name\" VARCHAR(64)"), "{sql}");
    println!("{sql}");
    println!("{:?}", User::TABLE);
    let _ = accounts::table;
}
