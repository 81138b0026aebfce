//! Webhooks (SPEC §11): each workspace's receivers, and the outbox of deliveries to them.
//!
//! A delivery is written in the transaction of the change it reports (a revocation and its
//! `token.revoked` delivery are durable together or not at all), with its body frozen there: a
//! retry sends the same bytes under the same id. Senders claim due deliveries with a lease, so
//! two hosts never send one at the same time, and a host that dies mid-send leaves it to be
//! claimed again once the lease runs out: delivered at least once.
//!
//! `token.expiring` notices are rows keyed by (token, days): the host whose insert creates the
//! row enqueues the deliveries, in the same transaction, and every other host (or the same one
//! after a restart) finds the row there and sends nothing.

use super::audit::{self, Actor, AuditEvent};
use super::page::{After, Order, Page, PageRequest};
use super::rules::SqlStore;
use super::sql::{corrupt, Backend, Cells, Param, Tx, Write};
use super::{Entity, Resource, StoreError, StoreResult, TokenKind, TokenRecord, TokenState};
use crate::clock;
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

/// What a webhook can subscribe to.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum WebhookEvent {
    /// 60, 30, 7 and 1 days before the token's expiry, once each.
    #[serde(rename = "token.expiring")]
    TokenExpiring,
    #[serde(rename = "token.revoked")]
    TokenRevoked,
    /// Revoked because its secret was reported leaked (`POST /leaks`).
    #[serde(rename = "token.leaked")]
    TokenLeaked,
    /// Replaced by a new token; the event carries the old one.
    #[serde(rename = "token.rotated")]
    TokenRotated,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 4] = [
        WebhookEvent::TokenExpiring,
        WebhookEvent::TokenRevoked,
        WebhookEvent::TokenLeaked,
        WebhookEvent::TokenRotated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::TokenExpiring => "token.expiring",
            WebhookEvent::TokenRevoked => "token.revoked",
            WebhookEvent::TokenLeaked => "token.leaked",
            WebhookEvent::TokenRotated => "token.rotated",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookEvent> {
        WebhookEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// The days before expiry at which `token.expiring` is sent, largest first.
pub const EXPIRY_THRESHOLDS: [i64; 4] = [60, 30, 7, 1];

/// A webhook as stored. `Debug` leaves the secret out, so no log line can carry it.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub workspace: String,
    pub name: String,
    pub url: String,
    /// The HMAC key of the signatures: the receiver's to know, never shown by the API.
    pub secret: String,
    /// Sorted, without repeats.
    pub events: Vec<WebhookEvent>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("workspace", &self.workspace)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// What a `put` sets.
pub struct WebhookSpec<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub events: &'a [WebhookEvent],
}

/// A claimed delivery: what to send, where, and the key to sign it with.
#[derive(Clone)]
pub struct Delivery {
    pub id: String,
    /// The claim this host holds on it; finishing names it, so a claim that ran out and was
    /// taken by another host is not overwritten by the late one.
    pub claim: String,
    pub event: WebhookEvent,
    pub workspace: String,
    pub webhook: String,
    pub url: String,
    pub secret: String,
    /// The exact bytes that are signed and sent, on every attempt.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// When it was enqueued, Unix milliseconds.
    pub created_at: i64,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("event", &self.event)
            .field("workspace", &self.workspace)
            .field("webhook", &self.webhook)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Anything else; `retry_at` (Unix ms) is the next attempt, `None` when it is given up.
    Failed {
        error: String,
        retry_at: Option<i64>,
    },
}

/// Webhooks and their deliveries; a supertrait of `Store`.
pub trait WebhookStore: Send + Sync {
    /// Create or replace; `true` when created. NotFound for an unknown workspace.
    fn put_webhook(
        &self,
        workspace: &str,
        name: &str,
        spec: &WebhookSpec<'_>,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<(Webhook, bool)>;
    fn get_webhook(&self, workspace: &str, name: &str) -> StoreResult<Option<Webhook>>;
    /// The workspace's webhooks by name.
    /// In name order.
    fn list_webhooks(&self, workspace: &str, page: &PageRequest) -> StoreResult<Page<Webhook>>;
    /// Deletes it with its pending deliveries. NotFound for an unknown one.
    fn delete_webhook(
        &self,
        workspace: &str,
        name: &str,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<()>;

    /// Records the `token.expiring` notices due at `now` (Unix seconds) and enqueues their
    /// deliveries; the number of notices this call recorded (another host's count none).
    fn notice_expiring(&self, now: i64) -> StoreResult<usize>;
    /// Claims up to `limit` deliveries due at `now_ms`, for `lease_ms`.
    fn claim_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
        lease_ms: i64,
    ) -> StoreResult<Vec<Delivery>>;
    /// Records how each claimed delivery's attempt ended, at `now_ms`.
    fn finish_deliveries(&self, done: &[(Delivery, Outcome)], now_ms: i64) -> StoreResult<()>;
    /// Deletes the deliveries enqueued before `before_ms` that are finished (delivered or
    /// given up); how many.
    fn prune_deliveries(&self, before_ms: i64) -> StoreResult<u64>;
}

fn key(s: &str) -> String {
    s.to_ascii_lowercase()
}

const WEBHOOK_SELECT: &str = "SELECT w.slug, h.name, h.url, h.secret, h.events, h.created_at,
     h.updated_at FROM webhooks h JOIN workspaces w ON w.slug_key = h.ws_key";

fn events_from(text: &str) -> Result<Vec<WebhookEvent>, String> {
    let names: Vec<String> = serde_json::from_str(text)
        .map_err(|e| format!("events are not a JSON array of strings: {e}"))?;
    let mut events = names
        .iter()
        .map(|n| WebhookEvent::parse(n).ok_or_else(|| format!("{n:?} is not an event")))
        .collect::<Result<Vec<_>, _>>()?;
    if events.is_empty() {
        return Err("events are empty".into());
    }
    events.sort();
    events.dedup();
    Ok(events)
}

fn events_text(events: &[WebhookEvent]) -> StoreResult<String> {
    let mut events = events.to_vec();
    events.sort();
    events.dedup();
    Ok(serde_json::to_string(&events)?)
}

fn webhook_from(mut r: Cells) -> StoreResult<Webhook> {
    let workspace = r
        .text("workspace")
        .map_err(|e| corrupt("webhooks", "?", e))?;
    let name = r
        .text("name")
        .map_err(|e| corrupt("webhooks", &workspace, e))?;
    let at = format!("{workspace}/{name}");
    let bad = |e: String| corrupt("webhooks", &at, e);
    let url = r.text("url").map_err(bad)?;
    let secret = r.text("secret").map_err(bad)?;
    let events = events_from(&r.text("events").map_err(bad)?).map_err(bad)?;
    Ok(Webhook {
        workspace,
        name,
        url,
        secret,
        events,
        created_at: r.int("created_at").map_err(bad)?,
        updated_at: r.int("updated_at").map_err(bad)?,
    })
}

fn get_webhook(tx: &mut dyn Tx, ws: &str, name: &str) -> StoreResult<Option<Webhook>> {
    tx.query_opt(
        &format!("{WEBHOOK_SELECT} WHERE h.ws_key = ?1 AND h.name_key = ?2"),
        &[Param::Text(&key(ws)), Param::Text(&key(name))],
    )?
    .map(webhook_from)
    .transpose()
}

/// What the audit log says about a webhook: never its secret.
fn audit_detail(h: &Webhook) -> serde_json::Value {
    serde_json::json!({"name": h.name, "url": h.url, "events": h.events})
}

fn delivery_id() -> String {
    format!("whd_{}", Alphanumeric.sample_string(&mut rand::rng(), 24))
}

/// The token as a delivery shows it: its metadata, never its secret (the store has none).
#[derive(Serialize)]
struct TokenBody<'a> {
    id: &'a str,
    name: &'a str,
    kind: TokenKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<&'a str>,
    scopes: &'a [String],
    created_at: String,
    expires_at: Option<String>,
    last_accessed_at: Option<String>,
    revoked_at: Option<String>,
    state: TokenState,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotated_from: Option<&'a str>,
    /// `token.expiring` only: the notice's threshold (60, 30, 7 or 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    days: Option<i64>,
}

/// A delivery's body, as SPEC §11 orders it.
#[derive(Serialize)]
struct Body<'a> {
    id: &'a str,
    event: WebhookEvent,
    at: String,
    workspace: &'a str,
    token: TokenBody<'a>,
}

