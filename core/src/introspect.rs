//! RFC 7662 token introspection (SPEC §12): the answer of `POST /oauth/introspect` for what the
//! caller found stored under a presented secret's hash. Pure, like the check: the caller hands
//! over the stored token (or `null`) and the time, and writes out the answer as it stands.
//!
//! Input: `{"now": <Unix s>, "token": {"id", "created_at", "claims": <§5 token object>} | null}`.
//! An active token answers `{"active": true, "scope", "client_id", "token_type", "sub",
//! "credential_type", "iat", "exp"?}`; anything else (nothing stored, revoked or deactivated,
//! expired, claims that break §2, input that can't be read) exactly `{"active":false}`, so that
//! the answer never says why.

use crate::check::credential_type;
use crate::claims::{Binding, Claims};
use crate::input::{claims, TokenFields};
use crate::json::Malformed;
use crate::lenient::{
    entry_into, read_json_object_into, skip, value, Entries, Fields, Found, Int, Text,
};
use crate::wire::{write_i64, write_text, Sink};

/// What every inactive token is answered with.
pub const INACTIVE: &[u8] = br#"{"active":false}"#;

#[derive(Default)]
struct TopFields<'a> {
    now: Option<Int>,
    token: Found,
    token_fields: StoredFields<'a>,
}

impl<'de> Fields<'de> for TopFields<'de> {
    fn field(&mut self, key: &str, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            "now" => self.now = Some(value(map)?),
            "token" => entry_into(map, &mut self.token_fields, &mut self.token)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Default)]
struct StoredFields<'a> {
    id: Option<Text<'a>>,
    created_at: Option<Int>,
    claims: Found,
    claims_fields: TokenFields<'a>,
}

impl<'de> Fields<'de> for StoredFields<'de> {
    fn field(&mut self, key: &str, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            "id" => self.id = Some(value(map)?),
            "created_at" => self.created_at = Some(value(map)?),
            "claims" => entry_into(map, &mut self.claims_fields, &mut self.claims)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// `<kind>:<workspace>`, or `<kind>:<workspace>/<project or repository>`, as a JSON string.
fn write_subject(out: &mut Vec<u8>, claims: &Claims<'_>) {
    let mut sub = String::from(claims.kind().as_str());
    sub.push(':');
    sub.push_str(claims.binding.workspace());
    match &claims.binding {
        Binding::Workspace { .. } => {}
        Binding::Project { project: name, .. }
        | Binding::Repository {
            repository: name, ..
        } => {
            sub.push('/');
            sub.push_str(name);
        }
    }
    write_text(out, &sub);
}

/// The RFC 7662 answer for the input bytes.
pub fn introspect_json(input: &[u8]) -> Vec<u8> {
    active(input).unwrap_or_else(|| INACTIVE.to_vec())
}

fn active(input: &[u8]) -> Option<Vec<u8>> {
    let text = crate::bytes::text(input)?;
    let mut top = TopFields::default();
    // A repeated key anywhere is unreadable, as in every reader of the module.
    if read_json_object_into(text, &mut top).ok()? != Found::Object {
        return None;
    }
    let Some(Int::Value(now)) = top.now else {
        return None;
    };
    if top.token != Found::Object {
        return None;
    }
    let stored = &mut top.token_fields;
    let (Some(Text::Str(id)), Some(Int::Value(created_at)), Found::Object) =
        (stored.id.take(), stored.created_at.take(), stored.claims)
    else {
        return None;
    };
    let claims = claims(&mut stored.claims_fields).ok()?;
    if claims.revoked || claims.expires_at.is_some_and(|e| now >= e) {
        return None;
    }
    let mut out = Vec::with_capacity(256);
    out.put(br#"{"active":true,"scope":""#);
    for (i, scope) in claims.scopes.closure().iter().enumerate() {
        if i > 0 {
            out.put(b" ");
        }
        // Scope names are plain lowercase words with `:`: nothing to escape.
        out.put(scope.as_str().as_bytes());
    }
    out.put(br#"","client_id":"#);
    write_text(&mut out, &id);
    out.put(br#","token_type":"access_token","sub":"#);
    write_subject(&mut out, &claims);
    out.put(br#","credential_type":""#);
    out.put(credential_type(claims.kind()).as_bytes());
    out.put(br#"","iat":"#);
    write_i64(&mut out, created_at);
    if let Some(exp) = claims.expires_at {
        out.put(br#","exp":"#);
        write_i64(&mut out, exp);
    }
    out.put(b"}");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn ask(input: Value) -> Value {
        serde_json::from_slice(&introspect_json(input.to_string().as_bytes())).unwrap_or_default()
    }

    fn stored(claims: Value) -> Value {
        json!({"id": "tok_a", "created_at": 100, "claims": claims})
    }

    #[test]
    fn an_active_token_is_described_with_its_effective_scopes() {
        let claims = json!({"kind": "project", "workspace": "acme", "project": "PROJ",
                            "scopes": ["repository:write", "pullrequest"], "expires_at": 1000,
                            "revoked": false});
        assert_eq!(
            ask(json!({"now": 500, "token": stored(claims)})),
            json!({"active": true, "scope": "pullrequest repository repository:write",
                   "client_id": "tok_a", "token_type": "access_token", "sub": "project:acme/PROJ",
                   "credential_type": "project_access_token", "iat": 100, "exp": 1000})
        );
        let forever = json!({"kind": "workspace", "workspace": "acme", "scopes": ["account"],
                             "expires_at": null, "revoked": false});
        let answer = ask(json!({"now": 500, "token": stored(forever)}));
        assert_eq!(answer["sub"], "workspace:acme");
        assert!(answer.get("exp").is_none(), "{answer}");
    }

    #[test]
    fn integers_are_written_as_json_reads_them() {
        for n in [0, 7, -7, 1_767_225_600, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            write_i64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }

    #[test]
    fn everything_else_is_exactly_inactive() {
        let claims = |expires: Value, revoked: bool| {
            json!({"kind": "repository", "workspace": "acme", "repository": "api",
                   "scopes": ["repository"], "expires_at": expires, "revoked": revoked})
        };
        for input in [
            json!({"now": 500, "token": null}),
            json!({"now": 500, "token": stored(claims(json!(1000), true))}),
            json!({"now": 1000, "token": stored(claims(json!(1000), false))}),
            json!({"now": 500, "token": stored(json!({"kind": "repository", "workspace": "acme",
                   "repository": "api", "scopes": ["admin"], "expires_at": null, "revoked": false}))}),
            json!({"token": stored(claims(json!(null), false))}),
            json!({"now": 500, "token": {"id": "tok_a", "claims": claims(json!(null), false)}}),
            json!([1]),
        ] {
            assert_eq!(
                introspect_json(input.to_string().as_bytes()),
                INACTIVE,
                "{input}"
            );
        }
        let repeated = br#"{"now":500,"now":500,"token":null}"#;
        assert_eq!(introspect_json(repeated), INACTIVE);
        assert_eq!(introspect_json(b"\xff"), INACTIVE);
    }
}
