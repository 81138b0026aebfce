//! A strict JSON reader over text, pulled one value at a time by the shapes in `lenient`.
//!
//! It accepts exactly the texts `serde_json` parses into a `Value` (RFC 8259, at most 127 levels
//! of nesting, finite numbers, paired surrogate escapes), and a property test holds it to that.
//! It exists because a decision reads a few short fields: a generic deserializer spent more
//! than half of each decision's instructions getting to them. Strings without escapes are
//! borrowed from the text; nothing is allocated for what the caller skips but escaped strings
//! (and the keys of an object of very many, see `Keys`).
//!
//! Unlike `serde_json`, which keeps a repeated key's last value, it refuses a text with an object
//! that names a key twice (§5 row 1), read or skipped: JSON libraries differ in which value they
//! keep, so a gateway and the policy could read one text as two inputs.

use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::bytes;

/// The text is not one JSON value. Where it went wrong is not reported: every caller answers
/// malformed input with one fixed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Why a whole text cannot be read (`Reader::end`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Unreadable<'a> {
    /// The text is not one JSON value.
    Malformed,
    /// The text is one JSON value, but an object in it names this key twice (the first key so
    /// repeated, in the order of the text).
    RepeatedKey(Cow<'a, str>),
}

impl From<Malformed> for Unreadable<'_> {
    fn from(_: Malformed) -> Self {
        Unreadable::Malformed
    }
}

/// Nesting at which `serde_json` refuses a value; the same limit keeps the stack bounded here.
const MAX_DEPTH: u32 = 128;

/// Keys of one object kept in place, before any are kept in a tree: room for a token's seven
/// and a few more of a host's record (an id, a name, times), so that reading them allocates
/// nothing. More room would cost every object the initialisation of its slots.
const INLINE_KEYS: usize = 12;

/// The keys of one object read so far, to tell a key given twice. Nothing is allocated for an
/// object of at most `INLINE_KEYS` keys written without escapes, which is every object the host
/// writes.
pub(crate) struct Keys<'a> {
    /// A bit per hash of each key kept: a new key whose bit is clear is no repeat, so keys are
    /// compared only on a collision, rare among the few keys of an object.
    seen: u64,
    /// The first keys written without an escape, borrowed from the text.
    inline: [&'a str; INLINE_KEYS],
    inline_len: usize,
    /// The others: escaped keys, decoded so that `"\u0061"` and `"a"` are one key, and the keys
    /// after the first `INLINE_KEYS`. A tree rather than a list: once the bits are all set, each
    /// key of an object of many keys is looked up, which a list would make quadratic.
    rest: BTreeSet<Cow<'a, str>>,
}

