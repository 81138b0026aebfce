//! The request a forward-auth check asks about (§9): its method and URI, read from the check's
//! own headers.
//!
//! Fronts pass the client's headers on to the check (Caddy's `forward_auth`, Traefik's
//! ForwardAuth and nginx's `auth_request` all do) and set only the forwarding headers they know.
//! Whatever else arrives came from the client. So nothing is read one way here and another way
//! by the front or the upstream: a repeated header, two families that disagree, a value that is
//! two headers joined, or a header asking an upstream to act on another method or URL is
//! refused, never resolved by picking one.

use std::borrow::Cow;

use crate::decision::{Decision, Reason};
use crate::json::{Malformed, Reader};
use crate::lenient::{
    read_json, skip, value, Entries, Fields, Items, Object, Shape, Skipped, Text,
};
use crate::scope::ScopeSet;
use crate::wire::{self, needs_escape, write_text, Answer, Sink};

/// Which family of forwarding headers the front sets (`scopegate serve --forwarded-headers`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeaders {
    /// `X-Original-Method` and `X-Original-URI` (nginx); `X-Forwarded-*` are ignored.
    Original,
    /// `X-Forwarded-Method` and `X-Forwarded-Uri` (Caddy, Traefik); `X-Original-*` are ignored.
    Forwarded,
    /// Either family; when both are present they must name the same method and URI.
    #[default]
    Either,
}

impl ForwardedHeaders {
    pub const ALL: [ForwardedHeaders; 3] = [
        ForwardedHeaders::Original,
        ForwardedHeaders::Forwarded,
        ForwardedHeaders::Either,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            ForwardedHeaders::Original => "original",
            ForwardedHeaders::Forwarded => "forwarded",
            ForwardedHeaders::Either => "either",
        }
    }

    /// A `match`, as `Failure::parse` is; a test holds the two spellings together.
    pub fn parse(name: &str) -> Option<ForwardedHeaders> {
        match name {
            "original" => Some(ForwardedHeaders::Original),
            "forwarded" => Some(ForwardedHeaders::Forwarded),
            "either" => Some(ForwardedHeaders::Either),
            _ => None,
        }
    }

    fn reads(self, header: Header) -> bool {
        !matches!(
            (self, header.family()),
            (ForwardedHeaders::Original, Some(Family::Forwarded))
                | (ForwardedHeaders::Forwarded, Some(Family::Original))
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Original,
    Forwarded,
}

/// What a forwarding header names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Method,
    Uri,
}

impl Part {
    const fn noun(self) -> &'static str {
        match self {
            Part::Method => "method",
            Part::Uri => "URI",
        }
    }
}

/// Every header the check reads. A caller may hand over only these (`Header::NAMES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    OriginalMethod,
    OriginalUri,
    ForwardedMethod,
    ForwardedUri,
    Authorization,
    /// Method overrides: frameworks that honour them act on a method the check never saw.
    HttpMethodOverride,
    HttpMethod,
    MethodOverride,
    /// URL overrides, honoured by some frameworks and IIS modules, likewise for the path.
    OriginalUrl,
    RewriteUrl,
}

impl Header {
    pub const ALL: [Header; 10] = [
        Header::OriginalMethod,
        Header::OriginalUri,
        Header::ForwardedMethod,
        Header::ForwardedUri,
        Header::Authorization,
        Header::HttpMethodOverride,
        Header::HttpMethod,
        Header::MethodOverride,
        Header::OriginalUrl,
        Header::RewriteUrl,
    ];

