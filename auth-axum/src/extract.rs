//! Extractors: [`CurrentUser`] (401 without a valid credential) and [`MaybeUser`].
//!
//! The first extractor that needs the user reads the credential (an `Authorization: Bearer`
//! API key or JWT access token, or an `X-API-Key` API key, else the session cookie), loads
//! it and the user, and caches the result in the request's extensions; later extractors in
//! the same request reuse it. A request that never asks does no database work.

use std::ops::Deref;
use std::sync::Arc;

use auth_core::audit::{EventType, NewEvent};
use auth_core::pause::Point;
use auth_core::session::{self, Session};
use auth_core::{UserStore, rbac};
use auth_core::{api_key, jwt};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use tower_cookies::Cookies;

use crate::credential::Kind;
use crate::rejection::{AuthRejection, LoginRequired, MissingAuthLayer, SessionRequired};
use auth_core::Credential;

use crate::guard::Authorizer;
use crate::layer::Auth;
use crate::resolution::Resolution;
use crate::response::ApiError;
use crate::session_cache::Digest;

/// The authenticated user and the credential the request came with (a session, an API key
/// or a JWT access token). Rejects with [`LoginRequired`] (401 `unauthenticated`) when the
/// request has no valid credential ([`AuthRejection`] lists the other rejections).
/// Dereferences to the user.
#[derive(Debug, Clone)]
pub struct CurrentUser<U> {
    /// The user.
    pub user: U,
    /// How the request authenticated.
    pub credential: Credential,
}

impl<U> CurrentUser<U> {
    /// The session, for a cookie-authenticated request (`None` for an API key).
    pub fn session(&self) -> Option<&Session> {
        self.credential.session()
    }

    /// The session, or 403 `session_required` ([`SessionRequired`]): what manages
    /// credentials (logout, password and e-mail changes, sessions, API keys) needs a login
    /// (a cookie session or a JWT login's session), so that a (possibly limited) API key
    /// cannot widen or replace itself.
    pub fn require_session(&self) -> Result<&Session, SessionRequired> {
        self.session().ok_or(SessionRequired)
    }
}

impl<U> Deref for CurrentUser<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.user
    }
}

/// The logged-in user if there is one; never rejects for lack of a session.
#[derive(Debug, Clone)]
pub struct MaybeUser<U>(pub Option<CurrentUser<U>>);

/// The per-request memo of the resolution (`None`: no valid session).
#[derive(Clone)]
struct Resolved<U>(Option<Arc<Resolution<U>>>);

/// The auth handle of the request, or a 500 that names the missing layer.
pub(crate) fn authorizer_of(parts: &Parts) -> Result<&Authorizer, MissingAuthLayer> {
    parts.extensions.get::<Authorizer>().ok_or_else(|| {
        MissingAuthLayer::new(
            "auth extractor used without the auth layer: add `.layer(auth.layer())` (auth_axum::Auth::layer) to the router",
        )
    })
}

/// The [`Auth`] handle of the request, or a 500 that names the missing layer.
pub(crate) fn auth_of<U: UserStore>(parts: &Parts) -> Result<Auth<U>, MissingAuthLayer> {
    authorizer_of(parts)?.auth::<U>().cloned().ok_or_else(|| {
        MissingAuthLayer::new(format!(
            "auth extractor for user type {} under an auth layer for another user type",
            std::any::type_name::<U>()
        ))
    })
}

/// The cookies of the request (present whenever the auth layer is).
pub(crate) fn cookies_of(parts: &Parts) -> Result<Cookies, ApiError> {
    parts.extensions.get::<Cookies>().cloned().ok_or_else(|| {
        ApiError::internal(
            &"cookies missing: add `.layer(auth.layer())` (auth_axum::Auth::layer) to the router",
        )
    })
}

/// A credential the request presents: its kind and the SHA-256 of its text.
#[derive(Clone, Copy)]
pub(crate) struct Presented {
    kind: Kind,
    digest: Digest,
}

