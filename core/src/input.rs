//! Reading the policy input (§5 "Policy input") from JSON, keeping rows 1 and 2 apart: a malformed
//! envelope is `bad_input`, a malformed token is `invalid_claims`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::claims::{Binding, Claims, TokenKind};
use crate::scope::{Scope, ScopeSet};

/// The request under decision, as the gateway saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Path with optional query and fragment, as sent.
    pub path: &'a str,
}

/// Everything `authorize` decides on, once it has passed rows 1 and 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizeInput<'a> {
    pub claims: Claims,
    pub request: Request<'a>,
    /// Unix seconds; the policy has no clock of its own.
    pub now: i64,
    /// The project of the repository the request targets, when the caller knows it.
    pub repository_project: Option<&'a str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    BadInput(&'static str),
    InvalidClaims(Cow<'static, str>),
}

pub fn parse_authorize_input(value: &Value) -> Result<AuthorizeInput<'_>, InputError> {
    use InputError::BadInput;
    let top = value
        .as_object()
        .ok_or(BadInput("the input is not a JSON object"))?;
    let token = top
        .get("token")
        .and_then(Value::as_object)
        .ok_or(BadInput("the input has no 'token' object"))?;
    let request = top
        .get("request")
        .and_then(Value::as_object)
        .ok_or(BadInput("the input has no 'request' object"))?;
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .ok_or(BadInput("'request.method' is not a string"))?;
    let path = request
        .get("path")
        .and_then(Value::as_str)
        .ok_or(BadInput("'request.path' is not a string"))?;
    let now = top
        .get("now")
        .and_then(Value::as_i64)
        .ok_or(BadInput("'now' is not an integer"))?;
    let repository_project = match top.get("repository_project") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            return Err(BadInput(
                "'repository_project' is neither a string nor null",
            ))
        }
    };
    let claims = parse_claims(token).map_err(InputError::InvalidClaims)?;
    Ok(AuthorizeInput {
        claims,
        request: Request { method, path },
        now,
        repository_project,
    })
}

/// Checks a token object against §2. Other fields than those of the contract are ignored, so a
/// host may pass its whole record.
pub fn parse_claims(token: &Map<String, Value>) -> Result<Claims, Cow<'static, str>> {
    let kind = token
        .get("kind")
        .and_then(Value::as_str)
        .and_then(TokenKind::parse)
        .ok_or("'kind' is not repository, project or workspace")?;
    let binding = parse_binding(token, kind)?;
    let scopes = parse_scopes(token.get("scopes"), kind)?;
    let expires_at = match token.get("expires_at") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or("'expires_at' is neither an integer nor null")?,
        ),
    };
    let revoked = match token.get("revoked") {
        None | Some(Value::Null) => false,
        Some(v) => v
            .as_bool()
            .ok_or("'revoked' is neither a boolean nor null")?,
    };
    Ok(Claims {
        binding,
        scopes,
        expires_at,
        revoked,
    })
}

/// The binding fields of a token of `kind`: exactly those its kind names (§5 "Policy input").
pub(crate) fn parse_binding(
    token: &Map<String, Value>,
    kind: TokenKind,
) -> Result<Binding, Cow<'static, str>> {
    let workspace = name_field(token, "workspace")?.ok_or("'workspace' is missing")?;
    let project = name_field(token, "project")?;
    let repository = name_field(token, "repository")?;
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

/// A binding field: absent is `None`; present, it must be a non-empty string (null counts as present).
fn name_field(
    token: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, Cow<'static, str>> {
    match token.get(field) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(Cow::Owned(format!("'{field}' is not a non-empty string"))),
    }
}

fn parse_scopes(value: Option<&Value>, kind: TokenKind) -> Result<ScopeSet, Cow<'static, str>> {
    let list = value
        .and_then(Value::as_array)
        .ok_or("'scopes' is not an array")?;
    let mut scopes = ScopeSet::EMPTY;
    for item in list {
        let name = item
            .as_str()
            .ok_or("'scopes' holds a value that is not a string")?;
        let scope = Scope::parse(name)
            .ok_or_else(|| Cow::Owned(format!("unknown scope '{}'", clip(name))))?;
        if !scope.grantable_to(kind) {
            return Err(Cow::Owned(format!(
                "a {} token cannot hold the scope '{scope}'",
                kind.as_str()
            )));
        }
        scopes.insert(scope);
    }
    Ok(scopes)
}

/// Echoes at most a short prefix of caller-supplied text in messages.
pub(crate) fn clip(text: &str) -> &str {
    match text.char_indices().nth(64) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}
