//! Several hosts over one store: what one commits, the others answer within a second. On
//! PostgreSQL the change reaches them by LISTEN/NOTIFY; on SQLite (hosts sharing one file on one
//! machine) by the change counter they poll.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

const REPO: &str = "/2.0/repositories/acme/api";

/// Polls until `done` or one second has passed; the time it took.
fn within_a_second(mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if done() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "not seen within 1 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn three_hosts_agree_on_every_token_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let policy = real_policy();
    let a = start(dir.path(), Options::new(dir.path(), policy.clone()));
    let b = start(dir.path(), Options::new(dir.path(), policy.clone()));
    let c = start(dir.path(), Options::new(dir.path(), policy));
    a.seed();
    if backend() == Backend::Postgres {
        for h in [&a, &b, &c] {
            let listening = || {
                String::from_utf8_lossy(&read_all(&h.stderr))
                    .contains("the store's change feed is listening")
            };
            let start = Instant::now();
            while !listening() && start.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(listening(), "no LISTEN connection");
        }
    }

    // Created on A, used on B (and on C), each of which caches it.
    let (id, tok) = a.issue("/workspaces/acme/repositories/api", &["repository"]);
    for h in [&a, &b, &c] {
        assert_eq!(h.check(Some(&tok), "GET", REPO).status, 200);
    }

    // Revoked on B: denied on A and C within a second, from their warm caches.
    assert_eq!(
        b.admin("DELETE", &format!("/access-tokens/{id}"), None)
            .status,
        204
    );
    for h in [&a, &c] {
        within_a_second(|| h.check(Some(&tok), "GET", REPO).reason() == "token_revoked");
    }

    // A repository moved on C: a project token's reach changes on A.
    let (_, proj) = a.issue("/workspaces/acme/projects/PROJ", &["repository"]);
    let (_, other) = a.issue("/workspaces/acme/projects/OTHER", &["repository"]);
    assert_eq!(a.check(Some(&proj), "GET", REPO).status, 200);
    assert_eq!(a.check(Some(&other), "GET", REPO).status, 403);
    let r = c.admin(
        "PUT",
        "/workspaces/acme/repositories/api",
        Some(json!({"project": "OTHER"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    within_a_second(|| {
        a.check(Some(&proj), "GET", REPO).reason() == "outside_resource"
            && a.check(Some(&other), "GET", REPO).status == 200
    });

    // Rotated on A: the successor works on B at once, the predecessor keeps its grace there.
    let (rid, rtok) = a.issue("/workspaces/acme", &["repository"]);
    assert_eq!(b.check(Some(&rtok), "GET", REPO).status, 200);
    let r = a.admin(
        "POST",
        &format!("/access-tokens/{rid}/rotate"),
        Some(json!({"expires_at": time_in(86400)})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let successor = r.json()["token"].as_str().unwrap().to_string();
    assert_eq!(b.check(Some(&successor), "GET", REPO).status, 200);
    assert_eq!(b.check(Some(&rtok), "GET", REPO).status, 200);

    // Access times from several writers: uses on A and on B both reach the store, and the later
    // one wins wherever it is read.
    let (uid, utok) = a.issue("/workspaces/acme", &["repository"]);
    assert_eq!(a.check(Some(&utok), "GET", REPO).status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    // Read before the check: B records the second it answers in, which is never earlier.
    let used_on_b = now();
    assert_eq!(b.check(Some(&utok), "GET", REPO).status, 200);
    let start = Instant::now();
    loop {
        let v = c
            .admin("GET", &format!("/access-tokens/{uid}"), None)
            .json();
        if let Some(t) = v["last_accessed_at"].as_str() {
            let t = time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .unwrap()
                .unix_timestamp();
            if t >= used_on_b {
                break;
            }
        }
        if start.elapsed() >= Duration::from_secs(5) {
            // B's log says whether its flush ran and what the store answered it.
            let log = read_all(&b.stderr);
            let tail = String::from_utf8_lossy(&log[log.len().saturating_sub(8000)..]);
            panic!("B's access (at {used_on_b} or later) never reached the store: {v}\nB's log:\n{tail}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `scopegate_check_cache_{hits,misses}_total` of one cache, read from `/metrics`.
fn cache_counts(h: &Server, cache: &str) -> (f64, f64) {
    let text = h.raw(h.http.get(h.url("/metrics"))).text;
    let read = |name: &str| {
        let prefix = format!("{name}{{cache=\"{cache}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0.0, |v| v.trim().parse::<f64>().unwrap())
    };
    (
        read("scopegate_check_cache_hits_total"),
        read("scopegate_check_cache_misses_total"),
    )
}

#[test]
fn a_change_drops_only_the_entries_it_alters_on_every_host() {
    let dir = tempfile::tempdir().unwrap();
    let policy = real_policy();
    let memo_off = |o: &mut Options| o.extra = vec!["--decision-memo".into(), "false".into()];
    let mut opts = Options::new(dir.path(), policy.clone());
    memo_off(&mut opts);
    let a = start(dir.path(), opts);
    let mut opts = Options::new(dir.path(), policy);
    memo_off(&mut opts);
    let b = start(dir.path(), opts);
    a.seed();
    let (_, kept) = a.issue("/workspaces/acme/projects/PROJ", &["repository"]);
    let (revoked_id, revoked) = a.issue("/workspaces/acme/repositories/api", &["repository"]);
    // Checked before the changes and once after: a host that emptied its cache misses it.
    let (_, bystander) = a.issue("/workspaces/acme", &["repository"]);
    const WEB: &str = "/2.0/repositories/acme/web";
    // The seeding created repositories, which rightly drops their entries on each host when the
    // host catches up; a host that caught up late would drop what the test fills next. So each
    // host is first seen to apply a later change (a marker token's revocation), and with it every
    // change before it.
    let (marker_id, marker) = a.issue("/workspaces/acme", &["repository"]);
    for h in [&a, &b] {
        assert_eq!(h.check(Some(&marker), "GET", WEB).status, 200);
    }
    assert_eq!(
        a.admin("DELETE", &format!("/access-tokens/{marker_id}"), None)
            .status,
        204
    );
    for h in [&a, &b] {
        within_a_second(|| h.check(Some(&marker), "GET", WEB).reason() == "token_revoked");
    }
    for h in [&a, &b] {
        for tok in [&kept, &revoked] {
            assert_eq!(h.check(Some(tok), "GET", REPO).status, 200);
        }
        assert_eq!(h.check(Some(&bystander), "GET", WEB).status, 200);
    }

    // On A: a token issued, another revoked, a repository moved. Each host drops the revoked
    // token and the moved repository, and nothing else: a creation drops nothing.
    let (_, fresh) = a.issue("/workspaces/acme", &["repository"]);
    assert_eq!(
        a.admin("DELETE", &format!("/access-tokens/{revoked_id}"), None)
            .status,
        204
    );
    let r = a.admin(
        "PUT",
        "/workspaces/acme/repositories/api",
        Some(json!({"project": "OTHER"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    for h in [&a, &b] {
        within_a_second(|| h.check(Some(&revoked), "GET", REPO).reason() == "token_revoked");
        within_a_second(|| h.check(Some(&kept), "GET", REPO).reason() == "outside_resource");
        assert_eq!(h.check(Some(&fresh), "GET", REPO).status, 200);

        // Still cached: the untouched token, and the untouched repository's project.
        let (tokens, repositories) = (cache_counts(h, "token"), cache_counts(h, "repository"));
        assert_eq!(h.check(Some(&bystander), "GET", WEB).status, 200);
        let (tokens_after, repositories_after) =
            (cache_counts(h, "token"), cache_counts(h, "repository"));
        assert_eq!(
            tokens_after.0 - tokens.0,
            1.0,
            "an untouched token was dropped: {tokens:?} -> {tokens_after:?}; {}",
            h.logs()
        );
        assert_eq!(tokens_after.1, tokens.1);
        assert_eq!(
            repositories_after.0 - repositories.0,
            1.0,
            "an untouched repository was dropped: {repositories:?} -> {repositories_after:?}; {}",
            h.logs()
        );
        assert_eq!(repositories_after.1, repositories.1);
    }
}
