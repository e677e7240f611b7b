//! Passkeys (WebAuthn credentials, SPEC C10.2): storage of a user's passkeys and of the
//! ceremonies under way.
//!
//! A passkey row holds the credential id (base64url, unique), the WebAuthn user handle
//! (a random UUID that all of a user's passkeys share: what a discoverable credential
//! gives back at login), and webauthn-rs's serialized `Passkey` (public key, counter,
//! backup state: nothing secret, but never answered to clients either: [`PasskeyInfo`] is
//! what the routes show).
//!
//! A ceremony (registration or login) keeps webauthn-rs's state server-side, under the
//! SHA-256 of a random token the browser holds in a short-lived cookie. [`take_ceremony`]
//! reads and deletes it in one transaction: a ceremony is used once, a replayed finish
//! finds nothing. A registration ceremony is bound to the user who started it.
//!
//! The relying party and the ceremonies themselves (webauthn-rs) need the `passkeys`
//! Cargo feature ([`WebauthnConfig`]); the storage here does not, so that deleting a user
//! removes their passkeys whichever features are on.

pub use crate::error::CeremonyError;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use time::PrimitiveDateTime;

use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::auth_passkeys as p;
use crate::schema::auth_webauthn_ceremonies as cer;
use crate::session::{hash_token, new_token, now};
use crate::with_conn;

/// How long a ceremony may take, from start to finish: 5 minutes.
pub const CEREMONY_TTL: time::Duration = time::Duration::minutes(5);

/// The longest passkey name.
pub const MAX_NAME_CHARS: usize = 100;

/// A passkey as shown to its owner: never the key material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PasskeyInfo {
    /// Row id, to delete it.
    pub id: i64,
    /// The owner's label for it.
    pub name: String,
    /// Registration time (UTC).
    #[serde(with = "crate::timefmt")]
    pub created_at: PrimitiveDateTime,
    /// Last login with it (UTC).
    #[serde(with = "crate::timefmt::option")]
    pub last_used_at: Option<PrimitiveDateTime>,
}

/// A stored passkey with its webauthn-rs state (JSON), for a login.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = p)]
pub struct StoredPasskey {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Label.
    pub name: String,
    /// The credential id, base64url without padding.
    pub credential_id: String,
    /// The WebAuthn user handle (a UUID) of the owner's passkeys.
    pub user_handle: String,
    /// webauthn-rs's `Passkey`, JSON.
    pub passkey: String,
    /// Registration time.
    pub created_at: PrimitiveDateTime,
    /// Last login with it.
    pub last_used_at: Option<PrimitiveDateTime>,
}

impl std::fmt::Debug for StoredPasskey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredPasskey")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl StoredPasskey {
    /// What its owner sees.
    pub fn info(&self) -> PasskeyInfo {
        PasskeyInfo {
            id: self.id,
            name: self.name.clone(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }
}

/// A passkey to store.
#[derive(Debug, Clone)]
pub struct NewPasskey<'a> {
    /// Owner.
    pub user_id: i64,
    /// Label (1 to [`MAX_NAME_CHARS`] characters; the caller checks).
    pub name: &'a str,
    /// The credential id, base64url without padding.
    pub credential_id: &'a str,
    /// The owner's WebAuthn user handle.
    pub user_handle: &'a str,
    /// webauthn-rs's `Passkey`, JSON.
    pub passkey: &'a str,
}

/// Stores a passkey; `None` when its credential id is stored already (the unique index
/// decides, also between two registrations racing).
pub async fn create(conn: &mut DbConn, new: NewPasskey<'_>) -> Result<Option<PasskeyInfo>> {
    let row = (
        p::user_id.eq(new.user_id),
        p::name.eq(new.name),
        p::credential_id.eq(new.credential_id),
        p::user_handle.eq(new.user_handle),
        p::passkey.eq(new.passkey),
        p::created_at.eq(now()),
    );
    let inserted = with_conn!(conn, |c| {
        diesel::insert_into(p::table).values(row).execute(c).await
    });
    match inserted.map_err(Error::from) {
        Ok(_) => {}
        Err(Error::Conflict { .. }) => return Ok(None),
        Err(e) => return Err(e),
    }
    let stored = find_by_credential_id(conn, new.credential_id)
        .await?
        .ok_or_else(|| Error::Config("passkey: not found after its insert".into()))?;
    Ok(Some(stored.info()))
}

/// The passkey whose credential id (base64url) is `credential_id`.
pub async fn find_by_credential_id(
    conn: &mut DbConn,
    credential_id: &str,
) -> Result<Option<StoredPasskey>> {
    Ok(with_conn!(conn, |c| {
        p::table
            .filter(p::credential_id.eq(credential_id))
            .select(StoredPasskey::as_select())
            .first(c)
            .await
            .optional()
    })?)
}

