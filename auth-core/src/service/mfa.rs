//! The MFA flows: TOTP setup and confirmation, the login's second step, turning MFA off,
//! new backup codes, the administrator's reset, and reauthentication.
//!
//! Every wrong code counts against the account under the `mfa` throttle scope (and the
//! client IP), apart from the password counter that a right password clears, and is
//! audited as `mfa.failure`.

use serde_json::json;

use super::login::LoggedIn;
use super::{Actor, AuthService, ClientInfo, TokenPair};
use crate::audit::{By, EventType};
use crate::backend::AuthError;
use crate::db::{Database, DbConn};
use crate::mfa::challenge::{self, Finish};
use crate::mfa::{self, Method, MfaConfig, backup_codes, totp};
use crate::session;
use crate::throttle::{Key, Scope};
use crate::user::UserStore;

/// A second factor as the user typed it.
#[derive(Debug, Clone, Copy)]
pub enum MfaProof<'a> {
    /// A 6-digit code of the TOTP authenticator.
    Totp(&'a str),
    /// One of the backup codes.
    BackupCode(&'a str),
    /// A passkey assertion for the ceremony that
    /// [`AuthService::passkey_mfa_start`] started (its cookie's token).
    #[cfg(feature = "passkeys")]
    Passkey {
        /// The ceremony cookie's token.
        ceremony: &'a str,
        /// The browser's assertion.
        credential: &'a webauthn_rs::prelude::PublicKeyCredential,
    },
}

impl MfaProof<'_> {
    fn method(self) -> Method {
        match self {
            MfaProof::Totp(_) => Method::Totp,
            MfaProof::BackupCode(_) => Method::BackupCode,
            #[cfg(feature = "passkeys")]
            MfaProof::Passkey { .. } => Method::Passkey,
        }
    }
}

/// How a login finished by [`AuthService::complete_mfa`] answers.
#[derive(Debug, Clone)]
pub enum MfaLogin<U> {
    /// A cookie session (the login started at `POST login`).
    Session(LoggedIn<U>),
    /// A token pair (the login started at `POST token`, or at `POST login` with
    /// `platform: "jwt"`: `finish` says which).
    Tokens {
        /// The user.
        user: U,
        /// The tokens.
        pair: TokenPair,
        /// Where the login started.
        finish: Finish,
    },
}

/// A user's MFA state, for `GET mfa`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MfaStatus {
    /// Whether MFA is on (a confirmed TOTP authenticator).
    pub enabled: bool,
    /// The methods a login's second step accepts.
    pub methods: Vec<Method>,
    /// Unused backup codes.
    pub backup_codes_remaining: i64,
}

impl<U: UserStore> AuthService<U> {
    /// The MFA configuration, when MFA is configured.
    pub fn mfa_config(&self) -> Option<&MfaConfig> {
        self.mfa.as_deref()
    }

    fn mfa_or_refuse(&self) -> Result<&MfaConfig, AuthError> {
        self.mfa_config().ok_or(AuthError::MfaNotConfigured)
    }

    /// `user_id`'s MFA state.
    pub async fn mfa_status(&self, db: &Database, user_id: i64) -> Result<MfaStatus, AuthError> {
        let mut conn = db.conn().await?;
        let methods = self.second_factor_methods(&mut conn, user_id).await?;
        Ok(MfaStatus {
            enabled: methods.contains(&Method::Totp),
            backup_codes_remaining: backup_codes::remaining(&mut conn, user_id).await?,
            methods,
        })
    }

    /// The methods `user_id` can finish a login's second step with: TOTP and backup codes
    /// when MFA is on ([`mfa::methods`]), and then their passkeys too, when passkeys are
    /// configured. Empty: no second step.
    pub(super) async fn second_factor_methods(
        &self,
        conn: &mut DbConn,
        user_id: i64,
    ) -> Result<Vec<Method>, AuthError> {
        #[allow(unused_mut)]
        let mut methods = mfa::methods(conn, user_id).await?;
        #[cfg(feature = "passkeys")]
        if !methods.is_empty()
            && self.webauthn.is_some()
            && !crate::passkey::list_stored(conn, user_id).await?.is_empty()
        {
            methods.push(Method::Passkey);
        }
        Ok(methods)
    }

