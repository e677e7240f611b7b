//! Token logins (SPEC C9.2): a JWT access token and a rotating refresh token.
//!
//! A token login is a login ([`AuthService::login`]: the same backend, throttling, audit
//! and hooks) whose session, recorded with platform [`JWT_PLATFORM`], is the refresh
//! family (the refresh-token store). Its refresh token lasts as long as an unused session
//! does (the idle timeout, renewed by each refresh, never past the absolute timeout).

use serde::Serialize;
use serde_json::json;

use super::login::{LoggedIn, LoginOutcome};
use super::{AuthService, ClientInfo};
use crate::audit::EventType;
use crate::backend::{AuthError, LoginRequest};
use crate::db::{Database, DbConn};
use crate::jwt::{self, Jwt};
use crate::mfa::challenge::Finish;
use crate::refresh_token::{self, Redeemed};
use crate::session::{self, Session};
use crate::user::UserStore;

/// The platform a token login records on its session (and that `POST login` accepts to
/// answer tokens instead of a cookie).
pub const JWT_PLATFORM: &str = "jwt";

/// What a token login or refresh answers. `Debug` shows no token.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// The signed JWT to send as `Authorization: Bearer`.
    pub access_token: String,
    /// The single-use token for `POST token/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What a refresh found, decided inside its transaction.
enum Outcome<U> {
    Refreshed {
        user: U,
        session: Session,
        next: String,
    },
    /// A used token again: the family has been ended.
    Reused {
        session_id: i64,
        user_id: Option<i64>,
    },
    Refused {
        reason: &'static str,
        user_id: Option<i64>,
    },
}

impl<U: UserStore> AuthService<U> {
    /// The JWT signer and verifier, when token logins are configured.
    pub fn jwt(&self) -> Option<&Jwt> {
        self.jwt.as_deref()
    }

    fn jwt_or_refuse(&self) -> Result<&Jwt, AuthError> {
        self.jwt().ok_or(AuthError::TokensNotConfigured)
    }

    /// A token login: authenticates like [`AuthService::login`] through the default
    /// backend (throttled and audited the same way, the session recorded with platform
    /// `jwt`), then issues an access token and the family's first refresh token. A user
    /// with MFA gets [`LoginOutcome::MfaRequired`] instead (`finish` says how the MFA step
    /// answers: [`Finish::Tokens`] for `POST token`, [`Finish::JwtLogin`] for `POST login`
    /// with `platform: "jwt"`).
    pub async fn login_for_tokens(
        &self,
        db: &Database,
        req: &LoginRequest,
        client: &ClientInfo,
        finish: Finish,
    ) -> Result<LoginOutcome<(U, TokenPair)>, AuthError> {
        self.jwt_or_refuse()?;
        match self
            .login_as(db, None, JWT_PLATFORM, req, client, finish)
            .await?
        {
            LoginOutcome::Complete(done) => Ok(LoginOutcome::Complete(
                self.tokens_for_login(db, done).await?,
            )),
            LoginOutcome::MfaRequired(challenge) => Ok(LoginOutcome::MfaRequired(challenge)),
        }
    }

    /// The first token pair of a token login's session (its refresh family).
    pub(super) async fn tokens_for_login(
        &self,
        db: &Database,
        done: LoggedIn<U>,
    ) -> Result<(U, TokenPair), AuthError> {
        let jwt = self.jwt_or_refuse()?;
        let LoggedIn { user, session, .. } = done;
        let mut conn = db.conn().await?;
        let issued = refresh_token::issue(&mut conn, session.id, session.idle_expires_at).await;
        let refresh = match issued {
            Ok(token) => token,
            Err(e) => {
                // No half login: a family without a token is ended.
                if let Err(cleanup) = refresh_token::end_family(&mut conn, session.id).await {
                    tracing::warn!(error = %cleanup, "token login: cannot end the session");
                }
                return Err(e.into());
            }
        };
        let pair = token_pair(jwt, user.id(), session.id, refresh)?;
        Ok((user, pair))
    }

