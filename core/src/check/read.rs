//! Reading the second call's input: `{"request": {"method", "path"}, "now", "token": {"id",
//! "claims"} | null, "repository_project"}`, or `{"failure": code}`. Rows 1 and 2 of §5 keep
//! their meaning: a malformed envelope is `bad_input`, malformed claims are `invalid_claims`.

use super::{Failure, Found, StoredToken};
use crate::authorize::refusal;
use crate::decision::{Decision, Reason};
use crate::input::{
    claims, clip, envelope, expect, read_compact_request, read_compact_token, text, InputError,
    RequestFields, TokenFields,
};
use crate::json::{Malformed, Reader, Unreadable};
use crate::lenient::{
    entry_into, read_json_object_into, skip, value, Entries, Fields, Found as Read, Int, Object,
    Shape, Text,
};
use crate::scope::ScopeSet;

pub(super) fn found(input: &[u8]) -> Result<Found<'_>, Decision> {
    let bad = |why: &'static str| Decision::early(Reason::BadInput, why, ScopeSet::EMPTY);
    let mut top = TopFields::default();
    let text = crate::bytes::text(input).ok_or_else(|| bad("the input is not JSON"))?;
    if read_compact(&mut Reader::new(text), &mut top).is_some() {
        return from_fields(top);
    }
    top = TopFields::default();
    match read_json_object_into(text, &mut top) {
        Ok(Read::Object) => {}
        Ok(_) => return Err(bad("the input is not a JSON object")),
        Err(Unreadable::Malformed) => return Err(bad("the input is not JSON")),
        Err(Unreadable::RepeatedKey(key)) => {
            return Err(refusal(InputError::RepeatedKey(clip(&key).to_owned())))
        }
    }
    from_fields(top)
}

