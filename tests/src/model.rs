//! User models the tests derive: `v1::User` and `v2::User`, the same table one field apart,
//! for the `makemigrations` ALTER path, and `minimal::User`, with only what a model needs
//! (account, password, e-mail): every flow must work on it too.

/// The main test model: every role plus seven custom fields.
pub mod v1 {
    use auth_axum::AuthUser;
    use time::PrimitiveDateTime;
    use uuid::Uuid;

    /// A user with custom fields of every supported kind.
    #[derive(AuthUser, Clone, PartialEq)]
    #[auth(table = "users")]
    pub struct User {
        /// Primary key.
        pub id: i64,
        /// Login name.
        pub account: String,
        /// Password hash.
        pub password: String,
        /// E-mail address.
        pub email: Option<String>,
        /// Superuser flag.
        pub is_superuser: bool,
        /// Active flag.
        pub is_active: bool,
        /// Verified e-mail flag.
        pub is_verified: bool,
        /// Last login.
        pub last_login: Option<PrimitiveDateTime>,
        /// Creation time.
        pub date_joined: PrimitiveDateTime,
        /// Custom: first name, at most 64 characters.
        #[auth(max_length = 64)]
        pub first_name: String,
        /// Custom: last name, at most 64 characters (seed 000's example sends it).
        #[auth(max_length = 64)]
        pub last_name: String,
        /// Custom: optional nickname.
        pub nickname: Option<String>,
        /// Custom: age.
        pub age: i32,
        /// Custom: newsletter opt-in.
        pub newsletter: bool,
        /// Custom: an external identifier.
        pub external_id: Uuid,
        /// Custom: optional birthday.
        pub birthday: Option<PrimitiveDateTime>,
    }
}

/// The same table with one more field, as after an application change.
pub mod v2 {
    use auth_axum::AuthUser;
    use time::PrimitiveDateTime;
    use uuid::Uuid;

    /// `v1::User` plus `score`.
    #[derive(AuthUser, Clone, PartialEq)]
    #[auth(table = "users")]
    pub struct User {
        /// Primary key.
        pub id: i64,
        /// Login name.
        pub account: String,
        /// Password hash.
        pub password: String,
        /// E-mail address.
        pub email: Option<String>,
        /// Superuser flag.
        pub is_superuser: bool,
        /// Active flag.
        pub is_active: bool,
        /// Verified e-mail flag.
        pub is_verified: bool,
        /// Last login.
        pub last_login: Option<PrimitiveDateTime>,
        /// Creation time.
        pub date_joined: PrimitiveDateTime,
        /// Custom: first name, at most 64 characters.
        #[auth(max_length = 64)]
        pub first_name: String,
        /// Custom: last name, at most 64 characters (seed 000's example sends it).
        #[auth(max_length = 64)]
        pub last_name: String,
        /// Custom: optional nickname.
        pub nickname: Option<String>,
        /// Custom: age.
        pub age: i32,
        /// Custom: newsletter opt-in.
        pub newsletter: bool,
        /// Custom: an external identifier.
        pub external_id: Uuid,
        /// Custom: optional birthday.
        pub birthday: Option<PrimitiveDateTime>,
        /// New in v2: a score, default 0 for existing rows.
        pub score: i64,
    }
}

/// The smallest useful model: account, password and e-mail, no flags, no times, no custom
/// field.
pub mod minimal {
    use auth_axum::AuthUser;

    /// A user with an account, a password and an e-mail address.
    #[derive(AuthUser, Clone, PartialEq)]
    #[auth(table = "users")]
    pub struct User {
        /// Primary key.
        pub id: i64,
        /// Login name.
        pub account: String,
        /// Password hash.
        pub password: String,
        /// E-mail address.
        pub email: String,
    }
}
