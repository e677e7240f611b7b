//! Login (and linking) through OpenID Connect and OAuth2 providers.
//!
//! [`AuthService::oauth_start`] asks the provider's authorization URL (a random `state`,
//! PKCE S256, a nonce) and stores the authorization bound to the browser;
//! [`AuthService::oauth_finish`] takes it back once, exchanges the code, has the
//! `openidconnect` crate verify the ID token, finds or creates the local user (see
//! [`crate::identity`]), and opens a session as a password login does: the MFA step for
//! users who have it (unless the provider is trusted to have checked a second factor),
//! `login.success` in the audit log, the `after_login` hook. No pooled connection is held
//! while a provider is called.

use std::sync::Arc;

use serde_json::json;

use super::{AuthService, ClientInfo, LoggedIn, MfaChallenge};
use crate::audit::EventType;
use crate::authority::Actor;
use crate::backend::AuthError;
use crate::db::Database;
use crate::error::Error;
use crate::identity::{self, ExternalUser, Identity};
use crate::mfa::{Method, challenge::Finish};
use crate::oauth::upstream::{Upstream, Verified};
use crate::oauth::{self, OAuthConfig, OAuthError, state};
use crate::session;
use crate::user::UserStore;

/// The OAuth configuration and its providers' clients.
#[derive(Debug)]
pub(super) struct OAuthRuntime {
    config: OAuthConfig,
    upstream: Upstream,
}

impl OAuthRuntime {
    pub(super) fn new(config: OAuthConfig) -> Result<Arc<Self>, Error> {
        let upstream = Upstream::new(&config)?;
        Ok(Arc::new(OAuthRuntime { config, upstream }))
    }
}

/// A login or link under way: send the browser to `url`, and keep `browser_token` in the
/// `HttpOnly` cookie the callback reads.
#[derive(Debug, Clone)]
pub struct OAuthStart {
    /// The provider's authorization URL.
    pub url: String,
    /// The browser binding: a fresh value at every start.
    pub browser_token: String,
}

/// The provider's answer at the callback, as the query string gives it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OAuthCallback {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` sent with the authorization request.
    pub state: Option<String>,
    /// The provider's OAuth2 error code (`access_denied`, ...), instead of a code.
    pub error: Option<String>,
    /// The provider's description of the error (logged, not shown).
    pub error_description: Option<String>,
}

/// How a provider's callback ended.
#[derive(Debug, Clone)]
pub enum OAuthOutcome<U> {
    /// Logged in: send the browser to `next` with the session cookie.
    LoggedIn {
        /// The session opened.
        login: LoggedIn<U>,
        /// Where to go.
        next: String,
    },
    /// The user has MFA on: no session yet; the second step is `POST login/mfa`.
    MfaRequired {
        /// The challenge (its `mfa_token`).
        challenge: MfaChallenge,
        /// Where to go after the second step.
        next: String,
    },
    /// A logged-in user proved again who they are at the provider: their session is in
    /// sudo mode ([`AuthService::oauth_reauth_start`]).
    Reauthenticated {
        /// Where to go.
        next: String,
    },
    /// A logged-in user linked the provider to their account.
    Linked {
        /// The identity linked (or found linked to them already).
        identity: Identity,
        /// Where to go.
        next: String,
    },
}

impl<U: UserStore> AuthService<U> {
    /// The OAuth runtime, when `provider` is one of its providers.
    fn oauth_runtime(&self, provider: &str) -> Result<&OAuthRuntime, AuthError> {
        self.oauth
            .as_deref()
            .filter(|runtime| runtime.upstream.has(provider))
            .ok_or_else(|| OAuthError::UnknownProvider(provider.to_owned()).into())
    }

    /// The OAuth configuration, when the service has one.
    pub fn oauth_config(&self) -> Option<&OAuthConfig> {
        self.oauth.as_deref().map(|o| &o.config)
    }

    /// Starts a login at `provider` (or, with `link_user`, the link of `provider` to that
    /// logged-in user), to come back to `next` (a local path: [`oauth::check_next`]).
    /// The browser binding is a fresh value every time: one the browser presents is never
    /// reused, so a binding planted in the browser (a cookie set from a sibling domain)
    /// binds nothing.
    pub async fn oauth_start(
        &self,
        db: &Database,
        provider: &str,
        next: Option<&str>,
        link_user: Option<&U>,
    ) -> Result<OAuthStart, AuthError> {
        self.begin_at(db, provider, next, link_user.map(|u| u.id()), None)
            .await
    }

