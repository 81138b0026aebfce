//! The `/check` decision: the module's two calls with the store lookups between them, the
//! per-second memos of its answers, and the batched record of when each token was last used.

use super::{claims_json, push_json_str, usage, Service};
use crate::answer::{CheckAnswer, Lookup, Step};
use crate::cache::CachedToken;
use crate::clock;
use crate::error::ApiError;
use crate::forwarded;
use crate::metrics;
use crate::runtime::Policy;
use crate::token;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// The answer of `/check`: the module's, and the token it was for when it allowed.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub answer: Arc<CheckAnswer>,
    pub token_id: Option<Arc<str>>,
}

impl CheckOutcome {
    pub fn status(&self) -> u16 {
        self.answer.status.as_u16()
    }

    pub fn allowed(&self) -> bool {
        self.answer.status == axum::http::StatusCode::OK
    }

    pub fn reason(&self) -> &str {
        &self.answer.reason
    }
}

/// What a check's lookups found.
struct Found {
    token: Option<Arc<CachedToken>>,
    repository_project: Option<String>,
}

impl Service {
    fn lookup(&self, hash: &token::SecretHash) -> Result<Option<Arc<CachedToken>>, ApiError> {
        let cached = self.cache.get(hash).filter(|_| self.coherence.trusted());
        metrics::cache_lookup(metrics::Cache::Token, cached.is_some());
        if let Some(t) = cached {
            return Ok(Some(t));
        }
        let generation = self.cache.generation();
        let Some(rec) = self.store.token_by_hash(hash)? else {
            return Ok(None);
        };
        let entry = Arc::new(CachedToken {
            claims: claims_json(&rec),
            workspace: rec.resource.workspace().into(),
            id: rec.id.into(),
        });
        self.cache.insert(generation, *hash, entry.clone());
        Ok(Some(entry))
    }

    fn repository_project(&self, ws: &str, repo: &str) -> Result<Option<String>, ApiError> {
        let cached = self
            .cache
            .repo_project(ws, repo)
            .filter(|_| self.coherence.trusted());
        metrics::cache_lookup(metrics::Cache::Repository, cached.is_some());
        if let Some(p) = cached {
            return Ok(p);
        }
        let generation = self.cache.generation();
        let p = self.store.get_repository(ws, repo)?.map(|r| r.project);
        self.cache.insert_repo(generation, ws, repo, p.clone());
        Ok(p)
    }

