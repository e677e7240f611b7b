//! The audit log: an append-only table of auth events (`auth_events`) with a query API, and
//! a hook for alerts.
//!
//! Each row records when, what ([`EventType`]), which user and account name, the client's
//! IP and user agent, and a JSON detail. The framework records logins (success and
//! failure), logouts, lockouts, password changes and resets, verification, session
//! revocation, administrators' role, permission, group and user changes, and a login from
//! a device or IP not seen before for that user. Nothing in the crate updates or deletes a
//! row. Secrets never go in: no password, hash or token is ever part of an event.

use std::sync::Arc;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use serde_json::Value;
use time::PrimitiveDateTime;

use crate::backend::BoxFuture;
use crate::db::DbConn;
use crate::error::Result;
use crate::schema::auth_events as e;
use crate::session::now;
use crate::with_conn;

macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// The kinds of audit event. The stored name is the dotted string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EventType {
            $($(#[$doc])* $variant,)*
        }

        impl EventType {
            /// Every event type.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            /// The stored name, e.g. `login.success`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }

            /// The event type with this stored name.
            pub fn parse(name: &str) -> Option<EventType> {
                match name {
                    $($name => Some(EventType::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    /// A successful login.
    LoginSuccess = "login.success",
    /// A refused login (detail `reason`: `invalid_credentials`, `inactive`, `throttled`).
    LoginFailure = "login.failure",
    /// A successful login from an IP or user agent this user never logged in from before.
    NewDevice = "login.new_device",
    /// Too many failures locked an account name or an IP (detail: scope, key, seconds).
    Lockout = "lockout",
    /// An administrator cleared a lock.
    Unlock = "lockout.cleared",
    /// A logout.
    Logout = "logout",
    /// A password changed: the user changed their own, or an operator set it (detail `by`:
    /// `"cli"`).
    PasswordChanged = "password.changed",
    /// A password change was refused: the old password was wrong (detail `reason`:
    /// `invalid_credentials`), or the account or IP was locked (`throttled`). A wrong old
    /// password counts against the login throttle like a failed login.
    PasswordChangeFailed = "password.change_failed",
    /// A password-reset mail was sent.
    PasswordResetRequested = "password.reset_requested",
    /// A password was reset with a token.
    PasswordReset = "password.reset",
    /// A verification mail was sent.
    VerifyRequested = "email.verify_requested",
    /// An e-mail address was verified.
    Verified = "email.verified",
    /// A user's e-mail address changed (by the user, or by an administrator: detail `by`).
    EmailChanged = "email.changed",
    /// A user asked to change their e-mail address: a confirmation link went to the new
    /// address (detail `new`), which takes effect once the link is followed.
    EmailChangeRequested = "email.change_requested",
    /// A user's own e-mail change was refused: wrong current password (detail `reason`:
    /// `invalid_credentials` or `throttled`).
    EmailChangeFailed = "email.change_failed",
    /// A session was revoked by its user or an administrator.
    SessionRevoked = "session.revoked",
    /// A user registered.
    Registered = "user.registered",
    /// An administrator (detail `by`) created, changed, suspended, reactivated or deleted a
    /// user.
    UserChanged = "user.changed",
    /// Roles assigned to a user.
    RoleAssigned = "role.assigned",
    /// Roles taken from a user.
    RoleRevoked = "role.revoked",
    /// A role was created, renamed, re-parented or deleted.
    RoleChanged = "role.changed",
    /// Permissions granted to a role.
    PermissionGranted = "permission.granted",
    /// Permissions taken from a role.
    PermissionRevoked = "permission.revoked",
    /// A permission was created, changed or deleted.
    PermissionChanged = "permission.changed",
    /// A group, its members or its roles changed.
    GroupChanged = "group.changed",
    /// A user created an API key (detail: `key_id`, `name`, `prefix`, `permissions`).
    ApiKeyCreated = "api_key.created",
    /// An API key was revoked (detail: `key_id`).
    ApiKeyRevoked = "api_key.revoked",
    /// A user registered a passkey (detail: `passkey_id`, `name`).
    PasskeyAdded = "passkey.added",
    /// A user deleted one of their passkeys (detail: `passkey_id`).
    PasskeyRemoved = "passkey.removed",
    /// A bearer credential was refused (detail `kind`: `api_key`, `jwt` or `refresh`;
    /// `reason`: `unknown`, `expired`, `inactive`, `invalid`, `ended`; `prefix` of an API
    /// key). Accepted bearer requests are not logged.
    BearerRejected = "bearer.rejected",
    /// A refresh token was rotated (detail: `session_id`, the family).
    TokenRefreshed = "token.refreshed",
    /// A refresh token family was ended by `POST token/revoke` (detail: `session_id`).
    TokenRevoked = "token.revoked",
    /// A refresh token was presented after its use: its family was ended (detail:
    /// `session_id`).
    TokenReused = "token.reused",
    /// A password was right for a user with MFA: the login waits for the second factor
    /// (detail: `platform`, `methods`).
    MfaChallenged = "mfa.challenged",
    /// A second-factor code was refused (detail: `method`, `reason`: `invalid_code`,
    /// `throttled`; `step`: `login`, `confirm`, `disable`, `backup_codes`,
    /// `reauthenticate`).
    MfaFailure = "mfa.failure",
    /// A TOTP setup was started (a new secret; MFA is not on until confirmed).
    MfaSetupStarted = "mfa.setup_started",
    /// MFA was turned on by a confirmed TOTP code (backup codes issued).
    MfaEnabled = "mfa.enabled",
    /// MFA was turned off by the user (password and code) or reset by an administrator
    /// (detail: `by`).
    MfaDisabled = "mfa.disabled",
    /// The backup codes were regenerated.
    MfaBackupCodesRegenerated = "mfa.backup_codes_regenerated",
    /// A backup code was used (detail: `remaining`).
    MfaBackupCodeUsed = "mfa.backup_code_used",
    /// A session's user proved who they are again (detail: `session_id`, `method`).
    Reauthenticated = "session.reauthenticated",
    /// An external identity was linked to a user (detail: `provider`, `identity_id`, `by`:
    /// `login` for a first login that created the user, `email` for a verified address,
    /// `link` for a logged-in user's request).
    IdentityLinked = "identity.linked",
    /// A user unlinked one of their external identities (detail: `provider`,
    /// `identity_id`).
    IdentityUnlinked = "identity.unlinked",
    /// A first LDAP login created a local user linked to the directory entry (detail:
    /// `dn`).
    LdapUserCreated = "ldap.user_created",
    /// An LDAP login changed the user's roles from the directory's groups (detail:
    /// `assigned`, `revoked`: role names).
    LdapRolesSynced = "ldap.roles_synced",
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Who made a change on someone's behalf, recorded as `by` in the event's detail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum By {
    /// An administrator, through the admin endpoints: `{"id": .., "account": ..}`.
    Admin {
        /// The administrator's user id.
        id: i64,
        /// The administrator's account name.
        account: String,
    },
    /// The user the event concerns, on their own account: `"user"`.
    User,
    /// An operator at the command line ([`crate::cli`]): `"cli"`.
    Cli,
    /// The system actor of that name ([`crate::authority::Actor::system`]): the name.
    System(String),
}

impl By {
    /// The value stored as `by`.
    pub fn to_json(&self) -> Value {
        match self {
            By::Admin { id, account } => serde_json::json!({ "id": id, "account": account }),
            By::User => Value::from("user"),
            By::Cli => Value::from("cli"),
            By::System(name) => Value::from(name.as_str()),
        }
    }
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// What happened.
    pub event: EventType,
    /// The user it concerns, when known.
    pub user_id: Option<i64>,
    /// The account name (as typed, for failed logins of unknown accounts).
    pub account: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Details (a JSON object).
    pub detail: Value,
    /// The credential that acted (`session:<id>`, `api_key:<prefix>`, ...), stored in the
    /// detail as `credential`.
    pub credential: Option<String>,
}

impl NewEvent {
    /// An event of `event` with nothing else set.
    pub fn new(event: EventType) -> NewEvent {
        NewEvent {
            event,
            user_id: None,
            account: None,
            ip: None,
            user_agent: None,
            detail: Value::Object(Default::default()),
            credential: None,
        }
    }

    /// Names the credential that acted (stored in the detail as `credential`).
    pub fn credential(mut self, label: &str) -> NewEvent {
        self.credential = Some(label.to_owned());
        self
    }

    /// Sets the user.
    pub fn user(mut self, user_id: i64, account: &str) -> NewEvent {
        self.user_id = Some(user_id);
        self.account = Some(account.to_owned());
        self
    }

    /// Sets the account name alone (no known user).
    pub fn account(mut self, account: &str) -> NewEvent {
        self.account = Some(account.to_owned());
        self
    }

    /// Sets the client.
    pub fn client(mut self, ip: Option<&str>, user_agent: Option<&str>) -> NewEvent {
        self.ip = ip.map(str::to_owned);
        self.user_agent = user_agent.map(str::to_owned);
        self
    }

    /// Sets the detail object.
    pub fn detail(mut self, detail: Value) -> NewEvent {
        self.detail = detail;
        self
    }

    /// Adds `by` (who acted) to the detail; set the rest of the detail first. A detail
    /// that is neither an object nor null is kept under `detail`.
    pub fn by(mut self, by: &By) -> NewEvent {
        match std::mem::take(&mut self.detail) {
            Value::Object(map) => self.detail = Value::Object(map),
            Value::Null => self.detail = Value::Object(Default::default()),
            other => self.detail = serde_json::json!({ "detail": other }),
        }
        if let Value::Object(map) = &mut self.detail {
            map.insert("by".into(), by.to_json());
        }
        self
    }
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Row id (grows with time).
    pub id: i64,
    /// When (UTC).
    #[serde(with = "crate::timefmt")]
    pub created_at: PrimitiveDateTime,
    /// What happened (the stored name, e.g. `login.success`).
    pub event: String,
    /// The user it concerns.
    pub user_id: Option<i64>,
    /// The account name.
    pub account: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Details.
    pub detail: Value,
}

type Row = (
    i64,
    PrimitiveDateTime,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

fn from_row(row: Row) -> AuditEvent {
    let (id, created_at, event, user_id, account, ip, user_agent, detail) = row;
    AuditEvent {
        id,
        created_at,
        event,
        user_id,
        account,
        ip,
        user_agent,
        detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
    }
}

fn cut(s: Option<String>, max_chars: usize) -> Option<String> {
    s.map(|s| crate::db::storable_text(&s, max_chars))
}

/// Alerting on audit events: called after each event is stored. Run slow work (sending a
/// mail, calling a webhook) in a spawned task; the request waits for this call.
pub trait AuditHook: Send + Sync + 'static {
    /// An event was recorded.
    fn on_event<'a>(&'a self, event: &'a AuditEvent) -> BoxFuture<'a, ()>;
}

/// Writes events and notifies the hook. Cheap to clone.
#[derive(Clone, Default)]
pub struct AuditLog {
    hook: Option<Arc<dyn AuditHook>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl AuditLog {
    /// A log that calls `hook` after every event.
    pub fn with_hook(hook: impl AuditHook) -> AuditLog {
        AuditLog {
            hook: Some(Arc::new(hook)),
        }
    }

    /// Stores `event` and calls the hook.
    pub async fn record(&self, conn: &mut DbConn, event: NewEvent) -> Result<AuditEvent> {
        let stored = insert(conn, event).await?;
        tracing::info!(
            target: "auth::audit",
            event = %stored.event,
            user_id = stored.user_id,
            ip = stored.ip.as_deref(),
            "audit event"
        );
        if let Some(hook) = &self.hook {
            hook.on_event(&stored).await;
        }
        Ok(stored)
    }
}

/// Stores `event` (without calling any hook) and returns the row.
pub async fn insert(conn: &mut DbConn, event: NewEvent) -> Result<AuditEvent> {
    let mut event = event;
    if let Some(label) = event.credential.take() {
        match &mut event.detail {
            Value::Object(map) => {
                map.insert("credential".into(), Value::from(label));
            }
            Value::Null => event.detail = serde_json::json!({ "credential": label }),
            other => {
                event.detail = serde_json::json!({ "detail": other.take(), "credential": label })
            }
        }
    }
    let created_at = now();
    let account = cut(event.account, 191);
    let ip = cut(event.ip, 64);
    let user_agent = cut(event.user_agent, 512);
    let detail = event.detail.to_string();
    let name = event.event.as_str();
    let id: i64 = with_conn!(conn, |c| {
        diesel::insert_into(e::table)
            .values((
                e::created_at.eq(created_at),
                e::event.eq(name),
                e::user_id.eq(event.user_id),
                e::account.eq(&account),
                e::ip.eq(&ip),
                e::user_agent.eq(&user_agent),
                e::detail.eq(&detail),
            ))
            .execute(c)
            .await?;
        // The newest row with these values is ours (ids grow; the values include the
        // microsecond timestamp).
        e::table
            .filter(e::event.eq(name))
            .filter(e::created_at.eq(created_at))
            .order(e::id.desc())
            .select(e::id)
            .first(c)
            .await
    })?;
    Ok(AuditEvent {
        id,
        created_at,
        event: name.to_owned(),
        user_id: event.user_id,
        account,
        ip,
        user_agent,
        detail: event.detail,
    })
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this user's.
    pub user_id: Option<i64>,
    /// Only this type.
    pub event: Option<EventType>,
}

/// The events table filtered by an [`EventFilter`], as a boxed query for the connection
/// at hand (a macro: a boxed query's type names the backend).
macro_rules! filtered {
    ($filter:expr) => {{
        let filter: &EventFilter = $filter;
        let mut q = e::table.into_boxed();
        if let Some(user_id) = filter.user_id {
            q = q.filter(e::user_id.eq(user_id));
        }
        if let Some(event) = filter.event {
            q = q.filter(e::event.eq(event.as_str()));
        }
        q
    }};
}

/// The events matching `filter`, newest first, skipping `offset`, at most `limit`.
pub async fn list(
    conn: &mut DbConn,
    filter: &EventFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let rows: Vec<Row> = with_conn!(conn, |c| {
        filtered!(filter)
            .order(e::id.desc())
            .offset(offset)
            .limit(limit)
            .select((
                e::id,
                e::created_at,
                e::event,
                e::user_id,
                e::account,
                e::ip,
                e::user_agent,
                e::detail,
            ))
            .load(c)
            .await
    })?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// How many events match `filter`.
pub async fn count(conn: &mut DbConn, filter: &EventFilter) -> Result<i64> {
    Ok(with_conn!(conn, |c| {
        filtered!(filter).count().get_result(c).await
    })?)
}

/// What earlier successful logins of `user_id` say about this client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Familiarity {
    /// The user logged in successfully before.
    pub any_before: bool,
    /// From this IP (true when the IP is unknown).
    pub ip_seen: bool,
    /// With this user agent (true when it is unknown).
    pub user_agent_seen: bool,
}

/// Looks this client up in `user_id`'s earlier successful logins.
pub async fn familiarity(
    conn: &mut DbConn,
    user_id: i64,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<Familiarity> {
    let success = EventType::LoginSuccess.as_str();
    let ip = cut(ip.map(str::to_owned), 64);
    let user_agent = cut(user_agent.map(str::to_owned), 512);
    // One round trip: any earlier success, one from this IP, one with this user agent.
    let (any_before, ip_seen, user_agent_seen): (bool, bool, bool) = with_conn!(conn, |c| {
        let base = || {
            e::table
                .filter(e::user_id.eq(user_id))
                .filter(e::event.eq(success))
        };
        diesel::select((
            diesel::dsl::exists(base()),
            diesel::dsl::exists(base().filter(e::ip.eq(ip.as_deref().unwrap_or_default()))),
            diesel::dsl::exists(
                base().filter(e::user_agent.eq(user_agent.as_deref().unwrap_or_default())),
            ),
        ))
        .get_result(c)
        .await
    })?;
    // An unknown IP or user agent is never "new"; nor is anything on a first login.
    Ok(Familiarity {
        any_before,
        ip_seen: !any_before || ip.is_none() || ip_seen,
        user_agent_seen: !any_before || user_agent.is_none() || user_agent_seen,
    })
}
