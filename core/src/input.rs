//! Reading the policy input (§5 "Policy input"), keeping rows 1 and 2 apart: a malformed envelope
//! is `bad_input`, a malformed token is `invalid_claims`. One pass over the JSON, borrowing strings.

use std::borrow::Cow;

use crate::claims::{Binding, Claims, TokenKind};
use crate::json::{Malformed, Reader, Unreadable};
use crate::lenient::{
    entry_into, read_json_object_into, skip, value, Entries, Fields, Flag, Found, Int, Items,
    Shape, Text,
};
use crate::scope::{Scope, ScopeSet};

/// The request under decision, as the gateway saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: Cow<'a, str>,
    /// Path with optional query and fragment, as sent.
    pub path: Cow<'a, str>,
}

/// Everything `authorize` decides on, once it has passed rows 1 and 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizeInput<'a> {
    pub claims: Claims<'a>,
    pub request: Request<'a>,
    /// Unix seconds; the policy has no clock of its own.
    pub now: i64,
    /// The project of the repository the request targets, when the caller knows it.
    pub repository_project: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    BadInput(&'static str),
    /// An object of the input names this key twice (§5 row 1), clipped as messages clip what a
    /// caller wrote. `bad_input` like the others, with its own message.
    RepeatedKey(String),
    InvalidClaims(Cow<'static, str>),
}

/// Reads a policy input from JSON text; trailing bytes after the value are refused, and so is a
/// key repeated in any object of it, read or not.
pub fn parse_authorize_json(input: &[u8]) -> Result<AuthorizeInput<'_>, InputError> {
    use InputError::BadInput;
    // One UTF-8 check of the whole text lets either reader slice strings without checking each.
    let Some(text) = crate::bytes::text(input) else {
        return Err(BadInput("the input is not JSON"));
    };
    let mut top = TopFields::default();
    if read_compact(&mut Reader::new(text), &mut top).is_none() {
        top = TopFields::default();
        read_general(text, &mut top)?;
    }
    from_fields(&mut top)
}

/// The general reader's part of `parse_authorize_json`, out of line: the host's inputs never
/// take it, and inlined it made their path longer.
#[inline(never)]
fn read_general<'a>(text: &'a str, top: &mut TopFields<'a>) -> Result<(), InputError> {
    use InputError::BadInput;
    match read_json_object_into(text, top) {
        Ok(Found::Object) => Ok(()),
        Ok(_) => Err(BadInput("the input is not a JSON object")),
        Err(Unreadable::Malformed) => Err(BadInput("the input is not JSON")),
        Err(Unreadable::RepeatedKey(key)) => Err(InputError::RepeatedKey(clip(&key).to_owned())),
    }
}