/// What the fields read come to, whichever reader read them.
fn from_fields(mut top: TopFields<'_>) -> Result<Found<'_>, Decision> {
    let bad = |why: &'static str| Decision::early(Reason::BadInput, why, ScopeSet::EMPTY);
    match top.failure.take() {
        None | Some(Text::Null) => {}
        Some(Text::Str(code)) => {
            return Failure::parse(&code)
                .map(Found::Failed)
                .ok_or_else(|| bad("'failure' names no failure"))
        }
        Some(Text::Other) => return Err(bad("'failure' is neither a string nor null")),
    }
    let (request, now, repository_project) = envelope(
        top.request,
        &mut top.request_fields,
        top.now,
        top.repository_project.take(),
    )
    .map_err(bad)?;
    let token = match top.token.take() {
        None => {
            return Err(bad(
                "the input has no 'token' (an object, or null when none is stored)",
            ))
        }
        Some(TokenValue::Null) => None,
        Some(TokenValue::Other) => return Err(bad("'token' is neither an object nor null")),
        Some(TokenValue::Stored(mut stored)) => {
            let Some(Text::Str(id)) = stored.id.take() else {
                return Err(bad("'token.id' is not a string"));
            };
            if stored.claims != Read::Object {
                return Err(bad("'token.claims' is not an object"));
            }
            Some(StoredToken {
                id,
                claims: claims(&mut stored.claims_fields),
            })
        }
    };
    Ok(Found::Found {
        request,
        now,
        token,
        repository_project,
    })
}

/// The input laid out as the host writes it: the keys in the order above, each once, no
/// whitespace, no escapes, the claims as a policy input's token. `None` at the first byte that
/// departs from it, for the general reader to read the text from the start (a test holds the
/// two together).
fn read_compact<'a>(json: &mut Reader<'a>, top: &mut TopFields<'a>) -> Option<()> {
    expect(json, br#"{"request":"#)?;
    read_compact_request(json, &mut top.request_fields)?;
    top.request = Read::Object;
    expect(json, br#","now":"#)?;
    top.now = Some(Int::Value(json.integer()?));
    expect(json, br#","token":"#)?;
    top.token = Some(if json.eat(b"null") {
        TokenValue::Null
    } else {
        let mut stored = StoredFields::default();
        expect(json, br#"{"id":""#)?;
        stored.id = Some(text(json)?);
        expect(json, br#","claims":"#)?;
        read_compact_token(json, &mut stored.claims_fields)?;
        stored.claims = Read::Object;
        expect(json, b"}")?;
        TokenValue::Stored(stored)
    });
    expect(json, br#","repository_project":"#)?;
    top.repository_project = Some(if json.eat(b"null") {
        Text::Null
    } else {
        expect(json, b"\"")?;
        text(json)?
    });
    expect(json, b"}")?;
    json.at_end().then_some(())
}

#[derive(Default)]
struct TopFields<'a> {
    request: Read,
    request_fields: RequestFields<'a>,
    now: Option<Int>,
    token: Option<TokenValue<'a>>,
    repository_project: Option<Text<'a>>,
    failure: Option<Text<'a>>,
}

impl<'de> Fields<'de> for TopFields<'de> {
    fn field(&mut self, key: &str, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            "request" => entry_into(map, &mut self.request_fields, &mut self.request)?,
            "now" => self.now = Some(value(map)?),
            "token" => self.token = Some(value(map)?),
            "repository_project" => self.repository_project = Some(value(map)?),
            "failure" => self.failure = Some(value(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Default)]
struct StoredFields<'a> {
    id: Option<Text<'a>>,
    claims: Read,
    claims_fields: TokenFields<'a>,
}

impl<'de> Fields<'de> for StoredFields<'de> {
    fn field(&mut self, key: &str, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            "id" => self.id = Some(value(map)?),
            "claims" => entry_into(map, &mut self.claims_fields, &mut self.claims)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// The `token` field: what was found under the hash, or `null` for nothing.
enum TokenValue<'a> {
    Other,
    Null,
    Stored(StoredFields<'a>),
}

impl<'a> Shape<'a> for TokenValue<'a> {
    fn other() -> Self {
        TokenValue::Other
    }

    fn null() -> Self {
        TokenValue::Null
    }

    fn map(map: &mut Entries<'a, '_>) -> Result<Self, Malformed> {
        Ok(match <Object<StoredFields<'a>> as Shape<'a>>::map(map)? {
            Object::Fields(stored) => TokenValue::Stored(stored),
            Object::Other => TokenValue::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compact reader reads what the general reader reads wherever it reads at all, and
    /// reads the host's layout.
    #[test]
    fn both_readers_read_alike() {
        let claims = r#"{"kind":"project","workspace":"acme","project":"PROJ","scopes":["repository","pullrequest"],"expires_at":1767225600,"revoked":false}"#;
        let host = [
            format!(r#"{{"request":{{"method":"GET","path":"/2.0/x"}},"now":1764300000,"token":{{"id":"tok_1","claims":{claims}}},"repository_project":"PROJ"}}"#),
            format!(r#"{{"request":{{"method":"GET","path":"/2.0/x"}},"now":-1,"token":{{"id":"tok_1","claims":{claims}}},"repository_project":null}}"#),
            r#"{"request":{"method":"POST","path":""},"now":0,"token":null,"repository_project":null}"#.to_string(),
        ];
        for text in &host {
            let mut compact = TopFields::default();
            assert!(
                read_compact(&mut Reader::new(text), &mut compact).is_some(),
                "{text}"
            );
            let general = text.replacen('{', "{ ", 1);
            assert_eq!(found(text.as_bytes()), found(general.as_bytes()), "{text}");
        }
        for other in [
            host[0].replace(r#""now":1764300000,"#, ""),
            host[0].replace("tok_1", r#"tok\u005f1"#),
            host[0].replace(
                r#""repository_project":"PROJ""#,
                r#""repository_project":"PROJ","x":1"#,
            ),
            format!("{} ", host[2]),
        ] {
            let mut compact = TopFields::default();
            assert!(
                read_compact(&mut Reader::new(&other), &mut compact).is_none(),
                "{other}"
            );
        }
    }
}
