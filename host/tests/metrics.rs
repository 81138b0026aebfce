//! `GET /metrics`: read by Prometheus's own parser (Python's `prometheus_client`), its counters
//! against the checks, admin calls and module traps made, and no token id, path or secret in
//! any label.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

/// Reads OpenMetrics text with `prometheus_client`'s parser; any text it refuses fails.
const PARSE: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": family.name, "type": family.type,
                "samples": [[s.name, s.labels, s.value] for s in family.samples]})
print(json.dumps(out))
"#;

/// One sample: its name and labels.
type Key = (String, BTreeMap<String, String>);

struct Scrape {
    families: Vec<Value>,
    samples: BTreeMap<Key, f64>,
}

impl Scrape {
    /// The value of the sample `name` whose labels include `labels` (summed over the others).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|((n, l), _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, v)| v)
            .sum()
    }

    fn family_type(&self, name: &str) -> Option<String> {
        self.families
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["type"].as_str().unwrap().to_string())
    }

    fn label_values(&self) -> Vec<String> {
        self.samples
            .keys()
            .flat_map(|(_, l)| l.values().cloned())
            .collect()
    }
}

fn scrape(s: &Server) -> Scrape {
    let r = s.raw(s.http.get(s.url("/metrics")));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let mut python = Command::new("python3")
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (with prometheus_client: cargo xtask setup)");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(r.text.as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client refused the text: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        r.text
    );
    let families: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut samples = BTreeMap::new();
    for f in &families {
        for sample in f["samples"].as_array().unwrap() {
            let labels: BTreeMap<String, String> =
                serde_json::from_value(sample[1].clone()).unwrap();
            let name = sample[0].as_str().unwrap().to_string();
            let previous = samples.insert((name, labels), sample[2].as_f64().unwrap());
            assert!(previous.is_none(), "a repeated sample: {sample}");
        }
    }
    Scrape { families, samples }
}

/// Checks made `times` times, and the answer each gets.
struct Made<'a> {
    token: Option<&'a str>,
    method: &'a str,
    uri: &'a str,
    status: u16,
    reason: &'a str,
    /// `X-Credential-Type`, or `none` without one.
    credential_type: &'a str,
    times: u32,
}

impl<'a> Made<'a> {
    fn new(
        token: Option<&'a str>,
        method: &'a str,
        uri: &'a str,
        status: u16,
        reason: &'a str,
        times: u32,
    ) -> Self {
        Made {
            token,
            method,
            uri,
            status,
            reason,
            credential_type: "none",
            times,
        }
    }

    fn credential(self, credential_type: &'a str) -> Self {
        Made {
            credential_type,
            ..self
        }
    }
}

/// `after - before` of one sample.
fn delta(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.get(name, labels) - before.get(name, labels)
}

