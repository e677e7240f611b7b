//! External identities: the link between what a provider asserts (an OpenID Connect or
//! OAuth2 provider's `sub`, an LDAP entry) and a local user.
//!
//! A provider's subject is unique per provider (the unique index on `(provider, subject)`
//! decides, also between two first logins racing). A user logged in through a provider
//! only has no usable password: its stored hash is [`NO_PASSWORD`], which no password
//! matches. [`login_methods`] counts what a user can still log in with, so that unlinking
//! never leaves an account nobody can enter.

#[cfg(feature = "ldap")]
pub mod ldap;
pub mod oauth;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use serde_json::Map;
use time::PrimitiveDateTime;

use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::auth_identities as i;
use crate::session::now;
use crate::user::{NewUser, UserStore};
use crate::with_conn;

/// The password hash of a user who has no password (created by an external login): no
/// password verifies against it, and a password login costs the usual time.
pub const NO_PASSWORD: &str = "!";

/// Longest provider name (the column is `VARCHAR(64)`).
pub const MAX_PROVIDER_CHARS: usize = 64;
/// Longest subject stored (the column is `VARCHAR(255)`); a provider asserting a longer
/// one is refused, never truncated (two subjects must never meet in one row).
pub const MAX_SUBJECT_CHARS: usize = 255;

/// Whether `hash` can match a password: not empty and not disabled with a leading `!`.
pub fn has_password(hash: &str) -> bool {
    !hash.is_empty() && !hash.starts_with('!')
}

/// An external identity as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = i)]
pub struct Identity {
    /// Identifier (for `DELETE identities/{id}`).
    pub id: i64,
    /// The local user.
    #[serde(skip)]
    pub user_id: i64,
    /// The provider's configured name (`github`, `google`, `ldap`, ...).
    pub provider: String,
    /// Who the provider says the user is (its `sub`; an LDAP entry's DN).
    pub subject: String,
    /// The e-mail address the provider gave at the last login, if any.
    pub email: Option<String>,
    /// When the identity was linked (UTC).
    #[serde(with = "crate::timefmt")]
    pub created_at: PrimitiveDateTime,
    /// The last login through it (UTC).
    #[serde(with = "crate::timefmt::option")]
    pub last_login_at: Option<PrimitiveDateTime>,
}

/// The identity `subject` of `provider`.
pub async fn find(conn: &mut DbConn, provider: &str, subject: &str) -> Result<Option<Identity>> {
    Ok(with_conn!(conn, |c| {
        i::table
            .filter(i::provider.eq(provider))
            .filter(i::subject.eq(subject))
            .select(Identity::as_select())
            .first(c)
            .await
            .optional()
    })?)
}

/// Links `subject` of `provider` to `user_id`; `None` when that subject is linked already
/// (to this user or another: the unique index decides).
pub async fn link(
    conn: &mut DbConn,
    user_id: i64,
    provider: &str,
    subject: &str,
    email: Option<&str>,
) -> Result<Option<Identity>> {
    check_names(provider, subject)?;
    let row = (
        i::user_id.eq(user_id),
        i::provider.eq(provider),
        i::subject.eq(subject),
        i::email.eq(email),
        i::created_at.eq(now()),
    );
    let inserted = with_conn!(conn, |c| {
        diesel::insert_into(i::table).values(row).execute(c).await
    });
    match inserted.map_err(Error::from) {
        Ok(_) => {}
        Err(Error::Conflict { .. }) => return Ok(None),
        Err(e) => return Err(e),
    }
    find(conn, provider, subject).await
}

fn check_names(provider: &str, subject: &str) -> Result<()> {
    if provider.is_empty() || provider.chars().count() > MAX_PROVIDER_CHARS {
        return Err(Error::Invalid(format!(
            "a provider name has 1 to {MAX_PROVIDER_CHARS} characters"
        )));
    }
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS || subject.contains('\0') {
        return Err(Error::Invalid(format!(
            "the provider's subject is empty, longer than {MAX_SUBJECT_CHARS} characters or holds NUL"
        )));
    }
    Ok(())
}

/// Records a login through identity `id` at `at`, with the address the provider gave.
pub async fn record_login(
    conn: &mut DbConn,
    id: i64,
    at: PrimitiveDateTime,
    email: Option<&str>,
) -> Result<()> {
    with_conn!(conn, |c| {
        diesel::update(i::table.find(id))
            .set((i::last_login_at.eq(Some(at)), i::email.eq(email)))
            .execute(c)
            .await
    })?;
    Ok(())
}

/// A user's identities, oldest first.
pub async fn list_for_user(conn: &mut DbConn, user_id: i64) -> Result<Vec<Identity>> {
    Ok(with_conn!(conn, |c| {
        i::table
            .filter(i::user_id.eq(user_id))
            .order(i::id.asc())
            .select(Identity::as_select())
            .load(c)
            .await
    })?)
}

/// How many identities `user_id` has.
pub async fn count_for_user(conn: &mut DbConn, user_id: i64) -> Result<i64> {
    Ok(with_conn!(conn, |c| {
        i::table
            .filter(i::user_id.eq(user_id))
            .count()
            .get_result(c)
            .await
    })?)
}

/// Deletes identity `id` if `user_id` owns it; `true` if it did.
pub async fn delete_for_owner(conn: &mut DbConn, user_id: i64, id: i64) -> Result<bool> {
    let deleted = with_conn!(conn, |c| {
        diesel::delete(i::table.filter(i::id.eq(id)).filter(i::user_id.eq(user_id)))
            .execute(c)
            .await
    })?;
    Ok(deleted > 0)
}

