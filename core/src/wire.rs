//! Writing the module's JSON answers by hand. An answer is almost all identifiers that need no
//! escaping (codes, operation ids, scope names, fixed messages); checking that once per string is
//! where serde's writer spent most of an answer's time. Each answer's writer has a test holding
//! it to serde's bytes.

use crate::bytes;
use crate::scope::ScopeSet;

/// An answer that writes its own wire form.
pub(crate) trait Answer {
    fn write(&self, out: &mut impl Sink);
}

/// The wire form of `answer`, written once into a buffer that grows. Counting its size first
/// would compile every writer twice, once per sink; 512 bytes hold a decision, the answer
/// written most often, without growing.
pub(crate) fn to_vec(answer: &impl Answer) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    answer.write(&mut out);
    out
}

/// Whether JSON needs any of `text` escaped: a quote, a backslash or a control character. The
/// policy's own strings (codes, fixed messages, operation ids, scope names) never do. Eight
/// bytes a turn: a request's URI is written back whole on every check.
pub(crate) fn needs_escape(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(word) = bytes::word(bytes, at) {
        // Flags only ever appear above a true match, so any flag means one.
        if bytes::equal(word, b'"') | bytes::equal(word, b'\\') | bytes::below(word, 0x20) != 0 {
            return true;
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Where the wire form goes: a buffer, or a buffer through an escaping sink.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A sink that writes what it is handed as the inside of a JSON string: JSON text (a check's
/// body) written into a string of another, escaped as it goes. Text the writers escaped once
/// (a quoted message) is escaped again, as it must be.
pub(crate) struct Escaped<'a, S: Sink>(pub(crate) &'a mut S);

impl<S: Sink> Sink for Escaped<'_, S> {
    fn put(&mut self, bytes: &[u8]) {
        escape(self.0, bytes);
    }
}

pub(crate) fn write_u16(out: &mut impl Sink, n: u16) {
    write_u64(out, u64::from(n));
}

/// An integer in decimal, for every number the module writes by hand (statuses, offsets, times).
pub(crate) fn write_i64(out: &mut impl Sink, n: i64) {
    if n < 0 {
        out.put(b"-");
    }
    write_u64(out, n.unsigned_abs());
}

pub(crate) fn write_u64(out: &mut impl Sink, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put(&digits[at..]);
}

/// The names of `set` as JSON strings, comma-separated, without the brackets.
pub(crate) fn write_scopes(out: &mut impl Sink, set: ScopeSet) {
    let mut separator: &[u8] = b"\"";
    for scope in set.iter() {
        out.put(separator);
        out.put(scope.as_str().as_bytes());
        separator = b"\",\"";
    }
    if !set.is_empty() {
        out.put(b"\"");
    }
}

/// A JSON string of text that may need escaping (names from a request).
pub(crate) fn write_text(out: &mut impl Sink, text: &str) {
    out.put(b"\"");
    if needs_escape(text) {
        escape(out, text.as_bytes());
    } else {
        out.put(text.as_bytes());
    }
    out.put(b"\"");
}

/// The inside of a JSON string holding `text`, escaped byte for byte as serde_json escapes it
/// (a test holds the two together). Written here rather than through serde, whose writer the
/// module would carry once per kind of sink.
pub(crate) fn escape(out: &mut impl Sink, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rest = text;
    while let Some(at) = to_escape(rest) {
        out.put(&rest[..at]);
        let b = rest[at];
        match b {
            b'"' => out.put(b"\\\""),
            b'\\' => out.put(b"\\\\"),
            b'\n' => out.put(b"\\n"),
            b'\r' => out.put(b"\\r"),
            b'\t' => out.put(b"\\t"),
            0x08 => out.put(b"\\b"),
            0x0c => out.put(b"\\f"),
            _ => out.put(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]),
        }
        rest = &rest[at + 1..];
    }
    out.put(rest);
}

/// Where the first byte JSON must escape lies, eight bytes a turn: a check's body, escaped
/// into its answer, has a quote every few bytes between runs of plain text.
fn to_escape(text: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = bytes::word(text, at) {
        // Flags only ever appear above a true match, so the lowest is one.
        let flags = bytes::equal(word, b'"') | bytes::equal(word, b'\\') | bytes::below(word, 0x20);
        if flags != 0 {
            return Some(at + bytes::first(flags));
        }
        at += 8;
    }
    let tail = text[at..]
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\');
    tail.map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_as_serde_escapes_it() {
        let mut texts: Vec<String> = (0..=0x7fu8)
            .map(|b| format!("a{}b", char::from(b)))
            .collect();
        texts.extend(
            [
                "",
                "plain",
                "caf\u{e9} \u{2028} \u{1f600}",
                "\"\\\n\u{0}\u{1f}\u{7f}",
            ]
            .map(String::from),
        );
        for text in texts {
            let mut ours = Vec::new();
            write_text(&mut ours, &text);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&text).unwrap(),
                "{text:?}"
            );
        }
    }
}
