//! Procedural macros of the axum auth framework: `#[derive(AuthUser)]`, the guards
//! `#[login_required]`, `#[permission_required(...)]` and `#[role_required(...)]`, and
//! `permission_catalog!()`. Use them through `auth-axum`, which re-exports them; generated
//! code names only `auth_axum::__private` (or the path given by `crate = "..."`).

// An item is `pub` only where a dependent crate can reach it.
#![warn(unreachable_pub)]

mod auth_user;
mod catalog;
mod ctxt;
mod guard;

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
/// | `uuid::Uuid` | `Uuid` | a portable UUID type (native `uuid` on PostgreSQL, text elsewhere) |
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
///   nullability, uniqueness, lengths and defaults), the accessors, with the fallbacks of
///   the table above for absent roles, `set_account` (a rename, checked against the
///   account column's `max_length` and NUL), and `new_user` and `apply_changes` (below).
/// - `impl UserStore for User`: `insert` (in a transaction: inserts every column but the
///   id, then reads the row back by account, so no `RETURNING` is needed), `find_by_id`,
///   `find_by_account`, `update` (every column but the id; `true` whenever the row exists,
///   even when nothing changed), `record_login` (sets the `last_login` column of one row;
///   does nothing when the model has no `last_login` role), `delete` and `lock` (the row
///   locked until the end of the transaction: `SELECT ... FOR UPDATE`, on SQLite a no-op
///   write), each compiled for SQLite, PostgreSQL and MySQL.
/// - `impl Debug for User`: every field, the password hash shown as `<redacted>`.
/// - `impl Serialize for User`: every field but the password hash, named like the fields,
///   in the JSON format below.
///
/// # JSON format
///
/// `Serialize`, `new_user` and `apply_changes` read and write fields through
/// `auth_axum::__private::FieldCodec`, under the field's name (without `r#`):
///
/// | Rust type | JSON |
/// |---|---|
/// | `i16`, `i32`, `i64` | integer (decoding refuses values out of the type's range) |
/// | `f32`, `f64` | number |
/// | `bool` | `true` / `false` |
/// | `String` | string |
/// | `time::PrimitiveDateTime` | RFC 3339 string in UTC: `"2026-11-23T14:30:00Z"`, with a fraction when there is one (`"...:00.5Z"`). Decoding accepts any offset, converts to UTC and keeps microseconds |
/// | `uuid::Uuid` | hyphenated string: `"67e55044-10b1-426f-9247-bb680e5fe0c8"` |
/// | `Option<T>` | `T`'s form, or `null` |
///
/// Decoded text is refused when it holds a NUL character or has more characters than the
/// field's `max_length`. Every error message starts with the field's name:
/// `"age: expected an integer that fits i32"`, `"display_name: at most 64 characters"`.
///
/// # Registration: `new_user`
///
/// `User::new_user(NewUser { account, password_hash, email, extra })` builds an unsaved user
/// (id `0`; save it with `insert`):
///
/// - the account from `account` and the password hash from `password_hash`; the account is
///   checked for NUL and its `max_length` (150 by default);
/// - the e-mail role from `email`, checked the same way (254 by default). A `String` e-mail
///   field makes it required (`"email: required"`); a model without an e-mail role refuses
///   one (`"email: this user model has no e-mail field"`);
/// - the flags: `is_active` true, `is_superuser` and `is_verified` false; `last_login`
///   `None`; `date_joined` the current time;
/// - each custom field from the `extra` key of its name, decoded as above; a custom field
///   `extra` leaves out takes its initial value: `0`, `false`, `""`, `None`, a new random
///   UUID, the current time.
///
/// Before anything is decoded, every key of `extra` must name a custom field: a key naming a
/// role (a field playing one, or a conventional role name such as `is_superuser`) is
/// `"<key>: not a custom field"`, any other `"<key>: unknown field"`. The first error, in the
/// map's order, is returned.
///
/// # Partial update: `apply_changes`
///
/// `user.apply_changes(&changes)` applies a JSON object of new values (`PATCH me`): the key
/// `email` sets the e-mail role (whatever the field's name; `null` only for an
/// `Option<String>` field), and each custom field's name sets that field. A key naming a role
/// (`id`, `account`, `password`, the flags, `last_login`, `date_joined`, or the name of the
/// field playing a role) is `"<key>: cannot be changed here"`; any other key is
/// `"<key>: unknown field"` (`email` on a model without an e-mail role is `"email: this user
/// model has no e-mail field"`). All or nothing: every value is decoded first, and the user is
/// left unchanged when any key or value is refused. Save the result with `update`.
///
/// Because the key `email` always means the e-mail address, a custom field may not be named
/// `email` when another field plays the email role.
///
/// # Errors
///
/// Every problem of a model is reported at once, each at the offending token: unknown keys
/// (listing the valid ones), duplicate or conflicting roles, missing required roles (on the
/// struct name), unsupported or wrong role types (on the type), misplaced or invalid
/// `max_length`, a custom field named `email` beside another e-mail field.
#[proc_macro_derive(AuthUser, attributes(auth))]
pub fn derive_auth_user(input: TokenStream) -> TokenStream {
    auth_user::derive(input.into()).into()
}

