//! Registration: open (a taken account is a conflict) or quiet (nothing revealed), and the
//! verification mail that follows.

use serde_json::json;

use super::{AuthService, ClientInfo};
use crate::audit::{By, EventType, NewEvent};
use crate::backend::AuthError;
use crate::backend::RegisterRequest;
use crate::db::{Database, DbConn};
use crate::user::{NewUser, UserStore};

impl<U: UserStore> AuthService<U> {
    /// Creates a user through the platform's backend, after checking the password with
    /// [`AuthService::check_password`]. The backend hashes with no connection held.
    pub async fn register(
        &self,
        db: &Database,
        platform: Option<&str>,
        req: &RegisterRequest,
    ) -> Result<U, AuthError> {
        let backend = self.backend(platform)?;
        self.check_password(&req.account, &req.password)?;
        let user = backend.register(db, req).await?;
        tracing::info!(user_id = user.id(), "user registered");
        {
            let mut conn = db.conn().await?;
            self.record(
                &mut conn,
                NewEvent::new(EventType::Registered).user(user.id(), user.account()),
            )
            .await?;
        }
        self.hooks.after_register(&user).await;
        Ok(user)
    }

    /// Registration that reveals nothing about existing accounts: a taken account name or
    /// address is not an error. The new user (when there is one) gets a verification mail;
    /// the owner of a taken account gets a notice instead (counted against the account-mail
    /// limits of that account and of the client's IP; over them, no notice). Either way the
    /// caller answers alike. Errors that do not depend on existing accounts (bad input,
    /// password policy) are returned as usual.
    pub async fn register_quietly(
        &self,
        db: &Database,
        platform: Option<&str>,
        req: &RegisterRequest,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        match self.register(db, platform, req).await {
            Ok(user) => {
                self.mail_verification_to_new(db, &user, client)?;
                Ok(())
            }
            Err(AuthError::Storage(crate::Error::Conflict { .. })) => {
                if let Some(mail) = self.mail.clone() {
                    let (this, db, account, email) = (
                        self.clone(),
                        db.clone(),
                        req.account.clone(),
                        req.email.clone(),
                    );
                    let ip_key = self.mail_ip_key(client);
                    self.background("registration notice", async move {
                        let (account, to) = {
                            let mut conn = db.conn().await?;
                            let mut user = U::find_by_account(&mut conn, &account).await?;
                            if user.is_none()
                                && let Some(email) = &email
                            {
                                user = U::find_by_email(&mut conn, email).await?;
                            }
                            let Some(user) = user else { return Ok(()) };
                            let Some(to) = user.email().filter(|e| !e.is_empty()) else {
                                return Ok(());
                            };
                            let mut keys = vec![this.mail_account_key(user.account())];
                            keys.extend(ip_key);
                            if this.count_mail(&mut conn, &keys).await?.is_some() {
                                return Ok(());
                            }
                            (user.account().to_owned(), to.to_owned())
                        };
                        mail.sender
                            .send(&mail.already_registered(&to, &account))
                            .await
                            .map_err(AuthError::Mail)
                    });
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// After a registration: mails the new user a verification link when account mail is
    /// configured and the user has an unverified address; does nothing otherwise. The mail
    /// counts against the account's mail limit (a new account's first).
    pub fn mail_verification_to_new(
        &self,
        db: &Database,
        user: &U,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if let Some(mail) = self.mail.clone()
            && user.email().is_some_and(|e| !e.is_empty())
            && !user.is_verified()
        {
            self.queue_verify(db, mail, user, client, true);
        }
        Ok(())
    }

    /// Creates an active superuser, for an operator (the command line's `createsuperuser`,
    /// [`crate::cli`]; `by` says who): the account name and address must pass
    /// [`crate::check_account_name`] and [`crate::check_email`], and the password
    /// [`AuthService::check_password`], as for a registration; it is hashed with no
    /// connection held, then the user is inserted with both flags set, in one
    /// transaction. Audited as `user.changed` (`action` `created`, `superuser` true, `by`);
    /// the `after_register` hook runs. A taken account name or address is
    /// [`crate::Error::Conflict`]; a model without an `is_superuser` field is
    /// [`AuthError::Invalid`].
    pub async fn create_superuser(
        &self,
        db: &Database,
        account: &str,
        email: Option<&str>,
        password: &str,
        by: &By,
    ) -> Result<U, AuthError> {
        crate::check_account_name(account)
            .map_err(|why| AuthError::Invalid(format!("account: {why}")))?;
        if let Some(email) = email {
            crate::check_email(email).map_err(|why| AuthError::Invalid(format!("email: {why}")))?;
        }
        self.check_password(account, password)?;
        let hash = self.hasher.hash(password).await?;
        let extra = serde_json::Map::new();
        let mut user = U::new_user(NewUser {
            account: account.to_owned(),
            password_hash: hash,
            email: email.map(str::to_owned),
            extra: &extra,
        })
        .map_err(AuthError::Invalid)?;
        user.set_superuser(true).map_err(AuthError::Invalid)?;
        // A model without an `is_active` field has only active users.
        if let Err(why) = user.set_active(true) {
            tracing::debug!(why, "createsuperuser: no is_active field");
        }
        let mut conn = db.conn().await?;
        let new: &U = &user;
        let user = conn
            .transaction(async |conn: &mut DbConn| new.insert(conn).await)
            .await?;
        tracing::info!(user_id = user.id(), "superuser created");
        let event = NewEvent::new(EventType::UserChanged)
            .user(user.id(), user.account())
            .detail(json!({ "action": "created", "superuser": true }))
            .by(by);
        self.record(&mut conn, event).await?;
        drop(conn);
        self.hooks.after_register(&user).await;
        Ok(user)
    }
}
