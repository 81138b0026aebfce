//! Turning a request path into decoded segments and telling API, git and website paths apart (§4.1).

use std::borrow::Cow;

use crate::bytes;

/// Why a path is refused before any matching (`bad_path`). The code names the rule that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    NotAbsolute,
    BadPercentEncoding,
    NotUtf8,
    DotSegment,
    /// A segment that decodes to one holding `.` or `..` between `/` or `\`: fronts resolve
    /// it before they route, so the check and the upstream would see different resources.
    HiddenDotSegment,
    EmptySegment,
    ControlCharacter,
    GitServiceUnknown,
    GitServiceRepeated,
}

impl PathError {
    pub const fn describe(self) -> &'static str {
        match self {
            PathError::NotAbsolute => "the path does not start with '/'",
            PathError::BadPercentEncoding => "a path segment has invalid percent-encoding",
            PathError::NotUtf8 => "a path segment does not decode to UTF-8",
            PathError::DotSegment => "a path segment is '.' or '..'",
            PathError::HiddenDotSegment => {
                "a path segment decodes to one holding '.' or '..' between slashes or backslashes"
            }
            PathError::EmptySegment => "the path has an empty segment",
            PathError::ControlCharacter => "the path contains a control character",
            PathError::GitServiceUnknown => "the git 'service' parameter names no git service",
            PathError::GitServiceRepeated => "the git 'service' parameter is given more than once",
        }
    }
}

/// One of the two git smart-HTTP services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitService {
    UploadPack,
    ReceivePack,
}

impl GitService {
    fn parse(name: &str) -> Option<GitService> {
        match name {
            "git-upload-pack" => Some(GitService::UploadPack),
            "git-receive-pack" => Some(GitService::ReceivePack),
            _ => None,
        }
    }
}

/// The three endpoints of git smart HTTP under a repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitEndpoint {
    /// `GET …/info/refs`, advertising refs for the service named in the query.
    InfoRefs(GitService),
    /// `POST …/git-upload-pack` or `POST …/git-receive-pack`.
    Pack(GitService),
}

/// A request path that passed §4.1, classified.
#[derive(Debug, PartialEq, Eq)]
pub enum RequestPath<'a> {
    /// Under `/2.0`: the decoded segments after the prefix.
    Api(Vec<Cow<'a, str>>),
    Git {
        workspace: Cow<'a, str>,
        repository: Cow<'a, str>,
        endpoint: GitEndpoint,
    },
    /// Anything else is the website.
    Web,
}

const API_PREFIX: &[u8] = b"2.0";

/// Parses a request target (path plus optional `?query` and `#fragment`).
pub fn parse(target: &str) -> Result<RequestPath<'_>, PathError> {
    let bytes = target.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    // One pass over the bytes up to the query or fragment finds each '/' and whether the
    // segment before it needs decoding, eight bytes at a time.
    let mut segments = Vec::with_capacity(8);
    let mut api = false;
    let mut start = 1;
    let mut plain = true;
    let mut at = 1;
    let end = loop {
        let (offset, found) = next_special(bytes, at);
        plain &= found;
        at = offset;
        match bytes.get(at) {
            Some(b'/') => {
                let segment = decode_segment(segment(target, start, at), plain)?;
                if start == 1 && segment.as_bytes() == API_PREFIX {
                    api = true;
                } else {
                    segments.push(segment);
                }
                at += 1;
                start = at;
                plain = true;
            }
            _ => break at,
        }
    };
    let query = match bytes.get(end) {
        Some(b'?') => {
            let rest = target.get(end + 1..).unwrap_or_default();
            Some(rest.split_once('#').map_or(rest, |(query, _)| query))
        }
        _ => None,
    };
    // The last segment. When it is empty, the path is "/" or ends in one trailing slash, which
    // names the same resource as none; any other empty segment was refused in the loop.
    if start < end {
        let segment = decode_segment(segment(target, start, end), plain)?;
        if start == 1 && segment.as_bytes() == API_PREFIX {
            api = true;
        } else {
            segments.push(segment);
        }
    }
    if api {
        return Ok(RequestPath::Api(segments));
    }
    classify_git(segments, query)
}

/// The index of the first '/', '?' or '#' at or after `from` (the length when there is none),
/// and whether every byte before it is plain: printable ASCII other than '%' and '\'.
fn next_special(bytes: &[u8], from: usize) -> (usize, bool) {
    let mut at = from;
    let mut plain = true;
    while let Some(word) = bytes::word(bytes, at) {
        let special =
            bytes::equal(word, b'/') | bytes::equal(word, b'?') | bytes::equal(word, b'#');
        let unplain = bytes::equal(word, b'%')
            | bytes::equal(word, b'\\')
            | bytes::below(word, 0x20)
            | bytes::equal(word, 0x7f)
            | bytes::high(word);
        let n = bytes::first(special);
        plain &= bytes::before(unplain, n) == 0;
        at += n;
        if n < 8 {
            return (at, plain);
        }
    }
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'/' | b'?' | b'#' => break,
            b'%' | b'\\' | ..=0x1f | 0x7f.. => plain = false,
            _ => {}
        }
        at += 1;
    }
    (at, plain)
}

