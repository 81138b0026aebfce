//! The process's Prometheus metrics, served as OpenMetrics text on `GET /metrics`.
//!
//! One registry for the process. Every label is a typed value (a small enum, a status number,
//! an admin route template or a store error's code), so neither a token id, a request path nor
//! a secret can reach a label, and each metric's number of series stays bounded. The check path
//! finds its counters by index, resolved ahead of time.

use crate::runtime::Entry;
use crate::store::StoreError;
use parking_lot::RwLock;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::fmt::Write as _;
use std::sync::LazyLock;
use std::time::Duration;

/// The media type of [`encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the check latency buckets, in seconds: a check takes microseconds when its
/// lookups are cached and milliseconds when it waits for the store; the module's own deadline
/// is 100 ms.
const CHECK_BUCKETS: [f64; 14] = [
    5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 1e-1,
];

/// Writes a label value as its stable name.
macro_rules! named_label_value {
    ($($t:ty),*) => {$(
        impl EncodeLabelValue for $t {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                encoder.write_str(self.name())
            }
        }
    )*};
}

/// A label value the policy module answered: a check's reason code (SPEC §5, §9) or its
/// `X-Credential-Type`. The codes are the module's and are not listed again here; what keeps
/// the series bounded is that a value must look like a code (`[a-z_]`, at most 40) and that
/// [`MAX_CHECK_SERIES`] pairs at most get a series of their own. Anything else is `other`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Code(Box<str>);

impl Code {
    fn of(value: &[u8]) -> Code {
        let plain = !value.is_empty()
            && value.len() <= 40
            && value.iter().all(|b| b.is_ascii_lowercase() || *b == b'_');
        match std::str::from_utf8(value) {
            Ok(code) if plain => Code(code.into()),
            _ => Code::other(),
        }
    }

    fn other() -> Code {
        Code("other".into())
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}

/// More distinct (reason, credential type) pairs than the module's codes can make; past it,
/// checks count as `other`.
const MAX_CHECK_SERIES: usize = 128;

/// Which of a check's lookups a cache answered (or did not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cache {
    /// The claims stored under a token's hash.
    Token,
    /// The project of a repository.
    Repository,
}

impl Cache {
    const ALL: [Cache; 2] = [Cache::Token, Cache::Repository];

    pub const fn name(self) -> &'static str {
        match self {
            Cache::Token => "token",
            Cache::Repository => "repository",
        }
    }
}

/// An admin request's method; the unusual ones are counted together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    pub const fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other => "other",
        }
    }

    pub fn of(method: &axum::http::Method) -> Method {
        use axum::http::Method as M;
        match *method {
            M::GET => Method::Get,
            M::HEAD => Method::Head,
            M::POST => Method::Post,
            M::PUT => Method::Put,
            M::PATCH => Method::Patch,
            M::DELETE => Method::Delete,
            M::OPTIONS => Method::Options,
            _ => Method::Other,
        }
    }
}

/// An admin route: the template the router matched (`/admin/v1/workspaces/{ws}`), never the
/// concrete path, or `unmatched`. Only [`Route::matched`] and [`Route::unmatched`] make one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route(Box<str>);

impl Route {
    pub fn matched(path: &axum::extract::MatchedPath) -> Route {
        Route(path.as_str().into())
    }

    pub fn unmatched() -> Route {
        Route("unmatched".into())
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}

/// A store error's stable code (`StoreError::code`); only a `StoreError` makes one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreErrorCode(&'static str);

impl StoreErrorCode {
    const fn name(&self) -> &'static str {
        self.0
    }
}

impl From<&StoreError> for StoreErrorCode {
    fn from(e: &StoreError) -> Self {
        StoreErrorCode(e.code())
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.name())
    }
}

impl EncodeLabelValue for Code {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.name())
    }
}