    /// Starts a TOTP setup for `user`: a new secret (replacing an unconfirmed one),
    /// stored encrypted; MFA stays off until [`AuthService::mfa_confirm`].
    /// [`AuthError::MfaAlreadyEnabled`] when it is on. `actor` is `user` acting through
    /// a login in sudo mode ([`AuthService::sudo`]: an API key is
    /// [`AuthError::SessionRequired`], a session proven too long ago
    /// [`AuthError::ReauthenticationRequired`]).
    pub async fn mfa_setup(
        &self,
        db: &Database,
        user: &U,
        actor: &Actor,
    ) -> Result<totp::Setup, AuthError> {
        self.sudo(actor, user.id())?;
        let client = actor.client();
        let config = self.mfa_or_refuse()?;
        let mut conn = db.conn().await?;
        let setup =
            totp::begin(&mut conn, config, user.id(), user.account(), session::now()).await?;
        self.audit_user(
            &mut conn,
            client,
            EventType::MfaSetupStarted,
            user,
            json!({}),
        )
        .await?;
        Ok(setup)
    }

    /// Confirms the pending setup with a code from the authenticator: MFA is on, and the
    /// answer is the new backup codes (shown once). The actor's session (its login)
    /// counts as having passed the second factor. A wrong code is
    /// [`AuthError::InvalidCode`] (throttled and audited like a login's). `actor` is
    /// `user` acting through a login ([`Actor::own_login`]).
    pub async fn mfa_confirm(
        &self,
        db: &Database,
        user: &U,
        actor: &Actor,
        code: &str,
    ) -> Result<Vec<String>, AuthError> {
        let current = actor.own_login(user.id())?;
        let client = actor.client();
        let config = self.mfa_or_refuse()?;
        let reserved = self
            .reserve_code_attempt(db, user, client, "confirm")
            .await?;
        let now = session::now();
        let mut conn = db.conn().await?;
        let codes = conn
            .transaction(
                async |conn: &mut DbConn| -> Result<Option<Vec<String>>, AuthError> {
                    if !totp::accept(conn, config, user.id(), code, now, true).await? {
                        return Ok(None);
                    }
                    let key = backup_codes::CodeKey::of(config);
                    Ok(Some(
                        backup_codes::replace(conn, &key, user.id(), now).await?,
                    ))
                },
            )
            .await;
        let codes = match codes {
            Ok(Some(codes)) => codes,
            Ok(None) => {
                return Err(self
                    .code_refused(&mut conn, &reserved, user, client, Method::Totp, "confirm")
                    .await);
            }
            Err(e) => {
                self.attempt_settled(&mut conn, &reserved, false).await?;
                return Err(e);
            }
        };
        self.attempt_settled(&mut conn, &reserved, true).await?;
        session::reauthenticated(&mut conn, current.id, user.id(), now, true).await?;
        self.audit_user(&mut conn, client, EventType::MfaEnabled, user, json!({}))
            .await?;
        tracing::info!(user_id = user.id(), "MFA enabled");
        drop(conn);
        self.credential_notice(
            db,
            user.id(),
            "two-factor authentication was turned on".into(),
            false,
        );
        Ok(codes)
    }

