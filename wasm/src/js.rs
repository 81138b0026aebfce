//! The JS API of SPEC §8: plain objects in and out. Values cross the boundary as JSON text, by
//! the engine's own `JSON.stringify` / `JSON.parse`: one call each way instead of one per
//! property, the same bytes the raw ABI reads, and no second (de)serializer in the module. No
//! function throws: unreadable input is answered like any other malformed input.

use scopegate_core as core;
use wasm_bindgen::prelude::*;

/// The JSON text of a JS value. A value without a JSON form (undefined, a function, a symbol, a
/// BigInt, a cycle) is `null`.
fn json_text(value: &JsValue) -> String {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_else(|| "null".to_owned())
}

/// An answer the core wrote as JSON text (which is UTF-8), as a JS value.
fn parse_answer(out: &[u8]) -> JsValue {
    std::str::from_utf8(out)
        .ok()
        .and_then(|text| js_sys::JSON::parse(text).ok())
        .unwrap_or(JsValue::NULL)
}

#[wasm_bindgen]
pub fn authorize(input: JsValue) -> JsValue {
    parse_answer(&core::authorize_json(json_text(&input).as_bytes()).to_json())
}

#[wasm_bindgen]
pub fn route(method: JsValue, path: JsValue) -> JsValue {
    match (method.as_string(), path.as_string()) {
        (Some(method), Some(path)) => core::route(&method, &path, |info| match info {
            Some(info) => parse_answer(&info.to_json()),
            None => JsValue::NULL,
        }),
        _ => JsValue::NULL,
    }
}

#[wasm_bindgen(js_name = checkIssue)]
pub fn check_issue(request: JsValue, context: JsValue) -> JsValue {
    let input = format!(
        r#"{{"request":{},"context":{}}}"#,
        json_text(&request),
        json_text(&context)
    );
    parse_answer(&core::check_issue_json(input.as_bytes()).to_json())
}

#[wasm_bindgen]
pub fn operations() -> JsValue {
    parse_answer(&core::operations_json())
}

#[wasm_bindgen(js_name = minimalToken)]
pub fn minimal_token(calls: JsValue) -> JsValue {
    match core::minimal_token_json(json_text(&calls).as_bytes()) {
        Ok(advice) => parse_answer(&advice.to_json()),
        Err(refusal) => parse_answer(&refusal.to_json()),
    }
}

/// The names of the headers `checkRequest` reads, in lower case: a caller may pass only these.
#[wasm_bindgen(js_name = checkHeaderNames)]
pub fn check_header_names() -> JsValue {
    parse_answer(core::Header::NAMES_JSON.as_bytes())
}

/// A check's first call. `headers`: `[[name, value], …]` as the request carried them (a fetch
/// `Headers` object spread into pairs will do); `forwardedHeaders`: `"original"`, `"forwarded"` or
/// `"either"` (the default when undefined). The answer
/// is `{status, reason, headers, body}` when there is nothing to look up, or `{lookup: {sha256,
/// repository: {workspace, slug} | null}, request: {method, path}}`.
#[wasm_bindgen(js_name = checkRequest)]
pub fn check_request(headers: JsValue, forwarded_headers: JsValue) -> JsValue {
    let mode = if forwarded_headers.is_undefined() {
        JsValue::NULL
    } else {
        forwarded_headers
    };
    let input = format!(
        r#"{{"forwarded_headers":{},"headers":{}}}"#,
        json_text(&mode),
        json_text(&headers)
    );
    parse_answer(&core::check_request_json(input.as_bytes()))
}

/// A check's second call: `{request, now, token: {id, claims} | null, repository_project}` (the
/// first call's `request`, what was stored under its `sha256`, and the project of its
/// `repository`), or `{failure}`. The answer is `{status, reason, headers, body}`.
#[wasm_bindgen(js_name = checkAnswer)]
pub fn check_answer(input: JsValue) -> JsValue {
    parse_answer(&core::check_answer_json(json_text(&input).as_bytes()))
}

/// A secret from 40 random characters of `[0-9A-Za-z]`: `{secret, sha256}` or `{error, message}`.
/// `kind` is `"access_token"` or `"admin_credential"`.
#[wasm_bindgen]
pub fn seal(kind: JsValue, random: JsValue) -> JsValue {
    let input = format!(
        r#"{{"kind":{},"random":{}}}"#,
        json_text(&kind),
        json_text(&random)
    );
    parse_answer(&core::seal_json(input.as_bytes()))
}

/// RFC 7662 introspection of what is stored under a presented secret's hash:
/// `{now, token: {id, created_at, claims} | null}` in, `{active: true, scope, client_id, …}` or
/// exactly `{active: false}` out (SPEC §12).
#[wasm_bindgen]
pub fn introspect(input: JsValue) -> JsValue {
    parse_answer(&core::introspect_json(json_text(&input).as_bytes()))
}

/// The well-formed secrets of either kind in `bytes` (a `Uint8Array`, as a file is read):
/// `{secret_len, findings: [{offset, kind}, …]}`, offsets in bytes.
#[wasm_bindgen]
pub fn scan(bytes: &[u8]) -> JsValue {
    parse_answer(&core::scan_json(bytes))
}

#[wasm_bindgen(js_name = abiVersion)]
pub fn abi_version() -> u32 {
    core::ABI_VERSION
}