fn body(
    id: &str,
    event: WebhookEvent,
    token: &TokenRecord,
    days: Option<i64>,
    now: i64,
) -> StoreResult<String> {
    let (project, repository) = match &token.resource {
        Resource::Workspace { .. } => (None, None),
        Resource::Project { project, .. } => (Some(project.as_str()), None),
        Resource::Repository { repository, .. } => (None, Some(repository.as_str())),
    };
    let body = Body {
        id,
        event,
        at: clock::to_rfc3339(now),
        workspace: token.resource.workspace(),
        token: TokenBody {
            id: &token.id,
            name: &token.name,
            kind: token.resource.kind(),
            project,
            repository,
            scopes: &token.scopes,
            created_at: clock::to_rfc3339(token.created_at),
            expires_at: token.expires_at.map(clock::to_rfc3339),
            last_accessed_at: token.last_accessed_at.map(clock::to_rfc3339),
            revoked_at: token
                .revoked_at
                .or(token.deactivated_at)
                .map(clock::to_rfc3339),
            state: token.state(now),
            rotated_from: token.rotated_from.as_deref(),
            days,
        },
    };
    Ok(serde_json::to_string(&body)?)
}

/// Enqueues `event` about `token` for every webhook of its workspace subscribed to it, in the
/// caller's transaction: the change and its deliveries commit together.
pub(crate) fn enqueue(
    tx: &mut dyn Tx,
    event: WebhookEvent,
    token: &TokenRecord,
    now: i64,
) -> StoreResult<()> {
    enqueue_with(tx, event, token, None, now).map(|_| ())
}

