//! `AuthService`: routes register / login / logout to the backend named by `platform`,
//! manages sessions, and runs the lifecycle hooks.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use tokio_util::task::TaskTracker;

use crate::account_mail::AccountMail;
use crate::account_token::{self, Purpose, TokenConfig};
use crate::audit::{AuditLog, EventType, NewEvent};
use crate::backend::{
    AuthBackend, AuthError, BoxFuture, LoginRequest, PasswordBackend, RegisterRequest,
};
use crate::db::{Database, DbConn};
use crate::password::{self, PasswordHasher};
use crate::password_policy::PasswordPolicy;
use crate::session::{self, NewSession, Session, SessionConfig};
use crate::throttle::{self, ThrottleConfig};
use crate::user::UserStore;

/// The platform name of the password backend.
pub const DEFAULT_PLATFORM: &str = "default";

/// Lifecycle hooks. Every method has a no-op default; implement the ones you need.
/// Hooks run after the change is stored; an error from a hook is logged, not returned.
pub trait Hooks<U: UserStore>: Send + Sync + 'static {
    /// A user registered.
    fn after_register<'a>(&'a self, _user: &'a U) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// A user logged in and received `session`.
    fn after_login<'a>(&'a self, _user: &'a U, _session: &'a Session) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// A session ended by logout.
    fn after_logout<'a>(&'a self, _user_id: i64, _session: &'a Session) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// A user changed their password.
    fn after_change_password<'a>(&'a self, _user: &'a U) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// A password reset was requested.
    fn after_forgot_password<'a>(&'a self, _user: &'a U) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// A password was reset with a token.
    fn after_reset_password<'a>(&'a self, _user: &'a U) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// An e-mail address was verified.
    fn after_verify<'a>(&'a self, _user: &'a U) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// Hooks that do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl<U: UserStore> Hooks<U> for NoHooks {}

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

    /// Waits until every background task started so far (account mails) has finished:
    /// call it at shutdown so that no mail is lost, or in tests.
    pub async fn wait_background(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }

    fn mailer(&self) -> Result<AccountMail, AuthError> {
        self.mail.clone().ok_or(AuthError::MailNotConfigured)
    }

    /// Runs `work` in the background; its error is logged (it has no one to go to).
    fn background(
        &self,
        what: &'static str,
        work: impl std::future::Future<Output = Result<(), AuthError>> + Send + 'static,
    ) {
        self.tasks.spawn(async move {
            if let Err(e) = work.await {
                tracing::warn!(error = %e, task = what, "account mail failed");
            }
        });
    }

    /// Starts a password reset for `identifier` (an account name, or an e-mail address)
    /// and returns at once, before any lookup: the answer and its timing are the same
    /// whether or not the account exists. In the background, an active user found by
    /// account (or else by e-mail) who has an address gets a mail with a single-use reset
    /// link; nothing happens otherwise.
    pub fn forgot_password(
        &self,
        db: &Database,
        identifier: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let mail = self.mailer()?;
        let (this, db, identifier, client) = (
            self.clone(),
            db.clone(),
            identifier.to_owned(),
            client.clone(),
        );
        self.background("password reset", async move {
            this.send_reset(&db, &mail, &identifier, &client).await
        });
        Ok(())
    }

    async fn send_reset(
        &self,
        db: &Database,
        mail: &AccountMail,
        identifier: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if identifier.contains('\0') {
            return Ok(());
        }
        let mut conn = db.conn().await?;
        let mut user = U::find_by_account(&mut conn, identifier).await?;
        if user.is_none() && identifier.contains('@') {
            user = U::find_by_email(&mut conn, identifier).await?;
        }
        let Some(user) = user.filter(|u| u.is_active()) else {
            return Ok(());
        };
        let Some(email) = user.email().filter(|e| !e.is_empty()) else {
            return Ok(());
        };
        let ttl = self.tokens.reset_ttl;
        let token = account_token::issue(
            &mut conn,
            Purpose::PasswordReset,
            user.id(),
            Some(email),
            ttl,
        )
        .await?;
        mail.sender
            .send(&mail.reset(email, user.account(), &token, ttl))
            .await
            .map_err(AuthError::Mail)?;
        self.record(
            &mut conn,
            client
                .event(EventType::PasswordResetRequested)
                .user(user.id(), user.account())
                .detail(json!({ "email": email })),
        )
        .await?;
        self.hooks.after_forgot_password(&user).await;
        Ok(())
    }

    /// Mails `user` a verification link (in the background). Refused when the user has
    /// no e-mail address; a no-op when it is already verified.
    pub fn request_verify(
        &self,
        db: &Database,
        user: &U,
        client: &ClientInfo,
    ) -> Result<bool, AuthError> {
        let mail = self.mailer()?;
        if user.email().is_none_or(str::is_empty) {
            return Err(AuthError::Invalid(
                "email: the account has no e-mail address to verify".into(),
            ));
        }
        if user.is_verified() {
            return Ok(false);
        }
        let (this, db, user_id, client) = (self.clone(), db.clone(), user.id(), client.clone());
        self.background("verification", async move {
            this.send_verify(&db, &mail, user_id, &client).await
        });
        Ok(true)
    }

    async fn send_verify(
        &self,
        db: &Database,
        mail: &AccountMail,
        user_id: i64,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let mut conn = db.conn().await?;
        let Some(user) = U::find_by_id(&mut conn, user_id).await? else {
            return Ok(());
        };
        let Some(email) = user.email().filter(|e| !e.is_empty()) else {
            return Ok(());
        };
        let ttl = self.tokens.verify_ttl;
        let token =
            account_token::issue(&mut conn, Purpose::VerifyEmail, user.id(), Some(email), ttl)
                .await?;
        mail.sender
            .send(&mail.verify(email, user.account(), &token, ttl))
            .await
            .map_err(AuthError::Mail)?;
        self.record(
            &mut conn,
            client
                .event(EventType::VerifyRequested)
                .user(user.id(), user.account())
                .detail(json!({ "email": email })),
        )
        .await?;
        Ok(())
    }

    /// After a registration: mails the new user a verification link when account mail is
    /// configured and the user has an unverified address; does nothing otherwise.
    pub fn mail_verification_to_new(
        &self,
        db: &Database,
        user: &U,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if self.mail.is_some() && user.email().is_some() && !user.is_verified() {
            self.request_verify(db, user, client)?;
        }
        Ok(())
    }

    /// Registration that reveals nothing about existing accounts: a taken account name or
    /// address is not an error. The new user (when there is one) gets a verification mail;
    /// the owner of a taken account gets a notice instead. Either way the caller answers
    /// alike. Errors that do not depend on existing accounts (bad input, password policy)
    /// are returned as usual.
    pub async fn register_quietly(
        &self,
        conn: &mut DbConn,
        db: &Database,
        platform: Option<&str>,
        req: &RegisterRequest,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        match self.register(conn, platform, req).await {
            Ok(user) => {
                self.mail_verification_to_new(db, &user, client)?;
                Ok(())
            }
            Err(AuthError::Storage(crate::Error::Conflict { .. })) => {
                if let Some(mail) = self.mail.clone() {
                    let (db, account, email) = (db.clone(), req.account.clone(), req.email.clone());
                    self.background("registration notice", async move {
                        let mut conn = db.conn().await?;
                        let mut user = U::find_by_account(&mut conn, &account).await?;
                        if user.is_none()
                            && let Some(email) = &email
                        {
                            user = U::find_by_email(&mut conn, email).await?;
                        }
                        if let Some(user) = user
                            && let Some(to) = user.email().filter(|e| !e.is_empty())
                        {
                            mail.sender
                                .send(&mail.already_registered(to, user.account()))
                                .await
                                .map_err(AuthError::Mail)?;
                        }
                        Ok(())
                    });
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Records an audit event (and calls the audit hook).
    pub async fn record(&self, conn: &mut DbConn, event: NewEvent) -> Result<(), AuthError> {
        self.audit.record(conn, event).await?;
        Ok(())
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

    fn backend(&self, platform: Option<&str>) -> Result<&Arc<dyn AuthBackend<U>>, AuthError> {
        let platform = platform.unwrap_or(DEFAULT_PLATFORM);
        self.backends
            .get(platform)
            .ok_or_else(|| AuthError::UnknownPlatform(platform.chars().take(64).collect()))
    }

    /// Creates a user through the platform's backend, after checking the password with
    /// [`AuthService::check_password`].
    pub async fn register(
        &self,
        conn: &mut DbConn,
        platform: Option<&str>,
        req: &RegisterRequest,
    ) -> Result<U, AuthError> {
        let backend = self.backend(platform)?;
        self.check_password(&req.account, &req.password)?;
        let user = backend.register(conn, req).await?;
        tracing::info!(user_id = user.id(), "user registered");
        self.record(
            conn,
            NewEvent::new(EventType::Registered).user(user.id(), user.account()),
        )
        .await?;
        self.hooks.after_register(&user).await;
        Ok(user)
    }

    /// Authenticates and opens a new session (a new token every time: no fixation).
    /// Returns the user, the cookie token and the stored session.
    ///
    /// Throttled first: while the account name or the client IP is locked, the answer is
    /// [`AuthError::Throttled`] without checking the password. A refused password counts
    /// against both (the same work whether or not the account exists); a success clears
    /// the account's counter. Every outcome is audited, and a success from an IP or user
    /// agent the user never logged in from is also recorded as `login.new_device`.
    pub async fn login(
        &self,
        conn: &mut DbConn,
        platform: Option<&str>,
        req: &LoginRequest,
        client: &ClientInfo,
    ) -> Result<(U, String, Session), AuthError> {
        let name = platform.unwrap_or(DEFAULT_PLATFORM);
        let backend = self.backend(platform)?;
        let mut keys = vec![throttle::Key::account(&req.account)];
        if let Some(ip) = &client.ip {
            keys.push(throttle::Key::ip(ip));
        }
        if self.throttle.enabled
            && let Some(retry_after) = throttle::retry_after(conn, &keys).await?
        {
            tracing::info!(platform = name, "login throttled");
            self.record(
                conn,
                client
                    .event(EventType::LoginFailure)
                    .account(&req.account)
                    .detail(json!({ "reason": "throttled", "retry_after": retry_after.as_secs() })),
            )
            .await?;
            return Err(AuthError::Throttled { retry_after });
        }
        let user = match backend.login(conn, req).await {
            Ok(user) => user,
            Err(e) => {
                tracing::info!(platform = name, reason = %e, "login refused");
                let reason = match &e {
                    AuthError::InvalidCredentials => "invalid_credentials",
                    AuthError::Inactive => "inactive",
                    _ => "error",
                };
                if matches!(e, AuthError::InvalidCredentials) {
                    self.count_failure(conn, &keys, &req.account, client)
                        .await?;
                }
                if !matches!(e, AuthError::Storage(_)) {
                    self.record(
                        conn,
                        client
                            .event(EventType::LoginFailure)
                            .account(&req.account)
                            .detail(json!({ "reason": reason, "platform": name })),
                    )
                    .await?;
                }
                return Err(e);
            }
        };
        if self.throttle.enabled {
            throttle::clear(conn, &keys[0]).await?;
        }
        let (token, session) = session::create(
            conn,
            NewSession {
                user_id: user.id(),
                platform: name,
                ip: client.ip.as_deref(),
                user_agent: client.user_agent.as_deref(),
                session_info: Some(backend.session_info(&user)),
            },
            &self.sessions,
        )
        .await?;
        U::record_login(conn, user.id(), session.created_at).await?;
        // Read back, so that what the caller returns shows this login in `last_login`.
        let user = U::find_by_id(conn, user.id()).await?.unwrap_or(user);
        let seen = crate::audit::familiarity(
            conn,
            user.id(),
            client.ip.as_deref(),
            client.user_agent.as_deref(),
        )
        .await?;
        self.record(
            conn,
            client
                .event(EventType::LoginSuccess)
                .user(user.id(), user.account())
                .detail(json!({ "platform": name, "session_id": session.id })),
        )
        .await?;
        if seen.any_before && (!seen.ip_seen || !seen.user_agent_seen) {
            self.record(
                conn,
                client
                    .event(EventType::NewDevice)
                    .user(user.id(), user.account())
                    .detail(json!({
                        "new_ip": !seen.ip_seen,
                        "new_user_agent": !seen.user_agent_seen,
                    })),
            )
            .await?;
        }
        tracing::info!(
            user_id = user.id(),
            platform = name,
            session_id = session.id,
            "login"
        );
        self.hooks.after_login(&user, &session).await;
        Ok((user, token, session))
    }

    /// Counts a refused password against the account name and the client IP, auditing
    /// each lock it starts.
    async fn count_failure(
        &self,
        conn: &mut DbConn,
        keys: &[throttle::Key],
        account: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if !self.throttle.enabled {
            return Ok(());
        }
        for key in keys {
            let limit = match key.scope {
                throttle::Scope::Account => self.throttle.account_limit,
                throttle::Scope::Ip => self.throttle.ip_limit,
            };
            if let Some(lock) = throttle::record_failure(conn, key, limit, &self.throttle).await? {
                tracing::warn!(
                    scope = key.scope.as_str(),
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
                            "scope": key.scope.as_str(),
                            "key": key.value,
                            "seconds": lock.cooldown.as_secs(),
                            "level": lock.level,
                        })),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Ends the session of `token` on the server (a replayed cookie is then dead).
    pub async fn logout(
        &self,
        conn: &mut DbConn,
        user: &U,
        session: &Session,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        session::delete_by_id(conn, session.id).await?;
        self.record(
            conn,
            client
                .event(EventType::Logout)
                .user(user.id(), user.account())
                .detail(json!({ "session_id": session.id })),
        )
        .await?;
        if let Ok(backend) = self.backend(Some(&session.platform))
            && let Err(e) = backend.logout(user, session).await
        {
            tracing::warn!(error = %e, "backend logout hook failed");
        }
        tracing::info!(user_id = user.id(), session_id = session.id, "logout");
        self.hooks.after_logout(user.id(), session).await;
        Ok(())
    }

    /// Changes a password after checking the old one and the new one
    /// ([`AuthService::check_password`]), and ends the user's other sessions.
    pub async fn change_password(
        &self,
        conn: &mut DbConn,
        user: &mut U,
        old_password: &str,
        new_password: &str,
        current_session: Option<i64>,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        if !self
            .hasher
            .verify(old_password, user.password_hash())
            .await
            .unwrap_or(false)
        {
            return Err(AuthError::InvalidCredentials);
        }
        self.check_password(user.account(), new_password)?;
        let hash = self.hasher.hash(new_password).await?;
        user.set_password_hash(hash);
        user.update(conn).await?;
        let ended = session::delete_for_user(conn, user.id(), current_session).await?;
        tracing::info!(
            user_id = user.id(),
            ended_sessions = ended,
            "password changed"
        );
        self.record(
            conn,
            client
                .event(EventType::PasswordChanged)
                .user(user.id(), user.account())
                .detail(json!({ "ended_sessions": ended })),
        )
        .await?;
        self.hooks.after_change_password(user).await;
        Ok(ended)
    }

    /// Sets a new password with a reset token (single use): every session of the user
    /// ends, their other reset tokens die, and the account's login lock is cleared.
    pub async fn reset_password(
        &self,
        conn: &mut DbConn,
        token: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<U, AuthError> {
        // Check the token before spending a hash on the password; use it up only when the
        // password is acceptable, so a refused password does not burn the mail.
        let peeked = account_token::peek(conn, Purpose::PasswordReset, token).await?;
        let user = U::find_by_id(conn, peeked.user_id).await?;
        let Some(mut user) = user else {
            return Err(account_token::TokenError::Invalid.into());
        };
        self.check_password(user.account(), new_password)?;
        let hash = self.hasher.hash(new_password).await?;
        account_token::redeem(conn, Purpose::PasswordReset, token).await?;
        user.set_password_hash(hash);
        user.update(conn).await?;
        let ended = session::delete_for_user(conn, user.id(), None).await?;
        account_token::revoke_for_user(conn, user.id(), Purpose::PasswordReset).await?;
        throttle::clear(conn, &throttle::Key::account(user.account())).await?;
        tracing::info!(
            user_id = user.id(),
            ended_sessions = ended,
            "password reset"
        );
        self.record(
            conn,
            client
                .event(EventType::PasswordReset)
                .user(user.id(), user.account())
                .detail(json!({ "ended_sessions": ended })),
        )
        .await?;
        self.hooks.after_reset_password(&user).await;
        Ok(user)
    }

    /// Marks the user's e-mail address verified with a verification token (single use).
    /// A token mailed to an address the user has since changed is refused.
    pub async fn verify_email(
        &self,
        conn: &mut DbConn,
        token: &str,
        client: &ClientInfo,
    ) -> Result<U, AuthError> {
        let redeemed = account_token::redeem(conn, Purpose::VerifyEmail, token).await?;
        let Some(mut user) = U::find_by_id(conn, redeemed.user_id).await? else {
            return Err(account_token::TokenError::Invalid.into());
        };
        if redeemed.email.as_deref() != user.email() {
            return Err(account_token::TokenError::Invalid.into());
        }
        if !user.is_verified() {
            user.set_verified(true).map_err(AuthError::Invalid)?;
            user.update(conn).await?;
        }
        tracing::info!(user_id = user.id(), "e-mail verified");
        self.record(
            conn,
            client
                .event(EventType::Verified)
                .user(user.id(), user.account())
                .detail(json!({ "email": redeemed.email })),
        )
        .await?;
        self.hooks.after_verify(&user).await;
        Ok(user)
    }
}
