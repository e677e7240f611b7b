//! Login throttling: failed logins counted per account name and per client IP, in the
//! database (table `auth_throttle`), so that the limits hold across every instance of the
//! application.
//!
//! Each key (an account name, or an IP) has a failure counter over a sliding window
//! ([`ThrottleConfig::window`]). When the counter reaches its limit the key is locked for a
//! cool-down, and the counter starts over. The cool-down doubles with each consecutive
//! lockout of the same key ([`ThrottleConfig::base_cooldown`] × 2ⁿ, capped at
//! [`ThrottleConfig::max_cooldown`]), and the escalation is forgotten after
//! [`ThrottleConfig::forget_after`] without failures. A lock therefore always ends: an
//! attacker can slow an account down but never lock its owner out for good, and an
//! administrator can clear any lock at once ([`clear`]).
//!
//! A successful login clears the account's counter (not the IP's: one valid account must
//! not let an attacker reset the counter of the address they are guessing from).
//!
//! Account keys are the account name as typed, whether or not such an account exists, so
//! that a throttled unknown account and a throttled real one answer alike.
//!
//! Attempts are counted *before* the password is checked ([`reserve`]): one transaction
//! refuses the attempt when a key is locked, and otherwise counts it against every key,
//! locking a key at once when the attempt reaches its limit. A success then takes the
//! attempt back ([`refund`], or [`clear`] for the account). So N parallel guesses never get
//! more than the limit verified. Account mail has counters of its own
//! ([`MailThrottleConfig`], scopes `mail_account` and `mail_ip`).

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use serde::Serialize;
use time::PrimitiveDateTime;

use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::auth_throttle as t;
use crate::session::now;
use crate::with_conn;

/// The longest key stored; longer account names (which no account can have) are cut.
const MAX_KEY_CHARS: usize = 191;

/// Throttling limits. The defaults: 5 failures for one account or 50 from one IP within
/// 15 minutes lock the key for 5 minutes, doubling with each consecutive lockout up to 1
/// hour; the escalation is forgotten after a day without failures.
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// Throttling on or off. Default on.
    pub enabled: bool,
    /// Failures for one account name within the window that lock it. Default 5.
    pub account_limit: u32,
    /// Failures from one client IP within the window that lock it. Default 50.
    pub ip_limit: u32,
    /// The counting window. Default 15 minutes.
    pub window: Duration,
    /// The first lock's length. Default 5 minutes.
    pub base_cooldown: Duration,
    /// The longest lock. Default 1 hour.
    pub max_cooldown: Duration,
    /// Escalation is forgotten after this long without a failure. Default 24 hours.
    pub forget_after: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            enabled: true,
            account_limit: 5,
            ip_limit: 50,
            window: Duration::from_secs(15 * 60),
            base_cooldown: Duration::from_secs(5 * 60),
            max_cooldown: Duration::from_secs(3600),
            forget_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl ThrottleConfig {
    /// Throttling off (for tests of other features, or apps that throttle elsewhere).
    pub fn disabled() -> Self {
        ThrottleConfig {
            enabled: false,
            ..ThrottleConfig::default()
        }
    }

    /// The cool-down of the `n`th consecutive lockout (1-based).
    pub fn cooldown(&self, n: u32) -> Duration {
        let factor = 1u32
            .checked_shl(n.saturating_sub(1).min(31))
            .unwrap_or(u32::MAX);
        self.base_cooldown
            .checked_mul(factor)
            .unwrap_or(self.max_cooldown)
            .min(self.max_cooldown)
    }
}

/// Limits on account mail (password-reset links, verification links, the notice of a
/// repeated private registration), counted per account and per client IP apart from the
/// login counters, so that they never lock a login. The defaults: 5 mails for one account
/// and 20 requests from one IP per hour. Over the limit, `forgot-password` still answers
/// 202 (nothing is revealed; the mail is just not sent) and `request-verify` answers 429
/// `too_many_attempts` with `Retry-After`.
#[derive(Debug, Clone)]
pub struct MailThrottleConfig {
    /// On or off. Default on.
    pub enabled: bool,
    /// Mails to one account within the window. Default 5.
    pub account_limit: u32,
    /// Mail requests from one client IP within the window. Default 20.
    pub ip_limit: u32,
    /// The window; reaching a limit blocks the key for this long. Default 1 hour.
    pub window: Duration,
}