/// A user's passkeys, oldest first.
pub async fn list_stored(conn: &mut DbConn, user_id: i64) -> Result<Vec<StoredPasskey>> {
    Ok(with_conn!(conn, |c| {
        p::table
            .filter(p::user_id.eq(user_id))
            .order(p::id.asc())
            .select(StoredPasskey::as_select())
            .load(c)
            .await
    })?)
}

/// A user's passkeys as they see them, oldest first.
pub async fn list_for_user(conn: &mut DbConn, user_id: i64) -> Result<Vec<PasskeyInfo>> {
    Ok(list_stored(conn, user_id)
        .await?
        .iter()
        .map(StoredPasskey::info)
        .collect())
}

/// How many passkeys `user_id` has.
pub async fn count_for_user(conn: &mut DbConn, user_id: i64) -> Result<i64> {
    Ok(with_conn!(conn, |c| {
        p::table
            .filter(p::user_id.eq(user_id))
            .count()
            .get_result(c)
            .await
    })?)
}

/// Deletes passkey `id` if `user_id` owns it; `true` if it did.
pub async fn delete_for_owner(conn: &mut DbConn, user_id: i64, id: i64) -> Result<bool> {
    let deleted = with_conn!(conn, |c| {
        diesel::delete(p::table.filter(p::id.eq(id)).filter(p::user_id.eq(user_id)))
            .execute(c)
            .await
    })?;
    Ok(deleted > 0)
}

/// Deletes every passkey of `user_id` and their ceremonies under way (with the user);
/// returns how many passkeys.
pub async fn delete_for_user(conn: &mut DbConn, user_id: i64) -> Result<usize> {
    let deleted = with_conn!(conn, |c| {
        diesel::delete(p::table.filter(p::user_id.eq(user_id)))
            .execute(c)
            .await
    })?;
    with_conn!(conn, |c| {
        diesel::delete(cer::table.filter(cer::user_id.eq(user_id)))
            .execute(c)
            .await
    })?;
    Ok(deleted)
}

/// Records a login with passkey `id` at `at`, and its updated webauthn-rs state when it
/// changed (counter, backup state).
pub async fn record_use(
    conn: &mut DbConn,
    id: i64,
    at: PrimitiveDateTime,
    updated: Option<&str>,
) -> Result<()> {
    with_conn!(conn, |c| {
        match updated {
            Some(json) => {
                diesel::update(p::table.find(id))
                    .set((p::last_used_at.eq(Some(at)), p::passkey.eq(json)))
                    .execute(c)
                    .await
            }
            None => {
                diesel::update(p::table.find(id))
                    .set(p::last_used_at.eq(Some(at)))
                    .execute(c)
                    .await
            }
        }
    })?;
    Ok(())
}

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Registering a passkey for the user who started it.
    Register,
    /// A usernameless login.
    Login,
    /// The second step of a password login ([`crate::mfa::challenge`]), for the user the
    /// challenge names: the options list their passkeys.
    SecondFactor,
}

impl CeremonyKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Register => "register",
            CeremonyKind::Login => "login",
            CeremonyKind::SecondFactor => "mfa",
        }
    }
}

/// A ceremony taken out of storage by [`take_ceremony`].
pub struct Ceremony {
    /// The user who started it (a registration).
    pub user_id: Option<i64>,
    /// webauthn-rs's state, JSON.
    pub state: String,
}

impl std::fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceremony")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// Stores a ceremony's state and returns the token for the browser's cookie (only its
/// SHA-256 is stored). Expired ceremonies are swept on the way.
pub async fn start_ceremony(
    conn: &mut DbConn,
    kind: CeremonyKind,
    user_id: Option<i64>,
    state: &str,
) -> Result<String> {
    let token = new_token();
    let now = now();
    let row = (
        cer::token_hash.eq(hash_token(&token)),
        cer::kind.eq(kind.as_str()),
        cer::user_id.eq(user_id),
        cer::state.eq(state),
        cer::expires_at.eq(now + CEREMONY_TTL),
    );
    with_conn!(conn, |c| {
        diesel::delete(cer::table.filter(cer::expires_at.lt(now)))
            .execute(c)
            .await?;
        diesel::insert_into(cer::table).values(row).execute(c).await
    })?;
    Ok(token)
}

/// Deletes the ceremonies past their time; returns how many.
pub async fn cleanup_ceremonies(conn: &mut DbConn, now: PrimitiveDateTime) -> Result<usize> {
    Ok(with_conn!(conn, |c| {
        diesel::delete(cer::table.filter(cer::expires_at.lt(now)))
            .execute(c)
            .await
    })?)
}

