//! A user's external identities: listing them, and unlinking one without locking the
//! account out.

use serde_json::json;

use super::{Actor, AuthService};
use crate::audit::EventType;
use crate::backend::AuthError;
use crate::db::{Database, DbConn};
use crate::error::Error;
use crate::identity::{self, Identity};
use crate::user::UserStore;

impl<U: UserStore> AuthService<U> {
    /// `user`'s external identities, oldest first.
    pub async fn identities(&self, db: &Database, user: &U) -> Result<Vec<Identity>, AuthError> {
        let mut conn = db.conn().await?;
        Ok(identity::list_for_user(&mut conn, user.id()).await?)
    }

    /// Unlinks `user`'s identity `id`. [`Error::NotFound`] when it is not one of theirs;
    /// [`AuthError::LastLoginMethod`] when it is their last way in (no usable password, no
    /// other identity, no passkey). The check and the delete run in one transaction behind
    /// the user's row lock, so two unlinks racing cannot both pass it. `actor` is `user`
    /// acting through a login in sudo mode ([`AuthService::sudo`]).
    pub async fn unlink_identity(
        &self,
        db: &Database,
        user: &U,
        actor: &Actor,
        id: i64,
    ) -> Result<Identity, AuthError> {
        self.sudo(actor, user.id())?;
        let client = actor.client();
        let mut conn = db.conn().await?;
        let removed = conn
            .transaction(async |conn: &mut DbConn| {
                if !U::lock(conn, user.id()).await? {
                    return Err(AuthError::Storage(Error::NotFound("identity".into())));
                }
                // Read again under the lock: the password may have changed meanwhile.
                let current = U::find_by_id(conn, user.id())
                    .await?
                    .ok_or_else(|| Error::NotFound("identity".into()))?;
                let mine = identity::list_for_user(conn, user.id()).await?;
                let Some(target) = mine.into_iter().find(|i| i.id == id) else {
                    return Err(Error::NotFound("identity".into()).into());
                };
                if identity::login_methods(conn, &current).await?.count() <= 1 {
                    return Err(AuthError::LastLoginMethod);
                }
                identity::delete_for_owner(conn, user.id(), id).await?;
                Ok(target)
            })
            .await?;
        self.audit_user(
            &mut conn,
            client,
            EventType::IdentityUnlinked,
            user,
            json!({ "provider": removed.provider, "identity_id": removed.id }),
        )
        .await?;
        tracing::info!(user_id = user.id(), provider = %removed.provider, "identity unlinked");
        drop(conn);
        self.credential_notice(
            db,
            user.id(),
            format!("the {} identity was unlinked", removed.provider),
            false,
        );
        Ok(removed)
    }
}