/// What the request presents: `Err(())` for a bearer token that cannot be valid (neither
/// an API key nor, when token logins are on, a JWT in `Authorization`), `Ok(None)` for
/// nothing at all.
///
/// An `Authorization: Bearer` token comes first, then `X-API-Key`, then the session cookie:
/// a request presenting a bearer credential is judged by it alone, never by a cookie the
/// browser attached.
fn presented(parts: &Parts, cookie: &str, jwt: bool) -> Result<Option<Presented>, ()> {
    if let Some((token, source)) = bearer_token(&parts.headers) {
        let kind = if api_key::is_api_key(token) {
            Kind::ApiKey
        } else if jwt && source == Source::Authorization && looks_like_jwt(token) {
            Kind::Jwt
        } else {
            return Err(());
        };
        return Ok(Some(Presented {
            kind,
            digest: session::token_digest(token),
        }));
    }
    Ok(cookie_digest(parts, cookie).map(|digest| Presented {
        kind: Kind::Cookie,
        digest,
    }))
}

/// The header a bearer token came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Authorization,
    ApiKeyHeader,
}

/// The bearer token of `Authorization: Bearer <token>` (scheme case-insensitive), or of
/// `X-API-Key: <token>`, with where it came from. Other `Authorization` schemes are the
/// application's business.
fn bearer_token(headers: &HeaderMap) -> Option<(&str, Source)> {
    let from_authorization = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| (token.trim(), Source::Authorization));
    from_authorization
        .or_else(|| {
            headers
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(|token| (token.trim(), Source::ApiKeyHeader))
        })
        .filter(|(t, _)| !t.is_empty())
}

