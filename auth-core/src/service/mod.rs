//! `AuthService`: routes register / login / logout to the backend named by `platform`,
//! manages sessions, and runs the lifecycle hooks.
//!
//! One module per flow: [`register`](AuthService::register), login and logout, password
//! change, recovery (forgot / reset), e-mail verification, and the background account
//! mail. This module holds the service, its builder, and what the flows share (the audit
//! helper, the password check, the backend lookup).

mod email_change;
mod hooks;
mod login;
mod mail;
mod password_change;
mod recovery;
mod register;
mod verification;

pub use hooks::{Hooks, NoHooks};

use std::collections::HashMap;
use std::sync::Arc;

use tokio_util::task::TaskTracker;

use crate::account_mail::AccountMail;
use crate::account_token::TokenConfig;
use crate::audit::{AuditLog, EventType, NewEvent};
use crate::backend::{AuthBackend, AuthError, PasswordBackend};
use crate::db::DbConn;
use crate::password::{self, PasswordHasher};
use crate::password_policy::PasswordPolicy;
use crate::session::SessionConfig;
use crate::throttle::ThrottleConfig;
use crate::user::UserStore;

/// The platform name of the password backend.
pub const DEFAULT_PLATFORM: &str = "default";

/// Client details recorded with a session and in the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Client IP address.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    fn event(&self, event: EventType) -> NewEvent {
        NewEvent::new(event).client(self.ip.as_deref(), self.user_agent.as_deref())
    }
}

/// The authentication service for users of type `U`. Cheap to clone.
pub struct AuthService<U: UserStore> {
    backends: Arc<HashMap<String, Arc<dyn AuthBackend<U>>>>,
    hooks: Arc<dyn Hooks<U>>,
    hasher: PasswordHasher,
    sessions: SessionConfig,
    throttle: ThrottleConfig,
    tokens: TokenConfig,
    audit: AuditLog,
    mail: Option<AccountMail>,
    tasks: TaskTracker,
    policy: Arc<PasswordPolicy>,
}

impl<U: UserStore> Clone for AuthService<U> {
    fn clone(&self) -> Self {
        AuthService {
            backends: self.backends.clone(),
            hooks: self.hooks.clone(),
            hasher: self.hasher.clone(),
            sessions: self.sessions.clone(),
            throttle: self.throttle.clone(),
            tokens: self.tokens.clone(),
            audit: self.audit.clone(),
            mail: self.mail.clone(),
            tasks: self.tasks.clone(),
            policy: self.policy.clone(),
        }
    }
}

