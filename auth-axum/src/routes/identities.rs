//! A user's external identities (OpenID Connect / OAuth2 providers, LDAP): list and
//! unlink. Linking goes through the provider: `GET oauth/{provider}/link`.

use auth_core::UserStore;
use auth_core::identity::Identity;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;

use crate::extract::{Client, CurrentUser};
use crate::layer::Auth;
use crate::response::{self, ApiError, Envelope, ErrorBody};

/// The user's linked identities.
#[utoipa::path(
    get,
    path = "/identities",
    tag = "external identity",
    responses((status = 200, description = "The identities, oldest first.", body = inline(Envelope<Vec<Identity>>)))
)]
pub(crate) async fn list<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
) -> Result<Response, ApiError> {
    let identities = auth.service().identities(auth.db(), &current.user).await?;
    Ok(response::ok(identities, "identities"))
}

/// Unlinks one of the user's identities.
#[utoipa::path(
    delete,
    path = "/identities/{id}",
    tag = "external identity",
    params(("id" = i64, Path, description = "The identity's id.")),
    responses(
        (status = 200, description = "Unlinked: the identity as it was.", body = inline(Envelope<Identity>)),
        (status = 404, description = "Not one of the user's identities (`not_found`).", body = ErrorBody),
        (status = 409, description = "It is the account's last way to log in (`last_login_method`): set a password or link another first.", body = ErrorBody),
    )
)]
pub(crate) async fn unlink<U: UserStore + Clone + Serialize>(
    State(auth): State<Auth<U>>,
    current: CurrentUser<U>,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("identity"))?;
    let removed = auth
        .service()
        .unlink_identity(auth.db(), &current.user, &current.actor(client), id)
        .await?;
    Ok(response::ok(removed, "identity unlinked"))
}