fn enqueue_with(
    tx: &mut dyn Tx,
    event: WebhookEvent,
    token: &TokenRecord,
    days: Option<i64>,
    now: i64,
) -> StoreResult<usize> {
    let ws_key = key(token.resource.workspace());
    let hooks = tx.query(
        "SELECT name_key, events FROM webhooks WHERE ws_key = ?1 ORDER BY name_key",
        &[Param::Text(&ws_key)],
    )?;
    let mut enqueued = 0;
    for mut row in hooks {
        let name_key = row
            .text("name_key")
            .map_err(|e| corrupt("webhooks", &ws_key, e))?;
        let bad = |e: String| corrupt("webhooks", &format!("{ws_key}/{name_key}"), e);
        let events = events_from(&row.text("events").map_err(bad)?).map_err(bad)?;
        if !events.contains(&event) {
            continue;
        }
        let id = delivery_id();
        let body = body(&id, event, token, days, now)?;
        let now_ms = now.saturating_mul(1000);
        tx.execute(
            "INSERT INTO webhook_deliveries (id, ws_key, name_key, event, token_id, body,
               created_at, attempts, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?7)",
            &[
                Param::Text(&id),
                Param::Text(&ws_key),
                Param::Text(&name_key),
                Param::Text(event.as_str()),
                Param::Text(&token.id),
                Param::Text(&body),
                Param::Int(now_ms),
            ],
        )?;
        enqueued += 1;
    }
    Ok(enqueued)
}

/// The tightest threshold a token's expiry has crossed at `?1`, as SQL over `expires_at`.
const CROSSED: &str = "CASE WHEN expires_at - 86400 <= ?1 THEN 1
                            WHEN expires_at - 604800 <= ?1 THEN 7
                            WHEN expires_at - 2592000 <= ?1 THEN 30
                            ELSE 60 END";

impl<B: Backend> WebhookStore for SqlStore<B> {
    fn put_webhook(
        &self,
        ws: &str,
        name: &str,
        spec: &WebhookSpec<'_>,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<(Webhook, bool)> {
        let events = events_text(spec.events)?;
        // Quiet: no check's answer depends on a webhook, so other hosts need not reload.
        self.backend.write(Write::Quiet, |tx| {
            let workspace = tx
                .query_opt(
                    "SELECT slug FROM workspaces WHERE slug_key = ?1",
                    &[Param::Text(&key(ws))],
                )?
                .ok_or(StoreError::NotFound(Entity::Workspace))?
                .text("slug")
                .map_err(|e| corrupt("workspaces", ws, e))?;
            let existed = get_webhook(tx, ws, name)?.is_some();
            tx.execute(
                "INSERT INTO webhooks (ws_key, name_key, name, url, secret, events, created_at,
                   updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
                 ON CONFLICT (ws_key, name_key) DO UPDATE SET url = excluded.url,
                   secret = excluded.secret, events = excluded.events,
                   updated_at = excluded.updated_at",
                &[
                    Param::Text(&key(ws)),
                    Param::Text(&key(name)),
                    Param::Text(name),
                    Param::Text(spec.url),
                    Param::Text(spec.secret),
                    Param::Text(&events),
                    Param::Int(now),
                ],
            )?;
            let hook = get_webhook(tx, ws, name)?.ok_or(StoreError::NotFound(Entity::Webhook))?;
            audit::record(
                tx,
                &audit::Entry {
                    at: now,
                    actor,
                    event: AuditEvent::WebhookPut,
                    workspace: Some(&workspace),
                    subject: Some(format!("webhook:{workspace}/{}", hook.name)),
                    token_id: None,
                    detail: audit_detail(&hook),
                },
            )?;
            Ok((hook, !existed))
        })
    }

