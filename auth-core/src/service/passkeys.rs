//! Passkey ceremonies (SPEC C10.2): registration for a logged-in user and the
//! usernameless login, with webauthn-rs. The ceremonies' state stays server-side
//! ([`crate::passkey::start_ceremony`]); the caller keeps only the token of the cookie.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
};

use super::{Actor, AuthService, ClientInfo};
use crate::audit::EventType;
use crate::backend::AuthError;
use crate::db::{Database, DbConn};
use crate::mfa::Method;
use crate::passkey::{self, CeremonyKind, NewPasskey, PasskeyInfo, WebauthnConfig};
use crate::session::{self, Session};
use crate::user::UserStore;

/// The platform a passkey login records on its session and in the audit log.
pub const PASSKEY_PLATFORM: &str = "passkey";

/// A started ceremony: the options for the browser (`navigator.credentials.create` or
/// `get`, as webauthn-rs serializes them) and the token of the ceremony cookie.
pub struct CeremonyStart {
    /// The options, JSON (`{"publicKey": {...}}`).
    pub options: Value,
    /// The ceremony token: for the cookie only, never in a body.
    pub token: String,
}

impl std::fmt::Debug for CeremonyStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CeremonyStart").finish_non_exhaustive()
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Storage(crate::Error::Config(format!("passkeys: {what}: {e}")))
}

/// Records an accepted assertion on the stored passkey `id`: its last use, and its new
/// counter and backup state when the authenticator reported a change.
async fn record_assertion(
    conn: &mut DbConn,
    id: i64,
    key: &mut Passkey,
    result: &webauthn_rs::prelude::AuthenticationResult,
) -> Result<(), AuthError> {
    let updated = if result.needs_update() && key.update_credential(result) == Some(true) {
        Some(serde_json::to_string(key).map_err(|e| internal("passkey", e))?)
    } else {
        None
    };
    passkey::record_use(conn, id, session::now(), updated.as_deref()).await?;
    Ok(())
}

impl<U: UserStore> AuthService<U> {
    /// The relying party, or [`AuthError::PasskeysNotConfigured`].
    pub fn webauthn_config(&self) -> Result<&WebauthnConfig, AuthError> {
        self.webauthn
            .as_ref()
            .ok_or(AuthError::PasskeysNotConfigured)
    }

    /// Starts registering a passkey for `user`: a discoverable (resident) credential with
    /// user verification required; the user's passkeys are excluded (no duplicate on one
    /// authenticator). The ceremony is bound to `user`, who acts through a login in sudo
    /// mode ([`AuthService::sudo`]: an API key never adds a way to log in, nor does a
    /// session whose last proof of identity is too old).
    pub async fn passkey_register_start(
        &self,
        db: &Database,
        user: &U,
        actor: &Actor,
    ) -> Result<CeremonyStart, AuthError> {
        self.sudo(actor, user.id())?;
        let rp = self.webauthn_config()?;
        let mut conn = db.conn().await?;
        let stored = passkey::list_stored(&mut conn, user.id()).await?;
        let handle = match stored.first() {
            Some(first) => uuid::Uuid::parse_str(&first.user_handle)
                .map_err(|e| internal("stored user handle", e))?,
            None => uuid::Uuid::new_v4(),
        };
        let mut exclude = Vec::with_capacity(stored.len());
        for row in &stored {
            let key: Passkey =
                serde_json::from_str(&row.passkey).map_err(|e| internal("stored passkey", e))?;
            exclude.push(key.cred_id().clone());
        }
        let (ccr, state) = rp
            .webauthn()
            .start_passkey_registration(
                handle,
                user.account(),
                user.account(),
                Some(exclude).filter(|e| !e.is_empty()),
            )
            .map_err(|e| internal("start registration", e))?;
        let mut options = serde_json::to_value(&ccr).map_err(|e| internal("options", e))?;
        // webauthn-rs asks for a non-resident key; a usernameless login needs the
        // authenticator to keep the credential (and the user handle) itself.
        if let Some(selection) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(Value::as_object_mut)
        {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
            selection.insert("userVerification".into(), "required".into());
        }
        let state = json!({
            "handle": handle.to_string(),
            "state": serde_json::to_value(&state).map_err(|e| internal("state", e))?,
        });
        let token = passkey::start_ceremony(
            &mut conn,
            CeremonyKind::Register,
            Some(user.id()),
            &state.to_string(),
        )
        .await?;
        Ok(CeremonyStart { options, token })
    }

