//! Reading the second call's input: `{"request": {"method", "path"}, "now", "token": {"id",
//! "claims"} | null, "repository_project"}`, or `{"failure": code}`. Rows 1 and 2 of §5 keep
//! their meaning: a malformed envelope is `bad_input`, malformed claims are `invalid_claims`.

use super::{Failure, Found, StoredToken};
use crate::decision::{Decision, Reason};
use crate::authorize::refusal;
use crate::input::{claims, clip, InputError, Request, RequestFields, TokenFields};
use crate::json::{Malformed, Unreadable};
use crate::lenient::{
    entry_into, read_json_object_into, skip, value, Entries, Fields, Found as Read, Int, Object,
    Shape, Text,
};
use crate::scope::ScopeSet;

pub(super) fn found(input: &[u8]) -> Result<Found<'_>, Decision> {
    let bad = |why: &'static str| Decision::early(Reason::BadInput, why, ScopeSet::EMPTY);
    let mut top = TopFields::default();
    let text = crate::bytes::text(input).ok_or_else(|| bad("the input is not JSON"))?;
    match read_json_object_into(text, &mut top) {
        Ok(Read::Object) => {}
        Ok(_) => return Err(bad("the input is not a JSON object")),
        Err(Unreadable::Malformed) => return Err(bad("the input is not JSON")),
        Err(Unreadable::RepeatedKey(key)) => {
            return Err(refusal(InputError::RepeatedKey(clip(&key).to_owned())))
        }
    }
    match top.failure.take() {
        None | Some(Text::Null) => {}
        Some(Text::Str(code)) => {
            return Failure::parse(&code)
                .map(Found::Failed)
                .ok_or_else(|| bad("'failure' names no failure"))
        }
        Some(Text::Other) => return Err(bad("'failure' is neither a string nor null")),
    }
    if top.request != Read::Object {
        return Err(bad("the input has no 'request' object"));
    }
    let Some(Text::Str(method)) = top.request_fields.method.take() else {
        return Err(bad("'request.method' is not a string"));
    };
    let Some(Text::Str(path)) = top.request_fields.path.take() else {
        return Err(bad("'request.path' is not a string"));
    };
    let Some(Int::Value(now)) = top.now else {
        return Err(bad("'now' is not an integer"));
    };
    let repository_project = match top.repository_project.take() {
        None | Some(Text::Null) => None,
        Some(Text::Str(project)) => Some(project),
        Some(Text::Other) => return Err(bad("'repository_project' is neither a string nor null")),
    };
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
        request: Request { method, path },
        now,
        token,
        repository_project,
    })
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
