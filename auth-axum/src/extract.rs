//! Extractors: [`CurrentUser`] (401 without a valid session) and [`MaybeUser`].
//!
//! The first extractor that needs the user reads the session cookie, loads the session and
//! the user, and caches the result in the request's extensions; later extractors in the same
//! request reuse it. A request that never asks does no database work.

use std::ops::Deref;

use auth_core::UserStore;
use auth_core::session::{self, Session};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_cookies::Cookies;

use crate::layer::Auth;
use crate::response::ApiError;

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
struct Resolved<U>(Option<CurrentUser<U>>);

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

/// Loads (once per request) the session named by the cookie, its user and the RBAC
/// version, in one query; renews the idle expiry when due (a write at most once per touch
/// interval). Expired sessions and sessions of deleted or deactivated users are deleted and
/// count as none.
pub(crate) async fn resolve<U: UserStore + Clone>(
    parts: &mut Parts,
) -> Result<Option<CurrentUser<U>>, ApiError> {
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
        let mut conn = auth.db().conn().await?;
        let config = auth.service().session_config();
        if let Some((user, session, version)) =
            U::find_by_session(&mut conn, &session::hash_token(&token)).await?
        {
            if !user.is_active() {
                session::delete_by_id(&mut conn, session.id).await?;
            } else if let Some(session) = session::keep_alive(&mut conn, session, config).await? {
                parts.extensions.insert(RbacVersion(version));
                resolved = Some(CurrentUser { user, session });
            }
        }
    }
    parts.extensions.insert(Resolved(resolved.clone()));
    Ok(resolved)
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
        Ok(MaybeUser(resolve::<U>(parts).await?))
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