    /// The `/check` answer for a request's headers, named in lower case as they arrived.
    /// Every answer is the module's; a store that fails is a denial the module words, and a
    /// module that fails is the denial it worded when it was loaded.
    pub fn check<'h>(
        &self,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    ) -> Result<CheckOutcome, ApiError> {
        self.check_at(headers, clock::now())
    }

    /// `check` at the time `now`: the module's two calls with the lookups between them.
    /// Only a missing module is an error.
    pub fn check_at<'h>(
        &self,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
        now: i64,
    ) -> Result<CheckOutcome, ApiError> {
        let policy = self.policy()?.current();
        // The client's address, as the front names it, for the token's usage record.
        let (mut forwarded_for, mut real_ip) = (None, None);
        let headers = headers.into_iter().inspect(|&(name, value)| {
            if name == "x-forwarded-for" {
                forwarded_for.get_or_insert(value);
            } else if name == "x-real-ip" {
                real_ip.get_or_insert(value);
            }
        });
        let (outcome, token) = match self.ask(&policy, headers, now) {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(reason = e.code(), error = %e, "check failed; denying");
                let answer = CheckAnswer::read(policy.failure_answer())?;
                let outcome = CheckOutcome {
                    answer: Arc::new(answer),
                    token_id: None,
                };
                (outcome, None)
            }
        };
        if self.usage_recording.load(Relaxed) {
            match (&token, outcome.allowed()) {
                (Some(t), true) => {
                    let ip = usage::client_address(forwarded_for, real_ip);
                    self.usage.allowed(&t.id, ip, now);
                }
                (Some(t), false) => {
                    self.usage
                        .denied(Some((&t.id, &t.workspace)), outcome.reason(), now)
                }
                (None, _) => self.usage.denied(None, outcome.reason(), now),
            }
        }
        Ok(outcome)
    }

    fn ask<'h>(
        &self,
        policy: &Policy,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
        now: i64,
    ) -> Result<(CheckOutcome, Option<Arc<CachedToken>>), ApiError> {
        // Only the headers the module reads are handed over.
        let input = forwarded::input(
            self.forwarded_headers,
            headers
                .into_iter()
                .filter(|(name, _)| policy.reads_header(name)),
        );
        let memo = self.memo_enabled.load(Relaxed);
        let first = |_: &token::SecretHash| Step::read(&policy.check_request(input.as_bytes())?);
        let step = if memo {
            let key = token::hash(&input);
            self.steps
                .get_or_answer(true, policy.serial, now, key, first)?
        } else {
            Arc::new(first(&[0; 32])?)
        };
        let lookup = match &*step {
            Step::Answer(answer) => {
                let outcome = CheckOutcome {
                    answer: answer.clone(),
                    token_id: None,
                };
                return Ok((outcome, None));
            }
            Step::Lookup(lookup) => lookup,
        };
        let found = match self.find(lookup) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "the store failed a check's lookup; denying");
                let answer = policy.check_answer(br#"{"failure":"store_unavailable"}"#)?;
                let outcome = CheckOutcome {
                    answer: Arc::new(CheckAnswer::read(&answer)?),
                    token_id: None,
                };
                return Ok((outcome, None));
            }
        };
        let mut input = String::with_capacity(lookup.request.len() + 256);
        input.push_str(r#"{"request":"#);
        input.push_str(&lookup.request);
        input.push_str(r#","now":"#);
        input.push_str(itoa::Buffer::new().format(now));
        input.push_str(r#","token":"#);
        match &found.token {
            Some(t) => {
                input.push_str(r#"{"id":"#);
                push_json_str(&mut input, &t.id);
                input.push_str(r#","claims":"#);
                input.push_str(&t.claims);
                input.push('}');
            }
            None => input.push_str("null"),
        }
        input.push_str(r#","repository_project":"#);
        match &found.repository_project {
            Some(p) => push_json_str(&mut input, p),
            None => input.push_str("null"),
        }
        input.push('}');
        let answer = self
            .answers
            .get_or_answer(memo, policy.serial, now, input, |input| {
                CheckAnswer::read(&policy.check_answer(input.as_bytes())?)
            })?;
        let token_id = found.token.as_ref().map(|t| t.id.clone());
        Ok((CheckOutcome { answer, token_id }, found.token))
    }

    /// What a check's lookups find: the claims stored under the hash, and, for a token found,
    /// the project of the repository the request targets.
    fn find(&self, lookup: &Lookup) -> Result<Found, ApiError> {
        let Some(token) = self.lookup(&lookup.sha256)? else {
            return Ok(Found {
                token: None,
                repository_project: None,
            });
        };
        let repository_project = match &lookup.repository {
            Some((ws, repo)) => self.repository_project(ws, repo)?,
            None => None,
        };
        Ok(Found {
            token: Some(token),
            repository_project,
        })
    }

    /// Switch the per-second memos of the module's answers (on by default); benchmarks measure
    /// both paths.
    pub fn set_decision_memo(&self, on: bool) {
        self.memo_enabled.store(on, Relaxed);
        self.answers.clear();
        self.steps.clear();
    }

    /// Switch the recording of usage and denied checks (on by default; `serve
    /// --record-usage`); the verify bench measures what it costs a check.
    pub fn set_usage_recording(&self, on: bool) {
        self.usage_recording.store(on, Relaxed);
    }

    /// Write the recorded usage, and the denied checks of minutes that are over (`all`: of
    /// every minute, the current one too).
    pub fn flush_usage(&self, all: bool) {
        self.usage.flush(&*self.store, clock::now(), all);
    }

    /// Write the recorded usage: before a list or `show` answers, so that it is up to date.
    pub fn flush_accesses(&self) {
        self.flush_usage(false);
    }
}
