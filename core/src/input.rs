//! Reading the policy input (§5 "Policy input"), keeping rows 1 and 2 apart: a malformed envelope
//! is `bad_input`, a malformed token is `invalid_claims`. One pass over the JSON, borrowing strings.

use std::borrow::Cow;

use crate::claims::{Binding, Claims, TokenKind};
use crate::json::Malformed;
use crate::lenient::{
    entry_into, read_json_object_into, value, Entries, Fields, Flag, Found, Int, Items, Shape, Text,
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
    InvalidClaims(Cow<'static, str>),
}

/// Reads a policy input from JSON text; trailing bytes after the value are refused.
pub fn parse_authorize_json(input: &[u8]) -> Result<AuthorizeInput<'_>, InputError> {
    let mut top = TopFields::default();
    match read_json_object_into(input, &mut top) {
        None => Err(InputError::BadInput("the input is not JSON")),
        Some(Found::Object) => from_fields(&mut top),
        Some(_) => Err(InputError::BadInput("the input is not a JSON object")),
    }
}

fn from_fields<'a>(top: &mut TopFields<'a>) -> Result<AuthorizeInput<'a>, InputError> {
    use InputError::BadInput;
    if top.token != Found::Object {
        return Err(BadInput("the input has no 'token' object"));
    }
    if top.request != Found::Object {
        return Err(BadInput("the input has no 'request' object"));
    }
    let Some(Text::Str(method)) = top.request_fields.method.take() else {
        return Err(BadInput("'request.method' is not a string"));
    };
    let Some(Text::Str(path)) = top.request_fields.path.take() else {
        return Err(BadInput("'request.path' is not a string"));
    };
    let Some(Int::Value(now)) = top.now else {
        return Err(BadInput("'now' is not an integer"));
    };
    let repository_project = match top.repository_project.take() {
        None | Some(Text::Null) => None,
        Some(Text::Str(project)) => Some(project),
        Some(Text::Other) => {
            return Err(BadInput(
                "'repository_project' is neither a string nor null",
            ))
        }
    };
    let claims = claims(&mut top.token_fields).map_err(InputError::InvalidClaims)?;
    Ok(AuthorizeInput {
        claims,
        request: Request { method, path },
        now,
        repository_project,
    })
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

#[derive(Clone, Copy)]
enum TopKey {
    Token,
    Request,
    Now,
    RepositoryProject,
}

impl<'de> Fields<'de> for TopFields<'de> {
    type Key = TopKey;
    const KEYS: &'static [(&'static str, TopKey)] = &[
        ("token", TopKey::Token),
        ("request", TopKey::Request),
        ("now", TopKey::Now),
        ("repository_project", TopKey::RepositoryProject),
    ];

    fn field(&mut self, key: TopKey, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            TopKey::Token => entry_into(map, &mut self.token_fields, &mut self.token)?,
            TopKey::Request => entry_into(map, &mut self.request_fields, &mut self.request)?,
            TopKey::Now => self.now = Some(value(map)?),
            TopKey::RepositoryProject => self.repository_project = Some(value(map)?),
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

#[derive(Clone, Copy)]
pub(crate) enum RequestKey {
    Method,
    Path,
}

impl<'de> Fields<'de> for RequestFields<'de> {
    type Key = RequestKey;
    const KEYS: &'static [(&'static str, RequestKey)] =
        &[("method", RequestKey::Method), ("path", RequestKey::Path)];

    fn field(&mut self, key: RequestKey, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            RequestKey::Method => self.method = Some(value(map)?),
            RequestKey::Path => self.path = Some(value(map)?),
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

#[derive(Clone, Copy)]
pub(crate) enum TokenKey {
    Kind,
    Workspace,
    Project,
    Repository,
    Scopes,
    ExpiresAt,
    Revoked,
}

impl<'de> Fields<'de> for TokenFields<'de> {
    type Key = TokenKey;
    /// §5's order, which the host writes.
    const KEYS: &'static [(&'static str, TokenKey)] = &[
        ("kind", TokenKey::Kind),
        ("workspace", TokenKey::Workspace),
        ("project", TokenKey::Project),
        ("repository", TokenKey::Repository),
        ("scopes", TokenKey::Scopes),
        ("expires_at", TokenKey::ExpiresAt),
        ("revoked", TokenKey::Revoked),
    ];

    fn field(&mut self, key: TokenKey, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            TokenKey::Kind => self.kind = Some(value(map)?),
            TokenKey::Workspace => self.workspace = Some(value(map)?),
            TokenKey::Project => self.project = Some(value(map)?),
            TokenKey::Repository => self.repository = Some(value(map)?),
            TokenKey::Scopes => self.scopes = Some(value(map)?),
            TokenKey::ExpiresAt => self.expires_at = Some(value(map)?),
            TokenKey::Revoked => self.revoked = Some(value(map)?),
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
fn claims<'a>(token: &mut TokenFields<'a>) -> Result<Claims<'a>, Cow<'static, str>> {
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
        Some((i, _)) => &text[..i],
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

    /// As in `serde_json`, a repeated key's last value counts, also for the objects read in place.
    #[test]
    fn a_repeated_key_replaces_the_earlier_value() {
        let later = format!(
            r#"{{"token":{{"kind":"repository","project":"P"}},"token":{TOKEN},"request":{REQUEST},"now":1}}"#
        );
        let input = parse(&later).unwrap();
        assert_eq!(
            input.claims.binding,
            Binding::Workspace {
                workspace: "acme".into()
            }
        );
        let replaced = format!(r#"{{"token":{TOKEN},"token":5,"request":{REQUEST},"now":1}}"#);
        assert_eq!(
            parse(&replaced).unwrap_err(),
            InputError::BadInput("the input has no 'token' object")
        );
        let merged = format!(
            r#"{{"token":{TOKEN},"request":{{"method":"GET","path":"/x"}},"request":{{"method":"PUT"}},"now":1}}"#
        );
        assert_eq!(
            parse(&merged).unwrap_err(),
            InputError::BadInput("'request.path' is not a string")
        );
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