#[test]
fn counters_match_the_checks_and_admin_calls_made() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::new(dir.path(), real_policy());
    // Every check asks the module, so its calls can be counted.
    opts.extra = vec!["--decision-memo".into(), "false".into()];
    let s = start(dir.path(), opts);
    s.seed();
    let (repo_id, repo_tok) = s.issue("/workspaces/acme/repositories/api", &["pullrequest"]);
    let (ws_id, ws_tok) = s.issue("/workspaces/acme", &["repository"]);
    let unknown =
        scopegate_core::token::seal(scopegate_core::SecretKind::AccessToken, &"A".repeat(40))
            .unwrap()
            .0;

    let before = scrape(&s);
    assert_eq!(
        before
            .family_type("scopegate_check_duration_seconds")
            .as_deref(),
        Some("histogram")
    );
    assert_eq!(
        before.family_type("scopegate_checks").as_deref(),
        Some("counter")
    );

    let pulls = "/2.0/repositories/acme/api/pullrequests?state=OPEN";
    let repo = "/2.0/repositories/acme/api";
    let checks = [
        Made::new(Some(&repo_tok), "GET", pulls, 200, "allowed", 3).credential("repo_access_token"),
        Made::new(Some(&ws_tok), "GET", repo, 200, "allowed", 2)
            .credential("workspace_access_token"),
        Made::new(None, "GET", pulls, 401, "token_missing", 2),
        Made::new(Some(&unknown), "GET", pulls, 401, "token_unknown", 2),
        Made::new(Some("sgat_nope"), "GET", pulls, 401, "token_malformed", 1),
        Made::new(Some(&repo_tok), "PUT", repo, 403, "scope_missing", 2),
    ];
    let mut total = 0.0;
    let mut looked_up = 0.0;
    for &Made {
        token,
        method,
        uri,
        status,
        reason,
        credential_type,
        times: n,
    } in &checks
    {
        for _ in 0..n {
            let r = s.check(token, method, uri);
            assert_eq!(r.status, status, "{reason}: {}", r.text);
            if status == 200 {
                assert_eq!(
                    r.header("x-credential-type").as_deref(),
                    Some(credential_type)
                );
            } else {
                assert_eq!(r.reason(), reason, "{}", r.text);
                assert!(r.header("x-credential-type").is_none());
            }
        }
        total += f64::from(n);
        // Only an answer that needs the store's claims takes the module's second call.
        if !matches!(reason, "token_missing" | "token_malformed") {
            looked_up += f64::from(n);
        }
    }

    // Admin calls: two found, one workspace not found, one route that does not exist, one
    // without the admin key.
    for _ in 0..2 {
        assert_eq!(s.admin("GET", "/workspaces/acme", None).status, 200);
    }
    assert_eq!(s.admin("GET", "/workspaces/nope", None).status, 404);
    assert_eq!(s.admin("GET", "/no-such-route", None).status, 404);
    let r = s.raw(s.http.get(s.url("/admin/v1/workspaces")));
    assert_eq!(r.status, 401, "{}", r.text);

    let after = scrape(&s);
    for made in &checks {
        let (reason, credential_type) = (made.reason, made.credential_type);
        let labels = [("reason", reason), ("credential_type", credential_type)];
        let counted = delta(&before, &after, "scopegate_checks_total", &labels);
        let expected: u32 = checks
            .iter()
            .filter(|c| c.reason == reason && c.credential_type == credential_type)
            .map(|c| c.times)
            .sum();
        assert_eq!(counted, f64::from(expected), "{reason} {credential_type}");
    }
    assert_eq!(delta(&before, &after, "scopegate_checks_total", &[]), total);
    let seconds = "scopegate_check_duration_seconds";
    assert_eq!(
        delta(&before, &after, &format!("{seconds}_count"), &[]),
        total
    );
    assert!(delta(&before, &after, &format!("{seconds}_sum"), &[]) > 0.0);
    assert_eq!(
        after.get(&format!("{seconds}_bucket"), &[("le", "+Inf")]),
        after.get(&format!("{seconds}_count"), &[])
    );

    let calls = |entry: &str| {
        delta(
            &before,
            &after,
            "scopegate_module_calls_total",
            &[("entry", entry)],
        )
    };
    assert_eq!(calls("sg_check_request"), total);
    assert_eq!(calls("sg_check_answer"), looked_up);
    // No token was issued between the scrapes.
    assert_eq!(calls("sg_seal"), 0.0);
    assert_eq!(
        delta(&before, &after, "scopegate_module_traps_total", &[]),
        0.0
    );

    // Every lookup of a token's claims is a cache hit or a miss; the repository's project is
    // looked up for the found tokens whose request names a repository.
    let token_cache = [("cache", "token")];
    let lookups = delta(
        &before,
        &after,
        "scopegate_check_cache_hits_total",
        &token_cache,
    ) + delta(
        &before,
        &after,
        "scopegate_check_cache_misses_total",
        &token_cache,
    );
    assert_eq!(lookups, looked_up);
    let repository_cache = [("cache", "repository")];
    let repository_lookups = delta(
        &before,
        &after,
        "scopegate_check_cache_hits_total",
        &repository_cache,
    ) + delta(
        &before,
        &after,
        "scopegate_check_cache_misses_total",
        &repository_cache,
    );
    assert_eq!(repository_lookups, 3.0 + 2.0 + 2.0);

    let admin = |route: &str, status: &str| {
        delta(
            &before,
            &after,
            "scopegate_admin_requests_total",
            &[("route", route), ("method", "GET"), ("status", status)],
        )
    };
    assert_eq!(admin("/admin/v1/workspaces/{ws}", "200"), 2.0);
    assert_eq!(admin("/admin/v1/workspaces/{ws}", "404"), 1.0);
    assert_eq!(admin("unmatched", "404"), 1.0);
    assert_eq!(admin("/admin/v1/workspaces", "401"), 1.0);
    assert_eq!(
        delta(&before, &after, "scopegate_admin_requests_total", &[]),
        5.0
    );
    // The calls before the first scrape: the seed's PUTs and the two tokens' POSTs.
    assert_eq!(
        before.get(
            "scopegate_admin_requests_total",
            &[("method", "PUT"), ("status", "201")]
        ),
        4.0
    );
    assert_eq!(
        before.get(
            "scopegate_admin_requests_total",
            &[("method", "POST"), ("status", "201")]
        ),
        2.0
    );
    assert_eq!(
        delta(&before, &after, "scopegate_store_errors_total", &[]),
        0.0
    );

    // Labels name kinds, never a token, a request or a resource.
    for value in after.label_values() {
        for secret in [
            &repo_tok,
            &ws_tok,
            &unknown,
            &repo_id,
            &ws_id,
            &ADMIN_KEY.to_string(),
        ] {
            assert!(!value.contains(secret.as_str()), "{value}");
        }
        for part in [
            "acme",
            "/2.0",
            "pullrequests",
            "nope",
            "no-such-route",
            "sgat_",
        ] {
            assert!(!value.contains(part), "a label holds {part}: {value}");
        }
    }
}

#[test]
fn a_module_that_traps_or_hangs_is_counted_per_entry() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("fake.wasm");
    // A stand-in module whose check_request loops for `LOOP` and exhausts memory for `HUGE`.
    write_wat(&policy, &fake_policy_wat(2));
    let mut opts = Options::new(dir.path(), policy);
    opts.extra = vec!["--decision-memo".into(), "false".into()];
    let s = start(dir.path(), opts);
    let before = scrape(&s);
    for uri in ["/2.0/repositories/acme/LOOP", "/2.0/repositories/acme/HUGE"] {
        for _ in 0..2 {
            let r = s.check(None, "GET", uri);
            assert_eq!((r.status, r.reason().as_str()), (403, "policy_failure"));
        }
    }
    let after = scrape(&s);
    let request = [("entry", "sg_check_request")];
    assert_eq!(
        delta(&before, &after, "scopegate_module_traps_total", &request),
        4.0
    );
    assert_eq!(
        delta(&before, &after, "scopegate_module_calls_total", &request),
        4.0
    );
    assert_eq!(
        delta(&before, &after, "scopegate_module_traps_total", &[]),
        4.0
    );
    let failed = [("reason", "policy_failure"), ("credential_type", "none")];
    assert_eq!(
        delta(&before, &after, "scopegate_checks_total", &failed),
        4.0
    );
}
