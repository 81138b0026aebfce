//! The read-only views the bindings expose: one request's route and the whole operation list.

use serde::Serialize;

use crate::input::{read_compact_request, RequestFields};
use crate::json::Reader;
use crate::lenient::{read_json, Object, Text};
use crate::path;
use crate::routes::{self, Method, OperationClass, Resolution};
use crate::scope::ScopeSet;
use crate::target::{Target, TargetKind};
use crate::wire::{self, needs_escape, write_scopes, write_text, Answer, Sink};

/// What `route(method, path)` answers for a path that matches an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteInfo<'p> {
    pub operation: &'static str,
    pub required_scopes: ScopeSet,
    pub target: Target<'p>,
}

impl RouteInfo<'_> {
    /// The wire form `sg_route` answers with, byte for byte what serde writes (a test holds
    /// the two together).
    pub fn to_json(&self) -> Vec<u8> {
        wire::to_vec(self)
    }
}

impl Answer for RouteInfo<'_> {
    fn write(&self, out: &mut impl Sink) {
        debug_assert!(!needs_escape(self.operation));
        out.put(br#"{"operation":""#);
        out.put(self.operation.as_bytes());
        out.put(br#"","required_scopes":["#);
        write_scopes(out, self.required_scopes);
        out.put(br#"],"target":{"kind":""#);
        match self.target {
            Target::Repository {
                workspace,
                repository,
            } => {
                out.put(br#"repository","workspace":"#);
                write_text(out, workspace);
                out.put(br#","repository":"#);
                write_text(out, repository);
            }
            Target::Project { workspace, project } => {
                out.put(br#"project","workspace":"#);
                write_text(out, workspace);
                out.put(br#","project":"#);
                write_text(out, project);
            }
            Target::Workspace { workspace } => {
                out.put(br#"workspace","workspace":"#);
                write_text(out, workspace);
            }
            Target::Global => out.put(br#"global""#),
        }
        out.put(b"}}");
    }
}

/// Routes a request without a token: `None` for a bad path, the website or an unknown operation.
/// The target borrows from `path`, so the parsed form lives in the closure's scope only.
pub fn route<R>(method: &str, path: &str, answer: impl FnOnce(Option<RouteInfo<'_>>) -> R) -> R {
    let Ok(parsed) = path::parse(path) else {
        return answer(None);
    };
    match routes::resolve(method, &parsed) {
        Resolution::Matched { operation, target } => answer(Some(RouteInfo {
            operation: operation.name(),
            required_scopes: operation.required(),
            target,
        })),
        Resolution::Web | Resolution::Unknown => answer(None),
    }
}

/// `sg_route`: JSON text of `{"method", "path"}`; anything else routes nowhere, and so does an
/// input that repeats a key in any of its objects.
pub fn route_json<R>(input: &[u8], answer: impl FnOnce(Option<RouteInfo<'_>>) -> R) -> R {
    // The host's layout first, as for a policy input; any other is read by the general reader,
    // which alone can meet a repeated key (the host's layout names each key once).
    let mut fields = RequestFields::default();
    let compact = crate::bytes::text(input).is_some_and(|text| {
        let mut json = Reader::new(text);
        read_compact_request(&mut json, &mut fields).is_some() && json.at_end()
    });
    if !compact {
        fields = match read_json::<Object<RequestFields>>(input) {
            Some(Object::Fields(fields)) => fields,
            _ => return answer(None),
        };
    }
    match fields {
        RequestFields {
            method: Some(Text::Str(method)),
            path: Some(Text::Str(path)),
        } => route(&method, &path, answer),
        _ => answer(None),
    }
}

/// One row of `operations()`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OperationInfo {
    pub method: Method,
    pub path: &'static str,
    pub required_scopes: ScopeSet,
    pub target_kind: TargetKind,
    pub class: OperationClass,
}

impl Answer for OperationInfo {
    fn write(&self, out: &mut impl Sink) {
        out.put(br#"{"method":""#);
        out.put(self.method.as_str().as_bytes());
        out.put(br#"","path":"#);
        write_text(out, self.path);
        out.put(br#","required_scopes":["#);
        write_scopes(out, self.required_scopes);
        out.put(br#"],"target_kind":""#);
        out.put(self.target_kind.as_str().as_bytes());
        out.put(br#"","class":""#);
        out.put(self.class.as_str().as_bytes());
        out.put(br#""}"#);
    }
}

/// The operation list as `operations()` gives it.
struct OperationList(Vec<OperationInfo>);

impl Answer for OperationList {
    fn write(&self, out: &mut impl Sink) {
        let mut separator: &[u8] = b"[";
        for operation in &self.0 {
            out.put(separator);
            operation.write(out);
            separator = b",";
        }
        out.put(if self.0.is_empty() { b"[]" } else { b"]" });
    }
}

/// `operations()` as JSON text, byte for byte what serde writes (a test holds the two
/// together).
pub fn operations_json() -> Vec<u8> {
    wire::to_vec(&OperationList(operations()))
}

/// The API operations in route-table order.
pub fn operations() -> Vec<OperationInfo> {
    routes::api_operations()
        .iter()
        .map(|op| OperationInfo {
            method: op.method,
            path: op.template,
            required_scopes: op.required,
            target_kind: op.target_kind(),
            class: op.class,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route vector, in the host's layout (read by the compact reader) and with a space
    /// after the opening brace (read by the general reader), routes alike.
    #[test]
    fn both_readers_route_alike() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/route.json");
        let vectors: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(file).expect("vectors")).expect("json");
        let answer = |info: Option<RouteInfo<'_>>| info.map(|i| i.to_json());
        let mut routed = 0;
        for v in &vectors {
            let (Some(method), Some(path)) =
                (v["input"]["method"].as_str(), v["input"]["path"].as_str())
            else {
                continue;
            };
            let compact = format!(
                r#"{{"method":{},"path":{}}}"#,
                serde_json::Value::from(method),
                serde_json::Value::from(path)
            );
            let spaced = compact.replacen('{', "{ ", 1);
            let expected = route(method, path, answer);
            assert_eq!(
                route_json(compact.as_bytes(), answer),
                expected,
                "{compact}"
            );
            assert_eq!(route_json(spaced.as_bytes(), answer), expected, "{spaced}");
            routed += usize::from(expected.is_some());
        }
        assert!(routed > 20, "{routed}");
    }
}
