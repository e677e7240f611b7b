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

/// What a throttle key counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Failures for one account name.
    Account,
    /// Failures from one client IP.
    Ip,
}

impl Scope {
    /// The stored name: `account` or `ip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Ip => "ip",
        }
    }

    /// The scope with this stored name.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "account" => Some(Scope::Account),
            "ip" => Some(Scope::Ip),
            _ => None,
        }
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
        Key {
            scope: Scope::Account,
            value: crate::db::storable_text(account.trim_end_matches(' '), MAX_KEY_CHARS),
        }
    }

    /// The key of a client IP.
    pub fn ip(ip: &str) -> Key {
        Key {
            scope: Scope::Ip,
            value: crate::db::storable_text(ip, MAX_KEY_CHARS),
        }
    }
}

/// A key's state, for administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// Counts one failed login for `key` against `limit`; returns the lockout when this failure
/// reached the limit. Concurrent failures are serialised on the key's row, so none is lost.
pub async fn record_failure(
    conn: &mut DbConn,
    key: &Key,
    limit: u32,
    config: &ThrottleConfig,
) -> Result<Option<Lockout>> {
    let now = now();
    let (scope, value) = (key.scope.as_str(), key.value.as_str());
    let fresh = (
        t::scope.eq(scope),
        t::throttle_key.eq(value),
        t::failures.eq(0),
        t::window_started_at.eq(now),
        t::locked_until.eq(None::<PrimitiveDateTime>),
        t::lockouts.eq(0),
        t::updated_at.eq(now),
    );
    // Make sure the row exists, without failing when another request just made it.
    match conn {
        DbConn::Sqlite(c) => {
            diesel::insert_or_ignore_into(t::table)
                .values(fresh)
                .execute(&mut **c)
                .await?
        }
        DbConn::Postgres(c) => {
            diesel::insert_into(t::table)
                .values(fresh)
                .on_conflict_do_nothing()
                .execute(&mut **c)
                .await?
        }
        DbConn::Mysql(c) => {
            diesel::insert_or_ignore_into(t::table)
                .values(fresh)
                .execute(&mut **c)
                .await?
        }
    };
    let limit = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
    with_conn!(conn, |c| {
        c.transaction::<_, Error, _>(async |c| {
            let row = t::table.find((scope, value));
            // A no-op write takes the row lock first (SQLite: the write lock), so the read
            // below sees every committed failure and the next one waits for this one.
            diesel::update(row)
                .set(t::failures.eq(t::failures))
                .execute(c)
                .await?;
            let (mut failures, mut window_started, mut lockouts, updated): (
                i32,
                PrimitiveDateTime,
                i32,
                PrimitiveDateTime,
            ) = row
                .select((
                    t::failures,
                    t::window_started_at,
                    t::lockouts,
                    t::updated_at,
                ))
                .first(c)
                .await?;
            if now - updated >= config.forget_after {
                lockouts = 0;
            }
            if now - window_started >= config.window {
                failures = 0;
                window_started = now;
            }
            failures += 1;
            let mut locked_until: Option<PrimitiveDateTime> = None;
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
            let counters = (
                t::failures.eq(failures),
                t::window_started_at.eq(window_started),
                t::lockouts.eq(lockouts),
                t::updated_at.eq(now),
            );
            match locked_until {
                Some(until) => {
                    diesel::update(row)
                        .set((counters, t::locked_until.eq(Some(until))))
                        .execute(c)
                        .await?
                }
                None => diesel::update(row).set(counters).execute(c).await?,
            };
            Ok(lockout)
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