/// Whether `token` has the shape of a compact JWS: three base64url parts.
fn looks_like_jwt(token: &str) -> bool {
    token.len() <= jwt::MAX_TOKEN_LEN
        && token.split('.').count() == 3
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The raw digest of the request's session token, if it carries a non-empty one.
///
/// Reads the `Cookie` headers directly (the last cookie of the name wins, as in the cookie
/// jar), so a request whose token needs no decoding never has its whole jar parsed; a
/// quoted or percent-encoded value is read through the jar.
fn cookie_digest(parts: &Parts, name: &str) -> Option<Digest> {
    let mut found: Option<&str> = None;
    for header in parts.headers.get_all(COOKIE) {
        let Ok(header) = header.to_str() else {
            continue;
        };
        // `name=value` pairs separated by `;`, blanks around either trimmed, as the cookie
        // crate reads them; anything unusual in the value goes through the jar below.
        for pair in header.split(';') {
            if let Some((key, value)) = pair.split_once('=')
                && key.trim() == name
            {
                found = Some(value.trim());
            }
        }
    }
    match found {
        None | Some("") => None,
        // Quoted or percent-encoded: let the jar decode it.
        Some(raw) if raw.contains(['%', '"']) => parts
            .extensions
            .get::<Cookies>()?
            .get(name)
            .filter(|c| !c.value().is_empty())
            .map(|c| session::token_digest(c.value())),
        Some(raw) => Some(session::token_digest(raw)),
    }
}

/// A resolution found without waiting, or the credential to look up in the database.
pub(crate) enum Lookup<U> {
    /// Decided: memoized, no credential, or a session cache hit.
    Known(Option<Arc<Resolution<U>>>),
    /// The credential must be read from the database.
    Miss(Presented),
}

/// The resolution when it can be had without any wait: memoized by an earlier extractor,
/// no credential, or a good session cache entry (whose idle-expiry touch or API-key use,
/// when due, is written in the background). Does no database work.
pub(crate) fn resolve_now<U: UserStore + Clone>(
    auth: &Auth<U>,
    parts: &mut Parts,
) -> Result<Lookup<U>, AuthRejection> {
    if let Some(Resolved(memo)) = parts.extensions.get::<Resolved<U>>() {
        return Ok(Lookup::Known(memo.clone()));
    }
    let jwt = auth.service().jwt().is_some();
    let presented = match presented(parts, &auth.http().cookie.session_name(), jwt) {
        Ok(Some(presented)) => presented,
        Ok(None) => return Ok(Lookup::Known(None)),
        Err(()) => {
            tracing::debug!("refused: a bearer token that is neither an API key nor a JWT");
            return Ok(Lookup::Known(None));
        }
    };
    let Some(cache) = &auth.inner.sessions else {
        return Ok(Lookup::Miss(presented));
    };
    let now = session::now();
    let Some(mut entry) = cache.get(auth.db(), &presented.digest, presented.kind, now) else {
        return Ok(Lookup::Miss(presented));
    };
    if let Some(due) = due_write(auth, &entry.current.credential, now) {
        // Mark it written in the cache first, so that only this request writes.
        entry = cache.replaced(presented.digest, &entry, due.clone());
        let (db, config) = (auth.db().clone(), auth.service().session_config().clone());
        tokio::spawn(async move {
            let user_id = due.user_id();
            let write = async {
                let mut conn = db.conn().await?;
                match due {
                    Credential::Session(mut touched) => {
                        session::touch(&mut conn, &mut touched, now, &config).await
                    }
                    Credential::ApiKey(key) => api_key::record_use(&mut conn, key.id, now).await,
                    // Access tokens write nothing on use (their refresh renews the session).
                    Credential::Jwt(_) => Ok(true),
                }
            };
            match write.await {
                Ok(true) => {}
                // The credential is gone: revoked where this instance has not heard yet.
                Ok(false) => db.changes().bump_user(user_id),
                Err(e) => tracing::warn!(error = %e, "session cache: background write failed"),
            }
            db.changes().pause(Point::Written { user_id }).await;
        });
    }
    parts.extensions.insert(Resolved(Some(entry.clone())));
    Ok(Lookup::Known(Some(entry)))
}

/// The credential as it will be once its due write is done: a session whose idle expiry
/// is due for renewal, an API key whose `last_used_at` is; `None` when nothing is due.
fn due_write<U: UserStore>(
    auth: &Auth<U>,
    credential: &Credential,
    now: time::PrimitiveDateTime,
) -> Option<Credential> {
    match credential {
        Credential::Session(s) => {
            let config = auth.service().session_config();
            (now - s.last_seen_at >= config.touch_interval).then(|| {
                let mut touched = s.clone();
                touched.last_seen_at = now;
                touched.idle_expires_at =
                    (now + config.idle_timeout).min(touched.absolute_expires_at);
                Credential::Session(touched)
            })
        }
        Credential::ApiKey(k) => k.use_due(now).then(|| {
            let mut used = k.clone();
            used.last_used_at = Some(now);
            Credential::ApiKey(used)
        }),
        Credential::Jwt(_) => None,
    }
}

/// Resolves (once per request) the credential the request presents, its user and the RBAC
/// version: from the session cache when it holds a good entry ([`crate::SessionCacheConfig`]),
/// else from the database (cached for the next request), renewing a session's idle expiry
/// or recording a key's use when due (a write at most once per interval). Expired sessions
/// and sessions of deleted or deactivated users are deleted and count as none; so do
/// expired or unknown keys and keys of such users (audited as `bearer.rejected`).
pub(crate) async fn resolve<U: UserStore + Clone>(
    parts: &mut Parts,
) -> Result<Option<Arc<Resolution<U>>>, AuthRejection> {
    let auth = auth_of::<U>(parts)?;
    match resolve_now(&auth, parts)? {
        Lookup::Known(found) => Ok(found),
        // Boxed: the database path's future is large, and the hit path should not carry
        // (and move) it.
        Lookup::Miss(presented) => Ok(Box::pin(resolve_miss(&auth, presented, parts)).await?),
    }
}

/// The database half of [`resolve`]: reads the credential, caches and memoizes it.
async fn resolve_miss<U: UserStore + Clone>(
    auth: &Auth<U>,
    presented: Presented,
    parts: &mut Parts,
) -> Result<Option<Arc<Resolution<U>>>, ApiError> {
    let hash = session::hex_digest(&presented.digest);
    let read = async {
        match presented.kind {
            Kind::Cookie => resolve_session(auth, &hash).await,
            Kind::ApiKey => resolve_key(auth, &hash, parts).await,
            Kind::Jwt => resolve_jwt(auth, parts).await,
        }
    };
    let resolution = match &auth.inner.sessions {
        Some(cache) => {
            cache.start(auth.db()).await?;
            let before = auth.db().changes().total();
            match read.await? {
                Some((current, version)) => {
                    let user_id = current.credential.user_id();
                    let changes = auth.db().changes();
                    changes.pause(Point::Resolved { user_id }).await;
                    Some(cache.insert(auth.db(), before, presented.digest, current, version))
                }
                None => None,
            }
        }
        None => read.await?.map(|(current, version)| {
            let stamp = auth.db().changes().stamp(current.credential.user_id());
            Arc::new(Resolution::new(current, version, stamp))
        }),
    };
    parts.extensions.insert(Resolved(resolution.clone()));
    Ok(resolution)
}

/// Reads the session of `token_hash`, its user and the RBAC version from the database (one
/// query); renews the idle expiry when due. Expired sessions and sessions of deactivated
/// users are deleted and count as none.
async fn resolve_session<U: UserStore + Clone>(
    auth: &Auth<U>,
    token_hash: &str,
) -> Result<Option<(CurrentUser<U>, i64)>, ApiError> {
    let mut conn = auth.db().conn().await?;
    let config = auth.service().session_config();
    let Some((user, session, version)) = U::find_by_session(&mut conn, token_hash).await? else {
        return Ok(None);
    };
    if !user.is_active() {
        session::delete_by_id(&mut conn, session.id).await?;
        return Ok(None);
    }
    let Some(session) = session::keep_alive(&mut conn, session, config).await? else {
        return Ok(None);
    };
    let credential = Credential::Session(session);
    Ok(Some((CurrentUser { user, credential }, version)))
}

/// Reads the API key of `key_hash`, its owner and the RBAC version; records the use when
/// due. An unknown or expired key, or one whose owner is gone or deactivated, counts as
/// none and is audited (`bearer.rejected`).
async fn resolve_key<U: UserStore + Clone>(
    auth: &Auth<U>,
    key_hash: &str,
    parts: &Parts,
) -> Result<Option<(CurrentUser<U>, i64)>, ApiError> {
    let mut conn = auth.db().conn().await?;
    let now = session::now();
    let Some(mut key) = api_key::find_by_hash(&mut conn, key_hash).await? else {
        reject_bearer(auth, &mut conn, parts, None, key_detail(None, "unknown")).await?;
        return Ok(None);
    };
    // The owner is read only for a live key.
    let owner = match key.is_live(now) {
        true => U::find_by_id(&mut conn, key.user_id)
            .await?
            .ok_or("unknown"),
        false => Err("expired"),
    };
    let user = match owner {
        Ok(user) if user.is_active() => user,
        Ok(_) | Err(_) => {
            let reason = owner.err().unwrap_or("inactive");
            let detail = key_detail(Some(&key), reason);
            reject_bearer(auth, &mut conn, parts, Some(key.user_id), detail).await?;
            return Ok(None);
        }
    };
    let version = rbac::version(&mut conn).await?;
    if key.use_due(now) {
        api_key::record_use(&mut conn, key.id, now).await?;
        key.last_used_at = Some(now);
    }
    let credential = Credential::ApiKey(key);
    Ok(Some((CurrentUser { user, credential }, version)))
}

/// Verifies the request's JWT access token and reads its session, its user and the RBAC
/// version. A token that does not verify (expired, tampered, unknown `kid`, another
/// algorithm), whose session has ended, or whose user is gone or deactivated counts as
/// none and is audited (`bearer.rejected`). The signature is checked before any
/// connection is taken.
async fn resolve_jwt<U: UserStore + Clone>(
    auth: &Auth<U>,
    parts: &Parts,
) -> Result<Option<(CurrentUser<U>, i64)>, ApiError> {
    let (Some(verifier), Some((token, _))) = (auth.service().jwt(), bearer_token(&parts.headers))
    else {
        return Ok(None);
    };
    let verified = verifier.verify(token, jwt::unix_now());
    let mut conn = auth.db().conn().await?;
    let claims = match verified {
        Ok(claims) => claims,
        Err(refusal) => {
            let detail = jwt_detail(refusal.as_str());
            reject_bearer(auth, &mut conn, parts, None, detail).await?;
            return Ok(None);
        }
    };
    let now = session::now();
    let user_id = claims.user_id();
    let session = session::find_by_id(&mut conn, claims.sid)
        .await?
        .filter(|s| Some(s.user_id) == user_id && s.is_live(now));
    let Some(session) = session else {
        reject_bearer(auth, &mut conn, parts, user_id, jwt_detail("ended")).await?;
        return Ok(None);
    };
    let user = U::find_by_id(&mut conn, session.user_id).await?;
    let Some(user) = user.filter(|u| u.is_active()) else {
        reject_bearer(auth, &mut conn, parts, user_id, jwt_detail("inactive")).await?;
        return Ok(None);
    };
    let version = rbac::version(&mut conn).await?;
    let credential = Credential::Jwt(jwt::AccessToken::new(&claims, session));
    Ok(Some((CurrentUser { user, credential }, version)))
}

/// The audit detail of a refused API key.
fn key_detail(key: Option<&api_key::ApiKey>, reason: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "api_key",
        "reason": reason,
        "prefix": key.map(|k| k.prefix.as_str()),
    })
}

