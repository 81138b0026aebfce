//! The answer of `authorize`: its stable reason codes (§5) and its wire shape.

use std::borrow::Cow;

use serde::Serialize;

use crate::scope::ScopeSet;
use crate::wire::{self, needs_escape, write_scopes, write_u16, Answer, Sink};

/// Why a request is allowed or denied. The codes are part of the contract and never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    BadInput,
    InvalidClaims,
    TokenRevoked,
    TokenExpired,
    BadPath,
    WebLoginForbidden,
    UnknownOperation,
    ForbiddenOperation,
    OutsideResource,
    UnresolvedRepository,
    ScopeNotGrantable,
    ScopeMissing,
    Allowed,
}

impl Reason {
    pub const ALL: [Reason; 13] = [
        Reason::BadInput,
        Reason::InvalidClaims,
        Reason::TokenRevoked,
        Reason::TokenExpired,
        Reason::BadPath,
        Reason::WebLoginForbidden,
        Reason::UnknownOperation,
        Reason::ForbiddenOperation,
        Reason::OutsideResource,
        Reason::UnresolvedRepository,
        Reason::ScopeNotGrantable,
        Reason::ScopeMissing,
        Reason::Allowed,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Reason::BadInput => "bad_input",
            Reason::InvalidClaims => "invalid_claims",
            Reason::TokenRevoked => "token_revoked",
            Reason::TokenExpired => "token_expired",
            Reason::BadPath => "bad_path",
            Reason::WebLoginForbidden => "web_login_forbidden",
            Reason::UnknownOperation => "unknown_operation",
            Reason::ForbiddenOperation => "forbidden_operation",
            Reason::OutsideResource => "outside_resource",
            Reason::UnresolvedRepository => "unresolved_repository",
            Reason::ScopeNotGrantable => "scope_not_grantable",
            Reason::ScopeMissing => "scope_missing",
            Reason::Allowed => "allowed",
        }
    }

    /// The HTTP status a gateway answers with: 401 when the credential itself is no good.
    pub const fn status(self) -> u16 {
        match self {
            Reason::Allowed => 200,
            Reason::InvalidClaims | Reason::TokenRevoked | Reason::TokenExpired => 401,
            _ => 403,
        }
    }
}

/// The decision of §5, serialised exactly as the wire format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allow: bool,
    pub status: u16,
    pub reason: Reason,
    pub message: Cow<'static, str>,
    pub operation: Option<&'static str>,
    pub required_scopes: ScopeSet,
    pub granted_scopes: ScopeSet,
    pub missing_scopes: ScopeSet,
}

impl Decision {
    /// A decision reached before any operation matched (rows 1–7, or row 3–6 shortcuts).
    pub fn early(reason: Reason, message: impl Into<Cow<'static, str>>, granted: ScopeSet) -> Self {
        Decision {
            allow: reason == Reason::Allowed,
            status: reason.status(),
            reason,
            message: message.into(),
            operation: None,
            required_scopes: ScopeSet::EMPTY,
            granted_scopes: granted,
            missing_scopes: ScopeSet::EMPTY,
        }
    }

    /// A decision about a matched operation (rows 8–14). `missing_scopes` is filled only when
    /// missing scopes are the answer: the contract's worked examples leave it empty for
    /// `scope_not_grantable`, where no scope the token could hold would help.
    pub fn about(
        reason: Reason,
        message: impl Into<Cow<'static, str>>,
        operation: &'static str,
        required: ScopeSet,
        granted: ScopeSet,
    ) -> Self {
        Decision {
            allow: reason == Reason::Allowed,
            status: reason.status(),
            reason,
            message: message.into(),
            operation: Some(operation),
            required_scopes: required,
            granted_scopes: granted,
            missing_scopes: if reason == Reason::ScopeMissing {
                required.minus(granted)
            } else {
                ScopeSet::EMPTY
            },
        }
    }
}

impl Decision {
    /// The wire form.
    pub fn to_json(&self) -> Vec<u8> {
        wire::to_vec(self)
    }
}

impl Answer for Decision {
    /// The wire form, byte for byte what serde writes (a test holds the two together). A
    /// decision is almost all identifiers that need no escaping; checking that once per string
    /// is where serde's writer spent most of a decision's time. Punctuation is written with
    /// the text beside it: each piece costs a capacity check, and in wasm a copy call when its
    /// length is not known at compile time.
    fn write(&self, out: &mut impl Sink) {
        out.put(match self.allow {
            true => br#"{"allow":true,"status":"#,
            false => br#"{"allow":false,"status":"#,
        });
        write_u16(out, self.status);
        out.put(br#","reason":""#);
        out.put(self.reason.code().as_bytes());
        match &self.message {
            // Only a formatted message can carry request text that needs escaping.
            Cow::Owned(text) if needs_escape(text) => {
                out.put(br#"","message":"#);
                wire::write_text(out, text);
                out.put(br#","operation":"#);
            }
            text => {
                debug_assert!(!needs_escape(text));
                out.put(br#"","message":""#);
                out.put(text.as_bytes());
                out.put(br#"","operation":"#);
            }
        }
        match self.operation {
            Some(id) => {
                debug_assert!(!needs_escape(id));
                out.put(b"\"");
                out.put(id.as_bytes());
                out.put(br#"","required_scopes":["#);
            }
            None => out.put(br#"null,"required_scopes":["#),
        }
        write_scopes(out, self.required_scopes);
        out.put(br#"],"granted_scopes":["#);
        write_scopes(out, self.granted_scopes);
        out.put(br#"],"missing_scopes":["#);
        write_scopes(out, self.missing_scopes);
        out.put(b"]}");
    }
}
