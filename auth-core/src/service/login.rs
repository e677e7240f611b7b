//! Login (throttled, audited, new-device detection) and logout.

use serde_json::json;

use super::DEFAULT_PLATFORM;
use super::{AuthService, ClientInfo};
use crate::audit::EventType;
use crate::backend::AuthError;
use crate::backend::LoginRequest;
use crate::db::DbConn;
use crate::session::{self, NewSession, Session};
use crate::throttle;
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
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
        self.audit_user(
            conn,
            client,
            EventType::LoginSuccess,
            &user,
            json!({ "platform": name, "session_id": session.id }),
        )
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
        self.audit_user(
            conn,
            client,
            EventType::Logout,
            user,
            json!({ "session_id": session.id }),
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
}
