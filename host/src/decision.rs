//! The module's §5 decision as the check path keeps it.
//!
//! A decision is read on every check the memo does not answer, so it keeps the module's own
//! answer text and records where each field lies in it: reading one allocates for the list of
//! scopes, not once per string, which took a third of a module call's time.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

use crate::error::ApiError;

pub struct Decision {
    pub allow: bool,
    pub status: u16,
    /// The module's answer; `Piece::Span`s point into it.
    text: String,
    reason: Piece,
    message: Piece,
    operation: Option<Piece>,
    /// The required scopes, then the granted ones.
    scopes: Vec<Piece>,
    required: usize,
}

/// One string field: where it lies in the answer, or its decoded text when the answer escaped
/// it (or when the host made the decision).
#[derive(Clone)]
enum Piece {
    Span(u32, u32),
    Owned(Box<str>),
    Static(&'static str),
}

/// The answer as `serde_json` reads it, borrowing every string that has no escape.
#[derive(Deserialize)]
struct Wire<'a> {
    allow: bool,
    status: u16,
    #[serde(borrow)]
    reason: Cow<'a, str>,
    #[serde(borrow, default)]
    message: Cow<'a, str>,
    #[serde(borrow, default)]
    operation: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    required_scopes: Vec<Name<'a>>,
    #[serde(borrow, default)]
    granted_scopes: Vec<Name<'a>>,
}

/// A `Cow` inside a `Vec` is only borrowed through a newtype marked `borrow`.
#[derive(Deserialize)]
struct Name<'a>(#[serde(borrow)] Cow<'a, str>);

impl Decision {
    /// Reads the module's answer to `sg_authorize`.
    pub fn read(answer: Vec<u8>) -> Result<Decision, ApiError> {
        let unreadable = |e: &dyn fmt::Display| {
            ApiError::new(500, "policy_failure", format!("unreadable decision: {e}"))
        };
        let text = String::from_utf8(answer).map_err(|e| unreadable(&e))?;
        let parts = match Cursor::new(&text).plain() {
            Some(parts) => parts,
            None => {
                let wire: Wire = serde_json::from_str(&text).map_err(|e| unreadable(&e))?;
                Parts::from_wire(&text, &wire)
            }
        };
        Ok(Decision::assemble(text, parts))
    }

    fn assemble(text: String, parts: Parts) -> Decision {
        Decision {
            allow: parts.allow,
            status: parts.status,
            text,
            reason: parts.reason,
            message: parts.message,
            operation: parts.operation,
            scopes: parts.scopes,
            required: parts.required,
        }
    }

    /// A refusal the host makes before asking the module (no token, a malformed one, …).
    pub fn refused(status: u16, reason: &'static str, message: &'static str) -> Decision {
        Decision {
            allow: false,
            status,
            text: String::new(),
            reason: Piece::Static(reason),
            message: Piece::Static(message),
            operation: None,
            scopes: Vec::new(),
            required: 0,
        }
    }

    fn get<'a>(&'a self, piece: &'a Piece) -> &'a str {
        match piece {
            Piece::Span(start, end) => self.text.get(*start as usize..*end as usize).unwrap_or(""),
            Piece::Owned(s) => s,
            Piece::Static(s) => s,
        }
    }

    pub fn reason(&self) -> &str {
        self.get(&self.reason)
    }

    pub fn message(&self) -> &str {
        self.get(&self.message)
    }

    pub fn operation(&self) -> Option<&str> {
        self.operation.as_ref().map(|p| self.get(p))
    }

    pub fn required_scopes(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.scopes[..self.required].iter().map(|p| self.get(p))
    }

    pub fn granted_scopes(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.scopes[self.required..].iter().map(|p| self.get(p))
    }
}

/// A decision's fields, before they join the answer text they point into.
#[derive(Clone)]
struct Parts {
    allow: bool,
    status: u16,
    reason: Piece,
    message: Piece,
    operation: Option<Piece>,
    scopes: Vec<Piece>,
    required: usize,
}

