//! `AuthService`: routes register / login / logout to the backend named by `platform`,
//! manages sessions, and runs the lifecycle hooks.

use std::collections::HashMap;
use std::sync::Arc;

use crate::backend::{
    AuthBackend, AuthError, BoxFuture, LoginRequest, PasswordBackend, RegisterRequest,
};
use crate::db::DbConn;
use crate::password::{self, PasswordHasher};
use crate::password_policy::PasswordPolicy;
use crate::session::{self, NewSession, Session, SessionConfig};
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

/// Client details recorded with a session.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Client IP address.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
}

/// The authentication service for users of type `U`. Cheap to clone.
pub struct AuthService<U: UserStore> {
    backends: Arc<HashMap<String, Arc<dyn AuthBackend<U>>>>,
    hooks: Arc<dyn Hooks<U>>,
    hasher: PasswordHasher,
    sessions: SessionConfig,
    policy: Arc<PasswordPolicy>,
}

impl<U: UserStore> Clone for AuthService<U> {
    fn clone(&self) -> Self {
        AuthService {
            backends: self.backends.clone(),
            hooks: self.hooks.clone(),
            hasher: self.hasher.clone(),
            sessions: self.sessions.clone(),
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
    policy: PasswordPolicy,
}

impl<U: UserStore> Default for AuthServiceBuilder<U> {
    fn default() -> Self {
        AuthServiceBuilder {
            backends: HashMap::new(),
            hooks: Arc::new(NoHooks),
            hasher: PasswordHasher::default(),
            sessions: SessionConfig::default(),
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
        self.hooks.after_register(&user).await;
        Ok(user)
    }

    /// Authenticates and opens a new session (a new token every time: no fixation).
    /// Returns the user, the cookie token and the stored session.
    pub async fn login(
        &self,
        conn: &mut DbConn,
        platform: Option<&str>,
        req: &LoginRequest,
        client: &ClientInfo,
    ) -> Result<(U, String, Session), AuthError> {
        let name = platform.unwrap_or(DEFAULT_PLATFORM);
        let backend = self.backend(platform)?;
        let user = match backend.login(conn, req).await {
            Ok(user) => user,
            Err(e) => {
                tracing::info!(platform = name, reason = %e, "login refused");
                return Err(e);
            }
        };
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
        tracing::info!(
            user_id = user.id(),
            platform = name,
            session_id = session.id,
            "login"
        );
        self.hooks.after_login(&user, &session).await;
        Ok((user, token, session))
    }

    /// Ends the session of `token` on the server (a replayed cookie is then dead).
    pub async fn logout(
        &self,
        conn: &mut DbConn,
        user: &U,
        session: &Session,
    ) -> Result<(), AuthError> {
        session::delete_by_id(conn, session.id).await?;
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
        self.hooks.after_change_password(user).await;
        Ok(ended)
    }
}
