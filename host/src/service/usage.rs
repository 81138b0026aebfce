//! What checks leave behind, recorded off the check's path: each token's last access and the
//! addresses it was used from (SPEC §11 "Usage"), and denied checks, counted per token, reason
//! and minute for the audit log. A check only updates a map in memory; the upkeep thread
//! writes the maps out (`Service::flush_usage`), so no check waits for the store.

use crate::store::{merge_used_from, Denials, Store, TokenUse, UsedFrom};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// The client's address as the front names it: the first entry of `X-Forwarded-For`, else
/// `X-Real-IP`. Only a well-formed IP address is kept (in its canonical form), so that a header
/// a client made up can't fill the store with text.
pub fn client_address(forwarded_for: Option<&[u8]>, real_ip: Option<&[u8]>) -> Option<IpAddr> {
    let parse = |v: &[u8]| std::str::from_utf8(v).ok()?.trim().parse::<IpAddr>().ok();
    match forwarded_for {
        Some(v) => parse(v.split(|&b| b == b',').next()?),
        None => real_ip.and_then(parse),
    }
}

/// One token's uses since the last flush.
struct Uses {
    at: i64,
    from: Vec<UsedFrom>,
}

/// Denied checks of one minute: reason → token (or none) → (its workspace, count).
type Tally = HashMap<String, HashMap<Option<Arc<str>>, (Option<Arc<str>>, u64)>>;

#[derive(Default)]
struct DenialLog {
    minute: i64,
    current: Tally,
    /// Minutes that are over, not yet written.
    done: Vec<Denials>,
}

impl DenialLog {
    fn close_minute(&mut self) {
        let minute = self.minute;
        for (reason, tokens) in self.current.drain() {
            for (token_id, (workspace, count)) in tokens {
                self.done.push(Denials {
                    minute,
                    token_id: token_id.map(|t| t.to_string()),
                    workspace: workspace.map(|w| w.to_string()),
                    reason: reason.clone(),
                    count,
                });
            }
        }
    }
}

#[derive(Default)]
pub struct UsageLog {
    uses: Mutex<HashMap<Arc<str>, Uses, crate::cache::FastState>>,
    denials: Mutex<DenialLog>,
}

impl UsageLog {
    /// An allowed check of token `id` at `now`, from `ip` when the front named one.
    pub fn allowed(&self, id: &Arc<str>, ip: Option<IpAddr>, now: i64) {
        let mut uses = self.uses.lock();
        // Steady traffic updates an existing entry; only a token's first check in a flush
        // period allocates.
        let entry = match uses.get_mut(id) {
            Some(e) => e,
            None => uses.entry(id.clone()).or_insert(Uses {
                at: now,
                from: Vec::new(),
            }),
        };
        entry.at = entry.at.max(now);
        if let Some(ip) = ip {
            let mut buf = [0u8; 64];
            let text = ip_text(ip, &mut buf);
            match entry.from.iter_mut().find(|u| u.ip == text) {
                Some(seen) => seen.at = seen.at.max(now),
                None => merge_used_from(&mut entry.from, text, now),
            }
        }
    }

    /// A denied check for `reason`, of the token found (with its workspace) if any.
    pub fn denied(&self, token: Option<(&Arc<str>, &Arc<str>)>, reason: &str, now: i64) {
        let minute = now - now.rem_euclid(60);
        let mut log = self.denials.lock();
        if log.minute != minute {
            log.close_minute();
            log.minute = minute;
        }
        let by_token = match log.current.get_mut(reason) {
            Some(m) => m,
            None => log.current.entry(reason.to_string()).or_default(),
        };
        let key = token.map(|(id, _)| id.clone());
        let slot = by_token
            .entry(key)
            .or_insert_with(|| (token.map(|(_, ws)| ws.clone()), 0));
        slot.1 += 1;
    }