    /// Finishes a registration started by [`AuthService::passkey_register_start`] for the
    /// same `user` (still in sudo mode), with the ceremony `token` of its cookie (used up
    /// whatever happens): stores the passkey as `name` and audits `passkey.added`.
    pub async fn passkey_register_finish(
        &self,
        db: &Database,
        user: &U,
        token: &str,
        credential: &RegisterPublicKeyCredential,
        name: &str,
        actor: &Actor,
    ) -> Result<PasskeyInfo, AuthError> {
        self.sudo(actor, user.id())?;
        let client = actor.client();
        let rp = self.webauthn_config()?;
        let mut conn = db.conn().await?;
        let ceremony =
            passkey::take_ceremony(&mut conn, token, CeremonyKind::Register, Some(user.id()))
                .await??;
        let stored: Value =
            serde_json::from_str(&ceremony.state).map_err(|e| internal("ceremony", e))?;
        let handle = stored["handle"].as_str().unwrap_or_default().to_owned();
        let state: PasskeyRegistration = serde_json::from_value(stored["state"].clone())
            .map_err(|e| internal("ceremony state", e))?;
        let key = rp
            .webauthn()
            .finish_passkey_registration(credential, &state)
            .map_err(|e| {
                tracing::info!(user_id = user.id(), reason = %e, "passkey registration refused");
                AuthError::PasskeyUnusable(format!("the passkey was not accepted: {e}"))
            })?;
        let credential_id = URL_SAFE_NO_PAD.encode(key.cred_id().as_ref());
        let json = serde_json::to_string(&key).map_err(|e| internal("passkey", e))?;
        let info = passkey::create(
            &mut conn,
            NewPasskey {
                user_id: user.id(),
                name,
                credential_id: &credential_id,
                user_handle: &handle,
                passkey: &json,
            },
        )
        .await?
        .ok_or_else(|| AuthError::PasskeyUnusable("this passkey is registered already".into()))?;
        self.audit_user(
            &mut conn,
            client,
            EventType::PasskeyAdded,
            user,
            json!({ "passkey_id": info.id, "name": info.name }),
        )
        .await?;
        tracing::info!(user_id = user.id(), passkey_id = info.id, "passkey added");
        drop(conn);
        self.credential_notice(
            db,
            user.id(),
            format!("a passkey \"{}\" was added", info.name),
            false,
        );
        Ok(info)
    }

    /// The passkeys of `user`, who acts through a login ([`Actor::own_login`]).
    pub async fn passkeys(
        &self,
        db: &Database,
        user: &U,
        actor: &Actor,
    ) -> Result<Vec<PasskeyInfo>, AuthError> {
        actor.own_login(user.id())?;
        self.webauthn_config()?;
        let mut conn = db.conn().await?;
        Ok(passkey::list_for_user(&mut conn, user.id()).await?)
    }

    /// Deletes the passkey `id` of `user`, who acts through a login in sudo mode
    /// ([`AuthService::sudo`]), and audits `passkey.removed`, in one transaction;
    /// [`crate::Error::NotFound`] when it is not theirs.
    pub async fn passkey_delete(
        &self,
        db: &Database,
        user: &U,
        actor: &Actor,
        id: i64,
    ) -> Result<(), AuthError> {
        self.sudo(actor, user.id())?;
        self.webauthn_config()?;
        let mut conn = db.conn().await?;
        conn.transaction(async |conn: &mut DbConn| {
            if !passkey::delete_for_owner(conn, user.id(), id).await? {
                return Err(crate::Error::NotFound("passkey".into()).into());
            }
            self.audit_user(
                conn,
                actor.client(),
                EventType::PasskeyRemoved,
                user,
                json!({ "passkey_id": id }),
            )
            .await?;
            Ok::<_, AuthError>(())
        })
        .await?;
        self.credential_notice(db, user.id(), "a passkey was removed".into(), false);
        Ok(())
    }

    /// Starts a usernameless login: the options name no credential (the authenticator
    /// offers its discoverable ones) and require user verification.
    pub async fn passkey_login_start(&self, db: &Database) -> Result<CeremonyStart, AuthError> {
        let rp = self.webauthn_config()?;
        let (rcr, state) = rp
            .webauthn()
            .start_discoverable_authentication()
            .map_err(|e| internal("start authentication", e))?;
        let mut options = serde_json::to_value(&rcr).map_err(|e| internal("options", e))?;
        // webauthn-rs marks it for conditional UI (autofill); a login button asks in the
        // usual modal way, which the browser does when the mediation is left out.
        if let Some(map) = options.as_object_mut() {
            map.remove("mediation");
        }
        let state = serde_json::to_string(&state).map_err(|e| internal("state", e))?;
        let mut conn = db.conn().await?;
        let token = passkey::start_ceremony(&mut conn, CeremonyKind::Login, None, &state).await?;
        Ok(CeremonyStart { options, token })
    }

