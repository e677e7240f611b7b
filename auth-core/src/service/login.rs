//! Login (throttled, audited, new-device detection, the MFA step) and logout.

use serde_json::json;
use time::PrimitiveDateTime;

use super::DEFAULT_PLATFORM;
use super::{Actor, AuthService, ClientInfo};
use crate::audit::EventType;
use crate::backend::AuthError;
use crate::backend::LoginRequest;
use crate::db::{Database, DbConn};
use crate::mfa::{self, Method, challenge::Finish};
use crate::password::PasswordError;
use crate::session::{self, NewSession, Session};
use crate::user::UserStore;

/// A login that opened its session.
#[derive(Debug, Clone)]
pub struct LoggedIn<U> {
    /// The user, read back after the login (its `last_login` shows it).
    pub user: U,
    /// The session cookie's token (only its hash is stored).
    pub token: String,
    /// The stored session.
    pub session: Session,
}

/// The password was right, but the user has MFA on: the login finishes with
/// `POST login/mfa` ([`AuthService::complete_mfa`]) and this token.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MfaChallenge {
    /// Always `true`.
    pub mfa_required: bool,
    /// The token of the second step: single use, valid until `expires_at`.
    pub mfa_token: String,
    /// The methods the user can finish with (`totp`, `backup_code`, `passkey`).
    pub methods: Vec<Method>,
    /// When the token stops working (UTC).
    #[serde(with = "crate::timefmt")]
    pub expires_at: PrimitiveDateTime,
}

/// What a login's password step ends with.
#[derive(Debug, Clone)]
pub enum LoginOutcome<T> {
    /// Logged in: no second factor was due.
    Complete(T),
    /// A second factor is due: no session yet.
    MfaRequired(MfaChallenge),
}

impl<T> LoginOutcome<T> {
    /// The completed login, or the challenge unchanged.
    pub fn map<V>(self, f: impl FnOnce(T) -> V) -> LoginOutcome<V> {
        match self {
            LoginOutcome::Complete(t) => LoginOutcome::Complete(f(t)),
            LoginOutcome::MfaRequired(c) => LoginOutcome::MfaRequired(c),
        }
    }
}

impl<U: UserStore> AuthService<U> {
    /// Authenticates and, unless the user has MFA on, opens a new session (a new token
    /// every time: no fixation). For a user with MFA the answer is
    /// [`LoginOutcome::MfaRequired`]: no session exists until [`AuthService::complete_mfa`]
    /// gets a second factor.
    ///
    /// Throttled first: the attempt is counted against the account name (with login by
    /// e-mail on, the account an address names: see
    /// [`crate::service::AuthServiceBuilder::login_by_email`]) and the client IP before
    /// the password is checked ([`crate::throttle::reserve`]), so parallel guesses never
    /// get more than the limit checked; while either is locked the answer is
    /// [`AuthError::Throttled`] without checking the password. A refused password keeps
    /// its count (the same work whether or not the account exists); a success clears the
    /// account's counter and gives the IP its attempt back. Every outcome is audited, and
    /// a success from an IP or user agent the user never logged in from is also recorded
    /// as `login.new_device`. No connection is held while the password is checked.
    pub async fn login(
        &self,
        db: &Database,
        platform: Option<&str>,
        req: &LoginRequest,
        client: &ClientInfo,
    ) -> Result<LoginOutcome<LoggedIn<U>>, AuthError> {
        let name = platform.unwrap_or(DEFAULT_PLATFORM);
        self.login_as(db, platform, name, req, client, Finish::Session)
            .await
    }

