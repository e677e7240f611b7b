//! The check behind [`crate::guard::Guard`]: the auth handle implements it for its user type.

use std::sync::Arc;

use auth_core::UserStore;
use auth_core::access::{AccessSpec, Requirement};
use auth_core::rbac::{self, Grants};
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;

use crate::extract::{Lookup, resolve, resolve_now};
use crate::guard::Authorize;
use crate::layer::Auth;
use crate::rejection::{
    AuthRejection, LoginRequired, MfaRequired, PermissionDenied, ReauthenticationRequired,
};
use crate::resolution::Resolution;
use crate::response::ApiError;
use auth_core::backend::BoxFuture;

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

    /// The decision without any wait, when the session resolves from the memo or the
    /// session cache and the grants it needs are already held; else `None`.
    fn check_now(
        &self,
        parts: &mut Parts,
        spec: &'static AccessSpec,
    ) -> Option<Result<(), AuthRejection>> {
        let found = match resolve_now::<U>(self, parts) {
            Ok(Lookup::Known(found)) => found,
            Ok(Lookup::Miss(_)) => return None,
            Err(e) => return Some(Err(e)),
        };
        let Some(found) = found else {
            return Some(refuse_anonymous(spec));
        };
        let user = &found.current.user;
        let allowed = match spec.requirement {
            Requirement::Login => true,
            _ if bypasses(&found) => true,
            // A scope comes from the path: the slow path reads it.
            Requirement::Permission(_) if spec.scope_param.is_some() => return None,
            Requirement::Permission(rule) => {
                let grants = found.global_grants()?;
                rule.eval(&|code| grants.has_permission(code))
            }
            Requirement::Role(roles) => {
                let grants = found.global_grants()?;
                roles.iter().any(|r| grants.has_role(r))
            }
        };
        Some(decide(spec, user.id(), allowed).and_then(|()| session_requirements(spec, &found)))
    }

    async fn check(
        &self,
        parts: &mut Parts,
        spec: &'static AccessSpec,
    ) -> Result<(), AuthRejection> {
        let Some(found) = resolve::<U>(parts).await? else {
            return refuse_anonymous(spec);
        };
        let user = &found.current.user;
        let allowed = match spec.requirement {
            Requirement::Login => true,
            _ if bypasses(&found) => true,
            Requirement::Permission(rule) => {
                let scope = match spec.scope_param {
                    Some(param) => Some(scope_from_path(parts, param, spec.handler).await?),
                    None => None,
                };
                let grants = self.grants_for(&found, scope.as_deref()).await?;
                rule.eval(&|code| grants.has_permission(code))
            }
            Requirement::Role(roles) => {
                let grants = self.grants_for(&found, None).await?;
                roles.iter().any(|r| grants.has_role(r))
            }
        };
        decide(spec, user.id(), allowed)?;
        session_requirements(spec, &found)
    }

    /// The grants of the resolved user in `scope` at the resolution's RBAC version, limited
    /// to the credential's permission list when it has one; the global ones are kept in the
    /// resolution (so in the session cache's entry), so that the next guard decides without
    /// a lookup.
    async fn grants_for(
        &self,
        found: &Resolution<U>,
        scope: Option<&str>,
    ) -> Result<Arc<Grants>, ApiError> {
        if scope.is_none()
            && let Some(grants) = found.global_grants()
        {
            return Ok(grants.clone());
        }
        let user = &found.current.user;
        let mut grants = self
            .grants_at(user.id(), scope, Some(found.rbac_version))
            .await?;
        if let Some(limit) = found.current.credential.permission_limit() {
            grants = Arc::new(limited(&grants, limit, user.is_superuser()));
        }
        if scope.is_none() {
            found.keep_global_grants(grants.clone());
        }
        Ok(grants)
    }
}

/// Whether the superuser bypass applies: a superuser's unlimited credential. A limited one
/// (an API key with a permission list) holds exactly its listed permissions.
fn bypasses<U: UserStore>(found: &Resolution<U>) -> bool {
    found.current.user.is_superuser() && found.current.credential.permission_limit().is_none()
}

/// `grants` limited to the permission codes `limit`: the listed permissions held (a
/// superuser holds them all), and no roles.
fn limited(grants: &Grants, limit: &[String], superuser: bool) -> Grants {
    Grants {
        roles: Default::default(),
        permissions: limit
            .iter()
            .filter(|code| superuser || grants.has_permission(code))
            .cloned()
            .collect(),
    }
}

/// The guard's `mfa` and `fresh` options, checked on the credential's session (an API
/// key has none, so it passes neither): 403 `mfa_required` or
/// `reauthentication_required`.
fn session_requirements<U: UserStore>(
    spec: &'static AccessSpec,
    found: &Resolution<U>,
) -> Result<(), AuthRejection> {
    if !spec.mfa && spec.fresh_secs.is_none() {
        return Ok(());
    }
    let session = found.current.credential.session();
    if spec.mfa && !session.is_some_and(|s| s.passed_mfa()) {
        tracing::debug!(handler = spec.handler, "refused: no second factor");
        return Err(MfaRequired.into());
    }
    if let Some(seconds) = spec.fresh_secs {
        let max_age = std::time::Duration::from_secs(seconds);
        let now = auth_core::session::now();
        if !session.is_some_and(|s| s.is_fresh(max_age, now)) {
            tracing::debug!(handler = spec.handler, "refused: not fresh");
            return Err(ReauthenticationRequired.into());
        }
    }
    Ok(())
}

/// 401 for a request without a valid credential.
fn refuse_anonymous(spec: &'static AccessSpec) -> Result<(), AuthRejection> {
    tracing::debug!(handler = spec.handler, "refused: not logged in");
    Err(LoginRequired.into())
}

/// The decision, logged.
fn decide(spec: &'static AccessSpec, user_id: i64, allowed: bool) -> Result<(), AuthRejection> {
    tracing::debug!(handler = spec.handler, user_id, requirement = %spec.requirement, allowed, "access decision");
    if allowed {
        Ok(())
    } else {
        Err(PermissionDenied.into())
    }
}

impl<U: UserStore + Clone> Authorize for Auth<U> {
    fn authorize_now(
        &self,
        parts: &mut Parts,
        spec: &'static AccessSpec,
    ) -> Option<Result<(), AuthRejection>> {
        self.check_now(parts, spec)
    }

    fn authorize<'a>(
        &'a self,
        parts: &'a mut Parts,
        spec: &'static AccessSpec,
    ) -> BoxFuture<'a, Result<(), AuthRejection>> {
        Box::pin(self.check(parts, spec))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
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
