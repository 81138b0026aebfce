//! Sending webhooks (SPEC §11): a background loop of its own, beside the request path, that
//! records the `token.expiring` notices that fall due and sends the outbox's due deliveries.
//!
//! The store does the deciding (which host sends an expiry notice, which host holds a
//! delivery); this module only sends and reports back. Admin calls and checks never wait for
//! it: the events they cause are rows written in their own transaction, sent from here.
//!
//! [`Notifier::tick`] is one pass at a given time, so tests move a clock of their own through
//! it; [`Notifier::run`] is the pass on the wall clock, for ever.

pub mod backoff;
mod send;
pub mod sign;

pub use send::TIMEOUT;

use crate::store::webhooks::{Delivery, Outcome};
use crate::store::{Store, StoreError, StoreResult};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Deliveries one claim takes: sent together, finished in one transaction (a commit per
/// delivery would cost a disk flush each).
const BATCH: usize = 128;
/// Batches in flight at once: a receiver that answers slowly holds up its own batch only.
const BATCHES_IN_FLIGHT: usize = 4;
/// How long a claim keeps other hosts off a delivery. Longer than an attempt can take (the
/// send timeout) plus the finishing write, so only a host that died loses it.
const LEASE_MS: i64 = 2 * 60 * 1_000;
/// How often the loop looks for due deliveries: the latency of an event, at most.
const POLL: Duration = Duration::from_millis(500);
/// How often it looks for expiry notices that fell due: they are days apart.
const EXPIRY_PASS: Duration = Duration::from_secs(30);

/// How long a finished delivery (delivered or given up) is kept, for inspection, before the
/// expiry pass deletes it: the outbox would otherwise grow with every event ever sent.
pub const KEEP_FINISHED_MS: i64 = 7 * 24 * 60 * 60 * 1_000;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Expiry notices this host recorded (and enqueued).
    pub noticed: usize,
    pub delivered: usize,
    pub failed: usize,
}

/// The sender of one host's webhooks.
pub struct Notifier {
    store: Arc<dyn Store>,
    sender: send::Sender,
}

/// The wall clock in Unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs a store call off the async workers (SQLite's commits wait for the disk).
async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .unwrap_or_else(|e| Err(StoreError::Backend(format!("webhook task failed: {e}"))))
}

impl Notifier {
    pub fn new(store: Arc<dyn Store>) -> Result<Self, reqwest::Error> {
        Ok(Notifier {
            store,
            sender: send::Sender::new()?,
        })
    }

    /// One pass at `now` (Unix seconds): the expiry notices due, then every delivery due.
    pub async fn tick(&self, now: i64) -> StoreResult<Pass> {
        let noticed = self.notice_expiring(now).await?;
        let pass = self.deliver_due(now.saturating_mul(1000)).await?;
        Ok(Pass { noticed, ..pass })
    }

    /// Records the expiry notices due at `now` (Unix seconds), with their deliveries, and
    /// deletes the deliveries finished more than [`KEEP_FINISHED_MS`] ago.
    pub async fn notice_expiring(&self, now: i64) -> StoreResult<usize> {
        blocking(&self.store, move |s| {
            let noticed = s.notice_expiring(now)?;
            s.prune_deliveries(now.saturating_mul(1000).saturating_sub(KEEP_FINISHED_MS))?;
            Ok(noticed)
        })
        .await
    }

