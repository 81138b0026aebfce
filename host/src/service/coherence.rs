//! How long cached check answers may be trusted: the staleness window, and the poll that
//! notices changes other processes committed to the store.

use super::Service;
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
}

impl Coherence {
    pub(super) fn new() -> Self {
        Coherence {
            epoch: Instant::now(),
            confirmed_ms: 0.into(),
            max_staleness_ms: (DEFAULT_MAX_STALENESS.as_millis() as u64).into(),
            failing: false.into(),
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

    /// Drop cached answers if someone else (the CLI, another host) committed to the store.
    pub fn poll_external_changes(&self, last: &mut Option<i64>) {
        match self.store.change_marker() {
            Ok(marker) => {
                if last.is_some_and(|l| l != marker) {
                    tracing::debug!(marker, "the store changed outside this process");
                    self.cache.invalidate();
                }
                *last = Some(marker);
                self.coherence
                    .confirmed_ms
                    .store(self.coherence.now_ms(), Relaxed);
                if self.coherence.failing.swap(false, Relaxed) {
                    tracing::info!("the store answers again");
                }
            }
            Err(e) => {
                if !self.coherence.failing.swap(true, Relaxed) {
                    tracing::warn!(error = %e, max_staleness_ms = self.coherence.max_staleness_ms.load(Relaxed),
                        "the store is unreachable; cached answers hold for the staleness window, then checks fail closed");
                }
            }
        }
    }
}