    /// The login's second step: `mfa_token` from [`AuthService::login`] (or a token login)
    /// and a code. A right code uses the token up and finishes the login as it started:
    /// a session, or a token pair. A wrong one is [`AuthError::InvalidCode`] (throttled
    /// per account; the token stays usable until it expires); an unknown, used or expired
    /// token is [`AuthError::MfaTokenRejected`].
    pub async fn complete_mfa(
        &self,
        db: &Database,
        mfa_token: &str,
        proof: MfaProof<'_>,
        client: &ClientInfo,
    ) -> Result<MfaLogin<U>, AuthError> {
        let now = session::now();
        let (found, user) = {
            let mut conn = db.conn().await?;
            let Some(found) = challenge::find(&mut conn, mfa_token, now).await? else {
                tracing::info!("MFA step: unknown or expired mfa_token");
                return Err(AuthError::MfaTokenRejected);
            };
            let user = U::find_by_id(&mut conn, found.user_id).await?;
            match user {
                Some(user) if user.is_active() => (found, user),
                _ => {
                    // Deleted or deactivated since the password step.
                    challenge::consume(&mut conn, found.id).await?;
                    return Err(AuthError::MfaTokenRejected);
                }
            }
        };
        let method = self
            .verify_second_factor(db, &user, proof, client, "login")
            .await?;
        {
            let mut conn = db.conn().await?;
            if !challenge::consume(&mut conn, found.id).await? {
                // A concurrent request with the same token finished the login first.
                return Err(AuthError::MfaTokenRejected);
            }
        }
        let done = self
            .complete_login(db, user, &found.platform, client, Some(method))
            .await?;
        match found.finish {
            Finish::Session => Ok(MfaLogin::Session(done)),
            finish => {
                let (user, pair) = self.tokens_for_login(db, done).await?;
                Ok(MfaLogin::Tokens { user, pair, finish })
            }
        }
    }

    /// Turns MFA off for `user`, who gives their password and a code (TOTP or backup),
    /// acting through a login ([`Actor::own_login`]).
    /// [`AuthError::MfaNotConfigured`] on a server without MFA, before anything is checked.
    /// The authenticator, the backup codes and open login challenges are deleted.
    pub async fn mfa_disable(
        &self,
        db: &Database,
        user: &U,
        password: &str,
        code: &str,
        actor: &Actor,
    ) -> Result<(), AuthError> {
        actor.own_login(user.id())?;
        let client = actor.client();
        self.mfa_or_refuse()?;
        self.confirm_password(db, user, password, client, EventType::MfaFailure)
            .await?;
        self.verify_any_code(db, user, code, client, "disable")
            .await?;
        let mut conn = db.conn().await?;
        conn.transaction(async |conn: &mut DbConn| mfa::forget_user(conn, user.id()).await)
            .await?;
        self.audit_user(
            &mut conn,
            client,
            EventType::MfaDisabled,
            user,
            json!({ "by": By::User.to_json() }),
        )
        .await?;
        tracing::info!(user_id = user.id(), "MFA disabled");
        drop(conn);
        self.credential_notice(
            db,
            user.id(),
            "two-factor authentication was turned off".into(),
            false,
        );
        Ok(())
    }

    /// New backup codes for `user` (the old ones stop working), who gives their password
    /// and a code (TOTP or backup), acting through a login ([`Actor::own_login`]). [`AuthError::MfaNotConfigured`] on a server without
    /// MFA.
    pub async fn mfa_regenerate_backup_codes(
        &self,
        db: &Database,
        user: &U,
        password: &str,
        code: &str,
        actor: &Actor,
    ) -> Result<Vec<String>, AuthError> {
        actor.own_login(user.id())?;
        let client = actor.client();
        let config = self.mfa_or_refuse()?;
        self.confirm_password(db, user, password, client, EventType::MfaFailure)
            .await?;
        self.verify_any_code(db, user, code, client, "backup_codes")
            .await?;
        let mut conn = db.conn().await?;
        let codes = conn
            .transaction(
                async |conn: &mut DbConn| -> Result<Vec<String>, AuthError> {
                    if !totp::is_enabled(conn, user.id()).await? {
                        return Err(AuthError::MfaNotEnabled);
                    }
                    let key = backup_codes::CodeKey::of(config);
                    Ok(backup_codes::replace(conn, &key, user.id(), session::now()).await?)
                },
            )
            .await?;
        self.audit_user(
            &mut conn,
            client,
            EventType::MfaBackupCodesRegenerated,
            user,
            json!({}),
        )
        .await?;
        Ok(codes)
    }