    /// Starts a fresh login at `provider` that proves again who the acting user is, for
    /// sudo mode ([`AuthService::sudo`]): for a user whose way in is the provider, the
    /// counterpart of `POST reauthenticate` with a password. The provider is asked to log
    /// the user in again (`prompt=login`, `max_age=0`); the callback accepts only an ID
    /// token whose `auth_time` is after this start, for an identity linked to this user,
    /// and then marks the session proven (and as having passed a second factor when the
    /// provider is trusted to say so). Needs a session of `user` (not an API key: 403
    /// [`AuthError::SessionRequired`]) and an identity of theirs at an OpenID Connect
    /// provider (409 [`OAuthError::NoFreshLogin`]).
    pub async fn oauth_reauth_start(
        &self,
        db: &Database,
        user: &U,
        actor: &Actor,
        provider: &str,
        next: Option<&str>,
    ) -> Result<OAuthStart, AuthError> {
        let session = actor.own_login(user.id())?;
        self.oauth_runtime(provider)?;
        let linked = {
            let mut conn = db.conn().await?;
            identity::list_for_user(&mut conn, user.id()).await?
        };
        if !linked.iter().any(|i| i.provider == provider) {
            return Err(OAuthError::NoFreshLogin.into());
        }
        self.begin_at(db, provider, next, Some(user.id()), Some(session.id))
            .await
    }

    /// Stores a new authorization at `provider` and returns where to send the browser.
    async fn begin_at(
        &self,
        db: &Database,
        provider: &str,
        next: Option<&str>,
        link_user_id: Option<i64>,
        reauth_session_id: Option<i64>,
    ) -> Result<OAuthStart, AuthError> {
        let runtime = self.oauth_runtime(provider)?;
        let next = oauth::check_next(next)?;
        let fresh = reauth_session_id.is_some();
        let started = runtime.upstream.start(provider, fresh).await?;
        let browser_token = session::new_token();
        let mut conn = db.conn().await?;
        state::store(
            &mut conn,
            state::NewPending {
                state: &started.state,
                browser_token: &browser_token,
                provider,
                pkce_verifier: &started.pkce_verifier,
                nonce: &started.nonce,
                next: &next,
                link_user_id,
                reauth_session_id,
            },
            session::now(),
            runtime.config.state_ttl,
        )
        .await?;
        Ok(OAuthStart {
            url: started.url.to_string(),
            browser_token,
        })
    }

    /// Finishes a login, link or re-authentication at `provider`'s callback.
    /// `browser_token` is the binding cookie's value; `current_user` the user of the
    /// request's session and `current_session` its id (a link must come back to the user
    /// that started it, a re-authentication to the session). Refusals are audited as
    /// `login.failure` (detail `platform`: the provider, `reason`).
    #[allow(clippy::too_many_arguments)]
    pub async fn oauth_finish(
        &self,
        db: &Database,
        provider: &str,
        callback: &OAuthCallback,
        browser_token: &str,
        current_user: Option<&U>,
        current_session: Option<i64>,
        client: &ClientInfo,
    ) -> Result<OAuthOutcome<U>, AuthError> {
        let runtime = self.oauth_runtime(provider)?;
        let state = callback.state.as_deref().unwrap_or_default();
        let pending = {
            let mut conn = db.conn().await?;
            state::take(&mut conn, provider, state, browser_token, session::now()).await?
        };
        let pending = match pending {
            Ok(p) => p,
            Err(e) => return Err(self.oauth_refused(db, provider, client, e).await),
        };
        if let Some(error) = &callback.error {
            tracing::info!(
                provider,
                error = %oauth::error_code(error),
                description = callback.error_description.as_deref().unwrap_or(""),
                "identity provider refused the login"
            );
            let e = OAuthError::Provider(oauth::error_code(error));
            return Err(self.oauth_refused(db, provider, client, e).await);
        }
        let Some(code) = callback.code.as_deref().filter(|c| !c.is_empty()) else {
            let e = OAuthError::Provider("no_code".into());
            return Err(self.oauth_refused(db, provider, client, e).await);
        };
        let verified = match runtime
            .upstream
            .finish(provider, code, &pending.pkce_verifier, &pending.nonce)
            .await
        {
            Ok(v) => v,
            Err(AuthError::OAuth(e)) => {
                return Err(self.oauth_refused(db, provider, client, e).await);
            }
            Err(e) => return Err(e),
        };
        if let Some(session_id) = pending.reauth_session_id {
            let user = current_user.filter(|u| Some(u.id()) == pending.link_user_id);
            let (Some(user), true) = (user, current_session == Some(session_id)) else {
                let e = OAuthError::InvalidState;
                return Err(self.oauth_refused(db, provider, client, e).await);
            };
            let started = pending.expires_at
                - time::Duration::try_from(runtime.config.state_ttl)
                    .unwrap_or(time::Duration::minutes(10));
            if let Err(e) = self
                .provider_reauth(db, user, session_id, provider, &verified, started, client)
                .await
            {
                return Err(match e {
                    AuthError::OAuth(e) => self.oauth_refused(db, provider, client, e).await,
                    other => other,
                });
            }
            return Ok(OAuthOutcome::Reauthenticated { next: pending.next });
        }
        if let Some(link_user) = pending.link_user_id {
            let Some(user) = current_user.filter(|u| u.id() == link_user) else {
                let e = OAuthError::InvalidState;
                return Err(self.oauth_refused(db, provider, client, e).await);
            };
            let identity = self
                .link_identity(db, user, provider, &verified, client)
                .await?;
            return Ok(OAuthOutcome::Linked {
                identity,
                next: pending.next,
            });
        }
        let user = match self.external_user(db, provider, &verified, client).await {
            Ok(user) => user,
            Err(AuthError::OAuth(e)) => {
                return Err(self.oauth_refused(db, provider, client, e).await);
            }
            Err(e) => return Err(e),
        };
        if !user.is_active() {
            let mut conn = db.conn().await?;
            self.record(
                &mut conn,
                client
                    .event(EventType::LoginFailure)
                    .user(user.id(), user.account())
                    .detail(json!({ "reason": "inactive", "platform": provider })),
            )
            .await?;
            return Err(AuthError::Inactive);
        }
        let factor = verified.mfa.then_some(Method::Provider);
        if factor.is_none() {
            let mut conn = db.conn().await?;
            if let Some(challenge) = self
                .second_factor_challenge(&mut conn, &user, Finish::Session, provider, client)
                .await?
            {
                return Ok(OAuthOutcome::MfaRequired {
                    challenge,
                    next: pending.next,
                });
            }
        }
        let login = self
            .complete_login(db, user, provider, client, factor)
            .await?;
        Ok(OAuthOutcome::LoggedIn {
            login,
            next: pending.next,
        })
    }

