//! The process's Prometheus metrics, served as OpenMetrics text on `GET /metrics`.
//!
//! One registry for the process. Every label is a typed value (a small enum, a status number,
//! an admin route template or a store error's code), so neither a token id, a request path nor
//! a secret can reach a label, and each metric's number of series stays bounded. The check path
//! finds its counters by index, resolved ahead of time.

use crate::runtime::Entry;
use crate::store::StoreError;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::fmt::Write as _;
use std::sync::{LazyLock, OnceLock};
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

/// A check's reason code: SPEC §5's, §9's host-level ones and the failures to find out, as the
/// module answers them. A code this list does not know is counted as `other`, so a newer
/// module cannot grow the label beyond it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    Allowed,
    BadInput,
    InvalidClaims,
    TokenRevoked,
    TokenExpired,
    BadPath,
    WebLoginForbidden,
    UnknownOperation,
    ForbiddenOperation,
    OutsideResource,
    UnresolvedRepository,
    ScopeNotGrantable,
    ScopeMissing,
    TokenMissing,
    TokenMalformed,
    TokenUnknown,
    StoreUnavailable,
    SnapshotMissing,
    SnapshotStale,
    PolicyFailure,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 21] = [
        Reason::Allowed,
        Reason::BadInput,
        Reason::InvalidClaims,
        Reason::TokenRevoked,
        Reason::TokenExpired,
        Reason::BadPath,
        Reason::WebLoginForbidden,
        Reason::UnknownOperation,
        Reason::ForbiddenOperation,
        Reason::OutsideResource,
        Reason::UnresolvedRepository,
        Reason::ScopeNotGrantable,
        Reason::ScopeMissing,
        Reason::TokenMissing,
        Reason::TokenMalformed,
        Reason::TokenUnknown,
        Reason::StoreUnavailable,
        Reason::SnapshotMissing,
        Reason::SnapshotStale,
        Reason::PolicyFailure,
        Reason::Other,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Reason::Allowed => "allowed",
            Reason::BadInput => "bad_input",
            Reason::InvalidClaims => "invalid_claims",
            Reason::TokenRevoked => "token_revoked",
            Reason::TokenExpired => "token_expired",
            Reason::BadPath => "bad_path",
            Reason::WebLoginForbidden => "web_login_forbidden",
            Reason::UnknownOperation => "unknown_operation",
            Reason::ForbiddenOperation => "forbidden_operation",
            Reason::OutsideResource => "outside_resource",
            Reason::UnresolvedRepository => "unresolved_repository",
            Reason::ScopeNotGrantable => "scope_not_grantable",
            Reason::ScopeMissing => "scope_missing",
            Reason::TokenMissing => "token_missing",
            Reason::TokenMalformed => "token_malformed",
            Reason::TokenUnknown => "token_unknown",
            Reason::StoreUnavailable => "store_unavailable",
            Reason::SnapshotMissing => "snapshot_missing",
            Reason::SnapshotStale => "snapshot_stale",
            Reason::PolicyFailure => "policy_failure",
            Reason::Other => "other",
        }
    }

    /// The reason a module's code names; `other` for one it does not.
    pub fn of(code: &str) -> Reason {
        Reason::ALL
            .into_iter()
            .find(|r| r.name() == code)
            .unwrap_or(Reason::Other)
    }
}

/// A check answer's `X-Credential-Type`, or `none` when it has none (a denial before the
/// token's kind was known).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialType {
    Repository,
    Project,
    Workspace,
    None,
}

impl CredentialType {
    pub const ALL: [CredentialType; 4] = [
        CredentialType::Repository,
        CredentialType::Project,
        CredentialType::Workspace,
        CredentialType::None,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            CredentialType::Repository => "repo_access_token",
            CredentialType::Project => "project_access_token",
            CredentialType::Workspace => "workspace_access_token",
            CredentialType::None => "none",
        }
    }

    /// The type an `X-Credential-Type` value names; `none` for a value it does not know.
    pub fn of(header: Option<&[u8]>) -> CredentialType {
        header
            .and_then(|v| {
                CredentialType::ALL
                    .into_iter()
                    .find(|t| t.name().as_bytes() == v)
            })
            .unwrap_or(CredentialType::None)
    }
}

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

named_label_value!(Reason, CredentialType, Cache, Method, StoreErrorCode, Entry);

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CheckLabels {
    reason: Reason,
    credential_type: CredentialType,
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

struct Metrics {
    registry: Registry,
    checks: Family<CheckLabels, Counter>,
    /// `checks`' counters by `(reason, credential type)`, each resolved on its first use so
    /// that later checks neither hash a label set nor take the family's lock.
    check_cells: Vec<OnceLock<Counter>>,
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
        check_cells: (0..Reason::ALL.len() * CredentialType::ALL.len())
            .map(|_| OnceLock::new())
            .collect(),
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

/// Counts a check answered with `reason` for `credential_type`, and the time it took.
pub fn check(reason: Reason, credential_type: CredentialType, took: Duration) {
    let m = &*METRICS;
    let cell = reason as usize * CredentialType::ALL.len() + credential_type as usize;
    if let Some(cell) = m.check_cells.get(cell) {
        cell.get_or_init(|| {
            m.checks
                .get_or_create(&CheckLabels {
                    reason,
                    credential_type,
                })
                .clone()
        })
        .inc();
    }
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
    use scopegate_core::{CheckReason, Credential, Failure};

    #[test]
    fn every_reason_the_core_answers_is_named() {
        let credential = [
            Credential::TokenMissing,
            Credential::TokenMalformed,
            Credential::TokenUnknown,
        ];
        let codes: Vec<&str> = scopegate_core::Reason::ALL
            .into_iter()
            .map(CheckReason::Policy)
            .chain(credential.into_iter().map(CheckReason::Credential))
            .chain(Failure::ALL.into_iter().map(CheckReason::Failure))
            .map(CheckReason::code)
            .collect();
        for code in &codes {
            assert_ne!(Reason::of(code), Reason::Other, "{code}");
            assert_eq!(Reason::of(code).name(), *code);
        }
        // Every named reason but `other` is one the core answers.
        assert_eq!(codes.len(), Reason::ALL.len() - 1);
        assert_eq!(Reason::of("tok_123"), Reason::Other);
    }

    #[test]
    fn credential_types_are_the_cores() {
        use scopegate_core::TokenKind;
        for kind in [
            TokenKind::Repository,
            TokenKind::Project,
            TokenKind::Workspace,
        ] {
            let name = scopegate_core::check::credential_type(kind);
            assert_eq!(CredentialType::of(Some(name.as_bytes())).name(), name);
        }
        assert_eq!(CredentialType::of(Some(b"x")), CredentialType::None);
        assert_eq!(CredentialType::of(None), CredentialType::None);
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
        for (i, reason) in Reason::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, i);
        }
        for (i, t) in CredentialType::ALL.into_iter().enumerate() {
            assert_eq!(t as usize, i);
        }
    }

    #[test]
    fn the_text_is_openmetrics() {
        check(
            Reason::Allowed,
            CredentialType::Repository,
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
