//! What a request's session resolves to: the user and the session, the RBAC version read
//! with them, and (once a guard needed them) the user's global grants at that version.
//!
//! One value serves both the request (memoized in its extensions, so every extractor of the
//! request sees the same resolution) and the session cache (an entry is a resolution), so a
//! warm guarded request finds everything it needs in one lookup and copies nothing.

use std::sync::{Arc, OnceLock};

use auth_core::rbac::Grants;
use auth_core::revocation::Stamp;

use crate::extract::CurrentUser;
use auth_core::Credential;

/// A resolved session; see the module docs.
pub(crate) struct Resolution<U> {
    /// The user and the session, shared with the extractors (cloned only by
    /// [`CurrentUser`] and [`crate::MaybeUser`]).
    pub(crate) current: Arc<CurrentUser<U>>,
    /// The RBAC version read with the session.
    pub(crate) rbac_version: i64,
    /// This process's change counters for the user when the session was read.
    pub(crate) stamp: Stamp,
    /// The user's global grants at `rbac_version` (limited to the credential's permission
    /// list, if it has one), filled by the first guard that needs them. Valid as long as the
    /// resolution is: any RBAC change evicts it.
    grants: OnceLock<Arc<Grants>>,
}

impl<U> Resolution<U> {
    /// A resolution without grants yet.
    pub(crate) fn new(current: CurrentUser<U>, rbac_version: i64, stamp: Stamp) -> Self {
        Resolution {
            current: Arc::new(current),
            rbac_version,
            stamp,
            grants: OnceLock::new(),
        }
    }

    /// The user's global grants, if a guard has loaded them.
    pub(crate) fn global_grants(&self) -> Option<&Arc<Grants>> {
        self.grants.get()
    }

    /// Keeps the user's global grants (computed at `self.rbac_version`).
    pub(crate) fn keep_global_grants(&self, grants: Arc<Grants>) {
        // A concurrent guard may have set the same grants first: either is right.
        let _ = self.grants.set(grants);
    }
}

impl<U: Clone> Resolution<U> {
    /// The same resolution with `credential` in place of its own (after an idle-expiry
    /// touch or a recorded key use), keeping the grants.
    pub(crate) fn with_credential(&self, credential: Credential) -> Self {
        let grants = OnceLock::new();
        if let Some(held) = self.grants.get() {
            let _ = grants.set(held.clone());
        }
        Resolution {
            current: Arc::new(CurrentUser {
                user: self.current.user.clone(),
                credential,
            }),
            rbac_version: self.rbac_version,
            stamp: self.stamp,
            grants,
        }
    }
}
