//! The access-token format of §7 and the hash under which a token is stored.
//!
//! `sgat_` + 40 characters `[0-9A-Za-z]` + the CRC32 (IEEE) of the first 45 characters in base62,
//! left-padded with `0` to 6 characters: 51 in all. The checksum lets a check refuse typos and
//! garbage without a lookup. The random part comes from the caller (the module has no
//! randomness); everything else about a token's shape is decided here.

use sha2::{Digest, Sha256};

/// What a secret is for: its prefix keeps an access token from being taken for an admin
/// credential, and the reverse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    AccessToken,
    AdminCredential,
}

impl SecretKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            SecretKind::AccessToken => "sgat_",
            SecretKind::AdminCredential => "sgak_",
        }
    }

    /// The name an interface gives the kind (`sg_seal`'s `kind`, `sg_scan`'s findings).
    pub const fn name(self) -> &'static str {
        match self {
            SecretKind::AccessToken => "access_token",
            SecretKind::AdminCredential => "admin_credential",
        }
    }

    pub fn parse(name: &str) -> Option<SecretKind> {
        match name {
            "access_token" => Some(SecretKind::AccessToken),
            "admin_credential" => Some(SecretKind::AdminCredential),
            _ => None,
        }
    }
}

/// Characters of the random part.
pub const RANDOM_LEN: usize = 40;
/// Characters of the checksum.
pub const CHECKSUM_LEN: usize = 6;
/// Characters of a whole secret: prefix, random part, checksum.
pub const SECRET_LEN: usize = 5 + RANDOM_LEN + CHECKSUM_LEN;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// CRC-32/ISO-HDLC is the IEEE CRC32 of zlib and PNG. A one-row table (1 KB) rather than the
/// sixteen rows of the fast crates: a checksum covers 45 bytes, and the module's size counts.
const CRC32: crc::Crc<u32, crc::Table<1>> =
    crc::Crc::<u32, crc::Table<1>>::new(&crc::CRC_32_ISO_HDLC);

/// The checksum of the first 45 characters, in base62.
pub fn checksum(body: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut n = CRC32.checksum(body);
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// Whether `secret` has the exact shape of §7 for `kind`, checksum included.
pub fn is_well_formed(secret: &[u8], kind: SecretKind) -> bool {
    let body_end = SECRET_LEN - CHECKSUM_LEN;
    secret.len() == SECRET_LEN
        && secret.starts_with(kind.prefix().as_bytes())
        && secret[5..].iter().all(u8::is_ascii_alphanumeric)
        && checksum(&secret[..body_end]) == secret[body_end..]
}

/// A secret found in arbitrary bytes: where it starts and which kind it is. It is always
/// [`SECRET_LEN`] bytes long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    pub offset: usize,
    pub kind: SecretKind,
}

/// A byte that may be part of a word: what a secret must not touch on either side, so that a
/// lookalike inside a longer identifier is not taken for a secret.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every well-formed secret of either kind in `bytes`, checksum included, that no word
/// character touches on either side, in order. Secrets of §7 cannot overlap (each is a whole
/// word), so every finding is one of its own.
pub fn scan(bytes: &[u8]) -> Vec<Finding> {
    let mut found = Vec::new();
    scan_each(bytes, |f| found.push(f));
    found
}

/// [`scan`], each finding handed to `found` as it is made: the JSON answer is written without
/// a list in between.
pub fn scan_each(bytes: &[u8], mut found: impl FnMut(Finding)) {
    // Each secret has a `_` at index 4, and `_` is rare in most text: look for it eight bytes a
    // turn (wasm has no vectorised memchr) and test the few places it occurs.
    let mut at = 0;
    while at < bytes.len() {
        let underscore = match crate::bytes::word(bytes, at) {
            Some(word) => match crate::bytes::equal(word, b'_') {
                0 => {
                    at += 8;
                    continue;
                }
                flags => at + crate::bytes::first(flags),
            },
            // The last few bytes, one at a time.
            None if bytes.get(at) == Some(&b'_') => at,
            None => {
                at += 1;
                continue;
            }
        };
        at = underscore + 1;
        let Some(start) = underscore.checked_sub(4) else {
            continue;
        };
        let kind = match bytes.get(start..underscore) {
            Some(b"sgat") => SecretKind::AccessToken,
            Some(b"sgak") => SecretKind::AdminCredential,
            _ => continue,
        };
        let end = start + SECRET_LEN;
        let touched = |i: Option<usize>| i.and_then(|i| bytes.get(i)).is_some_and(|&b| is_word(b));
        if touched(start.checked_sub(1)) || touched(Some(end)) {
            continue;
        }
        if bytes
            .get(start..end)
            .is_some_and(|s| is_well_formed(s, kind))
        {
            found(Finding {
                offset: start,
                kind,
            });
            // Nothing inside a secret starts another: its underscore was the only one.
            at = end;
        }
    }
}

