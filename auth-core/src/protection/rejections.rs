//! How often a refused credential is written to the audit log: at most one
//! `bearer.rejected` row per client network and interval, so that a flood of bad bearer
//! tokens from one client (unauthenticated, so nothing else limits it) writes a bounded
//! number of rows. The row that ends a quiet interval carries in `detail.suppressed` how
//! many refusals were left out before it.
//!
//! A client is its IP address, an IPv6 one by its /64 (one host holds a whole /64). The
//! limiter keeps at most [`MAX_CLIENTS`] clients in memory (least recently seen leave
//! first), so a flood from many addresses cannot grow it either.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use moka::sync::Cache;

/// The most clients the limiter remembers at once.
pub(crate) const MAX_CLIENTS: u64 = 10_000;

/// The default interval between two rows for one client.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The per-client limiter of refusal rows.
#[derive(Clone)]
pub(crate) struct RejectionLimiter {
    interval: Duration,
    clients: Cache<String, Window>,
}

impl std::fmt::Debug for RejectionLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RejectionLimiter")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// One client's interval: when its last row was written, and the refusals left out since.
#[derive(Clone, Copy, Debug)]
struct Window {
    written_at: Instant,
    suppressed: u64,
}

impl Default for RejectionLimiter {
    fn default() -> Self {
        RejectionLimiter::new(DEFAULT_INTERVAL)
    }
}

impl RejectionLimiter {
    /// At most one row per client every `interval` (zero: every refusal is written).
    pub(crate) fn new(interval: Duration) -> RejectionLimiter {
        RejectionLimiter {
            interval,
            clients: Cache::builder()
                .max_capacity(MAX_CLIENTS)
                // A client quiet for a whole interval starts afresh anyway.
                .time_to_idle(interval.max(Duration::from_secs(1)))
                .build(),
        }
    }

    /// Whether the refusal of a credential from `ip` at `now` is written: `Some(n)` with
    /// the `n` refusals of that client left out since its last row, or `None` to leave
    /// this one out (counted for the next row).
    pub(crate) fn admit(&self, ip: Option<&str>, now: Instant) -> Option<u64> {
        if self.interval.is_zero() {
            return Some(0);
        }
        let key = client_key(ip);
        let mut admitted = None;
        self.clients.entry(key).and_compute_with(|entry| {
            use moka::ops::compute::Op;
            match entry.map(|e| e.into_value()) {
                Some(window) if now.duration_since(window.written_at) < self.interval => {
                    Op::Put(Window {
                        suppressed: window.suppressed + 1,
                        ..window
                    })
                }
                previous => {
                    admitted = Some(previous.map_or(0, |w| w.suppressed));
                    Op::Put(Window {
                        written_at: now,
                        suppressed: 0,
                    })
                }
            }
        });
        admitted
    }
}

/// The limiter's key of a client: its IPv4 address, its IPv6 /64, or its text as given
/// when it does not parse (no IP: one shared key).
fn client_key(ip: Option<&str>) -> String {
    let Some(text) = ip else {
        return "-".into();
    };
    match text.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_client_and_interval_with_the_count() {
        let limiter = RejectionLimiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(limiter.admit(Some("192.0.2.1"), t0), Some(0));
        for i in 1..=5 {
            assert_eq!(
                limiter.admit(Some("192.0.2.1"), t0 + Duration::from_secs(i)),
                None
            );
        }
        // Another client is not held back.
        assert_eq!(limiter.admit(Some("192.0.2.2"), t0), Some(0));
        // After the interval: a row, with the five left out.
        assert_eq!(
            limiter.admit(Some("192.0.2.1"), t0 + Duration::from_secs(61)),
            Some(5)
        );
        assert_eq!(
            limiter.admit(Some("192.0.2.1"), t0 + Duration::from_secs(62)),
            None
        );
    }

    #[test]
    fn an_ipv6_client_is_its_64() {
        assert_eq!(
            client_key(Some("2001:db8:1:2:aaaa::1")),
            client_key(Some("2001:db8:1:2:ffff:1:2:3"))
        );
        assert_ne!(
            client_key(Some("2001:db8:1:2::1")),
            client_key(Some("2001:db8:1:3::1"))
        );
        assert_eq!(client_key(Some("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(client_key(None), "-");
        let limiter = RejectionLimiter::default();
        let now = Instant::now();
        assert_eq!(limiter.admit(Some("2001:db8:1:2::1"), now), Some(0));
        assert_eq!(limiter.admit(Some("2001:db8:1:2::99"), now), None);
    }

    #[test]
    fn a_zero_interval_writes_every_refusal() {
        let limiter = RejectionLimiter::new(Duration::ZERO);
        let now = Instant::now();
        assert_eq!(limiter.admit(Some("192.0.2.1"), now), Some(0));
        assert_eq!(limiter.admit(Some("192.0.2.1"), now), Some(0));
    }
}
