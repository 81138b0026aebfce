//! The JS API of SPEC §8: plain objects in and out. No function throws: unreadable input is
//! answered like any other malformed input.

use scopegate_core as core;
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// Converts a JS value to JSON; anything without a JSON form (a function, a symbol) is `null`.
fn from_js(value: JsValue) -> Value {
    serde_wasm_bindgen::from_value(value).unwrap_or(Value::Null)
}

fn to_js<T: Serialize>(answer: &T) -> JsValue {
    answer
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

fn either<T: Serialize, E: Serialize>(result: &Result<T, E>) -> JsValue {
    match result {
        Ok(answer) => to_js(answer),
        Err(refusal) => to_js(refusal),
    }
}

#[wasm_bindgen]
pub fn authorize(input: JsValue) -> JsValue {
    to_js(&core::authorize_value(&from_js(input)))
}

#[wasm_bindgen]
pub fn route(method: JsValue, path: JsValue) -> JsValue {
    match (method.as_string(), path.as_string()) {
        (Some(method), Some(path)) => core::route(&method, &path, |info| to_js(&info)),
        _ => JsValue::NULL,
    }
}

#[wasm_bindgen(js_name = checkIssue)]
pub fn check_issue(request: JsValue, context: JsValue) -> JsValue {
    to_js(&core::check_issue_value(
        &from_js(request),
        &from_js(context),
    ))
}

#[wasm_bindgen]
pub fn operations() -> JsValue {
    to_js(&core::operations())
}

#[wasm_bindgen(js_name = minimalToken)]
pub fn minimal_token(calls: JsValue) -> JsValue {
    either(&core::minimal_token_value(&from_js(calls)))
}

#[wasm_bindgen(js_name = abiVersion)]
pub fn abi_version() -> u32 {
    core::ABI_VERSION
}
