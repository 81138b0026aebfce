//! The credentials of a check (§9): `Authorization: Bearer <token>`, or `Basic` with the user
//! `x-token-auth` and the token as its password, as git sends them.

use std::borrow::Cow;

use base64ct::Encoding as _;

/// Why an `Authorization` header holds no usable credential. Each is `token_malformed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialError {
    NotBase64,
    NotUtf8,
    NoPassword,
    WrongUser,
    UnknownScheme,
}

impl CredentialError {
    pub const fn message(self) -> &'static str {
        match self {
            CredentialError::NotBase64 => "Basic credentials are not base64",
            CredentialError::NotUtf8 => "Basic credentials are not UTF-8",
            CredentialError::NoPassword => "Basic credentials have no password",
            CredentialError::WrongUser => "Basic credentials must use the user x-token-auth",
            CredentialError::UnknownScheme => {
                "unsupported Authorization scheme (use Bearer or Basic)"
            }
        }
    }
}

/// The user git is told to send (`https://x-token-auth:<token>@host/…`), as Bitbucket's.
pub const BASIC_USER: &str = "x-token-auth";

/// The secret an `Authorization` value presents, as bytes: `Ok(None)` when it is absent or
/// blank. The value is the header's bytes; schemes compare without letter case (RFC 9110).
pub fn secret(value: Option<&[u8]>) -> Result<Option<Cow<'_, [u8]>>, CredentialError> {
    let Some(value) = value.map(<[u8]>::trim_ascii).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let (scheme, rest) = match value.iter().position(|&b| b == b' ') {
        Some(space) => (&value[..space], value[space + 1..].trim_ascii()),
        None => (value, &b""[..]),
    };
    if scheme.eq_ignore_ascii_case(b"bearer") {
        return Ok(Some(Cow::Borrowed(rest)));
    }
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Err(CredentialError::UnknownScheme);
    }
    // Strict: canonical padding and no stray bits, so that one credential has one spelling.
    let decoded = base64ct::Base64::decode_vec(
        core::str::from_utf8(rest).map_err(|_| CredentialError::NotBase64)?,
    )
    .map_err(|_| CredentialError::NotBase64)?;
    let decoded = String::from_utf8(decoded).map_err(|_| CredentialError::NotUtf8)?;
    let (user, password) = decoded.split_once(':').ok_or(CredentialError::NoPassword)?;
    if user != BASIC_USER {
        return Err(CredentialError::WrongUser);
    }
    Ok(Some(Cow::Owned(password.as_bytes().to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(userpass: &str) -> Vec<u8> {
        let encoded = base64ct::Base64::encode_string(userpass.as_bytes());
        format!("Basic {encoded}").into_bytes()
    }

    #[test]
    fn bearer_and_basic_present_the_token() {
        let t = Ok(Some(Cow::Borrowed(&b"sgat_x"[..])));
        assert_eq!(secret(Some(b"Bearer sgat_x")), t);
        assert_eq!(secret(Some(b"  bEaReR   sgat_x  ")), t);
        assert_eq!(secret(Some(&basic("x-token-auth:sgat_x"))), t);
        assert_eq!(secret(Some(b"Bearer")), Ok(Some(Cow::Borrowed(&b""[..]))));
    }

    #[test]
    fn absent_and_refused_credentials() {
        assert_eq!(secret(None), Ok(None));
        assert_eq!(secret(Some(b"   ")), Ok(None));
        assert_eq!(
            secret(Some(&basic("git:sgat_x"))),
            Err(CredentialError::WrongUser)
        );
        assert_eq!(
            secret(Some(&basic("x-token-auth"))),
            Err(CredentialError::NoPassword)
        );
        assert_eq!(
            secret(Some(b"Basic eC10b2tlbi1hdXRoOnNnYXRfeA")),
            Err(CredentialError::NotBase64),
            "padding is required"
        );
        assert_eq!(
            secret(Some(b"Basic eC10b2tlbi1hdXRoOnNnYXRfeB==")),
            Err(CredentialError::NotBase64),
            "the bits past the last byte must be zero"
        );
        assert_eq!(
            secret(Some(b"Basic eC10b2tlbi1hdXRoOnNnYXRfeA=")),
            Err(CredentialError::NotBase64),
            "padding must be whole"
        );
        assert_eq!(secret(Some(b"Basic /w==")), Err(CredentialError::NotUtf8));
        assert_eq!(
            secret(Some(b"Token sgat_x")),
            Err(CredentialError::UnknownScheme)
        );
    }
}
