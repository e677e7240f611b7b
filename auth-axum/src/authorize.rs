//! The check behind [`crate::guard::Guard`]: the auth handle implements it for its user type.

use std::sync::Arc;

use auth_core::UserStore;
use auth_core::access::{AccessSpec, Requirement};
use auth_core::rbac::{self, Grants};
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::backend::BoxFuture;
use crate::extract::{RbacVersion, resolve};
use crate::guard::Authorize;
use crate::layer::Auth;
use crate::response::{ApiError, ErrorCode};

fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::Forbidden,
        "you do not have permission to do this",
    )
}

/// The value of the path parameter `name`, which the guard's `scope` names.
async fn scope_from_path(parts: &mut Parts, name: &str, handler: &str) -> Result<String, ApiError> {
    let params = RawPathParams::from_request_parts(parts, &())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    params.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_owned()).ok_or_else(|| {
        ApiError::internal(&format_args!(
            "handler {handler}: its guard takes the scope from path parameter {name:?}, which the route does not have"
        ))
    })
}

impl<U: UserStore + Clone> Auth<U> {
    /// The grants of the user in `scope`, from the cache when the RBAC version is unchanged.
    /// `known_version` is the version read with the session, when there is one: then a
    /// cache hit costs no query at all.
    pub(crate) async fn grants_at(
        &self,
        user_id: i64,
        scope: Option<&str>,
        known_version: Option<i64>,
    ) -> Result<Arc<Grants>, ApiError> {
        if let Some(version) = known_version
            && let Some(grants) = self.inner.grants.cached(user_id, scope, version)
        {
            return Ok(grants);
        }
        let mut conn = self.db().conn().await?;
        let version = match known_version {
            Some(v) => v,
            None => rbac::version(&mut conn).await?,
        };
        Ok(self
            .inner
            .grants
            .get(&mut conn, user_id, scope, version)
            .await?)
    }

    /// [`Auth::grants_at`] reading the current version.
    pub(crate) async fn grants_of(
        &self,
        user_id: i64,
        scope: Option<&str>,
    ) -> Result<Arc<Grants>, ApiError> {
        self.grants_at(user_id, scope, None).await
    }

    async fn check(&self, parts: &mut Parts, spec: &'static AccessSpec) -> Result<(), ApiError> {
        let Some(current) = resolve::<U>(parts).await? else {
            tracing::debug!(handler = spec.handler, "refused: not logged in");
            return Err(ApiError::unauthenticated());
        };
        let user = &current.user;
        let version = parts.extensions.get::<RbacVersion>().map(|v| v.0);
        let allowed = match spec.requirement {
            Requirement::Login => true,
            _ if user.is_superuser() => true,
            Requirement::Permission(rule) => {
                let scope = match spec.scope_param {
                    Some(param) => Some(scope_from_path(parts, param, spec.handler).await?),
                    None => None,
                };
                let grants = self.grants_at(user.id(), scope.as_deref(), version).await?;
                rule.eval(&|code| grants.has_permission(code))
            }
            Requirement::Role(roles) => {
                let grants = self.grants_at(user.id(), None, version).await?;
                roles.iter().any(|r| grants.has_role(r))
            }
        };
        tracing::debug!(handler = spec.handler, user_id = user.id(), requirement = %spec.requirement, allowed, "access decision");
        if allowed { Ok(()) } else { Err(forbidden()) }
    }
}

impl<U: UserStore + Clone> Authorize for Auth<U> {
    fn authorize<'a>(
        &'a self,
        parts: &'a mut Parts,
        spec: &'static AccessSpec,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(self.check(parts, spec))
    }
}

/// Programmatic checks, for decisions a guard attribute cannot express. They use the same
/// cache as the guards and honour the same rules (superusers hold everything; inactive users
/// nothing).
impl<U: UserStore + Clone> Auth<U> {
    /// Whether `user` holds `permission`, globally or (when given) in `scope`.
    pub async fn has_permission(
        &self,
        user: &U,
        permission: &str,
        scope: Option<&str>,
    ) -> Result<bool, ApiError> {
        if !user.is_active() {
            return Ok(false);
        }
        if user.is_superuser() {
            return Ok(true);
        }
        Ok(self
            .grants_of(user.id(), scope)
            .await?
            .has_permission(permission))
    }

    /// Whether `user` holds `role` (assigned directly, through a group, or as an ancestor of
    /// a held role).
    pub async fn has_role(&self, user: &U, role: &str) -> Result<bool, ApiError> {
        if !user.is_active() {
            return Ok(false);
        }
        if user.is_superuser() {
            return Ok(true);
        }
        Ok(self.grants_of(user.id(), None).await?.has_role(role))
    }

    /// The roles `user_id` holds globally, with their ancestors, sorted.
    pub async fn query_roles(&self, user_id: i64) -> Result<Vec<String>, ApiError> {
        Ok(self
            .grants_of(user_id, None)
            .await?
            .roles
            .iter()
            .cloned()
            .collect())
    }

    /// The groups `user_id` belongs to, sorted.
    pub async fn query_groups(&self, user_id: i64) -> Result<Vec<String>, ApiError> {
        let mut conn = self.db().conn().await?;
        Ok(rbac::group_names(&mut conn, user_id).await?)
    }

    /// Every permission `user_id` holds globally and in `scope`, sorted (role grants only:
    /// a superuser's bypass is not listed).
    pub async fn effective_permissions(
        &self,
        user_id: i64,
        scope: Option<&str>,
    ) -> Result<Vec<String>, ApiError> {
        Ok(self
            .grants_of(user_id, scope)
            .await?
            .permissions
            .iter()
            .cloned()
            .collect())
    }
}