impl Default for MailThrottleConfig {
    fn default() -> Self {
        MailThrottleConfig {
            enabled: true,
            account_limit: 5,
            ip_limit: 20,
            window: Duration::from_secs(3600),
        }
    }
}

impl MailThrottleConfig {
    /// No limits.
    pub fn disabled() -> Self {
        MailThrottleConfig {
            enabled: false,
            ..MailThrottleConfig::default()
        }
    }

    /// The same limits as counters for [`reserve`]: a fixed window, no escalation.
    pub fn counters(&self) -> ThrottleConfig {
        ThrottleConfig {
            enabled: self.enabled,
            account_limit: self.account_limit,
            ip_limit: self.ip_limit,
            window: self.window,
            base_cooldown: self.window,
            max_cooldown: self.window,
            forget_after: self.window,
        }
    }
}

/// What a throttle key counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Failures for one account name.
    Account,
    /// Failures from one client IP.
    Ip,
    /// Account mails to one account ([`MailThrottleConfig`]).
    MailAccount,
    /// Account-mail requests from one client IP ([`MailThrottleConfig`]).
    MailIp,
    /// Wrong second-factor codes for one account name (the login's MFA step). Kept apart
    /// from [`Scope::Account`], which a right password clears: knowing the password must
    /// not buy more code guesses.
    Mfa,
}

impl Scope {
    /// The stored name: `account`, `ip`, `mail_account`, `mail_ip` or `mfa`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Ip => "ip",
            Scope::MailAccount => "mail_account",
            Scope::MailIp => "mail_ip",
            Scope::Mfa => "mfa",
        }
    }

    /// The scope with this stored name.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "account" => Some(Scope::Account),
            "ip" => Some(Scope::Ip),
            "mail_account" => Some(Scope::MailAccount),
            "mail_ip" => Some(Scope::MailIp),
            "mfa" => Some(Scope::Mfa),
            _ => None,
        }
    }

    /// Whether the key's value is an account name (not an IP): `account`, `mail_account`
    /// and `mfa`.
    pub fn is_account(self) -> bool {
        matches!(self, Scope::Account | Scope::MailAccount | Scope::Mfa)
    }
}

/// A throttle key: a scope and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// What is counted.
    pub scope: Scope,
    /// The account name or the IP.
    pub value: String,
}

impl Key {
    /// The key of an account name: trailing spaces dropped (so `"alice "` counts against
    /// `alice` on every backend, as MySQL/MariaDB's `PAD SPACE` comparison of the key
    /// column would do anyway), cut to the stored length, a NUL (which no account holds)
    /// stored as U+FFFD.
    pub fn account(account: &str) -> Key {
        Key::new(Scope::Account, account.trim_end_matches(' '))
    }

    /// The key of a client IP.
    pub fn ip(ip: &str) -> Key {
        Key::new(Scope::Ip, ip)
    }

    /// The key of `value` in `scope` (cut and cleaned as [`Key::account`] does).
    pub fn new(scope: Scope, value: &str) -> Key {
        Key {
            scope,
            value: crate::db::storable_text(value, MAX_KEY_CHARS),
        }
    }
}

/// A key's state, for administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Lock {
    /// What is counted.
    pub scope: Scope,
    /// The account name or the IP.
    pub key: String,
    /// Failures in the current window.
    pub failures: i32,
    /// Locked until (UTC), if locked now.
    #[serde(with = "crate::timefmt::option")]
    pub locked_until: Option<PrimitiveDateTime>,
    /// Consecutive lockouts (the escalation level).
    pub lockouts: i32,
}

/// A failure that started a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// What was locked.
    pub scope: Scope,
    /// How long.
    pub cooldown: Duration,
    /// Which consecutive lockout this is (1 for the first).
    pub level: u32,
}

fn secs_until(until: PrimitiveDateTime, now: PrimitiveDateTime) -> Option<Duration> {
    let left = until - now;
    (left.is_positive()).then(|| {
        // Round up: a client that waits the announced seconds finds the lock gone.
        let whole = left.whole_seconds() as u64;
        let extra = u64::from(left.subsec_nanoseconds() > 0);
        Duration::from_secs(whole + extra)
    })
}

