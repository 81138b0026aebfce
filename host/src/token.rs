//! The randomness and the identifiers behind secrets. What a secret looks like (prefix,
//! checksum, hash) is the module's to say (`sg_seal`, SPEC §7 and §10); the host brings the
//! random characters, which the module cannot make.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

/// Characters of a secret's random part.
pub const RANDOM_LEN: usize = 40;

/// SHA-256 of a whole secret, the only form in which the store keeps it.
pub type SecretHash = [u8; 32];

/// 40 characters of `[0-9A-Za-z]` from a CSPRNG: ThreadRng is ChaCha12, seeded and
/// periodically reseeded from the OS.
pub fn random_part() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), RANDOM_LEN)
}

/// SHA-256 of a presented admin key, to compare with the stored one. (Access tokens are hashed
/// by the module, as a check does.)
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

/// A SHA-256 from 64 hex digits, as the module names one.
pub fn from_hex(text: &str) -> Option<SecretHash> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let value = |d: u8| char::from(d).to_digit(16).map(|v| v as u8);
    let mut out = [0; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = value(pair[0])? << 4 | value(pair[1])?;
    }
    Some(out)
}

/// Identifiers are public (they appear in URLs and headers), so they only need to be unique.
pub fn new_id() -> String {
    format!("tok_{}", Alphanumeric.sample_string(&mut rand::rng(), 24))
}

/// An admin credential's id, as the audit log names its actor.
pub fn new_credential_id() -> String {
    format!("cred_{}", Alphanumeric.sample_string(&mut rand::rng(), 24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_parts_are_alphanumeric_and_distinct() {
        let (a, b) = (random_part(), random_part());
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn hex_reads_back() {
        let h = hash("abc");
        assert_eq!(
            to_hex(&h),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(from_hex(&to_hex(&h)), Some(h));
        assert_eq!(from_hex(&to_hex(&h).to_uppercase()), Some(h));
        assert_eq!(from_hex("ab"), None);
        assert_eq!(from_hex(&"zz".repeat(32)), None);
    }
}
