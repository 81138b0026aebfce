//! A check's headers handed to the module, which reads the request the front asks about from
//! them (`sg_original_request`, §9): which forwarding headers count, repeats, disagreeing
//! families and method overrides are all the module's rules, not the host's.

use std::borrow::Cow;

use serde::Deserialize;

use crate::decision::Decision;
use crate::error::ApiError;

/// Which family of forwarding headers the front sets: `scopegate serve --forwarded-headers`.
/// The names are the module's; this only carries the operator's choice to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeaders {
    /// `X-Original-Method` and `X-Original-URI`, as nginx configurations set them.
    Original,
    /// `X-Forwarded-Method` and `X-Forwarded-Uri`, as Caddy and Traefik set them.
    Forwarded,
    /// Either family; a check carrying both with a different method or URI is refused.
    #[default]
    Either,
}

impl ForwardedHeaders {
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeaders::Original => "original",
            ForwardedHeaders::Forwarded => "forwarded",
            ForwardedHeaders::Either => "either",
        }
    }
}

/// The input of `sg_original_request`: `{"forwarded_headers", "headers": [[name, value], …]}`.
/// A value is bytes; each is written as the character of that code point (U+0000–U+00FF), the
/// byte string form fetch's `Headers` and Node use, so the module sees the bytes as they came.
pub fn input<'a>(
    mode: ForwardedHeaders,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(r#"{"forwarded_headers":""#);
    out.push_str(mode.name());
    out.push_str(r#"","headers":["#);
    for (i, (name, value)) in headers.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        push_byte_string(&mut out, name.as_bytes());
        out.push(',');
        push_byte_string(&mut out, value);
        out.push(']');
    }
    out.push_str("]}");
    out
}

fn push_byte_string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            ..=0x1f | 0x7f => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{b:04x}");
            }
            _ => out.push(char::from(b)),
        }
    }
    out.push('"');
}

/// What the module read: the request, or its refusal in the shape of a decision.
pub enum Read<'a> {
    Request {
        method: Cow<'a, str>,
        uri: Cow<'a, str>,
    },
    Refused(Decision),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request<'a> {
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    uri: Cow<'a, str>,
}

/// Reads the module's answer; anything that is neither shape is a policy failure.
pub fn read(answer: &[u8]) -> Result<Read<'_>, ApiError> {
    if answer.starts_with(br#"{"method":"#) {
        let r: Request = serde_json::from_slice(answer).map_err(|e| {
            ApiError::new(
                500,
                "policy_failure",
                format!("unreadable original request: {e}"),
            )
        })?;
        return Ok(Read::Request {
            method: r.method,
            uri: r.uri,
        });
    }
    let d = Decision::read(answer.to_vec())?;
    if d.allow {
        return Err(ApiError::new(
            500,
            "policy_failure",
            "the module allowed where it should have read a request",
        ));
    }
    Ok(Read::Refused(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_a_character_per_byte() {
        let text = input(
            ForwardedHeaders::Original,
            [
                ("x-original-uri", b"/caf\xc3\xa9\xff\"\\\x01".as_slice()),
                ("authorization", b"Bearer x".as_slice()),
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["forwarded_headers"], "original");
        assert_eq!(v["headers"][0][1], "/caf\u{c3}\u{a9}\u{ff}\"\\\u{1}");
        assert_eq!(v["headers"][1][0], "authorization");
    }
}