/// How long until every locked key in `keys` is free; `None` when none is locked. One
/// query, whatever the number of keys.
pub async fn retry_after(conn: &mut DbConn, keys: &[Key]) -> Result<Option<Duration>> {
    let now = now();
    let values: Vec<&str> = keys.iter().map(|k| k.value.as_str()).collect();
    let rows: Vec<(String, String, Option<PrimitiveDateTime>)> = with_conn!(conn, |c| {
        t::table
            .filter(t::throttle_key.eq_any(&values))
            .filter(t::locked_until.gt(now))
            .select((t::scope, t::throttle_key, t::locked_until))
            .load(c)
            .await
    })?;
    Ok(rows
        .into_iter()
        .filter(|(scope, value, _)| {
            keys.iter()
                .any(|k| k.scope.as_str() == scope && k.value == *value)
        })
        .filter_map(|(_, _, until)| secs_until(until?, now))
        .max())
}

/// One attempt granted on one key by [`reserve`]: counted already, to be refunded
/// ([`refund`]) when the attempt turns out not to be a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    /// The key counted.
    pub key: Key,
    /// The lock this attempt started by reaching the limit, if any. It stands as soon as
    /// the attempt is granted (so that no parallel attempt passes it), and [`refund`]
    /// lifts it again.
    pub lockout: Option<Lockout>,
    /// The escalation level before this attempt, restored when a lock it started is
    /// refunded.
    lockouts_before: i32,
    /// The failure count before this attempt, restored likewise.
    failures_before: i32,
}

/// What [`reserve`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Every key was free: the attempt is counted against each (in the order given).
    Granted(Vec<Reserved>),
    /// A key is locked: nothing was counted; retry after this long.
    Throttled(Duration),
}

/// Makes sure `key`'s row exists, without failing when another request just made it.
async fn ensure_row(conn: &mut DbConn, key: &Key, now: PrimitiveDateTime) -> Result<()> {
    let fresh = (
        t::scope.eq(key.scope.as_str()),
        t::throttle_key.eq(key.value.as_str()),
        t::failures.eq(0),
        t::window_started_at.eq(now),
        t::locked_until.eq(None::<PrimitiveDateTime>),
        t::lockouts.eq(0),
        t::updated_at.eq(now),
    );
    crate::match_conn!(
        conn,
        sqlite = |c| diesel::insert_or_ignore_into(t::table)
            .values(fresh)
            .execute(c)
            .await?,
        postgres = |c| diesel::insert_into(t::table)
            .values(fresh)
            .on_conflict_do_nothing()
            .execute(c)
            .await?,
        mysql = |c| diesel::insert_or_ignore_into(t::table)
            .values(fresh)
            .execute(c)
            .await?,
    );
    Ok(())
}

type Counters = (
    i32,
    PrimitiveDateTime,
    i32,
    PrimitiveDateTime,
    Option<PrimitiveDateTime>,
);