    /// [`AuthService::login`] through the backend of `platform`, recording `label` as the
    /// session's platform (and in the audit log): `jwt` for a token login. `finish` is how
    /// an MFA step would end.
    pub(super) async fn login_as(
        &self,
        db: &Database,
        platform: Option<&str>,
        label: &str,
        req: &LoginRequest,
        client: &ClientInfo,
        finish: Finish,
    ) -> Result<LoginOutcome<LoggedIn<U>>, AuthError> {
        let name = label;
        let backend = self.backend(platform)?;
        let typed = backend.throttle_name(&req.account);
        let keys = self.login_keys(&self.throttle_account(db, &typed).await?, client);
        let reserved = self
            .reserve_attempt(db, &keys, || {
                client.event(EventType::LoginFailure).account(&req.account)
            })
            .await
            .inspect_err(|_| tracing::info!(platform = name, "login throttled"))?;
        let user = match backend.login(db, req).await {
            Ok(user) => user,
            Err(e) => {
                tracing::info!(platform = name, reason = %e, "login refused");
                let reason = match &e {
                    AuthError::InvalidCredentials => "invalid_credentials",
                    AuthError::Inactive => "inactive",
                    _ => "error",
                };
                let mut conn = db.conn().await?;
                if matches!(e, AuthError::InvalidCredentials) {
                    self.attempt_failed(&mut conn, &reserved, &req.account, client)
                        .await?;
                } else {
                    // Not a wrong password (inactive account, busy hasher, storage): the
                    // attempt does not count.
                    self.attempt_settled(&mut conn, &reserved, false).await?;
                }
                if !matches!(
                    e,
                    AuthError::Storage(_) | AuthError::Password(PasswordError::Busy)
                ) {
                    self.record(
                        &mut conn,
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
        let mut conn = db.conn().await?;
        self.attempt_settled(&mut conn, &reserved, true).await?;
        if let Some(challenge) = self
            .second_factor_challenge(&mut conn, &user, finish, name, client)
            .await?
        {
            return Ok(LoginOutcome::MfaRequired(challenge));
        }
        drop(conn);
        self.complete_login(db, user, name, client, None)
            .await
            .map(LoginOutcome::Complete)
    }

    /// The MFA challenge of `user` when they have a second factor to pass (a user who
    /// turned MFA on always gets it, whether or not this server has an MFA key now: fail
    /// closed; backup codes need no key); `None` when no second factor is due. `finish` is
    /// how the MFA step will end, `platform` the login's.
    pub(super) async fn second_factor_challenge(
        &self,
        conn: &mut crate::db::DbConn,
        user: &U,
        finish: Finish,
        platform: &str,
        client: &ClientInfo,
    ) -> Result<Option<MfaChallenge>, AuthError> {
        let methods = self.second_factor_methods(conn, user.id()).await?;
        if methods.is_empty() {
            return Ok(None);
        }
        let ttl = self
            .mfa
            .as_ref()
            .map(|m| m.challenge_ttl)
            .unwrap_or(mfa::DEFAULT_CHALLENGE_TTL);
        let (mfa_token, expires_at) =
            mfa::challenge::issue(conn, user.id(), finish, platform, ttl, session::now()).await?;
        let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
        self.audit_user(
            conn,
            client,
            EventType::MfaChallenged,
            user,
            json!({ "platform": platform, "methods": names }),
        )
        .await?;
        tracing::info!(user_id = user.id(), platform, "login: second factor due");
        Ok(Some(MfaChallenge {
            mfa_required: true,
            mfa_token,
            methods,
            expires_at,
        }))
    }

    /// Opens the session of a user whose credentials were checked by a login flow: the
    /// password step of [`AuthService::login`], the MFA step, or another proof (a passkey,
    /// an external identity). `platform` is recorded on the session and in the audit log;
    /// `factor` is the second factor the login passed, if any (recorded as the session's
    /// `mfa_at`). Records the login time, audits `login.success` (and `login.new_device`
    /// for a new IP or user agent), and runs the `after_login` hook.
    ///
    /// It does not check anything about `user` beyond what the caller did: call it only
    /// after a successful authentication, with an active user.
    pub async fn complete_login(
        &self,
        db: &Database,
        user: U,
        platform: &str,
        client: &ClientInfo,
        factor: Option<Method>,
    ) -> Result<LoggedIn<U>, AuthError> {
        let name = platform;
        // The session data of the backend named so (a token login's `jwt` is the default's).
        let backend = self
            .backend(Some(platform))
            .or_else(|_| self.backend(None))
            .ok();
        let mut conn = db.conn().await?;
        // One transaction: a login cut short (a statement past its deadline, a connection
        // the server ended) leaves no session, no last_login and no audit event behind,
        // even when its statement is still queued on the server (it is never committed).
        let (user, token, session) = conn
            .transaction(async move |conn: &mut DbConn| -> Result<_, AuthError> {
                let (token, session) = session::create(
                    conn,
                    NewSession {
                        user_id: user.id(),
                        platform: name,
                        ip: client.ip.as_deref(),
                        user_agent: client.user_agent.as_deref(),
                        session_info: backend.map(|b| b.session_info(&user)),
                        mfa: factor.is_some(),
                    },
                    &self.sessions,
                )
                .await?;
                U::record_login(conn, user.id(), session.created_at).await?;
                // Read back, so that what the caller returns shows this login in
                // `last_login`.
                let user = U::find_by_id(conn, user.id()).await?.unwrap_or(user);
                let seen = crate::audit::familiarity(
                    conn,
                    user.id(),
                    client.ip.as_deref(),
                    client.user_agent.as_deref(),
                )
                .await?;
                let mut detail = json!({ "platform": name, "session_id": session.id });
                if let Some(method) = factor {
                    detail["mfa"] = method.as_str().into();
                }
                self.audit_user(conn, client, EventType::LoginSuccess, &user, detail)
                    .await?;
                if seen.any_before && (!seen.ip_seen || !seen.user_agent_seen) {
                    self.audit_user(
                        conn,
                        client,
                        EventType::NewDevice,
                        &user,
                        json!({
                            "new_ip": !seen.ip_seen,
                            "new_user_agent": !seen.user_agent_seen,
                        }),
                    )
                    .await?;
                }
                Ok((user, token, session))
            })
            .await?;
        drop(conn);
        tracing::info!(
            user_id = user.id(),
            platform = name,
            session_id = session.id,
            "login"
        );
        self.hooks.after_login(&user, &session).await;
        Ok(LoggedIn {
            user,
            token,
            session,
        })
    }

    /// Ends the session `user` acts through ([`Actor::own_login`]; an API key has none
    /// to end: [`AuthError::SessionRequired`]) on the server, so a replayed cookie is then
    /// dead. The backend's logout hook (an upstream call, perhaps) runs with no connection
    /// held.
    pub async fn logout(&self, db: &Database, user: &U, actor: &Actor) -> Result<(), AuthError> {
        let session = actor.own_login(user.id())?;
        let client = actor.client();
        {
            let mut conn = db.conn().await?;
            session::delete_by_id(&mut conn, session.id).await?;
            self.audit_user(
                &mut conn,
                client,
                EventType::Logout,
                user,
                json!({ "session_id": session.id }),
            )
            .await?;
        }
        if let Ok(backend) = self.backend(Some(&session.platform))
            && let Err(e) = backend.logout(user, session).await
        {
            tracing::warn!(error = %e, "backend logout hook failed");
        }
        tracing::info!(user_id = user.id(), session_id = session.id, "logout");
        self.hooks.after_logout(user.id(), session).await;
        Ok(())
    }
}
