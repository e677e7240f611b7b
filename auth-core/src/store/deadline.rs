//! The client-side deadline of a statement (PostgreSQL, MySQL / MariaDB), and the
//! server-side statement timeout behind it.
//!
//! Every pooled connection of a server backend carries a [`Watchdog`]: Diesel's
//! instrumentation tells it when a statement starts and when it ends, and a statement still
//! running at its deadline is ended from outside, so that the request waiting on it gets
//! an error (answered 503 `unavailable`) instead of waiting on a lock or a dead server:
//!
//! - PostgreSQL: a cancel request to the server (the statement stops, its open transaction
//!   is not committed), then the connection's driver task is stopped, which closes the
//!   socket: the statement's future fails at once, whether or not the server answered (a
//!   server that does not answer the cancel gets half the deadline, at most a second).
//! - MySQL / MariaDB: `KILL QUERY` from a connection of its own (the statement fails with
//!   "query execution was interrupted").
//!
//! A connection whose watchdog fired, or whose statement failed for a reason that passes
//! (a lost connection, a deadlock: [`crate::error::is_transient`]), is never handed out
//! again: the pool's recycle check ([`recycle_check`]) discards it (on PostgreSQL a closed
//! client alone would be). A statement whose future was dropped (its request gone) has no
//! end event: its connection is discarded too, and cut at the deadline if it was still
//! running.
//!
//! The server bounds each statement too, a second after the client's deadline
//! ([`server_timeout`]): `statement_timeout` on PostgreSQL, `max_statement_time` (MariaDB;
//! `max_execution_time` on MySQL) and `innodb_lock_wait_timeout` on MySQL. A SQLite
//! statement runs on a thread of its own and cannot be cut: there the busy timeout, at most
//! the deadline, bounds the wait for another connection's lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::AsyncConnection;

/// How long a cancel request (or `KILL QUERY`) may take before the cut goes on without
/// it: half the deadline, at most a second.
fn cancel_wait(deadline: Duration) -> Duration {
    (deadline / 2).min(Duration::from_secs(1))
}

/// The server-side bound of a statement whose client-side deadline is `deadline`: a
/// second later, so that the client acts first and the server only when the client could
/// not.
pub(crate) fn server_timeout(deadline: Duration) -> Duration {
    deadline + Duration::from_secs(1)
}

/// What ends a statement that outlived its deadline.
pub(crate) enum Cut {
    /// The server's cancel request, then the driver task stopped (the socket closed).
    #[cfg(feature = "postgres")]
    Postgres {
        /// Cancels the running statement on the server.
        cancel: tokio_postgres::CancelToken,
        /// The task that drives the connection's socket.
        driver: tokio::task::AbortHandle,
    },
    /// `KILL QUERY` of the connection's thread.
    #[cfg(feature = "mysql")]
    Mysql(diesel_async::MysqlCancelToken),
}

impl Cut {
    async fn run(&self, deadline: Duration) {
        let wait = cancel_wait(deadline);
        match self {
            #[cfg(feature = "postgres")]
            Cut::Postgres { cancel, driver } => {
                let sent =
                    tokio::time::timeout(wait, cancel.cancel_query(tokio_postgres::NoTls)).await;
                if !matches!(sent, Ok(Ok(()))) {
                    tracing::warn!("the cancel request of a statement past its deadline failed");
                }
                driver.abort();
            }
            #[cfg(feature = "mysql")]
            Cut::Mysql(cancel) => {
                let sent = tokio::time::timeout(wait, cancel.cancel_query()).await;
                if !matches!(sent, Ok(Ok(()))) {
                    tracing::warn!("KILL QUERY of a statement past its deadline failed");
                }
            }
        }
    }
}

/// The instrumentation of a pooled server connection: arms a timer when a statement starts,
/// disarms it when no statement is left running, and cuts the connection ([`Cut`]) when the
/// timer goes off. Events are passed on to the instrumentation Diesel would have given the
/// connection (see `diesel::connection::set_default_instrumentation`).
pub(crate) struct Watchdog {
    deadline: Duration,
    cut: Arc<Cut>,
    fired: Arc<AtomicBool>,
    /// Statements started and not ended (several when a connection pipelines).
    running: usize,
    timer: Option<tokio::task::AbortHandle>,
    inner: Option<Box<dyn Instrumentation>>,
}

impl Watchdog {
    /// The watchdog of a connection opened to `url`. The instrumentation it passes events
    /// on to is told of that opening, as the one the connection had was.
    pub(crate) fn new(deadline: Duration, cut: Cut, url: &str) -> Watchdog {
        let mut inner = diesel::connection::get_default_instrumentation();
        if let Some(inner) = &mut inner {
            opened(&mut **inner, url);
        }
        Watchdog {
            deadline,
            cut: Arc::new(cut),
            fired: Arc::new(AtomicBool::new(false)),
            running: 0,
            timer: None,
            inner,
        }
    }

