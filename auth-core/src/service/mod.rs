//! `AuthService`: routes register / login / logout to the backend named by `platform`,
//! manages sessions, and runs the lifecycle hooks.
//!
//! One module per flow: [`register`](AuthService::register), login and logout, password
//! change, recovery (forgot / reset), e-mail verification, and the background account
//! mail. This module holds the service, its builder, and what the flows share (the audit
//! helper, the password check, the backend lookup, the attempt reservation).
//!
//! Every flow takes the [`Database`] (the pool) and checks a connection out for each
//! database step only: no pooled connection is held while a password is hashed, while a
//! backend talks to an upstream server, while a mail goes out, or while a hook runs.

pub mod admin;
pub mod backend;
mod credentials;

mod email_change;
mod hooks;
mod identities;
mod login;
mod mail;
mod mfa;
#[cfg(feature = "oauth")]
mod oauth;
#[cfg(feature = "passkeys")]
mod passkeys;
mod password_change;
mod purge;
mod recovery;
mod register;
mod tokens;
mod verification;

pub use crate::authority::{Actor, ClientInfo};
pub use credentials::{
    ApiKeyRequest, CreatedApiKey, MAX_KEY_DAYS, MAX_KEY_NAME, MAX_KEY_PERMISSIONS,
};
pub use hooks::{Hooks, NoHooks};
pub use login::{LoggedIn, LoginOutcome, MfaChallenge};
pub use mfa::{MfaLogin, MfaProof, MfaStatus};
#[cfg(feature = "oauth")]
pub use oauth::{OAuthCallback, OAuthOutcome, OAuthStart};
#[cfg(feature = "passkeys")]
pub use passkeys::{CeremonyStart, PASSKEY_PLATFORM};
pub use purge::Purged;
pub use tokens::{JWT_PLATFORM, TokenPair};

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use tokio_util::task::TaskTracker;

use crate::account_mail::AccountMail;
use crate::account_token::TokenConfig;
use crate::audit::{AuditLog, EventType, NewEvent};
use crate::backend::{AuthBackend, AuthError, PasswordBackend};
use crate::db::{Database, DbConn};
use crate::jwt::{Jwt, JwtConfig};
use crate::mfa::MfaConfig;
use crate::password::{self, HashLimits, PasswordHasher};
use crate::password_policy::PasswordPolicy;
use crate::session::{self, Session, SessionConfig};
use crate::throttle::{self, MailThrottleConfig, Reservation, Reserved, Scope, ThrottleConfig};
use crate::user::UserStore;

use mail::MailQueue;

/// The platform name of the password backend.
pub const DEFAULT_PLATFORM: &str = "default";

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
    mail_throttle: MailThrottleConfig,
    queue: Arc<MailQueue>,
    tasks: TaskTracker,
    policy: Arc<PasswordPolicy>,
    jwt: Option<Arc<Jwt>>,
    mfa: Option<Arc<MfaConfig>>,
    login_by_email: bool,
    keep_api_keys_on_reset: bool,
    first_password_by_reset: bool,
    rejections: crate::protection::rejections::RejectionLimiter,
    #[cfg(feature = "passkeys")]
    webauthn: Option<crate::passkey::WebauthnConfig>,
    #[cfg(feature = "oauth")]
    oauth: Option<Arc<oauth::OAuthRuntime>>,
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
            mail_throttle: self.mail_throttle.clone(),
            queue: self.queue.clone(),
            tasks: self.tasks.clone(),
            policy: self.policy.clone(),
            jwt: self.jwt.clone(),
            mfa: self.mfa.clone(),
            login_by_email: self.login_by_email,
            keep_api_keys_on_reset: self.keep_api_keys_on_reset,
            first_password_by_reset: self.first_password_by_reset,
            rejections: self.rejections.clone(),
            #[cfg(feature = "passkeys")]
            webauthn: self.webauthn.clone(),
            #[cfg(feature = "oauth")]
            oauth: self.oauth.clone(),
        }
    }
}