    /// Sends every delivery due at `now_ms`, batch after batch, until none is left.
    pub async fn deliver_due(&self, now_ms: i64) -> StoreResult<Pass> {
        let mut batches = JoinSet::new();
        let mut pass = Pass::default();
        let mut claimed = Ok(());
        loop {
            if batches.len() >= BATCHES_IN_FLIGHT {
                if let Some(done) = batches.join_next().await {
                    add(&mut pass, done);
                }
            }
            let batch = match blocking(&self.store, move |s| {
                s.claim_deliveries(now_ms, BATCH, LEASE_MS)
            })
            .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    claimed = Err(e);
                    break;
                }
            };
            let more = batch.len() == BATCH;
            if !batch.is_empty() {
                batches.spawn(send_batch(
                    self.sender.clone(),
                    self.store.clone(),
                    batch,
                    now_ms,
                ));
            }
            if !more {
                break;
            }
        }
        // The batches already sent are finished even when a later claim failed: dropping
        // them would cancel attempts half made.
        while let Some(done) = batches.join_next().await {
            add(&mut pass, done);
        }
        claimed.map(|()| pass)
    }

    /// The pass on the wall clock, every [`POLL`], for ever. A failing store is logged when
    /// it starts and stops failing, not on every pass.
    pub async fn run(self) {
        let mut expiry_pass: Option<Instant> = None;
        let mut failing = false;
        loop {
            let now = now_ms();
            let mut result = Ok(());
            if expiry_pass.is_none_or(|at| at.elapsed() >= EXPIRY_PASS) {
                result = self.notice_expiring(now / 1000).await.map(|n| {
                    if n > 0 {
                        tracing::info!(notices = n, "token.expiring notices enqueued");
                    }
                });
                expiry_pass = Some(Instant::now());
            }
            let result = result.and(self.deliver_due(now).await.map(|_| ()));
            match (result, failing) {
                (Err(e), false) => {
                    tracing::warn!(error = %e, "webhook pass failed; retrying");
                    failing = true;
                }
                (Ok(()), true) => {
                    tracing::info!("webhook pass works again");
                    failing = false;
                }
                _ => {}
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn add(pass: &mut Pass, done: Result<StoreResult<Pass>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(p)) => {
            pass.delivered += p.delivered;
            pass.failed += p.failed;
        }
        // Its deliveries stay claimed until the lease runs out, then are sent again.
        Ok(Err(e)) => tracing::warn!(error = %e, "webhook outcomes not recorded; resent later"),
        Err(e) => tracing::error!(error = %e, "webhook batch failed; resent later"),
    }
}

/// Sends one claimed batch, every delivery at once, and records the outcomes together.
async fn send_batch(
    sender: send::Sender,
    store: Arc<dyn Store>,
    batch: Vec<Delivery>,
    now_ms: i64,
) -> StoreResult<Pass> {
    let mut sends = JoinSet::new();
    for (i, d) in batch.iter().enumerate() {
        let (sender, d) = (sender.clone(), d.clone());
        sends.spawn(async move { (i, sender.send(&d).await) });
    }
    let mut results: Vec<Option<Result<(), String>>> = vec![None; batch.len()];
    while let Some(done) = sends.join_next().await {
        if let Ok((i, r)) = done {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
        }
    }
    let mut pass = Pass::default();
    let outcomes: Vec<(Delivery, Outcome)> = batch
        .into_iter()
        .zip(results)
        .map(|(d, r)| {
            let r = r.unwrap_or_else(|| Err("the attempt's task failed".into()));
            let outcome = match r {
                Ok(()) => {
                    pass.delivered += 1;
                    tracing::debug!(delivery = %d.id, event = d.event.as_str(),
                                    workspace = %d.workspace, webhook = %d.webhook,
                                    "webhook delivered");
                    Outcome::Delivered
                }
                Err(error) => {
                    pass.failed += 1;
                    let attempts = d.attempts + 1;
                    let retry_at = backoff::retry_at(attempts, d.created_at, now_ms);
                    match retry_at {
                        Some(at) => tracing::warn!(delivery = %d.id, event = d.event.as_str(),
                            workspace = %d.workspace, webhook = %d.webhook, attempts,
                            retry_in_ms = at - now_ms, error = %error,
                            "webhook delivery failed; will retry"),
                        None => tracing::error!(delivery = %d.id, event = d.event.as_str(),
                            workspace = %d.workspace, webhook = %d.webhook, attempts,
                            error = %error, "webhook delivery given up after 24 hours"),
                    }
                    Outcome::Failed { error, retry_at }
                }
            };
            (d, outcome)
        })
        .collect();
    blocking(&store, move |s| s.finish_deliveries(&outcomes, now_ms)).await?;
    Ok(pass)
}
