//! The acting party of a request or a job: an [`Actor`]. Authority belongs to the
//! credential that acts, not to the user behind it: a limited API key acts with its limit
//! everywhere (guards, admin authority, programmatic checks), and the superuser bypass
//! belongs to unlimited credentials only.

use time::PrimitiveDateTime;

use crate::audit::{By, EventType, NewEvent};
use crate::credential::Credential;
use crate::credential::session::Session;
use crate::error::{AuthError, Error};
use crate::rbac::Grants;
use crate::user::AuthUser;

/// Client details recorded with a session and in the audit log, and the credential acting
/// from it when there is one ([`Actor::client`] sets it): every audit event written from a
/// `ClientInfo` names that credential.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Client IP address.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// The credential acting from this client (`session:<id>`, `jwt:<session id>`,
    /// `api_key:<prefix>`), as [`Actor::credential_label`] names it.
    pub credential: Option<String>,
}

impl ClientInfo {
    /// An audit event from this client (naming the acting credential, if any).
    pub(crate) fn event(&self, event: EventType) -> NewEvent {
        let e = NewEvent::new(event).client(self.ip.as_deref(), self.user_agent.as_deref());
        match &self.credential {
            Some(label) => e.credential(label),
            None => e,
        }
    }
}

/// Who acts: a user through one of their credentials, nobody yet (register, login, forgot
/// and reset password), or the system itself (the command line, seeding, background jobs).
///
/// Build it once per request ([`Actor::user`]; auth-axum does it from the request's
/// `CurrentUser`) and pass it to every service that changes state. What it may do is
/// its *effective grants*: the owner's grants intersected with the credential's permission
/// limit ([`Actor::effective`]); the superuser and `superadmin` bypasses apply only to an
/// unlimited credential ([`Actor::bypasses`]).
#[derive(Debug, Clone)]
pub struct Actor {
    principal: Principal,
    credential: Option<Credential>,
    client: ClientInfo,
}

#[derive(Debug, Clone)]
enum Principal {
    Anonymous,
    System(String),
    User {
        id: i64,
        account: String,
        is_superuser: bool,
        is_active: bool,
    },
}

impl Actor {
    /// Nobody logged in yet, from `client` (register, login, forgot and reset password).
    pub fn anonymous(client: ClientInfo) -> Actor {
        Actor {
            principal: Principal::Anonymous,
            credential: None,
            client,
        }
    }

    /// The system itself, named `name` in the audit log's `by` (`cli`, `seed`, a job's
    /// name): unlimited, no user.
    pub fn system(name: impl Into<String>) -> Actor {
        Actor {
            principal: Principal::System(name.into()),
            credential: None,
            client: ClientInfo::default(),
        }
    }

    /// `user`, acting through `credential`, from `client`.
    pub fn user<U: AuthUser>(user: &U, credential: Credential, client: ClientInfo) -> Actor {
        let mut client = client;
        client.credential = Some(label(&credential));
        Actor {
            principal: Principal::User {
                id: user.id(),
                account: user.account().to_owned(),
                is_superuser: user.is_superuser(),
                is_active: user.is_active(),
            },
            credential: Some(credential),
            client,
        }
    }

    /// The user `id` (a superuser or not) acting through an unlimited credential, without
    /// a user row: for tests that drive the storage layer directly.
    #[cfg(feature = "test-support")]
    pub fn for_user_id(id: i64, is_superuser: bool) -> Actor {
        Actor {
            principal: Principal::User {
                id,
                account: format!("user-{id}"),
                is_superuser,
                is_active: true,
            },
            credential: None,
            client: ClientInfo::default(),
        }
    }

    /// The acting user's id (`None` for the anonymous and the system actor).
    pub fn user_id(&self) -> Option<i64> {
        match &self.principal {
            Principal::User { id, .. } => Some(*id),
            Principal::Anonymous | Principal::System(_) => None,
        }
    }

    /// The acting user's account name.
    pub fn account(&self) -> Option<&str> {
        match &self.principal {
            Principal::User { account, .. } => Some(account),
            Principal::Anonymous | Principal::System(_) => None,
        }
    }

    /// Whether this is the system actor.
    pub fn is_system(&self) -> bool {
        matches!(self.principal, Principal::System(_))
    }

    /// Whether the actor is the user `user_id`.
    pub fn is(&self, user_id: i64) -> bool {
        self.user_id() == Some(user_id)
    }

    /// The credential acting, for a user.
    pub fn credential(&self) -> Option<&Credential> {
        self.credential.as_ref()
    }

    /// The permission codes the credential is limited to; `None` for an unlimited one (and
    /// for the system actor).
    pub fn permission_limit(&self) -> Option<&[String]> {
        self.credential
            .as_ref()
            .and_then(Credential::permission_limit)
    }

