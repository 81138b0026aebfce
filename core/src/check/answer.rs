//! The `/check` answer and its wire forms: `{"status", "reason", "headers", "body"}` for the
//! caller to write out as it stands, and the lookup request of the first call.

use std::borrow::Cow;

use super::{credential_type, CheckReason, Credential, Failure, Lookup};
use crate::claims::TokenKind;
use crate::decision::Decision;
use crate::scope::ScopeSet;
use crate::token;
use crate::wire::{self, write_text, write_u16, Sink};

/// Everything a caller writes for one check: the status, the headers in order, the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckAnswer<'a> {
    pub reason: CheckReason,
    pub message: Cow<'a, str>,
    pub operation: Option<&'static str>,
    pub required: ScopeSet,
    pub granted: ScopeSet,
    /// The token an allow was for: its id and kind go into the headers.
    pub token: Option<(Cow<'a, str>, TokenKind)>,
    /// A git smart-HTTP request: its 401s challenge `Basic` first, the only scheme git answers,
    /// and nginx's `auth_request` passes on only the first challenge.
    pub git: bool,
}

const BEARER: &str = r#"Bearer realm="scopegate""#;
const BASIC: &str = r#"Basic realm="scopegate""#;

impl<'a> CheckAnswer<'a> {
    pub(super) fn decided(
        decision: Decision,
        token: Option<(Cow<'a, str>, TokenKind)>,
        git: bool,
    ) -> Self {
        CheckAnswer {
            reason: CheckReason::Policy(decision.reason),
            message: decision.message,
            operation: decision.operation,
            required: decision.required_scopes,
            granted: decision.granted_scopes,
            token: token.filter(|_| decision.allow),
            git,
        }
    }

    pub(super) fn credential(credential: Credential, message: &'static str, git: bool) -> Self {
        CheckAnswer {
            reason: CheckReason::Credential(credential),
            message: Cow::Borrowed(message),
            operation: None,
            required: ScopeSet::EMPTY,
            granted: ScopeSet::EMPTY,
            token: None,
            git,
        }
    }

    /// The answer when the caller could not find out what the check needs.
    pub fn failed(failure: Failure) -> Self {
        CheckAnswer {
            reason: CheckReason::Failure(failure),
            message: Cow::Borrowed(failure.message()),
            operation: None,
            required: ScopeSet::EMPTY,
            granted: ScopeSet::EMPTY,
            token: None,
            git: false,
        }
    }

    pub fn status(&self) -> u16 {
        self.reason.status()
    }

    pub fn allowed(&self) -> bool {
        self.status() == 200
    }

    /// The headers, in the order §9 names them, lower case.
    pub fn headers(&self) -> Vec<(&'static str, Cow<'_, str>)> {
        let mut headers = vec![("content-type", Cow::Borrowed("application/json"))];
        match self.status() {
            200 => {
                if let Some((_, kind)) = &self.token {
                    headers.push(("x-credential-type", Cow::Borrowed(credential_type(*kind))));
                }
                headers.push(("x-oauth-scopes", Cow::Owned(joined(self.granted))));
                headers.push(("x-accepted-oauth-scopes", Cow::Owned(joined(self.required))));
                if let Some((id, _)) = &self.token {
                    headers.push(("x-token-id", Cow::Borrowed(&**id)));
                }
            }
            401 => {
                let bearer = Cow::Owned(self.bearer_challenge());
                let basic = Cow::Borrowed(BASIC);
                let (first, second) = if self.git {
                    (basic, bearer)
                } else {
                    (bearer, basic)
                };
                headers.push(("www-authenticate", first));
                headers.push(("www-authenticate", second));
            }
            _ => {}
        }
        headers
    }

    /// RFC 6750's challenge: an `invalid_token` error for every 401 but a missing token.
    fn bearer_challenge(&self) -> String {
        match self.reason {
            CheckReason::Credential(Credential::TokenMissing) => BEARER.to_owned(),
            reason => {
                // Pushed rather than `format!`ed: this is written on every 401.
                let mut challenge = String::with_capacity(96);
                challenge.push_str(BEARER);
                challenge.push_str(r#", error="invalid_token", error_description=""#);
                challenge.push_str(reason.code());
                challenge.push('"');
                challenge
            }
        }
    }

    /// The body: on an allow `{"allow", "reason", "operation"}`, on a denial §9's error object.
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(192);
        self.write_body(&mut out);
        out
    }

    fn write_body(&self, out: &mut impl Sink) {
        if self.allowed() {
            out.put(br#"{"allow":true,"reason":""#);
            out.put(self.reason.code().as_bytes());
            match self.operation {
                Some(operation) => {
                    out.put(br#"","operation":""#);
                    out.put(operation.as_bytes());
                    out.put(br#""}"#);
                }
                None => out.put(br#"","operation":null}"#),
            }
            return;
        }
        out.put(br#"{"type":"error","error":{"message":"#);
        write_text(out, &self.message);
        out.put(br#","detail":{"reason":""#);
        out.put(self.reason.code().as_bytes());
        out.put(br#"","required":["#);
        wire::write_scopes(out, self.required);
        out.put(br#"],"granted":["#);
        wire::write_scopes(out, self.granted);
        out.put(b"]}}}");
    }

    /// The wire form of the raw ABI: `{"status", "reason", "headers": [[name, value], …],
    /// "body"}`, the body as a string holding the body's text.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.message.len() + 512);
        out.put(br#"{"status":"#);
        write_u16(&mut out, self.status());
        out.put(br#","reason":""#);
        out.put(self.reason.code().as_bytes());
        // The headers as `headers()` lists them, written straight out: the answer is written on
        // every check, and building the list allocated a string per header.
        out.put(br#"","headers":[["content-type","application/json"]"#);
        match self.status() {
            200 => {
                if let Some((_, kind)) = &self.token {
                    out.put(br#",["x-credential-type",""#);
                    out.put(credential_type(*kind).as_bytes());
                    out.put(br#""]"#);
                }
                out.put(br#",["x-oauth-scopes",""#);
                write_joined(&mut out, self.granted);
                out.put(br#""],["x-accepted-oauth-scopes",""#);
                write_joined(&mut out, self.required);
                out.put(br#""]"#);
                if let Some((id, _)) = &self.token {
                    // A token id holds nothing to escape (`is_token_id`).
                    out.put(br#",["x-token-id",""#);
                    out.put(id.as_bytes());
                    out.put(br#""]"#);
                }
            }
            401 => {
                let bearer = self.bearer_challenge();
                let (first, second) = if self.git {
                    (BASIC, &*bearer)
                } else {
                    (&*bearer, BASIC)
                };
                out.put(br#",["www-authenticate","#);
                write_text(&mut out, first);
                out.put(br#"],["www-authenticate","#);
                write_text(&mut out, second);
                out.put(b"]");
            }
            _ => {}
        }
        out.put(br#"],"body":""#);
        // Escaped as it is written, in one pass: escaping it afterwards where it stood took a
        // pass to count and another to shift it.
        self.write_body(&mut wire::Escaped(&mut out));
        out.put(br#""}"#);
        out
    }
}

/// Scope names joined by `, ` (they hold nothing to escape).
fn write_joined(out: &mut Vec<u8>, scopes: ScopeSet) {
    for (i, scope) in scopes.iter().enumerate() {
        if i > 0 {
            out.put(b", ");
        }
        out.put(scope.as_str().as_bytes());
    }
}

fn joined(scopes: ScopeSet) -> String {
    let mut text = String::new();
    for (i, scope) in scopes.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(scope.as_str());
    }
    text
}

impl Lookup<'_> {
    /// The wire form of the raw ABI: `{"lookup": {"sha256", "repository": {"workspace",
    /// "slug"} | null}, "request": {"method", "path"}}`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.request.path.len() + 224);
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.put(br#"{"lookup":{"sha256":""#);
        out.put(&token::hex(&self.sha256));
        out.put(br#"","repository":"#);
        match &self.repository {
            Some((workspace, slug)) => {
                out.put(br#"{"workspace":"#);
                write_text(out, workspace);
                out.put(br#","slug":"#);
                write_text(out, slug);
                out.put(b"}");
            }
            None => out.put(b"null"),
        }
        out.put(br#"},"request":{"method":"#);
        write_text(out, &self.request.method);
        out.put(br#","path":"#);
        write_text(out, &self.request.path);
        out.put(b"}}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Reason;
    use crate::scope::Scope;

    /// The wire form holds the headers `headers()` lists and the body `body()` writes.
    #[test]
    fn the_wire_form_holds_the_listed_headers_and_the_body() {
        let scopes = ScopeSet::single(Scope::Pullrequest).closure();
        let allowed = CheckAnswer::decided(
            Decision::about(Reason::Allowed, "allowed", "GET /x", scopes, scopes),
            Some((Cow::Borrowed("tok_1"), TokenKind::Project)),
            false,
        );
        let missing = |git| CheckAnswer::credential(Credential::TokenMissing, "none", git);
        let denied = CheckAnswer::decided(
            Decision::early(Reason::BadPath, r#"a "quoted" \ path"#.to_string(), scopes),
            None,
            false,
        );
        let unknown = CheckAnswer::credential(Credential::TokenUnknown, "unknown", true);
        for answer in [
            allowed,
            missing(true),
            missing(false),
            denied,
            unknown,
            CheckAnswer::failed(Failure::StoreUnavailable),
        ] {
            let wire: serde_json::Value = serde_json::from_slice(&answer.to_json()).unwrap();
            let listed: Vec<(String, String)> = answer
                .headers()
                .into_iter()
                .map(|(n, v)| (n.to_string(), v.into_owned()))
                .collect();
            assert_eq!(wire["headers"], serde_json::json!(listed), "{answer:?}");
            assert_eq!(
                wire["body"].as_str().unwrap().as_bytes(),
                answer.body(),
                "{answer:?}"
            );
            assert_eq!(wire["status"], answer.status(), "{answer:?}");
        }
    }
}
