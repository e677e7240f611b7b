//! Holding one party of a race at a pause point ([`auth_axum::auth_core::pause`]) until the
//! test lets it go, and waiting for a session cache's log reads: orderings without sleeps.

use std::sync::{Arc, Mutex};

use auth_axum::Database;
use auth_axum::auth_core::pause::Point;
use tokio::sync::{oneshot, watch};

/// The pause points of one [`Database`] (one app instance).
pub struct Pauses {
    holds: Mutex<Vec<Hold>>,
    polls: watch::Sender<u64>,
}

/// A party to stop at its next arrival at a point.
struct Hold {
    point: Point,
    reached: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

/// A hold set with [`Pauses::hold`].
pub struct Held {
    reached: oneshot::Receiver<()>,
    release: oneshot::Sender<()>,
}

impl Held {
    /// Waits until the party is at the point (and held there).
    pub async fn reached(&mut self) {
        (&mut self.reached)
            .await
            .expect("the pause point was never reached");
    }

    /// Lets the party go on.
    pub fn release(self) {
        let _ = self.release.send(());
    }
}

impl Pauses {
    /// Installs pause points on `db` (its pool and every instance built on it).
    pub fn install(db: &Database) -> Arc<Pauses> {
        let pauses = Arc::new(Pauses {
            holds: Mutex::new(Vec::new()),
            polls: watch::channel(0).0,
        });
        let weak = Arc::downgrade(&pauses);
        db.set_pauses(Arc::new(move |point| {
            let Some(pauses) = weak.upgrade() else {
                return Box::pin(async {});
            };
            if point == Point::Polled {
                pauses.polls.send_modify(|n| *n += 1);
                return Box::pin(async {});
            }
            let hold = {
                let mut holds = pauses.holds.lock().unwrap();
                let at = holds.iter().position(|h| h.point == point);
                at.map(|i| holds.remove(i))
            };
            match hold {
                Some(hold) => Box::pin(async move {
                    let _ = hold.reached.send(());
                    let _ = hold.release.await;
                }),
                None => Box::pin(async {}),
            }
        }));
        pauses
    }

    /// Holds the next party to arrive at `point` there, until [`Held::release`].
    pub fn hold(&self, point: Point) -> Held {
        let (reached_tx, reached) = oneshot::channel();
        let (release, release_rx) = oneshot::channel();
        self.holds.lock().unwrap().push(Hold {
            point,
            reached: reached_tx,
            release: release_rx,
        });
        Held { reached, release }
    }

    /// How many times the session cache has read the revocation log so far.
    pub fn polls(&self) -> u64 {
        *self.polls.borrow()
    }

    /// Waits until the session cache has read the log `n` more times than `since` (a value
    /// of [`Pauses::polls`]): with `n = 2`, at least one whole read began after `since`.
    pub async fn polled(&self, since: u64, n: u64) {
        let mut rx = self.polls.subscribe();
        rx.wait_for(|&polls| polls >= since + n)
            .await
            .expect("the pause points outlive this wait");
    }
}
