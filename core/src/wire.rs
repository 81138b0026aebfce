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

/// The wire form of `answer` in a buffer of exactly its size: the raw ABI hands the buffer over
/// as a boxed slice, and a buffer with room to spare would be shrunk by a `realloc` on every
/// call.
pub(crate) fn exact(answer: &impl Answer) -> Vec<u8> {
    let mut size = Count(0);
    answer.write(&mut size);
    let mut out = Vec::with_capacity(size.0);
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

/// Where the wire form goes: a buffer, or a count of its bytes.
pub(crate) trait Sink: std::io::Write {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

struct Count(usize);

impl Sink for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

impl std::io::Write for Count {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.put(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn write_u16(out: &mut impl Sink, n: u16) {
    let mut digits = [0u8; 5];
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

/// A JSON string of text that may need escaping (names from a request); only text with a
/// quote, a backslash or a control character takes serde's escaping path.
pub(crate) fn write_text(out: &mut impl Sink, text: &str) {
    if needs_escape(text) {
        // Writing a str into a Vec or a count cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    } else {
        out.put(b"\"");
        out.put(text.as_bytes());
        out.put(b"\"");
    }
}
