//! What the HTTP API and the CLI both do: resource lifecycle, issuing, revoking, rotating, and
//! the check decision. Policy answers come from the module; this layer owns the store, the
//! secrets and the cache.
//!
//! One file per concern: [`credentials`] (the admin key), [`resources`] (workspaces, projects,
//! repositories), [`tokens`] (issuing, revoking, rotating), [`check`] (the `/check` decision),
//! [`coherence`] (how long cached answers may outlive the last contact with the store) and
//! [`webhooks`] (the definitions of a workspace's webhooks).

mod audit;
mod check;
mod coherence;
mod credentials;
mod oauth;
mod resources;
pub mod roles;
mod tokens;
pub mod usage;
mod webhooks;

pub use crate::answer::CheckAnswer;
pub use check::CheckOutcome;
pub use coherence::DEFAULT_MAX_STALENESS;
pub use credentials::{CreatedCredential, CredentialRequest, ENV_CREDENTIAL_ID};
pub use oauth::{REPORTS_PER_WINDOW, REPORT_WINDOW_SECS};
pub use resources::{check_key, check_slug, ResourceRef, KEY_PATTERN, SLUG_PATTERN};
pub use roles::{Action, Caller};
pub use tokens::{claims_json, Created, IssueRequest, ROTATION_GRACE_SECS};
pub use webhooks::{check_url, WebhookRequest, SECRET_PATTERN, URL_MAX, URL_PATTERN};

use crate::answer::Step;
use crate::cache::CheckCache;
use crate::error::ApiError;
use crate::forwarded::ForwardedHeaders;
use crate::runtime::PolicyHandle;
use crate::store::Store;
use crate::token;
use coherence::Coherence;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub struct Service {
    pub store: Arc<dyn Store>,
    policy: Option<Arc<PolicyHandle>>,
    cache: CheckCache,
    /// The module's answers to a check's second call, whose input holds no secret.
    answers: crate::cache::DecisionMemo<CheckAnswer>,
    /// Its answers to the first call, keyed by the SHA-256 of that call's input: the input holds
    /// the token, which the memo must not keep.
    steps: crate::cache::DecisionMemo<Step, token::SecretHash>,
    memo_enabled: std::sync::atomic::AtomicBool,
    /// Usage and denied checks, until the next flush.
    usage: usage::UsageLog,
    usage_recording: std::sync::atomic::AtomicBool,
    /// The hash of `SCOPEGATE_ADMIN_KEY`, when given: an `owner` held in memory only.
    env_key_hash: Mutex<Option<token::SecretHash>>,
    coherence: Coherence,
    /// The family of forwarding headers the front sets (`serve --forwarded-headers`).
    forwarded_headers: ForwardedHeaders,
    /// Leak reports per client address (`POST /leaks`).
    pub leak_reports: oauth::ReportLimiter,
}

/// Append `s` as a JSON string literal. The check path builds the module's input with this
/// into one buffer instead of allocating a string per field.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    // Nearly every method and URI needs no escape: two vectorised passes say so faster than
    // the byte loop below finds out.
    let bytes = s.as_bytes();
    let control = bytes.iter().fold(false, |found, &b| found | (b < 0x20));
    if !control && memchr::memchr2(b'"', b'\\', bytes).is_none() {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut rest = s;
    while let Some(i) = rest
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < 0x20)
    {
        out.push_str(&rest[..i]);
        match rest.as_bytes()[i] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

impl Service {
    pub fn new(store: Arc<dyn Store>, policy: Option<Arc<PolicyHandle>>) -> Self {
        Service {
            store,
            policy,
            cache: CheckCache::default(),
            answers: Default::default(),
            steps: Default::default(),
            memo_enabled: std::sync::atomic::AtomicBool::new(true),
            usage: usage::UsageLog::default(),
            usage_recording: std::sync::atomic::AtomicBool::new(true),
            env_key_hash: Mutex::new(None),
            coherence: Coherence::new(),
            forwarded_headers: ForwardedHeaders::default(),
            leak_reports: oauth::ReportLimiter::default(),
        }
    }

    /// A check cache of this many tokens (and as many repositories).
    pub fn with_cache_capacity(mut self, entries: usize) -> Self {
        self.cache = CheckCache::with_capacity(entries);
        self
    }

    /// Pins the family of forwarding headers the front sets.
    pub fn with_forwarded_headers(mut self, mode: ForwardedHeaders) -> Self {
        self.forwarded_headers = mode;
        self
    }

    /// The module in force; the CLI opens the store without one for commands that need none.
    pub fn policy(&self) -> Result<&Arc<PolicyHandle>, ApiError> {
        self.policy.as_ref().ok_or(ApiError::PolicyUnavailable)
    }

    /// Drops the cached answers a change this process just committed can affect: called after
    /// each one, before it is answered.
    fn changed(&self) {
        self.catch_up();
    }

    /// A new secret of `kind` (`access_token`, `admin_credential`) made by the module from
    /// fresh random characters, with the hash it is stored under.
    fn seal(&self, kind: &str) -> Result<(String, token::SecretHash), ApiError> {
        #[derive(Deserialize)]
        struct Sealed {
            secret: String,
            sha256: String,
        }
        let input = json!({"kind": kind, "random": token::random_part()}).to_string();
        let out = self.policy()?.current().seal(input.as_bytes())?;
        let sealed: Sealed = serde_json::from_slice(&out).map_err(|_| ApiError::SealAnswer)?;
        let hash = token::from_hex(&sealed.sha256).ok_or(ApiError::SealAnswer)?;
        Ok((sealed.secret, hash))
    }
}

#[cfg(test)]
mod tests {
    use super::push_json_str;

    #[test]
    fn pushed_strings_read_back_as_themselves() -> serde_json::Result<()> {
        for s in [
            "",
            "/2.0/repositories/acme/api",
            "a\"b\\c",
            "tab\there\nnew\u{1}\u{1f}",
            "é😀/\u{7f}",
            "\"",
            "\\",
        ] {
            let mut out = String::from("x");
            push_json_str(&mut out, s);
            let back: String = serde_json::from_str(&out[1..])?;
            assert_eq!(back, s, "{out}");
        }
        Ok(())
    }
}
