//! Properties over generated input: no input panics or traps, more scopes never deny what fewer
//! allowed, and a revoked or expired token is never allowed.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use scopegate_core as core;
use scopegate_core::{Reason, Scope, TokenKind};
use scopegate_tests::module_path;
use scopegate_tests::wasm::{Entry, RawAbi};
use serde_json::{json, Value};

const SEGMENTS: &[&str] = &[
    "2.0",
    "repositories",
    "workspaces",
    "projects",
    "acme",
    "ACME",
    "globex",
    "api",
    "web",
    "PROJ",
    "pullrequests",
    "activity",
    "1",
    "src",
    "main",
    "info",
    "refs",
    "git-upload-pack",
    "git-receive-pack",
    "api.git",
    "deploy-keys",
    "permissions",
    "hooks",
    "pipelines",
    "user",
    "teams",
    "snippets",
    "issues",
    "export",
    "a-issues-1.zip",
    "%2e%2e",
    "%2F",
    "%zz",
    "",
    ".",
    "properties",
    "app",
    "commit",
    "approve",
    "branch-restrictions",
    "environments",
    "%E2%82%AC",
];

fn arb_path() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(SEGMENTS), 0..9),
        prop::option::of(prop::sample::select(
            &[
                "?service=git-upload-pack",
                "?service=git-receive-pack",
                "?service=x",
                "?page=2",
                "#frag",
            ][..],
        )),
    )
        .prop_map(|(segs, query)| format!("/{}{}", segs.join("/"), query.unwrap_or("")))
}

fn arb_method() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "get"][..])
}

fn arb_kind() -> impl Strategy<Value = TokenKind> {
    prop::sample::select(
        &[
            TokenKind::Repository,
            TokenKind::Project,
            TokenKind::Workspace,
        ][..],
    )
}

fn grantable(kind: TokenKind) -> Vec<Scope> {
    Scope::ALL
        .into_iter()
        .filter(|s| s.grantable_to(kind))
        .collect()
}

fn token(kind: TokenKind, scopes: &[Scope]) -> Value {
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    match kind {
        TokenKind::Repository => {
            json!({"kind": "repository", "workspace": "acme", "repository": "api", "scopes": names})
        }
        TokenKind::Project => {
            json!({"kind": "project", "workspace": "acme", "project": "PROJ", "scopes": names})
        }
        TokenKind::Workspace => json!({"kind": "workspace", "workspace": "acme", "scopes": names}),
    }
}

/// A token of some kind with a subset of its grantable scopes, and one more grantable scope.
fn arb_token_and_extra() -> impl Strategy<Value = (TokenKind, Vec<Scope>, Scope)> {
    arb_kind().prop_flat_map(|kind| {
        let pool = grantable(kind);
        (
            Just(kind),
            prop::sample::subsequence(pool.clone(), 0..pool.len()),
            prop::sample::select(pool),
        )
    })
}

