//! The least-privilege advisor: the narrowest token kind and the smallest scope set that allow a
//! list of calls, or why no access token can make them.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use crate::claims::{same_name, Binding, TokenKind};
use crate::json::Malformed;
use crate::lenient::{read_json, skip, value, Entries, Fields, List, Object, Text};
use crate::path::{self, PathError};
use crate::routes::{self, OperationClass, Resolution};
use crate::scope::{Scope, ScopeSet};
use crate::target::{Target, TargetKind};
use crate::wire::{self, write_scopes, write_text, write_u64, Answer, Sink};

/// One call an application makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub repository_project: Option<&'a str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdviceError {
    BadInput,
    NoCalls,
    BadPath,
    WebLoginForbidden,
    UnknownOperation,
    ForbiddenOperation,
    OutsideResource,
    ScopeNotGrantable,
    SeveralWorkspaces,
    PublicOnly,
}

impl AdviceError {
    /// The code serde writes for it (a test holds the two together).
    pub const fn code(self) -> &'static str {
        match self {
            AdviceError::BadInput => "bad_input",
            AdviceError::NoCalls => "no_calls",
            AdviceError::BadPath => "bad_path",
            AdviceError::WebLoginForbidden => "web_login_forbidden",
            AdviceError::UnknownOperation => "unknown_operation",
            AdviceError::ForbiddenOperation => "forbidden_operation",
            AdviceError::OutsideResource => "outside_resource",
            AdviceError::ScopeNotGrantable => "scope_not_grantable",
            AdviceError::SeveralWorkspaces => "several_workspaces",
            AdviceError::PublicOnly => "public_only",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AdviceRefusal {
    pub error: AdviceError,
    pub message: Cow<'static, str>,
    /// Index of the first call at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<usize>,
}

/// The advised token: a binding and a set with no scope implied by another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advice {
    pub binding: Binding<'static>,
    pub scopes: ScopeSet,
}

impl AdviceRefusal {
    /// The wire form, byte for byte what serde writes (a test holds the two together).
    pub fn to_json(&self) -> Vec<u8> {
        wire::to_vec(self)
    }
}

impl Answer for AdviceRefusal {
    fn write(&self, out: &mut impl Sink) {
        out.put(br#"{"error":""#);
        out.put(self.error.code().as_bytes());
        out.put(br#"","message":"#);
        write_text(out, &self.message);
        if let Some(call) = self.call {
            out.put(br#","call":"#);
            write_u64(out, call as u64);
        }
        out.put(b"}");
    }
}

impl Advice {
    /// The wire form, byte for byte what serde writes (a test holds the two together).
    pub fn to_json(&self) -> Vec<u8> {
        wire::to_vec(self)
    }
}

impl Answer for Advice {
    fn write(&self, out: &mut impl Sink) {
        out.put(br#"{"kind":""#);
        out.put(self.binding.kind().as_str().as_bytes());
        out.put(br#"","workspace":"#);
        write_text(out, self.binding.workspace());
        match &self.binding {
            Binding::Project { project, .. } => {
                out.put(br#","project":"#);
                write_text(out, project);
            }
            Binding::Repository { repository, .. } => {
                out.put(br#","repository":"#);
                write_text(out, repository);
            }
            Binding::Workspace { .. } => {}
        }
        out.put(br#","scopes":["#);
        write_scopes(out, self.scopes);
        out.put(b"]}");
    }
}

impl Serialize for Advice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", &self.binding.kind())?;
        map.serialize_entry("workspace", self.binding.workspace())?;
        match &self.binding {
            Binding::Project { project, .. } => map.serialize_entry("project", project)?,
            Binding::Repository { repository, .. } => {
                map.serialize_entry("repository", repository)?
            }
            Binding::Workspace { .. } => {}
        }
        map.serialize_entry("scopes", &self.scopes)?;
        map.end()
    }
}

/// A call that needs scopes, reduced to what shapes the token.
struct Need<'p> {
    target: Target<'p>,
    repository_project: Option<&'p str>,
}

pub fn minimal_token(calls: &[Call<'_>]) -> Result<Advice, AdviceRefusal> {
    if calls.is_empty() {
        return Err(refusal(AdviceError::NoCalls, "no calls were given", None));
    }
    let parsed = calls
        .iter()
        .map(|call| path::parse(call.path))
        .collect::<Vec<_>>();
    let mut needs = Vec::new();
    let mut scopes = ScopeSet::EMPTY;
    for (i, (call, path)) in calls.iter().zip(&parsed).enumerate() {
        let path = path
            .as_ref()
            .map_err(|err: &PathError| refusal(AdviceError::BadPath, err.describe(), Some(i)))?;
        let (operation, target) = match routes::resolve(call.method, path) {
            Resolution::Web => {
                return Err(refusal(
                    AdviceError::WebLoginForbidden,
                    "a website path: access tokens cannot sign in",
                    Some(i),
                ))
            }
            Resolution::Unknown => {
                return Err(refusal(
                    AdviceError::UnknownOperation,
                    "no operation matches this call",
                    Some(i),
                ))
            }
            Resolution::Matched { operation, target } => (operation, target),
        };
        match operation.class() {
            OperationClass::Forbidden => {
                return Err(refusal(
                    AdviceError::ForbiddenOperation,
                    "this operation is closed to access tokens",
                    Some(i),
                ))
            }
            OperationClass::Public => continue,
            OperationClass::Normal => {}
        }
        if target.kind() == TargetKind::Global {
            return Err(refusal(
                AdviceError::OutsideResource,
                "this operation is within no repository, project or workspace",
                Some(i),
            ));
        }
        let required = operation.required();
        if let Some(scope) = required.iter().find(|s| !s.grantable_to_any()) {
            return Err(refusal(
                AdviceError::ScopeNotGrantable,
                Cow::Owned(format!("'{scope}' is held by no access token")),
                Some(i),
            ));
        }
        scopes = scopes.union(required);
        needs.push((
            i,
            Need {
                target,
                repository_project: call.repository_project,
            },
        ));
    }
    let Some((_, first)) = needs.first() else {
        return Err(refusal(
            AdviceError::PublicOnly,
            "every call is public: any valid token can make them",
            None,
        ));
    };
    let workspace = first.target.workspace().unwrap_or_default();
    if let Some((i, _)) = needs
        .iter()
        .find(|(_, n)| !same_name(n.target.workspace().unwrap_or_default(), workspace))
    {
        return Err(refusal(
            AdviceError::SeveralWorkspaces,
            "the calls reach more than one workspace",
            Some(*i),
        ));
    }
    let needs: Vec<Need> = needs.into_iter().map(|(_, n)| n).collect();
    Ok(Advice {
        binding: narrowest_binding(&needs, scopes, workspace),
        scopes: scopes.reduce(),
    })
}

fn narrowest_binding(needs: &[Need<'_>], scopes: ScopeSet, workspace: &str) -> Binding<'static> {
    let holds_all = |kind: TokenKind| scopes.iter().all(|s: Scope| s.grantable_to(kind));
    let workspace_binding = || Binding::Workspace {
        workspace: Cow::Owned(workspace.to_owned()),
    };
    if !holds_all(TokenKind::Project)
        || needs
            .iter()
            .any(|n| n.target.kind() == TargetKind::Workspace)
    {
        return workspace_binding();
    }
    let mut repositories = needs.iter().filter_map(|n| match n.target {
        Target::Repository { repository, .. } => Some(repository),
        _ => None,
    });
    if let Some(repository) = repositories.next() {
        let only_one = repositories.all(|r| same_name(r, repository))
            && needs
                .iter()
                .all(|n| n.target.kind() == TargetKind::Repository);
        if only_one && holds_all(TokenKind::Repository) {
            return Binding::Repository {
                workspace: Cow::Owned(workspace.to_owned()),
                repository: Cow::Owned(repository.to_owned()),
            };
        }
    }
    match common_project(needs) {
        Some(project) => Binding::Project {
            workspace: Cow::Owned(workspace.to_owned()),
            project: Cow::Owned(project.to_owned()),
        },
        None => workspace_binding(),
    }
}

/// The one project every call is in, if the calls say so.
fn common_project<'p>(needs: &[Need<'p>]) -> Option<&'p str> {
    let mut project: Option<&str> = None;
    for need in needs {
        let this = match need.target {
            Target::Repository { .. } => need.repository_project?,
            Target::Project { project, .. } => project,
            _ => return None,
        };
        match project {
            Some(p) if !same_name(p, this) => return None,
            Some(_) => {}
            None => project = Some(this),
        }
    }
    project
}

fn refusal(
    error: AdviceError,
    message: impl Into<Cow<'static, str>>,
    call: Option<usize>,
) -> AdviceRefusal {
    AdviceRefusal {
        error,
        message: message.into(),
        call,
    }
}

/// `minimalToken` on a JSON value: an array of `{method, path, repository_project?}`.
pub fn minimal_token_value(calls: &Value) -> Result<Advice, AdviceRefusal> {
    // Through the text form, so values and text have one reader.
    minimal_token_json(calls.to_string().as_bytes())
}

/// `sg_minimal_token`: the same, as JSON text. Text that is not JSON, or that repeats a key in
/// any of its objects, is `bad_input` ("the calls are not an array"): nothing of it is read.
pub fn minimal_token_json(calls: &[u8]) -> Result<Advice, AdviceRefusal> {
    advise(read_json(calls).unwrap_or(List::Other))
}

fn advise(calls: List<Object<CallFields<'_>>>) -> Result<Advice, AdviceRefusal> {
    let bad = |i| {
        refusal(
            AdviceError::BadInput,
            "each call must be {method: string, path: string, repository_project?: string}",
            Some(i),
        )
    };
    let List::Items(items) = calls else {
        return Err(refusal(
            AdviceError::BadInput,
            "the calls are not an array",
            None,
        ));
    };
    let calls = items
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let Object::Fields(call) = call else {
                return Err(bad(i));
            };
            let (Some(Text::Str(method)), Some(Text::Str(path))) = (&call.method, &call.path)
            else {
                return Err(bad(i));
            };
            let repository_project = match &call.repository_project {
                None | Some(Text::Null) => None,
                Some(Text::Str(project)) => Some(project.as_ref()),
                Some(Text::Other) => return Err(bad(i)),
            };
            Ok(Call {
                method,
                path,
                repository_project,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    minimal_token(&calls)
}

#[derive(Default)]
struct CallFields<'a> {
    method: Option<Text<'a>>,
    path: Option<Text<'a>>,
    repository_project: Option<Text<'a>>,
}

impl<'de> Fields<'de> for CallFields<'de> {
    fn field(&mut self, key: &str, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            "method" => self.method = Some(value(map)?),
            "path" => self.path = Some(value(map)?),
            "repository_project" => self.repository_project = Some(value(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}
