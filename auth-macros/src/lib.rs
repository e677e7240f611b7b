//! Procedural macros of the axum auth framework. Use them through `auth-axum`, which
//! re-exports them; generated code names only `auth_axum::__private`.

mod auth_user;

use proc_macro::TokenStream;

/// Derives `AuthUser` and `UserStore` for a user model, along with its Diesel table, a
/// `Debug` that hides the password hash and a `Serialize` that leaves it out.
///
/// ```
/// use auth_axum::AuthUser;
/// use time::PrimitiveDateTime;
///
/// #[derive(AuthUser, Clone)]
/// #[auth(table = "users")]
/// pub struct User {
///     pub id: i64,
///     pub account: String,
///     pub password: String,
///     pub email: Option<String>,
///     pub is_active: bool,
///     pub date_joined: PrimitiveDateTime,
///     #[auth(max_length = 64)]
///     pub display_name: String,
///     #[auth(unique)]
///     pub external_id: uuid::Uuid,
/// }
///
/// let sql = User::create_table_sql(auth_axum::Backend::Postgres);
/// assert!(sql.contains("\"account\" VARCHAR(150) NOT NULL"));
/// ```
///
/// # Requirements
///
/// - A struct with named fields, without generic parameters, of at most 32 fields (Diesel's
///   tuple limit).
/// - The application must depend on `diesel` itself (`diesel = "2.3"`, any features) beside
///   `auth-axum`: Diesel's `table!` macro, which the derive invokes, expands to
///   `use ::diesel;`.
/// - Do **not** also derive `Debug` or `serde::Serialize` on the model: the derive implements
///   both (see below), so a second derive is a conflicting-implementation error.
///
/// # Roles
///
/// Some fields play a role the framework knows. A field claims a role with an attribute, or
/// by its conventional name when no field claims that role by attribute (the attribute
/// wins silently). A field plays at most one role and a role is played by at most one field.
///
/// | attribute | conventional name | type | required | when absent |
/// |---|---|---|---|---|
/// | `#[auth(id)]` | `id` | `i64` | yes | |
/// | `#[auth(account)]` | `account` | `String` | yes | |
/// | `#[auth(password)]` | `password` | `String` (the hash) | yes | |
/// | `#[auth(email)]` | `email` | `String` or `Option<String>` | no | `email()` is `None` |
/// | `#[auth(superuser)]` | `is_superuser` | `bool` | no | `false` |
/// | `#[auth(active)]` | `is_active` | `bool` | no | `true` |
/// | `#[auth(verified)]` | `is_verified` | `bool` | no | `true` |
/// | `#[auth(last_login)]` | `last_login` | `Option<PrimitiveDateTime>` | no | `None` |
/// | `#[auth(date_joined)]` | `date_joined` | `PrimitiveDateTime` | no | `None` |
///
/// Every other field is a custom column, stored and loaded like the role fields.
///
/// # Attributes
///
/// On the struct:
/// - `#[auth(table = "name")]`: the table name, also the name of the generated Diesel module
///   (so a Rust identifier). Default `"users"`.
/// - `#[auth(crate = "path")]`: the path of the `auth-axum` crate, for applications that
///   rename it. Default `::auth_axum`.
///
/// On a field, besides the role keys above:
/// - `#[auth(max_length = N)]` (`String` and `Option<String>` fields, `N > 0`): the column is
///   `VARCHAR(N)` instead of `TEXT`. Defaults: 150 for the account, 254 for the email, 255
///   for the password hash; none for custom fields.
/// - `#[auth(unique)]`: a unique index on the column. The account and the email always have
///   one.
///
/// Keys combine: `#[auth(account, max_length = 64)]`.
///
/// # Type mapping
///
/// Types are recognised by the last segment of their path, so `String` and
/// `std::string::String`, `PrimitiveDateTime` and `time::PrimitiveDateTime` are the same.
///
/// | Rust type | column type (`ColumnType`) | Diesel SQL type |
/// |---|---|---|
/// | `i16` | `SmallInt` | `SmallInt` |
/// | `i32` | `Integer` | `Integer` |
/// | `i64` | `BigInt` | `BigInt` |
/// | `f32` | `Float` | `Float` |
/// | `f64` | `Double` | `Double` |
/// | `bool` | `Bool` | `Bool` |
/// | `String` | `Text` | `Text` |
/// | `time::PrimitiveDateTime` | `Timestamp` (UTC) | `Timestamp` |
/// | `uuid::Uuid` | `Uuid` | `auth_axum::sql_types::PortableUuid` |
/// | `Option<T>`, `T` one of the above | nullable column | `Nullable<..>` |
///
/// Anything else (`u32`, `Vec<u8>`, `OffsetDateTime`, `Option<Option<T>>`, ...) is an error.
///
/// Column defaults (used by raw inserts and when a migration adds the column to existing
/// rows): nullable columns and the id have none; `bool` defaults to `FALSE` (`is_active` to
/// `TRUE`); numbers to `0`; text to `''`, except the account, email, password and unique
/// columns, which have none; timestamps to the current time; UUIDs have none.
///
/// # What is generated
///
/// For `struct User` with `#[auth(table = "users")]`:
///
/// - `pub mod users`, by Diesel's `table!` (beside the struct, whatever the struct's
///   visibility): `users::table` and one column per field, named like the field, primary
///   key the id. Nothing else named `users` may exist in the struct's module, and the struct
///   may not be named like its table.
/// - `impl AuthUser for User`: `TABLE` (the columns in field order with their types,
///   nullability, uniqueness, lengths and defaults) and the accessors, with the fallbacks of
///   the table above for absent roles.
/// - `impl UserStore for User`: `insert` (in a transaction: inserts every column but the
///   id, then reads the row back by account, so no `RETURNING` is needed), `find_by_id`,
///   `find_by_account`, `update` (every column but the id; `true` whenever the row exists,
///   even when nothing changed) and `delete`, each compiled for SQLite, PostgreSQL and
///   MySQL.
/// - `impl Debug for User`: every field, the password hash shown as `<redacted>`.
/// - `impl Serialize for User`: every field but the password hash, named like the fields.
///
/// # Errors
///
/// Every problem of a model is reported at once, each at the offending token: unknown keys
/// (listing the valid ones), duplicate or conflicting roles, missing required roles (on the
/// struct name), unsupported or wrong role types (on the type), misplaced or invalid
/// `max_length`.
#[proc_macro_derive(AuthUser, attributes(auth))]
pub fn derive_auth_user(input: TokenStream) -> TokenStream {
    auth_user::derive(input.into()).into()
}
