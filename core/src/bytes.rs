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

/// The value of a word of eight ASCII digits, the first digit the most significant; `None`
/// when any byte is not a digit.
pub(crate) fn eight_digits(word: u64) -> Option<u64> {
    // Each byte is 0x30..=0x39 exactly when its high nibble is 3 and adding 6 leaves it 3.
    let nibbles = (word & 0xf0f0_f0f0_f0f0_f0f0)
        | (word.wrapping_add(0x0606_0606_0606_0606) & 0xf0f0_f0f0_f0f0_f0f0) >> 4;
    if nibbles != 0x3333_3333_3333_3333 {
        return None;
    }
    // Pairs, then fours, then all eight, each step a multiply-add across lanes.
    let digits = word - ONES * u64::from(b'0');
    let pairs = digits * 10 + (digits >> 8);
    let lanes = 0x0000_00ff_0000_00ff;
    Some(
        ((pairs & lanes).wrapping_mul(100 + (1_000_000 << 32))
            + ((pairs >> 16) & lanes).wrapping_mul(1 + (10_000 << 32)))
            >> 32,
    )
}

/// `bytes` as text when they are UTF-8. ASCII, which nearly every policy input is, is recognised
/// 32 bytes a turn: `str::from_utf8` takes 8 a turn on wasm32, and each turn of a loop pays the
/// host's deadline check.
// The crate's one `unsafe`: text proven ASCII by the scan above is not validated a second time.
#[allow(unsafe_code)]
pub(crate) fn text(bytes: &[u8]) -> Option<&str> {
    let mut chunks = bytes.chunks_exact(32);
    let high = chunks.by_ref().fold(0, |high, chunk| {
        let w = |i: usize| word(chunk, i).unwrap_or(0);
        high | w(0) | w(8) | w(16) | w(24)
    });
    if (high & HIGHS) == 0 && chunks.remainder().is_ascii() {
        // SAFETY: every byte is below 0x80, and ASCII text is UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

/// Whether `a` and `b` are the same bytes, compared in words without a loop for up to eight
/// bytes and a word per turn beyond: in wasm, slice equality is a call to a memcmp that compares
/// byte by byte, and each turn of a loop pays the host's deadline check.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let u32_at = |s: &[u8], i: usize| {
        s.get(i..)
            .and_then(<[u8]>::first_chunk::<4>)
            .map(|c| u32::from_le_bytes(*c))
    };
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=8 => u32_at(a, 0) == u32_at(b, 0) && u32_at(a, n - 4) == u32_at(b, n - 4),
        _ => {
            let mut at = 0;
            while at + 8 < n {
                if word(a, at) != word(b, at) {
                    return false;
                }
                at += 8;
            }
            // The last eight bytes, overlapping the words before when `n` is not a multiple.
            word(a, n - 8) == word(b, n - 8)
        }
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

    /// `eight_digits` against parsing, for numbers across the range and every non-digit byte at
    /// every place.
    #[test]
    fn eight_digits_read_as_parse_reads_them() {
        let mut n = 0u64;
        while n < 100_000_000 {
            let text = format!("{n:08}");
            let w = word(text.as_bytes(), 0).expect("eight bytes");
            assert_eq!(eight_digits(w), Some(n), "{text}");
            n += 7_919;
        }
        for n in [0, 1, 9, 10, 99_999_999, 12_345_678, 10_000_000] {
            let text = format!("{n:08}");
            assert_eq!(eight_digits(word(text.as_bytes(), 0).unwrap()), Some(n));
        }
        for at in 0..8 {
            for byte in (0..=255u8).filter(|b| !b.is_ascii_digit()) {
                let mut bytes = *b"12345678";
                bytes[at] = byte;
                assert_eq!(eight_digits(u64::from_le_bytes(bytes)), None, "{bytes:?}");
            }
        }
    }

    /// `text` against `str::from_utf8` around every place of the 32-byte chunks it reads.
    #[test]
    fn text_is_utf8_decoding() {
        for n in 0..80 {
            let ascii = vec![b'a'; n];
            assert_eq!(text(&ascii), std::str::from_utf8(&ascii).ok());
            for at in 0..n {
                for byte in [0x7f, 0x80, 0xc3, 0xff] {
                    let mut bytes = ascii.clone();
                    bytes[at] = byte;
                    assert_eq!(text(&bytes), std::str::from_utf8(&bytes).ok(), "{n} {at}");
                    if at + 1 < n {
                        bytes[at + 1] = 0xa9;
                        assert_eq!(text(&bytes), std::str::from_utf8(&bytes).ok(), "{n} {at}");
                    }
                }
            }
        }
    }

    /// `same` against `==` for every length to 40 with a difference at each byte.
    #[test]
    fn same_is_slice_equality() {
        let a: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..40 {
            assert!(same(&a[..n], &a[..n]), "{n}");
            assert!(!same(&a[..n], &a[..n + 1]), "{n} and {}", n + 1);
            for at in 0..n {
                let mut b = a[..n].to_vec();
                b[at] ^= 1;
                assert!(!same(&a[..n], &b), "{n}: byte {at} differs");
            }
        }
    }
}
