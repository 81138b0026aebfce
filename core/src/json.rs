//! A strict JSON reader over text, pulled one value at a time by the shapes in `lenient`.
//!
//! It accepts exactly the texts `serde_json` parses into a `Value` (RFC 8259, at most 127 levels
//! of nesting, finite numbers, paired surrogate escapes), and a property test holds it to that.
//! It exists because a decision reads a few short fields: a generic deserializer spent more
//! than half of each decision's instructions getting to them. Strings without escapes are
//! borrowed from the text; nothing is allocated for what the caller skips but escaped strings.

use std::borrow::Cow;

use crate::bytes;

/// The text is not one JSON value. Where it went wrong is not reported: every caller answers
/// malformed input with one fixed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Nesting at which `serde_json` refuses a value; the same limit keeps the stack bounded here.
const MAX_DEPTH: u32 = 128;

/// The start of the next value: a scalar read whole, or the opening bracket of a container whose
/// contents the caller reads with `more_items` or `next_key`.
#[derive(Debug, PartialEq)]
pub(crate) enum Next<'a> {
    Null,
    Bool(bool),
    /// An integer literal that fits in an `i64`.
    Int(i64),
    /// Any other number: a fraction, an exponent, `-0`, or an integer beyond `i64`.
    Number,
    Str(Cow<'a, str>),
    Array,
    Object,
}

pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Reader {
            text,
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        // A bit test rather than a `match`: the compiler would merge a match with the caller's
        // next one into a jump table, whose indirect branch mispredicts on every value.
        const SPACE: u64 = 1 << b' ' | 1 << b'\t' | 1 << b'\n' | 1 << b'\r';
        while let Some(byte) = self.peek() {
            if byte > b' ' || SPACE >> byte & 1 == 0 {
                return;
            }
            self.pos += 1;
        }
    }

    /// Reads the start of the next value.
    pub(crate) fn next(&mut self) -> Result<Next<'a>, Malformed> {
        self.skip_whitespace();
        let byte = self.peek().ok_or(Malformed)?;
        match byte {
            b'[' | b'{' => {
                self.depth += 1;
                if self.depth >= MAX_DEPTH {
                    return Err(Malformed);
                }
                self.pos += 1;
                Ok(if byte == b'[' {
                    Next::Array
                } else {
                    Next::Object
                })
            }
            b'"' => {
                self.pos += 1;
                self.string().map(Next::Str)
            }
            b'n' => self.literal("null", Next::Null),
            b't' => self.literal("true", Next::Bool(true)),
            b'f' => self.literal("false", Next::Bool(false)),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Malformed),
        }
    }

    /// Inside an array just opened by `next`: whether another element follows. `first` is true
    /// before the first element. Consumes the separating comma or the closing bracket.
    pub(crate) fn more_items(&mut self, first: bool) -> Result<bool, Malformed> {
        self.skip_whitespace();
        match self.peek() {
            Some(b']') => {
                self.close();
                Ok(false)
            }
            Some(b',') if !first => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) if first => Ok(true),
            _ => Err(Malformed),
        }
    }

    /// Inside an object just opened by `next`: the next key, with its colon consumed, or `None`
    /// at the closing brace. `first` is true before the first entry.
    pub(crate) fn next_key(&mut self, first: bool) -> Result<Option<Cow<'a, str>>, Malformed> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'}') => {
                self.close();
                return Ok(None);
            }
            Some(b',') if !first => {
                self.pos += 1;
                self.skip_whitespace();
            }
            _ if first => {}
            _ => return Err(Malformed),
        }
        if self.peek() != Some(b'"') {
            return Err(Malformed);
        }
        self.pos += 1;
        let key = self.string()?;
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(Malformed);
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// Reads past one whole value, checking it as strictly as a value that is used.
    pub(crate) fn skip(&mut self) -> Result<(), Malformed> {
        match self.next()? {
            Next::Array => {
                let mut first = true;
                while self.more_items(first)? {
                    first = false;
                    self.skip()?;
                }
            }
            Next::Object => {
                let mut first = true;
                while self.next_key(first)?.is_some() {
                    first = false;
                    self.skip()?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Consumes `word` when the text goes on with it.
    #[inline(always)]
    pub(crate) fn eat(&mut self, word: &[u8]) -> bool {
        let end = self.pos + word.len();
        match self.text.as_bytes().get(self.pos..end) {
            Some(next) if bytes::same(next, word) => {
                self.pos = end;
                true
            }
            _ => false,
        }
    }

    /// The body of a string whose opening quote was consumed, through its closing quote, when it
    /// has no escape; `None`, having moved on, when it has one or is not closed.
    pub(crate) fn plain_string(&mut self) -> Option<&'a str> {
        let start = self.pos;
        self.skip_plain();
        if self.peek() != Some(b'"') {
            return None;
        }
        let body = self.slice(start).ok()?;
        self.pos += 1;
        Some(body)
    }

    /// An integer that fits in an `i64`; `None` for any other text.
    pub(crate) fn integer(&mut self) -> Option<i64> {
        match self.number() {
            Ok(Next::Int(v)) => Some(v),
            _ => None,
        }
    }

    /// Whether the whole text has been read.
    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    /// After the one top-level value: only whitespace may follow.
    pub(crate) fn end(&mut self) -> Result<(), Malformed> {
        self.skip_whitespace();
        if self.pos == self.text.len() {
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    fn close(&mut self) {
        self.pos += 1;
        self.depth -= 1;
    }

    fn literal(&mut self, word: &str, value: Next<'a>) -> Result<Next<'a>, Malformed> {
        if self.text.as_bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(Malformed)
        }
    }

    /// The body of a string whose opening quote was consumed, through its closing quote.
    // Inlined into its two callers: about 2% fewer instructions per decision in wasm.
    #[inline(always)]
    fn string(&mut self) -> Result<Cow<'a, str>, Malformed> {
        let start = self.pos;
        if let Some(body) = self.plain_string() {
            return Ok(Cow::Borrowed(body));
        }
        match self.peek() {
            Some(b'\\') => self.escaped_string(start),
            _ => Err(Malformed),
        }
    }

    /// The rest of a string from its first backslash on. Kept out of line, like the other rare
    /// paths: inlined, it made every caller's frame larger and its entry slower.
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self, start: usize) -> Result<Cow<'a, str>, Malformed> {
        let mut owned = String::from(self.slice(start)?);
        loop {
            match self.peek().ok_or(Malformed)? {
                b'"' => {
                    self.pos += 1;
                    return Ok(Cow::Owned(owned));
                }
                b'\\' => {
                    self.pos += 1;
                    owned.push(self.escape()?);
                }
                0..=0x1f => return Err(Malformed),
                _ => {
                    let run = self.pos;
                    self.skip_plain();
                    owned.push_str(self.slice(run)?);
                }
            }
        }
    }

    /// Moves to the next quote, backslash or control byte (or the end), eight bytes at a time:
    /// strings are most of a policy input.
    #[inline(always)]
    fn skip_plain(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(word) = bytes::word(bytes, self.pos) {
            let found =
                bytes::equal(word, b'"') | bytes::equal(word, b'\\') | bytes::below(word, 0x20);
            if found != 0 {
                self.pos += bytes::first(found);
                return;
            }
            self.pos += 8;
        }
        while let Some(byte) = self.peek() {
            if byte == b'"' || byte == b'\\' || byte < 0x20 {
                return;
            }
            self.pos += 1;
        }
    }

    /// Text from `start` to the current position; both lie before ASCII bytes or at the end, so
    /// the range is on character boundaries and `get` cannot fail on valid input.
    fn slice(&self, start: usize) -> Result<&'a str, Malformed> {
        self.text.get(start..self.pos).ok_or(Malformed)
    }

    /// One escape after its backslash. Surrogates must come in pairs, as `serde_json` demands of
    /// text bound for a Rust string.
    fn escape(&mut self) -> Result<char, Malformed> {
        let byte = self.peek().ok_or(Malformed)?;
        self.pos += 1;
        Ok(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        if !self.text.as_bytes()[self.pos..].starts_with(b"\\u") {
                            return Err(Malformed);
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(Malformed);
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(Malformed),
                    _ => unit,
                };
                char::from_u32(code).ok_or(Malformed)?
            }
            _ => return Err(Malformed),
        })
    }

    fn hex4(&mut self) -> Result<u32, Malformed> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = char::from(self.peek().ok_or(Malformed)?)
                .to_digit(16)
                .ok_or(Malformed)?;
            value = value * 16 + digit;
            self.pos += 1;
        }
        Ok(value)
    }

    /// A number, classified as `serde_json` classifies it: integers that fit `i64` (but not `-0`,
    /// which it reads as a float) are `Int`; other finite numbers are `Number`; numbers that
    /// overflow `f64` are refused.
    fn number(&mut self) -> Result<Next<'a>, Malformed> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let mut magnitude: Option<u64> = Some(0);
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                // Nineteen digits cannot overflow a u64, so most numbers (timestamps) need no
                // check per digit.
                let mut m = 0u64;
                let first = self.pos;
                // Eight digits a step while eight follow: a timestamp takes one step and two
                // turns of the loop below instead of ten turns.
                while self.pos - first <= 19 - 8 {
                    match bytes::word(self.text.as_bytes(), self.pos).and_then(bytes::eight_digits)
                    {
                        Some(eight) => {
                            m = m * 100_000_000 + eight;
                            self.pos += 8;
                        }
                        None => break,
                    }
                }
                while let Some(digit @ b'0'..=b'9') = self.peek() {
                    if self.pos - first == 19 {
                        break;
                    }
                    m = m * 10 + u64::from(digit - b'0');
                    self.pos += 1;
                }
                magnitude = Some(m);
                while let Some(digit @ b'0'..=b'9') = self.peek() {
                    // Not `checked_mul`: on wasm32 its overflow check is a 128-bit multiply call.
                    magnitude = magnitude
                        .filter(|&m| m <= u64::MAX / 10)
                        .and_then(|m| (m * 10).checked_add(u64::from(digit - b'0')));
                    self.pos += 1;
                }
            }
            _ => return Err(Malformed),
        }
        let mut integral = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits()?;
            integral = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
            integral = false;
        }
        match magnitude {
            Some(m) if integral && !negative => {
                Ok(i64::try_from(m).map_or(Next::Number, Next::Int))
            }
            Some(m) if integral && (1..=1 << 63).contains(&m) => {
                Ok(Next::Int((m as i64).wrapping_neg()))
            }
            Some(_) if integral => Ok(Next::Number),
            _ => self.float(start),
        }
    }

    /// A fraction, an exponent or an integer longer than u64 is an f64 to serde_json, which
    /// refuses one that overflows to infinity.
    #[cold]
    #[inline(never)]
    fn float(&self, start: usize) -> Result<Next<'a>, Malformed> {
        let finite = self.slice(start)?.parse::<f64>().is_ok_and(f64::is_finite);
        if finite {
            Ok(Next::Number)
        } else {
            Err(Malformed)
        }
    }

    /// One or more decimal digits.
    fn digits(&mut self) -> Result<(), Malformed> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(Malformed);
        }
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &str) -> Result<(), Malformed> {
        let mut reader = Reader::new(text);
        reader.skip()?;
        reader.end()
    }

    fn scalar(text: &str) -> Result<Next<'_>, Malformed> {
        let mut reader = Reader::new(text);
        let next = reader.next()?;
        reader.end()?;
        Ok(next)
    }

    #[test]
    fn numbers_are_classified_as_serde_json_classifies_them() {
        assert_eq!(scalar("0"), Ok(Next::Int(0)));
        assert_eq!(scalar("-7"), Ok(Next::Int(-7)));
        assert_eq!(scalar("9223372036854775807"), Ok(Next::Int(i64::MAX)));
        assert_eq!(scalar("-9223372036854775808"), Ok(Next::Int(i64::MIN)));
        assert_eq!(scalar("9223372036854775808"), Ok(Next::Number));
        assert_eq!(scalar("-9223372036854775809"), Ok(Next::Number));
        assert_eq!(scalar("1000000000000000000"), Ok(Next::Int(10i64.pow(18))));
        assert_eq!(
            scalar("-1000000000000000000"),
            Ok(Next::Int(-(10i64.pow(18))))
        );
        assert_eq!(scalar("18446744073709551615"), Ok(Next::Number));
        assert_eq!(scalar("18446744073709551616"), Ok(Next::Number));
        assert_eq!(scalar("-0"), Ok(Next::Number));
        assert_eq!(scalar("1.0"), Ok(Next::Number));
        assert_eq!(scalar("1e3"), Ok(Next::Number));
        assert_eq!(scalar("1e400"), Err(Malformed));
        assert_eq!(scalar(&"9".repeat(400)), Err(Malformed));
        for bad in ["01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN"] {
            assert_eq!(scalar(bad), Err(Malformed), "{bad}");
        }
    }

    #[test]
    fn strings_borrow_unless_escaped_and_refuse_lone_surrogates() {
        assert_eq!(scalar(r#""plain""#), Ok(Next::Str(Cow::Borrowed("plain"))));
        let Ok(Next::Str(Cow::Owned(s))) = scalar(r#""a\"b\u00e9\ud83d\ude00\/""#) else {
            panic!("an escaped string is decoded");
        };
        assert_eq!(s, "a\"bé😀/");
        for bad in [
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\ud83dx""#,
            r#""\x""#,
            "\"a\nb\"",
            "\"open",
        ] {
            assert_eq!(scalar(bad), Err(Malformed), "{bad}");
        }
    }

    #[test]
    fn containers_need_their_separators_and_closers() {
        assert_eq!(whole(r#" { "a" : [1, {"b": null}], "c": true } "#), Ok(()));
        for bad in [
            "[1,]",
            "[,1]",
            "[1 2]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{,"a":1}"#,
            "[",
            "{",
            "[]]",
            "1 2",
            "",
        ] {
            assert_eq!(whole(bad), Err(Malformed), "{bad}");
        }
    }

    #[test]
    fn nesting_stops_where_serde_json_stops() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(whole(&nested(127)), Ok(()));
        assert_eq!(whole(&nested(128)), Err(Malformed));
        assert!(serde_json::from_str::<serde_json::Value>(&nested(127)).is_ok());
        assert!(serde_json::from_str::<serde_json::Value>(&nested(128)).is_err());
    }
}