/// Reserves one attempt on every key of `keys` (each with its limit), atomically: in one
/// transaction the rows are locked (in a fixed order, so that two requests sharing a key
/// cannot deadlock), and either some key is locked (nothing is counted:
/// [`Reservation::Throttled`]) or the attempt is counted against every key
/// ([`Reservation::Granted`]). The attempt that reaches a key's limit locks the key at
/// once, before its outcome is known, so that N parallel attempts can never pass more
/// than the limit. Call it before verifying; [`refund`] each key the attempt did not fail
/// on (or [`clear`] it).
pub async fn reserve(
    conn: &mut DbConn,
    keys: &[(Key, u32)],
    config: &ThrottleConfig,
) -> Result<Reservation> {
    let now = now();
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| {
        (keys[a].0.scope.as_str(), &keys[a].0.value)
            .cmp(&(keys[b].0.scope.as_str(), &keys[b].0.value))
    });
    order.dedup_by(|a, b| keys[*a].0 == keys[*b].0);
    for &i in &order {
        ensure_row(conn, &keys[i].0, now).await?;
    }
    with_conn!(conn, |c| {
        c.transaction::<_, Error, _>(async |c| {
            // A no-op write takes each row lock first (SQLite: the write lock), in a fixed
            // order; only then are the rows read, so that the reads (MySQL: one snapshot,
            // taken at the first read) see every attempt committed before the locks.
            for &i in &order {
                let key = &keys[i].0;
                diesel::update(t::table.find((key.scope.as_str(), key.value.as_str())))
                    .set(t::failures.eq(t::failures))
                    .execute(c)
                    .await?;
            }
            let mut rows: Vec<(usize, Counters)> = Vec::with_capacity(order.len());
            for &i in &order {
                let key = &keys[i].0;
                let counters: Counters = t::table
                    .find((key.scope.as_str(), key.value.as_str()))
                    .select((
                        t::failures,
                        t::window_started_at,
                        t::lockouts,
                        t::updated_at,
                        t::locked_until,
                    ))
                    .first(c)
                    .await?;
                rows.push((i, counters));
            }
            let locked = rows
                .iter()
                .filter_map(|(_, (_, _, _, _, until))| secs_until((*until)?, now))
                .max();
            if let Some(retry_after) = locked {
                return Ok(Reservation::Throttled(retry_after));
            }
            let mut granted: Vec<(usize, Reserved)> = Vec::with_capacity(rows.len());
            for (i, (failures_before, window_started, lockouts_before, updated, _)) in rows {
                let (key, limit) = &keys[i];
                let limit = i32::try_from((*limit).max(1)).unwrap_or(i32::MAX);
                let mut lockouts = lockouts_before;
                if now - updated >= config.forget_after {
                    lockouts = 0;
                }
                let (mut failures, mut window_started) = (failures_before, window_started);
                if now - window_started >= config.window {
                    failures = 0;
                    window_started = now;
                }
                failures += 1;
                let mut locked_until = None;
                let mut lockout = None;
                if failures >= limit {
                    lockouts = lockouts.saturating_add(1);
                    let level = u32::try_from(lockouts).unwrap_or(1);
                    let cooldown = config.cooldown(level);
                    locked_until = Some(now + cooldown);
                    lockout = Some(Lockout {
                        scope: key.scope,
                        cooldown,
                        level,
                    });
                    failures = 0;
                    window_started = now;
                }
                let row = t::table.find((key.scope.as_str(), key.value.as_str()));
                diesel::update(row)
                    .set((
                        t::failures.eq(failures),
                        t::window_started_at.eq(window_started),
                        t::lockouts.eq(lockouts),
                        t::updated_at.eq(now),
                        t::locked_until.eq(locked_until),
                    ))
                    .execute(c)
                    .await?;
                granted.push((
                    i,
                    Reserved {
                        key: key.clone(),
                        lockout,
                        lockouts_before,
                        failures_before,
                    },
                ));
            }
            granted.sort_by_key(|(i, _)| *i);
            Ok(Reservation::Granted(
                granted.into_iter().map(|(_, r)| r).collect(),
            ))
        })
        .await
    })
}

/// Takes back an attempt [`reserve`] counted on one key (the attempt succeeded, or was
/// never checked): the count goes down by one, and a lock the attempt started is lifted
/// with its escalation step. An attempt already forgotten (the key was cleared, or its
/// window restarted) leaves nothing to take back.
pub async fn refund(conn: &mut DbConn, reserved: &Reserved) -> Result<()> {
    let key = &reserved.key;
    with_conn!(conn, |c| {
        c.transaction::<_, Error, _>(async |c| {
            let row = t::table.find((key.scope.as_str(), key.value.as_str()));
            diesel::update(row)
                .set(t::failures.eq(t::failures))
                .execute(c)
                .await?;
            let current: Option<(i32, i32, Option<PrimitiveDateTime>)> = row
                .select((t::failures, t::lockouts, t::locked_until))
                .first(c)
                .await
                .optional()?;
            let Some((failures, lockouts, locked_until)) = current else {
                return Ok(());
            };
            match &reserved.lockout {
                Some(lock) => {
                    // Only while the lock is still the one this attempt started.
                    let ours = i32::try_from(lock.level).ok() == Some(lockouts);
                    if ours && locked_until.is_some() {
                        diesel::update(row)
                            .set((
                                t::failures.eq(reserved.failures_before),
                                t::lockouts.eq(reserved.lockouts_before),
                                t::locked_until.eq(None::<PrimitiveDateTime>),
                            ))
                            .execute(c)
                            .await?;
                    }
                }
                None if failures > 0 => {
                    diesel::update(row)
                        .set(t::failures.eq(failures - 1))
                        .execute(c)
                        .await?;
                }
                None => {}
            }
            Ok(())
        })
        .await
    })
}

