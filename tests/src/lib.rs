//! Shared pieces of the conformance suites: where the vectors and the built module are, how to
//! read the vectors, and the raw-ABI runner every non-JS runtime uses.

pub mod wasm;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// One worked case: an input, the expected answer and a line on why.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "VectorFile")]
pub struct Vector {
    pub why: String,
    /// The input as a value; `Null` when the vector gives only `input_text`.
    pub input: Value,
    /// The input as JSON text, for what no parsed value can say: a key given twice, an integer
    /// written as a float. When present it is the input (see `given`), and `input`, if also
    /// present, is only its value for the reader's eye.
    pub input_text: Option<String>,
    pub expect: Value,
}

/// A vector as its file spells it: `input`, `input_text` or both.
#[derive(Deserialize)]
struct VectorFile {
    why: String,
    /// `Some(Null)` for `"input": null`, which is an input; `None` when there is no `input`.
    #[serde(default, deserialize_with = "present")]
    input: Option<Value>,
    input_text: Option<String>,
    expect: Value,
}

fn present<'de, D: serde::Deserializer<'de>>(input: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(input).map(Some)
}

impl TryFrom<VectorFile> for Vector {
    type Error = String;

    fn try_from(file: VectorFile) -> Result<Vector, String> {
        if file.input.is_none() && file.input_text.is_none() {
            return Err(format!("{}: neither input nor input_text", file.why));
        }
        Ok(Vector {
            why: file.why,
            input: file.input.unwrap_or(Value::Null),
            input_text: file.input_text,
            expect: file.expect,
        })
    }
}

/// What a runner is handed of a vector's input.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// A value, for entry points that take one (and for text, written out).
    Value(&'a Value),
    /// JSON text that must be read as it is, only by entry points that take text.
    Text(&'a str),
}

impl<'a> Input<'a> {
    /// The input as JSON text: its own, or the value written out.
    pub fn text(self) -> Cow<'a, str> {
        match self {
            Input::Value(value) => Cow::Owned(value.to_string()),
            Input::Text(text) => Cow::Borrowed(text),
        }
    }
}

impl Vector {
    /// The input a runner is handed: the text when the vector gives one, else the value.
    pub fn given(&self) -> Input<'_> {
        match &self.input_text {
            Some(text) => Input::Text(text),
            None => Input::Value(&self.input),
        }
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// The contract's shared folder, beside the checkout unless `SCOPEGATE_SHARED` says otherwise.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("SCOPEGATE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"))
}

/// The built module, unless `SCOPEGATE_MODULE` names another file (to measure a candidate build
/// against the current one).
pub fn module_path() -> PathBuf {
    std::env::var_os("SCOPEGATE_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("www/pkg/scopegate_policy_bg.wasm"))
}

/// Reads a vector file, or every `*.json` file of a folder, from `tests/vectors/`.
pub fn vectors(name: &str) -> Vec<Vector> {
    let path = repo_root().join("tests/vectors").join(name);
    let mut files = if path.is_dir() {
        std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .map(|entry| entry.expect("readable folder").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect()
    } else {
        vec![path.with_extension("json")]
    };
    files.sort();
    files.iter().flat_map(|file| read_vectors(file)).collect()
}

pub fn read_vectors(file: &Path) -> Vec<Vector> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The worked examples of the contract, plus the project's own authorize vectors.
pub fn authorize_vectors() -> Vec<Vector> {
    let mut all = read_vectors(&shared_dir().join("examples/decisions.json"));
    all.extend(vectors("authorize"));
    all
}

/// Compares the fields `expect` names against `actual`; returns a description of each difference.
pub fn differences(expect: &Value, actual: &Value) -> Vec<String> {
    match (expect, actual) {
        (Value::Object(want), Value::Object(got)) => want
            .iter()
            .filter(|(key, value)| got.get(key.as_str()) != Some(value))
            .map(|(key, value)| {
                format!(
                    "{key}: expected {value}, got {}",
                    got.get(key.as_str()).unwrap_or(&Value::Null)
                )
            })
            .collect(),
        _ if expect == actual => Vec::new(),
        _ => vec![format!("expected {expect}, got {actual}")],
    }
}

/// Runs every vector through `run`, and fails once with all mismatches listed.
pub fn check_all(suite: &str, vectors: &[Vector], mut run: impl FnMut(Input<'_>) -> Value) {
    assert!(!vectors.is_empty(), "{suite}: no vectors found");
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|v| {
            let actual = run(v.given());
            let diffs = differences(&v.expect, &actual);
            (!diffs.is_empty()).then(|| {
                let input = v.given().text();
                format!("- {} | input {input} | {}", v.why, diffs.join("; "))
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{suite}: {} of {} vectors differ:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
    println!("{suite}: {} vectors agree", vectors.len());
}
