//! Parallel clients creating, revoking and checking: no lost token, no allow after a revocation
//! answer.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use parking_lot::Mutex;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[test]
fn parallel_create_revoke_check() {
    parallel_clients(&[]);
}

/// One thread answering all the parallel clients holds the same guarantees.
#[test]
fn parallel_create_revoke_check_on_one_worker() {
    let logs = parallel_clients(&["--workers", "1"]);
    assert!(logs.contains("workers=1"), "{logs}");
}

/// Runs the clients against a server started with `serve_args`; returns its logs.
fn parallel_clients(serve_args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::new(dir.path(), real_policy());
    opts.extra = serve_args.iter().map(|a| a.to_string()).collect();
    let s = Arc::new(start(dir.path(), opts));
    s.seed();
    let (_, steady) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    // Tokens whose revocation has been answered: checks started afterwards must never allow.
    let revoked: Arc<Mutex<Vec<String>>> = Arc::default();
    let created: Arc<Mutex<Vec<String>>> = Arc::default();
    let requests = Arc::new(AtomicUsize::new(0));
    let writers = 6;
    let rounds = 40;
    let mut handles = Vec::new();
    for w in 0..writers {
        let (s, revoked, created, requests) = (
            s.clone(),
            revoked.clone(),
            created.clone(),
            requests.clone(),
        );
        handles.push(std::thread::spawn(move || {
            for i in 0..rounds {
                let r = s.admin("POST", "/workspaces/acme/repositories/api/access-tokens",
                    Some(json!({"name": format!("w{w}-{i}"), "scopes": ["repository"], "expires_at": time_in(3600)})));
                assert_eq!(r.status, 201, "{}", r.text);
                let v = r.json();
                let (id, tok) = (v["id"].as_str().unwrap().to_string(), v["token"].as_str().unwrap().to_string());
                created.lock().push(id.clone());
                assert_eq!(s.check(Some(&tok), "GET", "/2.0/repositories/acme/api").status, 200, "fresh token refused");
                if i % 2 == 0 {
                    assert_eq!(s.admin("DELETE", &format!("/access-tokens/{id}"), None).status, 204);
                    revoked.lock().push(tok.clone());
                    let r = s.check(Some(&tok), "GET", "/2.0/repositories/acme/api");
                    assert_eq!(r.reason(), "token_revoked", "allowed after its revocation answer");
                }
                requests.fetch_add(4, Ordering::Relaxed);
            }
        }));
    }
    let readers = 4;
    for _ in 0..readers {
        let (s, revoked, steady, requests) =
            (s.clone(), revoked.clone(), steady.clone(), requests.clone());
        handles.push(std::thread::spawn(move || {
            for i in 0..400 {
                let r = s.check(Some(&steady), "GET", "/2.0/repositories/acme/api/commits");
                assert_eq!(r.status, 200, "{}", r.text);
                let snapshot: Vec<String> = revoked.lock().clone();
                if let Some(t) = snapshot.get(i % snapshot.len().max(1)) {
                    let r = s.check(Some(t), "GET", "/2.0/repositories/acme/api");
                    assert_eq!(r.status, 401, "a revoked token was allowed: {}", r.text);
                }
                requests.fetch_add(2, Ordering::Relaxed);
            }
        }));
    }
    for h in handles {
        h.join().expect("client thread");
    }
    let listed = s
        .admin(
            "GET",
            "/workspaces/acme/repositories/api/access-tokens?limit=1000",
            None,
        )
        .json();
    assert!(
        listed.get("next_cursor").is_none(),
        "one page holds them all"
    );
    let listed: Vec<String> = listed["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    for id in created.lock().iter() {
        assert!(listed.contains(id), "token {id} was lost");
    }
    assert_eq!(listed.len(), writers * rounds + 1);
    assert!(requests.load(Ordering::Relaxed) >= 4000);
    s.logs()
}