/// Forgets `key` entirely: its counter, its lock and its escalation (a successful login
/// for an account; an administrator's unlock). `false` when nothing was recorded.
pub async fn clear(conn: &mut DbConn, key: &Key) -> Result<bool> {
    let n = with_conn!(conn, |c| {
        diesel::delete(t::table.find((key.scope.as_str(), key.value.as_str())))
            .execute(c)
            .await
    })?;
    Ok(n > 0)
}

/// How long a key's row must have gone without an attempt before [`cleanup`] may delete
/// it without changing any answer: by then its window has passed, its escalation is
/// forgotten and any lock it had has ended, under the login limits and the mail limits
/// alike (the longest of their windows, `forget_after` and `max_cooldown`).
pub fn retention(login: &ThrottleConfig, mail: &MailThrottleConfig) -> Duration {
    // Mail counters lock for one window, and forget after one ([`MailThrottleConfig::counters`]).
    [
        login.window,
        login.forget_after,
        login.max_cooldown,
        mail.window,
    ]
    .into_iter()
    .max()
    .unwrap_or_default()
}

/// Deletes at most about `batch` rows of keys with no attempt since `before` and no lock in
/// force (take `before` as now minus [`retention`]); returns how many. Call until it
/// returns 0. A key attempted meanwhile is kept: the conditions are checked again by the
/// delete itself.
pub async fn cleanup(conn: &mut DbConn, before: PrimitiveDateTime, batch: i64) -> Result<usize> {
    let now = now();
    Ok(with_conn!(conn, |c| {
        let stale = || {
            t::table
                .filter(t::updated_at.lt(before))
                .filter(t::locked_until.is_null().or(t::locked_until.le(now)))
        };
        let keys: Vec<String> = stale().select(t::throttle_key).limit(batch).load(c).await?;
        if keys.is_empty() {
            Ok(0)
        } else {
            // By key value (the scopes of one value go together; each must be stale too).
            diesel::delete(stale().filter(t::throttle_key.eq_any(&keys)))
                .execute(c)
                .await
        }
    })?)
}

/// The keys locked now, longest lock first, at most `limit`.
pub async fn locked(conn: &mut DbConn, limit: i64) -> Result<Vec<Lock>> {
    let now = now();
    let rows: Vec<(String, String, i32, Option<PrimitiveDateTime>, i32)> = with_conn!(conn, |c| {
        t::table
            .filter(t::locked_until.gt(now))
            .order((t::locked_until.desc(), t::scope, t::throttle_key))
            .limit(limit)
            .select((
                t::scope,
                t::throttle_key,
                t::failures,
                t::locked_until,
                t::lockouts,
            ))
            .load(c)
            .await
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|(scope, key, failures, locked_until, lockouts)| {
            Some(Lock {
                scope: Scope::parse(&scope)?,
                key,
                failures,
                locked_until,
                lockouts,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldown_doubles_up_to_the_cap() {
        let c = ThrottleConfig::default();
        assert_eq!(c.cooldown(1), Duration::from_secs(300));
        assert_eq!(c.cooldown(2), Duration::from_secs(600));
        assert_eq!(c.cooldown(3), Duration::from_secs(1200));
        assert_eq!(c.cooldown(4), Duration::from_secs(2400));
        assert_eq!(c.cooldown(5), Duration::from_secs(3600));
        assert_eq!(c.cooldown(40), Duration::from_secs(3600));
        assert_eq!(c.cooldown(u32::MAX), Duration::from_secs(3600));
    }

    #[test]
    fn retry_after_rounds_up() {
        let now = now();
        let until = now + Duration::from_millis(1500);
        assert_eq!(secs_until(until, now), Some(Duration::from_secs(2)));
        assert_eq!(secs_until(now, now), None);
    }
}
