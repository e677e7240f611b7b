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
use axum::http::request::Parts;
use tower_cookies::Cookies;

use crate::layer::Auth;
use crate::response::ApiError;
use crate::session_cache::SessionCache;

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

/// The per-request cache of the resolution.
#[derive(Clone)]
struct Resolved<U>(Option<Arc<CurrentUser<U>>>);

/// The [`Auth`] handle of the request, or a 500 that names the missing layer.
pub(crate) fn auth_of<U: UserStore>(parts: &Parts) -> Result<Auth<U>, ApiError> {
    parts.extensions.get::<Auth<U>>().cloned().ok_or_else(|| {
        ApiError::internal(&format_args!(
            "auth extractor used without the auth layer: add `.layer(auth.layer())` (auth_axum::Auth::layer) \
             to the router, for the same user type {}",
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

/// The RBAC version read with the session, for the guards' grant cache.
#[derive(Clone, Copy)]
pub(crate) struct RbacVersion(pub(crate) i64);

/// Resolves (once per request) the session named by the cookie, its user and the RBAC
/// version: from the session cache when it holds a good entry ([`crate::SessionCacheConfig`]),
/// else in one query, renewing the idle expiry when due (a write at most once per touch
/// interval). Expired sessions and sessions of deleted or deactivated users are deleted and
/// count as none.
pub(crate) async fn resolve<U: UserStore + Clone>(
    parts: &mut Parts,
) -> Result<Option<Arc<CurrentUser<U>>>, ApiError> {
    if let Some(Resolved(cached)) = parts.extensions.get::<Resolved<U>>() {
        return Ok(cached.clone());
    }
    let auth = auth_of::<U>(parts)?;
    let cookies = cookies_of(parts)?;
    let token = cookies
        .get(&auth.http().cookie.name)
        .map(|c| c.value().to_owned());
    let mut resolved = None;
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        resolved = match &auth.inner.sessions {
            Some(cache) => resolve_cached(&auth, cache, &token, parts).await?,
            None => resolve_from_db(&auth, &session::hash_token(&token), parts)
                .await?
                .map(|(c, _)| Arc::new(c)),
        };
    }
    parts.extensions.insert(Resolved(resolved.clone()));
    Ok(resolved)
}

/// Reads the session of `token_hash`, its user and the RBAC version from the database (one
/// query); renews the idle expiry when due. Expired sessions and sessions of deactivated
/// users are deleted and count as none.
async fn resolve_from_db<U: UserStore + Clone>(
    auth: &Auth<U>,
    token_hash: &str,
    parts: &mut Parts,
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
    parts.extensions.insert(RbacVersion(version));
    Ok(Some((CurrentUser { user, session }, version)))
}

/// The resolution from the session cache when it holds a good one (no database work; the
/// idle-expiry touch, when due, is written in the background), else from the database,
/// cached for the next request.
async fn resolve_cached<U: UserStore + Clone>(
    auth: &Auth<U>,
    cache: &Arc<SessionCache<U>>,
    token: &str,
    parts: &mut Parts,
) -> Result<Option<Arc<CurrentUser<U>>>, ApiError> {
    let hash = session::hash_token(token);
    if let Some(entry) = cache.get(auth.db(), &hash) {
        let config = auth.service().session_config();
        let now = session::now();
        let mut current = entry.current.clone();
        if now - current.session.last_seen_at >= config.touch_interval {
            // Mark it touched in the cache first, so that only this request writes.
            let mut touched = current.session.clone();
            let idle = (now + config.idle_timeout).min(touched.absolute_expires_at);
            touched.last_seen_at = now;
            touched.idle_expires_at = idle;
            current = cache.touched(&hash, &entry, touched.clone());
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
        parts.extensions.insert(RbacVersion(entry.rbac_version));
        return Ok(Some(current));
    }
    cache.start(auth.db()).await?;
    let before = auth.db().changes().total();
    let Some((current, version)) = resolve_from_db(auth, &hash, parts).await? else {
        return Ok(None);
    };
    let current = Arc::new(current);
    cache.insert(auth.db(), before, hash, current.clone(), version);
    Ok(Some(current))
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
            .map(|current| CurrentUser::clone(&current))
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
                .map(|current| CurrentUser::clone(&current)),
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