    /// Writes what was recorded: uses always, denials of minutes that are over (all of them
    /// when `all`, at shutdown or before the audit log is read). What the store refuses is
    /// kept for the next flush, so an outage loses nothing.
    pub fn flush(&self, store: &dyn Store, now: i64, all: bool) {
        let batch: Vec<TokenUse> = std::mem::take(&mut *self.uses.lock())
            .into_iter()
            .map(|(id, u)| TokenUse {
                token_id: id.to_string(),
                at: u.at,
                from: u.from,
            })
            .collect();
        if !batch.is_empty() {
            if let Err(e) = store.record_access(&batch) {
                tracing::warn!(error = %e, "could not record token usage; keeping it for later");
                let mut pending = self.uses.lock();
                for u in batch {
                    let entry = pending.entry(u.token_id.into()).or_insert(Uses {
                        at: u.at,
                        from: Vec::new(),
                    });
                    entry.at = entry.at.max(u.at);
                    for f in u.from {
                        merge_used_from(&mut entry.from, &f.ip, f.at);
                    }
                }
            } else {
                // What an operator (or a test waiting for a use to land) reads to tell a flush
                // that ran from one that never did.
                let latest = batch.iter().map(|u| u.at).max();
                tracing::debug!(tokens = batch.len(), latest, "recorded token usage");
            }
        }
        let denials = {
            let mut log = self.denials.lock();
            if all || log.minute + 60 <= now {
                log.close_minute();
            }
            std::mem::take(&mut log.done)
        };
        if !denials.is_empty() {
            if let Err(e) = store.record_denials(&denials) {
                tracing::warn!(error = %e, "could not record denied checks; keeping them for later");
                let mut log = self.denials.lock();
                let mut kept = denials;
                kept.append(&mut log.done);
                log.done = kept;
            }
        }
    }
}

/// `ip` as text in `buf`, without allocating.
fn ip_text(ip: IpAddr, buf: &mut [u8; 64]) -> &str {
    use std::io::Write as _;
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cursor, "{ip}");
    let len = cursor.position() as usize;
    std::str::from_utf8(&buf[..len]).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_first_forwarded_address_or_the_real_ip() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        assert_eq!(
            client_address(Some(b"203.0.113.7, 10.0.0.1"), Some(b"10.9.9.9")),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_address(None, Some(b" 2001:db8::1 ")),
            ip("2001:db8::1")
        );
        assert_eq!(client_address(Some(b"not-an-ip"), Some(b"10.9.9.9")), None);
        assert_eq!(client_address(None, Some(b"<script>")), None);
        assert_eq!(client_address(None, None), None);
    }

    #[test]
    fn five_most_recent_distinct_addresses_are_kept() {
        let mut ips = Vec::new();
        for (i, ip) in ["a", "b", "c", "d", "e", "f", "b"].iter().enumerate() {
            merge_used_from(&mut ips, ip, i as i64);
        }
        let kept: Vec<&str> = ips.iter().map(|u| u.ip.as_str()).collect();
        assert_eq!(kept, ["b", "f", "e", "d", "c"]);
        assert_eq!(ips[0].at, 6);
    }

    #[test]
    fn denials_are_counted_per_minute_token_and_reason() {
        let log = UsageLog::default();
        let (t, ws): (Arc<str>, Arc<str>) = ("tok_1".into(), "acme".into());
        log.denied(Some((&t, &ws)), "scope_missing", 120);
        log.denied(Some((&t, &ws)), "scope_missing", 150);
        log.denied(None, "token_unknown", 170);
        log.denied(Some((&t, &ws)), "scope_missing", 185);
        let mut d = log.denials.lock();
        d.close_minute();
        let mut done: Vec<(i64, Option<&str>, &str, u64)> = d
            .done
            .iter()
            .map(|x| (x.minute, x.token_id.as_deref(), x.reason.as_str(), x.count))
            .collect();
        done.sort();
        assert_eq!(
            done,
            [
                (120, None, "token_unknown", 1),
                (120, Some("tok_1"), "scope_missing", 2),
                (180, Some("tok_1"), "scope_missing", 1)
            ]
        );
    }
}