/// The audit detail of a refused access token.
fn jwt_detail(reason: &str) -> serde_json::Value {
    serde_json::json!({ "kind": "jwt", "reason": reason })
}

/// Audits a refused bearer credential (at most one row per client and interval:
/// [`auth_core::service::AuthService::record_rejection`]).
async fn reject_bearer<U: UserStore>(
    auth: &Auth<U>,
    conn: &mut auth_core::DbConn,
    parts: &Parts,
    user_id: Option<i64>,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    tracing::debug!(%detail, "refused: bearer credential");
    let ip = client_ip(parts, &auth.http().client_ip);
    let user_agent = parts
        .headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let mut event = NewEvent::new(EventType::BearerRejected)
        .client(ip.as_deref(), user_agent)
        .detail(detail);
    event.user_id = user_id;
    auth.service().record_rejection(conn, event).await?;
    Ok(())
}

impl<S, U> FromRequestParts<S> for CurrentUser<U>
where
    S: Send + Sync,
    U: UserStore + Clone,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        resolve::<U>(parts)
            .await?
            .map(|found| CurrentUser::clone(&found.current))
            .ok_or(LoginRequired.into())
    }
}

impl<S, U> FromRequestParts<S> for MaybeUser<U>
where
    S: Send + Sync,
    U: UserStore + Clone,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(
            resolve::<U>(parts)
                .await?
                .map(|found| CurrentUser::clone(&found.current)),
        ))
    }
}

