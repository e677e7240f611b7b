//! Role-based access control.
//!
//! - [`query`]: what a user holds (roles, groups, effective permissions), straight from the
//!   database.
//! - [`cache`]: effective grants cached per user and scope, keyed by the RBAC version so that
//!   any change is seen on the next request.
//! - [`manage`]: creating, renaming, deleting and linking permissions, roles and groups,
//!   assigning roles (also under the grant rules), and the built-in bootstrap; every actual
//!   change bumps the RBAC version in the same transaction (a call that changes nothing
//!   does not).
//!
//! Model: a user holds the roles assigned to them and the roles of their groups, globally
//! (scope `""`) or in a named scope. A role inherits the permissions of its parent role,
//! and holding a role implies holding its ancestors (a senior role can do what its junior
//! can). Effective permissions are those of every held role. Superusers bypass checks; that
//! is the guard's decision, not this module's.

pub mod cache;
pub mod manage;
pub mod query;

pub use cache::GrantCache;

/// The longest scope, in characters (the width of the scope columns). No assignment holds
/// a longer one, so a longer scope (taken from a request's path, say) holds the global
/// grants only.
pub const MAX_SCOPE_CHARS: usize = 191;

/// `scope` as the grant lookups read it: one longer than [`MAX_SCOPE_CHARS`] is no scope
/// any assignment can hold, so it is the global one (and never a cache key of its own).
pub(crate) fn lookup_scope(scope: Option<&str>) -> Option<&str> {
    scope.filter(|s| s.chars().count() <= MAX_SCOPE_CHARS)
}
pub use query::{Grants, Named, grants, group_names, role_table, user_groups, user_roles, version};
