//! The request's [`Actor`]: who acts, through which credential (see
//! [`auth_core::authority`]'s rules: a limited API key acts with its limit everywhere).

use auth_core::service::admin::Admin;
use auth_core::{Actor, UserStore};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::extract::{Client, CurrentUser, resolve};
use crate::layer::Auth;
use crate::rejection::AuthRejection;

/// The [`Actor`] of a request, built once from its credential (the `CurrentUser`) and its
/// client: a user acting through their session, JWT or API key, or the anonymous actor when
/// there is no credential. Pass it to the services that change state.
#[derive(Debug, Clone)]
pub struct RequestActor(pub Actor);

impl<U: UserStore + Clone> FromRequestParts<Auth<U>> for RequestActor {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        auth: &Auth<U>,
    ) -> Result<Self, Self::Rejection> {
        let Ok(Client(client)) = Client::from_request_parts(parts, auth).await;
        Ok(RequestActor(match resolve::<U>(parts).await? {
            Some(found) => found.current.actor(client),
            None => Actor::anonymous(client),
        }))
    }
}

impl<U: UserStore> CurrentUser<U> {
    /// The actor of this credential, from `client`.
    pub fn actor(&self, client: auth_core::ClientInfo) -> Actor {
        Actor::user(&self.user, self.credential.clone(), client)
    }

    /// `client`, naming this credential as the one acting (what the audit log records).
    pub(crate) fn acting(&self, client: auth_core::ClientInfo) -> auth_core::ClientInfo {
        self.actor(client).client().clone()
    }
}

impl<U: UserStore + Clone> Auth<U> {
    /// The administration services over this handle's database
    /// ([`auth_core::service::admin`]).
    pub fn admin(&self) -> Admin<'_, U> {
        self.service().admin(self.db())
    }
}
