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
        let wire: Wire = serde_json::from_str(&text).map_err(|e| unreadable(&e))?;
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
        let (allow, status, required) = (wire.allow, wire.status, wire.required_scopes.len());
        let reason = piece(&wire.reason);
        let message = piece(&wire.message);
        let operation = wire.operation.as_ref().map(piece);
        Ok(Decision {
            allow,
            status,
            text,
            reason,
            message,
            operation,
            scopes,
            required,
        })
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
}