    /// (Re)starts the timer: the latest statement gets the whole deadline.
    fn arm(&mut self) {
        self.disarm();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (deadline, cut, fired) = (self.deadline, self.cut.clone(), self.fired.clone());
        let timer = runtime.spawn(async move {
            tokio::time::sleep(deadline).await;
            if fired.swap(true, Ordering::SeqCst) {
                return;
            }
            tracing::warn!(
                ?deadline,
                "a database statement outlived its deadline: cancelled, its connection discarded"
            );
            // A task of its own: ending the statement must not abort the cut half-way.
            tokio::spawn(async move { cut.run(deadline).await });
        });
        self.timer = Some(timer.abort_handle());
    }

    fn disarm(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.disarm();
    }
}

impl Instrumentation for Watchdog {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                self.running += 1;
                self.arm();
            }
            InstrumentationEvent::FinishQuery { error, .. } => {
                self.running = self.running.saturating_sub(1);
                if self.running == 0 {
                    self.disarm();
                }
                // A connection that failed for a reason that passes (lost, ended by the
                // server, a deadlock) is not trusted again: MySQL has no check of its own.
                if error.is_some_and(crate::error::is_transient) {
                    self.fired.store(true, Ordering::SeqCst);
                }
            }
            _ => {}
        }
        if let Some(inner) = &mut self.inner {
            inner.on_connection_event(event);
        }
    }
}

/// Tells `instrumentation` that a connection to `url` was opened (the events Diesel's own
/// `establish` gives).
fn opened(instrumentation: &mut dyn Instrumentation, url: &str) {
    instrumentation.on_connection_event(InstrumentationEvent::start_establish_connection(url));
    instrumentation
        .on_connection_event(InstrumentationEvent::finish_establish_connection(url, None));
}

/// Whether `conn` must not be used again: its watchdog fired (or a statement failed for a
/// reason that passes), or a statement was started and never ended (its future was
/// dropped with its request: the connection's state is unknown).
fn discard<C: AsyncConnection>(conn: &mut C) -> bool {
    conn.instrumentation()
        .downcast_ref::<Watchdog>()
        .is_some_and(|w| w.running > 0 || w.fired.load(Ordering::SeqCst))
}

/// The pool's check before it hands out an idle connection again: refused (and replaced)
/// when [`discard`] says so.
pub(crate) fn recycle_check<C>() -> diesel_async::pooled_connection::RecyclingMethod<C>
where
    C: AsyncConnection + 'static,
{
    diesel_async::pooled_connection::RecyclingMethod::CustomFunction(Box::new(|conn: &mut C| {
        let discard = discard(conn);
        Box::pin(async move {
            if discard {
                Err(diesel::result::Error::BrokenTransactionManager)
            } else {
                Ok(())
            }
        })
    }))
}

/// A PostgreSQL connection whose socket is driven by a task this module can stop, with
/// `statement_timeout` set and a [`Watchdog`] when there is a deadline.
#[cfg(feature = "postgres")]
pub(crate) async fn connect_postgres(
    url: String,
    deadline: Option<Duration>,
) -> diesel::ConnectionResult<diesel_async::AsyncPgConnection> {
    use diesel::ConnectionError;
    use diesel_async::SimpleAsyncConnection;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "a PostgreSQL connection ended");
        }
    });
    let cancel = client.cancel_token();
    let mut conn = match diesel_async::AsyncPgConnection::try_from(client).await {
        Ok(conn) => conn,
        Err(e) => {
            driver.abort();
            return Err(e);
        }
    };
    if let Some(deadline) = deadline {
        conn.batch_execute(&format!(
            "SET statement_timeout = {}",
            server_timeout(deadline).as_millis()
        ))
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
        conn.set_instrumentation(Watchdog::new(
            deadline,
            Cut::Postgres {
                cancel,
                driver: driver.abort_handle(),
            },
            &url,
        ));
    } else {
        opened(conn.instrumentation(), &url);
    }
    Ok(conn)
}

/// A MySQL / MariaDB connection with its statements bounded server-side and a
/// [`Watchdog`], when there is a deadline.
#[cfg(feature = "mysql")]
pub(crate) async fn connect_mysql(
    url: String,
    deadline: Option<Duration>,
) -> diesel::ConnectionResult<diesel_async::AsyncMysqlConnection> {
    use diesel::ConnectionError;
    use diesel_async::SimpleAsyncConnection;
    let mut conn = diesel_async::AsyncMysqlConnection::establish(&url).await?;
    if let Some(deadline) = deadline {
        let server = server_timeout(deadline);
        // MariaDB bounds every statement (seconds); MySQL only reads (milliseconds).
        let mariadb = format!(
            "SET SESSION max_statement_time = {:.3}",
            server.as_secs_f64()
        );
        if conn.batch_execute(&mariadb).await.is_err() {
            conn.batch_execute(&format!(
                "SET SESSION max_execution_time = {}",
                server.as_millis()
            ))
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        }
        conn.batch_execute(&format!(
            "SET SESSION innodb_lock_wait_timeout = {}",
            server.as_secs().max(1)
        ))
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
        let cancel = conn.cancel_token();
        conn.set_instrumentation(Watchdog::new(deadline, Cut::Mysql(cancel), &url));
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_bound_comes_after_the_client_deadline() {
        let d = Duration::from_millis(300);
        assert!(server_timeout(d) > d);
        assert_eq!(
            server_timeout(Duration::from_secs(5)),
            Duration::from_secs(6)
        );
    }
}