    /// The header's name as the contract spells it, and in lower case. (A `match` rather than a
    /// table: indexing one would bring the module a bounds-check panic path, 4 KB of it.)
    const fn spellings(self) -> (&'static str, &'static str) {
        match self {
            Header::OriginalMethod => ("X-Original-Method", "x-original-method"),
            Header::OriginalUri => ("X-Original-URI", "x-original-uri"),
            Header::ForwardedMethod => ("X-Forwarded-Method", "x-forwarded-method"),
            Header::ForwardedUri => ("X-Forwarded-Uri", "x-forwarded-uri"),
            Header::Authorization => ("Authorization", "authorization"),
            Header::HttpMethodOverride => ("X-HTTP-Method-Override", "x-http-method-override"),
            Header::HttpMethod => ("X-HTTP-Method", "x-http-method"),
            Header::MethodOverride => ("X-Method-Override", "x-method-override"),
            Header::OriginalUrl => ("X-Original-URL", "x-original-url"),
            Header::RewriteUrl => ("X-Rewrite-URL", "x-rewrite-url"),
        }
    }

    /// The names in lower case, in `ALL`'s order.
    pub const NAMES: [&'static str; 10] = {
        let mut names = [""; 10];
        let mut i = 0;
        while i < names.len() {
            names[i] = Header::ALL[i].lower();
            i += 1;
        }
        names
    };

    /// `NAMES` as the JSON array `sg_check_header_names` answers with (a test holds the two
    /// together): written out, it costs the module no serializer for it.
    pub const NAMES_JSON: &'static str = concat!(
        r#"["x-original-method","x-original-uri","x-forwarded-method","x-forwarded-uri","#,
        r#""authorization","x-http-method-override","x-http-method","x-method-override","#,
        r#""x-original-url","x-rewrite-url"]"#
    );

    /// The name as the contract spells it.
    pub const fn name(self) -> &'static str {
        self.spellings().0
    }

    const fn lower(self) -> &'static str {
        self.spellings().1
    }

    /// The header a name names, in any letter case (HTTP field names are case-insensitive).
    pub fn find(name: &str) -> Option<Header> {
        // Hosts hand over names in lower case, as HTTP/2 and most servers hold them.
        Self::ALL
            .into_iter()
            .find(|h| h.lower() == name || h.lower().eq_ignore_ascii_case(name))
    }

    fn family(self) -> Option<Family> {
        match self {
            Header::OriginalMethod | Header::OriginalUri => Some(Family::Original),
            Header::ForwardedMethod | Header::ForwardedUri => Some(Family::Forwarded),
            _ => None,
        }
    }

    fn overrides(self) -> bool {
        matches!(
            self,
            Header::HttpMethodOverride
                | Header::HttpMethod
                | Header::MethodOverride
                | Header::OriginalUrl
                | Header::RewriteUrl
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Why the original request cannot be read. Each is `bad_input`, but for a URI that is not
/// UTF-8, which is `bad_path` (§4.1) and is answered here because no policy input can hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A header value holds a character above U+00FF: header values are bytes, one a character.
    NotBytes(Header),
    Repeated(Header),
    Override(Header),
    /// Both families name the part, differently.
    Disagree(Part),
    Missing(Part),
    NotAMethod,
    /// Whitespace: no request target holds it, but two headers joined with ", " do.
    NotOneUri,
    UriNotUtf8,
}

impl Refusal {
    pub const fn reason(self) -> Reason {
        match self {
            Refusal::UriNotUtf8 => Reason::BadPath,
            _ => Reason::BadInput,
        }
    }

    pub fn message(self) -> Cow<'static, str> {
        match self {
            Refusal::NotBytes(h) => Cow::Owned(format!(
                "the {} header holds a character that is not a byte",
                h.name()
            )),
            Refusal::Repeated(h) => Cow::Owned(format!(
                "the {} header is given more than once",
                h.name()
            )),
            Refusal::Override(h) => Cow::Owned(format!(
                "the {} header is refused: an upstream may act on it instead of the checked request",
                h.name()
            )),
            Refusal::Disagree(part) => Cow::Owned(format!(
                "X-Original-* and X-Forwarded-* name different {}s",
                part.noun()
            )),
            Refusal::Missing(_) => Cow::Borrowed(
                "the original method and URI are required (X-Original-Method and X-Original-URI, or X-Forwarded-Method and X-Forwarded-Uri)",
            ),
            Refusal::NotAMethod => Cow::Borrowed("the original method is not an HTTP method"),
            Refusal::NotOneUri => Cow::Borrowed(
                "the original URI holds whitespace: it is not one request target",
            ),
            Refusal::UriNotUtf8 => Cow::Borrowed("the original URI is not UTF-8"),
        }
    }

    /// The refusal as the check answers it, in the shape of a §5 decision.
    pub fn decision(self) -> Decision {
        Decision::early(self.reason(), self.message(), ScopeSet::EMPTY)
    }
}