    /// Proves again, in the actor's session, that the user is who they are: with their password,
    /// or with a code (which also marks the session as having passed a second factor).
    /// Guards with `fresh = ".."` then accept the session for that long. Answers how
    /// (`password`, `totp` or `backup_code`). `actor` is `user` acting through the
    /// login to refresh ([`Actor::own_login`]).
    pub async fn reauthenticate(
        &self,
        db: &Database,
        user: &U,
        actor: &Actor,
        password: Option<&str>,
        code: Option<&str>,
    ) -> Result<&'static str, AuthError> {
        let current = actor.own_login(user.id())?;
        let client = actor.client();
        let (mfa, method) = match (password, code) {
            (Some(password), None) => {
                // A directory's user proves it with their directory password.
                self.confirm_password_with(
                    db,
                    user,
                    password,
                    client,
                    EventType::LoginFailure,
                    true,
                )
                .await?;
                (false, "password")
            }
            (None, Some(code)) => {
                let method = self
                    .verify_any_code(db, user, code, client, "reauthenticate")
                    .await?;
                (true, method.as_str())
            }
            _ => {
                return Err(AuthError::Invalid(
                    "give either `password` or `code`".into(),
                ));
            }
        };
        self.proven_again(
            db,
            user,
            current.id,
            mfa,
            client,
            json!({ "method": method }),
        )
        .await?;
        Ok(method)
    }

    /// Marks session `session_id` of `user` proven now (with `mfa`, as having passed a
    /// second factor) and audits `reauthenticated` with `detail` (its `method`, ...) and
    /// the session id: the end of every re-authentication, whatever the proof.
    pub(crate) async fn proven_again(
        &self,
        db: &Database,
        user: &U,
        session_id: i64,
        mfa: bool,
        client: &ClientInfo,
        mut detail: serde_json::Value,
    ) -> Result<(), AuthError> {
        let mut conn = db.conn().await?;
        session::reauthenticated(&mut conn, session_id, user.id(), session::now(), mfa).await?;
        detail["session_id"] = json!(session_id);
        self.audit_user(&mut conn, client, EventType::Reauthenticated, user, detail)
            .await
    }

    /// [`AuthService::reauthenticate`] with a passkey: the assertion `credential` for the
    /// ceremony of `token` ([`AuthService::passkey_reauth_start`], used up whatever
    /// happens), checked and throttled like a second factor. The session is proven again
    /// and counts as having passed a second factor; audited `reauthenticated` (method
    /// `passkey`). For users without a local password too: their passkey proves them.
    #[cfg(feature = "passkeys")]
    pub async fn reauthenticate_with_passkey(
        &self,
        db: &Database,
        user: &U,
        actor: &Actor,
        token: &str,
        credential: &webauthn_rs::prelude::PublicKeyCredential,
    ) -> Result<(), AuthError> {
        let current = actor.own_login(user.id())?;
        let client = actor.client();
        let proof = MfaProof::Passkey {
            ceremony: token,
            credential,
        };
        self.verify_second_factor(db, user, proof, client, "reauthenticate")
            .await?;
        self.proven_again(
            db,
            user,
            current.id,
            true,
            client,
            json!({ "method": "passkey" }),
        )
        .await
    }

    /// A code that may be a TOTP code (6 digits) or a backup code.
    async fn verify_any_code(
        &self,
        db: &Database,
        user: &U,
        code: &str,
        client: &ClientInfo,
        step: &str,
    ) -> Result<Method, AuthError> {
        let digits = code.chars().filter(|c| !c.is_whitespace()).count();
        let proof = if digits == 6
            && code
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_whitespace())
        {
            MfaProof::Totp(code)
        } else {
            MfaProof::BackupCode(code)
        };
        self.verify_second_factor(db, user, proof, client, step)
            .await
    }

    /// Checks a second factor of `user` under the code throttle: a wrong one counts and
    /// is audited (`step` says where), a right backup code is used up.
    async fn verify_second_factor(
        &self,
        db: &Database,
        user: &U,
        proof: MfaProof<'_>,
        client: &ClientInfo,
        step: &str,
    ) -> Result<Method, AuthError> {
        let method = proof.method();
        let reserved = self.reserve_code_attempt(db, user, client, step).await?;
        let now = session::now();
        let mut conn = db.conn().await?;
        let right = match proof {
            MfaProof::Totp(code) => match self.mfa_config() {
                Some(config) => {
                    match totp::accept(&mut conn, config, user.id(), code, now, false).await {
                        Ok(right) => Ok(right),
                        Err(AuthError::MfaNotEnabled) => Ok(false),
                        Err(e) => Err(e),
                    }
                }
                // Without the key no TOTP code can be checked (nor a keyed backup code).
                None => Err(AuthError::MfaNotConfigured),
            },
            MfaProof::BackupCode(code) => {
                // Keyed digests need the MFA key: without it only codes stored by earlier
                // versions can be checked, and any other code is not a wrong one.
                let key = self.mfa_config().map(backup_codes::CodeKey::of);
                match backup_codes::redeem(&mut conn, key.as_ref(), user.id(), code, now).await {
                    Ok(false) if key.is_none() => Err(AuthError::MfaNotConfigured),
                    other => other.map_err(AuthError::from),
                }
            }
            #[cfg(feature = "passkeys")]
            MfaProof::Passkey {
                ceremony,
                credential,
            } => {
                self.passkey_second_factor(&mut conn, user.id(), ceremony, credential)
                    .await
            }
        };
        match right {
            Ok(true) => {
                self.attempt_settled(&mut conn, &reserved, true).await?;
                if method == Method::BackupCode {
                    let remaining = backup_codes::remaining(&mut conn, user.id()).await?;
                    self.audit_user(
                        &mut conn,
                        client,
                        EventType::MfaBackupCodeUsed,
                        user,
                        json!({ "remaining": remaining, "step": step }),
                    )
                    .await?;
                }
                Ok(method)
            }
            Ok(false) => Err(self
                .code_refused(&mut conn, &reserved, user, client, method, step)
                .await),
            Err(e) => {
                self.attempt_settled(&mut conn, &reserved, false).await?;
                Err(e)
            }
        }
    }

    /// Reserves a code attempt for `user`: the account's `mfa` counter and the client IP.
    async fn reserve_code_attempt(
        &self,
        db: &Database,
        user: &U,
        client: &ClientInfo,
        step: &str,
    ) -> Result<Vec<crate::throttle::Reserved>, AuthError> {
        let mut keys = vec![(
            Key::new(Scope::Mfa, user.account()),
            self.throttle.account_limit,
        )];
        if let Some(ip) = &client.ip {
            keys.push((Key::ip(ip), self.throttle.ip_limit));
        }
        let step = step.to_owned();
        self.reserve_attempt(db, &keys, move || {
            client
                .event(EventType::MfaFailure)
                .user(user.id(), user.account())
                .detail(json!({ "step": step }))
        })
        .await
    }

    /// A wrong code: the attempt counts, the refusal is audited; the error to answer.
    async fn code_refused(
        &self,
        conn: &mut DbConn,
        reserved: &[crate::throttle::Reserved],
        user: &U,
        client: &ClientInfo,
        method: Method,
        step: &str,
    ) -> AuthError {
        tracing::info!(
            user_id = user.id(),
            method = method.as_str(),
            step,
            "second factor refused"
        );
        let recorded = async {
            self.attempt_failed(conn, reserved, user.account(), client)
                .await?;
            self.audit_user(
                conn,
                client,
                EventType::MfaFailure,
                user,
                json!({ "method": method.as_str(), "reason": "invalid_code", "step": step }),
            )
            .await
        };
        match recorded.await {
            Ok(()) => AuthError::InvalidCode,
            Err(e) => e,
        }
    }
}
