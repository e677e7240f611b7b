//! Login (throttled, audited, new-device detection) and logout.

use serde_json::json;

use super::DEFAULT_PLATFORM;
use super::{AuthService, ClientInfo};
use crate::audit::EventType;
use crate::backend::AuthError;
use crate::backend::LoginRequest;
use crate::db::Database;
use crate::password::PasswordError;
use crate::session::{self, NewSession, Session};
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
    /// Authenticates and opens a new session (a new token every time: no fixation).
    /// Returns the user, the cookie token and the stored session.
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
    ) -> Result<(U, String, Session), AuthError> {
        let name = platform.unwrap_or(DEFAULT_PLATFORM);
        self.login_as(db, platform, name, req, client).await
    }

    /// [`AuthService::login`] through the backend of `platform`, recording `label` as the
    /// session's platform (and in the audit log): `jwt` for a token login.
    pub(super) async fn login_as(
        &self,
        db: &Database,
        platform: Option<&str>,
        label: &str,
        req: &LoginRequest,
        client: &ClientInfo,
    ) -> Result<(U, String, Session), AuthError> {
        let name = label;
        let backend = self.backend(platform)?;
        let keys = self.login_keys(&self.throttle_account(db, &req.account).await?, client);
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
        let (token, session) = session::create(
            &mut conn,
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
        U::record_login(&mut conn, user.id(), session.created_at).await?;
        // Read back, so that what the caller returns shows this login in `last_login`.
        let user = U::find_by_id(&mut conn, user.id()).await?.unwrap_or(user);
        let seen = crate::audit::familiarity(
            &mut conn,
            user.id(),
            client.ip.as_deref(),
            client.user_agent.as_deref(),
        )
        .await?;
        self.audit_user(
            &mut conn,
            client,
            EventType::LoginSuccess,
            &user,
            json!({ "platform": name, "session_id": session.id }),
        )
        .await?;
        if seen.any_before && (!seen.ip_seen || !seen.user_agent_seen) {
            self.audit_user(
                &mut conn,
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
        drop(conn);
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
    /// The backend's logout hook (an upstream call, perhaps) runs with no connection held.
    pub async fn logout(
        &self,
        db: &Database,
        user: &U,
        session: &Session,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
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
