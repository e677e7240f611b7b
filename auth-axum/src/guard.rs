//! The extractor the guard macros insert: `Guard<R>` checks `R::SPEC` before any other
//! extractor runs (so before the body is read).
//!
//! `#[permission_required("article.create")] async fn create(user: CurrentUser<User>, ...)`
//! becomes `async fn create((_, user): (Guard<__auth_req_create>, CurrentUser<User>), ...)`:
//! the guard joins the first argument in a tuple, so the number of arguments (and axum's
//! limit of 16) is unchanged, and tuple elements are extracted in order.
//!
//! Anonymous: 401 `unauthenticated` ([`crate::LoginRequired`]). Logged in but lacking: 403
//! `forbidden` ([`crate::PermissionDenied`]); the guard's rejection is an
//! [`crate::AuthRejection`]. Superusers
//! pass every permission and role check; inactive users never pass (their session is
//! refused). A database error is a logged 500 (503 when the database is unreachable), never
//! a silent allow or deny.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use auth_core::UserStore;
use auth_core::access::AccessSpec;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::layer::Auth;
use crate::rejection::{AuthRejection, MissingAuthLayer};
use auth_core::backend::BoxFuture;

/// A handler's requirement, as a type. Implemented by the guard macros on a zero-sized
/// type per guarded handler.
pub trait GuardSpec: Send + Sync + 'static {
    /// What the handler requires.
    const SPEC: &'static AccessSpec;
}

/// Checks `R::SPEC` for the request; see the module docs.
pub struct Guard<R>(PhantomData<fn() -> R>);

impl<R> std::fmt::Debug for Guard<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Guard")
    }
}

/// The type-erased check the auth layer puts on every request (the guard does not know the
/// application's user type).
pub(crate) trait Authorize: Send + Sync + 'static {
    /// The decision when it needs no wait (a warm session and grants), else `None`.
    fn authorize_now(
        &self,
        parts: &mut Parts,
        spec: &'static AccessSpec,
    ) -> Option<Result<(), AuthRejection>>;

    /// The decision, reading the database when needed.
    fn authorize<'a>(
        &'a self,
        parts: &'a mut Parts,
        spec: &'static AccessSpec,
    ) -> BoxFuture<'a, Result<(), AuthRejection>>;

    /// The auth handle itself, for the extractors that know the user type.
    fn as_any(&self) -> &dyn Any;
}

/// Opaque: the auth handle the auth layer attaches to every request, type-erased so that
/// [`Guard`] can check without knowing the user type. The extractors find their typed
/// [`crate::Auth`] through it: one extension per request, not two.
#[derive(Clone)]
pub struct Authorizer(pub(crate) Arc<dyn Authorize>);

impl Authorizer {
    /// The typed handle, when the layer's user type is `U`.
    pub(crate) fn auth<U: UserStore>(&self) -> Option<&Auth<U>> {
        self.0.as_any().downcast_ref::<Auth<U>>()
    }
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authorizer")
    }
}

impl<S, R> FromRequestParts<S> for Guard<R>
where
    S: Send + Sync,
    R: GuardSpec,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let authorizer = parts.extensions.get::<Authorizer>().cloned().ok_or_else(|| {
            MissingAuthLayer::new(format!(
                "guarded handler {} without the auth layer: add `.layer(auth.layer())` (auth_axum::Auth::layer)",
                R::SPEC.handler
            ))
        })?;
        match authorizer.0.authorize_now(parts, R::SPEC) {
            Some(decision) => decision?,
            None => authorizer.0.authorize(parts, R::SPEC).await?,
        }
        Ok(Guard(PhantomData))
    }
}
