//! Answered creations and revocations survive SIGKILL.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::json;

#[test]
fn sigkill_loses_nothing_that_was_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start_real(dir.path());
    s.seed();
    let mut tokens = Vec::new();
    for i in 0..40 {
        let (id, secret) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
        tokens.push((id, secret, i % 3 == 0));
    }
    for (id, _, revoke) in &tokens {
        if *revoke {
            assert_eq!(
                s.admin("DELETE", &format!("/access-tokens/{id}"), None)
                    .status,
                204
            );
        }
    }
    // A resource change too: the repository moves, then a project token is answered.
    s.admin(
        "PUT",
        "/workspaces/acme/repositories/api",
        Some(json!({"project": "OTHER"})),
    );
    let (_, other) = s.issue("/workspaces/acme/projects/OTHER", &["repository"]);
    s.sigkill();

    let s = start(dir.path(), Options::new(dir.path(), real_policy()));
    for (id, secret, revoked) in &tokens {
        let r = s.check(Some(secret), "GET", "/2.0/repositories/acme/api");
        if *revoked {
            assert_eq!(r.reason(), "token_revoked", "{id} came back");
        } else {
            assert_eq!(r.status, 200, "{id} was lost: {}", r.text);
        }
    }
    assert_eq!(
        s.check(Some(&other), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );
}
