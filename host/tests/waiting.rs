//! A host started while its database is down waits for it and serves once it is up, instead
//! of exiting. PostgreSQL only (SQLite is a file, never down); its own binary, because it stops
//! the test binary's database server.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use std::time::{Duration, Instant};

const REPO: &str = "/2.0/repositories/acme/api";

/// A host started while its database is down waits for it (saying so in its log) and serves
/// once it is up, instead of exiting.
#[test]
fn a_host_started_before_its_database_waits_for_it() {
    if backend() != Backend::Postgres {
        eprintln!("waiting: PostgreSQL only (SCOPEGATE_TEST_DB=postgres)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::new(dir.path(), real_policy());
    pg().stop();
    let up = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(3));
        pg().restart();
    });
    let started = Instant::now();
    let s = start(dir.path(), opts);
    up.join().unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "served before the database was up"
    );
    assert!(s.logs().contains("waiting for the store"), "{}", s.logs());
    s.seed();
    let (_, token) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    assert_eq!(s.check(Some(&token), "GET", REPO).status, 200);
}