    fn get_webhook(&self, ws: &str, name: &str) -> StoreResult<Option<Webhook>> {
        self.backend.read(|tx| get_webhook(tx, ws, name))
    }

    fn list_webhooks(&self, ws: &str, page: &PageRequest) -> StoreResult<Page<Webhook>> {
        let order = Order::Key("h.name_key");
        let ws = key(ws);
        let mut sql = format!("{WEBHOOK_SELECT} WHERE h.ws_key = ?1");
        let mut params = vec![Param::Text(&ws)];
        order.continue_sql(&mut sql, &mut params, page);
        let rows = self.backend.read(|tx| {
            tx.query(&sql, &params)?
                .into_iter()
                .map(webhook_from)
                .collect::<StoreResult<Vec<_>>>()
        })?;
        Ok(Page::of(rows, page.limit, |h| After::Key(key(&h.name))))
    }

    fn delete_webhook(&self, ws: &str, name: &str, now: i64, actor: &Actor) -> StoreResult<()> {
        self.backend.write(Write::Quiet, |tx| {
            let hook = get_webhook(tx, ws, name)?.ok_or(StoreError::NotFound(Entity::Webhook))?;
            // Its pending deliveries go with it (the foreign key cascades): nobody is left
            // to send them to.
            tx.execute(
                "DELETE FROM webhooks WHERE ws_key = ?1 AND name_key = ?2",
                &[Param::Text(&key(ws)), Param::Text(&key(name))],
            )?;
            audit::record(
                tx,
                &audit::Entry {
                    at: now,
                    actor,
                    event: AuditEvent::WebhookDeleted,
                    workspace: Some(&hook.workspace),
                    subject: Some(format!("webhook:{}/{}", hook.workspace, hook.name)),
                    token_id: None,
                    detail: audit_detail(&hook),
                },
            )?;
            Ok(())
        })
    }

    fn notice_expiring(&self, now: i64) -> StoreResult<usize> {
        // Commuting: the notice's primary key, not the writers' lock, decides which host sends
        // it, so this pass never waits behind (or holds up) an admin write. Tokens in id order,
        // so that two hosts' passes take the keys in one order and cannot deadlock.
        self.backend.write(Write::Commuting, |tx| {
            let due = tx.query(
                &format!(
                    "SELECT {columns}, {CROSSED} AS days FROM tokens t
                     WHERE revoked_at IS NULL AND deactivated_at IS NULL
                       AND expires_at IS NOT NULL AND expires_at > ?1
                       AND expires_at - 5184000 <= ?1
                       AND NOT EXISTS (SELECT 1 FROM expiry_notices n
                                       WHERE n.token_id = t.id AND n.days = {CROSSED})
                       AND NOT EXISTS (SELECT 1 FROM tokens s WHERE s.rotated_from = t.id)
                     ORDER BY id",
                    columns = super::rules::TOKEN_COLUMNS
                ),
                &[Param::Int(now)],
            )?;
            let mut noticed = 0;
            for mut row in due {
                let token = super::rules::token_from(&mut row)?;
                let days = row
                    .int("days")
                    .map_err(|e| corrupt("tokens", &token.id, e))?;
                // Only the tightest threshold crossed: a token first seen 20 days before its
                // expiry is told "30 days" once, not "60" and "30" together.
                let inserted = tx.execute(
                    "INSERT INTO expiry_notices (token_id, days, at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (token_id, days) DO NOTHING",
                    &[Param::Text(&token.id), Param::Int(days), Param::Int(now)],
                )?;
                if inserted == 1 {
                    enqueue_with(tx, WebhookEvent::TokenExpiring, &token, Some(days), now)?;
                    noticed += 1;
                }
            }
            Ok(noticed)
        })
    }

