//! A user's own credentials: their API keys (create, list, revoke) and their sessions (list,
//! end one, end all the others). Each takes the [`Actor`]; managing credentials needs a login (a session or a
//! token login): an API key can neither make, see nor end keys or sessions
//! ([`AuthError::SessionRequired`]), so a limited key never mints an unlimited one. Each
//! change and its audit event are one transaction.

use std::collections::BTreeSet;

use serde_json::json;

use super::AuthService;
use crate::api_key::{self, ApiKey, NewApiKey};
use crate::audit::{By, EventType};
use crate::authority::Actor;
use crate::backend::AuthError;
use crate::db::{Database, DbConn};
use crate::error::Error;
use crate::rbac::{manage, query};
use crate::session::{self, Session};
use crate::user::UserStore;

/// The longest API key name, in characters.
pub const MAX_KEY_NAME: usize = 100;
/// The most permission codes one API key may be limited to.
pub const MAX_KEY_PERMISSIONS: usize = 200;
/// The longest API key lifetime, in days.
pub const MAX_KEY_DAYS: i64 = 3650;

/// An API key to create for the acting user.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyRequest {
    /// A label, 1 to [`MAX_KEY_NAME`] characters (surrounding spaces dropped).
    pub name: String,
    /// The permission codes to limit the key to, each held by the user; `None`: all of the
    /// user's, now and later.
    pub permissions: Option<Vec<String>>,
    /// Days until the key stops working, 1 to [`MAX_KEY_DAYS`]; `None`: never.
    pub expires_in_days: Option<i64>,
}

/// A new API key: the key itself (show it once: only its hash is stored) and its record.
#[derive(Debug)]
pub struct CreatedApiKey {
    /// The key.
    pub key: String,
    /// The stored record.
    pub record: ApiKey,
}

impl<U: UserStore> AuthService<U> {
    /// Creates an API key for the acting user, in sudo mode ([`AuthService::sudo`]: 403
    /// [`AuthError::ReauthenticationRequired`] when the session's last proof of identity
    /// is too old). 403 [`AuthError::SessionRequired`] from an API key; 422 for a bad name, lifetime or too many codes; 403
    /// [`Error::Forbidden`] for a listed permission the user does not hold (a superuser
    /// holds every permission that exists; an unknown code is held by nobody).
    pub async fn create_api_key(
        &self,
        db: &Database,
        actor: &Actor,
        request: ApiKeyRequest,
    ) -> Result<CreatedApiKey, AuthError> {
        let user_id = session_user(actor)?;
        self.sudo(actor, user_id)?;
        let name = request.name.trim();
        if name.is_empty() || name.chars().count() > MAX_KEY_NAME {
            return Err(AuthError::Invalid(format!(
                "name: 1 to {MAX_KEY_NAME} characters"
            )));
        }
        let expires_at = match request.expires_in_days {
            None => None,
            Some(days @ 1..=MAX_KEY_DAYS) => {
                Some(crate::session::now() + time::Duration::days(days))
            }
            Some(_) => {
                return Err(AuthError::Invalid(format!(
                    "expires_in_days: 1 to {MAX_KEY_DAYS}"
                )));
            }
        };
        let mut permissions = request.permissions;
        if let Some(codes) = &mut permissions {
            codes.sort();
            codes.dedup();
            if codes.len() > MAX_KEY_PERMISSIONS {
                return Err(AuthError::Invalid(format!(
                    "permissions: at most {MAX_KEY_PERMISSIONS}"
                )));
            }
        }
        let mut conn = db.conn().await?;
        let created = conn
            .transaction(async |conn: &mut DbConn| {
                if let Some(codes) = &permissions {
                    check_held(conn, actor, user_id, codes).await?;
                }
                let (key, record) = api_key::create(
                    conn,
                    NewApiKey {
                        user_id,
                        name,
                        permissions: permissions.as_deref(),
                        expires_at,
                    },
                )
                .await?;
                let event = actor
                    .event_on(
                        EventType::ApiKeyCreated,
                        user_id,
                        actor.account().unwrap_or_default(),
                    )
                    .detail(json!({
                        "key_id": record.id,
                        "name": record.name,
                        "prefix": record.prefix,
                        "permissions": record.permissions,
                    }));
                self.record(conn, event).await?;
                Ok::<_, AuthError>(CreatedApiKey { key, record })
            })
            .await?;
        drop(conn);
        self.credential_notice(
            db,
            user_id,
            format!("a new API key \"{}\" was created", created.record.name),
            false,
        );
        Ok(created)
    }

    /// The acting user's API keys, newest first (never the keys themselves). 403
    /// [`AuthError::SessionRequired`] from an API key.
    pub async fn api_keys(&self, db: &Database, actor: &Actor) -> Result<Vec<ApiKey>, AuthError> {
        let user_id = session_user(actor)?;
        let mut conn = db.conn().await?;
        Ok(api_key::list_for_user(&mut conn, user_id).await?)
    }