/// The text between two delimiters the scan found. Taken with `get`, not indexing, though a
/// delimiter is ASCII and so always a character boundary: indexing brings the module the
/// standard library's panic message for a boundary it never crosses, with its character
/// formatting tables. Were it ever `None`, the empty segment is refused.
fn segment(target: &str, start: usize, end: usize) -> &str {
    target.get(start..end).unwrap_or_default()
}

/// One raw segment; `plain` says it holds only printable ASCII without '%' or '\', so that nearly
/// every segment is its own decoding without a second look at its bytes. Inlined, so that such
/// a segment costs no call: in wasm, a call's entry was most of its cost.
#[inline(always)]
fn decode_segment(raw: &str, plain: bool) -> Result<Cow<'_, str>, PathError> {
    // Not empty, '.' or '..': longer than two bytes, or with a byte that is no dot among the
    // first and last. Tested so rather than by a `match` on the bytes, which compiled to a jump
    // table per segment.
    let b = raw.as_bytes();
    let named = b.len() > 2
        || b.first().is_some_and(|&c| c != b'.')
        || b.last().is_some_and(|&c| c != b'.');
    if plain && named {
        return Ok(Cow::Borrowed(raw));
    }
    decode_rare_segment(raw)
}

/// A segment that is empty, a dot segment, or has escapes, a backslash or bytes outside
/// printable ASCII.
#[inline(never)]
fn decode_rare_segment(raw: &str) -> Result<Cow<'_, str>, PathError> {
    if raw.is_empty() {
        return Err(PathError::EmptySegment);
    }
    let decoded = percent_decode(raw)?;
    if decoded == "." || decoded == ".." {
        return Err(PathError::DotSegment);
    }
    if decoded
        .as_bytes()
        .split(|&b| b == b'/' || b == b'\\')
        .any(|piece| piece == b"." || piece == b"..")
    {
        return Err(PathError::HiddenDotSegment);
    }
    if decoded.chars().any(char::is_control) {
        return Err(PathError::ControlCharacter);
    }
    Ok(decoded)
}

fn percent_decode(raw: &str) -> Result<Cow<'_, str>, PathError> {
    if !raw.contains('%') {
        return Ok(Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|b| hex_value(*b));
            let lo = bytes.get(i + 2).and_then(|b| hex_value(*b));
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => return Err(PathError::BadPercentEncoding),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| PathError::NotUtf8)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn classify_git<'a>(
    mut segments: Vec<Cow<'a, str>>,
    query: Option<&str>,
) -> Result<RequestPath<'a>, PathError> {
    let endpoint = match segments.as_slice() {
        [_, _, info, refs] if info == "info" && refs == "refs" => {
            Some(GitEndpoint::InfoRefs(service_from_query(query)?))
        }
        [_, _, pack] => GitService::parse(pack).map(GitEndpoint::Pack),
        _ => None,
    };
    let Some(endpoint) = endpoint else {
        return Ok(RequestPath::Web);
    };
    segments.truncate(2);
    let repository = segments.pop().unwrap_or_default();
    let workspace = segments.pop().unwrap_or_default();
    let repository = strip_git_suffix(repository);
    if repository.is_empty() {
        return Ok(RequestPath::Web);
    }
    Ok(RequestPath::Git {
        workspace,
        repository,
        endpoint,
    })
}