    fn claim_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
        lease_ms: i64,
    ) -> StoreResult<Vec<Delivery>> {
        let claim = delivery_id();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // Commuting: the UPDATE's own condition decides. Its subquery skips rows another
        // host's claim holds locked (PostgreSQL), and the outer condition is checked again on
        // the row it locks, so of two hosts racing for a delivery exactly one updates it.
        self.backend.write(Write::Commuting, |tx| {
            tx.execute(
                &format!(
                    "UPDATE webhook_deliveries SET lease_until = ?2, claim = ?3
                     WHERE next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
                       AND id IN (SELECT id FROM webhook_deliveries
                                  WHERE next_attempt_at <= ?1
                                    AND (lease_until IS NULL OR lease_until <= ?1)
                                  ORDER BY next_attempt_at, id LIMIT ?4{})",
                    B::SKIP_LOCKED
                ),
                &[
                    Param::Int(now_ms),
                    Param::Int(now_ms.saturating_add(lease_ms)),
                    Param::Text(&claim),
                    Param::Int(limit),
                ],
            )?;
            tx.query(
                "SELECT d.id, d.event, w.slug, h.name, h.url, h.secret, d.body, d.attempts,
                   d.created_at
                 FROM webhook_deliveries d
                 JOIN webhooks h ON h.ws_key = d.ws_key AND h.name_key = d.name_key
                 JOIN workspaces w ON w.slug_key = d.ws_key
                 WHERE d.claim = ?1 AND d.next_attempt_at <= ?2
                 ORDER BY d.next_attempt_at, d.id",
                &[Param::Text(&claim), Param::Int(now_ms)],
            )?
            .into_iter()
            .map(|mut r| {
                let id = r
                    .text("id")
                    .map_err(|e| corrupt("webhook_deliveries", "?", e))?;
                let bad = |e: String| corrupt("webhook_deliveries", &id, e);
                let event = r.text("event").map_err(bad)?;
                let event = WebhookEvent::parse(&event)
                    .ok_or_else(|| bad(format!("{event:?} is not an event")))?;
                Ok(Delivery {
                    claim: claim.clone(),
                    event,
                    workspace: r.text("workspace").map_err(bad)?,
                    webhook: r.text("name").map_err(bad)?,
                    url: r.text("url").map_err(bad)?,
                    secret: r.text("secret").map_err(bad)?,
                    body: r.text("body").map_err(bad)?,
                    attempts: r.int("attempts").map_err(bad)?,
                    created_at: r.int("created_at").map_err(bad)?,
                    id,
                })
            })
            .collect()
        })
    }

    fn finish_deliveries(&self, done: &[(Delivery, Outcome)], now_ms: i64) -> StoreResult<()> {
        if done.is_empty() {
            return Ok(());
        }
        // In id order, so that two hosts finishing overlapping sets cannot deadlock.
        let mut sorted: Vec<&(Delivery, Outcome)> = done.iter().collect();
        sorted.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        self.backend.write(Write::Commuting, |tx| {
            for (d, outcome) in sorted {
                let (delivered_at, retry_at, error) = match outcome {
                    Outcome::Delivered => (Some(now_ms), None, None),
                    Outcome::Failed { error, retry_at } => (None, *retry_at, Some(error.as_str())),
                };
                tx.execute(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, delivered_at = ?3,
                       next_attempt_at = ?4, last_error = ?5, lease_until = NULL, claim = NULL
                     WHERE id = ?1 AND claim = ?2",
                    &[
                        Param::Text(&d.id),
                        Param::Text(&d.claim),
                        Param::NullableInt(delivered_at),
                        Param::NullableInt(retry_at),
                        Param::NullableText(error),
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn prune_deliveries(&self, before_ms: i64) -> StoreResult<u64> {
        // Commuting: finished rows are nobody's to claim, so no claim can race this.
        self.backend.write(Write::Commuting, |tx| {
            tx.execute(
                "DELETE FROM webhook_deliveries WHERE next_attempt_at IS NULL AND created_at < ?1",
                &[Param::Int(before_ms)],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_back_sorted_and_once() {
        let text = events_text(&[
            WebhookEvent::TokenRotated,
            WebhookEvent::TokenExpiring,
            WebhookEvent::TokenRotated,
        ])
        .unwrap();
        assert_eq!(text, r#"["token.expiring","token.rotated"]"#);
        assert_eq!(
            events_from(&text).unwrap(),
            [WebhookEvent::TokenExpiring, WebhookEvent::TokenRotated]
        );
        assert!(events_from("[]").is_err());
        assert!(events_from(r#"["token.created"]"#).is_err());
        for e in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(e.as_str()), Some(e));
        }
    }

    #[test]
    fn debug_leaves_the_secret_out() {
        let h = Webhook {
            workspace: "acme".into(),
            name: "ops".into(),
            url: "https://hooks.example/x".into(),
            secret: "s3cret-s3cret-s3cret".into(),
            events: vec![WebhookEvent::TokenRevoked],
            created_at: 1,
            updated_at: 1,
        };
        assert!(!format!("{h:?}").contains("s3cret"));
    }
}
