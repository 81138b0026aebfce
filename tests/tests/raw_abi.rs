//! The built module through its raw ABI in wasmtime: the same vectors as natively, and the ABI's
//! own promises (no trap on any bytes, answers freed, bad pointers answered). The raw ABI takes
//! text, so every vector is handed as text: its `input_text` when it has one.

use scopegate_core as core;
use scopegate_tests::wasm::{Entry, RawAbi};
use scopegate_tests::{authorize_vectors, check_all, module_path, vectors, Input};
use serde_json::{json, Value};

fn module() -> RawAbi {
    RawAbi::load(&module_path()).unwrap_or_else(|e| panic!("{e:#}"))
}

/// The module's answer to the input as text.
fn call(abi: &mut RawAbi, entry: Entry, input: Input<'_>) -> Value {
    let answer = abi.call(entry, input.text().as_bytes()).expect("no trap");
    serde_json::from_slice(&answer).expect("the module answers with JSON")
}

#[test]
fn authorize_vectors_through_wasmtime() {
    let mut abi = module();
    check_all("authorize/wasmtime", &authorize_vectors(), |input| {
        let text = input.text();
        let answer = call(&mut abi, Entry::Authorize, input);
        let native =
            serde_json::to_value(core::authorize_json(text.as_bytes())).expect("serialises");
        assert_eq!(answer, native, "wasmtime and native differ on {text}");
        answer
    });
}

#[test]
fn route_vectors_through_wasmtime() {
    let mut abi = module();
    check_all("route/wasmtime", &vectors("route"), |input| {
        call(&mut abi, Entry::Route, input)
    });
}

#[test]
fn check_issue_vectors_through_wasmtime() {
    let mut abi = module();
    check_all("check_issue/wasmtime", &vectors("check_issue"), |input| {
        call(&mut abi, Entry::CheckIssue, input)
    });
}

#[test]
fn minimal_token_vectors_through_wasmtime() {
    let mut abi = module();
    check_all(
        "minimal_token/wasmtime",
        &vectors("minimal_token"),
        |input| call(&mut abi, Entry::MinimalToken, input),
    );
}

/// The original-request vectors through a check's first call: a request it reads is handed
/// back for the lookup (with a well-formed token in place of the vector's credentials), a
/// refusal is the first call's answer.
#[test]
fn original_request_vectors_through_wasmtime() {
    let mut abi = module();
    check_all(
        "original_request/wasmtime",
        &scopegate_tests::expecting(
            vectors("original_request"),
            &["method", "uri", "allow", "status", "reason"],
        ),
        |input| {
            let (first, read) = scopegate_tests::as_first_call(input);
            let step = abi
                .call(Entry::CheckRequest, first.as_bytes())
                .expect("no trap");
            let native = read(
                serde_json::from_slice(&core::check_request_json(first.as_bytes())).expect("JSON"),
            );
            let answer = read(serde_json::from_slice(&step).expect("JSON"));
            assert_eq!(answer, native, "wasmtime and native differ on {first}");
            answer
        },
    );
    let names: Vec<String> = serde_json::from_value(abi.check_header_names().expect("no trap"))
        .expect("a list of names");
    assert_eq!(names, core::Header::NAMES);
}

#[test]
fn abi_version_is_two() {
    assert_eq!(module().abi_version().expect("no trap"), 2);
}

/// Both calls of every check vector through wasmtime, each answer also held to the native
/// core's bytes.
#[test]
fn check_vectors_through_wasmtime() {
    let abi = std::cell::RefCell::new(module());
    let call = |entry: Entry, native: fn(&[u8]) -> Vec<u8>, input: &[u8]| -> Value {
        let answer = abi.borrow_mut().call(entry, input).expect("no trap");
        assert_eq!(
            String::from_utf8_lossy(&answer),
            String::from_utf8_lossy(&native(input)),
            "wasmtime and native differ"
        );
        serde_json::from_slice(&answer).expect("JSON")
    };
    check_all("check/wasmtime", &vectors("check"), |input| {
        scopegate_tests::run_check(
            input,
            |first| call(Entry::CheckRequest, core::check_request_json, first),
            |second| call(Entry::CheckAnswer, core::check_answer_json, second),
        )
    });
}

