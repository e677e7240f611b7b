//! The quickstart's user model.

use auth_axum::AuthUser;
use time::PrimitiveDateTime;

/// A user with two custom fields, `first_name` and `last_name`.
#[derive(AuthUser, Clone)]
#[auth(table = "users")]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Login name.
    pub account: String,
    /// Password hash (never serialized or printed).
    pub password: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Passes every permission check.
    pub is_superuser: bool,
    /// Inactive users cannot log in.
    pub is_active: bool,
    /// Last successful login.
    pub last_login: Option<PrimitiveDateTime>,
    /// Creation time.
    pub date_joined: PrimitiveDateTime,
    /// Custom field.
    #[auth(max_length = 150)]
    pub first_name: String,
    /// Custom field.
    #[auth(max_length = 150)]
    pub last_name: String,
}
