//! The standard token endpoints and the leak report (SPEC §12): revoking what a presented
//! secret names (RFC 7009), describing it to a trusted caller (RFC 7662), and revoking every
//! stored token among the strings someone reports as leaked.
//!
//! A presented secret is looked up by its SHA-256, as a check looks it up; what is answered is
//! the same whether or not it names a token, except to an introspecting credential.

use super::roles::{Action, Caller};
use super::{claims_json, push_json_str, Service};
use crate::clock;
use crate::error::ApiError;
use crate::store::{Actor, TokenState};
use crate::token;

impl Service {
    /// RFC 7009: revokes the token `secret` names when it is active; nothing otherwise. The
    /// caller answers alike either way. The revocation is durable before this returns, so a
    /// client told "revoked" is refused by every host's next check.
    pub fn revoke_presented(&self, secret: &str) -> Result<(), ApiError> {
        self.revoke_if_active(secret, &Actor::Rfc7009)
    }

    fn revoke_if_active(&self, secret: &str, actor: &Actor) -> Result<(), ApiError> {
        let now = clock::now();
        let Some(t) = self.store.token_by_hash(&token::hash(secret))? else {
            return Ok(());
        };
        if t.state(now) != TokenState::Active {
            return Ok(());
        }
        let out = self.store.revoke_token(&t.id, now, actor);
        // As for any revocation: no check allows it from the commit on.
        self.changed();
        out?;
        tracing::info!(id = %t.id, actor = actor.as_str(), "token revoked by its secret");
        Ok(())
    }

    /// RFC 7662: the module's description of what `secret` names, for a credential that may
    /// introspect. Exactly `{"active":false}` for anything but an active token.
    pub fn introspect(&self, secret: &str, caller: &Caller) -> Result<Vec<u8>, ApiError> {
        caller.may(Action::Introspect, None)?;
        let now = clock::now();
        let found = self.store.token_by_hash(&token::hash(secret))?;
        let mut input = String::with_capacity(256);
        input.push_str(r#"{"now":"#);
        input.push_str(itoa::Buffer::new().format(now));
        input.push_str(r#","token":"#);
        match &found {
            Some(t) => {
                input.push_str(r#"{"id":"#);
                push_json_str(&mut input, &t.id);
                input.push_str(r#","created_at":"#);
                input.push_str(itoa::Buffer::new().format(t.created_at));
                input.push_str(r#","claims":"#);
                input.push_str(&claims_json(t));
                input.push('}');
            }
            None => input.push_str("null"),
        }
        input.push('}');
        Ok(self.policy()?.current().introspect(input.as_bytes())?)
    }

    /// `POST /leaks`: revokes every active stored token among `reported`, each as leaked
    /// (audit `token.leaked` by `leak-report`, and the `token.leaked` webhook), in one
    /// transaction. A failure is logged: the reporter was answered already.
    pub fn revoke_leaked(&self, reported: &[String]) {
        let now = clock::now();
        let mut active = Vec::new();
        for secret in reported {
            match self.store.token_by_hash(&token::hash(secret)) {
                Ok(Some(t)) if t.state(now) == TokenState::Active => active.push(t.id),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(reason = e.code(), error = %e, "a reported leak could not be looked up")
                }
            }
        }
        if active.is_empty() {
            return;
        }
        let out = self.store.revoke_tokens(&active, now, &Actor::LeakReport);
        self.changed();
        match out {
            Ok(n) => tracing::warn!(revoked = n, "tokens reported as leaked were revoked"),
            Err(e) => tracing::error!(reason = e.code(), error = %e,
                                      "tokens reported as leaked could not be revoked"),
        }
    }
}

/// How many leak reports one client address may make in [`REPORT_WINDOW_SECS`].
pub const REPORTS_PER_WINDOW: usize = 60;
pub const REPORT_WINDOW_SECS: i64 = 3600;
/// Addresses remembered at once. Past it, the addresses with no report in the window are
/// forgotten; if every one has reported within it, a new address is refused until one ages
/// out, so a flood of addresses can't grow the table without bound.
const MAX_ADDRESSES: usize = 100_000;

/// The reports of each client address within the last hour (SPEC §12: at most 60).
#[derive(Default)]
pub struct ReportLimiter {
    seen: parking_lot::Mutex<
        std::collections::HashMap<std::net::IpAddr, std::collections::VecDeque<i64>>,
    >,
}

impl ReportLimiter {
    /// Counts a report from `client` at `now`: `Ok` when it is within the limit, else the
    /// seconds until the address may report again.
    pub fn admit(&self, client: std::net::IpAddr, now: i64) -> Result<(), i64> {
        let mut seen = self.seen.lock();
        let window_start = now - REPORT_WINDOW_SECS;
        if seen.len() >= MAX_ADDRESSES && !seen.contains_key(&client) {
            seen.retain(|_, times| times.back().is_some_and(|&t| t > window_start));
            if seen.len() >= MAX_ADDRESSES {
                return Err(REPORT_WINDOW_SECS);
            }
        }
        let times = seen.entry(client).or_default();
        while times.front().is_some_and(|&t| t <= window_start) {
            times.pop_front();
        }
        if times.len() >= REPORTS_PER_WINDOW {
            let oldest = times.front().copied().unwrap_or(now);
            return Err((oldest + REPORT_WINDOW_SECS - now).max(1));
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_reports_an_hour_per_address() {
        let limiter = ReportLimiter::default();
        let a = std::net::IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 1));
        let b = std::net::IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 2));
        for i in 0..60 {
            assert_eq!(limiter.admit(a, 1000 + i), Ok(()), "report {i}");
        }
        assert_eq!(limiter.admit(a, 1100), Err(3600 - 100));
        assert_eq!(
            limiter.admit(b, 1100),
            Ok(()),
            "another address has its own count"
        );
        // The first report ages out of the window, and one more is allowed.
        assert_eq!(limiter.admit(a, 4600), Ok(()));
        assert!(limiter.admit(a, 4600).is_err());
    }
}