    /// The end of a provider re-authentication: the ID token must prove a login after
    /// `started` (a minute's clock skew allowed) of an identity linked to `user`; then
    /// session `session_id` is proven again, audited `reauthenticated` (method `provider`).
    #[allow(clippy::too_many_arguments)]
    async fn provider_reauth(
        &self,
        db: &Database,
        user: &U,
        session_id: i64,
        provider: &str,
        verified: &Verified,
        started: time::PrimitiveDateTime,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        const SKEW_SECS: i64 = 60;
        let started = started.assume_utc().unix_timestamp();
        let fresh = verified
            .auth_time
            .is_some_and(|at| at >= started - SKEW_SECS);
        let linked = {
            let mut conn = db.conn().await?;
            identity::find(&mut conn, provider, &verified.subject).await?
        };
        if !fresh || linked.is_none_or(|i| i.user_id != user.id()) {
            return Err(OAuthError::StaleLogin.into());
        }
        let detail = json!({ "method": "provider", "provider": provider });
        self.proven_again(db, user, session_id, verified.mfa, client, detail)
            .await
    }

    /// Audits a refused provider login and returns its error.
    async fn oauth_refused(
        &self,
        db: &Database,
        provider: &str,
        client: &ClientInfo,
        e: OAuthError,
    ) -> AuthError {
        tracing::info!(provider, reason = %e, "provider login refused");
        let reason = match &e {
            OAuthError::InvalidState => "invalid_state",
            OAuthError::StateExpired => "state_expired",
            OAuthError::Provider(_) => "provider_error",
            OAuthError::InvalidNonce => "invalid_nonce",
            OAuthError::InvalidToken(_) => "invalid_id_token",
            OAuthError::IdentityTaken => "identity_taken",
            OAuthError::NoAccount => "no_account",
            OAuthError::StaleLogin => "stale_login",
            _ => "error",
        };
        let recorded = match db.conn().await {
            Ok(mut conn) => {
                self.record(
                    &mut conn,
                    client
                        .event(EventType::LoginFailure)
                        .detail(json!({ "reason": reason, "platform": provider })),
                )
                .await
            }
            Err(e) => Err(e.into()),
        };
        if let Err(failure) = recorded {
            return failure;
        }
        AuthError::OAuth(e)
    }