/// Requires a logged-in, active user: 401 `unauthenticated` otherwise.
///
/// Takes no permission or role; the options `mfa`, `fresh = "10m"` and `crate = "path"`
/// (see [`macro@permission_required`]'s arguments). See [`macro@permission_required`] for
/// how guards work, where they can go and what they generate.
///
/// ```
/// use auth_axum::login_required;
/// use axum::{Router, routing::get};
///
/// #[login_required]
/// async fn dashboard() -> &'static str {
///     "only for logged-in users"
/// }
///
/// // A session that passed a second factor (403 `mfa_required` otherwise).
/// #[login_required(mfa)]
/// async fn security() -> &'static str {
///     "MFA sessions only"
/// }
///
/// // A proof of identity (login, second factor, `POST reauthenticate`) at most 10 minutes
/// // old (403 `reauthentication_required` otherwise).
/// #[login_required(fresh = "10m")]
/// async fn close_account() -> &'static str {
///     "recently proven"
/// }
///
/// let app: Router = Router::new()
///     .route("/dashboard", get(dashboard))
///     .route("/security", get(security))
///     .route("/close", get(close_account));
/// ```
#[proc_macro_attribute]
pub fn login_required(attr: TokenStream, item: TokenStream) -> TokenStream {
    guard::expand(guard::Kind::Login, attr.into(), item.into()).into()
}

