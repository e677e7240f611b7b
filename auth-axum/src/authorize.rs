//! The check behind [`crate::guard::Guard`]: the auth handle implements it for its user type.

use std::sync::Arc;

use auth_core::UserStore;
use auth_core::access::AccessSpec;
use auth_core::authority::decide::{Decision, Refusal, decide, effective_grants};
use auth_core::rbac::{self, Grants};
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;

use crate::extract::{CurrentUser, Lookup, resolve, resolve_now};
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
        // A scope comes from the path: the slow path reads it.
        let grants = match spec.scope_param {
            Some(_) => None,
            None => found.as_ref().and_then(|f| f.global_grants().cloned()),
        };
        match self.decision(spec, found.as_deref(), grants.as_deref()) {
            Decision::NeedGrants => None,
            decided => Some(outcome(spec, found.as_deref(), decided)),
        }
    }

    async fn check(
        &self,
        parts: &mut Parts,
        spec: &'static AccessSpec,
    ) -> Result<(), AuthRejection> {
        let found = resolve::<U>(parts).await?;
        let mut decided = self.decision(spec, found.as_deref(), None);
        if let (Decision::NeedGrants, Some(f)) = (decided, found.as_deref()) {
            let scope = match spec.scope_param {
                Some(param) => Some(scope_from_path(parts, param, spec.handler).await?),
                None => None,
            };
            let grants = self.grants_for(f, scope.as_deref()).await?;
            decided = self.decision(spec, found.as_deref(), Some(&grants));
        }
        outcome(spec, found.as_deref(), decided)
    }

    /// [`decide`] for the resolved credential (`None`: anonymous).
    fn decision(
        &self,
        spec: &AccessSpec,
        found: Option<&Resolution<U>>,
        grants: Option<&Grants>,
    ) -> Decision {
        let who = found.map(|f| (&f.current.user, &f.current.credential));
        decide(spec, who, grants, auth_core::session::now())
    }

    /// The grants of the resolved credential in `scope` at the resolution's RBAC version,
    /// limited to the credential's permission list when it has one; the global ones are
    /// kept in the resolution (so in the session cache's entry), so that the next guard
    /// decides without a lookup.
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
        let current = &found.current;
        let mut grants = self
            .grants_at(current.user.id(), scope, Some(found.rbac_version))
            .await?;
        if current.credential.permission_limit().is_some() {
            grants = Arc::new(effective_grants(
                &grants,
                &current.credential,
                current.user.is_superuser(),
            ));
        }
        if scope.is_none() {
            found.keep_global_grants(grants.clone());
        }
        Ok(grants)
    }
}

/// The answer of a decision, logged.
fn outcome<U: UserStore>(
    spec: &'static AccessSpec,
    found: Option<&Resolution<U>>,
    decided: Decision,
) -> Result<(), AuthRejection> {
    let user_id = found.map(|f| f.current.user.id());
    let refusal = match decided {
        Decision::Allow | Decision::NeedGrants => {
            tracing::debug!(handler = spec.handler, user_id, requirement = %spec.requirement, allowed = true, "access decision");
            return Ok(());
        }
        Decision::Refuse(refusal) => refusal,
    };
    tracing::debug!(handler = spec.handler, user_id, requirement = %spec.requirement, allowed = false, ?refusal, "access decision");
    Err(match refusal {
        Refusal::LoginRequired => LoginRequired.into(),
        Refusal::PermissionDenied => PermissionDenied.into(),
        Refusal::MfaRequired => MfaRequired.into(),
        Refusal::ReauthenticationRequired => ReauthenticationRequired.into(),
    })
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
/// cache as the guards and honour the same rules: [`Auth::has_permission`] and
/// [`Auth::has_role`] ask about the request's credential (a limited API key holds only its
/// listed permissions and no role; the superuser bypass needs an unlimited credential;
/// inactive users hold nothing); [`Auth::user_has_permission`] and
/// [`Auth::user_has_role`] ask about a user other than the requester.
impl<U: UserStore + Clone> Auth<U> {
    /// Whether the request's credential holds `permission`, globally or (when given) in
    /// `scope`.
    pub async fn has_permission(
        &self,
        current: &CurrentUser<U>,
        permission: &str,
        scope: Option<&str>,
    ) -> Result<bool, ApiError> {
        Ok(self
            .credential_grants(current, scope)
            .await?
            .is_some_and(|g| g.as_ref().is_none_or(|g| g.has_permission(permission))))
    }

    /// Whether the request's credential holds `role` (assigned directly, through a group,
    /// or as an ancestor of a held role). A limited credential holds no role.
    pub async fn has_role(&self, current: &CurrentUser<U>, role: &str) -> Result<bool, ApiError> {
        Ok(self
            .credential_grants(current, None)
            .await?
            .is_some_and(|g| g.as_ref().is_none_or(|g| g.has_role(role))))
    }

    /// The credential's effective grants: `None` when it holds nothing (inactive user),
    /// `Some(None)` when it passes everything (an unlimited superuser).
    async fn credential_grants(
        &self,
        current: &CurrentUser<U>,
        scope: Option<&str>,
    ) -> Result<Option<Option<Grants>>, ApiError> {
        let user = &current.user;
        if !user.is_active() {
            return Ok(None);
        }
        if user.is_superuser() && current.credential.permission_limit().is_none() {
            return Ok(Some(None));
        }
        let grants = self.grants_of(user.id(), scope).await?;
        Ok(Some(Some(effective_grants(
            &grants,
            &current.credential,
            user.is_superuser(),
        ))))
    }

    /// Whether `user` (not necessarily the requester) holds `permission`, globally or
    /// (when given) in `scope`, with all of their grants (superusers hold everything;
    /// inactive users nothing).
    pub async fn user_has_permission(
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

    /// Whether `user` (not necessarily the requester) holds `role`.
    pub async fn user_has_role(&self, user: &U, role: &str) -> Result<bool, ApiError> {
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