/// `sg_scan` on raw bytes (not JSON: the bytes are what is searched):
/// `{"secret_len":51,"findings":[{"offset":<byte offset>,"kind":"access_token"|"admin_credential"},…]}`.
pub fn scan_json(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // The length goes with the answer so that a caller (which cuts files into windows that
    // must overlap by a secret's length) takes it from here rather than keep its own copy.
    out.extend_from_slice(br#"{"secret_len":"#);
    crate::wire::write_u64(&mut out, SECRET_LEN as u64);
    out.extend_from_slice(br#","findings":["#);
    let mut first = true;
    scan_each(bytes, |f| {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(br#"{"offset":"#);
        crate::wire::write_u64(&mut out, f.offset as u64);
        out.extend_from_slice(br#","kind":""#);
        out.extend_from_slice(f.kind.name().as_bytes());
        out.extend_from_slice(br#""}"#);
    });
    out.extend_from_slice(b"]}");
    out
}

/// Why random characters can't be made into a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealError {
    /// Not exactly 40 characters of `[0-9A-Za-z]`.
    BadRandom,
}

impl SealError {
    pub const fn code(self) -> &'static str {
        match self {
            SealError::BadRandom => "bad_random",
        }
    }

    pub const fn message(self) -> &'static str {
        match self {
            SealError::BadRandom => "the random part must be 40 characters of [0-9A-Za-z]",
        }
    }
}

/// The secret made of `random` (40 characters from a CSPRNG), and the hash it is stored under.
pub fn seal(kind: SecretKind, random: &str) -> Result<(String, [u8; 32]), SealError> {
    if random.len() != RANDOM_LEN || !random.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SealError::BadRandom);
    }
    let mut secret = String::with_capacity(SECRET_LEN);
    secret.push_str(kind.prefix());
    secret.push_str(random);
    let sum = checksum(secret.as_bytes());
    secret.extend(sum.iter().map(|&b| char::from(b)));
    let hash = sha256(secret.as_bytes());
    Ok((secret, hash))
}