fn strip_git_suffix(name: Cow<'_, str>) -> Cow<'_, str> {
    match name {
        Cow::Borrowed(s) => Cow::Borrowed(s.strip_suffix(".git").unwrap_or(s)),
        Cow::Owned(s) => Cow::Owned(s.strip_suffix(".git").unwrap_or(&s).to_owned()),
    }
}

/// The `service` rule of git's `info/refs`: absent means upload-pack (dumb and smart clients
/// both read refs); present, it must be given once and name a service.
fn service_from_query(query: Option<&str>) -> Result<GitService, PathError> {
    let mut found = None;
    for pair in query.unwrap_or("").split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(name).ok().as_deref() != Some("service") {
            continue;
        }
        if found.is_some() {
            return Err(PathError::GitServiceRepeated);
        }
        let value = percent_decode(value).map_err(|_| PathError::GitServiceUnknown)?;
        found = Some(GitService::parse(&value).ok_or(PathError::GitServiceUnknown)?);
    }
    Ok(found.unwrap_or(GitService::UploadPack))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(path: &str) -> Vec<String> {
        match parse(path) {
            Ok(RequestPath::Api(segs)) => segs.into_iter().map(Cow::into_owned).collect(),
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn decodes_each_segment_on_its_own() {
        assert_eq!(api("/2.0/a/feature%2Flogin"), ["a", "feature/login"]);
        assert_eq!(api("/2.0/a/"), ["a"]);
        assert_eq!(api("/2.0?x#y"), Vec::<String>::new());
    }

    /// Separators, escapes and control bytes at every offset of the eight-byte words the
    /// scanner reads.
    #[test]
    fn finds_every_boundary_at_every_offset() {
        for n in 1..20 {
            let name = "a".repeat(n);
            assert_eq!(
                api(&format!("/2.0/{name}/b%41?x/y#z")),
                [name.as_str(), "bA"]
            );
            assert_eq!(api(&format!("/2.0/{name}#/c")), [name.as_str()]);
            assert_eq!(api(&format!("/2.0/{name}/")), [name.as_str()]);
            assert_eq!(api(&format!("/2.0/{name}%2Fc")), [format!("{name}/c")]);
            assert_eq!(
                api(&format!("/2.0/{name}\u{e9}")),
                [format!("{name}\u{e9}")]
            );
            assert_eq!(
                parse(&format!("/2.0/{name}\x7fb")),
                Err(PathError::ControlCharacter)
            );
            assert_eq!(
                parse(&format!("/2.0/{name}\tb")),
                Err(PathError::ControlCharacter)
            );
            assert_eq!(
                parse(&format!("/2.0/{name}//")),
                Err(PathError::EmptySegment)
            );
        }
    }

    #[test]
    fn refuses_what_section_4_1_refuses() {
        for (path, err) in [
            ("", PathError::NotAbsolute),
            ("2.0/user", PathError::NotAbsolute),
            ("/2.0//user", PathError::EmptySegment),
            ("/2.0/user//", PathError::EmptySegment),
            ("/2.0/%2e", PathError::DotSegment),
            ("/2.0/%zz", PathError::BadPercentEncoding),
            ("/2.0/%4", PathError::BadPercentEncoding),
            ("/2.0/%ff", PathError::NotUtf8),
            ("/2.0/a%0ab", PathError::ControlCharacter),
            ("/2.0/a\tb", PathError::ControlCharacter),
            ("/a/b/info/refs?service=x", PathError::GitServiceUnknown),
            (
                "/a/b/info/refs?service=git-upload-pack&service=git-upload-pack",
                PathError::GitServiceRepeated,
            ),
        ] {
            assert_eq!(parse(path), Err(err), "{path}");
        }
    }

    /// §4.1: what a front would resolve as a dot segment once it decodes the segment.
    #[test]
    fn refuses_dot_segments_hidden_in_a_segment() {
        for raw in [
            "..%2F",
            "%2F..",
            ".%2F",
            "%2F.",
            "%5C..%5C",
            "..%5c",
            "..%2f",
            "%2e%2e%2f",
            "a%2F..%2Fb",
            "a%2F.%2Fb",
            "..%2F..%2Fweb",
            "a%2F..",
            "..\\a",
            "a\\.\\b",
        ] {
            for path in [
                format!("/2.0/repositories/acme/api/src/main/{raw}"),
                format!("/2.0/repositories/acme/api/src/main/x/{raw}/y"),
                format!("/2.0/repositories/acme/{raw}"),
                format!("/acme/{raw}/info/refs"),
            ] {
                assert_eq!(parse(&path), Err(PathError::HiddenDotSegment), "{path}");
            }
        }
        // Dots that are not a whole piece, and encoded slashes between names, are names.
        for (raw, decoded) in [
            ("feature%2Fx", "feature/x"),
            ("dir%2Ffile.md", "dir/file.md"),
            ("...%2F", ".../"),
            ("a..b%2F.c", "a..b/.c"),
            ("%2F", "/"),
            ("a%5Cb", "a\\b"),
            ("a\\b", "a\\b"),
        ] {
            assert_eq!(api(&format!("/2.0/x/{raw}")), ["x", decoded], "{raw}");
        }
    }

    #[test]
    fn recognises_git_paths() {
        assert_eq!(
            parse("/acme/api.git/info/refs?service=git-receive-pack"),
            Ok(RequestPath::Git {
                workspace: "acme".into(),
                repository: "api".into(),
                endpoint: GitEndpoint::InfoRefs(GitService::ReceivePack),
            })
        );
        assert_eq!(parse("/acme/.git/info/refs"), Ok(RequestPath::Web));
        assert_eq!(parse("/acme/api/src/main/x"), Ok(RequestPath::Web));
    }
}