/// Reads an input laid out as the host writes it (keys in §5's order and each once, no
/// whitespace, no escapes, only known scopes) straight through into `top`, filling it as the
/// general reader would. `None` at the first byte that departs from that layout: the caller then
/// reads the text again with the general reader, which takes any layout. The general reader
/// decides what each value means either way (`from_fields`); this only finds the values, with
/// about a fifth of the general reader's instructions.
///
/// It needs no check for a repeated key, and so costs none: it matches each key as literal
/// text, at most once and in a fixed order, then the closing brace, so a repeated key is a
/// departure from the layout, and the general reader refuses it.
fn read_compact<'a>(json: &mut Reader<'a>, top: &mut TopFields<'a>) -> Option<()> {
    expect(json, br#"{"token":"#)?;
    read_compact_token(json, &mut top.token_fields)?;
    top.token = Found::Object;
    expect(json, br#","request":"#)?;
    read_compact_request(json, &mut top.request_fields)?;
    top.request = Found::Object;
    expect(json, br#","now":"#)?;
    top.now = Some(Int::Value(json.integer()?));
    if json.eat(br#","repository_project":"#) {
        top.repository_project = Some(match json.eat(b"null") {
            true => Text::Null,
            false => {
                expect(json, b"\"")?;
                text(json)?
            }
        });
    }
    expect(json, b"}")?;
    json.at_end().then_some(())
}

/// A token object laid out as the host writes it (§5's keys in order, each once, no whitespace,
/// no escapes, known scopes), read into `fields`: the token of a policy input, and the claims of
/// a check's second call. `None` where the text departs from that layout, as `read_compact`.
#[inline(always)]
pub(crate) fn read_compact_token<'a>(
    json: &mut Reader<'a>,
    token: &mut TokenFields<'a>,
) -> Option<()> {
    expect(json, br#"{"kind":""#)?;
    token.kind = Some(text(json)?);
    expect(json, br#","workspace":""#)?;
    token.workspace = Some(text(json)?);
    if json.eat(br#","project":""#) {
        token.project = Some(text(json)?);
    }
    if json.eat(br#","repository":""#) {
        token.repository = Some(text(json)?);
    }
    expect(json, br#","scopes":["#)?;
    let mut scopes = ScopeSet::EMPTY;
    if !json.eat(b"]") {
        loop {
            expect(json, b"\"")?;
            scopes.insert(Scope::parse(json.plain_string()?)?);
            if json.eat(b"]") {
                break;
            }
            expect(json, b",")?;
        }
    }
    token.scopes = Some(ScopeNames::List {
        scopes,
        problem: None,
    });
    expect(json, br#","expires_at":"#)?;
    token.expires_at = Some(match json.eat(b"null") {
        true => Int::Null,
        false => Int::Value(json.integer()?),
    });
    expect(json, br#","revoked":"#)?;
    token.revoked = Some(Flag::Bool(match json.eat(b"true") {
        true => true,
        false => json.eat(b"false").then_some(false)?,
    }));
    expect(json, b"}")
}

/// A request object, `{"method","path"}`, laid out as the host writes it, read into `fields`:
/// the request of a policy input, and the whole input of `sg_route`. `None` where the text
/// departs from that layout, as `read_compact` (and so for a repeated key).
#[inline(always)]
pub(crate) fn read_compact_request<'a>(
    json: &mut Reader<'a>,
    fields: &mut RequestFields<'a>,
) -> Option<()> {
    expect(json, br#"{"method":""#)?;
    fields.method = Some(text(json)?);
    expect(json, br#","path":""#)?;
    fields.path = Some(text(json)?);
    expect(json, b"}")
}

/// The rest of a string without escapes whose opening quote was consumed, as a string field.
#[inline(always)]
pub(crate) fn text<'a>(json: &mut Reader<'a>) -> Option<Text<'a>> {
    json.plain_string().map(|s| Text::Str(Cow::Borrowed(s)))
}

#[inline(always)]
pub(crate) fn expect(json: &mut Reader<'_>, word: &[u8]) -> Option<()> {
    json.eat(word).then_some(())
}

fn from_fields<'a>(top: &mut TopFields<'a>) -> Result<AuthorizeInput<'a>, InputError> {
    use InputError::BadInput;
    if top.token != Found::Object {
        return Err(BadInput("the input has no 'token' object"));
    }
    let (request, now, repository_project) = envelope(
        top.request,
        &mut top.request_fields,
        top.now,
        top.repository_project.take(),
    )
    .map_err(BadInput)?;
    let claims = claims(&mut top.token_fields).map_err(InputError::InvalidClaims)?;
    Ok(AuthorizeInput {
        claims,
        request,
        now,
        repository_project,
    })
}

/// The request, the time and the repository's project around a token: those of a policy input,
/// and of a check's second call. What row 1 refuses of them is the error.
pub(crate) fn envelope<'a>(
    request: Found,
    fields: &mut RequestFields<'a>,
    now: Option<Int>,
    repository_project: Option<Text<'a>>,
) -> Result<(Request<'a>, i64, Option<Cow<'a, str>>), &'static str> {
    if request != Found::Object {
        return Err("the input has no 'request' object");
    }
    let Some(Text::Str(method)) = fields.method.take() else {
        return Err("'request.method' is not a string");
    };
    let Some(Text::Str(path)) = fields.path.take() else {
        return Err("'request.path' is not a string");
    };
    let Some(Int::Value(now)) = now else {
        return Err("'now' is not an integer");
    };
    let repository_project = match repository_project {
        None | Some(Text::Null) => None,
        Some(Text::Str(project)) => Some(project),
        Some(Text::Other) => return Err("'repository_project' is neither a string nor null"),
    };
    Ok((Request { method, path }, now, repository_project))
}

/// The top level of a policy input. The token and request objects are read into their fields in
/// place (see `entry_into`); `token` and `request` say whether each was an object.
#[derive(Default)]
struct TopFields<'a> {
    token: Found,
    token_fields: TokenFields<'a>,
    request: Found,
    request_fields: RequestFields<'a>,
    now: Option<Int>,
    repository_project: Option<Text<'a>>,
}