    /// The session the credential belongs to (a cookie session, or a token login's
    /// session); `None` for an API key.
    pub fn session(&self) -> Option<&Session> {
        self.credential.as_ref().and_then(Credential::session)
    }

    /// The login (a session, or a token login's session) through which the user `user_id`
    /// acts on their own account: what managing one's own credentials and second factors
    /// needs. [`AuthError::SessionRequired`] for an API key or no user;
    /// [`Error::Forbidden`] when the actor is another user.
    pub fn own_login(&self, user_id: i64) -> Result<&Session, AuthError> {
        let session = self.session().ok_or(AuthError::SessionRequired)?;
        if !self.is(user_id) {
            return Err(Error::Forbidden("another user's account".into()).into());
        }
        Ok(session)
    }

    /// [`Actor::own_login`], in sudo mode: the session's last proof of identity
    /// ([`Session::proven_at`]) is at most `window` old at `now`, else
    /// [`AuthError::ReauthenticationRequired`]. What adding or removing a way into the
    /// account needs, so that a stolen session cookie cannot keep the account for good.
    pub fn sudo(
        &self,
        user_id: i64,
        window: std::time::Duration,
        now: PrimitiveDateTime,
    ) -> Result<&Session, AuthError> {
        let session = self.own_login(user_id)?;
        if !session.is_fresh(window, now) {
            return Err(AuthError::ReauthenticationRequired { window });
        }
        Ok(session)
    }

    /// When the session passed a second factor.
    pub fn mfa_at(&self) -> Option<PrimitiveDateTime> {
        self.session().and_then(|s| s.mfa_at)
    }

    /// The session's last proof of identity: the login, a second factor or a
    /// re-authentication, whichever came last (`None` for an API key).
    pub fn proven_at(&self) -> Option<PrimitiveDateTime> {
        self.session().map(Session::proven_at)
    }

    /// The client the actor acts from.
    pub fn client(&self) -> &ClientInfo {
        &self.client
    }

    /// Whether the acting user is a superuser (whatever the credential).
    pub fn is_superuser(&self) -> bool {
        matches!(
            self.principal,
            Principal::User {
                is_superuser: true,
                ..
            }
        )
    }

    /// Whether the actor passes every permission check without holding the permission:
    /// the system actor, or an active superuser acting through an unlimited credential.
    pub fn bypasses(&self) -> bool {
        match &self.principal {
            Principal::System(_) => true,
            Principal::User {
                is_superuser,
                is_active,
                ..
            } => *is_superuser && *is_active && self.permission_limit().is_none(),
            Principal::Anonymous => false,
        }
    }

    /// The actor's effective grants, given the owner's `grants`: the same when the
    /// credential is unlimited; otherwise only the listed permissions the owner holds (all
    /// of them for a superuser), and no roles, so a limited credential never counts as
    /// `superadmin`.
    pub fn effective(&self, grants: &Grants) -> Grants {
        match self.permission_limit() {
            None => grants.clone(),
            Some(limit) => limited(grants, limit, self.is_superuser()),
        }
    }

    /// The credential, as the audit log names it: `session:<id>`, `jwt:<session id>` or
    /// `api_key:<prefix>`; `None` without one.
    pub fn credential_label(&self) -> Option<String> {
        self.credential.as_ref().map(label)
    }

    /// Who acted, as the audit log's `by` when acting on someone else's account.
    pub fn by(&self) -> By {
        match &self.principal {
            Principal::User { id, account, .. } => By::Admin {
                id: *id,
                account: account.clone(),
            },
            Principal::System(name) => By::System(name.clone()),
            Principal::Anonymous => By::User,
        }
    }

    /// An audit event from this actor: its client, and the credential that acted in
    /// `detail.credential`.
    pub(crate) fn event(&self, event: EventType) -> NewEvent {
        self.client.event(event)
    }

    /// [`Actor::event`] about the account `user_id` (set the detail, then `by`).
    pub(crate) fn event_on(&self, event: EventType, user_id: i64, account: &str) -> NewEvent {
        self.event(event).user(user_id, account)
    }
}

/// How the audit log names `credential`.
fn label(credential: &Credential) -> String {
    match credential {
        Credential::Session(s) => format!("session:{}", s.id),
        Credential::Jwt(t) => format!("jwt:{}", t.session.id),
        Credential::ApiKey(k) => format!("api_key:{}", k.prefix),
    }
}

/// `grants` limited to the permission codes `limit`: the listed permissions held (a
/// superuser holds them all), and no roles.
pub(crate) fn limited(grants: &Grants, limit: &[String], superuser: bool) -> Grants {
    Grants {
        roles: Default::default(),
        permissions: limit
            .iter()
            .filter(|code| superuser || grants.has_permission(code))
            .cloned()
            .collect(),
    }
}
