//! How long cached check answers may be trusted: the staleness window, and the poll that
//! notices changes other processes committed to the store.

use super::Service;
use crate::store::changes::ChangesSince;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// How long cached check answers may outlive the last contact with the store.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(10);

/// When the cache was last known to agree with the store. While the store is unreachable no
/// change can be noticed, so cached answers are trusted only for a bounded window; after it,
/// checks go to the store and fail closed until it answers again.
pub(super) struct Coherence {
    epoch: Instant,
    /// Milliseconds since `epoch` of the last successful change poll; 0 until a server starts
    /// polling (the CLI and in-process benchmarks never do, and need no bound).
    confirmed_ms: AtomicU64,
    max_staleness_ms: AtomicU64,
    /// Whether the last poll failed, so that the outage and the recovery are logged once each.
    failing: AtomicBool,
    /// The store's generation the cache reflects: every change up to it has had its entries
    /// dropped. `None` until the first catch-up, which empties the cache. Held while catching
    /// up, so that the poll and this process's own writes apply each change once, in order.
    applied: parking_lot::Mutex<Option<i64>>,
}

impl Coherence {
    pub(super) fn new() -> Self {
        Coherence {
            epoch: Instant::now(),
            confirmed_ms: 0.into(),
            max_staleness_ms: (DEFAULT_MAX_STALENESS.as_millis() as u64).into(),
            failing: false.into(),
            applied: parking_lot::Mutex::new(None),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    pub(super) fn trusted(&self) -> bool {
        let confirmed = self.confirmed_ms.load(Relaxed);
        confirmed == 0
            || self.now_ms().saturating_sub(confirmed) <= self.max_staleness_ms.load(Relaxed)
    }
}

impl Service {
    /// How long cached answers outlive the last contact with the store.
    pub fn set_max_staleness(&self, d: Duration) {
        self.coherence
            .max_staleness_ms
            .store(d.as_millis() as u64, Relaxed);
    }

    /// Drops the cached answers that changes committed since the last catch-up can affect, by
    /// any process: this one's own writes (right after each commits) and the poll of others'.
    /// Only the entries the change log names go; when it can't say (the first catch-up, a log
    /// pruned past the cache's generation), or can't be read, everything goes. Whether the
    /// store answered.
    pub(super) fn catch_up(&self) -> bool {
        let mut applied = self.coherence.applied.lock();
        // The generation is read before entries are dropped: a change committed after the read
        // is then applied by the next catch-up, never skipped.
        match self.store.changes_since(*applied) {
            Ok(ChangesSince::Complete {
                generation,
                tokens,
                repositories,
            }) => {
                let altered: Vec<_> = tokens.iter().filter(|t| !t.only_added).collect();
                if !altered.is_empty() || !repositories.is_empty() {
                    self.cache.forget(
                        altered.iter().map(|t| &t.hash),
                        repositories
                            .iter()
                            .map(|r| (r.workspace.as_str(), r.slug.as_str())),
                    );
                }
                *applied = Some(generation);
                true
            }
            Ok(ChangesSince::Everything { generation }) => {
                if applied.is_some() {
                    tracing::info!(
                        generation,
                        "the change log does not reach back to this host's cache; emptying it"
                    );
                }
                self.cache.invalidate();
                *applied = Some(generation);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "the change log can't be read; emptying the cache");
                self.cache.invalidate();
                false
            }
        }
    }

    /// Catches up with changes someone else (the CLI, another host) committed to the store.
    pub fn poll_external_changes(&self) {
        let fresh = match self.store.change_marker() {
            Ok(marker) => *self.coherence.applied.lock() == Some(marker) || self.catch_up(),
            Err(e) => {
                if !self.coherence.failing.swap(true, Relaxed) {
                    tracing::warn!(error = %e, max_staleness_ms = self.coherence.max_staleness_ms.load(Relaxed),
                        "the store is unreachable; cached answers hold for the staleness window, then checks fail closed");
                }
                false
            }
        };
        if fresh {
            self.coherence
                .confirmed_ms
                .store(self.coherence.now_ms(), Relaxed);
            if self.coherence.failing.swap(false, Relaxed) {
                tracing::info!("the store answers again");
            }
        }
    }
}
