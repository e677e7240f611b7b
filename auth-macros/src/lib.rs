//! Procedural macros of the axum auth framework. Use them through `auth-axum`.
use proc_macro::TokenStream;

/// Derives `AuthUser` and `UserStore` for a user model.
#[proc_macro_derive(AuthUser, attributes(auth))]
pub fn derive_auth_user(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