    /// Revokes the acting user's API key `id`: 404 [`Error::NotFound`] unless they own it,
    /// 403 [`AuthError::SessionRequired`] from an API key. Session caches hear of it.
    pub async fn revoke_api_key(
        &self,
        db: &Database,
        actor: &Actor,
        id: i64,
    ) -> Result<(), AuthError> {
        let user_id = session_user(actor)?;
        let event = EventType::ApiKeyRevoked;
        self.end_own(
            db,
            actor,
            "api key",
            event,
            json!({ "key_id": id }),
            async |conn| api_key::revoke_for_user(conn, user_id, id).await,
        )
        .await?;
        self.credential_notice(db, user_id, "an API key was revoked".into(), false);
        Ok(())
    }

    /// The acting user's live sessions (token logins included), most recently used
    /// first. 403 [`AuthError::SessionRequired`] from an API key.
    pub async fn sessions(&self, db: &Database, actor: &Actor) -> Result<Vec<Session>, AuthError> {
        let user_id = session_user(actor)?;
        let mut conn = db.conn().await?;
        Ok(session::list_for_user(&mut conn, user_id).await?)
    }

    /// Ends the acting user's session `id` (the current one too, if asked): 404
    /// [`Error::NotFound`] unless it is theirs, 403 [`AuthError::SessionRequired`] from an
    /// API key. Session caches hear of it.
    pub async fn revoke_session(
        &self,
        db: &Database,
        actor: &Actor,
        id: i64,
    ) -> Result<(), AuthError> {
        let user_id = session_user(actor)?;
        let event = EventType::SessionRevoked;
        let detail = json!({ "session_id": id, "by": By::User.to_json() });
        self.end_own(db, actor, "session", event, detail, async |conn| {
            session::revoke_for_user(conn, user_id, id).await
        })
        .await
    }

    /// Ends one of the acting user's credentials with `end` (`false`: not theirs, 404
    /// `what`) and records `event` with `detail`, in one transaction.
    async fn end_own(
        &self,
        db: &Database,
        actor: &Actor,
        what: &str,
        event: EventType,
        detail: serde_json::Value,
        end: impl AsyncFnOnce(&mut DbConn) -> crate::error::Result<bool>,
    ) -> Result<(), AuthError> {
        let user_id = session_user(actor)?;
        let mut conn = db.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            if !end(conn).await? {
                return Err(Error::NotFound(what.into()).into());
            }
            let event = actor
                .event_on(event, user_id, actor.account().unwrap_or_default())
                .detail(detail);
            self.record(conn, event).await?;
            Ok(())
        })
        .await
    }

    /// "Sign out everywhere else": ends every session of the acting user but the one they
    /// act through (token logins included), and answers how many ended. No proof of
    /// identity is needed: it only takes access away. 403 [`AuthError::SessionRequired`]
    /// from an API key. Session caches hear of it.
    pub async fn revoke_other_sessions(
        &self,
        db: &Database,
        actor: &Actor,
    ) -> Result<usize, AuthError> {
        let user_id = session_user(actor)?;
        let keep = actor.session().map(|s| s.id);
        let mut conn = db.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            let ended = session::delete_for_user(conn, user_id, keep).await?;
            let event = actor
                .event_on(
                    EventType::SessionRevoked,
                    user_id,
                    actor.account().unwrap_or_default(),
                )
                .detail(json!({ "ended_sessions": ended, "kept_session_id": keep }))
                .by(&By::User);
            self.record(conn, event).await?;
            Ok(ended)
        })
        .await
    }
}

/// The acting user's id, when they act through a login (a session or a token login).
fn session_user(actor: &Actor) -> Result<i64, AuthError> {
    match (actor.user_id(), actor.session()) {
        (Some(id), Some(_)) => Ok(id),
        _ => Err(AuthError::SessionRequired),
    }
}

/// 403 unless the acting user holds every code in `codes`: a superuser holds every
/// permission that exists (an unknown code is held by nobody).
async fn check_held(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: i64,
    codes: &[String],
) -> Result<(), AuthError> {
    let missing: Vec<&String> = if actor.bypasses() {
        let known: BTreeSet<String> = manage::list_permissions(conn)
            .await?
            .into_iter()
            .map(|p| p.code)
            .collect();
        codes.iter().filter(|c| !known.contains(*c)).collect()
    } else {
        let grants = actor.effective(&query::grants(conn, user_id, None).await?);
        codes.iter().filter(|c| !grants.has_permission(c)).collect()
    };
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Forbidden(format!("permissions: you do not hold {missing:?}")).into())
}
