//! The access-token format of SPEC §7 and the hashing that keeps secrets out of the store.
//!
//! `sgat_` + 40 CSPRNG characters `[0-9A-Za-z]` + the CRC32 (IEEE) of the first 45 characters in
//! base62, left-padded to 6 characters. The checksum lets the host reject typos and garbage before
//! touching the store.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "sgat_";
pub const RANDOM_LEN: usize = 40;
pub const CHECKSUM_LEN: usize = 6;
pub const TOKEN_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;

/// Prefix of generated admin keys: distinct from access tokens so one is never mistaken for the other.
pub const ADMIN_PREFIX: &str = "sgak_";

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// SHA-256 of a whole secret, the only form in which the store keeps it.
pub type SecretHash = [u8; 32];

pub fn base62_checksum(body: &str) -> [u8; CHECKSUM_LEN] {
    let mut n = crc32fast::hash(body.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

fn generate_with(prefix: &str) -> String {
    // ThreadRng is a CSPRNG (ChaCha12) seeded and periodically reseeded from the OS.
    let random = Alphanumeric.sample_string(&mut rand::rng(), RANDOM_LEN);
    let mut token = String::with_capacity(prefix.len() + RANDOM_LEN + CHECKSUM_LEN);
    token.push_str(prefix);
    token.push_str(&random);
    let sum = base62_checksum(&token);
    token.push_str(std::str::from_utf8(&sum).expect("base62 is ASCII"));
    token
}

/// A fresh access token.
pub fn generate() -> String {
    generate_with(PREFIX)
}

/// A fresh admin key (same shape, different prefix).
pub fn generate_admin_key() -> String {
    generate_with(ADMIN_PREFIX)
}

/// Whether `s` has the exact shape of §7, checksum included.
pub fn is_well_formed(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != TOKEN_LEN || !s.starts_with(PREFIX) {
        return false;
    }
    let body_end = PREFIX.len() + RANDOM_LEN;
    if !b[PREFIX.len()..].iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    base62_checksum(&s[..body_end]) == b[body_end..]
}

pub fn hash(secret: &str) -> SecretHash {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Identifiers are public (they appear in URLs and headers), so they only need to be unique.
pub fn new_id() -> String {
    format!("tok_{}", Alphanumeric.sample_string(&mut rand::rng(), 24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_distinct() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), 51);
        assert!(is_well_formed(&a), "{a}");
        assert_ne!(a, b);
        assert!(!is_well_formed(&generate_admin_key()));
    }

    #[test]
    fn checksum_is_crc32_base62_left_padded() {
        // CRC32("") is 0: all padding.
        assert_eq!(&base62_checksum(""), b"000000");
        // CRC32("123456789") is the IEEE check value 0xCBF43926; its base62 is computed apart here.
        let mut n: u64 = 0xCBF4_3926;
        let mut digits = Vec::new();
        while n > 0 {
            digits.push(BASE62[(n % 62) as usize]);
            n /= 62;
        }
        while digits.len() < 6 {
            digits.push(b'0');
        }
        digits.reverse();
        assert_eq!(base62_checksum("123456789").to_vec(), digits);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let t = generate();
        assert!(!is_well_formed(&t[..50]));
        assert!(!is_well_formed(&format!("{t}x")));
        assert!(!is_well_formed(&t.replacen("sgat_", "sgaT_", 1)));
        // Flip one random character: the checksum no longer matches.
        let mut bytes = t.clone().into_bytes();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        assert!(!is_well_formed(&String::from_utf8(bytes).unwrap()));
        // Non-alphanumeric in the random part.
        let mut bytes = t.into_bytes();
        bytes[7] = b'-';
        assert!(!is_well_formed(&String::from_utf8(bytes).unwrap()));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("sgat_ééééééééééééééééééééé"));
    }

    #[test]
    fn hash_is_sha256() {
        assert_eq!(
            to_hex(&hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
