//! The user model contract that `#[derive(AuthUser)]` implements.
//!
//! [`AuthUser`] is what the rest of the framework reads from a user (its identity, its
//! password hash, its flags and its table description); [`UserStore`] is how it is loaded
//! and saved. Both are generated: the derive knows the concrete Diesel table, so the
//! queries it emits are fully typed and compiled for every backend.

use std::future::Future;

use serde_json::{Map, Value};
use time::PrimitiveDateTime;

use crate::db::{Backend, DbConn};
use crate::error::Result;
use crate::model::TableDef;

/// Longest account name accepted.
pub const MAX_ACCOUNT_CHARS: usize = 150;

/// Why `name` cannot be an account name: it must have 1 to [`MAX_ACCOUNT_CHARS`]
/// characters, no control characters (NUL included) and no surrounding whitespace. The
/// one rule for every flow that creates an account (register, admin create); lookups
/// apply [`is_lookup_key`], which every valid name passes.
pub fn check_account_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > MAX_ACCOUNT_CHARS {
        return Err(format!("at most {MAX_ACCOUNT_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if name.trim() != name {
        return Err("must not start or end with spaces".into());
    }
    Ok(())
}

/// Longest e-mail address accepted (the RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Why `email` cannot be an e-mail address: it must look like `local@domain` (one `@`,
/// neither side empty), have no whitespace or control characters and at most
/// [`MAX_EMAIL_CHARS`] characters. The one rule for every flow that stores an address
/// (register, admin create and edit, `me`, the CLI).
pub fn check_email(email: &str) -> std::result::Result<(), String> {
    let plausible = match email.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    };
    if !plausible || email.chars().any(char::is_whitespace) || email.chars().any(char::is_control) {
        return Err("not a valid e-mail address".into());
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(format!("at most {MAX_EMAIL_CHARS} characters"));
    }
    Ok(())
}

/// Whether `value` could be a stored account name or e-mail address: not empty, no control
/// characters, no surrounding whitespace. The generated `find_by_account` and
/// `find_by_email` answer "not found" for anything else without asking the database, so
/// every backend answers alike: MySQL/MariaDB's `PAD SPACE` collations would otherwise find
/// `alice` for `"alice "`, and PostgreSQL cannot hold NUL.
pub fn is_lookup_key(value: &str) -> bool {
    !value.is_empty() && !value.chars().any(char::is_control) && value.trim() == value
}

/// The user `identifier` names: the one with that account name, or else, when the text
/// holds an `@`, the one with that e-mail address (exact match, as stored: addresses are
/// kept as typed). The account name wins when both match, so what a name means never
/// depends on someone else's address. Forgot-password and login by e-mail
/// ([`crate::service::AuthServiceBuilder::login_by_email`]) read identifiers this way.
pub async fn find_by_account_or_email<U: UserStore>(
    conn: &mut DbConn,
    identifier: &str,
) -> Result<Option<U>> {
    let user = U::find_by_account(conn, identifier).await?;
    if user.is_some() || !identifier.contains('@') {
        return Ok(user);
    }
    U::find_by_email(conn, identifier).await
}

