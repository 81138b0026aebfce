//! Cross-host change feed for the PostgreSQL store: `LISTEN/NOTIFY` with a periodic resync.
//!
//! Every write that can alter a check bumps the shared generation and, in the same transaction,
//! notifies [`CHANNEL`] with the new value; PostgreSQL delivers it to every listener when (and
//! only if) the transaction commits. Each host keeps one dedicated listening connection, so its
//! `change_marker()` is a memory read instead of a query every 50 ms. Notifications are lost
//! while that connection is down, so the marker is read from the database whenever the listener
//! is not connected, right after it (re)connects, and every [`RESYNC`] regardless.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::AsyncMessage;

/// The notification channel; the payload is the generation after the commit.
pub const CHANNEL: &str = "scopegate_changes";
/// A read of the real counter at least this often, even with the listener connected.
pub const RESYNC: Duration = Duration::from_secs(5);
/// Pause between reconnection attempts while the database is unreachable.
const RETRY: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct ChangeFeed {
    /// The highest generation seen, by notification or by reading the counter.
    latest: AtomicI64,
    /// True while LISTEN is in force and a resync has followed it.
    listening: AtomicBool,
    last_resync: parking_lot::Mutex<Option<Instant>>,
    started: AtomicBool,
}

impl ChangeFeed {
    /// The generation to report without a query, or `None` when one is due.
    pub fn current(&self) -> Option<i64> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        let fresh = self
            .last_resync
            .lock()
            .is_some_and(|t| t.elapsed() < RESYNC);
        fresh.then(|| self.latest.load(Ordering::Acquire))
    }

    /// Records a generation read from the database; returns the marker to report.
    pub fn resynced(&self, generation: i64) -> i64 {
        *self.last_resync.lock() = Some(Instant::now());
        self.seen(generation)
    }

    fn seen(&self, generation: i64) -> i64 {
        self.latest
            .fetch_max(generation, Ordering::AcqRel)
            .max(generation)
    }

    /// Starts the listener once, on the store's runtime.
    pub fn start(self: &Arc<Self>, rt: &tokio::runtime::Handle, cfg: tokio_postgres::Config) {
        if !self.started.swap(true, Ordering::AcqRel) {
            let feed = self.clone();
            rt.spawn(async move { feed.listen_forever(cfg).await });
        }
    }

    async fn listen_forever(self: Arc<Self>, cfg: tokio_postgres::Config) {
        let mut was_down = false;
        // Whether a connection has listened before: the next one to listen is a reconnection.
        let mut listened = false;
        loop {
            match self.listen_once(&cfg, listened).await {
                Ok(()) => tracing::warn!("the store's change feed closed; reconnecting"),
                Err(e) if !was_down => {
                    tracing::warn!(error = %e, "the store's change feed is down; retrying");
                }
                Err(_) => {}
            }
            was_down = true;
            listened |= self.listening.swap(false, Ordering::AcqRel);
            tokio::time::sleep(RETRY).await;
        }
    }

    /// One connection's life: LISTEN, resync, then apply notifications until it ends. It is
    /// counted as a reconnection when an earlier connection listened.
    async fn listen_once(
        &self,
        cfg: &tokio_postgres::Config,
        reconnection: bool,
    ) -> Result<(), tokio_postgres::Error> {
        let (client, mut conn) = cfg.connect(tokio_postgres::NoTls).await?;
        let latest = &self.latest;
        let drive = async {
            loop {
                match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(n))) if n.channel() == CHANNEL => {
                        if let Ok(g) = n.payload().parse::<i64>() {
                            latest.fetch_max(g, Ordering::AcqRel);
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
        };
        let setup = async {
            client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
            // Anything committed before LISTEN took effect is caught by this read.
            let g: i64 = client
                .query_one("SELECT value FROM generation", &[])
                .await?
                .try_get(0)?;
            self.resynced(g);
            self.listening.store(true, Ordering::Release);
            if reconnection {
                crate::metrics::store_reconnect();
            }
            tracing::debug!(generation = g, "the store's change feed is listening");
            std::future::pending::<Result<(), tokio_postgres::Error>>().await
        };
        // The connection ending ends both; a failed setup ends the connection with it.
        tokio::select! {
            _ = drive => Ok(()),
            r = setup => r,
        }
    }
}
