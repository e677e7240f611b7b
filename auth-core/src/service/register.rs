//! Registration: open (a taken account is a conflict) or quiet (nothing revealed), and the
//! verification mail that follows.

use super::{AuthService, ClientInfo};
use crate::audit::{EventType, NewEvent};
use crate::backend::AuthError;
use crate::backend::RegisterRequest;
use crate::db::{Database, DbConn};
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
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
}
