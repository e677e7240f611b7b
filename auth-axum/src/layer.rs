//! The one layer an application adds: cookies, CSRF protection and the auth handle on every
//! request.
//!
//! Nothing is loaded here: the session and the user are read only when an extractor
//! ([`crate::CurrentUser`], [`crate::MaybeUser`]) asks, so public routes do no database work.

use std::sync::Arc;

use auth_core::rbac::GrantCache;
use auth_core::service::AuthService;
use auth_core::{Database, UserStore};
use axum::Extension;
use tower::Layer;
use tower_cookies::{CookieManager, CookieManagerLayer};

use crate::config::HttpConfig;
use crate::csrf::{CsrfPolicy, CsrfService};
use crate::guard::Authorizer;
use crate::session_cache::SessionCache;

/// Everything the extractors and routes need: the database, the service and the HTTP
/// settings. Cheap to clone.
pub struct Auth<U: UserStore> {
    pub(crate) inner: Arc<AuthInner<U>>,
}

pub(crate) struct AuthInner<U: UserStore> {
    pub(crate) db: Database,
    pub(crate) grants: GrantCache,
    pub(crate) sessions: Option<Arc<SessionCache<U>>>,
    pub(crate) service: AuthService<U>,
    pub(crate) http: HttpConfig,
    pub(crate) csrf: Arc<CsrfPolicy>,
    /// Whether the background purge was started.
    purging: std::sync::Once,
}

impl<U: UserStore> Clone for Auth<U> {
    fn clone(&self) -> Self {
        Auth {
            inner: self.inner.clone(),
        }
    }
}

impl<U: UserStore> std::fmt::Debug for Auth<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("db", &self.inner.db)
            .field("service", &self.inner.service)
            .field("http", &self.inner.http)
            .finish()
    }
}

impl<U: UserStore> Auth<U> {
    /// Auth over `db` with `service` and default HTTP settings (secure cookie).
    pub fn new(db: Database, service: AuthService<U>) -> Self {
        Auth::with_http(db, service, HttpConfig::default())
    }

    /// Auth with explicit HTTP settings.
    pub fn with_http(db: Database, service: AuthService<U>, mut http: HttpConfig) -> Self {
        if http.cookie_max_age.is_none() {
            http.cookie_max_age = Some(service.session_config().absolute_timeout);
        }
        let csrf = Arc::new(CsrfPolicy::new(&http));
        Auth {
            inner: Arc::new(AuthInner {
                db,
                grants: GrantCache::default(),
                sessions: SessionCache::new(&http.session_cache),
                service,
                http,
                csrf,
                purging: std::sync::Once::new(),
            }),
        }
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The service.
    pub fn service(&self) -> &AuthService<U> {
        &self.inner.service
    }

    /// HTTP settings.
    pub fn http(&self) -> &HttpConfig {
        &self.inner.http
    }

    /// The layer to add to the application's router (outermost of the auth pieces):
    /// `app.layer(auth.layer())`.
    ///
    /// Called in a tokio runtime, it also starts (once per `Auth`) the background purge of
    /// expired rows ([`HttpConfig::purge_interval`]).
    pub fn layer(&self) -> AuthLayer<U>
    where
        U: Clone,
    {
        self.start_purge();
        AuthLayer { auth: self.clone() }
    }

    /// Starts the background purge, once, if a runtime is there and an interval is set.
    fn start_purge(&self) {
        let every = self.inner.http.purge_interval;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if every.is_zero() {
            return;
        }
        self.inner.purging.call_once(|| {
            runtime.spawn(purge(Arc::downgrade(&self.inner), every));
        });
    }
}

/// Deletes expired rows every `every` while the `Auth` lives.
async fn purge<U: UserStore>(auth: std::sync::Weak<AuthInner<U>>, every: std::time::Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: wait one interval after start-up.
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(auth) = auth.upgrade() else { return };
        match auth.service.purge_expired(&auth.db, 1000).await {
            Ok(purged) if purged.total() > 0 => {
                tracing::info!(?purged, "expired rows deleted");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot delete expired rows"),
        }
        let db = auth.db.clone();
        drop(auth);
        db.changes().pause(auth_core::pause::Point::Purged).await;
    }
}

/// Adds cookie handling, CSRF protection ([`crate::CsrfConfig`]) and the [`Auth`] handle to
/// every request. See [`Auth::layer`].
///
/// The CSRF check runs inside the cookie manager (it reads the same cookie jar as the
/// extractors) and before the application's handlers, so it protects every route behind the
/// layer: the application's own as well as the auth router's.
pub struct AuthLayer<U: UserStore> {
    auth: Auth<U>,
}

impl<U: UserStore> Clone for AuthLayer<U> {
    fn clone(&self) -> Self {
        AuthLayer {
            auth: self.auth.clone(),
        }
    }
}

type WithExtension<S> = <Extension<Authorizer> as Layer<S>>::Service;

impl<S, U: UserStore + Clone> Layer<S> for AuthLayer<U> {
    type Service = CookieManager<CsrfService<WithExtension<S>>>;

    fn layer(&self, inner: S) -> Self::Service {
        // One extension carries the handle: the guards use it type-erased, the extractors
        // downcast it to `Auth<U>`.
        let with_auth = Extension(Authorizer(Arc::new(self.auth.clone()))).layer(inner);
        let with_csrf = CsrfService::new(with_auth, self.auth.inner.csrf.clone());
        CookieManagerLayer::new().layer(with_csrf)
    }
}
