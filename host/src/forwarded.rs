//! A check's headers handed to the module, which reads the request the front asks about from
//! them (`sg_check_request`, §9): which forwarding headers count, repeats, disagreeing
//! families and method overrides are all the module's rules, not the host's.

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

/// The input of `sg_check_request`: `{"forwarded_headers", "headers": [[name, value], …]}`.
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
    // Nearly every header is printable ASCII without a quote or backslash: copied whole.
    // One branch-free pass, which the compiler vectorises.
    let plain = bytes.iter().fold(true, |all, &b| {
        all & (0x20..0x7f).contains(&b) & (b != b'"') & (b != b'\\')
    });
    if plain {
        out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
        out.push('"');
        return;
    }
    let mut rest = bytes;
    // Runs of printable ASCII, which nearly every header is, are copied whole.
    let plain = |b: &u8| (0x20..0x7f).contains(b) && *b != b'"' && *b != b'\\';
    loop {
        let run = rest.iter().position(|b| !plain(b)).unwrap_or(rest.len());
        out.push_str(std::str::from_utf8(&rest[..run]).unwrap_or_default());
        let Some((&b, after)) = rest[run..].split_first() else {
            break;
        };
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            ..=0x1f | 0x7f => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{b:04x}");
            }
            _ => out.push(char::from(b)),
        }
        rest = after;
    }
    out.push('"');
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