/// An application's user model. Implement it with `#[derive(AuthUser)]`.
///
/// Roles a field can play (by `#[auth(...)]` attribute or by its conventional name):
/// `id` (`i64`), `account` (`String`), `password` (`String`, the hash), `email`
/// (`String` or `Option<String>`), `is_superuser`, `is_active`, `is_verified` (`bool`),
/// `last_login` (`Option<PrimitiveDateTime>`), `date_joined` (`PrimitiveDateTime`). Only
/// `id`, `account` and `password` are required; the others fall back to the defaults
/// documented on each method.
pub trait AuthUser: serde::Serialize + Send + Sync + Sized + 'static {
    /// Description of the user table (columns, types, constraints) for SQL generation.
    const TABLE: TableDef;

    /// Primary key.
    fn id(&self) -> i64;
    /// The unique login name.
    fn account(&self) -> &str;
    /// The stored password hash. Never log or serialize it.
    fn password_hash(&self) -> &str;
    /// Replaces the stored password hash (in memory; save with [`UserStore::update`]).
    fn set_password_hash(&mut self, hash: String);
    /// Renames the user (in memory; save with [`UserStore::update_fields`] and `"account"`,
    /// which answers [`crate::Error::Conflict`] when the name is taken). The error names
    /// the field: text over the column's `max_length` or holding NUL. The account-name rule
    /// of every flow ([`check_account_name`]) is the caller's check, as for registration.
    fn set_account(&mut self, account: String) -> Result<(), String>;
    /// The e-mail address, if the model has one and it is set.
    fn email(&self) -> Option<&str>;
    /// Superusers pass every permission check. `false` when the model has no such field.
    fn is_superuser(&self) -> bool;
    /// Inactive users cannot log in and pass no check. `true` when the model has no such field.
    fn is_active(&self) -> bool;
    /// Whether the e-mail address was verified. `true` when the model has no such field.
    fn is_verified(&self) -> bool;
    /// Time of the last successful login, if the model records it.
    fn last_login(&self) -> Option<PrimitiveDateTime>;
    /// Time the account was created, if the model records it.
    fn date_joined(&self) -> Option<PrimitiveDateTime>;

    /// A new, unsaved user (id 0) from registration data: custom fields are read from
    /// `new.extra` by field name (a missing one takes its initial value: empty string, 0,
    /// false, `None`, a new random UUID, the current time). `is_active` starts true,
    /// `is_superuser` and `is_verified` false, `date_joined` now. The error names the field:
    /// a wrong type, text over `max_length` or holding NUL, a key that is not a custom field.
    fn new_user(new: NewUser<'_>) -> Result<Self, String>;

    /// Applies a partial update from JSON: `email` (when the model has one) and custom
    /// fields. Any other key (id, account, password, flags, unknown names) is refused, and
    /// nothing is changed when any key is refused.
    fn apply_changes(&mut self, changes: &Map<String, Value>) -> Result<(), String>;

    /// Sets the active flag (in memory; save with [`UserStore::update`]). An error when the
    /// model has no `is_active` field: such a user is always active.
    fn set_active(&mut self, active: bool) -> Result<(), String> {
        let _ = active;
        Err("this user model has no is_active field".into())
    }

    /// Sets the superuser flag (in memory; save with [`UserStore::update`]). An error when
    /// the model has no `is_superuser` field.
    fn set_superuser(&mut self, superuser: bool) -> Result<(), String> {
        let _ = superuser;
        Err("this user model has no is_superuser field".into())
    }

    /// Sets the verified flag (in memory; save with [`UserStore::update`]). An error when
    /// the model has no `is_verified` field: such a user always counts as verified.
    fn set_verified(&mut self, verified: bool) -> Result<(), String> {
        let _ = verified;
        Err("this user model has no is_verified field".into())
    }

    /// `CREATE TABLE` (and its unique indexes) for `backend`.
    fn create_table_sql(backend: Backend) -> String {
        crate::ddl::create_table(&Self::TABLE, backend)
    }

    /// `DROP TABLE` for `backend`.
    fn drop_table_sql(backend: Backend) -> String {
        crate::ddl::drop_table(&Self::TABLE, backend)
    }
}