/// The method and URI a check asks about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalRequest<'a> {
    pub method: Cow<'a, str>,
    pub uri: Cow<'a, str>,
    /// The one `Authorization` header's value, as a byte string: the credentials (§9).
    pub authorization: Option<Cow<'a, str>>,
}

/// Reads the original request from a check's headers, given as (name, value) pairs in the
/// order they arrived. Values are byte strings, a character per byte (as fetch's `Headers` and
/// Node hold them); the URI's bytes must be UTF-8. Headers the check does not read are ignored.
pub fn original_request<'a>(
    headers: &[(Cow<'a, str>, Cow<'a, str>)],
    mode: ForwardedHeaders,
) -> Result<OriginalRequest<'a>, Refusal> {
    let mut first: [Option<&Cow<'a, str>>; Header::ALL.len()] = [None; Header::ALL.len()];
    let mut repeated = [false; Header::ALL.len()];
    let mut not_bytes = [false; Header::ALL.len()];
    for (name, value) in headers {
        let Some(header) = Header::find(name).filter(|h| mode.reads(*h)) else {
            continue;
        };
        not_bytes[header.index()] |= !is_bytes(value);
        let slot = &mut first[header.index()];
        repeated[header.index()] |= slot.is_some();
        slot.get_or_insert(value);
    }
    // Judged in a fixed order, so that the answer does not depend on the order of the headers.
    if let Some(h) = Header::ALL.into_iter().find(|h| not_bytes[h.index()]) {
        return Err(Refusal::NotBytes(h));
    }
    if let Some(h) = Header::ALL.into_iter().find(|h| repeated[h.index()]) {
        return Err(Refusal::Repeated(h));
    }
    if let Some(h) = Header::ALL
        .into_iter()
        .find(|h| h.overrides() && first[h.index()].is_some())
    {
        return Err(Refusal::Override(h));
    }
    // What both families name must agree; what one names is taken (the other is absent, or
    // ignored by `mode`).
    let part = |part: Part, original: Header, forwarded: Header| match (
        first[original.index()],
        first[forwarded.index()],
    ) {
        (Some(a), Some(b)) if a != b => Err(Refusal::Disagree(part)),
        (Some(v), _) | (None, Some(v)) => Ok(v.clone()),
        (None, None) => Err(Refusal::Missing(part)),
    };
    let method = part(
        Part::Method,
        Header::OriginalMethod,
        Header::ForwardedMethod,
    )?;
    let uri = part(Part::Uri, Header::OriginalUri, Header::ForwardedUri)?;
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(Refusal::NotAMethod);
    }
    if contains_either(uri.as_bytes(), b' ', b'\t') {
        return Err(Refusal::NotOneUri);
    }
    Ok(OriginalRequest {
        method,
        uri: utf8_of_bytes(uri)?,
        authorization: first[Header::Authorization.index()].cloned(),
    })
}

/// Every character is at most U+00FF: in UTF-8, no lead byte above 0xC3 (U+0100 is C4 80).
fn is_bytes(text: &str) -> bool {
    text.is_ascii() || text.bytes().all(|b| b < 0xc4)
}

/// Whether `bytes` holds `a` or `b`.
fn contains_either(bytes: &[u8], a: u8, b: u8) -> bool {
    bytes.iter().any(|&c| c == a || c == b)
}

