//! `scopegate scan` (SPEC §12): secrets in files and in a real git repository's history, looked
//! up in a real store (either backend), revoked with `--revoke`, never printed whole.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use scopegate_core::token::{seal, SecretKind};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;

/// A valid secret that no store holds.
fn stranger(kind: SecretKind) -> String {
    seal(kind, "Zz0123456789Zz0123456789Zz0123456789Zz01")
        .unwrap()
        .0
}

/// The secret with its last checksum character changed: the shape, not the checksum.
fn lookalike(secret: &str) -> String {
    let mut s = secret.to_string();
    let last = s.pop().unwrap();
    s.push(if last == 'A' { 'B' } else { 'A' });
    s
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn scan(s: &Server, args: &[&str]) -> Output {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    cli(&s.db, &s.policy, &all)
}

fn output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// No secret appears whole in the output; its first 12 characters may.
fn never_whole(out: &Output, secrets: &[&str]) {
    let all = output(out);
    for secret in secrets {
        assert!(!all.contains(secret), "a whole secret was printed: {all}");
        assert!(!all.contains(&secret[..13]), "13 characters printed: {all}");
    }
}

fn json_findings(out: &Output) -> Vec<Value> {
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", output(out)));
    v.as_array().unwrap().clone()
}

fn credential(s: &Server, name: &str) -> (String, String) {
    let r = s.admin(
        "POST",
        "/credentials",
        Some(json!({"name": name, "role": "owner"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    (
        v["id"].as_str().unwrap().into(),
        v["credential"].as_str().unwrap().into(),
    )
}

fn issue_named(s: &Server, name: &str, expires_in: i64) -> (String, String) {
    let r = s.admin(
        "POST",
        "/workspaces/acme/repositories/api/access-tokens",
        Some(json!({"name": name, "scopes": ["repository"], "expires_at": time_in(expires_in)})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    (
        v["id"].as_str().unwrap().into(),
        v["token"].as_str().unwrap().into(),
    )
}

#[test]
fn files_are_scanned_with_each_secrets_state_and_revoked_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let (active_id, active) = issue_named(&s, "deploy key", 86400);
    let (revoked_id, revoked) = issue_named(&s, "old", 86400);
    assert_eq!(
        s.admin("DELETE", &format!("/access-tokens/{revoked_id}"), None)
            .status,
        204
    );
    let (expired_id, expired) = issue_named(&s, "brief", 1);
    let (cred_id, cred) = credential(&s, "ops");
    let unknown = stranger(SecretKind::AccessToken);
    std::thread::sleep(std::time::Duration::from_millis(2100));

    let tree = dir.path().join("tree");
    write(
        &tree.join("config.env"),
        &format!("# settings\nA=1\nTOKEN={active}\n"),
    );
    write(
        &tree.join("sub/notes.md"),
        &format!("revoked: `{revoked}`\nexpired: \"{expired}\"\n"),
    );
    write(&tree.join("sub/admin.yaml"), &format!("key: {cred}\n"));
    write(&tree.join("z.txt"), &format!("\n\n\n{unknown}\n"));
    // Not findings: a wrong checksum, one inside a longer word, and a `.git` directory.
    write(
        &tree.join("lookalikes.txt"),
        &format!("{}\nx{active}\n{active}_v2\n", lookalike(&active)),
    );
    write(&tree.join(".git/config"), &format!("{active}\n"));
    // A link out of the tree is not followed.
    let outside = dir.path().join("outside.txt");
    write(&outside, &format!("{unknown}\n"));
    std::os::unix::fs::symlink(&outside, tree.join("link.txt")).unwrap();
    let secrets = [
        active.as_str(),
        revoked.as_str(),
        expired.as_str(),
        cred.as_str(),
        unknown.as_str(),
    ];

    let tree_arg = tree.to_str().unwrap();
    let out = scan(&s, &[tree_arg]);
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    never_whole(&out, &secrets);
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let at = |path: &str| format!("{tree_arg}/{path}");
    assert_eq!(
        lines,
        [
            format!(
                "{}  {active_id}  \"deploy key\"  active  {}…",
                at("config.env:3"),
                &active[..12]
            ),
            format!(
                "{}  {cred_id}  \"ops\"  active  {}…",
                at("sub/admin.yaml:1"),
                &cred[..12]
            ),
            format!(
                "{}  {revoked_id}  \"old\"  revoked  {}…",
                at("sub/notes.md:1"),
                &revoked[..12]
            ),
            format!(
                "{}  {expired_id}  \"brief\"  expired  {}…",
                at("sub/notes.md:2"),
                &expired[..12]
            ),
            format!("{}  -  -  unknown  {}…", at("z.txt:4"), &unknown[..12]),
        ],
        "{stdout}"
    );

    // `--json`: exactly the four fields of each finding.
    let out = scan(&s, &["--json", tree_arg]);
    assert_eq!(out.status.code(), Some(1));
    never_whole(&out, &secrets);
    let found = json_findings(&out);
    assert_eq!(found.len(), 5);
    assert_eq!(
        found[0],
        json!({"location": at("config.env:3"), "token_id": active_id, "state": "active", "revoked_now": false})
    );
    assert_eq!(
        found[4],
        json!({"location": at("z.txt:4"), "token_id": null, "state": "unknown", "revoked_now": false})
    );

    // Without a store every finding is unknown, and no store is made.
    let missing = dir.path().join("none.db");
    let out = cli(
        missing.to_str().unwrap(),
        &s.policy,
        &["scan", "--json", tree_arg],
    );
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    let found = json_findings(&out);
    assert_eq!(found.len(), 5);
    assert!(found.iter().all(|f| f["state"] == "unknown"), "{found:?}");
    assert!(!missing.exists());
    // `--revoke` without a store is an error, not a scan that revokes nothing.
    let out = cli(
        missing.to_str().unwrap(),
        &s.policy,
        &["scan", "--revoke", tree_arg],
    );
    assert_eq!(out.status.code(), Some(2), "{}", output(&out));

    // The token works until the scan revokes it, on the running host too.
    assert_eq!(
        s.check(Some(&active), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );
    let out = scan(&s, &["--revoke", "--json", tree_arg]);
    let scanned = std::time::Instant::now();
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    let found = json_findings(&out);
    let revoked_now: Vec<(&str, bool)> = found
        .iter()
        .map(|f| {
            (
                f["location"].as_str().unwrap(),
                f["revoked_now"].as_bool().unwrap(),
            )
        })
        .collect();
    let (config, admin_yaml, notes1, notes2, z) = (
        at("config.env:3"),
        at("sub/admin.yaml:1"),
        at("sub/notes.md:1"),
        at("sub/notes.md:2"),
        at("z.txt:4"),
    );
    assert_eq!(
        revoked_now,
        [
            (config.as_str(), true),
            (admin_yaml.as_str(), true),
            (notes1.as_str(), false),
            (notes2.as_str(), false),
            (z.as_str(), false),
        ]
    );
    // Dead on the running host within a second of the scan (issue 20's goal for every door): the
    // host learns of the CLI's revocation from the store.
    loop {
        let r = s.check(Some(&active), "GET", "/2.0/repositories/acme/api");
        if r.status == 401 {
            assert_eq!(r.reason(), "token_revoked");
            break;
        }
        assert!(
            scanned.elapsed() < std::time::Duration::from_secs(1),
            "still {} {:?} after the scan revoked it",
            r.status,
            scanned.elapsed()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let by_cred = s.raw(s.http.get(s.url("/admin/v1/workspaces")).bearer_auth(&cred));
    assert_eq!(by_cred.status, 401, "{}", by_cred.text);
    // The audit log says who revoked it: the CLI.
    let audit = s
        .admin("GET", &format!("/audit?token_id={active_id}"), None)
        .json();
    let revocation = audit["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "token.revoked")
        .cloned()
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(revocation["actor"], "cli");
    // A second scan finds them revoked and revokes nothing.
    let found = json_findings(&scan(&s, &["--revoke", "--json", tree_arg]));
    assert_eq!(found[0]["state"], "revoked");
    assert!(found.iter().all(|f| f["revoked_now"] == false));
}

#[test]
fn exit_status_is_0_for_nothing_and_2_for_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    let clean = dir.path().join("clean");
    write(&clean.join("a.txt"), "nothing here: sgat_ and sgak_\n");
    let out = scan(&s, &[clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    assert!(out.stdout.is_empty());
    let out = scan(&s, &["--json", clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_findings(&out), Vec::<Value>::new());

    let nowhere = dir.path().join("nowhere");
    let out = scan(&s, &[nowhere.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", output(&out));
    assert!(output(&out).contains("unreadable_path"), "{}", output(&out));
    // A directory that is no repository, with --git.
    let out = scan(&s, &["--git", clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", output(&out));
    assert!(
        output(&out).contains("not_a_git_repository"),
        "{}",
        output(&out)
    );
    // A module that can't be read.
    let out = cli(
        &s.db,
        &dir.path().join("no.wasm"),
        &["scan", clean.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", output(&out));
}

/// A few MB in one file: secrets on each side of and across the boundaries of the windows the
/// file is handed to the module in (4 MiB), each found once on its line.
#[test]
fn a_large_file_is_scanned_across_its_windows() {
    let dir = tempfile::tempdir().unwrap();
    const WINDOW: usize = 4 << 20;
    let secret = |i: usize| {
        let random = format!("{i:040}");
        seal(SecretKind::AccessToken, &random).unwrap().0
    };
    let line = "the quick brown fox jumps over the lazy dog, 0123456789 times over\n";
    let mut text = String::new();
    let mut expected = Vec::new();
    // The first window is [0, 4 MiB); the second starts a secret's length and a byte before
    // its end, so its own end is at 8 MiB - 52. A token is placed one byte after each target.
    for (n, target) in [
        10,
        // Ends at the first window's last byte: the second decides it.
        WINDOW - 52,
        WINDOW + 300,
        // Across the second window's end.
        2 * WINDOW - 52 - 25,
        2 * WINDOW + 3_000,
    ]
    .into_iter()
    .enumerate()
    {
        while text.len() + line.len() < target {
            text.push_str(line);
        }
        while text.len() < target {
            text.push('.');
        }
        text.push(' ');
        let token = secret(n);
        expected.push(format!(
            "big.txt:{}",
            text.bytes().filter(|&b| b == b'\n').count() + 1
        ));
        text.push_str(&token);
        text.push(' ');
        // A lookalike just after: found by no window.
        text.push_str(&lookalike(&token));
        text.push('\n');
    }
    while text.len() < 9 << 20 {
        text.push_str(line);
    }
    let tree = dir.path().join("big");
    write(&tree.join("big.txt"), &text);
    // In the tree with the default path `.`, so that locations are relative ("big.txt:…");
    // no store there.
    let out = std::process::Command::new(BIN)
        .current_dir(&tree)
        .args(["--db", "none.db", "--policy"])
        .arg(real_policy())
        .args(["scan", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    let found = json_findings(&out);
    let locations: Vec<&str> = found
        .iter()
        .map(|f| f["location"].as_str().unwrap())
        .collect();
    assert_eq!(locations, expected, "{}", output(&out));
}

fn git(repo: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["-c", "init.defaultBranch=main", "-c", "gc.auto=0"])
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env_remove("GIT_DIR")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Each commit a minute after the one before, so that history has one order by date.
fn commit(repo: &Path, file: &str, content: &str, message: &str) -> String {
    static MINUTE: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let at = 1_700_000_000 + 60 * MINUTE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    write(&repo.join(file), content);
    git(repo, &["add", "-A"]);
    let date = format!("@{at} +0000");
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["commit", "-q", "-m", message])
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(repo, &["rev-parse", "HEAD"])
}

#[test]
fn git_history_is_scanned_on_every_branch_and_in_packs() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let (removed_id, removed) = issue_named(&s, "removed", 86400);
    let (branch_id, on_branch) = issue_named(&s, "on a branch", 86400);
    let (cred_id, cred) = credential(&s, "in history");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    let first = commit(&repo, "README", "hello\n", "start");
    // Added, then removed: only the history holds it.
    let added = commit(
        &repo,
        "deploy/env.sh",
        &format!("#!/bin/sh\nexport TOKEN={removed}\n"),
        "add the token",
    );
    commit(&repo, "deploy/env.sh", "#!/bin/sh\n", "remove the token");
    // On a second branch only; the same token again on main later is still one finding.
    git(&repo, &["checkout", "-q", "-b", "feature", &first]);
    let on_feature = commit(
        &repo,
        "ci.yml",
        &format!("env:\n  A: 1\n  KEY: {cred}\n  T: {on_branch}\n"),
        "ci",
    );
    git(&repo, &["checkout", "-q", "main"]);
    commit(
        &repo,
        "later.txt",
        &format!("{on_branch}\n{}\n", lookalike(&removed)),
        "again",
    );
    // Every object into a pack: none is left loose.
    git(&repo, &["gc", "-q", "--prune=now"]);
    let counts = git(&repo, &["count-objects", "-v"]);
    assert!(counts.lines().any(|l| l == "count: 0"), "{counts}");
    assert!(counts
        .lines()
        .any(|l| l.starts_with("in-pack: ") && l != "in-pack: 0"));
    // The working tree (main) holds one of them.
    let out = scan(&s, &[repo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);

    let out = scan(&s, &["--git", "--json", repo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    never_whole(&out, &[&removed, &on_branch, &cred]);
    let mut found: Vec<(String, String)> = json_findings(&out)
        .iter()
        .map(|f| {
            (
                f["location"].as_str().unwrap().to_string(),
                f["token_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    let mut expected = vec![
        (format!("{added}:deploy/env.sh:2"), removed_id.clone()),
        (format!("{on_feature}:ci.yml:3"), cred_id),
        (format!("{on_feature}:ci.yml:4"), branch_id),
    ];
    expected.sort();
    assert_eq!(found, expected);

    // The human form names the commit too.
    let out = scan(&s, &["--git", repo.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "{added}:deploy/env.sh:2  {removed_id}  \"removed\"  active  "
        )),
        "{stdout}"
    );
    // `--revoke` over the history kills the removed token too.
    let out = scan(&s, &["--git", "--revoke", repo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("revoked now"));
    let shown = s
        .admin("GET", &format!("/access-tokens/{removed_id}"), None)
        .json();
    assert_eq!(shown["state"], "revoked", "{shown}");
}

/// The regexes of `examples/gitleaks.toml`, by rule id.
fn gitleaks_rules() -> Vec<(String, String)> {
    let config = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/gitleaks.toml"),
    )
    .unwrap();
    let mut rules = Vec::new();
    let mut id = None;
    for line in config.lines() {
        if let Some(v) = line.strip_prefix("id = ") {
            id = Some(v.trim_matches('"').to_string());
        }
        if let Some(v) = line.strip_prefix("regex = ") {
            let re = v.trim_start_matches("'''").trim_end_matches("'''");
            rules.push((id.take().unwrap(), re.to_string()));
        }
    }
    rules
}

/// The rules find every secret `scan` finds and no lookalike inside a longer word. Their
/// regexes are RE2 (gitleaks is Go): `regex` takes the same syntax, and `(?-u)` gives `\b`
/// RE2's ASCII meaning. gitleaks itself, when it is installed (`GITLEAKS` or on the `PATH`),
/// runs the file as it is.
#[test]
fn the_gitleaks_rules_find_scopegate_secrets() {
    let rules = gitleaks_rules();
    let ids: Vec<&str> = rules.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        ["scopegate-access-token", "scopegate-admin-credential"]
    );
    let compiled: Vec<regex::Regex> = rules
        .iter()
        .map(|(_, re)| regex::Regex::new(&format!("(?-u){re}")).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut found_text = String::new();
    let mut secrets = Vec::new();
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for i in 0..50u64 {
        // Random parts as a CSPRNG makes them: gitleaks' entropy threshold drops filler.
        let random: String = (0..40u64)
            .map(|j| {
                let x = (i * 40 + j + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let x = (x ^ (x >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                char::from(DIGITS[((x ^ (x >> 32)) % 62) as usize])
            })
            .collect();
        for (kind, re) in [
            (SecretKind::AccessToken, &compiled[0]),
            (SecretKind::AdminCredential, &compiled[1]),
        ] {
            let secret = seal(kind, &random).unwrap().0;
            let line = format!("export SECRET=\"{secret}\"\n");
            let caught: Vec<&str> = re
                .captures_iter(&line)
                .map(|c| c.get(1).unwrap().as_str())
                .collect();
            assert_eq!(caught, [secret.as_str()]);
            for inside in [
                format!("x{secret}"),
                format!("{secret}_v2"),
                format!("{secret}9"),
            ] {
                assert!(!re.is_match(&inside), "{inside}");
            }
            found_text.push_str(&line);
            secrets.push(secret);
        }
    }
    let Some(gitleaks) = std::env::var_os("GITLEAKS")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join("gitleaks"))
                    .find(|p| p.is_file())
            })
        })
    else {
        eprintln!("gitleaks is not installed: its regexes were checked with `regex` only");
        return;
    };
    write(&dir.path().join("tree/found.env"), &found_text);
    write(
        &dir.path().join("tree/not.txt"),
        &format!("x{}\n{}_v2\n", secrets[0], secrets[1]),
    );
    let report = dir.path().join("report.json");
    let out = std::process::Command::new(&gitleaks)
        .args(["dir", "--no-banner", "--report-format", "json", "--config"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/gitleaks.toml"))
        .arg("--report-path")
        .arg(&report)
        .arg(dir.path().join("tree"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    let report: Vec<Value> = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let mut caught: Vec<&str> = report
        .iter()
        .filter(|f| f["File"].as_str().unwrap().ends_with("found.env"))
        .map(|f| f["Secret"].as_str().unwrap())
        .collect();
    caught.sort();
    secrets.sort();
    assert_eq!(caught, secrets);
    assert_eq!(report.len(), secrets.len(), "a lookalike was reported");
}
