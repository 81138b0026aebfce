//! The audit log and usage recording (SPEC §11), through a real host on the test's backend:
//! every change recorded with its actor and subject in the change's own transaction, denied
//! checks counted per token, reason and minute, filters and a cursor that stays stable while
//! entries arrive, the CLI's view of the same log, and where each token was used from.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{json, Value};

fn audit(s: &Server, query: &str) -> Vec<Value> {
    let r = s.admin("GET", &format!("/audit?{query}"), None);
    assert_eq!(r.status, 200, "{query}: {}", r.text);
    r.json()["values"].as_array().unwrap().clone()
}

fn events(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_change_is_recorded_with_its_actor_in_its_own_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let r = s.admin(
        "POST",
        "/credentials",
        Some(json!({"name": "ci", "role": "token-manager", "workspace": "acme"})),
    );
    let manager_id = r.json()["id"].as_str().unwrap().to_string();
    let manager = r.json()["credential"].as_str().unwrap().to_string();
    let as_manager = |method: &str, path: &str, body: Value| {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        s.raw(
            s.http
                .request(m, s.url(&format!("/admin/v1{path}")))
                .bearer_auth(&manager)
                .json(&body),
        )
    };
    let r = as_manager(
        "POST",
        "/workspaces/acme/repositories/api/access-tokens",
        json!({"name": "deploy", "scopes": ["repository:write"], "expires_at": time_in(86400)}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let token_id = r.json()["id"].as_str().unwrap().to_string();
    let r = as_manager(
        "POST",
        &format!("/access-tokens/{token_id}/rotate"),
        json!({"expires_at": time_in(3600)}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let successor = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        as_manager("DELETE", &format!("/access-tokens/{successor}"), json!({})).status,
        204
    );
    // Revoking again changes nothing and records nothing.
    assert_eq!(
        as_manager("DELETE", &format!("/access-tokens/{successor}"), json!({})).status,
        204
    );
    s.admin(
        "PUT",
        "/workspaces/acme/repositories/api",
        Some(json!({"project": "OTHER"})),
    );
    let (doomed, _) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    // A change refused by the store leaves no entry: the project still holds `api`.
    let r = s.admin("DELETE", "/workspaces/acme/projects/OTHER", None);
    assert_eq!(r.status, 409);
    assert_eq!(
        s.admin("DELETE", "/workspaces/acme/repositories/api", None)
            .status,
        204
    );

    let all = audit(&s, "limit=1000");
    let names = events(&all);
    // Newest first, ids decreasing.
    let ids: Vec<i64> = all
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let mut chronological = names.clone();
    chronological.reverse();
    assert_eq!(
        chronological,
        [
            "workspace.put",
            "project.put",
            "project.put",
            "repository.put",
            "credential.created",
            "token.created",
            "token.rotated",
            "token.created",
            "token.revoked",
            "repository.moved",
            "token.created",
            "repository.deleted",
            "token.deactivated",
            "token.deactivated",
        ],
        "{all:#?}"
    );
    assert!(!names.contains(&"project.deleted".to_string()));
    let by = |event: &str| {
        all.iter()
            .filter(|e| e["event"] == event)
            .collect::<Vec<_>>()
    };
    assert_eq!(by("workspace.put")[0]["actor"], "env");
    assert_eq!(by("workspace.put")[0]["subject"], "workspace:acme");
    assert_eq!(
        by("credential.created")[0]["detail"]["role"],
        "token-manager"
    );
    let rotated = by("token.rotated")[0];
    assert_eq!(rotated["actor"], manager_id.as_str());
    assert_eq!(rotated["token_id"], token_id.as_str());
    assert_eq!(rotated["detail"]["successor"], successor.as_str());
    let revoked = by("token.revoked")[0];
    assert_eq!(revoked["actor"], manager_id.as_str());
    assert_eq!(revoked["subject"], format!("token:{successor}"));
    assert_eq!(revoked["workspace"], "acme");
    let moved = by("repository.moved")[0];
    assert_eq!(
        moved["detail"],
        json!({"from_project": "PROJ", "to_project": "OTHER"})
    );
    // Deleting the repository deactivated its two live tokens (the revoked one was already
    // dead), each recorded with the cause.
    let deactivated: Vec<&str> = by("token.deactivated")
        .iter()
        .map(|e| e["token_id"].as_str().unwrap())
        .collect();
    assert_eq!(deactivated.len(), 2);
    assert!(deactivated.contains(&doomed.as_str()) && deactivated.contains(&token_id.as_str()));
    assert!(by("token.deactivated")
        .iter()
        .all(|e| e["detail"]["cause"] == "repository.deleted"));

    // Filters.
    let about = audit(&s, &format!("token_id={token_id}"));
    assert_eq!(
        events(&about),
        ["token.deactivated", "token.rotated", "token.created"]
    );
    assert_eq!(events(&audit(&s, "event=token.revoked")), ["token.revoked"]);
    assert!(audit(&s, "workspace=nowhere").is_empty());
    let future = time_in(3600);
    assert!(audit(&s, &format!("since={}", future.replace('+', "%2B"))).is_empty());
    for bad in [
        "limit=0",
        "limit=1001",
        "cursor=abc",
        "event=token.exploded",
        "since=yesterday",
        "color=red",
    ] {
        let r = s.admin("GET", &format!("/audit?{bad}"), None);
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }

    // The cursor: pages of 3 cover the log exactly once, even with entries added meanwhile.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("limit=3&cursor={c}"),
            None => "limit=3".to_string(),
        };
        let r = s.admin("GET", &format!("/audit?{q}"), None);
        let page = r.json();
        paged.extend(page["values"].as_array().unwrap().iter().cloned());
        // A change between pages lands before the first page, never in the ones to come.
        s.admin(
            "PUT",
            &format!("/workspaces/acme/projects/P{}", paged.len()),
            None,
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(paged, all);

    // The CLI reads the same log: a table, and JSON.
    let out = cli(&s.db, &s.policy, &["audit", "--token-id", &token_id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.starts_with("ID") && table.contains("token.rotated"),
        "{table}"
    );
    let out = cli(
        &s.db,
        &s.policy,
        &["--json", "audit", "--event", "token.revoked"],
    );
    let cli_entries: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli_entries.len(), 1);
    assert_eq!(cli_entries[0]["id"], revoked["id"]);
    let out = cli(&s.db, &s.policy, &["audit", "--event", "token.exploded"]);
    assert_eq!(out.status.code(), Some(2), "a bad event is a usage error");
    // A change through the CLI is recorded with the actor `cli`.
    let out = cli(&s.db, &s.policy, &["project", "put", "acme", "FROMCLI"]);
    assert!(out.status.success());
    let latest = &audit(&s, "limit=1")[0];
    assert_eq!(
        (latest["event"].as_str(), latest["actor"].as_str()),
        (Some("project.put"), Some("cli"))
    );
}

#[test]
fn denied_checks_are_counted_per_token_reason_and_minute() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let (id, secret) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    for _ in 0..3 {
        // Needs pullrequest: a scope this token lacks.
        let r = s.check(
            Some(&secret),
            "GET",
            "/2.0/repositories/acme/api/pullrequests",
        );
        assert_eq!(r.status, 403);
    }
    for _ in 0..2 {
        let r = s.check(
            Some("sgat_unknown0000000000000000000000000000000000x"),
            "GET",
            "/2.0/user",
        );
        assert_eq!(r.status, 401);
    }
    assert_eq!(
        s.check(Some(&secret), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );
    let denied = audit(&s, "event=check.denied");
    let count = |token: Option<&str>, reason: &str| -> u64 {
        denied
            .iter()
            .filter(|e| e["token_id"].as_str() == token && e["detail"]["reason"] == reason)
            .map(|e| e["detail"]["count"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(count(Some(&id), "scope_missing"), 3, "{denied:#?}");
    let unknown_reason = s
        .check(
            Some("sgat_unknown0000000000000000000000000000000000x"),
            "GET",
            "/2.0/user",
        )
        .reason();
    assert_eq!(count(None, &unknown_reason), 2, "{denied:#?}");
    // Aggregated: at most one entry per token, reason and minute (two if the minute turned).
    let mine = denied
        .iter()
        .filter(|e| e["token_id"] == id.as_str())
        .count();
    assert!((1..=2).contains(&mine), "{denied:#?}");
    let e = denied
        .iter()
        .find(|e| e["token_id"] == id.as_str())
        .unwrap();
    assert_eq!(
        (e["actor"].as_str(), e["workspace"].as_str()),
        (Some("check"), Some("acme"))
    );
    let at = time::OffsetDateTime::parse(
        e["at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(at.second(), 0, "the entry is the minute's");
}

#[test]
fn tokens_show_when_and_where_they_were_last_used() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let (id, secret) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let check_from = |header: &str, value: &str| {
        let r = s.raw(
            s.http
                .get(s.url("/check"))
                .header("X-Original-Method", "GET")
                .header("X-Original-URI", "/2.0/repositories/acme/api")
                .header(header, value)
                .bearer_auth(&secret),
        );
        assert_eq!(r.status, 200, "{}", r.text);
    };
    // Six distinct addresses, one twice, one not an address at all.
    for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"] {
        check_from("X-Forwarded-For", &format!("{ip}, 10.0.0.1"));
    }
    check_from("X-Real-IP", "2001:db8::7");
    check_from("X-Forwarded-For", "not an address");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    check_from("X-Forwarded-For", "198.51.100.9");
    check_from("X-Forwarded-For", "203.0.113.1");
    let t = s.admin("GET", &format!("/access-tokens/{id}"), None).json();
    assert!(t["last_accessed_at"].is_string(), "{t}");
    let ips: Vec<&str> = t["last_used_ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["ip"].as_str().unwrap())
        .collect();
    assert_eq!(ips.len(), 5, "{t}");
    // The two used last come first; the oldest distinct address fell off; no junk was kept.
    let mut newest = ips[..2].to_vec();
    newest.sort();
    assert_eq!(newest, ["198.51.100.9", "203.0.113.1"], "{t}");
    assert!(
        !ips.contains(&"not an address") && !ips.contains(&"10.0.0.1"),
        "{t}"
    );
    // The CLI shows them too.
    let out = cli(&s.db, &s.policy, &["token", "show", &id]);
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(
        shown.contains("last_used_ips") && shown.contains("198.51.100.9"),
        "{shown}"
    );
}

#[test]
fn with_recording_off_no_use_or_address_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::new(dir.path(), real_policy());
    opts.extra = vec!["--record-usage".into(), "false".into()];
    let s = start(dir.path(), opts);
    s.seed();
    let (id, secret) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    for uri in ["/2.0/repositories/acme/api", "/2.0/repositories/acme/web"] {
        let r = s.raw(
            s.http
                .get(s.url("/check"))
                .header("X-Original-Method", "GET")
                .header("X-Original-URI", uri)
                .header("X-Forwarded-For", "203.0.113.1")
                .bearer_auth(&secret),
        );
        assert!(matches!(r.status, 200 | 403), "{}", r.text);
    }
    // Past a flush: nothing was recorded, neither the use nor the denial.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let t = s.admin("GET", &format!("/access-tokens/{id}"), None).json();
    assert!(t["last_accessed_at"].is_null(), "{t}");
    assert_eq!(t["last_used_ips"], serde_json::json!([]), "{t}");
    let denied = audit(&s, &format!("token_id={id}&event=check.denied"));
    assert!(denied.is_empty(), "{denied:?}");
    // Nor is the address in the store's files (SQLite's database and WAL).
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("scopegate.db") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(11).any(|w| w == b"203.0.113.1"),
                "{} holds the address",
                path.display()
            );
        }
    }
}