/// `sg_scan` on raw bytes answers as the native core does, on text with secrets, lookalikes
/// and bytes that are not UTF-8.
#[test]
fn scan_through_wasmtime_is_the_native_scan() {
    let mut abi = module();
    let (token, _) = core::token::seal(
        core::SecretKind::AccessToken,
        "0123456789abcdefghijABCDEFGHIJ0123456789",
    )
    .expect("sealed");
    let (key, _) = core::token::seal(
        core::SecretKind::AdminCredential,
        "ZYXWVUTSRQponmlkjihg9876543210ZYXWVUTSRQ",
    )
    .expect("sealed");
    let mut wrong = token.clone().into_bytes();
    wrong[50] ^= 1;
    let inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        token.clone().into_bytes(),
        format!("TOKEN={token}\nkey: '{key}'\nx{token}\n{token}_\n").into_bytes(),
        [
            b"\xff\xfe".as_slice(),
            token.as_bytes(),
            b"\x00",
            &wrong,
            b"\n",
        ]
        .concat(),
        format!("{}{token}", "_".repeat(100_000)).into_bytes(),
    ];
    for input in inputs {
        let answer = abi.call(Entry::Scan, &input).expect("no trap");
        assert_eq!(
            String::from_utf8_lossy(&answer),
            String::from_utf8_lossy(&core::scan_json(&input))
        );
    }
    let answer = abi
        .call(Entry::Scan, format!("a {token} b {key}").as_bytes())
        .expect("no trap");
    let answer: Value = serde_json::from_slice(&answer).expect("JSON");
    assert_eq!(
        answer,
        json!({"secret_len": 51, "findings": [
            {"offset": 2, "kind": "access_token"},
            {"offset": 56, "kind": "admin_credential"}
        ]})
    );
}

#[test]
fn pointers_outside_memory_are_answered_not_trapped() {
    let mut abi = module();
    let beyond = i32::try_from(abi.memory_size()).expect("small memory");
    for (ptr, len) in [(0, 10), (beyond, 10), (beyond - 4, 100), (-1, 8), (16, -5)] {
        let answer = abi
            .call_raw(Entry::Authorize, ptr, len)
            .unwrap_or_else(|e| panic!("({ptr}, {len}) trapped: {e}"));
        let decision: Value = serde_json::from_slice(&answer).expect("JSON answer");
        assert_eq!(decision["reason"], "bad_input", "({ptr}, {len})");
        let routed = abi.call_raw(Entry::Route, ptr, len).expect("no trap");
        assert_eq!(routed, b"null");
        for entry in [Entry::CheckRequest, Entry::CheckAnswer] {
            let read = abi.call_raw(entry, ptr, len).expect("no trap");
            let refused: Value = serde_json::from_slice(&read).expect("JSON answer");
            assert_eq!(
                (&refused["status"], &refused["reason"]),
                (&json!(403), &json!("bad_input")),
                "({ptr}, {len})"
            );
        }
    }
}

/// Any bytes are something to scan, so `sg_scan` can't answer bad pointers as it answers bad
/// JSON: it says so, rather than answer an empty list that would say the bytes held no secret.
#[test]
fn scan_answers_pointers_outside_memory_as_errors() {
    let mut abi = module();
    // Measured before each call: every answer grows memory a little.
    for place in 0..5 {
        let beyond = i32::try_from(abi.memory_size()).expect("small memory");
        let (ptr, len) = [(0, 10), (beyond, 10), (beyond - 4, 100), (-1, 8), (16, -5)][place];
        let answer = abi.call_raw(Entry::Scan, ptr, len).expect("no trap");
        let answer: Value = serde_json::from_slice(&answer).expect("JSON answer");
        assert_eq!(answer["error"], "bad_input", "({ptr}, {len}): {answer}");
    }
}

#[test]
fn answers_are_freed() {
    let mut abi = module();
    let input = json!({
        "token": {"kind": "repository", "workspace": "acme", "repository": "api", "scopes": ["repository"]},
        "request": {"method": "GET", "path": "/2.0/repositories/acme/api/src/main/x/y/z"},
        "now": 1
    });
    for _ in 0..1_000 {
        abi.call_json(Entry::Authorize, &input).expect("no trap");
    }
    let settled = abi.memory_size();
    for _ in 0..20_000 {
        abi.call_json(Entry::Authorize, &input).expect("no trap");
    }
    assert_eq!(abi.memory_size(), settled, "memory grew: answers leak");
}