impl<U: UserStore> std::fmt::Debug for AuthService<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut platforms: Vec<&String> = self.backends.keys().collect();
        platforms.sort();
        let mut f = f.debug_struct("AuthService");
        f.field("platforms", &platforms)
            .field("hasher", &self.hasher)
            .field("sessions", &self.sessions)
            .field("throttle", &self.throttle)
            .field("tokens", &self.tokens)
            .field("audit", &self.audit)
            .field("mail", &self.mail)
            .field("mail_throttle", &self.mail_throttle)
            .field("mail_queue", &self.queue.capacity())
            .field("password_policy", &self.policy)
            .field("jwt", &self.jwt.as_ref().map(|j| j.config()))
            .field("mfa", &self.mfa)
            .field("login_by_email", &self.login_by_email);
        #[cfg(feature = "passkeys")]
        f.field("webauthn", &self.webauthn);
        #[cfg(feature = "oauth")]
        f.field("oauth", &self.oauth);
        f.finish_non_exhaustive()
    }
}

/// Builds an [`AuthService`]: backends by platform, hooks, hashing cost and concurrency,
/// session lifetimes, throttling, account mail, password policy.
pub struct AuthServiceBuilder<U: UserStore> {
    backends: HashMap<String, Arc<dyn AuthBackend<U>>>,
    hooks: Arc<dyn Hooks<U>>,
    cost: u32,
    hash_permits: Option<usize>,
    hash_queue: Option<usize>,
    sessions: SessionConfig,
    throttle: ThrottleConfig,
    mail_throttle: MailThrottleConfig,
    tokens: TokenConfig,
    audit: AuditLog,
    mail: Option<AccountMail>,
    mail_queue: usize,
    policy: PasswordPolicy,
    jwt: Option<JwtConfig>,
    mfa: Option<MfaConfig>,
    login_by_email: bool,
    keep_api_keys_on_reset: bool,
    first_password_by_reset: bool,
    rejection_interval: std::time::Duration,
    #[cfg(feature = "passkeys")]
    webauthn: Option<crate::passkey::WebauthnConfig>,
    #[cfg(feature = "oauth")]
    oauth: Option<Arc<oauth::OAuthRuntime>>,
}

impl<U: UserStore> Default for AuthServiceBuilder<U> {
    fn default() -> Self {
        AuthServiceBuilder {
            backends: HashMap::new(),
            hooks: Arc::new(NoHooks),
            cost: password::DEFAULT_BCRYPT_COST,
            hash_permits: None,
            hash_queue: None,
            sessions: SessionConfig::default(),
            throttle: ThrottleConfig::default(),
            mail_throttle: MailThrottleConfig::default(),
            tokens: TokenConfig::default(),
            audit: AuditLog::default(),
            mail: None,
            mail_queue: mail::DEFAULT_MAIL_QUEUE,
            policy: PasswordPolicy::default(),
            jwt: None,
            #[cfg(feature = "passkeys")]
            webauthn: None,
            #[cfg(feature = "oauth")]
            oauth: None,
            mfa: None,
            login_by_email: false,
            keep_api_keys_on_reset: false,
            first_password_by_reset: false,
            rejection_interval: crate::protection::rejections::DEFAULT_INTERVAL,
        }
    }
}

impl<U: UserStore> AuthServiceBuilder<U> {
    /// Whether a password set without the old one (a reset, an administrator's or the
    /// command line's) leaves the user's API keys working. Default `false`: such a
    /// password ends every session AND every API key, so that a recovery evicts whoever
    /// held the account (a key made with a stolen session included).
    pub fn keep_api_keys_on_reset(mut self, keep: bool) -> Self {
        self.keep_api_keys_on_reset = keep;
        self
    }