/// SHA-256 of a whole secret: the only form in which a store keeps it.
pub fn sha256(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// Lower-case hex, as lookups and snapshots name a hash.
pub fn hex(bytes: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    out
}

/// `sg_seal` on JSON text `{"kind": "access_token" | "admin_credential", "random": "<40
/// characters>"}`: `{"secret", "sha256"}`, or `{"error", "message"}`.
pub fn seal_json(input: &[u8]) -> Vec<u8> {
    use crate::lenient::{read_json, skip, value, Entries, Fields, Object, Text};
    #[derive(Default)]
    struct SealFields<'a> {
        kind: Option<Text<'a>>,
        random: Option<Text<'a>>,
    }
    impl<'de> Fields<'de> for SealFields<'de> {
        fn field(
            &mut self,
            key: &str,
            map: &mut Entries<'de, '_>,
        ) -> Result<(), crate::json::Malformed> {
            match key {
                "kind" => self.kind = Some(value(map)?),
                "random" => self.random = Some(value(map)?),
                _ => skip(map)?,
            }
            Ok(())
        }
    }
    let refused = |code: &str, message: &str| {
        format!(r#"{{"error":"{code}","message":"{message}"}}"#).into_bytes()
    };
    let Some(Object::Fields(fields)) = read_json::<Object<SealFields>>(input) else {
        return refused("bad_input", "the input is not an object of kind and random");
    };
    let kind = match &fields.kind {
        Some(Text::Str(name)) => SecretKind::parse(name),
        _ => None,
    };
    let Some(kind) = kind else {
        return refused(
            "bad_input",
            "'kind' is neither access_token nor admin_credential",
        );
    };
    let Some(Text::Str(random)) = &fields.random else {
        return refused("bad_input", "'random' is not a string");
    };
    match seal(kind, random) {
        Ok((secret, hash)) => {
            let mut out = Vec::with_capacity(140);
            out.extend_from_slice(br#"{"secret":""#);
            out.extend_from_slice(secret.as_bytes());
            out.extend_from_slice(br#"","sha256":""#);
            out.extend_from_slice(&hex(&hash));
            out.extend_from_slice(br#""}"#);
            out
        }
        Err(e) => refused(e.code(), e.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANDOM: &str = "0123456789abcdefghijABCDEFGHIJ0123456789";

    #[test]
    fn sealed_secrets_are_well_formed_for_their_kind_only() {
        let (token, hash) = seal(SecretKind::AccessToken, RANDOM).unwrap();
        assert_eq!(token.len(), 51);
        assert!(token.starts_with("sgat_"));
        assert!(is_well_formed(token.as_bytes(), SecretKind::AccessToken));
        assert!(!is_well_formed(
            token.as_bytes(),
            SecretKind::AdminCredential
        ));
        assert_eq!(hash, sha256(token.as_bytes()));
        let (key, _) = seal(SecretKind::AdminCredential, RANDOM).unwrap();
        assert!(key.starts_with("sgak_"));
        assert!(is_well_formed(key.as_bytes(), SecretKind::AdminCredential));
        for bad in [
            "",
            "short",
            &RANDOM.replace('0', "-"),
            &format!("{RANDOM}x"),
        ] {
            assert_eq!(
                seal(SecretKind::AccessToken, bad),
                Err(SealError::BadRandom)
            );
        }
    }

    #[test]
    fn the_checksum_is_crc32_ieee_in_base62_left_padded() {
        // CRC32("") is 0: all padding.
        assert_eq!(&checksum(b""), b"000000");
        // CRC32("123456789") is the IEEE check value 0xCBF43926; its base62, worked apart:
        // 3421780262 = 3·62^5 + 45·62^4 + 35·62^3 + 27·62^2 + 22·62 + 14 → "3jZRME".
        assert_eq!(0xCBF4_3926_u32, 3_421_780_262);
        assert_eq!(&checksum(b"123456789"), b"3jZRME");
    }

    /// The worked example of docs/tokens.md.
    #[test]
    fn the_documented_example_is_what_seal_makes() {
        let body = "sgat_0123456789abcdefghijABCDEFGHIJ0123456789";
        assert_eq!(CRC32.checksum(body.as_bytes()), 0xF7BB_2C32);
        assert_eq!(&checksum(body.as_bytes()), b"4XH9bG");
        let (token, _) = seal(SecretKind::AccessToken, RANDOM).unwrap();
        assert_eq!(token, "sgat_0123456789abcdefghijABCDEFGHIJ01234567894XH9bG");
    }

    #[test]
    fn any_change_breaks_the_shape() {
        let (token, _) = seal(SecretKind::AccessToken, RANDOM).unwrap();
        let t = token.as_bytes();
        assert!(!is_well_formed(&t[..50], SecretKind::AccessToken));
        for i in 5..51 {
            let mut changed = t.to_vec();
            changed[i] = if changed[i] == b'a' { b'b' } else { b'a' };
            assert!(!is_well_formed(&changed, SecretKind::AccessToken), "{i}");
        }
        let mut dash = t.to_vec();
        dash[7] = b'-';
        assert!(!is_well_formed(&dash, SecretKind::AccessToken));
    }

    fn found(bytes: &[u8]) -> Vec<(usize, SecretKind)> {
        scan(bytes).iter().map(|f| (f.offset, f.kind)).collect()
    }

    #[test]
    fn a_scan_finds_whole_secrets_of_both_kinds_and_nothing_else() {
        let (token, _) = seal(SecretKind::AccessToken, RANDOM).unwrap();
        let (key, _) = seal(SecretKind::AdminCredential, RANDOM).unwrap();
        let text = format!("a={token}\n\"{key}\" {token}");
        assert_eq!(
            found(text.as_bytes()),
            [
                (2, SecretKind::AccessToken),
                (55, SecretKind::AdminCredential),
                (108, SecretKind::AccessToken)
            ]
        );
        assert_eq!(found(token.as_bytes()), [(0, SecretKind::AccessToken)]);
        // Touching a word character on either side, it is part of a longer word.
        for touching in [
            format!("x{token}"),
            format!("_{token}"),
            format!("{token}0"),
            format!("{token}_"),
            token[..50].to_string(),
        ] {
            assert_eq!(found(touching.as_bytes()), [], "{touching}");
        }
        // Punctuation and non-ASCII bytes are not word characters.
        for apart in [
            format!("é{token}é"),
            format!("-{token}."),
            format!("/{token}/"),
        ] {
            assert_eq!(found(apart.as_bytes()).len(), 1, "{apart}");
        }
        // A wrong checksum, the wrong prefix, a character outside the alphabet.
        let mut wrong = token.clone().into_bytes();
        wrong[50] = if wrong[50] == b'0' { b'1' } else { b'0' };
        assert_eq!(found(&wrong), []);
        assert_eq!(found(token.replace("sgat_", "sgax_").as_bytes()), []);
        assert_eq!(found(token.replacen('0', "-", 1).as_bytes()), []);
        assert_eq!(found(b""), []);
        assert_eq!(found(b"sgat_"), []);
    }

    #[test]
    fn scan_json_names_offsets_and_kinds() {
        let (key, _) = seal(SecretKind::AdminCredential, RANDOM).unwrap();
        assert_eq!(
            scan_json(b"nothing here"),
            br#"{"secret_len":51,"findings":[]}"#
        );
        assert_eq!(
            String::from_utf8(scan_json(format!("key: {key}").as_bytes())).unwrap(),
            r#"{"secret_len":51,"findings":[{"offset":5,"kind":"admin_credential"}]}"#
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn text() -> impl Strategy<Value = Vec<u8>> {
            // Text dense in the characters that matter: word characters, underscores,
            // separators, the prefix letters and non-ASCII bytes.
            proptest::collection::vec(
                prop_oneof![
                    Just(b' '),
                    Just(b'\n'),
                    Just(b'_'),
                    Just(b's'),
                    Just(b'g'),
                    Just(0xc3),
                    any::<u8>(),
                ],
                0..300,
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1_000))]

            /// A sealed secret set apart by separators anywhere in random text is found where
            /// it is, with its kind.
            #[test]
            fn every_embedded_secret_is_found(
                before in text(),
                after in text(),
                random in "[0-9A-Za-z]{40}",
                admin in any::<bool>(),
            ) {
                let kind = if admin { SecretKind::AdminCredential } else { SecretKind::AccessToken };
                let (secret, _) = seal(kind, &random).unwrap();
                let mut bytes = before.clone();
                bytes.push(b' ');
                let offset = bytes.len();
                bytes.extend_from_slice(secret.as_bytes());
                bytes.push(b'\n');
                bytes.extend_from_slice(&after);
                let found = scan(&bytes);
                prop_assert!(found.contains(&Finding { offset, kind }), "{found:?}");
                // Whatever else is found is a real secret, whole and apart.
                for f in &found {
                    let s = &bytes[f.offset..f.offset + SECRET_LEN];
                    prop_assert!(is_well_formed(s, f.kind));
                }
            }

            /// Changing one character of a secret (to another of the alphabet) leaves nothing
            /// to find.
            #[test]
            fn a_one_character_change_is_not_found(
                random in "[0-9A-Za-z]{40}",
                at in 5..SECRET_LEN,
                with in "[0-9A-Za-z]",
            ) {
                let (secret, _) = seal(SecretKind::AccessToken, &random).unwrap();
                let mut bytes = secret.into_bytes();
                prop_assume!(bytes[at] != with.as_bytes()[0]);
                bytes[at] = with.as_bytes()[0];
                let text = [b"x = ".as_slice(), &bytes, b"\n"].concat();
                prop_assert_eq!(scan(&text), vec![]);
            }
        }
    }

    #[test]
    fn the_hash_is_sha256_in_lower_hex() {
        assert_eq!(
            &hex(&sha256(b"abc")),
            b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
