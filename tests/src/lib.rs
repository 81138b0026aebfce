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

/// A check vector run as every caller runs a check (SPEC §10): `first` and `second` are the
/// module's two calls on JSON text; between them the lookups are answered from the vector's
/// `store`. The answer carries the first call's `lookup` (null when it answered at once).
/// `tests/js/check_runner.mjs` is the same for the JS runtimes.
pub fn run_check(
    input: Input<'_>,
    mut first: impl FnMut(&[u8]) -> Value,
    mut second: impl FnMut(&[u8]) -> Value,
) -> Value {
    let Input::Value(input) = input else {
        panic!("check vectors are given as values");
    };
    if input.get("headers").is_none() {
        let mut answer = second(input.to_string().as_bytes());
        answer["lookup"] = Value::Null;
        return answer;
    }
    let request = serde_json::json!({
        "forwarded_headers": input["forwarded_headers"],
        "headers": input["headers"],
    });
    let mut step = first(request.to_string().as_bytes());
    let Some(lookup) = step.get("lookup").cloned() else {
        step["lookup"] = Value::Null;
        return step;
    };
    let store = &input["store"];
    let found = if store["failure"].is_string() {
        serde_json::json!({"failure": store["failure"]})
    } else {
        let token = store["tokens"]
            .get(lookup["sha256"].as_str().unwrap_or_default())
            .cloned()
            .unwrap_or(Value::Null);
        let repository = &lookup["repository"];
        let project = match (&token, repository) {
            (Value::Object(_), Value::Object(r)) => {
                let key = format!(
                    "{}/{}",
                    r["workspace"].as_str().unwrap_or_default(),
                    r["slug"].as_str().unwrap_or_default()
                );
                store["repositories"]
                    .get(&key)
                    .cloned()
                    .unwrap_or(Value::Null)
            }
            _ => Value::Null,
        };
        serde_json::json!({"request": step["request"], "now": input["now"], "token": token,
                           "repository_project": project})
    };
    let mut answer = second(found.to_string().as_bytes());
    answer["lookup"] = lookup;
    answer
}

/// An original-request vector (`{"forwarded_headers"?, "headers"}` in, `{method, uri}` or a
/// refusal out) as the input of a check's first call, and how to read that call's answer back
/// into the vector's shape. A vector that expects a request gets a well-formed token for its
/// credentials, so that the first call asks for a lookup of that request.
/// A vector given as text goes as it is.
pub fn as_first_call(input: Input<'_>) -> (String, fn(Value) -> Value) {
    // Only what the first call's answer shows of a refusal is compared (the native suite holds
    // the whole decision).
    const TOKEN: &str = "Bearer sgat_0123456789abcdefghijABCDEFGHIJ01234567894XH9bG";
    let read = |step: Value| match step.get("lookup") {
        Some(_) => {
            serde_json::json!({"method": step["request"]["method"], "uri": step["request"]["path"]})
        }
        None => {
            serde_json::json!({"allow": false, "status": step["status"], "reason": step["reason"]})
        }
    };
    let input = match input {
        Input::Text(text) => return (text.to_owned(), read),
        Input::Value(value) => value,
    };
    let mut first = input.clone();
    if let Some(Value::Array(headers)) = first.get_mut("headers") {
        let mut credentials = 0;
        for pair in headers.iter_mut() {
            if let Some([name, value]) = pair.as_array_mut().map(Vec::as_mut_slice) {
                if name
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("authorization"))
                {
                    *value = Value::from(TOKEN);
                    credentials += 1;
                }
            }
        }
        if credentials == 0 {
            headers.push(serde_json::json!(["authorization", TOKEN]));
        }
    }
    (first.to_string(), read)
}

/// The vectors with `expect` cut down to `fields`. A vector given as text that expects a
/// request (no repeated key, which always refuses) is given as its value instead, so that
/// `as_first_call` can hand it credentials.
pub fn expecting(vectors: Vec<Vector>, fields: &[&str]) -> Vec<Vector> {
    vectors
        .into_iter()
        .map(|mut v| {
            if let Value::Object(expect) = &mut v.expect {
                expect.retain(|key, _| fields.contains(&key.as_str()));
            }
            if let (Some(text), Some(_)) = (&v.input_text, v.expect.get("method")) {
                v.input = serde_json::from_str(text).expect("a vector's text is JSON");
                v.input_text = None;
            }
            v
        })
        .collect()
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
