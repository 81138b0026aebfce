//! The vectors through `scopegate-core` compiled natively. A vector given as text (`input_text`)
//! goes to the entry point that reads text; the others to the one that takes values.

use scopegate_core as core;
use scopegate_tests::{authorize_vectors, check_all, run_check, vectors, Input};
use serde_json::Value;

fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("answers serialise")
}

fn authorize(input: Input<'_>) -> core::Decision {
    match input {
        Input::Value(value) => core::authorize_value(value),
        Input::Text(text) => core::authorize_json(text.as_bytes()),
    }
}

#[test]
fn authorize_vectors_native() {
    check_all("authorize/native", &authorize_vectors(), |input| {
        let decision = to_value(authorize(input));
        assert!(decision["message"].as_str().is_some_and(|m| !m.is_empty()));
        decision
    });
}

#[test]
fn contract_examples_native() {
    let examples = scopegate_tests::read_vectors(
        &scopegate_tests::shared_dir().join("examples/decisions.json"),
    );
    check_all("examples/native", &examples, |input| {
        to_value(authorize(input))
    });
}

#[test]
fn route_vectors_native() {
    check_all("route/native", &vectors("route"), |input| match input {
        Input::Value(input) => {
            let method = input["method"].as_str().expect("vector method");
            let path = input["path"].as_str().expect("vector path");
            core::route(method, path, |info| to_value(info))
        }
        Input::Text(text) => core::route_json(text.as_bytes(), |info| to_value(info)),
    });
}

#[test]
fn check_issue_vectors_native() {
    check_all("check_issue/native", &vectors("check_issue"), |input| {
        to_value(match input {
            Input::Value(input) => core::check_issue_value(&input["request"], &input["context"]),
            Input::Text(text) => core::check_issue_json(text.as_bytes()),
        })
    });
}

#[test]
fn minimal_token_vectors_native() {
    check_all("minimal_token/native", &vectors("minimal_token"), |input| {
        let advice = match input {
            Input::Value(calls) => core::minimal_token_value(calls),
            Input::Text(text) => core::minimal_token_json(text.as_bytes()),
        };
        match advice {
            Ok(advice) => to_value(advice),
            Err(refusal) => to_value(refusal),
        }
    });
}

#[test]
fn original_request_vectors_native() {
    check_all(
        "original_request/native",
        &vectors("original_request"),
        |input| {
            serde_json::from_slice(&core::original_request_json(input.text().as_bytes()))
                .expect("the answer is JSON")
        },
    );
}

#[test]
fn check_vectors_native() {
    let json = |answer: Vec<u8>| -> Value { serde_json::from_slice(&answer).expect("JSON") };
    check_all("check/native", &vectors("check"), |input| {
        run_check(
            input,
            |first| json(core::check_request_json(first)),
            |second| json(core::check_answer_json(second)),
        )
    });
}
