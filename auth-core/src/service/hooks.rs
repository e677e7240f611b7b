//! Lifecycle hooks run after each flow.

use crate::backend::BoxFuture;
use crate::session::Session;
use crate::user::UserStore;

/// Lifecycle hooks. Every method has a no-op default; implement the ones you need.
/// Hooks run after the change is stored; an error from a hook is logged, not returned.
pub trait Hooks<U: UserStore>: Send + Sync + 'static {
    /// A user registered.
    fn after_register<'a>(&'a self, _user: &'a U) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// A user logged in and received `session`.
    fn after_login<'a>(&'a self, _user: &'a U, _session: &'a Session) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// A session ended by logout.
    fn after_logout<'a>(&'a self, _user_id: i64, _session: &'a Session) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// A user changed their password.
    fn after_change_password<'a>(&'a self, _user: &'a U) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// A password reset was requested.
    fn after_forgot_password<'a>(&'a self, _user: &'a U) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// A password was reset with a token.
    fn after_reset_password<'a>(&'a self, _user: &'a U) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// An e-mail address was verified.
    fn after_verify<'a>(&'a self, _user: &'a U) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// Hooks that do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl<U: UserStore> Hooks<U> for NoHooks {}