/// Takes the ceremony of `token` out of storage (read and deleted in one transaction: a
/// second call with the same token finds nothing). It must be of `kind` and, for a
/// registration, started by `user_id`; a ceremony of another user is left alone.
pub async fn take_ceremony(
    conn: &mut DbConn,
    token: &str,
    kind: CeremonyKind,
    user_id: Option<i64>,
) -> Result<std::result::Result<Ceremony, CeremonyError>> {
    let token_hash = hash_token(token);
    conn.transaction(async |conn: &mut DbConn| {
        let row: Option<(String, Option<i64>, String, PrimitiveDateTime)> =
            with_conn!(conn, |c| {
                cer::table
                    .filter(cer::token_hash.eq(&token_hash))
                    .select((cer::kind, cer::user_id, cer::state, cer::expires_at))
                    .first(c)
                    .await
                    .optional()
            })?;
        let Some((stored_kind, owner, state, expires_at)) = row else {
            return Ok(Err(CeremonyError::Invalid));
        };
        if stored_kind != kind.as_str() || owner != user_id {
            return Ok(Err(CeremonyError::Invalid));
        }
        // Whoever deletes the row owns the ceremony: of two finishes racing, one gets 0.
        let deleted = with_conn!(conn, |c| {
            diesel::delete(cer::table.filter(cer::token_hash.eq(&token_hash)))
                .execute(c)
                .await
        })?;
        if deleted == 0 {
            return Ok(Err(CeremonyError::Invalid));
        }
        if expires_at <= now() {
            return Ok(Err(CeremonyError::Expired));
        }
        Ok(Ok(Ceremony {
            user_id: owner,
            state,
        }))
    })
    .await
}

#[cfg(feature = "passkeys")]
pub use relying_party::WebauthnConfig;
/// The browser's answers to the ceremonies, as webauthn-rs reads them: the new credential
/// (`navigator.credentials.create`) and the assertion (`navigator.credentials.get`).
#[cfg(feature = "passkeys")]
pub use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

#[cfg(feature = "passkeys")]
mod relying_party {
    use std::sync::Arc;

    use url::Url;
    use webauthn_rs::{Webauthn, WebauthnBuilder};

    use crate::error::{Error, Result};

    /// The relying party of passkey ceremonies: the RP id (a registrable domain, e.g.
    /// `example.com` or `localhost`), the origin the browser runs the ceremonies from
    /// (`https://app.example.com`; `http://localhost:<port>` counts as secure) and the
    /// name shown by authenticators. Give it to
    /// [`crate::service::AuthServiceBuilder::webauthn`].
    #[derive(Clone)]
    pub struct WebauthnConfig {
        rp_id: String,
        origin: Url,
        rp_name: String,
        webauthn: Arc<Webauthn>,
    }

    impl std::fmt::Debug for WebauthnConfig {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("WebauthnConfig")
                .field("rp_id", &self.rp_id)
                .field("origin", &self.origin.as_str())
                .field("rp_name", &self.rp_name)
                .finish()
        }
    }

    impl WebauthnConfig {
        /// A relying party; [`Error::Config`] when the origin is not a URL or its host is
        /// not the RP id or below it.
        pub fn new(rp_id: &str, origin: &str, rp_name: &str) -> Result<WebauthnConfig> {
            let origin = Url::parse(origin)
                .map_err(|e| Error::Config(format!("webauthn origin {origin:?}: {e}")))?;
            let rp_name = if rp_name.is_empty() { rp_id } else { rp_name };
            let webauthn = WebauthnBuilder::new(rp_id, &origin)
                .map(|b| b.rp_name(rp_name))
                .and_then(|b| b.build())
                .map_err(|e| {
                    Error::Config(format!(
                        "webauthn relying party {rp_id:?} at {}: {e}",
                        origin.as_str()
                    ))
                })?;
            Ok(WebauthnConfig {
                rp_id: rp_id.to_owned(),
                origin,
                rp_name: rp_name.to_owned(),
                webauthn: Arc::new(webauthn),
            })
        }

        /// The RP id.
        pub fn rp_id(&self) -> &str {
            &self.rp_id
        }

        /// The origin.
        pub fn origin(&self) -> &Url {
            &self.origin
        }

        /// The name authenticators show.
        pub fn rp_name(&self) -> &str {
            &self.rp_name
        }

        /// The webauthn-rs relying party.
        pub(crate) fn webauthn(&self) -> &Webauthn {
            &self.webauthn
        }
    }
}