impl Parts {
    fn from_wire(text: &str, wire: &Wire) -> Parts {
        let piece = |s: &Cow<str>| match s {
            Cow::Borrowed(b) => {
                // Borrowed strings are slices of `text`: their offset is a pointer difference.
                let start = b.as_ptr() as usize - text.as_ptr() as usize;
                Piece::Span(start as u32, (start + b.len()) as u32)
            }
            Cow::Owned(o) => Piece::Owned(o.as_str().into()),
        };
        let mut scopes = Vec::with_capacity(wire.required_scopes.len() + wire.granted_scopes.len());
        scopes.extend(wire.required_scopes.iter().map(|n| piece(&n.0)));
        scopes.extend(wire.granted_scopes.iter().map(|n| piece(&n.0)));
        Parts {
            allow: wire.allow,
            status: wire.status,
            reason: piece(&wire.reason),
            message: piece(&wire.message),
            operation: wire.operation.as_ref().map(piece),
            scopes,
            required: wire.required_scopes.len(),
        }
    }
}

/// The quick way through an answer in the exact layout the module writes: every key, in its
/// order, no whitespace, no escapes. Anything else gives `None` and goes to `serde_json`,
/// which stays the reader of record; a test holds the two together.
/// On a check that calls the module, `serde_json` took about a fifth of the host's time.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn plain(mut self) -> Option<Parts> {
        self.word(br#"{"allow":"#)?;
        let allow = self.boolean()?;
        self.word(br#","status":"#)?;
        let status = self.status()?;
        self.word(br#","reason":"#)?;
        let reason = self.piece()?;
        self.word(br#","message":"#)?;
        let message = self.piece()?;
        self.word(br#","operation":"#)?;
        let operation = self.operation()?;
        self.word(br#","required_scopes":"#)?;
        let mut scopes = Vec::with_capacity(8);
        self.list(Some(&mut scopes))?;
        let required = scopes.len();
        self.word(br#","granted_scopes":"#)?;
        self.list(Some(&mut scopes))?;
        self.word(br#","missing_scopes":"#)?;
        self.list(None)?;
        self.word(b"}")?;
        (self.pos == self.bytes.len()).then_some(Parts {
            allow,
            status,
            reason,
            message,
            operation,
            scopes,
            required,
        })
    }

    fn next(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(byte)
    }

    fn byte(&mut self, expected: u8) -> Option<()> {
        (self.next()? == expected).then_some(())
    }

    fn word(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end)? == word).then(|| self.pos = end)
    }

    /// A string with no escape or control character, as the span of its body.
    fn piece(&mut self) -> Option<Piece> {
        self.byte(b'"')?;
        let start = self.pos;
        // memchr's vector search, then one branch-free pass for control bytes: a byte loop
        // testing all three was most of the reader's time.
        let len = memchr::memchr2(b'"', b'\\', &self.bytes[start..])?;
        let control = self.bytes[start..start + len]
            .iter()
            .fold(false, |found, &b| found | (b < 0x20));
        if control {
            return None;
        }
        self.pos += len;
        self.byte(b'"')?;
        Some(Piece::Span(start as u32, (start + len) as u32))
    }

    fn operation(&mut self) -> Option<Option<Piece>> {
        if self.word(b"null").is_some() {
            return Some(None);
        }
        self.piece().map(Some)
    }

    fn boolean(&mut self) -> Option<bool> {
        if self.word(b"true").is_some() {
            Some(true)
        } else {
            self.word(b"false").map(|()| false)
        }
    }

    /// A status: one to three digits, no leading zero.
    fn status(&mut self) -> Option<u16> {
        let digits = self.bytes[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if !(1..=3).contains(&digits) || (digits > 1 && self.bytes[self.pos] == b'0') {
            return None;
        }
        let status = self.bytes[self.pos..self.pos + digits]
            .iter()
            .fold(0, |n, &d| n * 10 + u16::from(d - b'0'));
        self.pos += digits;
        Some(status)
    }

    /// An array of plain strings, pushed onto `into` when given.
    fn list(&mut self, mut into: Option<&mut Vec<Piece>>) -> Option<()> {
        self.byte(b'[')?;
        if self.word(b"]").is_some() {
            return Some(());
        }
        loop {
            let piece = self.piece()?;
            if let Some(into) = into.as_deref_mut() {
                into.push(piece);
            }
            match self.next()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }
}

/// The repository a route answer (`sg_route`) targets: `Some(None)` when it targets no
/// repository (or no operation matched), `None` when the answer is not in the layout the module
/// writes (escaped names among them), for `serde_json` to read instead.
pub fn routed_repository(answer: &[u8]) -> Option<Option<(&str, &str)>> {
    if answer == b"null" {
        return Some(None);
    }
    let mut cursor = Cursor {
        bytes: answer,
        pos: 0,
    };
    let text = |piece: Piece| match piece {
        Piece::Span(start, end) => {
            std::str::from_utf8(answer.get(start as usize..end as usize)?).ok()
        }
        _ => None,
    };
    cursor.word(br#"{"operation":"#)?;
    cursor.piece()?;
    cursor.word(br#","required_scopes":"#)?;
    cursor.list(None)?;
    cursor.word(br#","target":{"kind":"#)?;
    match text(cursor.piece()?)? {
        "repository" => {
            cursor.word(br#","workspace":"#)?;
            let workspace = text(cursor.piece()?)?;
            cursor.word(br#","repository":"#)?;
            let repository = text(cursor.piece()?)?;
            cursor.word(b"}}")?;
            (cursor.pos == answer.len()).then_some(Some((workspace, repository)))
        }
        "project" | "workspace" | "global" => Some(None),
        _ => None,
    }
}

impl fmt::Debug for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decision")
            .field("allow", &self.allow)
            .field("status", &self.status)
            .field("reason", &self.reason())
            .field("message", &self.message())
            .field("operation", &self.operation())
            .field(
                "required_scopes",
                &self.required_scopes().collect::<Vec<_>>(),
            )
            .field("granted_scopes", &self.granted_scopes().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quick route reader answers as serde does wherever it answers at all, and answers for
    /// the module's own layout.
    #[test]
    fn routed_repository_reads_what_serde_reads() {
        #[derive(Deserialize)]
        struct Routed {
            target: Option<Target>,
        }
        #[derive(Deserialize)]
        struct Target {
            kind: String,
            workspace: Option<String>,
            repository: Option<String>,
        }
        let serde = |answer: &str| -> Option<(String, String)> {
            let routed: Option<Routed> = serde_json::from_str(answer).ok()?;
            match routed?.target? {
                Target {
                    kind,
                    workspace: Some(w),
                    repository: Some(r),
                } if kind == "repository" => Some((w, r)),
                _ => None,
            }
        };
        let head = r#"{"operation":"GET /repositories/{workspace}/{repo_slug}","required_scopes":["repository"],"target":"#;
        let quick = [
            "null".to_string(),
            format!(r#"{head}{{"kind":"repository","workspace":"acme","repository":"api"}}}}"#),
            format!(r#"{head}{{"kind":"project","workspace":"acme","project":"P"}}}}"#),
            format!(r#"{head}{{"kind":"workspace","workspace":"acme"}}}}"#),
            format!(r#"{head}{{"kind":"global"}}}}"#),
            r#"{"operation":"GET /user","required_scopes":[],"target":{"kind":"global"}}"#.into(),
        ];
        for answer in &quick {
            let read = routed_repository(answer.as_bytes()).expect(answer);
            let read = read.map(|(w, r)| (w.to_string(), r.to_string()));
            assert_eq!(read, serde(answer), "{answer}");
        }
        let other = [
            format!(r#"{head}{{"kind":"repository","workspace":"a\"b","repository":"api"}}}}"#),
            format!(r#"{head}{{"kind":"repository","repository":"api","workspace":"acme"}}}}"#),
            format!(r#"{head} {{"kind":"repository","workspace":"acme","repository":"api"}}}}"#),
            format!(r#"{head}{{"kind":"team"}}}}"#),
            format!(r#"{head}{{"kind":"repository","workspace":"acme","repository":"api"}}}} "#),
        ];
        for answer in &other {
            assert_eq!(routed_repository(answer.as_bytes()), None, "{answer}");
        }
    }

    #[test]
    fn fields_read_back_whether_borrowed_or_escaped() {
        let answer = br#"{"allow":false,"status":403,"reason":"scope_missing","message":"needs \"x\"\n","operation":"GET /a","required_scopes":["pullrequest","a\u0062c"],"granted_scopes":["repository"],"missing_scopes":["pullrequest"]}"#;
        let d = Decision::read(answer.to_vec()).unwrap();
        assert!(!d.allow);
        assert_eq!(d.status, 403);
        assert_eq!(d.reason(), "scope_missing");
        assert_eq!(d.message(), "needs \"x\"\n");
        assert_eq!(d.operation(), Some("GET /a"));
        assert_eq!(
            d.required_scopes().collect::<Vec<_>>(),
            ["pullrequest", "abc"]
        );
        assert_eq!(d.granted_scopes().collect::<Vec<_>>(), ["repository"]);
    }

    #[test]
    fn optional_fields_default_and_garbage_is_an_error() {
        let d =
            Decision::read(br#"{"allow":true,"status":200,"reason":"allowed"}"#.to_vec()).unwrap();
        assert_eq!((d.message(), d.operation()), ("", None));
        assert_eq!(d.granted_scopes().len(), 0);
        for bad in [&b"{"[..], b"null", b"\xff", br#"{"allow":1}"#] {
            let e = Decision::read(bad.to_vec()).unwrap_err();
            assert_eq!(e.reason, "policy_failure");
        }
    }

    /// Both readers' view of an answer, field by field.
    fn fields(parts: &Parts, text: &str) -> String {
        format!("{:?}", Decision::assemble(text.to_owned(), parts.clone()))
    }

    fn by_serde(text: &str) -> String {
        let wire: Wire = serde_json::from_str(text).unwrap();
        fields(&Parts::from_wire(text, &wire), text)
    }

    #[test]
    fn the_quick_reader_agrees_with_serde_on_every_answer_of_the_module() {
        use crate::runtime::{PolicyEngine, PolicyHandle, RuntimeConfig};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let engine = PolicyEngine::new(RuntimeConfig::default()).unwrap();
        let module = root.join("www/pkg/scopegate_policy_bg.wasm");
        let policy = PolicyHandle::open(engine, module, None).unwrap().current();
        let mut reasons = std::collections::BTreeSet::new();
        let dir = root.join("tests/vectors/authorize");
        for file in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
            for case in cases {
                let input = case["input"].to_string();
                let answer =
                    String::from_utf8(policy.authorize(input.as_bytes()).unwrap()).unwrap();
                let quick = Cursor::new(&answer).plain();
                let quick = quick.unwrap_or_else(|| panic!("not read quickly: {answer}"));
                assert_eq!(fields(&quick, &answer), by_serde(&answer), "{answer}");
                reasons.insert(
                    Decision::read(answer.into_bytes())
                        .unwrap()
                        .reason()
                        .to_owned(),
                );
            }
        }
        assert_eq!(reasons.len(), 13, "{reasons:?}");
    }

    #[test]
    fn other_layouts_go_to_serde() {
        let plain = r#"{"allow":true,"status":200,"reason":"allowed","message":"ok","operation":"GET /a","required_scopes":["x"],"granted_scopes":["x","y"],"missing_scopes":[]}"#;
        let quick = Cursor::new(plain).plain().unwrap();
        assert_eq!(fields(&quick, plain), by_serde(plain));
        for other in [
            r#"{ "allow":true,"status":200,"reason":"allowed"}"#,
            r#"{"allow":true,"status":200,"reason":"all\u006fwed"}"#,
            r#"{"allow":true,"status":200,"reason":"allowed","extra":1}"#,
            r#"{"allow":true,"status":200,"reason":"allowed","granted_scopes":["y"],"required_scopes":["x"]}"#,
            r#"{"allow":true,"status":0200,"reason":"allowed"}"#,
            r#"{"allow":true,"status":1000,"reason":"allowed"}"#,
        ] {
            assert!(Cursor::new(other).plain().is_none(), "{other}");
            let d = Decision::read(other.as_bytes().to_vec());
            if let Ok(d) = d {
                assert_eq!(format!("{d:?}"), by_serde(other), "{other}");
            }
        }
        let reordered = r#"{"allow":true,"status":200,"reason":"allowed","granted_scopes":["y"],"required_scopes":["x"]}"#;
        let d = Decision::read(reordered.as_bytes().to_vec()).unwrap();
        assert_eq!(d.required_scopes().collect::<Vec<_>>(), ["x"]);
        assert_eq!(d.granted_scopes().collect::<Vec<_>>(), ["y"]);
        for refused in [
            r#"{"allow":true,"status":200}"#,
            r#"{"allow":true,"allow":true,"status":200,"reason":"allowed"}"#,
            r#"{"allow":true,"status":200,"reason":"allowed"} x"#,
        ] {
            assert!(Cursor::new(refused).plain().is_none(), "{refused}");
            assert!(
                Decision::read(refused.as_bytes().to_vec()).is_err(),
                "{refused}"
            );
        }
    }
}