    /// Whether `forgot-password` mails a reset link to a user who has no local password (a
    /// user an LDAP directory or an identity provider created), letting them set a first
    /// one. Default `false`: their directory or provider stays their one way in, and the
    /// request answers 202 as always, sending nothing.
    pub fn first_password_by_reset(mut self, allow: bool) -> Self {
        self.first_password_by_reset = allow;
        self
    }

    /// At most one `bearer.rejected` audit row per client (an IP, an IPv6 /64) in this
    /// interval; the next row counts the refusals left out (`detail.suppressed`). Default
    /// 60 s; zero writes every refusal. The limiter remembers at most 10,000 clients.
    pub fn rejection_log_interval(mut self, interval: std::time::Duration) -> Self {
        self.rejection_interval = interval;
        self
    }

    /// bcrypt cost of the default password backend (default 12).
    pub fn bcrypt_cost(mut self, cost: u32) -> Self {
        self.cost = cost;
        self
    }

    /// How many password hashes (or verifications) run at once. Default: the number of
    /// cores ([`std::thread::available_parallelism`]). See [`HashLimits`].
    pub fn hash_permits(mut self, permits: usize) -> Self {
        self.hash_permits = Some(permits.max(1));
        self
    }

    /// How many hashes may wait for a permit; past that a request needing a hash is
    /// refused at once (503 `busy` with `Retry-After`). Default: 32 per permit. See
    /// [`HashLimits`].
    pub fn hash_queue(mut self, queue: usize) -> Self {
        self.hash_queue = Some(queue);
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

    /// Limits on account mail per account and per client IP (default: see
    /// [`MailThrottleConfig`]).
    pub fn mail_throttle(mut self, config: MailThrottleConfig) -> Self {
        self.mail_throttle = config;
        self
    }

    /// How many account mails may wait to be sent (default 1024). When the queue is full a
    /// new mail is dropped with a warning in the log; the answer does not change.
    pub fn mail_queue(mut self, capacity: usize) -> Self {
        self.mail_queue = capacity.max(1);
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

    /// Token logins: `POST token`, `token/refresh`, `token/revoke` and `POST login` with
    /// `platform: "jwt"` answer a JWT access token and a refresh token signed and verified
    /// with `config`'s keys (see [`crate::jwt`]). Off by default.
    pub fn jwt(mut self, config: JwtConfig) -> Self {
        self.jwt = Some(config);
        self
    }

    /// Passkeys (WebAuthn): the `passkeys/*` routes run their ceremonies for this relying
    /// party. Off by default: without it they answer [`AuthError::PasskeysNotConfigured`].
    #[cfg(feature = "passkeys")]
    pub fn webauthn(mut self, config: crate::passkey::WebauthnConfig) -> Self {
        self.webauthn = Some(config);
        self
    }

    /// Multi-factor authentication: `POST mfa/totp/setup` and the routes after it work,
    /// TOTP secrets are encrypted with `config.key`. Off by default (the MFA routes then
    /// answer 501 `not_configured`). Users who turned MFA on always get the login's
    /// second step, configured or not (backup codes still work without the key).
    pub fn mfa(mut self, config: MfaConfig) -> Self {
        self.mfa = Some(config);
        self
    }

    /// Login through OpenID Connect and OAuth2 providers (`GET oauth/{provider}/authorize`
    /// and its callback, `GET identities`). An error when a provider's client cannot be
    /// set up (its redirect URI does not parse, the TLS roots do not load).
    #[cfg(feature = "oauth")]
    pub fn oauth(mut self, config: crate::oauth::OAuthConfig) -> Result<Self, crate::Error> {
        self.oauth = Some(oauth::OAuthRuntime::new(config)?);
        Ok(self)
    }

    /// Login by account or e-mail (off by default). With `true`, `POST login` and
    /// `POST token` accept the user's e-mail address in `account`: the password backend
    /// the service registers looks a text holding `@` up by e-mail address when no account
    /// has that name ([`PasswordBackend::with_login_by_email`]; the address must match as
    /// stored). The no-enumeration guarantees hold: an address that names nobody costs
    /// the same verification and gets the same 401 `invalid_credentials` as an unknown
    /// account. Throttling counts an attempt against the account the text names, however
    /// it was named (the account name, or the account of the address), and against the
    /// text itself when it names nobody: alternating between a user's name and address
    /// gets no more attempts than the account limit. Off, an address is just an account
    /// name that nobody has.
    pub fn login_by_email(mut self, on: bool) -> Self {
        self.login_by_email = on;
        self
    }

    /// The service. The password backend is registered as `default` unless another backend
    /// took that name; it shares the service's hasher, hence its hashing limits.
    pub fn build(mut self) -> AuthService<U> {
        let mut limits = HashLimits::with_permits(
            self.hash_permits
                .unwrap_or_else(|| HashLimits::default().permits),
        );
        if let Some(queue) = self.hash_queue {
            limits.queue = queue;
        }
        let hasher = PasswordHasher::with_limits(self.cost, limits);
        if !self.backends.contains_key(DEFAULT_PLATFORM) {
            self.backends.insert(
                DEFAULT_PLATFORM.to_owned(),
                Arc::new(
                    PasswordBackend::new(hasher.clone()).with_login_by_email(self.login_by_email),
                ),
            );
        }
        let tasks = TaskTracker::new();
        AuthService {
            backends: Arc::new(self.backends),
            hooks: self.hooks,
            hasher,
            sessions: self.sessions,
            throttle: self.throttle,
            tokens: self.tokens,
            audit: self.audit,
            mail: self.mail,
            mail_throttle: self.mail_throttle,
            queue: Arc::new(MailQueue::new(self.mail_queue, tasks.clone())),
            tasks,
            policy: Arc::new(self.policy),
            jwt: self.jwt.map(|config| Arc::new(Jwt::new(config))),
            mfa: self.mfa.map(Arc::new),
            login_by_email: self.login_by_email,
            keep_api_keys_on_reset: self.keep_api_keys_on_reset,
            first_password_by_reset: self.first_password_by_reset,
            rejections: crate::protection::rejections::RejectionLimiter::new(
                self.rejection_interval,
            ),
            #[cfg(feature = "passkeys")]
            webauthn: self.webauthn,
            #[cfg(feature = "oauth")]
            oauth: self.oauth,
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

    /// Sudo mode: `actor` is the user `user_id` acting through a login whose last proof
    /// of identity is within [`SessionConfig::sudo_window`] ([`Actor::sudo`]). The
    /// services that add or remove a way into the account (API keys, passkeys, TOTP,
    /// external identities) check it; an application's own sensitive routes may too.
    pub fn sudo<'a>(&self, actor: &'a Actor, user_id: i64) -> Result<&'a Session, AuthError> {
        actor.sudo(user_id, self.sessions.sudo_window, session::now())
    }

    /// Login throttling limits.
    pub fn throttle_config(&self) -> &ThrottleConfig {
        &self.throttle
    }

    /// Account-mail limits.
    pub fn mail_throttle_config(&self) -> &MailThrottleConfig {
        &self.mail_throttle
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

    /// Records the refusal of a credential (`bearer.rejected`), unless one was recorded
    /// for the same client within the rejection interval
    /// ([`AuthServiceBuilder::rejection_log_interval`]): a flood of bad tokens writes a
    /// bounded number of rows, each saying how many refusals it stands for.
    pub async fn record_rejection(
        &self,
        conn: &mut DbConn,
        event: NewEvent,
    ) -> Result<(), AuthError> {
        let Some(suppressed) = self
            .rejections
            .admit(event.ip.as_deref(), std::time::Instant::now())
        else {
            return Ok(());
        };
        let mut event = event;
        if suppressed > 0
            && let serde_json::Value::Object(map) = &mut event.detail
        {
            map.insert("suppressed".into(), suppressed.into());
        }
        self.record(conn, event).await
    }

    /// Records `event` about `user` from `client`, with `detail` (the one shape most flows,
    /// and the routes acting on the caller's own account, audit).
    pub async fn audit_user(
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

    /// The account name a login typed as `typed` counts against: with login by e-mail on
    /// and a text holding `@`, the account of the user it names (by name or by address,
    /// as the password backend reads it), so that a user's name and address share one
    /// counter; otherwise, or when it names nobody, the text itself. Nothing is looked up
    /// when throttling is off.
    pub(super) async fn throttle_account<'a>(
        &self,
        db: &Database,
        typed: &'a str,
    ) -> Result<std::borrow::Cow<'a, str>, AuthError> {
        if !self.login_by_email || !self.throttle.enabled || !typed.contains('@') {
            return Ok(typed.into());
        }
        let mut conn = db.conn().await?;
        Ok(
            match crate::user::find_by_account_or_email::<U>(&mut conn, typed).await? {
                Some(user) => user.account().to_owned().into(),
                None => typed.into(),
            },
        )
    }

    /// The login throttle keys of `account` from `client`: the account name and the IP,
    /// each with its limit.
    pub(super) fn login_keys(
        &self,
        account: &str,
        client: &ClientInfo,
    ) -> Vec<(throttle::Key, u32)> {
        let mut keys = vec![(throttle::Key::account(account), self.throttle.account_limit)];
        if let Some(ip) = &client.ip {
            keys.push((throttle::Key::ip(ip), self.throttle.ip_limit));
        }
        keys
    }

    /// Reserves one attempt on `keys` before a password is checked (nothing when
    /// throttling is off). A locked key makes it [`AuthError::Throttled`], audited as
    /// `failure` with reason `throttled`.
    pub(super) async fn reserve_attempt(
        &self,
        db: &Database,
        keys: &[(throttle::Key, u32)],
        failure: impl FnOnce() -> NewEvent,
    ) -> Result<Vec<Reserved>, AuthError> {
        if !self.throttle.enabled {
            return Ok(Vec::new());
        }
        let mut conn = db.conn().await?;
        match throttle::reserve(&mut conn, keys, &self.throttle).await? {
            Reservation::Granted(reserved) => Ok(reserved),
            Reservation::Throttled(retry_after) => {
                tracing::info!("attempt throttled");
                self.record(
                    &mut conn,
                    failure().detail(json!({
                        "reason": "throttled",
                        "retry_after": retry_after.as_secs(),
                    })),
                )
                .await?;
                Err(AuthError::Throttled { retry_after })
            }
        }
    }

    /// The attempt failed (a wrong password): the reservation stands; audits each lock it
    /// started.
    pub(super) async fn attempt_failed(
        &self,
        conn: &mut DbConn,
        reserved: &[Reserved],
        account: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        for r in reserved {
            let Some(lock) = r.lockout else { continue };
            tracing::warn!(
                scope = r.key.scope.as_str(),
                seconds = lock.cooldown.as_secs(),
                level = lock.level,
                "login lockout"
            );
            self.record(
                conn,
                client
                    .event(EventType::Lockout)
                    .account(account)
                    .detail(json!({
                        "scope": r.key.scope.as_str(),
                        "key": r.key.value,
                        "seconds": lock.cooldown.as_secs(),
                        "level": lock.level,
                    })),
            )
            .await?;
        }
        Ok(())
    }

    /// The attempt was not a failure: `success` (the password was right) clears the
    /// account's counter; otherwise (never checked, inactive account) every key gets its
    /// attempt back. The IP always gets its attempt back (one valid account must not reset
    /// the counter of the address an attacker guesses from).
    pub(super) async fn attempt_settled(
        &self,
        conn: &mut DbConn,
        reserved: &[Reserved],
        success: bool,
    ) -> Result<(), AuthError> {
        for r in reserved {
            if success && matches!(r.key.scope, Scope::Account | Scope::Mfa) {
                throttle::clear(conn, &r.key).await?;
            } else {
                throttle::refund(conn, r).await?;
            }
        }
        Ok(())
    }
}
