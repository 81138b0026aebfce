//! Finding bytes eight at a time. The policy's inputs are short strings scanned byte by byte,
//! and in wasm, where there is no vectorised `memchr`, those loops were a large part of each
//! decision. Each test here sets the high bit of every byte of a word that matches; the lowest
//! flagged byte is exact (borrows only ever flag bytes above a true match), which is all a
//! search for the first match needs.

const ONES: u64 = u64::from_le_bytes([1; 8]);
const HIGHS: u64 = ONES << 7;

/// The eight bytes at `at`, little-endian, if that many remain.
pub(crate) fn word(bytes: &[u8], at: usize) -> Option<u64> {
    // `first_chunk` is a fixed-size load; `copy_from_slice` compiled to a call per word.
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk::<8>)
        .map(|chunk| u64::from_le_bytes(*chunk))
}

/// Flags the bytes of `word` equal to `byte`.
pub(crate) fn equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Flags the bytes of `word` below `bound` (at most 0x80).
pub(crate) fn below(word: u64, bound: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(bound)) & !word & HIGHS
}

/// Flags the bytes of `word` at or above 0x80.
pub(crate) fn high(word: u64) -> u64 {
    word & HIGHS
}

/// The index within its word of the first flagged byte; 8 when none is.
pub(crate) fn first(flags: u64) -> usize {
    (flags.trailing_zeros() / 8) as usize
}

/// Flags of the bytes before index `n` (0 to 8) only.
pub(crate) fn before(flags: u64, n: usize) -> u64 {
    match n {
        8.. => flags,
        _ => flags & ((1u64 << (8 * n)) - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first flagged index, found byte by byte, for every position of a probe byte among
    /// fillers: the word tests agree with the plain definition.
    #[test]
    fn the_first_flag_is_the_first_match() {
        let fillers = [b'a', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xff, b'/', b'"'];
        for filler in fillers {
            for probe in fillers {
                for at in 0..8 {
                    let mut bytes = [filler; 8];
                    bytes[at] = probe;
                    let w = word(&bytes, 0).expect("eight bytes");
                    let by_byte = |test: &dyn Fn(u8) -> bool| {
                        bytes.iter().position(|&b| test(b)).unwrap_or(8)
                    };
                    assert_eq!(first(equal(w, b'/')), by_byte(&|b| b == b'/'));
                    assert_eq!(first(below(w, 0x20)), by_byte(&|b| b < 0x20));
                    assert_eq!(first(high(w)), by_byte(&|b| b >= 0x80));
                    let quote = by_byte(&|b| b == b'"');
                    let expected = if quote < at { quote } else { 8 };
                    assert_eq!(first(before(equal(w, b'"'), at)), expected);
                }
            }
        }
        assert_eq!(word(b"1234567", 0), None);
    }
}
