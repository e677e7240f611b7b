//! Extractors: [`CurrentUser`] (401 without a valid session) and [`MaybeUser`].
//!
//! The first extractor that needs the user reads the session cookie, loads the session and
//! the user, and caches the result in the request's extensions; later extractors in the same
//! request reuse it. A request that never asks does no database work.

use std::ops::Deref;
use std::sync::Arc;

use auth_core::UserStore;
use auth_core::session::{self, Session};
use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use tower_cookies::Cookies;

use crate::guard::Authorizer;
use crate::layer::Auth;
use crate::resolution::Resolution;
use crate::response::ApiError;
use crate::session_cache::Digest;

/// The logged-in user and their session. Rejects with 401 `unauthenticated` when the request
/// has no valid session. Dereferences to the user.
#[derive(Debug, Clone)]
pub struct CurrentUser<U> {
    /// The user.
    pub user: U,
    /// The session this request came with.
    pub session: Session,
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
pub(crate) fn authorizer_of(parts: &Parts) -> Result<&Authorizer, ApiError> {
    parts.extensions.get::<Authorizer>().ok_or_else(|| {
        ApiError::internal(
            &"auth extractor used without the auth layer: add `.layer(auth.layer())` (auth_axum::Auth::layer) to the router",
        )
    })
}

/// The [`Auth`] handle of the request, or a 500 that names the missing layer.
pub(crate) fn auth_of<U: UserStore>(parts: &Parts) -> Result<Auth<U>, ApiError> {
    authorizer_of(parts)?.auth::<U>().cloned().ok_or_else(|| {
        ApiError::internal(&format_args!(
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

/// The raw digest of the request's session token, if it carries a non-empty one.
///
/// Reads the `Cookie` headers directly (the last cookie of the name wins, as in the cookie
/// jar), so a request whose token needs no decoding never has its whole jar parsed; a
/// quoted or percent-encoded value is read through the jar.
fn token_digest(parts: &Parts, name: &str) -> Result<Option<Digest>, ApiError> {
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
    let digest = match found {
        None | Some("") => None,
        // Quoted or percent-encoded: let the jar decode it.
        Some(raw) if raw.contains(['%', '"']) => cookies_of(parts)?
            .get(name)
            .filter(|c| !c.value().is_empty())
            .map(|c| session::token_digest(c.value())),
        Some(raw) => Some(session::token_digest(raw)),
    };
    Ok(digest)
}

/// A resolution found without waiting, or the digest to look up in the database.
pub(crate) enum Lookup<U> {
    /// Decided: memoized, no token, or a session cache hit.
    Known(Option<Arc<Resolution<U>>>),
    /// The session of this token digest must be read from the database.
    Miss(Digest),
}

/// The resolution when it can be had without any wait: memoized by an earlier extractor,
/// no session token, or a good session cache entry (whose idle-expiry touch, when due, is
/// written in the background). Does no database work.
pub(crate) fn resolve_now<U: UserStore + Clone>(
    auth: &Auth<U>,
    parts: &mut Parts,
) -> Result<Lookup<U>, ApiError> {
    if let Some(Resolved(memo)) = parts.extensions.get::<Resolved<U>>() {
        return Ok(Lookup::Known(memo.clone()));
    }
    let Some(digest) = token_digest(parts, &auth.http().cookie.name)? else {
        return Ok(Lookup::Known(None));
    };
    let Some(cache) = &auth.inner.sessions else {
        return Ok(Lookup::Miss(digest));
    };
    let now = session::now();
    let Some(mut entry) = cache.get(auth.db(), &digest, now) else {
        return Ok(Lookup::Miss(digest));
    };
    let config = auth.service().session_config();
    if now - entry.current.session.last_seen_at >= config.touch_interval {
        // Mark it touched in the cache first, so that only this request writes.
        let mut touched = entry.current.session.clone();
        touched.last_seen_at = now;
        touched.idle_expires_at = (now + config.idle_timeout).min(touched.absolute_expires_at);
        entry = cache.touched(digest, &entry, touched.clone());
        let (db, config) = (auth.db().clone(), config.clone());
        tokio::spawn(async move {
            let mut touched = touched;
            let write = async {
                let mut conn = db.conn().await?;
                session::touch(&mut conn, &mut touched, now, &config).await
            };
            if let Err(e) = write.await {
                tracing::warn!(error = %e, "session cache: background touch failed");
            }
        });
    }
    parts.extensions.insert(Resolved(Some(entry.clone())));
    Ok(Lookup::Known(Some(entry)))
}

/// Resolves (once per request) the session named by the cookie, its user and the RBAC
/// version: from the session cache when it holds a good entry ([`crate::SessionCacheConfig`]),
/// else in one query (cached for the next request), renewing the idle expiry when due (a
/// write at most once per touch interval). Expired sessions and sessions of deleted or
/// deactivated users are deleted and count as none.
pub(crate) async fn resolve<U: UserStore + Clone>(
    parts: &mut Parts,
) -> Result<Option<Arc<Resolution<U>>>, ApiError> {
    let auth = auth_of::<U>(parts)?;
    match resolve_now(&auth, parts)? {
        Lookup::Known(found) => Ok(found),
        // Boxed: the database path's future is large, and the hit path should not carry
        // (and move) it.
        Lookup::Miss(digest) => Box::pin(resolve_miss(&auth, digest, parts)).await,
    }
}

/// The database half of [`resolve`]: reads the session of `digest`, caches and memoizes it.
async fn resolve_miss<U: UserStore + Clone>(
    auth: &Auth<U>,
    digest: Digest,
    parts: &mut Parts,
) -> Result<Option<Arc<Resolution<U>>>, ApiError> {
    let resolution = match &auth.inner.sessions {
        Some(cache) => {
            cache.start(auth.db()).await?;
            let before = auth.db().changes().total();
            resolve_from_db(auth, &session::hex_digest(&digest))
                .await?
                .map(|(current, version)| cache.insert(auth.db(), before, digest, current, version))
        }
        None => resolve_from_db(auth, &session::hex_digest(&digest))
            .await?
            .map(|(current, version)| {
                let stamp = auth.db().changes().stamp(current.session.user_id);
                Arc::new(Resolution::new(current, version, stamp))
            }),
    };
    parts.extensions.insert(Resolved(resolution.clone()));
    Ok(resolution)
}

/// Reads the session of `token_hash`, its user and the RBAC version from the database (one
/// query); renews the idle expiry when due. Expired sessions and sessions of deactivated
/// users are deleted and count as none.
async fn resolve_from_db<U: UserStore + Clone>(
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
    Ok(Some((CurrentUser { user, session }, version)))
}

impl<S, U> FromRequestParts<S> for CurrentUser<U>
where
    S: Send + Sync,
    U: UserStore + Clone,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        resolve::<U>(parts)
            .await?
            .map(|found| CurrentUser::clone(&found.current))
            .ok_or_else(ApiError::unauthenticated)
    }
}

impl<S, U> FromRequestParts<S> for MaybeUser<U>
where
    S: Send + Sync,
    U: UserStore + Clone,
{
    type Rejection = ApiError;

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
        Ok(Client(auth_core::service::ClientInfo { ip, user_agent }))
    }
}
