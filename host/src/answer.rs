//! The module's answers to a check's two calls (SPEC §10), read into what the host writes out.
//! The host words nothing: status, headers and body are the module's, checked only to be
//! writable (and a status other than 200, 401 or 403 is refused).

use std::borrow::Cow;

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::ApiError;
use crate::token::SecretHash;

/// The whole `/check` answer.
#[derive(Debug)]
pub struct CheckAnswer {
    pub status: StatusCode,
    /// The stable reason code, for logs.
    pub reason: Box<str>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

/// What the first call answered: the answer, or what to look up.
#[derive(Debug)]
pub enum Step {
    Answer(CheckAnswer),
    Lookup(Lookup),
}

#[derive(Debug)]
pub struct Lookup {
    pub sha256: SecretHash,
    /// `(workspace, slug)`, lower case, of the repository whose project the check needs.
    pub repository: Option<(String, String)>,
    /// The request object as the module wrote it, handed back verbatim in the second call.
    pub request: Box<str>,
}

fn unreadable(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(500, "policy_failure", format!("unreadable {what}: {e}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireAnswer<'a> {
    status: u16,
    #[serde(borrow)]
    reason: Cow<'a, str>,
    #[serde(borrow)]
    headers: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    #[serde(borrow)]
    body: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireLookup<'a> {
    #[serde(borrow)]
    lookup: WireKeys<'a>,
    #[serde(borrow)]
    request: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireKeys<'a> {
    #[serde(borrow)]
    sha256: Cow<'a, str>,
    #[serde(borrow)]
    repository: Option<WireRepository<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRepository<'a> {
    #[serde(borrow)]
    workspace: Cow<'a, str>,
    #[serde(borrow)]
    slug: Cow<'a, str>,
}

impl CheckAnswer {
    /// Reads `{"status", "reason", "headers", "body"}`.
    pub fn read(answer: &[u8]) -> Result<CheckAnswer, ApiError> {
        let wire: WireAnswer =
            serde_json::from_slice(answer).map_err(|e| unreadable("check answer", e))?;
        Self::from_wire(wire)
    }

    fn from_wire(wire: WireAnswer) -> Result<CheckAnswer, ApiError> {
        let status = match wire.status {
            200 => StatusCode::OK,
            401 => StatusCode::UNAUTHORIZED,
            403 => StatusCode::FORBIDDEN,
            other => return Err(unreadable("check answer", format!("status {other}"))),
        };
        let headers = wire
            .headers
            .iter()
            .map(|(name, value)| {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| unreadable("header name", e))?;
                let value =
                    HeaderValue::from_str(value).map_err(|e| unreadable("header value", e))?;
                Ok((name, value))
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(CheckAnswer {
            status,
            reason: wire.reason.into(),
            headers,
            body: Bytes::from(wire.body.into_owned()),
        })
    }

    /// The value of the first header called `name`, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .and_then(|(_, v)| v.to_str().ok())
    }
}

impl Step {
    /// Reads the first call's answer: a check answer, or `{"lookup", "request"}`.
    pub fn read(answer: &[u8]) -> Result<Step, ApiError> {
        if !answer.starts_with(br#"{"lookup":"#) {
            return CheckAnswer::read(answer).map(Step::Answer);
        }
        let wire: WireLookup =
            serde_json::from_slice(answer).map_err(|e| unreadable("lookup", e))?;
        let sha256 = crate::token::from_hex(&wire.lookup.sha256)
            .ok_or_else(|| unreadable("lookup", "sha256 is not 64 hex digits"))?;
        Ok(Step::Lookup(Lookup {
            sha256,
            repository: wire
                .lookup
                .repository
                .map(|r| (r.workspace.into_owned(), r.slug.into_owned())),
            request: wire.request.get().into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_lookups_read_back() {
        let answer = br#"{"status":401,"reason":"token_missing","headers":[["content-type","application/json"],["www-authenticate","Bearer realm=\"scopegate\""]],"body":"{\"a\":\"\\\"\"}"}"#;
        let Step::Answer(a) = Step::read(answer).unwrap() else {
            panic!("not an answer")
        };
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            a.header("www-authenticate"),
            Some(r#"Bearer realm="scopegate""#)
        );
        assert_eq!(&a.body[..], br#"{"a":"\""}"#);
        let hash = "ab".repeat(32);
        let lookup = format!(
            r#"{{"lookup":{{"sha256":"{hash}","repository":{{"workspace":"acme","slug":"api"}}}},"request":{{"method":"GET","path":"/x"}}}}"#
        );
        let Step::Lookup(l) = Step::read(lookup.as_bytes()).unwrap() else {
            panic!("not a lookup")
        };
        assert_eq!(l.sha256, [0xab; 32]);
        assert_eq!(l.repository, Some(("acme".into(), "api".into())));
        assert_eq!(&*l.request, r#"{"method":"GET","path":"/x"}"#);
    }

    #[test]
    fn what_cannot_be_written_is_a_policy_failure() {
        for bad in [
            &br#"{"status":500,"reason":"x","headers":[],"body":""}"#[..],
            br#"{"status":200,"reason":"x","headers":[["bad name","v"]],"body":""}"#,
            br#"{"status":200,"reason":"x","headers":[["x","line\nbreak"]],"body":""}"#,
            br#"{"status":200,"reason":"x","headers":[],"body":"","extra":1}"#,
            br#"{"lookup":{"sha256":"zz","repository":null},"request":{}}"#,
            b"null",
        ] {
            let e = Step::read(bad).unwrap_err();
            assert_eq!(
                e.reason,
                "policy_failure",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