    /// Rotates `refresh_token`: marks it used and answers a new pair in the same family.
    ///
    /// Refused with [`AuthError::RefreshRejected`] when the token is unknown or expired,
    /// when its session has ended (logout, revocation, a password change or reset
    /// elsewhere), or when the user is deactivated or gone (the family then ends). A token
    /// used before ends its whole family (audited as `token.reused`): whoever holds the
    /// newest token must log in again.
    pub async fn refresh_tokens(
        &self,
        db: &Database,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<(U, TokenPair), AuthError> {
        let jwt = self.jwt_or_refuse()?;
        let now = session::now();
        let renewal = &self.sessions;
        let mut conn = db.conn().await?;
        let outcome = conn
            .transaction(async |conn: &mut DbConn| -> Result<Outcome<U>, AuthError> {
                let found = match refresh_token::redeem(conn, refresh_token, now).await? {
                    Redeemed::Fresh(found) => found,
                    Redeemed::Unknown => {
                        return Ok(Outcome::Refused {
                            reason: "unknown",
                            user_id: None,
                        });
                    }
                    Redeemed::Expired(found) => {
                        let owner = session::find_by_id(conn, found.session_id).await?;
                        return Ok(Outcome::Refused {
                            reason: "expired",
                            user_id: owner.map(|s| s.user_id),
                        });
                    }
                    Redeemed::Reused(found) => {
                        let owner = session::find_by_id(conn, found.session_id).await?;
                        refresh_token::end_family(conn, found.session_id).await?;
                        return Ok(Outcome::Reused {
                            session_id: found.session_id,
                            user_id: owner.map(|s| s.user_id),
                        });
                    }
                };
                let live = session::find_by_id(conn, found.session_id)
                    .await?
                    .filter(|s| s.is_live(now));
                let Some(mut session) = live else {
                    refresh_token::end_family(conn, found.session_id).await?;
                    return Ok(Outcome::Refused {
                        reason: "ended",
                        user_id: None,
                    });
                };
                let user = U::find_by_id(conn, session.user_id).await?;
                let Some(user) = user.filter(|u| u.is_active()) else {
                    refresh_token::end_family(conn, session.id).await?;
                    return Ok(Outcome::Refused {
                        reason: "inactive",
                        user_id: Some(session.user_id),
                    });
                };
                session::touch(conn, &mut session, now, renewal).await?;
                let next = refresh_token::issue(conn, session.id, session.idle_expires_at).await?;
                Ok(Outcome::Refreshed {
                    user,
                    session,
                    next,
                })
            })
            .await?;
        match outcome {
            Outcome::Refreshed {
                user,
                session,
                next,
            } => {
                self.audit_user(
                    &mut conn,
                    client,
                    EventType::TokenRefreshed,
                    &user,
                    json!({ "session_id": session.id }),
                )
                .await?;
                drop(conn);
                let pair = token_pair(jwt, user.id(), session.id, next)?;
                Ok((user, pair))
            }
            Outcome::Reused {
                session_id,
                user_id,
            } => {
                tracing::warn!(session_id, "refresh token reused: family ended");
                let mut event = client
                    .event(EventType::TokenReused)
                    .detail(json!({ "session_id": session_id }));
                event.user_id = user_id;
                self.record(&mut conn, event).await?;
                Err(AuthError::RefreshRejected)
            }
            Outcome::Refused { reason, user_id } => {
                tracing::debug!(reason, "refresh refused");
                let mut event = client
                    .event(EventType::BearerRejected)
                    .detail(json!({ "kind": "refresh", "reason": reason }));
                event.user_id = user_id;
                self.record_rejection(&mut conn, event).await?;
                Err(AuthError::RefreshRejected)
            }
        }
    }

    /// Ends the family of `refresh_token` (used or not): its session, every refresh token
    /// of it, and its access tokens on their next request. `false` when the token is
    /// unknown (nothing to end; callers answer the same either way, RFC 7009).
    pub async fn revoke_refresh(
        &self,
        db: &Database,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<bool, AuthError> {
        self.jwt_or_refuse()?;
        let mut conn = db.conn().await?;
        let Some(found) = refresh_token::find(&mut conn, refresh_token).await? else {
            return Ok(false);
        };
        let owner = session::find_by_id(&mut conn, found.session_id).await?;
        conn.transaction(async |conn: &mut DbConn| {
            refresh_token::end_family(conn, found.session_id).await
        })
        .await?;
        let mut event = client
            .event(EventType::TokenRevoked)
            .detail(json!({ "session_id": found.session_id }));
        event.user_id = owner.map(|s| s.user_id);
        self.record(&mut conn, event).await?;
        Ok(true)
    }
}

/// A new access token for `user_id` in session `session_id`, with `refresh`.
fn token_pair(
    jwt: &Jwt,
    user_id: i64,
    session_id: i64,
    refresh: String,
) -> Result<TokenPair, AuthError> {
    let (access_token, claims) = jwt.issue(user_id, session_id, jwt::unix_now())?;
    Ok(TokenPair {
        access_token,
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: u64::try_from(claims.exp - claims.iat).unwrap_or(0),
    })
}