/// Loading and saving users. Generated by `#[derive(AuthUser)]`.
///
/// Every method takes a pooled connection; run several in one transaction with the
/// connection's own `transaction` method through [`crate::with_conn!`] when needed.
pub trait UserStore: AuthUser {
    /// Inserts `self` (its `id` is ignored) and returns the stored row with its new id.
    /// A taken account or email is [`crate::Error::Conflict`]; nothing is written then.
    fn insert(&self, conn: &mut DbConn) -> impl Future<Output = Result<Self>> + Send;
    /// The user with this id.
    fn find_by_id(conn: &mut DbConn, id: i64) -> impl Future<Output = Result<Option<Self>>> + Send;
    /// The user with this account name (exact match).
    fn find_by_account(
        conn: &mut DbConn,
        account: &str,
    ) -> impl Future<Output = Result<Option<Self>>> + Send;
    /// The user with this e-mail address (exact match). `None` when the model has no
    /// e-mail field. When several users share the address, the one with the lowest id.
    fn find_by_email(
        conn: &mut DbConn,
        email: &str,
    ) -> impl Future<Output = Result<Option<Self>>> + Send {
        let _ = (conn, email);
        async { Ok(None) }
    }
    /// The session whose token hash is `token_hash`, its user, and the current RBAC version,
    /// in one query (what every authenticated request needs). Expiry is the caller's check.
    fn find_by_session(
        conn: &mut DbConn,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<(Self, crate::session::Session, i64)>>> + Send;
    /// Writes every column but the id. `false` when no row has this id. Prefer
    /// [`UserStore::update_fields`] for a change to a user loaded earlier: writing every
    /// column would undo concurrent changes to the others.
    fn update(&self, conn: &mut DbConn) -> impl Future<Output = Result<bool>> + Send;
    /// Writes only the named fields, in one statement. A name is a field's name, or the
    /// conventional name of the role it plays (`password`, `email`, `is_active`,
    /// `is_verified`, `is_superuser`, ...), so the keys `apply_changes` accepted can be
    /// passed as they are; names of no field are ignored. `false` when no row has this id.
    fn update_fields(
        &self,
        conn: &mut DbConn,
        fields: &[&str],
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Records a successful login time in `last_login` (does nothing when the model has no
    /// such field).
    fn record_login(
        conn: &mut DbConn,
        id: i64,
        at: PrimitiveDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the user with this id. `false` when no row had it.
    fn delete(conn: &mut DbConn, id: i64) -> impl Future<Output = Result<bool>> + Send;
    /// Locks the row of the user with this id until the end of the current transaction
    /// (`SELECT ... FOR UPDATE` on PostgreSQL and MySQL/MariaDB; on SQLite, where one
    /// writer locks the whole database, a no-op write that takes that lock at once: an
    /// `UPDATE` of the id to itself, which fires the table's update triggers). `false`
    /// when no row has this id.
    ///
    /// A transaction that writes rows belonging to one user (its account tokens, see
    /// [`crate::account_token::issue`]) takes this lock first, so that such transactions
    /// on the same user run one after the other, in one lock order, instead of
    /// overlapping or deadlocking on the rows they share. Outside a transaction it holds
    /// nothing.
    fn lock(conn: &mut DbConn, id: i64) -> impl Future<Output = Result<bool>> + Send;
    /// The users matching `filter`, ordered by id, skipping `offset` and returning at most
    /// `limit`.
    fn list(
        conn: &mut DbConn,
        filter: &UserFilter,
        offset: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Self>>> + Send;
    /// How many users match `filter`.
    fn count(conn: &mut DbConn, filter: &UserFilter) -> impl Future<Output = Result<i64>> + Send;
}

/// Which users [`UserStore::list`] and [`UserStore::count`] return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Only accounts containing this text (a literal substring: `%` and `_` match
    /// themselves; case sensitivity follows the column's collation: SQLite's `LIKE` ignores
    /// ASCII case, PostgreSQL's does not, MySQL's follows the table collation).
    pub account_contains: Option<String>,
    /// Only active (`true`) or inactive (`false`) users. On a model without an `is_active`
    /// field every user is active.
    pub is_active: Option<bool>,
}

impl UserFilter {
    /// The `LIKE` pattern for [`UserFilter::account_contains`], with `!` as the escape
    /// character (`!`, `%` and `_` in the text are escaped).
    pub fn account_pattern(&self) -> Option<String> {
        self.account_contains.as_ref().map(|text| {
            let mut pattern = String::with_capacity(text.len() + 2);
            pattern.push('%');
            for ch in text.chars() {
                if matches!(ch, '!' | '%' | '_') {
                    pattern.push('!');
                }
                pattern.push(ch);
            }
            pattern.push('%');
            pattern
        })
    }
}

/// Registration data for [`AuthUser::new_user`].
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Account name (already validated by the caller).
    pub account: String,
    /// The password hash.
    pub password_hash: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Custom field values by field name.
    pub extra: &'a Map<String, Value>,
}
