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

#[test]
fn original_request_vectors_through_wasmtime() {
    let mut abi = module();
    check_all(
        "original_request/wasmtime",
        &vectors("original_request"),
        |input| {
            let text = input.text();
            let answer = call(&mut abi, Entry::OriginalRequest, input);
            let native: Value =
                serde_json::from_slice(&core::original_request_json(text.as_bytes()))
                    .expect("JSON");
            assert_eq!(answer, native, "wasmtime and native differ on {text}");
            answer
        },
    );
    let names: Vec<String> = serde_json::from_value(abi.check_header_names().expect("no trap"))
        .expect("a list of names");
    assert_eq!(names, core::Header::NAMES);
}

#[test]
fn abi_version_is_one() {
    assert_eq!(module().abi_version().expect("no trap"), 1);
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
        let read = abi
            .call_raw(Entry::OriginalRequest, ptr, len)
            .expect("no trap");
        let refused: Value = serde_json::from_slice(&read).expect("JSON answer");
        assert_eq!(refused["reason"], "bad_input", "({ptr}, {len})");
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
