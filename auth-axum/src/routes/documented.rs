//! The router builder that keeps routes and their OpenAPI operations in step: a route is
//! added from its `#[utoipa::path]` description (path and methods come from there), so a
//! route cannot be served undocumented, nor documented at another path than it is served.
//!
//! How a route is reached is given once, at registration ([`Access`]): it sets the
//! operation's security requirements and adds the error answers every such route shares
//! (401 without credentials, 403 for a missing permission), so the per-handler
//! annotations carry only what is particular to the route.

use auth_core::UserStore;
use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};
use serde::Serialize;
use utoipa::openapi::path::{HttpMethod, Operation, Paths};
use utoipa::openapi::security::SecurityRequirement;

use crate::layer::Auth;
use crate::openapi::document;

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Access {
    /// Anyone: no credential is needed.
    Public,
    /// Any credential: the session cookie, a JWT access token or an API key.
    User,
    /// A login: the session cookie or a JWT access token (an API key gets 403
    /// `session_required`).
    Session,
    /// Any credential of a user holding this permission.
    Permission(&'static str),
}

/// An auth router under construction together with its OpenAPI paths.
pub(crate) struct Documented<U: UserStore + Clone> {
    router: Router<Auth<U>>,
    paths: Paths,
}

impl<U: UserStore + Clone + Serialize> Documented<U> {
    /// No routes yet.
    pub(crate) fn new() -> Self {
        Documented {
            router: Router::new(),
            paths: Paths::new(),
        }
    }

    /// Serves `handler` at the path and methods of the operation `P` (the
    /// `__path_<handler>` struct `#[utoipa::path]` generates), reached as `access` says.
    pub(crate) fn route<P, H, T>(mut self, _operation: P, access: Access, handler: H) -> Self
    where
        P: utoipa::Path,
        H: Handler<T, Auth<U>>,
        T: 'static,
    {
        let path = P::path();
        let methods = P::methods();
        let mut method_router = MethodRouter::new();
        for method in &methods {
            method_router = method_router.on(http_method(method).1, handler.clone());
        }
        self.router = self.router.route(&path, method_router);
        let mut operation = P::operation();
        // The handler's name repeats across modules (`list`, `create`): the id is made of
        // the method and the path, unique as OpenAPI requires.
        if let Some(method) = methods.first() {
            operation.operation_id = Some(operation_id(method, &path));
        }
        secure(&mut operation, access);
        self.paths.add_path_operation(&path, methods, operation);
        self
    }

    /// The router and the paths.
    pub(crate) fn into_parts(self) -> (Router<Auth<U>>, Paths) {
        (self.router, self.paths)
    }
}

/// `post_admin_users_id_password` for `POST /admin/users/{id}/password`.
fn operation_id(method: &HttpMethod, path: &str) -> String {
    let words = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    std::iter::once(http_method(method).0)
        .chain(words)
        .collect::<Vec<_>>()
        .join("_")
}

/// The method's lowercase name (for operation ids) and axum's filter for it.
fn http_method(method: &HttpMethod) -> (&'static str, MethodFilter) {
    match method {
        HttpMethod::Get => ("get", MethodFilter::GET),
        HttpMethod::Post => ("post", MethodFilter::POST),
        HttpMethod::Put => ("put", MethodFilter::PUT),
        HttpMethod::Delete => ("delete", MethodFilter::DELETE),
        HttpMethod::Options => ("options", MethodFilter::OPTIONS),
        HttpMethod::Head => ("head", MethodFilter::HEAD),
        HttpMethod::Patch => ("patch", MethodFilter::PATCH),
        HttpMethod::Trace => ("trace", MethodFilter::TRACE),
    }
}

/// Sets the security requirements `access` implies and the shared error answers.
fn secure(operation: &mut Operation, access: Access) {
    let schemes: &[&str] = match access {
        Access::Public => &[],
        Access::Session => &[document::SESSION_SCHEME, document::BEARER_SCHEME],
        Access::User | Access::Permission(_) => &[
            document::SESSION_SCHEME,
            document::BEARER_SCHEME,
            document::API_KEY_SCHEME,
        ],
    };
    if !schemes.is_empty() {
        operation.security = Some(
            schemes
                .iter()
                .map(|scheme| SecurityRequirement::new::<_, _, &str>(*scheme, []))
                .collect(),
        );
        document::add_error(operation, "401", "No valid credential (`unauthenticated`).");
    }
    match access {
        Access::Session => document::add_error(
            operation,
            "403",
            "An API key cannot manage the account (`session_required`), or a cross-origin \
             cookie request without the CSRF token (`csrf`).",
        ),
        Access::Permission(code) => {
            let line = format!("Requires the permission `{code}`.");
            operation.description = Some(match operation.description.take() {
                Some(text) => format!("{text}\n\n{line}"),
                None => line,
            });
            document::add_error(
                operation,
                "403",
                "The permission is missing, or the grant rules forbid the change \
                 (`forbidden`).",
            );
        }
        Access::Public | Access::User => {}
    }
    document::add_error(
        operation,
        "default",
        "Any other failure, in the error envelope with a stable `code`.",
    );
}