    /// The local user of a verified identity: the linked one; or, the first time, the user
    /// holding the same verified address (when configured so and that user's address is
    /// verified too); or a new user without a password (unless configured not to).
    async fn external_user(
        &self,
        db: &Database,
        provider: &str,
        verified: &Verified,
        client: &ClientInfo,
    ) -> Result<U, AuthError> {
        let runtime = self.oauth_runtime(provider)?;
        let mut conn = db.conn().await?;
        let now = session::now();
        if let Some(found) = identity::find(&mut conn, provider, &verified.subject).await? {
            if let Some(user) = U::find_by_id(&mut conn, found.user_id).await? {
                identity::record_login(&mut conn, found.id, now, verified.email.as_deref()).await?;
                return Ok(user);
            }
            // A link left by a user deleted outside the framework: it names nobody.
            identity::delete_for_user(&mut conn, found.user_id).await?;
        }
        if runtime.config.link_verified_email
            && verified.email_verified
            && let Some(address) = verified.email.as_deref()
            && let Some(user) = U::find_by_email(&mut conn, address).await?
            && user.is_verified()
        {
            return match identity::link(
                &mut conn,
                user.id(),
                provider,
                &verified.subject,
                Some(address),
            )
            .await?
            {
                Some(linked) => {
                    identity::record_login(&mut conn, linked.id, now, Some(address)).await?;
                    self.audit_linked(&mut conn, client, &user, &linked, "email")
                        .await?;
                    Ok(user)
                }
                // A concurrent first login linked it: log in as whoever it names.
                None => {
                    self.linked_user(&mut conn, provider, &verified.subject)
                        .await
                }
            };
        }
        if !runtime.config.create_users {
            return Err(OAuthError::NoAccount.into());
        }
        let wanted = verified
            .username
            .clone()
            .or_else(|| {
                verified
                    .email
                    .as_deref()
                    .and_then(|e| e.split('@').next())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| format!("{provider}-user"));
        // Only an address the provider verified becomes the account's: an unverified one
        // could be anyone's (an attacker claims `victim@example.com` at a provider that does
        // not check, to be in the account before its owner registers or links it).
        let provisioned = identity::provision::<U>(
            &mut conn,
            &ExternalUser {
                provider,
                subject: &verified.subject,
                account: &wanted,
                email: verified
                    .email
                    .as_deref()
                    .filter(|_| verified.email_verified),
                email_verified: verified.email_verified,
            },
        )
        .await?;
        let (user, linked) = (provisioned.user, provisioned.identity);
        identity::record_login(&mut conn, linked.id, now, verified.email.as_deref()).await?;
        if provisioned.created {
            self.audit_user(
                &mut conn,
                client,
                EventType::Registered,
                &user,
                json!({ "platform": provider }),
            )
            .await?;
            self.audit_linked(&mut conn, client, &user, &linked, "login")
                .await?;
        }
        Ok(user)
    }

    async fn linked_user(
        &self,
        conn: &mut crate::db::DbConn,
        provider: &str,
        subject: &str,
    ) -> Result<U, AuthError> {
        let found = identity::find(conn, provider, subject)
            .await?
            .ok_or(OAuthError::IdentityTaken)?;
        U::find_by_id(conn, found.user_id)
            .await?
            .ok_or_else(|| OAuthError::IdentityTaken.into())
    }

    async fn audit_linked(
        &self,
        conn: &mut crate::db::DbConn,
        client: &ClientInfo,
        user: &U,
        linked: &Identity,
        by: &str,
    ) -> Result<(), AuthError> {
        self.audit_user(
            conn,
            client,
            EventType::IdentityLinked,
            user,
            json!({ "provider": linked.provider, "identity_id": linked.id, "by": by }),
        )
        .await
    }

    /// Links a verified identity to the logged-in `user`: done (or found done already),
    /// or [`OAuthError::IdentityTaken`] when it is another user's.
    async fn link_identity(
        &self,
        db: &Database,
        user: &U,
        provider: &str,
        verified: &Verified,
        client: &ClientInfo,
    ) -> Result<Identity, AuthError> {
        let mut conn = db.conn().await?;
        match identity::link(
            &mut conn,
            user.id(),
            provider,
            &verified.subject,
            verified.email.as_deref(),
        )
        .await?
        {
            Some(linked) => {
                self.audit_linked(&mut conn, client, user, &linked, "link")
                    .await?;
                drop(conn);
                self.credential_notice(
                    db,
                    user.id(),
                    format!("a {provider} identity was linked"),
                    false,
                );
                Ok(linked)
            }
            None => {
                let found = identity::find(&mut conn, provider, &verified.subject).await?;
                match found {
                    Some(found) if found.user_id == user.id() => Ok(found),
                    _ => {
                        drop(conn);
                        Err(self
                            .oauth_refused(db, provider, client, OAuthError::IdentityTaken)
                            .await)
                    }
                }
            }
        }
    }
}
