//! The OpenAPI document against the host that serves it: the document is valid OpenAPI 3.1 and
//! is the one in `docs/`, and schemathesis, run against a live host with every default check,
//! finds nothing (no 5xx, every answer as documented, valid data accepted, invalid refused,
//! nothing reachable without the admin key) on every operation.
//!
//! Needs Python's `openapi-spec-validator` and `schemathesis` (`cargo xtask test` installs them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn served(s: &Server) -> String {
    // No admin key: the document is open, as the repository's copy is.
    let r = s.raw(s.http.get(s.url("/admin/v1/openapi.json")));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    r.text
}

#[test]
fn the_document_is_valid_openapi_and_the_one_in_docs() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    let text = served(&s);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");

    let in_docs = std::fs::read_to_string(repo_root().join("docs/openapi.json")).unwrap();
    assert!(
        in_docs == text,
        "docs/openapi.json is not the document the host serves: run `cargo xtask openapi`"
    );

    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let out = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("python3 -m openapi_spec_validator");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Every admin operation is behind an admin credential, and says so, and so is RFC 7662
    // introspection; /check, revocation, the leak report and the document are not.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let guarded = (path.starts_with("/admin/v1/") && path != "/admin/v1/openapi.json")
                || path == "/oauth/introspect";
            assert_eq!(
                op["security"] == serde_json::json!([{"admin_key": []}]),
                guarded,
                "{method} {path}"
            );
            if guarded {
                assert!(op["responses"]["401"].is_object(), "{method} {path}");
            }
        }
    }
}

/// (method, path template) of every operation in the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

/// The template of a concrete request path, by the document's own paths.
fn template_of<'a>(templates: &'a BTreeSet<String>, path: &str) -> Option<&'a String> {
    let segments: Vec<&str> = path.split('/').collect();
    templates.iter().find(|t| {
        let ts: Vec<&str> = t.split('/').collect();
        ts.len() == segments.len()
            && ts
                .iter()
                .zip(&segments)
                .all(|(t, s)| t.starts_with('{') || t == s)
    })
}

#[test]
fn schemathesis_finds_nothing_on_any_operation() {
    // The webhooks schemathesis defines get real deliveries (revocations, rotations, expiry
    // notices) at the hosts it generates: through a proxy on a closed local port, so that none
    // leaves the machine. The host's own address stays direct, for the tests' client and
    // schemathesis. The host inherits these.
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
        std::env::set_var(var, "http://127.0.0.1:9");
    }
    for var in ["NO_PROXY", "no_proxy"] {
        std::env::set_var(var, "127.0.0.1,localhost");
    }
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let (_, access) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let (rotated, _) = s.issue("/workspaces/acme/projects/PROJ", &["repository"]);
    let doc: Value = serde_json::from_str(&served(&s)).unwrap();

    let reports = dir.path().join("reports");
    let out = Command::new("python3")
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(repo_root().join("tests/schemathesis/schemathesis.toml"))
        .arg("run")
        .arg(s.url("/admin/v1/openapi.json"))
        // A fixed seed: a failure here is the same failure when run again.
        .args([
            "--seed",
            "20261202",
            "--max-examples",
            "25",
            "--workers",
            "2",
        ])
        .args(["--report", "har", "--report-dir"])
        .arg(&reports)
        .arg("--no-color")
        .env("SCOPEGATE_ADMIN_KEY", ADMIN_KEY)
        .env("SG_ACCESS_TOKEN", &access)
        .env("SG_TOKEN_ID", &rotated)
        .current_dir(dir.path())
        .output()
        .expect("python3 -m schemathesis.cli");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.logs()
    );

    // It reached every operation, and /check answered allows as well as denials.
    let har = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("har"))
        .expect("a HAR report");
    let har: Value = serde_json::from_slice(&std::fs::read(har).unwrap()).unwrap();
    let templates: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let mut seen: BTreeMap<(String, String), BTreeSet<u64>> = BTreeMap::new();
    for entry in har["log"]["entries"].as_array().unwrap() {
        let url = entry["request"]["url"].as_str().unwrap();
        let path = url
            .trim_start_matches(&s.base)
            .split('?')
            .next()
            .unwrap()
            .to_string();
        if let Some(t) = template_of(&templates, &path) {
            seen.entry((
                entry["request"]["method"].as_str().unwrap().into(),
                t.clone(),
            ))
            .or_default()
            .insert(entry["response"]["status"].as_u64().unwrap());
        }
    }
    for op in operations(&doc) {
        if op.1 == "/admin/v1/openapi.json" {
            // The document it was given is the one operation it does not call; the first test
            // reads it.
            continue;
        }
        assert!(seen.contains_key(&op), "schemathesis never called {op:?}");
    }
    let check = &seen[&("GET".to_string(), "/check".to_string())];
    assert!(check.contains(&200) && check.contains(&403), "{check:?}");
    let issue = &seen[&(
        "POST".to_string(),
        "/admin/v1/workspaces/{ws}/repositories/{slug}/access-tokens".to_string(),
    )];
    assert!(issue.contains(&400) && issue.contains(&422), "{issue:?}");
}