fn input(token: Value, method: &str, path: &str, project: Option<&str>) -> Value {
    json!({"token": token, "request": {"method": method, "path": path}, "now": 1_764_300_000i64,
           "repository_project": project})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let decision = core::authorize_json(&bytes);
        prop_assert!(!decision.allow);
    }

    #[test]
    fn arbitrary_paths_never_panic(method in arb_method(), path in ".{0,80}") {
        let decision = core::authorize_value(&input(token(TokenKind::Workspace, &[Scope::Repository]), method, &path, None));
        prop_assert!(decision.status == 200 || decision.status == 403);
    }

    #[test]
    fn the_fast_writer_writes_what_serde_writes(
        method in arb_method(),
        // Unknown operations echo the path in their message: quotes and backslashes need escaping.
        path in prop_oneof![".{0,60}", r#"/2\.0/[a-z"\\/]{1,30}"#],
        workspace in ".{0,12}",
        bytes in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut claims = token(TokenKind::Repository, &[Scope::Repository]);
        claims["workspace"] = json!(workspace);
        let inputs = [
            serde_json::to_vec(&input(claims, method, &path, Some("P\"\\\u{1}"))).unwrap(),
            bytes,
        ];
        for bytes in inputs {
            let decision = core::authorize_json(&bytes);
            written_as_serde_writes(decision.to_json(), &decision, "a decision");
        }
    }

    #[test]
    fn the_route_writer_writes_what_serde_writes(
        method in arb_method(),
        path in arb_path(),
        // Names from the path, decoded: quotes, backslashes and control characters need escaping.
        name in r#"[a-z"\\\u{1}é]{1,8}"#,
    ) {
        let escaped: String = name.bytes().map(|b| format!("%{b:02X}")).collect();
        for path in [path.clone(), path.replace("acme", &escaped)] {
            core::route(method, &path, |info| {
                if let Some(info) = info {
                    written_as_serde_writes(info.to_json(), &info, &path);
                }
            });
        }
    }

    #[test]
    fn adding_a_scope_never_turns_allow_into_deny(
        (kind, scopes, extra) in arb_token_and_extra(),
        method in arb_method(),
        path in arb_path(),
        project in prop::option::of(prop::sample::select(&["PROJ", "OPS"][..])),
    ) {
        let before = core::authorize_value(&input(token(kind, &scopes), method, &path, project));
        let mut more = scopes.clone();
        more.push(extra);
        let after = core::authorize_value(&input(token(kind, &more), method, &path, project));
        prop_assert!(!before.allow || after.allow, "{before:?} then {after:?}");
    }

    #[test]
    fn revoked_or_expired_is_never_allowed(
        (kind, scopes, _) in arb_token_and_extra(),
        method in arb_method(),
        path in arb_path(),
        revoked in any::<bool>(),
        expired_by in 0i64..1_000_000,
    ) {
        let mut t = token(kind, &scopes);
        if revoked {
            t["revoked"] = json!(true);
        } else {
            t["expires_at"] = json!(1_764_300_000i64 - expired_by);
        }
        let decision = core::authorize_value(&input(t, method, &path, Some("PROJ")));
        prop_assert!(!decision.allow);
        prop_assert_eq!(decision.status, 401);
        prop_assert!(matches!(decision.reason, Reason::TokenRevoked | Reason::TokenExpired));
    }

    #[test]
    fn advised_tokens_allow_every_call(
        calls in prop::collection::vec((arb_operation_call(), prop::option::of(prop::sample::select(&["PROJ", "OPS"][..]))), 1..5),
    ) {
        let calls: Vec<(&str, String, Option<&str>)> = calls.into_iter().map(|((m, p), proj)| (m, p, proj)).collect();
        let list: Vec<Value> = calls.iter()
            .map(|(m, p, proj)| json!({"method": m, "path": p, "repository_project": proj}))
            .collect();
        if let Ok(advice) = core::minimal_token_value(&Value::Array(list)) {
            let advised = serde_json::to_value(&advice).expect("serialises");
            for (m, p, proj) in &calls {
                let decision = core::authorize_value(&input(advised.clone(), m, p, *proj));
                prop_assert!(decision.reason != Reason::InvalidClaims, "{advised}");
                prop_assert!(decision.allow, "{advised} denied {m} {p}: {:?}", decision.reason);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_bytes_never_trap_the_module(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut abi = RawAbi::load(&module_path()).expect("built module");
        for entry in [Entry::Authorize, Entry::Route, Entry::CheckIssue, Entry::MinimalToken] {
            let answer = abi.call(entry, &bytes).expect("no trap");
            prop_assert!(serde_json::from_slice::<Value>(&answer).is_ok());
        }
    }

    #[test]
    fn arbitrary_json_never_traps_the_module(value in arb_json()) {
        let mut abi = RawAbi::load(&module_path()).expect("built module");
        let answer = abi.call_json(Entry::Authorize, &value).expect("no trap");
        prop_assert_eq!(answer, serde_json::to_value(core::authorize_value(&value)).expect("serialises"));
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(
            &[
                "repository",
                "acme",
                "GET",
                "/2.0/user",
                "workspace",
                "pullrequest"
            ][..]
        )
        .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(
                    &[
                        "token",
                        "request",
                        "now",
                        "kind",
                        "workspace",
                        "repository",
                        "project",
                        "scopes",
                        "method",
                        "path",
                        "revoked",
                        "expires_at",
                        "repository_project"
                    ][..]
                )
                .prop_map(str::to_owned),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A concrete call of a real operation: its template filled with sample names, or a git call.
fn arb_operation_call() -> impl Strategy<Value = (&'static str, String)> {
    let api = (
        0..core::operations().len(),
        prop::sample::select(&["api", "web"][..]),
        prop::sample::select(&["acme", "ACME"][..]),
    )
        .prop_map(move |(i, repo, ws)| {
            let op = &core::operations()[i];
            let path: String = op
                .path
                .split('/')
                .skip(1)
                .map(|seg| match seg {
                    "{workspace}" | "{username}" => ws.to_owned(),
                    "{repo_slug}" => repo.to_owned(),
                    "{project_key}" => "PROJ".to_owned(),
                    "{path}" => "dir/file.txt".to_owned(),
                    s if s.ends_with(".zip") => "x-issues-1.zip".to_owned(),
                    s if s.contains('{') => "7".to_owned(),
                    s => s.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("/");
            (op.method.as_str(), format!("/2.0/{path}"))
        });
    let git = (prop::sample::select(
        &[
            ("GET", "/acme/api.git/info/refs?service=git-upload-pack"),
            ("GET", "/acme/web/info/refs?service=git-receive-pack"),
            ("POST", "/acme/api/git-receive-pack"),
        ][..],
    ))
    .prop_map(|(m, p)| (m, p.to_owned()));
    prop_oneof![4 => api, 1 => git]
}

#[test]
fn the_advisor_answers_for_real_operation_calls() {
    // Guards the property above against passing vacuously: most single real calls get advice.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = arb_operation_call();
    let advised = (0..500)
        .filter(|_| {
            let (m, p) = strategy.new_tree(&mut runner).expect("value").current();
            core::minimal_token_value(
                &json!([{"method": m, "path": p, "repository_project": "PROJ"}]),
            )
            .is_ok()
        })
        .count();
    assert!(advised > 250, "only {advised} of 500 calls got advice");
}

/// Writes `value` as JSON text, escaping each character and spacing each token as `choices`
/// say, so one value arrives in many spellings a gateway's JSON library might produce.
fn spell(value: &Value, choices: &mut impl Iterator<Item = u8>, out: &mut String) {
    const SPACE: [&str; 4] = ["", " ", "\n\t", "\r\n  "];
    out.push_str(SPACE[usize::from(pick(choices) % 4)]);
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                spell(item, choices, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in ordered(map, pick(choices)).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                spell(&Value::from(key.as_str()), choices, out);
                out.push(':');
                spell(item, choices, out);
            }
            out.push('}');
        }
        Value::String(text) => {
            out.push('"');
            for c in text.chars() {
                let short = match c {
                    '"' => Some("\\\""),
                    '\\' => Some("\\\\"),
                    '/' => Some("\\/"),
                    '\n' => Some("\\n"),
                    '\t' => Some("\\t"),
                    '\r' => Some("\\r"),
                    '\u{8}' => Some("\\b"),
                    '\u{c}' => Some("\\f"),
                    _ => None,
                };
                let must_escape = matches!(c, '"' | '\\' | '\0'..='\u{1f}');
                match (pick(choices) % 3, short) {
                    (0, Some(short)) => out.push_str(short),
                    (1, _) | (_, None) if must_escape || pick(choices).is_multiple_of(2) => {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                    (_, Some(short)) if must_escape => out.push_str(short),
                    _ => out.push(c),
                }
            }
            out.push('"');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
    out.push_str(SPACE[usize::from(pick(choices) % 4)]);
}

/// The entries of an object in one of four orders: serde_json's (sorted), reversed, rotated,
/// or the order the contract's examples and the host write (§5), which the reader takes fastest.
fn ordered(map: &serde_json::Map<String, Value>, choice: u8) -> Vec<(&String, &Value)> {
    const WRITERS_ORDER: &[&str] = &[
        "token",
        "request",
        "context",
        "now",
        "repository_project",
        "kind",
        "workspace",
        "project",
        "repository",
        "name",
        "scopes",
        "expires_at",
        "revoked",
        "method",
        "path",
    ];
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    match choice % 4 {
        0 => {}
        1 => entries.reverse(),
        2 => {
            let by = usize::from(choice / 4) % entries.len().max(1);
            entries.rotate_left(by);
        }
        _ => entries.sort_by_key(|(key, _)| {
            WRITERS_ORDER
                .iter()
                .position(|k| k == key)
                .unwrap_or(WRITERS_ORDER.len())
        }),
    }
    entries
}

/// An answer's own writer gave serde's bytes.
fn written_as_serde_writes(written: Vec<u8>, answer: &impl serde::Serialize, context: &str) {
    assert_eq!(
        String::from_utf8(written).expect("UTF-8"),
        serde_json::to_string(answer).expect("serialises"),
        "{context}"
    );
}

/// Every route of the vectors written by the route writer exactly as serde writes it.
#[test]
fn every_vector_route_is_written_as_serde_writes_it() {
    let vectors = scopegate_tests::vectors("route.json");
    let mut written = 0;
    for v in &vectors {
        let (Some(method), Some(path)) = (v.input["method"].as_str(), v.input["path"].as_str())
        else {
            continue;
        };
        // The same with a workspace name that JSON escapes: `"a\b`.
        let escaping = path.replace("/acme", "/%22a%5Cb");
        for path in [path, escaping.as_str()] {
            core::route(method, path, |info| {
                if let Some(info) = info {
                    written_as_serde_writes(info.to_json(), &info, &format!("{}: {path}", v.why));
                    written += 1;
                }
            });
        }
    }
    assert!(written > 40, "{written} routes");
}

/// Every reason and message of the vectors, written by the decision's own writer exactly as
/// serde writes it.
#[test]
fn every_vector_decision_is_written_as_serde_writes_it() {
    for v in &scopegate_tests::authorize_vectors() {
        let decision = core::authorize_json(v.given().text().as_bytes());
        written_as_serde_writes(decision.to_json(), &decision, &v.why);
    }
}

/// Every issuing outcome of the vectors, and refusals that quote text JSON escapes, written by
/// the outcome's own writer exactly as serde writes it.
#[test]
fn every_vector_issue_outcome_is_written_as_serde_writes_it() {
    let mut inputs: Vec<String> = scopegate_tests::vectors("check_issue.json")
        .iter()
        .map(|v| v.given().text().into_owned())
        .collect();
    for scope in [r#"a\"b"#, r#"c\\d"#, r#"\n\u0001"#, r#"caf\u00e9"#] {
        inputs.push(format!(
            r#"{{"request":{{"kind":"repository","workspace":"acme","repository":"api","name":"ci","scopes":["{scope}"],"expires_at":null}},"context":{{"plan":"premium","now":1,"allow_no_expiry":true}}}}"#
        ));
    }
    let mut refused = 0;
    for input in &inputs {
        let outcome = core::check_issue_json(input.as_bytes());
        refused += usize::from(!outcome.ok);
        written_as_serde_writes(outcome.to_json(), &outcome, input);
    }
    assert!(refused > 50, "{refused} refusals");
}

/// Every advice and refusal of the least-privilege vectors, and the same with names that JSON
/// escapes, written by their own writers exactly as serde writes them.
#[test]
fn every_vector_advice_is_written_as_serde_writes_it() {
    let (mut advised, mut refused) = (0, 0);
    for v in &scopegate_tests::vectors("minimal_token.json") {
        let text = v.given().text();
        // A workspace name that JSON escapes: `"a\b`.
        for text in [text.to_string(), text.replace("/acme", "/%22a%5Cb")] {
            match core::minimal_token_json(text.as_bytes()) {
                Ok(advice) => {
                    advised += 1;
                    written_as_serde_writes(advice.to_json(), &advice, &text);
                }
                Err(refusal) => {
                    refused += 1;
                    written_as_serde_writes(refusal.to_json(), &refusal, &text);
                }
            }
        }
    }
    assert!(
        advised > 20 && refused > 20,
        "{advised} advised, {refused} refused"
    );
}

/// The whole operation list, written by its own writer exactly as serde writes it.
#[test]
fn the_operation_list_is_written_as_serde_writes_it() {
    let operations = core::operations();
    assert_eq!(operations.len(), 331);
    written_as_serde_writes(core::operations_json(), &operations, "operations");
}

/// Every authorize vector decides alike whatever the order and spelling of its input's keys.
#[test]
fn key_order_does_not_change_a_decision() {
    let vectors = scopegate_tests::authorize_vectors();
    assert!(vectors.len() > 100);
    for v in vectors.iter().filter(|v| v.input_text.is_none()) {
        let expected = serde_json::to_value(core::authorize_value(&v.input)).expect("serialises");
        for choice in 0..12u8 {
            let mut text = String::new();
            spell(&v.input, &mut std::iter::repeat(choice), &mut text);
            let decision =
                serde_json::to_value(core::authorize_json(text.as_bytes())).expect("serialises");
            assert_eq!(decision, expected, "{}: {text}", v.why);
        }
    }
}

/// The answer to an input that repeats `key`.
fn repeats(key: &str) -> Value {
    json!({
        "allow": false, "status": 403, "reason": "bad_input",
        "message": format!("the input repeats the key {}", Value::from(key)),
        "operation": null, "required_scopes": [], "granted_scopes": [], "missing_scopes": [],
    })
}

/// Every authorize vector, with any entry of its top level, its token or its request given a
/// second time (first, with its own value or another, and its key spelled another way), is
/// refused as repeating that key, whatever it decided before (§5 row 1): no reader keeps
/// either value.
#[test]
fn a_repeated_key_is_refused_whatever_the_input_decided() {
    let mut refused = 0;
    for v in scopegate_tests::authorize_vectors() {
        let Value::Object(top) = &v.input else {
            continue;
        };
        let mut objects = vec![(None, top)];
        for name in ["token", "request"] {
            if let Some(Value::Object(object)) = top.get(name) {
                objects.push((Some(name), object));
            }
        }
        for (name, object) in objects {
            for (i, (key, value)) in object.iter().enumerate() {
                for (choice, first) in [(0u8, value), (5, &json!([{}])), (1, &Value::Null)] {
                    let mut entry = String::new();
                    let mut choices = std::iter::repeat(choice.wrapping_add(i as u8));
                    spell(&json!({ key: first }), &mut choices, &mut entry);
                    let entry = entry.trim();
                    let entry = entry.strip_prefix('{').and_then(|e| e.strip_suffix('}'));
                    let entry = entry.expect("an object spelled");
                    let twice = match name {
                        None => written(top, Some(entry), None),
                        Some(name) => {
                            let inner = written(object, Some(entry), None);
                            written(top, None, Some((name, &inner)))
                        }
                    };
                    let decision = serde_json::to_value(core::authorize_json(twice.as_bytes()))
                        .expect("serialises");
                    assert_eq!(decision, repeats(key), "{}: {twice}", v.why);
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > 5000, "{refused}");
}

/// `object` as JSON text, with `first` (an entry's text) written before its own entries and the
/// value of one of its keys written as the text given.
fn written(
    object: &serde_json::Map<String, Value>,
    first: Option<&str>,
    replaced: Option<(&str, &str)>,
) -> String {
    let own = object.iter().map(|(key, value)| {
        let value = match replaced {
            Some((replaced, text)) if replaced == key => text.to_owned(),
            _ => value.to_string(),
        };
        format!("{}:{value}", Value::from(key.as_str()))
    });
    let entries: Vec<String> = first.map(str::to_owned).into_iter().chain(own).collect();
    format!("{{{}}}", entries.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// A repeated key of any characters, in an object at any place of a valid input, is named
    /// in the message as a JSON string, and the answer is written as serde writes it, natively
    /// and by the module alike.
    #[test]
    fn any_repeated_key_is_named_and_escaped(
        key in r#"[a-z"\\\u{0}-\u{1f}é€😀]{0,8}"#,
        place in 0..4usize,
        choices in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let inner = {
            let mut entry = String::new();
            spell(&Value::from(key.as_str()), &mut choices.iter().copied().cycle(), &mut entry);
            format!("{entry}:1,{}:2", Value::from(key.as_str()))
        };
        let token = r#"{"kind":"workspace","workspace":"acme","scopes":["pipeline"]}"#;
        let request = r#"{"method":"GET","path":"/2.0/workspaces/acme"}"#;
        let text = match place {
            0 => format!(r#"{{{inner},"token":{token},"request":{request},"now":1}}"#),
            1 => format!(r#"{{"token":{{{inner},"kind":"workspace"}},"request":{request},"now":1}}"#),
            2 => format!(r#"{{"token":{token},"request":{{{inner}}},"now":1}}"#),
            _ => format!(r#"{{"token":{token},"request":{request},"now":1,"x":[{{"y":{{{inner}}}}}]}}"#),
        };
        let decision = core::authorize_json(text.as_bytes());
        let native = serde_json::to_value(&decision).expect("serialises");
        prop_assert_eq!(&native, &repeats(&key), "{}", text);
        written_as_serde_writes(decision.to_json(), &decision, &text);
        let mut abi = RawAbi::load(&module_path()).expect("built module");
        let answer = abi.call(Entry::Authorize, text.as_bytes()).expect("no trap");
        prop_assert_eq!(serde_json::from_slice::<Value>(&answer).expect("JSON"), native);
    }
}

fn pick(choices: &mut impl Iterator<Item = u8>) -> u8 {
    choices.next().unwrap_or(0)
}

/// Fragments that make JSON text subtly wrong, or subtly right.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u",
    "\\ud83d",
    "\\ude00",
    "\\ud83d\\ude00",
    "\\ud83d\\u0041",
    "\\ud83d\\n",
    "\\u00e9",
    "\\x",
    "-",
    "-0",
    "0",
    "01",
    "1.",
    ".5",
    "1e",
    "1e400",
    "-1e400",
    "1E+2",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "true",
    "tru",
    "null",
    "nul",
    " ",
    "\n",
    "\t",
    "\u{0}",
    "\u{1f}",
    "\u{7f}",
    "é",
    "\u{feff}",
    "\"token\":",
    "\"now\":",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// However a value is spelled, each entry point reads it as the value itself.
    #[test]
    fn every_spelling_of_a_value_is_read_alike(
        value in arb_json(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let mut text = String::new();
        spell(&value, &mut choices.iter().copied().cycle(), &mut text);
        let canonical = value.to_string();
        // Compared as parsed, because serde_json may round a float's last digit on reading.
        prop_assert_eq!(serde_json::from_str::<Value>(&text).ok(), serde_json::from_str::<Value>(&canonical).ok(), "the spelling is of the value");
        let outputs = |t: &str| {
            (
                serde_json::to_value(core::authorize_json(t.as_bytes())).expect("serialises"),
                serde_json::to_value(core::check_issue_json(t.as_bytes())).expect("serialises"),
                serde_json::to_value(core::route_json(t.as_bytes(), |info| serde_json::to_value(info).expect("serialises"))).expect("serialises"),
                serde_json::to_value(core::minimal_token_json(t.as_bytes())).expect("serialises"),
            )
        };
        prop_assert_eq!(outputs(&text), outputs(&canonical));
    }

    /// The policy's reader takes exactly the texts serde_json takes: near-misses of valid input
    /// are refused by both or read by both.
    #[test]
    fn the_reader_takes_exactly_what_serde_json_takes(
        value in arb_json(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3usize, prop::sample::select(FRAGMENTS)), 1..4),
    ) {
        let mut bytes = value.to_string().into_bytes();
        for (at, op, fragment) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 => { bytes.splice(i..i, fragment.bytes()); }
                1 => { bytes.drain(i..(i + 1).min(bytes.len())); }
                _ => { bytes.splice(i..(i + fragment.len()).min(bytes.len()), fragment.bytes()); }
            }
        }
        let serde_takes = serde_json::from_slice::<Value>(&bytes).is_ok();
        let decision = core::authorize_json(&bytes);
        let policy_takes = decision.message != "the input is not JSON";
        prop_assert_eq!(policy_takes, serde_takes, "{}", String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn nesting_is_refused_where_serde_json_refuses_it() {
    for depth in [126, 127, 128, 129] {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let inner = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            let text = format!(r#"{{"ignored":{inner},"now":1}}"#);
            let serde_takes = serde_json::from_str::<Value>(&text).is_ok();
            let decision = core::authorize_json(text.as_bytes());
            assert_eq!(
                decision.message != "the input is not JSON",
                serde_takes,
                "depth {depth} of {open}"
            );
        }
    }
}
