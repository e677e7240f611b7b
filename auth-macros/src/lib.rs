//! Procedural macros of the axum auth framework. Use them through `auth-axum`.

mod auth_user;

use proc_macro::TokenStream;

/// Derives `AuthUser` and `UserStore` for a user model (placeholder docs, see below).
#[proc_macro_derive(AuthUser, attributes(auth))]
pub fn derive_auth_user(input: TokenStream) -> TokenStream {
    auth_user::derive(input.into()).into()
}