named_label_value!(Cache, Method, StoreErrorCode, Entry);

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CheckLabels {
    reason: Code,
    credential_type: Code,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CacheLabels {
    cache: Cache,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StoreErrorLabels {
    code: StoreErrorCode,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EntryLabels {
    entry: Entry,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AdminLabels {
    route: Route,
    method: Method,
    status: u16,
}

struct CheckSeries {
    reason: Box<[u8]>,
    credential_type: Box<[u8]>,
    counter: Counter,
}

struct Metrics {
    registry: Registry,
    checks: Family<CheckLabels, Counter>,
    /// `checks`' counters by the `(reason, credential type)` bytes the module answered, made
    /// on first use: a check compares a few short strings under a read lock rather than
    /// building and hashing a label set.
    check_series: RwLock<Vec<CheckSeries>>,
    check_duration: Histogram,
    cache_hits: Vec<Counter>,
    cache_misses: Vec<Counter>,
    store_errors: Family<StoreErrorLabels, Counter>,
    store_reconnects: Counter,
    module_calls: Vec<Counter>,
    module_traps: Vec<Counter>,
    admin_requests: Family<AdminLabels, Counter>,
}

/// The counters of `family` for every `label` value, in the order of `all`: created up front,
/// so each series is exported from zero and found by index.
fn resolved<L: Copy, S: Clone + std::hash::Hash + Eq>(
    family: &Family<S, Counter>,
    all: &[L],
    label: impl Fn(L) -> S,
) -> Vec<Counter> {
    all.iter()
        .map(|l| family.get_or_create(&label(*l)).clone())
        .collect()
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("scopegate");
    let checks = Family::<CheckLabels, Counter>::default();
    registry.register(
        "checks",
        "Checks answered, by reason and credential type",
        checks.clone(),
    );
    let check_duration = Histogram::new(CHECK_BUCKETS);
    registry.register_with_unit(
        "check_duration",
        "Time to answer a check",
        Unit::Seconds,
        check_duration.clone(),
    );
    let hits = Family::<CacheLabels, Counter>::default();
    registry.register(
        "check_cache_hits",
        "Check lookups answered from the cache",
        hits.clone(),
    );
    let misses = Family::<CacheLabels, Counter>::default();
    registry.register(
        "check_cache_misses",
        "Check lookups that went to the store",
        misses.clone(),
    );
    let store_errors = Family::<StoreErrorLabels, Counter>::default();
    registry.register(
        "store_errors",
        "Store failures, by code",
        store_errors.clone(),
    );
    let store_reconnects = Counter::default();
    registry.register(
        "store_reconnects",
        "Reconnections of the store's change feed (PostgreSQL)",
        store_reconnects.clone(),
    );
    let calls = Family::<EntryLabels, Counter>::default();
    registry.register(
        "module_calls",
        "Calls into the policy module, by entry point",
        calls.clone(),
    );
    let traps = Family::<EntryLabels, Counter>::default();
    registry.register(
        "module_traps",
        "Calls into the policy module that trapped or ran out of time, by entry point",
        traps.clone(),
    );
    let admin_requests = Family::<AdminLabels, Counter>::default();
    registry.register(
        "admin_requests",
        "Admin API requests, by route template, method and status",
        admin_requests.clone(),
    );
    let cache = |cache| CacheLabels { cache };
    let entry = |entry| EntryLabels { entry };
    Metrics {
        check_series: RwLock::new(Vec::new()),
        cache_hits: resolved(&hits, &Cache::ALL, cache),
        cache_misses: resolved(&misses, &Cache::ALL, cache),
        module_calls: resolved(&calls, &Entry::ALL, entry),
        module_traps: resolved(&traps, &Entry::ALL, entry),
        registry,
        checks,
        check_duration,
        store_errors,
        store_reconnects,
        admin_requests,
    }
});

/// Counts a check answered with the module's `reason` code and `X-Credential-Type` (none on a
/// denial before the token's kind was known), and the time it took.
pub fn check(reason: &str, credential_type: Option<&[u8]>, took: Duration) {
    let m = &*METRICS;
    let reason = reason.as_bytes();
    let credential_type = credential_type.unwrap_or(b"none");
    let found = |series: &[CheckSeries]| {
        series
            .iter()
            .find(|s| *s.reason == *reason && *s.credential_type == *credential_type)
            .map(|s| s.counter.clone())
    };
    // Its own statement: the read guard must be gone before the write lock is asked for.
    let known = found(&m.check_series.read());
    let counter = known.unwrap_or_else(|| {
        let mut series = m.check_series.write();
        if let Some(counter) = found(&series) {
            return counter;
        }
        let (labels, key) = if series.len() < MAX_CHECK_SERIES {
            (
                CheckLabels {
                    reason: Code::of(reason),
                    credential_type: Code::of(credential_type),
                },
                (reason, credential_type),
            )
        } else {
            // Over the bound: count it with every other stranger, unkeyed.
            let labels = CheckLabels {
                reason: Code::other(),
                credential_type: Code::other(),
            };
            return m.checks.get_or_create(&labels).clone();
        };
        let counter = m.checks.get_or_create(&labels).clone();
        series.push(CheckSeries {
            reason: key.0.into(),
            credential_type: key.1.into(),
            counter: counter.clone(),
        });
        counter
    });
    counter.inc();
    m.check_duration.observe(took.as_secs_f64());
}

/// Counts a lookup of `cache`, answered from it or not.
pub fn cache_lookup(cache: Cache, hit: bool) {
    let m = &*METRICS;
    let counters = if hit { &m.cache_hits } else { &m.cache_misses };
    if let Some(c) = counters.get(cache as usize) {
        c.inc();
    }
}

/// Counts a store error as it is made, and hands it back.
pub fn store_error(e: StoreError) -> StoreError {
    METRICS
        .store_errors
        .get_or_create(&StoreErrorLabels {
            code: StoreErrorCode::from(&e),
        })
        .inc();
    e
}

/// Counts a reconnection of the store's change feed.
pub fn store_reconnect() {
    METRICS.store_reconnects.inc();
}

/// Counts a call into the module's `entry`, and whether it trapped.
pub fn module_call(entry: Entry, trapped: bool) {
    let m = &*METRICS;
    if let Some(c) = m.module_calls.get(entry as usize) {
        c.inc();
    }
    if trapped {
        if let Some(c) = m.module_traps.get(entry as usize) {
            c.inc();
        }
    }
}

/// Counts an admin request.
pub fn admin_request(route: Route, method: Method, status: u16) {
    METRICS
        .admin_requests
        .get_or_create(&AdminLabels {
            route,
            method,
            status,
        })
        .inc();
}

/// Every metric as OpenMetrics text, ending in `# EOF`.
pub fn encode() -> String {
    let mut out = String::with_capacity(8 * 1024);
    if prometheus_client::encoding::text::encode(&mut out, &METRICS.registry).is_err() {
        // Writing to a String fails only if an encoder refuses a value, which none here does;
        // a scrape then still gets a well-formed, empty exposition.
        out.clear();
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_labels_are_codes_or_other() {
        assert_eq!(Code::of(b"scope_missing").name(), "scope_missing");
        for stranger in [
            &b"tok_Ab12"[..],
            b"/2.0/repositories/acme",
            b"",
            &[b'a'; 41],
            b"\xff",
        ] {
            assert_eq!(Code::of(stranger).name(), "other");
        }
    }

    #[test]
    fn counters_found_by_index_are_their_labels() {
        // `cache as usize` and `entry as usize` index the counters made in `ALL`'s order.
        for (i, cache) in Cache::ALL.into_iter().enumerate() {
            assert_eq!(cache as usize, i);
        }
        for (i, entry) in Entry::ALL.into_iter().enumerate() {
            assert_eq!(entry as usize, i);
        }
    }

    #[test]
    fn the_text_is_openmetrics() {
        check(
            "allowed",
            Some(b"repo_access_token"),
            Duration::from_micros(7),
        );
        let text = encode();
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(text.contains(
            "scopegate_checks_total{reason=\"allowed\",credential_type=\"repo_access_token\"}"
        ));
        assert!(text.contains("# TYPE scopegate_check_duration_seconds histogram"));
        assert!(text.contains("scopegate_check_duration_seconds_bucket{le=\"0.000005\"}"));
    }
}
