//! The one access decision behind every guard: whether a credential passes an
//! [`AccessSpec`]. The warm path (the credential and its grants already in memory) and the
//! slow path (grants read from the database) both call [`decide`]; they differ only in how
//! the grants arrive.

use std::time::Duration;

use time::PrimitiveDateTime;

use super::access::{AccessSpec, Requirement};
use crate::credential::Credential;
use crate::rbac::Grants;
use crate::user::AuthUser;

/// Why a guard refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No credential: 401.
    LoginRequired,
    /// The credential lacks the permission or role: 403.
    PermissionDenied,
    /// The session has not passed a second factor (`mfa`): 403.
    MfaRequired,
    /// The session's last proof of identity is too old (`fresh`): 403.
    ReauthenticationRequired,
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The request passes.
    Allow,
    /// The request is refused.
    Refuse(Refusal),
    /// The requirement names permissions or roles and no grants were given: call again
    /// with the credential's grants (in the spec's scope, already limited to the
    /// credential's permission list: [`effective_grants`]).
    NeedGrants,
}

/// Whether `credential` of `user` (`None`: anonymous) passes `spec` at `now`, given the
/// credential's effective `grants` when known. An active superuser acting through an
/// unlimited credential passes every permission and role requirement; a limited credential
/// holds exactly its listed permissions. The guard's `mfa` and `fresh` options are checked
/// on the credential's session (an API key has none, so it passes neither).
pub fn decide<U: AuthUser>(
    spec: &AccessSpec,
    user: Option<(&U, &Credential)>,
    grants: Option<&Grants>,
    now: PrimitiveDateTime,
) -> Decision {
    let Some((user, credential)) = user else {
        return Decision::Refuse(Refusal::LoginRequired);
    };
    let bypass = user.is_superuser() && credential.permission_limit().is_none();
    let allowed = match spec.requirement {
        Requirement::Login => true,
        _ if bypass => true,
        Requirement::Permission(rule) => match grants {
            Some(g) => rule.eval(&|code| g.has_permission(code)),
            None => return Decision::NeedGrants,
        },
        Requirement::Role(roles) => match grants {
            Some(g) => roles.iter().any(|r| g.has_role(r)),
            None => return Decision::NeedGrants,
        },
    };
    if !allowed {
        return Decision::Refuse(Refusal::PermissionDenied);
    }
    let session = credential.session();
    if spec.mfa && !session.is_some_and(|s| s.passed_mfa()) {
        return Decision::Refuse(Refusal::MfaRequired);
    }
    if let Some(seconds) = spec.fresh_secs {
        let max_age = Duration::from_secs(seconds);
        if !session.is_some_and(|s| s.is_fresh(max_age, now)) {
            return Decision::Refuse(Refusal::ReauthenticationRequired);
        }
    }
    Decision::Allow
}

/// `grants` as the credential may use them: the same for an unlimited credential;
/// otherwise only the listed permissions held (all of them for a superuser), and no
/// roles.
pub fn effective_grants(grants: &Grants, credential: &Credential, superuser: bool) -> Grants {
    match credential.permission_limit() {
        None => grants.clone(),
        Some(limit) => super::actor::limited(grants, limit, superuser),
    }
}