impl<'de> Fields<'de> for TopFields<'de> {
    fn field(&mut self, key: &str, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            "token" => entry_into(map, &mut self.token_fields, &mut self.token)?,
            "request" => entry_into(map, &mut self.request_fields, &mut self.request)?,
            "now" => self.now = Some(value(map)?),
            "repository_project" => self.repository_project = Some(value(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// `{method, path}`: the request of a policy input, and the input of `sg_route`.
#[derive(Default)]
pub(crate) struct RequestFields<'a> {
    pub(crate) method: Option<Text<'a>>,
    pub(crate) path: Option<Text<'a>>,
}

impl<'de> Fields<'de> for RequestFields<'de> {
    fn field(&mut self, key: &str, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            "method" => self.method = Some(value(map)?),
            "path" => self.path = Some(value(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// The fields of a token object. Other fields than the contract's are skipped, so a host may pass
/// its whole record.
#[derive(Default)]
pub(crate) struct TokenFields<'a> {
    kind: Option<Text<'a>>,
    workspace: Option<Text<'a>>,
    project: Option<Text<'a>>,
    repository: Option<Text<'a>>,
    scopes: Option<ScopeNames>,
    expires_at: Option<Int>,
    revoked: Option<Flag>,
}

impl<'de> Fields<'de> for TokenFields<'de> {
    fn field(&mut self, key: &str, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            "kind" => self.kind = Some(value(map)?),
            "workspace" => self.workspace = Some(value(map)?),
            "project" => self.project = Some(value(map)?),
            "repository" => self.repository = Some(value(map)?),
            "scopes" => self.scopes = Some(value(map)?),
            "expires_at" => self.expires_at = Some(value(map)?),
            "revoked" => self.revoked = Some(value(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// A `scopes` array read into a set, remembering the first element that is no scope.
enum ScopeNames {
    Other,
    List {
        scopes: ScopeSet,
        problem: Option<Cow<'static, str>>,
    },
}

impl<'de> Shape<'de> for ScopeNames {
    fn other() -> Self {
        ScopeNames::Other
    }

    fn seq(items: &mut Items<'de, '_>) -> Result<Self, Malformed> {
        let mut scopes = ScopeSet::EMPTY;
        let mut problem = None;
        while let Some(item) = items.next::<Text<'de>>()? {
            let found = match &item {
                Text::Str(name) => Scope::parse(name)
                    .ok_or_else(|| Cow::Owned(format!("unknown scope '{}'", clip(name)))),
                _ => Err(Cow::Borrowed("'scopes' holds a value that is not a string")),
            };
            match found {
                Ok(scope) => scopes.insert(scope),
                Err(why) => {
                    problem.get_or_insert(why);
                }
            }
        }
        Ok(ScopeNames::List { scopes, problem })
    }
}

/// Checks a token's fields against §2, taking the strings it keeps.
pub(crate) fn claims<'a>(token: &mut TokenFields<'a>) -> Result<Claims<'a>, Cow<'static, str>> {
    let kind = match &token.kind {
        Some(Text::Str(kind)) => TokenKind::parse(kind),
        _ => None,
    }
    .ok_or("'kind' is not repository, project or workspace")?;
    let binding = binding(
        kind,
        token.workspace.take(),
        token.project.take(),
        token.repository.take(),
    )?;
    let scopes = match token.scopes.take() {
        Some(ScopeNames::List {
            problem: Some(why), ..
        }) => return Err(why),
        Some(ScopeNames::List { scopes, .. }) => scopes,
        _ => return Err(Cow::Borrowed("'scopes' is not an array")),
    };
    if let Some(scope) = scopes.iter().find(|s| !s.grantable_to(kind)) {
        return Err(Cow::Owned(format!(
            "a {} token cannot hold the scope '{scope}'",
            kind.as_str()
        )));
    }
    let expires_at = match token.expires_at {
        None | Some(Int::Null) => None,
        Some(Int::Value(at)) => Some(at),
        Some(Int::Other) => {
            return Err(Cow::Borrowed("'expires_at' is neither an integer nor null"))
        }
    };
    let revoked = match token.revoked {
        None | Some(Flag::Null) => false,
        Some(Flag::Bool(revoked)) => revoked,
        Some(Flag::Other) => return Err(Cow::Borrowed("'revoked' is neither a boolean nor null")),
    };
    Ok(Claims {
        binding,
        scopes,
        expires_at,
        revoked,
    })
}

/// The binding fields of a token of `kind`: exactly those its kind names, each a non-empty
/// string (a null counts as present).
pub(crate) fn binding<'a>(
    kind: TokenKind,
    workspace: Option<Text<'a>>,
    project: Option<Text<'a>>,
    repository: Option<Text<'a>>,
) -> Result<Binding<'a>, Cow<'static, str>> {
    let workspace = name(workspace, "workspace")?.ok_or("'workspace' is missing")?;
    let project = name(project, "project")?;
    let repository = name(repository, "repository")?;
    match (kind, project, repository) {
        (TokenKind::Repository, None, Some(repository)) => Ok(Binding::Repository {
            workspace,
            repository,
        }),
        (TokenKind::Project, Some(project), None) => Ok(Binding::Project { workspace, project }),
        (TokenKind::Workspace, None, None) => Ok(Binding::Workspace { workspace }),
        _ => Err(Cow::Borrowed(match kind {
            TokenKind::Repository => {
                "a repository token has a 'repository' field and no 'project' field"
            }
            TokenKind::Project => "a project token has a 'project' field and no 'repository' field",
            TokenKind::Workspace => {
                "a workspace token has neither a 'project' nor a 'repository' field"
            }
        })),
    }
}

fn name<'a>(
    field: Option<Text<'a>>,
    label: &'static str,
) -> Result<Option<Cow<'a, str>>, Cow<'static, str>> {
    match field {
        None => Ok(None),
        Some(Text::Str(s)) if !s.is_empty() => Ok(Some(s)),
        Some(_) => Err(Cow::Owned(format!("'{label}' is not a non-empty string"))),
    }
}

/// Echoes at most a short prefix of caller-supplied text in messages.
pub(crate) fn clip(text: &str) -> &str {
    match text.char_indices().nth(64) {
        Some((i, _)) => text.get(..i).unwrap_or(text),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str =
        r#"{"kind":"workspace","workspace":"acme","scopes":["pipeline"],"revoked":false}"#;
    const REQUEST: &str = r#"{"method":"GET","path":"/2.0/workspaces/acme"}"#;

    fn parse(text: &str) -> Result<AuthorizeInput<'_>, InputError> {
        parse_authorize_json(text.as_bytes())
    }

    fn repeated(key: &str) -> InputError {
        InputError::RepeatedKey(key.to_owned())
    }

    /// Unlike in `serde_json`, a repeated key is refused, in any object, read or skipped, and
    /// before any check of what the values mean.
    #[test]
    fn a_repeated_key_anywhere_is_bad_input() {
        let cases = [
            (
                format!(r#"{{"token":{{"kind":"repository","project":"P"}},"token":{TOKEN},"request":{REQUEST},"now":1}}"#),
                "token",
            ),
            (
                format!(r#"{{"token":{TOKEN},"token":5,"request":{REQUEST},"now":1}}"#),
                "token",
            ),
            (
                format!(r#"{{"token":{TOKEN},"request":{{"method":"GET","path":"/x"}},"request":{{"method":"PUT"}},"now":1}}"#),
                "request",
            ),
            (
                format!(r#"{{"token":{TOKEN},"request":{REQUEST},"now":1,"now":1}}"#),
                "now",
            ),
            (
                format!(r#"{{"token":{TOKEN},"request":{{"method":"GET","path":"/a","path":"/b"}},"now":1}}"#),
                "path",
            ),
            (
                r#"{"token":{"kind":"workspace","workspace":"acme","scopes":["pipeline"],"revoked":true,"revoked":false},"request":{"method":"GET","path":"/2.0/workspaces/acme"},"now":1}"#.to_owned(),
                "revoked",
            ),
            (
                format!(r#"{{"token":{TOKEN},"request":{REQUEST},"now":1,"host":{{"id":1,"tags":[{{"a":1,"a":1}}]}}}}"#),
                "a",
            ),
            // Spelled apart, one key all the same.
            (
                format!(r#"{{"token":{TOKEN},"request":{REQUEST},"n\u006fw":1,"now":1}}"#),
                "now",
            ),
            // Before `invalid_claims`: a token that is no token, with a key repeated.
            (
                format!(r#"{{"token":{{"kind":"nope","kind":"nope"}},"request":{REQUEST},"now":1}}"#),
                "kind",
            ),
        ];
        for (text, key) in &cases {
            assert_eq!(parse(text).unwrap_err(), repeated(key), "{text}");
            let (compact, general) = both_readers(text);
            assert_eq!(compact, None, "{text}");
            assert_eq!(general.unwrap_err(), repeated(key), "{text}");
        }
        // Not JSON is answered as that, wherever the repeat is.
        let broken = format!(r#"{{"now":1,"now":1,"token":{TOKEN},"request":{REQUEST},}}"#);
        assert_eq!(
            parse(&broken).unwrap_err(),
            InputError::BadInput("the input is not JSON")
        );
        // A long key is clipped in the error, as any caller text in a message is.
        let long = "k".repeat(100);
        let text = format!(r#"{{"{long}":1,"{long}":2}}"#);
        assert_eq!(parse(&text).unwrap_err(), repeated(&long[..64]));
    }

    type Read<'a> = Result<AuthorizeInput<'a>, InputError>;

    /// Reads `text` with the compact reader (`None` when it gives up) and with the general one.
    fn both_readers(text: &str) -> (Option<Read<'_>>, Read<'_>) {
        let mut top = TopFields::default();
        let compact =
            read_compact(&mut Reader::new(text), &mut top).map(|()| from_fields(&mut top));
        let mut top = TopFields::default();
        let general = match read_json_object_into(text, &mut top) {
            Ok(Found::Object) => from_fields(&mut top),
            Err(Unreadable::RepeatedKey(key)) => Err(InputError::RepeatedKey(key.into_owned())),
            _ => Err(InputError::BadInput("not an object")),
        };
        (compact, general)
    }

    /// An input as the host lays it out: §5's key order, no whitespace. With `complete`, the
    /// token's optional `expires_at` and `revoked` are written as null and false when absent,
    /// as the host writes them.
    fn host_layout(input: &serde_json::Value, complete: bool) -> String {
        host_layout_repeating(input, complete, usize::MAX)
    }

    /// `host_layout`, with the entry it writes `twice`-th (counting from 0, inner entries
    /// before the entry holding them) written twice in a row.
    fn host_layout_repeating(input: &serde_json::Value, complete: bool, twice: usize) -> String {
        use serde_json::{json, Value};
        let written = std::cell::Cell::new(0);
        // Written by hand: serde_json's maps sort their keys.
        let in_order = |object: &Value, keys: &[&str], value: &dyn Fn(&str, &Value) -> String| {
            let fields = object.as_object().cloned().unwrap_or_default();
            let known = keys.iter().filter_map(|k| fields.get_key_value(*k));
            // Keys the layout does not know go last, where the compact reader gives up.
            let others = fields.iter().filter(|(k, _)| !keys.contains(&k.as_str()));
            let entries: Vec<String> = known
                .chain(others)
                .map(|(k, v)| {
                    let entry = format!("{}:{}", Value::from(k.as_str()), value(k, v));
                    written.set(written.get() + 1);
                    match written.get() - 1 == twice {
                        true => format!("{entry},{entry}"),
                        false => entry,
                    }
                })
                .collect();
            format!("{{{}}}", entries.join(","))
        };
        let mut token = input["token"].clone();
        if complete {
            if let Value::Object(fields) = &mut token {
                fields.entry("expires_at").or_insert(Value::Null);
                fields.entry("revoked").or_insert(json!(false));
            }
        }
        let token_keys = [
            "kind",
            "workspace",
            "project",
            "repository",
            "scopes",
            "expires_at",
            "revoked",
        ];
        let top_keys = ["token", "request", "now", "repository_project"];
        in_order(input, &top_keys, &|key, value| match (key, value) {
            ("token", Value::Object(_)) => in_order(&token, &token_keys, &|_, v| v.to_string()),
            ("request", Value::Object(_)) => {
                in_order(value, &["method", "path"], &|_, v| v.to_string())
            }
            _ => value.to_string(),
        })
    }

    /// The compact reader either gives up or reads what the general reader reads: for every
    /// authorize vector in the host's layout, and for each one it reads with any one byte
    /// changed, inserted or removed.
    #[test]
    fn the_compact_reader_reads_what_the_general_reader_reads() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/authorize");
        let mut texts = Vec::new();
        for entry in std::fs::read_dir(dir).expect("vectors") {
            let file = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
            let vectors: Vec<serde_json::Value> = serde_json::from_str(&file).expect("json");
            for v in vectors {
                if v["input"].is_object() && v["input"]["token"].is_object() {
                    texts.push(host_layout(&v["input"], false));
                    texts.push(host_layout(&v["input"], true));
                }
            }
        }
        assert!(texts.len() > 300, "{} inputs", texts.len());
        let mut read_compactly = 0;
        let mut kinds_read = std::collections::BTreeSet::new();
        let mut changed_and_read = 0;
        for text in &texts {
            let (compact, general) = both_readers(text);
            let Some(compact) = compact else { continue };
            assert_eq!(compact, general, "{text}");
            read_compactly += 1;
            if let Ok(input) = &compact {
                kinds_read.insert(input.claims.kind().as_str());
            }
            let bytes = text.as_bytes();
            for at in 0..=bytes.len() {
                for change in [&b" "[..], b"\\", b"\"", b",", b"}", b"]", b"0", b"x"] {
                    for skip in [0, 1] {
                        let Some(tail) = bytes.get(at + skip..) else {
                            continue;
                        };
                        let changed = [&bytes[..at], change, tail].concat();
                        let Ok(changed) = std::str::from_utf8(&changed) else {
                            continue;
                        };
                        let (compact, general) = both_readers(changed);
                        if let Some(compact) = compact {
                            assert_eq!(compact, general, "{changed}");
                            changed_and_read += 1;
                        }
                    }
                }
            }
        }
        // Most completed inputs are in the layout; the ones left are refused by the layout for
        // a reason of their own (a key it does not know, a value of another type, an escape).
        assert!(
            read_compactly * 3 > texts.len(),
            "{read_compactly} of {}",
            texts.len()
        );
        assert!(changed_and_read > 1000, "{changed_and_read}");
        assert_eq!(kinds_read.len(), 3, "{kinds_read:?}");
    }

    /// Every authorize vector in the host's layout, with any one of its entries written twice:
    /// the compact reader gives up (it matches each key once), and the general reader refuses
    /// the input, whatever the vector's own answer.
    #[test]
    fn any_entry_of_the_host_layout_written_twice_is_refused() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/authorize");
        let mut refused = 0;
        for entry in std::fs::read_dir(dir).expect("vectors") {
            let file = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
            let vectors: Vec<serde_json::Value> = serde_json::from_str(&file).expect("json");
            for v in vectors.iter().filter(|v| v["input"].is_object()) {
                let once = host_layout(&v["input"], true);
                for twice in 0.. {
                    let text = host_layout_repeating(&v["input"], true, twice);
                    if text == once {
                        break;
                    }
                    let (compact, general) = both_readers(&text);
                    assert_eq!(compact, None, "{text}");
                    assert!(
                        matches!(general, Err(InputError::RepeatedKey(_))),
                        "{text}: {general:?}"
                    );
                    assert!(matches!(parse(&text), Err(InputError::RepeatedKey(_))));
                    refused += 1;
                }
            }
        }
        assert!(refused > 3000, "{refused}");
    }

    #[test]
    fn the_top_level_must_be_an_object_with_both_objects() {
        assert_eq!(
            parse("[1]").unwrap_err(),
            InputError::BadInput("the input is not a JSON object")
        );
        assert_eq!(
            parse("{").unwrap_err(),
            InputError::BadInput("the input is not JSON")
        );
        assert_eq!(
            parse(&format!(
                r#"{{"token":[{TOKEN}],"request":{REQUEST},"now":1}}"#
            ))
            .unwrap_err(),
            InputError::BadInput("the input has no 'token' object")
        );
        assert_eq!(
            parse(&format!(r#"{{"token":{TOKEN},"now":1}}"#)).unwrap_err(),
            InputError::BadInput("the input has no 'request' object")
        );
    }
}