/// Deletes every identity of `user_id` (with the user); returns how many.
pub async fn delete_for_user(conn: &mut DbConn, user_id: i64) -> Result<usize> {
    Ok(with_conn!(conn, |c| {
        diesel::delete(i::table.filter(i::user_id.eq(user_id)))
            .execute(c)
            .await
    })?)
}

/// What `user` can log in with: a usable password, its identities, its passkeys.
/// [`LoginMethods::count`] is what unlinking must keep above zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginMethods {
    /// The stored hash can match a password ([`has_password`]).
    pub password: bool,
    /// Linked external identities.
    pub identities: i64,
    /// Registered passkeys (each logs in without a password).
    pub passkeys: i64,
}

impl LoginMethods {
    /// How many ways in there are.
    pub fn count(&self) -> i64 {
        i64::from(self.password) + self.identities + self.passkeys
    }
}

/// What `user` can log in with now (see [`LoginMethods`]).
pub async fn login_methods<U: UserStore>(conn: &mut DbConn, user: &U) -> Result<LoginMethods> {
    let identities = count_for_user(conn, user.id()).await?;
    let passkeys = crate::passkey::count_for_user(conn, user.id()).await?;
    Ok(LoginMethods {
        password: has_password(user.password_hash()),
        identities,
        passkeys,
    })
}

/// A local user to create for a first external login.
#[derive(Debug, Clone)]
pub struct ExternalUser<'a> {
    /// The provider's configured name.
    pub provider: &'a str,
    /// The provider's subject.
    pub subject: &'a str,
    /// The account name wanted (a provider's username, an e-mail's local part, an LDAP
    /// `uid`). Taken or unusable, a suffix is added ([`provision`]).
    pub account: &'a str,
    /// The e-mail address, if the provider gave one.
    pub email: Option<&'a str>,
    /// Whether the provider asserts that the address is verified.
    pub email_verified: bool,
}

/// How many account names [`provision`] tries before giving up.
const ACCOUNT_TRIES: usize = 5;

/// What [`provision`] ended with.
#[derive(Debug, Clone)]
pub struct Provisioned<U> {
    /// The user the identity logs in as.
    pub user: U,
    /// The identity.
    pub identity: Identity,
    /// `true`: this call created the user; `false`: a concurrent first login linked the
    /// identity meanwhile, and `user` is the one it created.
    pub created: bool,
}

/// Creates a user without a password ([`NO_PASSWORD`]) for a first external login and
/// links the identity to it, in one transaction: there is never a user without its
/// identity, nor an identity without its user.
///
/// The account name is `new.account` cleaned to the account rules, or, when that is taken,
/// the same with a random suffix. The e-mail address is kept unless another user holds it
/// (the model may index it as unique; linking by address is the caller's decision, not
/// this function's), and marked verified when the provider says so.
///
/// When a concurrent first login linked the identity meanwhile, its user is returned
/// (`created: false`).
pub async fn provision<U: UserStore>(
    conn: &mut DbConn,
    new: &ExternalUser<'_>,
) -> Result<Provisioned<U>> {
    check_names(new.provider, new.subject)?;
    let base = account_base(new.account);
    let email = match new.email {
        Some(address) if U::find_by_email(conn, address).await?.is_none() => Some(address),
        _ => None,
    };
    let empty = Map::new();
    for attempt in 0..ACCOUNT_TRIES {
        let account = if attempt == 0 {
            base.clone()
        } else {
            format!("{base}-{}", &crate::session::new_token()[..6])
        };
        if U::find_by_account(conn, &account).await?.is_some() {
            continue;
        }
        let mut user = U::new_user(NewUser {
            account,
            password_hash: NO_PASSWORD.to_owned(),
            email: email.map(str::to_owned),
            extra: &empty,
        })
        .map_err(Error::Invalid)?;
        if new.email_verified && email.is_some() {
            // A model without the flag counts every user as verified.
            let _ = user.set_verified(true);
        }
        let created = conn
            .transaction(async |conn: &mut DbConn| {
                let user = user.insert(conn).await?;
                match link(conn, user.id(), new.provider, new.subject, email).await? {
                    Some(identity) => Ok((user, identity)),
                    // Linked meanwhile: roll the user back.
                    None => Err(Error::Conflict {
                        constraint: Some("auth_identities_provider_subject".into()),
                    }),
                }
            })
            .await;
        match created {
            Ok((user, identity)) => {
                return Ok(Provisioned {
                    user,
                    identity,
                    created: true,
                });
            }
            Err(Error::Conflict { .. }) => {
                if let Some(identity) = find(conn, new.provider, new.subject).await? {
                    let user = U::find_by_id(conn, identity.user_id)
                        .await?
                        .ok_or_else(|| Error::NotFound("the user of an identity".into()))?;
                    return Ok(Provisioned {
                        user,
                        identity,
                        created: false,
                    });
                }
                // The account (or address) was taken meanwhile: try another name.
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::Invalid(
        "no free account name for this external identity".into(),
    ))
}

/// `wanted` cut to what an account name may hold: the characters
/// [`crate::user::check_account_name`] accepts, at most 30 of them; `user` when nothing is
/// left.
fn account_base(wanted: &str) -> String {
    let cleaned: String = wanted
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'))
        .take(30)
        .collect();
    if cleaned.is_empty() || crate::user::check_account_name(&cleaned).is_err() {
        "user".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_hashes_are_no_password() {
        assert!(!has_password(NO_PASSWORD));
        assert!(!has_password(""));
        assert!(!has_password("!$2b$12$abc"));
        assert!(has_password("$2b$12$abc"));
    }

    #[test]
    fn account_names_are_cleaned() {
        assert_eq!(account_base("alice"), "alice");
        assert_eq!(account_base("a l/i\\ce"), "alice");
        assert_eq!(account_base("  "), "user");
        assert_eq!(account_base(&"x".repeat(50)).len(), 30);
    }
}