impl<U: UserStore> std::fmt::Debug for AuthService<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut platforms: Vec<&String> = self.backends.keys().collect();
        platforms.sort();
        f.debug_struct("AuthService")
            .field("platforms", &platforms)
            .field("hasher", &self.hasher)
            .field("sessions", &self.sessions)
            .field("throttle", &self.throttle)
            .field("tokens", &self.tokens)
            .field("audit", &self.audit)
            .field("mail", &self.mail)
            .field("password_policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Builds an [`AuthService`]: backends by platform, hooks, hashing cost, session lifetimes,
/// password policy.
pub struct AuthServiceBuilder<U: UserStore> {
    backends: HashMap<String, Arc<dyn AuthBackend<U>>>,
    hooks: Arc<dyn Hooks<U>>,
    hasher: PasswordHasher,
    sessions: SessionConfig,
    throttle: ThrottleConfig,
    tokens: TokenConfig,
    audit: AuditLog,
    mail: Option<AccountMail>,
    policy: PasswordPolicy,
}

impl<U: UserStore> Default for AuthServiceBuilder<U> {
    fn default() -> Self {
        AuthServiceBuilder {
            backends: HashMap::new(),
            hooks: Arc::new(NoHooks),
            hasher: PasswordHasher::default(),
            sessions: SessionConfig::default(),
            throttle: ThrottleConfig::default(),
            tokens: TokenConfig::default(),
            audit: AuditLog::default(),
            mail: None,
            policy: PasswordPolicy::default(),
        }
    }
}

impl<U: UserStore> AuthServiceBuilder<U> {
    /// bcrypt cost of the default password backend (default 12).
    pub fn bcrypt_cost(mut self, cost: u32) -> Self {
        self.hasher = PasswordHasher::new(cost);
        self
    }

    /// Registers `backend` under `platform` (replacing any previous one).
    pub fn backend(mut self, platform: &str, backend: impl AuthBackend<U>) -> Self {
        self.backends.insert(platform.to_owned(), Arc::new(backend));
        self
    }

    /// Lifecycle hooks.
    pub fn hooks(mut self, hooks: impl Hooks<U>) -> Self {
        self.hooks = Arc::new(hooks);
        self
    }

    /// Session lifetimes.
    pub fn sessions(mut self, config: SessionConfig) -> Self {
        self.sessions = config;
        self
    }

    /// Login throttling limits (default: see [`ThrottleConfig`]).
    pub fn throttle(mut self, config: ThrottleConfig) -> Self {
        self.throttle = config;
        self
    }

    /// Lifetimes of password-reset and verification tokens.
    pub fn tokens(mut self, config: TokenConfig) -> Self {
        self.tokens = config;
        self
    }

    /// A hook called after every audit event (for alerts).
    pub fn audit_hook(mut self, hook: impl crate::audit::AuditHook) -> Self {
        self.audit = AuditLog::with_hook(hook);
        self
    }

    /// Account mail (password reset, verification). Without it, `forgot-password` and
    /// `request-verify` answer 501 `not_configured`.
    pub fn mail(mut self, mail: AccountMail) -> Self {
        self.mail = Some(mail);
        self
    }

    /// Which new passwords register and change-password accept (default
    /// [`PasswordPolicy::default`]; [`PasswordPolicy::none`] for no rules).
    pub fn password_policy(mut self, policy: PasswordPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The service. The password backend is registered as `default` unless another backend
    /// took that name.
    pub fn build(mut self) -> AuthService<U> {
        if !self.backends.contains_key(DEFAULT_PLATFORM) {
            self.backends.insert(
                DEFAULT_PLATFORM.to_owned(),
                Arc::new(PasswordBackend::new(self.hasher.clone())),
            );
        }
        AuthService {
            backends: Arc::new(self.backends),
            hooks: self.hooks,
            hasher: self.hasher,
            sessions: self.sessions,
            throttle: self.throttle,
            tokens: self.tokens,
            audit: self.audit,
            mail: self.mail,
            tasks: TaskTracker::new(),
            policy: Arc::new(self.policy),
        }
    }
}

impl<U: UserStore> AuthService<U> {
    /// A builder with the defaults.
    pub fn builder() -> AuthServiceBuilder<U> {
        AuthServiceBuilder::default()
    }

    /// The password hasher.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Session lifetimes.
    pub fn session_config(&self) -> &SessionConfig {
        &self.sessions
    }

    /// Login throttling limits.
    pub fn throttle_config(&self) -> &ThrottleConfig {
        &self.throttle
    }

    /// Token lifetimes.
    pub fn token_config(&self) -> &TokenConfig {
        &self.tokens
    }

    /// The account-mail configuration, if any.
    pub fn account_mail(&self) -> Option<&AccountMail> {
        self.mail.as_ref()
    }

    /// Records an audit event (and calls the audit hook).
    pub async fn record(&self, conn: &mut DbConn, event: NewEvent) -> Result<(), AuthError> {
        self.audit.record(conn, event).await?;
        Ok(())
    }

    /// Records `event` about `user` from `client`, with `detail` (the one shape most flows
    /// audit).
    pub(super) async fn audit_user(
        &self,
        conn: &mut DbConn,
        client: &ClientInfo,
        event: EventType,
        user: &U,
        detail: serde_json::Value,
    ) -> Result<(), AuthError> {
        self.record(
            conn,
            client
                .event(event)
                .user(user.id(), user.account())
                .detail(detail),
        )
        .await
    }

    /// The password policy.
    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// Whether `password` may become the password of `account`: the hasher's limits
    /// ([`AuthError::Password`]: over 72 bytes, NUL byte), then the password policy
    /// ([`AuthError::WeakPassword`]). Register and change-password call it; so should any
    /// other flow that sets a password (reset).
    pub fn check_password(&self, account: &str, password: &str) -> Result<(), AuthError> {
        password::ensure_hashable(password)?;
        self.policy.check(account, password)?;
        Ok(())
    }

    pub(super) fn backend(
        &self,
        platform: Option<&str>,
    ) -> Result<&Arc<dyn AuthBackend<U>>, AuthError> {
        let platform = platform.unwrap_or(DEFAULT_PLATFORM);
        self.backends
            .get(platform)
            .ok_or_else(|| AuthError::UnknownPlatform(platform.chars().take(64).collect()))
    }
}
