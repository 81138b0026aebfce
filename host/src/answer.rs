//! The module's answers to a check's two calls (SPEC §10), read into what the host writes out.
//! The host words nothing: status, headers and body are the module's, checked only to be
//! writable (and a status other than 200, 401 or 403 is refused).

use std::borrow::Cow;
use std::sync::Arc;

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
    Answer(Arc<CheckAnswer>),
    Lookup(Lookup),
}

#[derive(Debug, PartialEq)]
pub struct Lookup {
    pub sha256: SecretHash,
    /// `(workspace, slug)`, lower case, of the repository whose project the check needs.
    pub repository: Option<(String, String)>,
    /// The request object as the module wrote it, handed back verbatim in the second call.
    pub request: Box<str>,
}

fn unreadable(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::PolicyAnswer(format!("unreadable {what}: {e}"))
}

/// An answer's fields as bytes: the body is written out as bytes, and each header value is
/// checked by `HeaderValue` itself, so no field needs a check of its UTF-8.
#[derive(Debug, PartialEq)]
struct Parts<'a> {
    status: u16,
    reason: Cow<'a, [u8]>,
    headers: Vec<Pair<'a>>,
    body: Cow<'a, [u8]>,
}

/// A header's name and value.
type Pair<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

impl<'a> From<WireAnswer<'a>> for Parts<'a> {
    fn from(wire: WireAnswer<'a>) -> Self {
        let bytes = |text: Cow<'a, str>| match text {
            Cow::Borrowed(b) => Cow::Borrowed(b.as_bytes()),
            Cow::Owned(o) => Cow::Owned(o.into_bytes()),
        };
        Parts {
            status: wire.status,
            reason: bytes(wire.reason),
            headers: wire
                .headers
                .into_iter()
                .map(|(n, v)| (bytes(n), bytes(v)))
                .collect(),
            body: bytes(wire.body),
        }
    }
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
        if let Some(parts) = quick::answer(answer) {
            return Self::from_parts(parts);
        }
        let wire: WireAnswer =
            serde_json::from_slice(answer).map_err(|e| unreadable("check answer", e))?;
        Self::from_parts(Parts::from(wire))
    }

    fn from_parts(wire: Parts) -> Result<CheckAnswer, ApiError> {
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
                let name =
                    HeaderName::from_bytes(name).map_err(|e| unreadable("header name", e))?;
                let value =
                    HeaderValue::from_bytes(value).map_err(|e| unreadable("header value", e))?;
                Ok((name, value))
            })
            .collect::<Result<_, ApiError>>()?;
        let reason = std::str::from_utf8(&wire.reason).map_err(|e| unreadable("reason", e))?;
        Ok(CheckAnswer {
            status,
            reason: reason.into(),
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
            return CheckAnswer::read(answer).map(|a| Step::Answer(Arc::new(a)));
        }
        if let Some(lookup) = quick::lookup(answer) {
            return Ok(Step::Lookup(lookup));
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

/// The quick way through the module's answers in the layout it writes them: every key in its
/// order, no whitespace, only the escapes the module's writer makes. Anything else gives `None`
/// and goes to `serde_json`, which stays the reader of record; a test holds the two together.
/// serde_json took a fifth of a check's instructions on the host's side, checking UTF-8 and
/// allocating a string per header.
mod quick {
    use std::borrow::Cow;

    use super::{Lookup, Parts};

    struct Cursor<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    impl<'a> Cursor<'a> {
        fn word(&mut self, word: &[u8]) -> Option<()> {
            let end = self.pos + word.len();
            (self.bytes.get(self.pos..end)? == word).then(|| self.pos = end)
        }

        /// The rest of a string whose opening quote was consumed, as its bytes: borrowed when
        /// it has no escape, decoded when its escapes are `\"`, `\\` or `\/`; `None` for any
        /// other escape or a control character. (Its UTF-8 is not checked here: see `Parts`.)
        fn string(&mut self) -> Option<Cow<'a, [u8]>> {
            let start = self.pos;
            let len = memchr::memchr2(b'"', b'\\', &self.bytes[start..])?;
            if self.bytes[start + len] == b'"' {
                let text = &self.bytes[start..start + len];
                if text.iter().fold(false, |found, &b| found | (b < 0x20)) {
                    return None;
                }
                self.pos = start + len + 1;
                return Some(Cow::Borrowed(text));
            }
            // A body: a quote or backslash every few bytes, so one pass byte by byte.
            let mut out = Vec::with_capacity(self.bytes.len() - start);
            out.extend_from_slice(&self.bytes[start..start + len]);
            let mut at = start + len;
            loop {
                match *self.bytes.get(at)? {
                    b'"' => break,
                    b'\\' => {
                        match *self.bytes.get(at + 1)? {
                            c @ (b'"' | b'\\' | b'/') => out.push(c),
                            _ => return None,
                        }
                        at += 2;
                    }
                    ..0x20 => return None,
                    b => {
                        out.push(b);
                        at += 1;
                    }
                }
            }
            self.pos = at + 1;
            Some(Cow::Owned(out))
        }

        fn quoted(&mut self) -> Option<Cow<'a, [u8]>> {
            self.word(b"\"")?;
            self.string()
        }
    }

    pub(super) fn answer(bytes: &[u8]) -> Option<Parts<'_>> {
        let mut c = Cursor { bytes, pos: 0 };
        c.word(br#"{"status":"#)?;
        let digits = bytes.get(c.pos..c.pos + 3)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let status = digits.iter().fold(0, |n, &d| n * 10 + u16::from(d - b'0'));
        c.pos += 3;
        c.word(br#","reason":"#)?;
        let reason = c.quoted()?;
        c.word(br#","headers":["#)?;
        let mut headers = Vec::with_capacity(6);
        if c.word(b"]").is_none() {
            loop {
                c.word(b"[")?;
                let name = c.quoted()?;
                c.word(b",")?;
                let value = c.quoted()?;
                c.word(b"]")?;
                headers.push((name, value));
                if c.word(b"]").is_some() {
                    break;
                }
                c.word(b",")?;
            }
        }
        c.word(br#","body":"#)?;
        let body = c.quoted()?;
        c.word(b"}")?;
        (c.pos == bytes.len()).then_some(Parts {
            status,
            reason,
            headers,
            body,
        })
    }

    pub(super) fn lookup(bytes: &[u8]) -> Option<Lookup> {
        let mut c = Cursor { bytes, pos: 0 };
        c.word(br#"{"lookup":{"sha256":"#)?;
        let sha256 = crate::token::from_hex(std::str::from_utf8(&c.quoted()?).ok()?)?;
        c.word(br#","repository":"#)?;
        let repository = match c.word(b"null") {
            Some(()) => None,
            None => {
                c.word(br#"{"workspace":"#)?;
                let workspace = String::from_utf8(c.quoted()?.into_owned()).ok()?;
                c.word(br#","slug":"#)?;
                let slug = String::from_utf8(c.quoted()?.into_owned()).ok()?;
                c.word(b"}")?;
                Some((workspace, slug))
            }
        };
        c.word(br#"},"request":"#)?;
        // The request object runs to the answer's closing brace. It is handed back as it
        // stands: the second call reads it, and refuses what is not a request.
        let request = bytes.get(c.pos..bytes.len().checked_sub(1)?)?;
        if bytes.last() != Some(&b'}') || request.first() != Some(&b'{') {
            return None;
        }
        Some(Lookup {
            sha256,
            repository,
            request: std::str::from_utf8(request).ok()?.into(),
        })
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

    /// The quick readers read what serde_json reads on every answer of the module to the check
    /// vectors, and read each of them.
    #[test]
    fn the_quick_readers_agree_with_serde_on_every_answer_of_the_module() {
        use crate::runtime::{PolicyEngine, PolicyHandle, RuntimeConfig};
        use serde_json::{json, Value};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let engine = PolicyEngine::new(RuntimeConfig::default()).unwrap();
        let module = root.join("www/pkg/scopegate_policy_bg.wasm");
        let policy = PolicyHandle::open(engine, module, None).unwrap().current();
        let text = std::fs::read_to_string(root.join("tests/vectors/check.json")).unwrap();
        let vectors: Vec<Value> = serde_json::from_str(&text).unwrap();
        let mut answers = Vec::new();
        for v in &vectors {
            let input = &v["input"];
            if input.get("headers").is_none() {
                answers.push(policy.check_answer(input.to_string().as_bytes()).unwrap());
                continue;
            }
            let first = json!({"forwarded_headers": input["forwarded_headers"], "headers": input["headers"]});
            let step = policy.check_request(first.to_string().as_bytes()).unwrap();
            if !step.starts_with(br#"{"lookup":"#) {
                answers.push(step);
                continue;
            }
            let wire: WireLookup = serde_json::from_slice(&step).unwrap();
            let quick = quick::lookup(&step).expect("read quickly");
            assert_eq!(quick.request.as_ref(), wire.request.get());
            assert_eq!(crate::token::to_hex(&quick.sha256), wire.lookup.sha256);
            let token = input["store"]["tokens"]
                .get(wire.lookup.sha256.as_ref())
                .cloned()
                .unwrap_or(Value::Null);
            let second = json!({"request": serde_json::from_str::<Value>(&quick.request).unwrap(),
                                "now": input["now"], "token": token, "repository_project": "PROJ"});
            answers.push(policy.check_answer(second.to_string().as_bytes()).unwrap());
        }
        assert!(answers.len() > 50);
        for answer in &answers {
            let quick = quick::answer(answer)
                .unwrap_or_else(|| panic!("not read quickly: {}", String::from_utf8_lossy(answer)));
            let serde: WireAnswer = serde_json::from_slice(answer).unwrap();
            assert_eq!(quick, Parts::from(serde));
        }
    }

    #[test]
    fn other_layouts_go_to_serde() {
        let plain =
            br#"{"status":403,"reason":"x","headers":[["a","b"]],"body":"{\"m\":\"\\u0041\"}"}"#;
        assert!(quick::answer(plain).is_some());
        for other in [
            &br#"{ "status":403,"reason":"x","headers":[],"body":""}"#[..],
            br#"{"status":403,"reason":"x","headers":[],"body":"\u0041"}"#,
            br#"{"status":403,"reason":"x","body":"","headers":[]}"#,
            br#"{"status":403,"reason":"x","headers":[],"body":""} "#,
            br#"{"status":40,"reason":"x","headers":[],"body":""}"#,
        ] {
            assert!(
                quick::answer(other).is_none(),
                "{}",
                String::from_utf8_lossy(other)
            );
        }
        let escaped =
            CheckAnswer::read(br#"{"status":403,"reason":"x","headers":[],"body":"\u0041"}"#)
                .unwrap();
        assert_eq!(&escaped.body[..], b"A");
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
                e.code(),
                "policy_failure",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
