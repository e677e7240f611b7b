//! The OpenAPI 3.1 document of the auth router.
//!
//! The router serves it at `{prefix}/openapi.json`, with every path under the prefix it
//! is mounted at. It is derived from the types: the request bodies and answers are
//! `#[derive(ToSchema)]` types, each route's operation comes from the `#[utoipa::path]`
//! on its handler (the router is built from those descriptions, so nothing is served
//! undocumented), and the user schemas come from the model's
//! [`AuthUser::TABLE`](auth_core::AuthUser::TABLE): the custom fields appear with their
//! types under `extra`, the password never.
//!
//! # Merging it with the application's document
//! [`Auth::openapi`] gives the document with paths relative to the router;
//! [`utoipa::openapi::OpenApi::nest`] puts them under the mount point and merges the
//! components, tags and security schemes into the application's own document:
//!
//! ```ignore
//! use auth_axum::utoipa::OpenApi;
//!
//! #[derive(OpenApi)]
//! #[openapi(paths(list_articles))]
//! struct AppApi;
//!
//! let doc = AppApi::openapi().nest("/api/contrib/auth", auth.openapi());
//! let app = Router::new()
//!     .route("/openapi.json", get(move || async move { Json(doc) }))
//!     .nest("/api/contrib/auth", auth.router());
//! ```
//!
//! `auth_axum::utoipa` is the utoipa this crate builds with; derive with it (or with the
//! same major version) so the types match.

pub(crate) mod document;
pub(crate) mod model;

use auth_core::UserStore;
use serde::Serialize;

use crate::layer::Auth;

impl<U: UserStore + Clone + Serialize> Auth<U> {
    /// The OpenAPI 3.1 document of [`Auth::router`], with paths relative to the router
    /// (`/login`, `/admin/users`, ...). See the [module docs](crate::openapi) for
    /// merging it into the application's document.
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        let (_, paths) = crate::routes::documented_routes::<U>().into_parts();
        document::build::<U>(paths, &self.http().cookie.session_name())
    }
}
