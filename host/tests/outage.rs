//! The store goes away mid-run: cached answers hold for the staleness window, then checks fail
//! closed; admin writes answer 503 and change nothing; the host recovers by itself.
//!
//! PostgreSQL only (it is the store that can be away while the host runs): under SQLite this
//! binary passes without running anything, the PostgreSQL pass of the suite runs it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

const REPO: &str = "/2.0/repositories/acme/api";
const STALENESS_MS: u64 = 3000;

fn until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if done() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One sample of `/metrics`, by its exact name and labels as the host writes them (the metrics
/// test reads the whole text with Prometheus's parser); 0 before it is first written.
fn sample(s: &Server, series: &str) -> f64 {
    let text = s.raw(s.http.get(s.url("/metrics"))).text;
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().unwrap())
}

const UNAVAILABLE: &str = r#"scopegate_store_errors_total{code="store_unavailable"}"#;
const RECONNECTS: &str = "scopegate_store_reconnects_total";

#[test]
fn a_store_outage_is_bounded_then_repaired() {
    if backend() != Backend::Postgres {
        eprintln!("outage: PostgreSQL only (SCOPEGATE_TEST_DB=postgres)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::new(dir.path(), real_policy());
    opts.extra = vec!["--max-staleness-ms".into(), STALENESS_MS.to_string()];
    let s = start(dir.path(), opts);
    s.seed();
    let (_, cached) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let (_, uncached) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    // Let the host see its own last commit first, so nothing empties the cache after the fill.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.check(Some(&cached), "GET", REPO).status, 200);
    let token_ids = || -> Vec<String> {
        let v = s
            .admin(
                "GET",
                "/workspaces/acme/repositories/api/access-tokens",
                None,
            )
            .json();
        let list = v.as_array().or(v["values"].as_array()).cloned();
        let mut ids: Vec<String> = list
            .unwrap_or_else(|| panic!("a token list: {v}"))
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let tokens_before = token_ids();
    assert_eq!(tokens_before.len(), 2);

    let unavailable_before = sample(&s, UNAVAILABLE);
    let reconnects_before = sample(&s, RECONNECTS);
    pg().stop();
    let stopped = Instant::now();
    // Inside the window: the cached token still answers; anything needing the store is denied.
    let r = s.check(Some(&cached), "GET", REPO);
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.check(Some(&uncached), "GET", REPO);
    assert_eq!((r.status, r.reason().as_str()), (403, "store_unavailable"));
    // Admin writes: a clear 503.
    let r = s.admin(
        "POST",
        "/workspaces/acme/repositories/api/access-tokens",
        Some(json!({"name": "t", "scopes": ["repository"], "expires_at": time_in(3600)})),
    );
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.reason(), "store_unavailable", "{}", r.text);
    let r = s.admin("PUT", "/workspaces/beta", Some(json!({"plan": "free"})));
    assert_eq!(r.status, 503, "{}", r.text);

    // After the window: the cached token fails closed too, and not long after.
    until(Duration::from_secs(10), "fail closed", || {
        s.check(Some(&cached), "GET", REPO).reason() == "store_unavailable"
    });
    let closed_after = stopped.elapsed();
    assert!(
        closed_after >= Duration::from_millis(STALENESS_MS - 1000)
            && closed_after <= Duration::from_millis(STALENESS_MS + 3000),
        "failed closed after {closed_after:?}"
    );

    // The store returns: the host recovers alone.
    pg().restart();
    until(Duration::from_secs(15), "recovery", || {
        s.check(Some(&cached), "GET", REPO).status == 200
    });
    assert_eq!(s.check(Some(&uncached), "GET", REPO).status, 200);
    // The outage shows in the metrics: the store's failures, and its change feed reconnecting.
    assert!(sample(&s, UNAVAILABLE) > unavailable_before);
    until(
        Duration::from_secs(15),
        "the change feed reconnects",
        || sample(&s, RECONNECTS) > reconnects_before,
    );
    // Nothing was lost or half-written: the refused creation left no token, nor the workspace.
    assert_eq!(token_ids(), tokens_before);
    assert_eq!(s.admin("GET", "/workspaces/beta", None).status, 404);
    // And writes, revocations and their propagation work again.
    let (id, fresh) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    assert_eq!(s.check(Some(&fresh), "GET", REPO).status, 200);
    assert_eq!(
        s.admin("DELETE", &format!("/access-tokens/{id}"), None)
            .status,
        204
    );
    assert_eq!(s.check(Some(&fresh), "GET", REPO).reason(), "token_revoked");
}