    /// Finishes a usernameless login with the assertion `credential` and the ceremony
    /// `token` (used up whatever happens), then opens a session with
    /// [`AuthService::complete_login`] (platform `passkey`, second factor
    /// [`Method::Passkey`]: the session records `mfa_at`).
    ///
    /// Throttled per client IP (no account is named before the assertion is checked): a
    /// refused assertion counts as a failed attempt, audited `login.failure`. A counter
    /// that did not grow (a cloned authenticator) is refused; otherwise the passkey's
    /// counter and backup state are updated and its `last_used_at` written. An inactive
    /// user is refused with [`AuthError::Inactive`], as by the password login.
    pub async fn passkey_login_finish(
        &self,
        db: &Database,
        token: &str,
        credential: &PublicKeyCredential,
        client: &ClientInfo,
    ) -> Result<(U, String, Session), AuthError> {
        let rp = self.webauthn_config()?;
        let keys: Vec<_> = self
            .login_keys("", client)
            .into_iter()
            .filter(|(key, _)| key.scope == crate::throttle::Scope::Ip)
            .collect();
        let reserved = self
            .reserve_attempt(db, &keys, || client.event(EventType::LoginFailure))
            .await
            .inspect_err(|_| tracing::info!(platform = PASSKEY_PLATFORM, "login throttled"))?;
        let mut conn = db.conn().await?;
        let ceremony =
            match passkey::take_ceremony(&mut conn, token, CeremonyKind::Login, None).await? {
                Ok(ceremony) => ceremony,
                Err(e) => {
                    self.attempt_settled(&mut conn, &reserved, false).await?;
                    return Err(e.into());
                }
            };
        let checked = self
            .check_assertion(&mut conn, rp, &ceremony.state, credential)
            .await;
        let (stored, mut key, result) = match checked {
            Ok(ok) => ok,
            Err(reason) => {
                tracing::info!(platform = PASSKEY_PLATFORM, reason, "login refused");
                self.attempt_failed(&mut conn, &reserved, "", client)
                    .await?;
                self.record(
                    &mut conn,
                    client.event(EventType::LoginFailure).detail(
                        json!({ "reason": "invalid_credential", "detail": reason, "platform": PASSKEY_PLATFORM }),
                    ),
                )
                .await?;
                return Err(AuthError::PasskeyRejected);
            }
        };
        let user = match U::find_by_id(&mut conn, stored.user_id).await? {
            Some(user) if user.is_active() => user,
            found => {
                self.attempt_settled(&mut conn, &reserved, false).await?;
                let mut event = client.event(EventType::LoginFailure);
                let reason = match &found {
                    Some(user) => {
                        event = event.user(user.id(), user.account());
                        "inactive"
                    }
                    None => "invalid_credential",
                };
                self.record(
                    &mut conn,
                    event.detail(json!({ "reason": reason, "platform": PASSKEY_PLATFORM })),
                )
                .await?;
                tracing::info!(platform = PASSKEY_PLATFORM, reason, "login refused");
                return Err(match found {
                    Some(_) => AuthError::Inactive,
                    None => AuthError::PasskeyRejected,
                });
            }
        };
        self.attempt_settled(&mut conn, &reserved, true).await?;
        record_assertion(&mut conn, stored.id, &mut key, &result).await?;
        drop(conn);
        tracing::info!(user_id = user.id(), passkey_id = stored.id, "passkey login");
        // A passkey is possession and (user verification) a PIN or biometric: the session
        // counts as having passed a second factor.
        let done = self
            .complete_login(db, user, PASSKEY_PLATFORM, client, Some(Method::Passkey))
            .await?;
        Ok((done.user, done.token, done.session))
    }

    /// Starts the passkey form of a login's second step: `mfa_token` names the challenge
    /// of a password login ([`AuthService::login`]); the options list the passkeys of its
    /// user, and the ceremony is bound to that user. [`AuthError::MfaTokenRejected`] for
    /// an unknown, used or expired token; [`AuthError::PasskeyUnusable`] when the user has
    /// no passkey.
    pub async fn passkey_mfa_start(
        &self,
        db: &Database,
        mfa_token: &str,
    ) -> Result<CeremonyStart, AuthError> {
        self.webauthn_config()?;
        let mut conn = db.conn().await?;
        let found = crate::mfa::challenge::find(&mut conn, mfa_token, session::now())
            .await?
            .ok_or(AuthError::MfaTokenRejected)?;
        self.assertion_start(&mut conn, found.user_id).await
    }

    /// Starts a passkey re-authentication of `user`, who acts through a login
    /// ([`Actor::own_login`]): the options list their passkeys. Finish with
    /// [`AuthService::reauthenticate_with_passkey`] in the same browser; the session is
    /// then proven again (sudo mode), and counts as having passed a second factor.
    pub async fn passkey_reauth_start(
        &self,
        db: &Database,
        user: &U,
        actor: &Actor,
    ) -> Result<CeremonyStart, AuthError> {
        actor.own_login(user.id())?;
        self.webauthn_config()?;
        let mut conn = db.conn().await?;
        self.assertion_start(&mut conn, user.id()).await
    }