impl<'a> Keys<'a> {
    pub(crate) fn new() -> Self {
        Keys {
            seen: 0,
            inline: [""; INLINE_KEYS],
            inline_len: 0,
            rest: BTreeSet::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.inline_len == 0 && self.rest.is_empty()
    }

    /// Keeps `key`, written without an escape; false when the object named it before.
    #[inline(always)]
    fn insert(&mut self, key: &'a str) -> bool {
        let bit = 1u64 << (spread(key) & 63);
        if self.seen & bit != 0 && self.holds(key) {
            return false;
        }
        self.seen |= bit;
        match self.inline.get_mut(self.inline_len) {
            Some(slot) => {
                *slot = key;
                self.inline_len += 1;
            }
            None => {
                self.rest.insert(Cow::Borrowed(key));
            }
        }
        true
    }

    /// Keeps `key`, decoded from a key with an escape; false when the object named it before.
    /// Copying it allocates, as decoding it did already.
    #[cold]
    #[inline(never)]
    fn insert_escaped(&mut self, key: &str) -> bool {
        let bit = 1u64 << (spread(key) & 63);
        if self.seen & bit != 0 && self.holds(key) {
            return false;
        }
        self.seen |= bit;
        self.rest.insert(Cow::Owned(key.to_owned()));
        true
    }

    #[cold]
    #[inline(never)]
    fn holds(&self, key: &str) -> bool {
        self.inline.iter().take(self.inline_len).any(|k| *k == key) || self.rest.contains(key)
    }
}

/// A hash of a key from its length and its first and last bytes: enough to tell apart the
/// contract's keys of one object (a test holds each object's keys to distinct bits).
fn spread(key: &str) -> u32 {
    let bytes = key.as_bytes();
    let first = u32::from(bytes.first().copied().unwrap_or(0));
    let last = u32::from(bytes.last().copied().unwrap_or(0));
    (bytes.len() as u32).wrapping_mul(5) ^ first ^ last.rotate_left(3)
}

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
    /// Where the first key an object repeated starts, after its opening quote. Reading goes on
    /// past it, so that text that is not JSON further on is refused as that, as `serde_json`
    /// refuses it; `end` answers with the key. (An offset rather than the key: a reader then
    /// needs no drop, which the host's inputs, which repeat nothing, would pay for.)
    repeated: Option<usize>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Reader {
            text,
            pos: 0,
            depth: 0,
            repeated: None,
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
    /// at the closing brace. `keys` holds the object's keys read so far (empty before the first
    /// entry); a key among them is noted for `end` to refuse.
    pub(crate) fn next_key(
        &mut self,
        keys: &mut Keys<'a>,
    ) -> Result<Option<Cow<'a, str>>, Malformed> {
        let first = keys.is_empty();
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
        let start = self.pos;
        let key = self.string()?;
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(Malformed);
        }
        self.pos += 1;
        let fresh = match &key {
            Cow::Borrowed(plain) => keys.insert(plain),
            Cow::Owned(escaped) => keys.insert_escaped(escaped),
        };
        if !fresh {
            self.repeated.get_or_insert(start);
        }
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
                // A skipped object's keys are checked too: what one reader skips another may read.
                let mut keys = Keys::new();
                while self.next_key(&mut keys)?.is_some() {
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

    /// After the one top-level value: only whitespace may follow, and no object may have
    /// repeated a key.
    pub(crate) fn end(&mut self) -> Result<(), Unreadable<'a>> {
        self.skip_whitespace();
        if self.pos != self.text.len() {
            return Err(Unreadable::Malformed);
        }
        match self.repeated {
            None => Ok(()),
            Some(start) => {
                // Read again from its start: it was read whole once, so it reads alike.
                self.pos = start;
                let key = self.string()?;
                self.pos = self.text.len();
                Err(Unreadable::RepeatedKey(key))
            }
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
        match overflows_f64(self.slice(start)?.as_bytes()) {
            false => Ok(Next::Number),
            true => Err(Malformed),
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

/// The digits of 2^1024 − 2^970, the least number that rounds to infinity as an f64: it lies
/// halfway between the largest finite f64 and 2^1024, and a tie rounds to the even neighbour.
/// 309 digits before the point; trailing zeros left out.
const OVERFLOW: &[u8] = b"179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";
const OVERFLOW_EXPONENT: i64 = 309;

/// Whether a JSON number, read as an f64 with correct rounding, is infinite: decided on its
/// digits, which is what parsing it would decide (a test holds the two together), without the
/// float parser and its 10 KB of tables in the module.
fn overflows_f64(literal: &[u8]) -> bool {
    let digits_of = |text: &[u8]| text.iter().take_while(|b| b.is_ascii_digit()).count();
    let unsigned = literal.strip_prefix(b"-").unwrap_or(literal);
    let (int, rest) = unsigned.split_at(digits_of(unsigned));
    let (fraction, rest) = match rest.strip_prefix(b".") {
        Some(after) => after.split_at(digits_of(after)),
        None => (&b""[..], rest),
    };
    // Saturating: past ±10^15 only the sign of the exponent matters.
    let exponent = match rest {
        [b'e' | b'E', tail @ ..] => {
            let (negative, digits) = match tail {
                [b'-', d @ ..] => (true, d),
                [b'+', d @ ..] => (false, d),
                d => (false, d),
            };
            let magnitude = digits.iter().fold(0i64, |e, &d| {
                (e * 10 + i64::from(d - b'0')).min(1_000_000_000_000_000)
            });
            if negative {
                -magnitude
            } else {
                magnitude
            }
        }
        _ => 0,
    };
    let all = || int.iter().chain(fraction).copied();
    let Some(leading) = all().position(|d| d != b'0') else {
        return false;
    };
    // The number is 0.D × 10^scale, with D its digits from the first that is not 0.
    let scale = int.len() as i64 - leading as i64 + exponent;
    if scale != OVERFLOW_EXPONENT {
        return scale > OVERFLOW_EXPONENT;
    }
    let mut significant = all().skip(leading);
    for &bound in OVERFLOW {
        match significant.next() {
            Some(d) if d != bound => return d > bound,
            Some(_) => {}
            // Zeros from here on, and the bound has a digit that is not.
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &str) -> Result<(), Unreadable<'_>> {
        let mut reader = Reader::new(text);
        reader.skip()?;
        reader.end()
    }

    fn scalar(text: &str) -> Result<Next<'_>, Malformed> {
        let mut reader = Reader::new(text);
        let next = reader.next()?;
        reader.end().map_err(|_| Malformed)?;
        Ok(next)
    }

    #[test]
    fn overflow_is_decided_as_the_float_parser_decides_it() {
        let max = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";
        let mut cases: Vec<String> = vec![
            "0".into(),
            "-0.0".into(),
            "1e308".into(),
            "1e309".into(),
            "-1e309".into(),
            "1.7976931348623157e308".into(),
            "1.7976931348623158e308".into(),
            "1.7976931348623159e308".into(),
            "0.1e310".into(),
            "0.17976931348623159e309".into(),
            "1e-400".into(),
            "0e999999999999999999999".into(),
            "1e999999999999999999999".into(),
            "1e-999999999999999999999".into(),
            "123.456e306".into(),
            "0.000001e314".into(),
            max.to_string(),
            format!("{max}.0"),
            format!("{max}1"),
            format!("{max}e0"),
            format!("0.{max}e309"),
            format!("{}", &max[..308]),
            format!("{}e1", &max[..308]),
        ];
        // Just below, at and just above the bound, in several spellings.
        for cut in [17, 18, 40, 300, 308] {
            let head = &max[..cut];
            cases.push(format!("{head}e{}", 309 - cut));
            cases.push(format!("{}.{}e308", &head[..1], &head[1..]));
            let mut up: Vec<u8> = head.bytes().collect();
            let last = up.len() - 1;
            up[last] = if up[last] == b'9' { b'8' } else { up[last] + 1 };
            cases.push(format!(
                "{}e{}",
                String::from_utf8(up.clone()).unwrap(),
                309 - cut
            ));
            up[last] = if up[last] <= b'1' { b'0' } else { up[last] - 2 };
            cases.push(format!("{}e{}", String::from_utf8(up).unwrap(), 309 - cut));
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let digits = (seed % 25 + 1) as usize;
            let mantissa: String = (0..digits)
                .map(|i| char::from(b'0' + ((seed >> (i % 60)) % 10) as u8))
                .collect();
            let exponent = (seed >> 32) as i64 % 40 + 290 - digits as i64;
            cases.push(format!("{mantissa}e{exponent}"));
            cases.push(format!("0.{mantissa}e{}", exponent + digits as i64));
        }
        for case in cases {
            let parsed = case.parse::<f64>().unwrap();
            assert_eq!(
                overflows_f64(case.as_bytes()),
                !parsed.is_finite(),
                "{case}"
            );
        }
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
            assert_eq!(whole(bad), Err(Unreadable::Malformed), "{bad}");
        }
    }

    #[test]
    fn a_key_repeated_in_any_object_is_refused_however_it_is_spelled() {
        let repeated = |key: &str| Err(Unreadable::RepeatedKey(Cow::Owned(key.to_owned())));
        assert_eq!(whole(r#"{"a":1,"a":1}"#), repeated("a"));
        assert_eq!(whole(r#"{"a":1,"b":{"c":[],"c":null}}"#), repeated("c"));
        assert_eq!(whole(r#"[{"x":{}},{"y":{"z":1,"z":2}}]"#), repeated("z"));
        assert_eq!(whole(r#"{"a":1,"\u0061":2}"#), repeated("a"));
        assert_eq!(whole(r#"{"\u0061":1,"a":2}"#), repeated("a"));
        assert_eq!(whole(r#"{"\"":1,"\u0022":2}"#), repeated("\""));
        assert_eq!(whole(r#"{"":1,"":2}"#), repeated(""));
        // The first key repeated, in the order of the text.
        assert_eq!(whole(r#"{"b":{"y":1,"y":1},"a":0,"a":0}"#), repeated("y"));
        // Beyond the keys kept in place, and among them.
        let many: Vec<String> = (0..40).map(|i| format!(r#""k{i}":{i}"#)).collect();
        assert_eq!(whole(&format!("{{{}}}", many.join(","))), Ok(()));
        let n = INLINE_KEYS;
        for (a, b) in [(0, 1), (3, 7), (n - 1, n), (n, n + 1), (2, 30), (20, 39)] {
            let mut keys = many.clone();
            keys[b] = keys[a].clone();
            let text = format!("{{{}}}", keys.join(","));
            assert_eq!(whole(&text), repeated(&format!("k{a}")), "{text}");
        }
        // An object of very many keys is read in O(n log n), its repeat found at its end.
        let mut huge: Vec<String> = (0..100_000).map(|i| format!(r#""{i:x}":0"#)).collect();
        assert_eq!(whole(&format!("{{{}}}", huge.join(","))), Ok(()));
        huge.push(r#""\u0031":1"#.to_owned());
        assert_eq!(whole(&format!("{{{}}}", huge.join(","))), repeated("1"));
        // Keys alike but for their case, or a suffix, or in other objects, are not repeats.
        for fine in [
            r#"{"a":1,"A":1,"ab":1,"ba":1,"aa":1}"#,
            r#"{"a":{"a":{"a":1}},"b":{"a":1}}"#,
            r#"[{"a":1},{"a":1}]"#,
            r#"{"\u00e9":1,"e":1,"\u00e8":1}"#,
        ] {
            assert_eq!(whole(fine), Ok(()), "{fine}");
        }
        // Text that is not JSON further on is refused as that, as serde_json refuses it.
        assert_eq!(whole(r#"{"a":1,"a":2,}"#), Err(Unreadable::Malformed));
        assert_eq!(whole(r#"{"a":1,"a":2} x"#), Err(Unreadable::Malformed));
        assert_eq!(
            whole(&format!(r#"{{"a":1,"a":{}}}"#, "[".repeat(200))),
            Err(Unreadable::Malformed)
        );
    }

    /// Each object of the contract has its keys on distinct bits, so reading one compares no
    /// keys.
    #[test]
    fn the_contract_keys_of_one_object_spread_apart() {
        for object in [
            &["token", "request", "now", "repository_project"][..],
            &[
                "kind",
                "workspace",
                "project",
                "repository",
                "scopes",
                "expires_at",
                "revoked",
            ],
            &["method", "path"],
            &["method", "path", "repository_project"],
            &["request", "context"],
            &[
                "kind",
                "workspace",
                "project",
                "repository",
                "name",
                "scopes",
                "expires_at",
            ],
            &["plan", "now", "max_lifetime_days", "allow_no_expiry"],
            &["forwarded_headers", "headers"],
        ] {
            let bits: std::collections::BTreeSet<u32> =
                object.iter().map(|k| spread(k) & 63).collect();
            assert_eq!(bits.len(), object.len(), "{object:?}");
        }
    }

    #[test]
    fn nesting_stops_where_serde_json_stops() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(whole(&nested(127)), Ok(()));
        assert_eq!(whole(&nested(128)), Err(Unreadable::Malformed));
        assert!(serde_json::from_str::<serde_json::Value>(&nested(127)).is_ok());
        assert!(serde_json::from_str::<serde_json::Value>(&nested(128)).is_err());
    }
}
