//! The credentials: how a request proves who it is (passwords, cookie sessions, API keys,
//! JWT access tokens and their refresh tokens, passkeys, second factors) and the single-use
//! tokens of account mail, with the feed that tells other instances what was revoked.

pub mod account_token;
pub mod api_key;
pub mod jwt;
pub mod mfa;
pub mod passkey;
pub mod password;
pub mod refresh_token;
pub mod revocation;
pub mod session;