/// The text whose bytes `bytes` spells a character each.
fn utf8_of_bytes(bytes: Cow<'_, str>) -> Result<Cow<'_, str>, Refusal> {
    if bytes.is_ascii() {
        return Ok(bytes);
    }
    // Each character is one byte below 0x80, or (`is_bytes` held) a lead byte C2 or C3 and a
    // continuation byte carrying the low six bits.
    let mut raw = Vec::with_capacity(bytes.len());
    let mut utf8 = bytes.bytes();
    while let Some(b) = utf8.next() {
        raw.push(match b {
            ..0x80 => b,
            lead => (lead & 0x03) << 6 | (utf8.next().unwrap_or(0) & 0x3f),
        });
    }
    String::from_utf8(raw)
        .map(Cow::Owned)
        .map_err(|_| Refusal::UriNotUtf8)
}

/// RFC 9110's `tchar`: what a method (a token) is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl Answer for OriginalRequest<'_> {
    fn write(&self, out: &mut impl Sink) {
        out.put(br#"{"method":"#);
        write_text(out, &self.method);
        out.put(br#","uri":"#);
        write_text(out, &self.uri);
        out.put(b"}");
    }
}

impl OriginalRequest<'_> {
    /// The wire form `sg_original_request` answers with: `{"method","uri"}`.
    pub fn to_json(&self) -> Vec<u8> {
        // A method is a token, which has nothing to escape.
        if !self.method.bytes().all(is_tchar) || needs_escape(&self.uri) {
            return wire::to_vec(self);
        }
        // Without escapes the size is known: one pass instead of `exact`'s two.
        let mut out = Vec::with_capacity(self.method.len() + self.uri.len() + 22);
        out.put(br#"{"method":""#);
        out.put(self.method.as_bytes());
        out.put(br#"","uri":""#);
        out.put(self.uri.as_bytes());
        out.put(br#""}"#);
        out
    }
}

/// `sg_original_request`: JSON text of `{"forwarded_headers"?: "original"|"forwarded"|"either",
/// "headers": [[name, value], …]}`. The answer is `{"method","uri"}`, or a refusal shaped as a
/// §5 decision. Input that is not that shape, or repeats a key in any of its objects, is
/// `bad_input`.
pub fn original_request_json(input: &[u8]) -> Vec<u8> {
    match read_input(input) {
        Ok((mode, headers)) => match original_request(&headers, mode) {
            Ok(request) => request.to_json(),
            Err(refusal) => refusal.decision().to_json(),
        },
        Err(unreadable) => unreadable.to_json(),
    }
}

/// The family and the header pairs of `{"forwarded_headers"?, "headers"}`, the input of
/// `sg_original_request` and of a check's first call; a `bad_input` decision when it is not
/// that shape.
pub(crate) fn read_input(input: &[u8]) -> Result<(ForwardedHeaders, HeaderPairs<'_>), Decision> {
    // The host's layout first, as for a policy input; any other is read by the general reader.
    if let Some(read) = crate::bytes::text(input).and_then(read_compact) {
        return Ok(read);
    }
    let unreadable = || {
        Decision::early(
            Reason::BadInput,
            "the check's headers are not an object of forwarded_headers and headers, a list of [name, value] pairs",
            ScopeSet::EMPTY,
        )
    };
    // `None` too for a key repeated anywhere in the input (the reader refuses it).
    let Some(Object::Fields(fields)) = read_json::<Object<CheckHeaders>>(input) else {
        return Err(unreadable());
    };
    let mode = match fields.mode {
        None | Some(Text::Null) => ForwardedHeaders::default(),
        Some(Text::Str(name)) => match ForwardedHeaders::parse(&name) {
            Some(mode) => mode,
            None => return Err(unreadable()),
        },
        Some(Text::Other) => return Err(unreadable()),
    };
    let Some(Pairs::Items(headers)) = fields.headers else {
        return Err(unreadable());
    };
    Ok((mode, headers))
}

/// The input laid out as the host writes it: the family named, then `[name, value]` pairs, no
/// whitespace, no escapes. `None` where the text departs from that, for the general reader to
/// read from the start (it answers alike wherever this one answers; a test holds them together).
/// Each key is matched as literal text once, in a fixed order, so a repeated key departs from
/// the layout and is refused by the general reader.
fn read_compact(text: &str) -> Option<(ForwardedHeaders, HeaderPairs<'_>)> {
    let mut json = Reader::new(text);
    let expect = |json: &mut Reader<'_>, word: &[u8]| json.eat(word).then_some(());
    expect(&mut json, br#"{"forwarded_headers":""#)?;
    let mode = ForwardedHeaders::parse(json.plain_string()?)?;
    expect(&mut json, br#","headers":["#)?;
    let mut headers = Vec::with_capacity(4);
    if !json.eat(b"]") {
        loop {
            expect(&mut json, br#"[""#)?;
            let name = json.plain_string()?;
            expect(&mut json, br#",""#)?;
            let value = json.plain_string()?;
            headers.push((Cow::Borrowed(name), Cow::Borrowed(value)));
            if json.eat(b"]]") {
                break;
            }
            expect(&mut json, b"],")?;
        }
    }
    expect(&mut json, b"}")?;
    json.at_end().then_some((mode, headers))
}

#[derive(Default)]
struct CheckHeaders<'a> {
    mode: Option<Text<'a>>,
    headers: Option<Pairs<'a>>,
}

impl<'a> Fields<'a> for CheckHeaders<'a> {
    fn field(&mut self, key: &str, map: &mut Entries<'a, '_>) -> Result<(), Malformed> {
        match key {
            "forwarded_headers" => self.mode = Some(value(map)?),
            "headers" => self.headers = Some(value(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// A check's headers as read: (name, value) in the order they came.
pub(crate) type HeaderPairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// A list of `[name, value]` pairs of strings; anything else is `Other`.
enum Pairs<'a> {
    Other,
    Items(HeaderPairs<'a>),
}

impl<'a> Shape<'a> for Pairs<'a> {
    fn other() -> Self {
        Pairs::Other
    }

    fn seq(items: &mut Items<'a, '_>) -> Result<Self, Malformed> {
        let mut pairs = Vec::new();
        while let Some(pair) = items.next::<Pair>()? {
            match pair {
                Pair::Pair(name, value) => pairs.push((name, value)),
                Pair::Other => return Ok(Pairs::Other),
            }
        }
        Ok(Pairs::Items(pairs))
    }
}

enum Pair<'a> {
    Other,
    Pair(Cow<'a, str>, Cow<'a, str>),
}

impl<'a> Shape<'a> for Pair<'a> {
    fn other() -> Self {
        Pair::Other
    }

    fn seq(items: &mut Items<'a, '_>) -> Result<Self, Malformed> {
        let name = items.next::<Text>()?;
        let value = items.next::<Text>()?;
        let more = items.next::<Skipped>()?;
        Ok(match (name, value, more) {
            (Some(Text::Str(name)), Some(Text::Str(value)), None) => Pair::Pair(name, value),
            _ => Pair::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(headers: &[(&str, &str)], mode: ForwardedHeaders) -> Result<(String, String), Refusal> {
        let headers: Vec<_> = headers
            .iter()
            .map(|(n, v)| (Cow::Borrowed(*n), Cow::Borrowed(*v)))
            .collect();
        original_request(&headers, mode).map(|r| (r.method.into_owned(), r.uri.into_owned()))
    }

    #[test]
    fn each_mode_is_read_by_its_name_alone() {
        for mode in ForwardedHeaders::ALL {
            assert_eq!(ForwardedHeaders::parse(mode.name()), Some(mode));
        }
        assert_eq!(ForwardedHeaders::parse("Original"), None);
        assert_eq!(ForwardedHeaders::parse(""), None);
    }

    const GET_API: [(&str, &str); 2] = [("X-Original-Method", "GET"), ("X-Original-URI", "/a")];
    const DELETE_WEB: [(&str, &str); 2] =
        [("X-Forwarded-Method", "DELETE"), ("X-Forwarded-Uri", "/b")];

    #[test]
    fn each_family_alone_is_read_in_either_mode() {
        for headers in [&GET_API[..], &DELETE_WEB[..]] {
            let expect = (headers[0].1.to_string(), headers[1].1.to_string());
            assert_eq!(read(headers, ForwardedHeaders::Either), Ok(expect));
        }
    }

    #[test]
    fn both_families_must_agree_unless_one_is_pinned() {
        let both: Vec<_> = GET_API.iter().chain(&DELETE_WEB).copied().collect();
        assert_eq!(
            read(&both, ForwardedHeaders::Either),
            Err(Refusal::Disagree(Part::Method))
        );
        assert_eq!(
            read(&both, ForwardedHeaders::Original),
            Ok(("GET".into(), "/a".into()))
        );
        assert_eq!(
            read(&both, ForwardedHeaders::Forwarded),
            Ok(("DELETE".into(), "/b".into()))
        );
        // One family's method with the other's URI, agreeing where both speak.
        let mixed = [
            ("X-Original-Method", "GET"),
            ("X-Forwarded-Method", "GET"),
            ("X-Forwarded-Uri", "/b"),
            ("x-original-uri", "/c"),
        ];
        assert_eq!(
            read(&mixed, ForwardedHeaders::Either),
            Err(Refusal::Disagree(Part::Uri))
        );
        // A pinned family is required whole: the other one never fills a gap.
        assert_eq!(
            read(&DELETE_WEB, ForwardedHeaders::Original),
            Err(Refusal::Missing(Part::Method))
        );
    }

    #[test]
    fn a_repeat_in_any_letter_case_is_refused() {
        let repeated = [
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/a"),
            ("x-original-uri", "/a"),
        ];
        assert_eq!(
            read(&repeated, ForwardedHeaders::Either),
            Err(Refusal::Repeated(Header::OriginalUri))
        );
        // Repeats of an ignored family do not matter; of Authorization they do.
        let ignored = [&GET_API[..], &DELETE_WEB[..], &DELETE_WEB[..]].concat();
        assert!(read(&ignored, ForwardedHeaders::Original).is_ok());
        let auth = [
            &GET_API[..],
            &[("Authorization", "Bearer a"), ("authorization", "Bearer b")],
        ]
        .concat();
        assert_eq!(
            read(&auth, ForwardedHeaders::Original),
            Err(Refusal::Repeated(Header::Authorization))
        );
    }

    #[test]
    fn joined_repeats_are_refused() {
        for (method, uri, refusal) in [
            ("GET, DELETE", "/a", Refusal::NotAMethod),
            ("GET", "/a, /b", Refusal::NotOneUri),
            ("", "/a", Refusal::NotAMethod),
            ("GET", "/a\t", Refusal::NotOneUri),
        ] {
            let h = [("X-Original-Method", method), ("X-Original-URI", uri)];
            assert_eq!(read(&h, ForwardedHeaders::Either), Err(refusal), "{h:?}");
        }
    }

    #[test]
    fn overrides_are_refused_in_every_mode() {
        for mode in ForwardedHeaders::ALL {
            for name in [
                "X-HTTP-Method-Override",
                "x-http-method",
                "X-Method-Override",
            ] {
                let h = [&GET_API[..], &DELETE_WEB[..], &[(name, "GET")]].concat();
                assert!(
                    matches!(read(&h, mode), Err(Refusal::Override(_))),
                    "{mode:?} {name}"
                );
            }
        }
    }

    #[test]
    fn uri_bytes_must_be_utf8() {
        let uri = |u: &str| {
            read(
                &[("X-Original-Method", "GET"), ("X-Original-URI", u)],
                ForwardedHeaders::Either,
            )
        };
        // "é" as the two bytes of its UTF-8 form, a character each, as Node holds them.
        assert_eq!(uri("/caf\u{c3}\u{a9}"), Ok(("GET".into(), "/café".into())));
        assert_eq!(uri("/caf\u{e9}"), Err(Refusal::UriNotUtf8));
        assert_eq!(uri("/\u{ff}"), Err(Refusal::UriNotUtf8));
        assert_eq!(
            uri("/caf\u{20ac}"),
            Err(Refusal::NotBytes(Header::OriginalUri))
        );
        assert_eq!(Refusal::UriNotUtf8.reason(), Reason::BadPath);
    }

    /// Every vector in the host's layout (read by the compact reader) and with a space after
    /// the opening brace (read by the general reader) is answered alike; and the compact reader
    /// reads the host's layout, where it would otherwise only be as good as a fallback.
    #[test]
    fn both_readers_read_alike() {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/original_request.json"
        );
        let vectors: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(file).expect("vectors")).expect("json");
        let mut compact_read = 0;
        for v in &vectors {
            let input = &v["input"];
            let (Some(headers), mode) = (input["headers"].as_array(), &input["forwarded_headers"])
            else {
                continue;
            };
            let Some(mode) = mode.as_str().or(mode.is_null().then_some("either")) else {
                continue;
            };
            let pairs: Vec<String> = headers.iter().map(|p| p.to_string()).collect();
            let compact = format!(
                r#"{{"forwarded_headers":{},"headers":[{}]}}"#,
                serde_json::Value::from(mode),
                pairs.join(",")
            );
            let spaced = compact.replacen('{', "{ ", 1);
            assert_eq!(
                original_request_json(compact.as_bytes()),
                original_request_json(spaced.as_bytes()),
                "{compact}"
            );
            compact_read += usize::from(read_compact(&compact).is_some());
        }
        assert!(compact_read > 30, "{compact_read}");
    }

    #[test]
    fn the_names_json_lists_the_names() {
        let names: Vec<String> = serde_json::from_str(Header::NAMES_JSON).unwrap();
        assert_eq!(names, Header::NAMES);
        for h in Header::ALL {
            assert_eq!(Header::find(h.name()), Some(h));
            assert_eq!(h.name().to_ascii_lowercase(), h.lower());
        }
    }

    #[test]
    fn the_wire_forms() {
        let text = |json: &str| String::from_utf8(original_request_json(json.as_bytes())).unwrap();
        assert_eq!(
            text(r#"{"headers":[["x-original-method","GET"],["X-Original-URI","/a\"b"]]}"#),
            r#"{"method":"GET","uri":"/a\"b"}"#
        );
        for bad in [
            r#"{"headers":[["x-original-method","GET","x"]]}"#,
            r#"{"headers":[["x-original-method",1]]}"#,
            r#"{"headers":{}}"#,
            r#"{"forwarded_headers":"both","headers":[]}"#,
            r#"{"forwarded_headers":"original","forwarded_headers":"forwarded","headers":[]}"#,
            r#"{"headers":[],"headers":[]}"#,
            r#"[]"#,
        ] {
            let answer: serde_json::Value = serde_json::from_str(&text(bad)).unwrap();
            assert_eq!(answer["reason"], "bad_input", "{bad}");
        }
        let refused: serde_json::Value =
            serde_json::from_str(&text(r#"{"forwarded_headers":"forwarded","headers":[["x-original-method","GET"],["x-original-uri","/a"]]}"#)).unwrap();
        assert_eq!(refused["status"], 403);
        assert_eq!(refused["reason"], "bad_input");
        assert_eq!(refused["operation"], serde_json::Value::Null);
    }
}
