//! The same lifecycle through the CLI, on the local store, and beside a running server.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn run(db: &str, args: &[&str]) -> (i32, String, String) {
    let out = cli(db, &real_policy(), args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok_json(db: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let (code, out, err) = run(db, &a);
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn check(db: &str, token: &str, method: &str, uri: &str) -> (i32, Value) {
    let out = std::process::Command::new(BIN)
        .args(["--db", db, "--policy", real_policy().to_str().unwrap()])
        .args(["check", "--method", method, "--uri", uri, "--json"])
        .env("SCOPEGATE_TOKEN", token)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn lifecycle_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_named(dir.path(), "cli");
    ok_json(&db, &["workspace", "put", "acme", "--plan", "premium"]);
    ok_json(&db, &["project", "put", "acme", "PROJ"]);
    let r = ok_json(
        &db,
        &["repository", "put", "acme", "api", "--project", "PROJ"],
    );
    assert_eq!(r["project"], "PROJ");

    let (code, out, _) = run(&db, &["workspace", "list"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("WORKSPACE"), "a table by default: {out}");
    assert!(out.contains("acme") && out.contains("premium"));

    let expires = time_in(86400);
    let c = ok_json(
        &db,
        &[
            "token",
            "create",
            "acme",
            "--repository",
            "api",
            "--name",
            "ci",
            "--scope",
            "pullrequest",
            "--expires-at",
            &expires,
        ],
    );
    let id = c["id"].as_str().unwrap().to_string();
    let secret = c["token"].as_str().unwrap().to_string();
    assert!(scopegate_core::token::is_well_formed(
        secret.as_bytes(),
        scopegate_core::SecretKind::AccessToken
    ));

    // Human output of create shows the secret once; list and show never do.
    let (code, out, _) = run(&db, &["token", "list", "acme", "--repository", "api"]);
    assert_eq!(code, 0);
    assert!(out.contains(&id) && !out.contains(&secret), "{out}");
    let shown = ok_json(&db, &["token", "show", &id]);
    assert_eq!(shown["scopes"], json!(["pullrequest"]));
    assert!(shown.get("token").is_none());

    let (code, v) = check(
        &db,
        &secret,
        "GET",
        "/2.0/repositories/acme/api/pullrequests",
    );
    assert_eq!((code, v["reason"].as_str()), (0, Some("allowed")), "{v}");
    let (code, v) = check(
        &db,
        &secret,
        "POST",
        "/2.0/repositories/acme/api/pullrequests",
    );
    assert_eq!(
        (code, v["reason"].as_str()),
        (1, Some("scope_missing")),
        "{v}"
    );
    let (code, v) = check(&db, "sgat_x", "GET", "/2.0/repositories/acme/api");
    assert_eq!((code, v["reason"].as_str()), (1, Some("token_malformed")));

    // Issuing failures carry the §6 reason.
    let (code, _, err) = run(
        &db,
        &[
            "token",
            "create",
            "acme",
            "--repository",
            "api",
            "--name",
            "x",
            "--scope",
            "wiki",
            "--expires-at",
            &expires,
            "--json",
        ],
    );
    assert_eq!(code, 6);
    assert!(err.contains("scope_not_allowed_for_kind"), "{err}");
    let (code, _, err) = run(&db, &["token", "show", "tok_missing"]);
    assert_eq!(code, 4);
    assert!(err.contains("token_not_found"), "{err}");

    let n = ok_json(
        &db,
        &["token", "rotate", &id, "--expires-at", &time_in(3600)],
    );
    let new_secret = n["token"].as_str().unwrap().to_string();
    assert_ne!(n["id"], c["id"]);
    ok_json(&db, &["token", "revoke", &id]);
    let (code, v) = check(&db, &secret, "GET", "/2.0/repositories/acme/api");
    assert_eq!((code, v["reason"].as_str()), (1, Some("token_revoked")));
    let (code, _) = check(&db, &new_secret, "GET", "/2.0/repositories/acme/api");
    assert_eq!(code, 0);

    let info = ok_json(&db, &["policy", "info"]);
    assert_eq!(info["abi_version"], 2);
    assert_eq!(info["operations"], 331);
    assert_eq!(info["sha256"], json!(sha256_hex(&real_policy())));
    let (code, out, _) = run(&db, &["policy", "info"]);
    assert_eq!(code, 0);
    assert!(out.contains("sha256") && out.contains("331"), "{out}");

    let (code, _, err) = run(&db, &["project", "delete", "acme", "PROJ"]);
    assert_eq!(code, 5, "{err}");
    ok_json(&db, &["repository", "delete", "acme", "api"]);
    let (code, v) = check(&db, &new_secret, "GET", "/2.0/repositories/acme/api");
    assert_eq!((code, v["reason"].as_str()), (1, Some("token_revoked")));
}

#[test]
fn cli_changes_reach_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let (id, tok) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    assert_eq!(
        s.check(Some(&tok), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );
    let out = cli(&s.db, &real_policy(), &["token", "revoke", &id]);
    assert!(out.status.success());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        s.check(Some(&tok), "GET", "/2.0/repositories/acme/api")
            .reason(),
        "token_revoked"
    );

    // And a token made by the CLI works on the server.
    let out = cli(
        &s.db,
        &real_policy(),
        &[
            "token",
            "create",
            "acme",
            "--name",
            "ws",
            "--scope",
            "repository",
            "--expires-at",
            &time_in(3600),
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = s.check(v["token"].as_str(), "GET", "/2.0/repositories/acme/api");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-credential-type").as_deref(),
        Some("workspace_access_token")
    );
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

fn create(db: &str, resource: &[&str], scope: &str) -> String {
    let mut args = vec!["token", "create"];
    args.extend_from_slice(resource);
    args.extend_from_slice(&["--name", "t", "--scope", scope, "--expires-in", "30d"]);
    ok_json(db, &args)["id"].as_str().unwrap().to_string()
}

/// `token list WORKSPACE` holds every token of the workspace, oldest first, and its filters
/// select by binding and by state.
#[test]
fn token_list_shows_every_token_of_a_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_named(dir.path(), "list");
    for ws in ["acme", "other"] {
        ok_json(&db, &["workspace", "put", ws, "--plan", "premium"]);
        ok_json(&db, &["project", "put", ws, "PROJ"]);
        ok_json(&db, &["repository", "put", ws, "api", "--project", "PROJ"]);
    }
    ok_json(
        &db,
        &["repository", "put", "acme", "web", "--project", "PROJ"],
    );
    let ws_token = create(&db, &["acme"], "repository");
    let proj_token = create(&db, &["acme", "--project", "PROJ"], "repository");
    let api_token = create(&db, &["acme", "--repository", "api"], "repository");
    let api_expired = create(&db, &["acme", "--repository", "api"], "pullrequest");
    let web_token = create(&db, &["acme", "--repository", "web"], "repository");
    let revoked = create(&db, &["acme"], "pullrequest");
    create(&db, &["other"], "repository");
    create(&db, &["other", "--repository", "api"], "repository");
    sql(
        &db,
        &format!("UPDATE tokens SET expires_at = 1 WHERE id = '{api_expired}'"),
    );
    // The same second for several, so that the id decides their order.
    sql(
        &db,
        &format!("UPDATE tokens SET created_at = 1000 WHERE id IN ('{proj_token}', '{web_token}')"),
    );
    ok_json(&db, &["token", "revoke", &revoked]);
    ok_json(&db, &["repository", "delete", "acme", "web"]);

    let all = ok_json(&db, &["token", "list", "acme"]);
    let mut want = vec![
        ws_token.clone(),
        proj_token.clone(),
        api_token.clone(),
        api_expired.clone(),
        web_token.clone(),
        revoked.clone(),
    ];
    let created: Vec<(String, String)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["created_at"].as_str().unwrap().to_string(),
                t["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = created.clone();
    sorted.sort();
    assert_eq!(created, sorted, "ordered by (created_at, id): {all}");
    let mut got = ids(&all);
    assert_eq!(got.len(), want.len(), "{all}");
    got.sort();
    want.sort();
    assert_eq!(got, want, "every token of acme, none of other: {all}");
    let kinds: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    for kind in ["workspace", "project", "repository"] {
        assert!(kinds.contains(&kind), "{all}");
    }

    assert_eq!(
        ids(&ok_json(
            &db,
            &["token", "list", "acme", "--project", "proj"]
        )),
        [proj_token.as_str()]
    );
    let mut api = ids(&ok_json(
        &db,
        &["token", "list", "acme", "--repository", "api"],
    ));
    api.sort();
    let mut want_api = vec![api_token.clone(), api_expired.clone()];
    want_api.sort();
    assert_eq!(api, want_api);
    // A deleted repository's tokens stay listable by its slug.
    assert_eq!(
        ids(&ok_json(
            &db,
            &["token", "list", "acme", "--repository", "web"]
        )),
        [web_token.as_str()]
    );
    for (state, want) in [
        ("expired", vec![api_expired.clone()]),
        ("revoked", vec![revoked.clone()]),
        ("deactivated", vec![web_token.clone()]),
    ] {
        let list = ok_json(&db, &["token", "list", "acme", "--state", state]);
        assert_eq!(ids(&list), want, "{state}");
        assert_eq!(list[0]["state"], state);
    }
    let mut active = ids(&ok_json(
        &db,
        &["token", "list", "acme", "--state", "active"],
    ));
    active.sort();
    let mut want_active = vec![ws_token.clone(), proj_token.clone(), api_token.clone()];
    want_active.sort();
    assert_eq!(active, want_active);
    assert_eq!(
        ids(&ok_json(
            &db,
            &[
                "token",
                "list",
                "acme",
                "--repository",
                "api",
                "--state",
                "active"
            ]
        )),
        [api_token.as_str()]
    );

    let (code, out, _) = run(&db, &["token", "list", "acme"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("ID"), "a table by default: {out}");
    for id in &want {
        assert!(out.contains(id.as_str()), "{out}");
    }
    let (code, _, err) = run(&db, &["token", "list", "acme", "--state", "gone"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&db, &["token", "list", "nowhere"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("workspace_not_found"), "{err}");
}

/// `--expires-at` takes a date or an RFC 3339 time, `--expires-in` a duration; anything else is
/// a usage error naming the flag and the forms.
#[test]
fn expiry_flags_take_dates_times_and_durations() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_named(dir.path(), "expiry");
    ok_json(&db, &["workspace", "put", "acme", "--plan", "premium"]);
    fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut a = vec![
            "token",
            "create",
            "acme",
            "--name",
            "t",
            "--scope",
            "repository",
        ];
        a.extend_from_slice(extra);
        a
    }

    let day = time::OffsetDateTime::from_unix_timestamp(now() + 10 * 86400)
        .unwrap()
        .date();
    let date = format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    );
    let c = ok_json(&db, &with(&["--expires-at", &date]));
    assert_eq!(c["expires_at"], json!(format!("{date}T00:00:00Z")));
    let at = time_in(3600);
    let c = ok_json(&db, &with(&["--expires-at", &at]));
    assert_eq!(c["expires_at"], json!(at));

    let before = now();
    let c = ok_json(&db, &with(&["--expires-in", "90d"]));
    let after = now();
    let expires = time::OffsetDateTime::parse(
        c["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    assert!(
        (before + 90 * 86400..=after + 90 * 86400).contains(&expires),
        "{c}"
    );
    let id = c["id"].as_str().unwrap().to_string();
    let r = ok_json(&db, &["token", "rotate", &id, "--expires-in", "2w"]);
    assert!(r["expires_at"].as_str().unwrap() > c["created_at"].as_str().unwrap());
    let rotated = ok_json(
        &db,
        &[
            "token",
            "rotate",
            r["id"].as_str().unwrap(),
            "--expires-at",
            &date,
        ],
    );
    assert_eq!(rotated["expires_at"], json!(format!("{date}T00:00:00Z")));

    for (args, flag, form) in [
        (
            with(&["--expires-at", "tomorrow"]),
            "--expires-at",
            "RFC 3339",
        ),
        (
            with(&["--expires-at", "2027-02-30"]),
            "--expires-at",
            "2027-03-01",
        ),
        (with(&["--expires-in", "90"]), "--expires-in", "d (days)"),
        (with(&["--expires-in", "5m"]), "--expires-in", "h (hours)"),
        (
            vec!["token", "rotate", &id, "--expires-in", "0w"],
            "--expires-in",
            "w (weeks)",
        ),
        (
            with(&["--expires-at", &date, "--expires-in", "1d"]),
            "--expires-in",
            "cannot be used with",
        ),
    ] {
        let (code, out, err) = run(&db, &args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(flag) && err.contains(form), "{args:?}: {err}");
    }
}

/// Every command, subcommand, positional argument and flag explains itself in `--help`.
#[test]
fn every_command_and_argument_has_help() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        if cmd.get_about().is_none() && cmd.get_long_about().is_none() {
            missing.push(format!("command `{path}`"));
        }
        for arg in cmd.get_arguments() {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("`{path}` argument {}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut cmd = scopegate_host::cli::Cli::command();
    // Built, so that the generated `help` subcommands and flags are walked too.
    cmd.build();
    let mut missing = vec![];
    walk(&cmd, "scopegate", &mut missing);
    assert!(missing.is_empty(), "without help: {missing:#?}");

    let help = std::process::Command::new(BIN)
        .args(["token", "list", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Only the tokens in this state"), "{help}");
    assert!(help.contains("deactivated"), "{help}");
}

/// `--json` on every command: one JSON value on standard output.
#[test]
fn every_command_answers_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_named(dir.path(), "json");
    let w = ok_json(&db, &["workspace", "put", "acme", "--plan", "premium"]);
    assert_eq!(w["slug"], "acme");
    ok_json(&db, &["workspace", "put", "beta", "--plan", "free"]);
    let p = ok_json(&db, &["project", "put", "acme", "PROJ"]);
    assert_eq!(p["key"], "PROJ");
    ok_json(&db, &["project", "put", "acme", "EMPTY"]);
    ok_json(&db, &["project", "put", "beta", "B"]);
    let r = ok_json(
        &db,
        &["repository", "put", "acme", "api", "--project", "PROJ"],
    );
    assert_eq!(r["slug"], "api");
    ok_json(
        &db,
        &["repository", "put", "acme", "moving", "--project", "PROJ"],
    );
    let t = ok_json(
        &db,
        &[
            "repository",
            "transfer",
            "acme",
            "moving",
            "--to-workspace",
            "beta",
            "--to-project",
            "B",
        ],
    );
    assert_eq!(
        (&t["workspace"], &t["project"]),
        (&json!("beta"), &json!("B"))
    );
    let list = ok_json(&db, &["workspace", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let show = ok_json(&db, &["workspace", "show", "acme"]);
    assert_eq!(show["workspace"]["slug"], "acme");
    assert_eq!(show["repositories"][0]["slug"], "api");

    let c = ok_json(
        &db,
        &[
            "token",
            "create",
            "acme",
            "--repository",
            "api",
            "--name",
            "ci",
            "--scope",
            "repository",
            "--expires-in",
            "1d",
        ],
    );
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(
        ids(&ok_json(&db, &["token", "list", "acme"])),
        [id.as_str()]
    );
    assert_eq!(ok_json(&db, &["token", "show", &id])["id"], json!(id));
    let (code, out, _) = {
        let out = std::process::Command::new(BIN)
            .args(["--db", &db, "--policy", real_policy().to_str().unwrap()])
            .args([
                "check",
                "--method",
                "GET",
                "--uri",
                "/2.0/repositories/acme/api",
                "--json",
            ])
            .env("SCOPEGATE_TOKEN", c["token"].as_str().unwrap())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            (),
        )
    };
    assert_eq!(code, Some(0), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["allow"], true);
    let rot = ok_json(&db, &["token", "rotate", &id, "--expires-in", "1d"]);
    assert!(rot["token"].is_string());
    let revoked = ok_json(&db, &["token", "revoke", &id]);
    assert_eq!(
        (&revoked["id"], &revoked["state"]),
        (&json!(id), &json!("revoked"))
    );
    assert_eq!(ok_json(&db, &["policy", "info"])["abi_version"], 2);
    let completions = ok_json(&db, &["completions", "bash"]);
    assert!(completions["script"]
        .as_str()
        .unwrap()
        .contains("scopegate"));

    assert_eq!(
        ok_json(&db, &["repository", "delete", "acme", "api"]),
        json!({"deleted": true})
    );
    assert_eq!(
        ok_json(&db, &["project", "delete", "acme", "EMPTY"]),
        json!({"deleted": true})
    );
    assert_eq!(
        ok_json(&db, &["workspace", "delete", "beta"]),
        json!({"deleted": true})
    );

    // Errors too, on standard error.
    let (code, out, err) = run(&db, &["token", "show", "tok_missing", "--json"]);
    assert_eq!((code, out.as_str()), (4, ""));
    // Its last line: log lines (a store's notices) may come before it.
    let last = err.lines().last().unwrap_or_default();
    let e: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(e["error"]["reason"], "token_not_found");
}

/// `completions` prints scripts the shells accept, naming the subcommands.
#[test]
fn completions_for_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_named(dir.path(), "completions");
    let subcommands = [
        "serve",
        "workspace",
        "project",
        "repository",
        "token",
        "check",
        "policy",
        "completions",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, err) = run(&db, &["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for sub in subcommands {
            assert!(script.contains(sub), "{shell} script names no {sub}");
        }
        let path = dir.path().join(format!("scopegate.{shell}"));
        std::fs::write(&path, &script).unwrap();
        // Each shell checks its own syntax where it is installed; bash always is.
        let found = std::process::Command::new(shell)
            .arg("-n")
            .arg(&path)
            .output();
        match found {
            Ok(out) => assert!(
                out.status.success(),
                "{shell} -n: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => assert!(shell != "bash", "bash: {e}"),
        }
    }
    let (code, _, err) = run(&db, &["completions", "tcsh"]);
    assert_eq!(code, 2, "{err}");
}

/// `serve --log-format json` writes every log line as one JSON object.
#[test]
fn serve_logs_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::new(dir.path(), real_policy());
    opts.extra = vec!["--log-format".into(), "json".into()];
    let s = start(dir.path(), opts);
    s.seed();
    s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let bad = s.raw(
        s.http
            .get(s.url("/admin/v1/workspaces"))
            .bearer_auth("not-the-key"),
    );
    assert_eq!(bad.status, 401);
    std::thread::sleep(Duration::from_millis(200));
    let stderr = std::fs::read_to_string(&s.stderr).unwrap();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(lines.len() >= 2, "{stderr}");
    for line in &lines {
        assert!(
            line["level"].is_string() && line["timestamp"].is_string(),
            "{line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "token created"),
        "{stderr}"
    );
}

/// `serve --json` says what it prints on standard output (a generated admin key, the address)
/// as JSON lines, and the key it printed works.
#[test]
fn serve_speaks_json_on_stdout() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--json", "--listen", "127.0.0.1:0", "--db"])
        .arg(db_named(dir.path(), "serve-json"))
        .arg("--policy")
        .arg(real_policy())
        .env_remove("SCOPEGATE_ADMIN_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || -> Value { serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap() };
    let key = next()["admin_key"].as_str().unwrap().to_string();
    let base = next()["listening"].as_str().unwrap().to_string();
    let r = reqwest::blocking::Client::new()
        .get(format!("{base}/admin/v1/workspaces"))
        .bearer_auth(&key)
        .send()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(r.status(), 200);
}

/// An error before any command runs (here the module cannot be read) is JSON too under `--json`.
#[test]
fn a_setup_failure_is_json_under_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_named(dir.path(), "setup");
    let out = cli(
        &db,
        &dir.path().join("no-such-module.wasm"),
        &["policy", "info", "--json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    let e: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(e["error"]["reason"], "setup_failed", "{err}");
}
