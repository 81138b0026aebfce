//! The network to PostgreSQL stops carrying anything, without closing a connection (a firewall
//! that drops packets, a partition): checks are answered in bounded time and fail closed once
//! the staleness window has passed, admin writes answer 503 in bounded time, and everything
//! recovers by itself when the network does.
//!
//! PostgreSQL only. The host reaches the database through a proxy in this test that can stall
//! both directions: bytes are held, not lost, as TCP holds them across a partition.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REPO: &str = "/2.0/repositories/acme/api";
const STALENESS_MS: u64 = 2000;
/// What the host may take to answer anything while the network is down: its answer timeout
/// (5 s) and a margin for a connection attempt queued behind it.
const BOUND: Duration = Duration::from_secs(12);

/// Forwards one direction, holding every byte while `stalled`.
fn pump(mut from: TcpStream, mut to: TcpStream, stalled: Arc<AtomicBool>) {
    from.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut buf = [0u8; 16 * 1024];
    loop {
        while stalled.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => break,
        };
        // A chunk read just before the stall is held until the network is back.
        while stalled.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(20));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

/// A proxy to `upstream`; returns its port.
fn proxy(upstream: u16, stalled: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let stalled = stalled.clone();
            std::thread::spawn(move || {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    return;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let back = stalled.clone();
                std::thread::spawn(move || pump(s2, c2, back));
                pump(client, server, stalled);
            });
        }
    });
    port
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(
        start.elapsed() < BOUND,
        "{what} took {:?}, more than {BOUND:?}",
        start.elapsed()
    );
    out
}

#[test]
fn a_silent_network_is_bounded_then_repaired() {
    if backend() != Backend::Postgres {
        eprintln!("blackhole: PostgreSQL only (SCOPEGATE_TEST_DB=postgres)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let direct = db_named(dir.path(), "scopegate");
    let port: u16 = direct
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("a port in the database URL");
    let stalled = Arc::new(AtomicBool::new(false));
    let via = proxy(port, stalled.clone());
    let mut opts = Options::new(dir.path(), real_policy());
    opts.db = direct.replace(&format!(":{port}/"), &format!(":{via}/"));
    opts.extra = vec!["--max-staleness-ms".into(), STALENESS_MS.to_string()];
    let s = start(dir.path(), opts);
    s.seed();
    let (_, cached) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let (_, uncached) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.check(Some(&cached), "GET", REPO).status, 200);

    stalled.store(true, Ordering::Release);
    let down = Instant::now();
    // A token never seen needs the store: denied, not hung.
    let r = timed("a check needing the silent store", || {
        s.check(Some(&uncached), "GET", REPO)
    });
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.reason(), "store_unavailable");
    // Past the staleness window even the cached token is refused.
    while down.elapsed() < Duration::from_millis(STALENESS_MS + 500) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = timed("a cached check past the staleness window", || {
        s.check(Some(&cached), "GET", REPO)
    });
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.reason(), "store_unavailable");
    let r = timed("an admin write", || {
        s.admin(
            "POST",
            "/workspaces/acme/repositories/api/access-tokens",
            Some(serde_json::json!({"name": "t", "scopes": ["repository"], "expires_at": time_in(3600)})),
        )
    });
    assert_eq!(r.status, 503, "{}", r.text);

    stalled.store(false, Ordering::Release);
    let healed = Instant::now();
    loop {
        if s.check(Some(&uncached), "GET", REPO).status == 200
            && s.check(Some(&cached), "GET", REPO).status == 200
        {
            break;
        }
        assert!(
            healed.elapsed() < Duration::from_secs(30),
            "not recovered: {}",
            s.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, fresh) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    assert_eq!(s.check(Some(&fresh), "GET", REPO).status, 200);
}
