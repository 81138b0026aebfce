//! The signature of a delivery: `sha256=` and the hex HMAC-SHA256 of the exact body bytes,
//! keyed with the webhook's secret (SPEC §11), as GitHub's `X-Hub-Signature-256` is.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `X-Scopegate-Signature` value of `body` under `secret`. `None` only if the HMAC
/// refused the key, which it does for no length: a key longer than a block is hashed first.
pub fn signature(secret: &[u8], body: &[u8]) -> Option<String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).ok()?;
    mac.update(body);
    Some(format!(
        "sha256={}",
        crate::token::to_hex(&mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::signature;

    /// RFC 4231, test case 2: key "Jefe".
    #[test]
    fn matches_the_rfc_4231_vector() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?").unwrap(),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
