//! Account mail in the background: a bounded queue with a worker, the task tracker, and
//! draining it at shutdown.
//!
//! A request that sends mail puts a job on the queue and answers at once. The worker runs
//! a few jobs at a time; each job checks a connection out only to read or write what it
//! needs (the user, the token, the audit row) and never holds one across the SMTP session.
//! When the queue is full the mail is dropped with a warning in the log: the answer to
//! the request is the same either way.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

use super::{AuthService, ClientInfo};
use crate::account_mail::AccountMail;
use crate::account_token::{self, Purpose};
use crate::audit::EventType;
use crate::backend::{AuthError, BoxFuture};
use crate::db::{Database, DbConn};
use crate::throttle::{self, Key, Reservation, Scope};
use crate::user::UserStore;

/// Account mails that may wait to be sent, by default.
pub(super) const DEFAULT_MAIL_QUEUE: usize = 1024;

/// Account mails sent at once by the worker.
const MAIL_CONCURRENCY: usize = 4;

/// One queued mail: the work (nothing runs until the worker polls it) and the token that
/// keeps [`AuthService::wait_background`] waiting until it is done.
struct Job {
    what: &'static str,
    work: BoxFuture<'static, Result<(), AuthError>>,
    token: TaskTrackerToken,
}

/// The bounded queue in front of the mail worker. The worker starts with the first job
/// (on the runtime of the request that queued it).
pub(super) struct MailQueue {
    capacity: usize,
    tasks: TaskTracker,
    sender: OnceLock<mpsc::Sender<Job>>,
}

impl MailQueue {
    pub(super) fn new(capacity: usize, tasks: TaskTracker) -> Self {
        MailQueue {
            capacity: capacity.max(1),
            tasks,
            sender: OnceLock::new(),
        }
    }

    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Queues `work`, or drops it with a warning when the queue is full.
    fn push(&self, what: &'static str, work: BoxFuture<'static, Result<(), AuthError>>) {
        let sender = self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::channel(self.capacity);
            tokio::spawn(worker(rx, self.tasks.clone()));
            tx
        });
        let job = Job {
            what,
            work,
            token: self.tasks.token(),
        };
        if let Err(e) = sender.try_send(job) {
            let reason = match e {
                mpsc::error::TrySendError::Full(_) => "the mail queue is full",
                mpsc::error::TrySendError::Closed(_) => "the mail worker has stopped",
            };
            tracing::warn!(task = what, reason, "account mail dropped");
        }
    }
}

async fn worker(mut rx: mpsc::Receiver<Job>, tasks: TaskTracker) {
    let slots = Arc::new(Semaphore::new(MAIL_CONCURRENCY));
    while let Some(job) = rx.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        tasks.spawn(async move {
            let Job { what, work, token } = job;
            if let Err(e) = work.await {
                tracing::warn!(error = %e, task = what, "account mail failed");
            }
            drop((token, slot));
        });
    }
}

/// The kind of token mail [`AuthService::mail_token`] sends: through which sender, for
/// what (the purpose picks the message, the token's lifetime and the audit event), and
/// whether it is first counted against the account's mail limit.
pub(super) struct TokenMail<'a> {
    pub(super) mail: &'a AccountMail,
    pub(super) purpose: Purpose,
    pub(super) count: bool,
}

impl<U: UserStore> AuthService<U> {
    /// Waits until every account mail queued so far has been sent (or has failed): call it
    /// at shutdown so that no mail is lost, or in tests.
    pub async fn wait_background(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }

    pub(super) fn mailer(&self) -> Result<AccountMail, AuthError> {
        self.mail.clone().ok_or(AuthError::MailNotConfigured)
    }

    /// Queues `work` for the mail worker; its error is logged (it has no one to go to).
    pub(super) fn background(
        &self,
        what: &'static str,
        work: impl std::future::Future<Output = Result<(), AuthError>> + Send + 'static,
    ) {
        self.queue.push(what, Box::pin(work));
    }

    /// Mails user `user_id` the notice that `change` happened to how they sign in (see
    /// [`AccountMail::credential_changed`]), in the background after the change committed;
    /// nothing without account mail or an address. With `list_remaining` (after a password
    /// set without the old one) the notice lists the passkeys, the authenticator and the
    /// linked identities still on the account, which the reset did not end.
    pub(super) fn credential_notice(
        &self,
        db: &Database,
        user_id: i64,
        change: String,
        list_remaining: bool,
    ) {
        let Some(mail) = self.mail.clone() else {
            return;
        };
        let db = db.clone();
        self.background("credential notice", async move {
            let mut conn = db.conn().await?;
            let Some(user) = U::find_by_id(&mut conn, user_id).await? else {
                return Ok(());
            };
            let Some(to) = user.email().filter(|e| !e.is_empty()).map(str::to_owned) else {
                return Ok(());
            };
            let remaining = if list_remaining {
                remaining_ways_in(&mut conn, user_id).await?
            } else {
                Vec::new()
            };
            drop(conn);
            let notice = mail.credential_changed(&to, user.account(), &change, &remaining);
            mail.sender.send(&notice).await.map_err(AuthError::Mail)
        });
    }

    /// The account-mail key of an account name, with its limit.
    pub(super) fn mail_account_key(&self, account: &str) -> (Key, u32) {
        (
            Key::new(Scope::MailAccount, account),
            self.mail_throttle.account_limit,
        )
    }

