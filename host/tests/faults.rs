//! Faulty policy modules leave the service up with the policy it had.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn fake_server(dir: &std::path::Path) -> Server {
    let policy = dir.join("fake.wasm");
    write_wat(&policy, &fake_policy_wat(2));
    start(dir, Options::new(dir, policy))
}

#[test]
fn infinite_loop_and_huge_allocation_are_denied_and_the_service_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = fake_server(dir.path());
    s.seed();
    let (_, tok) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    assert_eq!(
        s.check(Some(&tok), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );

    let t0 = Instant::now();
    let r = s.check(Some(&tok), "GET", "/2.0/repositories/acme/LOOP");
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.reason(), "policy_failure");
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "the deadline did not stop the loop"
    );

    let r = s.check(Some(&tok), "GET", "/2.0/repositories/acme/HUGE");
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.reason(), "policy_failure");

    // Many more faults than there are pooled instances: each trapped instance is replaced.
    for _ in 0..20 {
        assert_eq!(
            s.check(Some(&tok), "GET", "/2.0/repositories/acme/HUGE")
                .status,
            403
        );
    }
    assert_eq!(
        s.check(Some(&tok), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );
    assert!(s.alive());
    let logs = s.logs();
    assert!(logs.contains("deadline"), "timeout not logged: {logs}");
    assert!(logs.contains("trapped"), "trap not logged: {logs}");
}

#[test]
fn a_wrong_digest_pin_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("fake.wasm");
    write_wat(&policy, &fake_policy_wat(2));
    let mut o = Options::new(dir.path(), policy.clone());
    o.extra = vec!["--policy-sha256".into(), "00".repeat(32)];
    let err = try_start(dir.path(), o)
        .err()
        .expect("must refuse to start");
    assert!(err.contains("policy_digest_mismatch"), "{err}");

    let mut o = Options::new(dir.path(), policy.clone());
    o.extra = vec!["--policy-sha256".into(), sha256_hex(&policy).to_uppercase()];
    let s = start(dir.path(), o);
    assert!(s.logs().contains(&sha256_hex(&policy)), "digest not logged");
}

#[test]
fn a_wrong_abi_version_or_a_corrupt_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("abi2.wasm");
    write_wat(&policy, &fake_policy_wat(3));
    let err = try_start(dir.path(), Options::new(dir.path(), policy))
        .err()
        .unwrap();
    assert!(err.contains("policy_abi_mismatch"), "{err}");

    let policy = dir.path().join("corrupt.wasm");
    std::fs::write(&policy, b"\0asm\x01\0\0\0garbage").unwrap();
    let err = try_start(dir.path(), Options::new(dir.path(), policy))
        .err()
        .unwrap();
    assert!(err.contains("policy_invalid"), "{err}");

    let err = try_start(
        dir.path(),
        Options::new(dir.path(), dir.path().join("missing.wasm")),
    )
    .err()
    .unwrap();
    assert!(err.contains("cargo xtask wasm"), "{err}");
}

#[test]
fn a_bad_reload_keeps_the_old_module_and_a_good_one_swaps_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = fake_server(dir.path());
    s.seed();
    let (_, tok) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let before = s.admin("GET", "/policy", None).json();
    let policy = s.policy.clone();

    // Corrupt file through the admin endpoint.
    std::fs::write(&policy, b"not wasm at all").unwrap();
    let r = s.admin("POST", "/policy/reload", None);
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.reason(), "policy_invalid");
    assert_eq!(s.admin("GET", "/policy", None).json(), before);
    assert_eq!(
        s.check(Some(&tok), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );

    // The same through SIGHUP.
    s.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        s.check(Some(&tok), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );
    assert!(s.logs().contains("reload refused"));

    // A module that fails its self-test (wrong ABI version) is refused too.
    write_wat(&policy, &fake_policy_wat(3));
    let r = s.admin("POST", "/policy/reload", None);
    assert_eq!(r.reason(), "policy_abi_mismatch", "{}", r.text);

    // A pin that does not match.
    write_wat(&policy, &fake_policy_wat(2));
    let r = s.admin(
        "POST",
        "/policy/reload",
        Some(json!({"sha256": "ab".repeat(32)})),
    );
    assert_eq!(r.reason(), "policy_digest_mismatch", "{}", r.text);
    assert_eq!(
        s.check(Some(&tok), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );

    // A good module swaps in.
    let r = s.admin(
        "POST",
        "/policy/reload",
        Some(json!({"sha256": sha256_hex(&policy)})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["sha256"], sha256_hex(&policy));
    assert_eq!(
        s.check(Some(&tok), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );
}