    /// An assertion ceremony over `user_id`'s passkeys (a second factor, or a
    /// re-authentication): [`AuthError::PasskeyUnusable`] when they have none.
    async fn assertion_start(
        &self,
        conn: &mut DbConn,
        user_id: i64,
    ) -> Result<CeremonyStart, AuthError> {
        let rp = self.webauthn_config()?;
        let mut keys = Vec::new();
        for row in passkey::list_stored(conn, user_id).await? {
            keys.push(
                serde_json::from_str::<Passkey>(&row.passkey)
                    .map_err(|e| internal("stored passkey", e))?,
            );
        }
        if keys.is_empty() {
            return Err(AuthError::PasskeyUnusable(
                "no passkey is registered for this account".into(),
            ));
        }
        let (rcr, state) = rp
            .webauthn()
            .start_passkey_authentication(&keys)
            .map_err(|e| internal("start authentication", e))?;
        let options = serde_json::to_value(&rcr).map_err(|e| internal("options", e))?;
        let state = serde_json::to_string(&state).map_err(|e| internal("state", e))?;
        let token =
            passkey::start_ceremony(conn, CeremonyKind::SecondFactor, Some(user_id), &state)
                .await?;
        Ok(CeremonyStart { options, token })
    }

    /// Checks `credential` as `user_id`'s second factor, against the ceremony of `token`
    /// (started for them by [`AuthService::passkey_mfa_start`]; used up whatever
    /// happens): `Ok(true)` when the assertion is right for one of their passkeys (its
    /// counter and use are then recorded), `Ok(false)` when it is refused (a cloned
    /// authenticator's counter included); an unknown or expired ceremony is an error.
    pub(super) async fn passkey_second_factor(
        &self,
        conn: &mut DbConn,
        user_id: i64,
        token: &str,
        credential: &PublicKeyCredential,
    ) -> Result<bool, AuthError> {
        let rp = self.webauthn_config()?;
        let ceremony =
            passkey::take_ceremony(conn, token, CeremonyKind::SecondFactor, Some(user_id))
                .await??;
        let state: PasskeyAuthentication =
            serde_json::from_str(&ceremony.state).map_err(|e| internal("ceremony state", e))?;
        let result = match rp
            .webauthn()
            .finish_passkey_authentication(credential, &state)
        {
            Ok(result) => result,
            Err(e) => {
                tracing::info!(user_id, reason = %e, "passkey second factor refused");
                return Ok(false);
            }
        };
        let credential_id = URL_SAFE_NO_PAD.encode(result.cred_id().as_ref());
        let Some(stored) = passkey::find_by_credential_id(conn, &credential_id)
            .await?
            .filter(|s| s.user_id == user_id)
        else {
            return Ok(false);
        };
        let mut key: Passkey =
            serde_json::from_str(&stored.passkey).map_err(|e| internal("stored passkey", e))?;
        record_assertion(conn, stored.id, &mut key, &result).await?;
        Ok(true)
    }

    /// Checks an assertion against the ceremony's state and the stored passkey it names;
    /// on refusal, why (for the log and the audit detail, never for the client).
    async fn check_assertion(
        &self,
        conn: &mut DbConn,
        rp: &WebauthnConfig,
        state: &str,
        credential: &PublicKeyCredential,
    ) -> Result<
        (
            passkey::StoredPasskey,
            Passkey,
            webauthn_rs::prelude::AuthenticationResult,
        ),
        &'static str,
    > {
        let state: DiscoverableAuthentication =
            serde_json::from_str(state).map_err(|_| "unreadable ceremony")?;
        let (handle, cred_id) = rp
            .webauthn()
            .identify_discoverable_authentication(credential)
            .map_err(|_| "no user handle")?;
        let credential_id = URL_SAFE_NO_PAD.encode(cred_id);
        let stored = passkey::find_by_credential_id(conn, &credential_id)
            .await
            .map_err(|_| "storage")?
            .ok_or("unknown credential")?;
        if stored.user_handle != handle.to_string() {
            return Err("user handle mismatch");
        }
        let key: Passkey =
            serde_json::from_str(&stored.passkey).map_err(|_| "unreadable passkey")?;
        let result = rp
            .webauthn()
            .finish_discoverable_authentication(credential, state, &[DiscoverableKey::from(&key)])
            .map_err(|e| match e {
                webauthn_rs::prelude::WebauthnError::CredentialPossibleCompromise => {
                    "counter went back (cloned authenticator?)"
                }
                _ => "assertion refused",
            })?;
        Ok((stored, key, result))
    }
}