/// The request's cookie jar, or a 500 envelope naming the missing layer.
pub(crate) struct Jar(pub(crate) Cookies);

impl<S: Send + Sync> FromRequestParts<S> for Jar {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        cookies_of(parts).map(Jar)
    }
}

/// What a session and the audit log record about the client: its IP (from the source
/// [`crate::config::ClientIpSource`] names) and its user agent.
pub(crate) struct Client(pub(crate) auth_core::service::ClientInfo);

/// The client IP of a request under `source`.
pub(crate) fn client_ip(parts: &Parts, source: &crate::config::ClientIpSource) -> Option<String> {
    use crate::config::ClientIpSource;
    let peer = || {
        parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip())
    };
    let ip = match source {
        ClientIpSource::Peer => peer(),
        ClientIpSource::Header { name, trusted_hops } => {
            let hops = (*trusted_hops).max(1);
            let all: Vec<&str> = parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .collect();
            all.len()
                .checked_sub(hops)
                .and_then(|i| all[i].parse::<std::net::IpAddr>().ok())
                .or_else(peer)
        }
    };
    ip.map(|ip| ip.to_canonical().to_string())
}

impl<U: UserStore> FromRequestParts<Auth<U>> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        auth: &Auth<U>,
    ) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts, &auth.http().client_ip);
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Client(auth_core::service::ClientInfo {
            ip,
            user_agent,
            credential: None,
        }))
    }
}