/// Requires a user holding a permission, or satisfying a rule of several: 401
/// `unauthenticated` for anonymous requests, 403 `forbidden` for users who lack it.
/// Superusers always pass; inactive users never do.
///
/// ```
/// use auth_axum::permission_required;
/// use axum::extract::Path;
/// use axum::routing::{delete, get};
/// use axum::{Json, Router};
///
/// #[permission_required("article.delete")]
/// async fn delete_article(Path(id): Path<i64>) -> String {
///     format!("deleted {id}")
/// }
///
/// // Both permissions, and either of the last two.
/// #[permission_required("report.read", any("report.export", "report.admin"))]
/// async fn export(Json(ids): Json<Vec<i64>>) -> String {
///     format!("{} rows", ids.len())
/// }
///
/// // The permission must be held in the project named by the `project_id` path parameter.
/// #[permission_required("task.read", scope = "project_id")]
/// async fn tasks(Path(project_id): Path<i64>) -> String {
///     format!("tasks of {project_id}")
/// }
///
/// let app: Router = Router::new()
///     .route("/articles/{id}", delete(delete_article))
///     .route("/export", get(export))
///     .route("/projects/{project_id}/tasks", get(tasks));
/// ```
///
/// # Arguments
///
/// - One or more rules, all of which are required. A rule is a permission string, or
///   `any(rule, ...)` (at least one of them) or `all(rule, ...)` (every one), nested freely:
///   `#[permission_required(any("a.b", all("c.d", "e.f")))]`.
/// - A permission is two or more dot-separated segments of lowercase ASCII letters, digits,
///   `_` or `-`, each starting with a letter or digit, at most 150 characters
///   (`"article.create"`, `"billing.invoice.refund"`).
/// - `scope = "param"`: the name of a path parameter of the route (`"project_id"` for
///   `/projects/{project_id}/...`); the permission must be held in that scope.
/// - `mfa`: the credential's session must have passed a second factor (an MFA login, a
///   passkey, a code given to `POST reauthenticate`); otherwise 403 `mfa_required`. An API
///   key never has. Checked after the permission: a user who lacks it gets `forbidden`.
/// - `fresh = "10m"`: the session's last proof of identity (the login, a second factor, a
///   reauthentication) must be at most that old (a `humantime` duration of at least one
///   second: `"90s"`, `"1h 30m"`); otherwise 403 `reauthentication_required`. An API key
///   never is.
/// - `crate = "path"`: the path of the `auth-axum` crate, for applications that rename it.
///   Default `::auth_axum`.
///
/// `#[login_required]` and `#[role_required(...)]` take the same `mfa`, `fresh` and
/// `crate = "path"`.
///
/// # The permission catalog
///
/// When the crate being compiled has a `permissions.toml` beside its `Cargo.toml`, every
/// permission a guard names must be declared in it:
///
/// ```toml
/// [permissions]
/// "article.create" = "Create articles"
/// "article.delete" = "Delete articles"
/// ```
///
/// A permission missing from it is an error on its literal, with the closest declared one
/// as a suggestion: ``permission `article.craete` is not declared in permissions.toml (did
/// you mean `article.create`?)``. A catalog that cannot be read or parsed is an error on
/// the attribute. The expansion depends on the file, so cargo recompiles the crate when it
/// changes. Without the file, any well-formed permission is accepted. See
/// [`permission_catalog!`] for the catalog as data.
///
/// # Where guards go
///
/// On an `async fn` handler that is a free function (at module level or in a function
/// body), public or not, generic or not, with any extractors, attributes, `where` clauses
/// and return type. Not on methods taking `self`, and not on associated functions in an
/// `impl` block either: the guard defines a type beside the function, which an `impl`
/// block cannot hold (the compiler then reports an unexpected `struct`); make such
/// handlers free functions.
///
/// # What is generated
///
/// The handler keeps its name, its attributes and its number of arguments (axum allows
/// 16). The guard, `auth_axum::__private::Guard<R>`, an extractor that checks the
/// requirement `R`, joins the first argument that is not a `State<..>` in a tuple,
/// `(_, pat): (Guard<R>, Type)`; axum extracts a tuple's elements in order, so the check
/// runs before that argument and everything after it, the body included. `State`
/// arguments are skipped because extracting them does no work and so that
/// `#[axum::debug_handler]` can still infer the state type. A handler without arguments,
/// or with only `State`s, gets a new first argument `_: Guard<R>`.
///
/// ```ignore
/// #[permission_required("article.create")]
/// async fn create(user: CurrentUser<User>, Json(a): Json<A>) -> R { ... }
///
/// // becomes
///
/// #[doc(hidden)]
/// #[allow(non_camel_case_types)]
/// struct __auth_req_create_<hash>;
/// impl auth_axum::__private::GuardSpec for __auth_req_create_<hash> {
///     const SPEC: &'static AccessSpec = &AccessSpec {
///         handler: "create",
///         module: module_path!(),
///         requirement: Requirement::Permission(Rule::Permission("article.create")),
///         scope_param: None,
///         mfa: false,
///         fresh_secs: None,
///     };
/// }
/// auth_axum::__private::inventory::submit! { AccessEntry(<__auth_req_create_<hash> as GuardSpec>::SPEC) }
/// async fn create(
///     (_, user): (auth_axum::__private::Guard<__auth_req_create_<hash>>, CurrentUser<User>),
///     Json(a): Json<A>,
/// ) -> R { ... }
/// ```
///
/// The requirement type has the handler's visibility and a name unique to the guard (a
/// hash of the attribute and the function), so several guards on one handler do not clash.
/// Each guard is registered for the access report (`auth_axum::auth_core::access::registered()`).
/// The generated code names absolute paths only and compiles under
/// `#![deny(unused_qualifications, missing_docs)]` and `#![forbid(unsafe_code)]` (the
/// registration's link-section code comes from the `inventory` crate's macro, which the
/// `unsafe_code` lint does not look into).
///
/// # Stacking
///
/// Guards combine, each adding its own check; all must pass:
///
/// ```ignore
/// #[login_required]
/// #[role_required("editor")]
/// #[permission_required("article.publish")]
/// async fn publish(Path(id): Path<i64>) { ... }
/// ```
///
/// They run in the order they are written (each guard goes after those already in the
/// argument: `(_, (_, (_, Path(id)))): (Guard<login>, (Guard<role>, (Guard<perm>, Path<i64>)))`).
///
/// # With `#[axum::debug_handler]`
///
/// Put it **below** the guards: it then checks the handler as axum sees it, guard
/// included. Above them it checks a copy of the handler as written, which only compiles
/// when the guard joins an existing argument (not for a handler without arguments, or with
/// only `State`s), and the guard is registered a second time, for the copy.
///
/// # Errors
///
/// Every problem is reported at once, each at the offending token, and the function is
/// re-emitted unchanged so that no other error follows: malformed permissions, empty
/// lists, `any()` / `all()` without rules, unknown functions or keys, non-string values,
/// duplicate keys or `mfa`, a `fresh` duration that does not parse or is under a second, undeclared permissions (with a catalog), a function that is not `async`
/// or takes `self`, an item that is not a function, and a `#[cfg]` on the argument the
/// guard would join (it could remove the guard).
#[proc_macro_attribute]
pub fn permission_required(attr: TokenStream, item: TokenStream) -> TokenStream {
    guard::expand(guard::Kind::Permission, attr.into(), item.into()).into()
}