    /// The account-mail key of the client's IP, with its limit, if the IP is known.
    pub(super) fn mail_ip_key(&self, client: &ClientInfo) -> Option<(Key, u32)> {
        let ip = client.ip.as_deref()?;
        Some((Key::new(Scope::MailIp, ip), self.mail_throttle.ip_limit))
    }

    /// Mails `user` a new single-use token (a background job's work once the user is
    /// found): nothing is sent when the user has no e-mail address or, when `what.count`
    /// says so, when the mail is over the account's mail limit. The token replaces the
    /// user's earlier ones of its purpose, in a transaction that first locks the user's row
    /// ([`UserStore::lock`]), so that jobs for one user issue one after the other, each
    /// token replacing the one before (on MySQL/MariaDB, overlapping issues deadlocked and
    /// a mail was lost); nothing is sent when the user is gone by then. `conn`, the connection of the lookups, is released before
    /// the SMTP session; the request is audited after it. `true` when the mail was sent.
    pub(super) async fn mail_token(
        &self,
        db: &Database,
        mut conn: DbConn,
        user: &U,
        client: &ClientInfo,
        what: TokenMail<'_>,
    ) -> Result<bool, AuthError> {
        let TokenMail {
            mail,
            purpose,
            count,
        } = what;
        let Some(email) = user.email().filter(|e| !e.is_empty()) else {
            return Ok(false);
        };
        if count {
            let key = [self.mail_account_key(user.account())];
            if self.count_mail(&mut conn, &key).await?.is_some() {
                return Ok(false);
            }
        }
        let (id, ttl) = (user.id(), self.tokens.ttl(purpose));
        let token = conn
            .transaction(async |conn: &mut DbConn| {
                if !U::lock(conn, id).await? {
                    return Ok::<_, AuthError>(None);
                }
                let token = account_token::issue(conn, purpose, id, Some(email), ttl).await?;
                Ok(Some(token))
            })
            .await?;
        drop(conn);
        let Some(token) = token else {
            return Ok(false);
        };
        let (message, event) = match purpose {
            Purpose::PasswordReset => (
                mail.reset(email, user.account(), &token, ttl),
                EventType::PasswordResetRequested,
            ),
            Purpose::VerifyEmail => (
                mail.verify(email, user.account(), &token, ttl),
                EventType::VerifyRequested,
            ),
            Purpose::EmailChange => (
                mail.confirm_new_email(email, user.account(), &token, ttl),
                EventType::EmailChangeRequested,
            ),
        };
        mail.sender.send(&message).await.map_err(AuthError::Mail)?;
        let mut conn = db.conn().await?;
        let detail = match purpose {
            Purpose::EmailChange => json!({ "new": email }),
            _ => json!({ "email": email }),
        };
        self.audit_user(&mut conn, client, event, user, detail)
            .await?;
        Ok(true)
    }

    /// Counts a mail a logged-in user asked for against the account's and the client IP's
    /// mail limits: [`AuthError::Throttled`] over either (the user is logged in: there is
    /// nothing to hide).
    pub(super) async fn count_asked_mail(
        &self,
        conn: &mut DbConn,
        account: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let mut keys = vec![self.mail_account_key(account)];
        keys.extend(self.mail_ip_key(client));
        match self.count_mail(conn, &keys).await? {
            Some(retry_after) => Err(AuthError::Throttled { retry_after }),
            None => Ok(()),
        }
    }

    /// Counts one account mail against `keys`; `Some(retry_after)` when a limit is reached
    /// (nothing counted then, and the mail must not go out).
    pub(super) async fn count_mail(
        &self,
        conn: &mut DbConn,
        keys: &[(Key, u32)],
    ) -> Result<Option<Duration>, AuthError> {
        if !self.mail_throttle.enabled || keys.is_empty() {
            return Ok(None);
        }
        match throttle::reserve(conn, keys, &self.mail_throttle.counters()).await? {
            Reservation::Granted(_) => Ok(None),
            Reservation::Throttled(retry_after) => {
                tracing::info!(
                    scope = keys[0].0.scope.as_str(),
                    "account mail over the limit; not sent"
                );
                Ok(Some(retry_after))
            }
        }
    }
}

/// The ways into user `user_id`'s account that a password reset leaves: their passkeys,
/// their authenticator, their linked identities.
async fn remaining_ways_in(conn: &mut DbConn, user_id: i64) -> Result<Vec<String>, AuthError> {
    let mut items: Vec<String> = crate::passkey::list_for_user(conn, user_id)
        .await?
        .into_iter()
        .map(|p| format!("the passkey \"{}\"", p.name))
        .collect();
    if crate::mfa::totp::is_enabled(conn, user_id).await? {
        items.push("an authenticator app (two-factor authentication)".into());
    }
    items.extend(
        crate::identity::list_for_user(conn, user_id)
            .await?
            .into_iter()
            .map(|i| format!("the linked {} identity", i.provider)),
    );
    Ok(items)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// On a single-threaded runtime the worker cannot run between pushes made without an
    /// await: with room for one, the first job is queued and the other nine are dropped.
    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_drops_and_the_rest_is_waited_for() {
        let tasks = TaskTracker::new();
        let queue = MailQueue::new(1, tasks.clone());
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let ran = ran.clone();
            queue.push(
                "test",
                Box::pin(async move {
                    tokio::task::yield_now().await;
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }),
            );
        }
        tasks.close();
        tasks.wait().await;
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