/// Requires a user holding at least one of the roles (superusers always pass): 401
/// `unauthenticated` for anonymous requests, 403 `forbidden` for users without any of them.
///
/// `#[role_required("admin", "editor")]`: one or more role names (not empty, no control
/// characters, at most 150 characters), then optionally `mfa`, `fresh = "10m"` and
/// `crate = "path"`. See
/// [`macro@permission_required`] for how guards work, where they can go and what they
/// generate.
///
/// ```
/// use auth_axum::role_required;
/// use axum::{Json, Router, routing::post};
///
/// #[role_required("admin", "editor")]
/// async fn publish(Json(ids): Json<Vec<i64>>) -> String {
///     format!("published {}", ids.len())
/// }
///
/// let app: Router = Router::new().route("/publish", post(publish));
/// ```
#[proc_macro_attribute]
pub fn role_required(attr: TokenStream, item: TokenStream) -> TokenStream {
    guard::expand(guard::Kind::Role, attr.into(), item.into()).into()
}

/// The crate's permission catalog, `permissions.toml` beside its `Cargo.toml`, as a
/// `&'static [(&'static str, &'static str)]` of (code, description) sorted by code: what
/// `auth_axum::auth_core::rbac::manage::sync_catalog` stores in the permissions table.
///
/// ```ignore
/// // permissions.toml:
/// // [permissions]
/// // "article.create" = "Create articles"
/// // "article.delete" = "Delete articles"
///
/// const PERMISSIONS: &[(&str, &str)] = auth_axum::permission_catalog!();
/// assert_eq!(PERMISSIONS[0], ("article.create", "Create articles"));
/// ```
///
/// A missing file, a file that is not valid TOML, anything but a `[permissions]` table
/// of string descriptions, or a code that is not a well-formed permission (see
/// [`macro@permission_required`]) is a compile error. The expansion depends on the file,
/// so cargo recompiles the crate when it changes. Takes no arguments.
#[proc_macro]
pub fn permission_catalog(input: TokenStream) -> TokenStream {
    catalog::permission_catalog(input.into()).into()
}
