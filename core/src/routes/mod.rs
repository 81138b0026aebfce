//! The operations a token may be asked to perform and how a request path finds its operation (§3–§4).

mod packed;
mod table;
mod trie;

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::Serialize;

use crate::path::{GitEndpoint, GitService, RequestPath};
use crate::scope::{Scope, ScopeSet};
use crate::target::{Target, TargetKind};

/// The methods Bitbucket's operations use. A request's `HEAD` is matched as `GET`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub const COUNT: usize = 4;

    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// The method a request's method is matched as; methods are case-sensitive.
    pub fn of_request(method: &str) -> Option<Method> {
        match method {
            "GET" | "HEAD" => Some(Method::Get),
            "POST" => Some(Method::Post),
            "PUT" => Some(Method::Put),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }
}

/// How the contract treats an operation before looking at scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationClass {
    Normal,
    /// Lists no scope: any valid token may call it.
    Public,
    /// Closed to every access token, whatever its scopes.
    Forbidden,
}

impl OperationClass {
    /// The name serde writes for it (a test holds the two together).
    pub const fn as_str(self) -> &'static str {
        match self {
            OperationClass::Normal => "normal",
            OperationClass::Public => "public",
            OperationClass::Forbidden => "forbidden",
        }
    }
}

/// Where in a template's segments the names of its target stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TargetSpec {
    Repository { workspace: usize, repository: usize },
    Project { workspace: usize, project: usize },
    Workspace { workspace: usize },
    Global,
}

impl TargetSpec {
    fn of_template(segments: &[&str]) -> TargetSpec {
        let position = |name: &str| segments.iter().position(|s| *s == name);
        match segments {
            ["repositories", "{workspace}", "{repo_slug}", ..] => TargetSpec::Repository {
                workspace: 1,
                repository: 2,
            },
            ["workspaces", "{workspace}", "projects", "{project_key}", ..] => TargetSpec::Project {
                workspace: 1,
                project: 3,
            },
            ["user" | "users", ..] => TargetSpec::Global,
            ["teams", "{username}", ..] => TargetSpec::Workspace { workspace: 1 },
            _ => match position("{workspace}") {
                Some(workspace) => TargetSpec::Workspace { workspace },
                None => TargetSpec::Global,
            },
        }
    }

    fn kind(self) -> TargetKind {
        match self {
            TargetSpec::Repository { .. } => TargetKind::Repository,
            TargetSpec::Project { .. } => TargetKind::Project,
            TargetSpec::Workspace { .. } => TargetKind::Workspace,
            TargetSpec::Global => TargetKind::Global,
        }
    }

    fn resolve<'p>(self, segments: &'p [Cow<'p, str>]) -> Target<'p> {
        let at = |i: usize| segments.get(i).map(|s| s.as_ref()).unwrap_or_default();
        match self {
            TargetSpec::Repository {
                workspace,
                repository,
            } => Target::Repository {
                workspace: at(workspace),
                repository: at(repository),
            },
            TargetSpec::Project { workspace, project } => Target::Project {
                workspace: at(workspace),
                project: at(project),
            },
            TargetSpec::Workspace { workspace } => Target::Workspace {
                workspace: at(workspace),
            },
            TargetSpec::Global => Target::Global,
        }
    }
}

/// One API operation of the route table with what the contract derives from it.
#[derive(Debug)]
pub struct ApiOperation {
    pub method: Method,
    /// Path template relative to `/2.0`.
    pub template: &'static str,
    pub required: ScopeSet,
    pub class: OperationClass,
    /// `METHOD /template`, the name decisions report.
    pub name: String,
    target: TargetSpec,
}

impl ApiOperation {
    fn new(method: Method, template: &'static str, required: ScopeSet) -> ApiOperation {
        let segments: Vec<&str> = template.split('/').skip(1).collect();
        let class = if is_forbidden(method, template, &segments) {
            OperationClass::Forbidden
        } else if required.is_empty() {
            OperationClass::Public
        } else {
            OperationClass::Normal
        };
        ApiOperation {
            method,
            template,
            required,
            class,
            name: format!("{} {}", method.as_str(), template),
            target: TargetSpec::of_template(&segments),
        }
    }

    pub fn target_kind(&self) -> TargetKind {
        self.target.kind()
    }
}

/// §3: the operations closed to access tokens whatever their scopes.
fn is_forbidden(method: Method, template: &str, segments: &[&str]) -> bool {
    let permissions = segments
        .iter()
        .any(|s| *s == "permissions" || *s == "permissions-config");
    let user_permissions = template.starts_with("/user/permissions")
        || template.starts_with("/user/workspaces/{workspace}/permission");
    let deploy_key_change = method != Method::Get
        && matches!(
            segments,
            [
                "repositories",
                "{workspace}",
                "{repo_slug}",
                "deploy-keys",
                ..
            ]
        );
    // Segments compared, not a substring search of the template: `str::contains` would bring
    // the module a two-way string searcher for this one line.
    let app_only = segments.first() == Some(&"addon")
        || segments
            .windows(2)
            .any(|pair| pair == ["properties", "{app_key}"]);
    permissions || user_permissions || deploy_key_change || app_only
}

/// The operations of git smart HTTP.
pub const fn git_operation_name(service: GitService) -> &'static str {
    match service {
        GitService::UploadPack => "GIT upload-pack",
        GitService::ReceivePack => "GIT receive-pack",
    }
}

pub const fn git_required(service: GitService) -> Scope {
    match service {
        GitService::UploadPack => Scope::Repository,
        GitService::ReceivePack => Scope::RepositoryWrite,
    }
}

/// An operation a request resolved to.
#[derive(Clone, Copy, Debug)]
pub enum Operation {
    Api(&'static ApiOperation),
    Git(GitService),
}

impl Operation {
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Api(op) => &op.name,
            Operation::Git(service) => git_operation_name(*service),
        }
    }

    pub fn required(&self) -> ScopeSet {
        match self {
            Operation::Api(op) => op.required,
            Operation::Git(service) => ScopeSet::single(git_required(*service)),
        }
    }

    pub fn class(&self) -> OperationClass {
        match self {
            Operation::Api(op) => op.class,
            Operation::Git(_) => OperationClass::Normal,
        }
    }
}

/// What a parsed request path and method come to.
#[derive(Debug)]
pub enum Resolution<'p> {
    /// Neither the API nor git: the website, closed to access tokens.
    Web,
    /// An API or git path that no operation matches with this method.
    Unknown,
    Matched {
        operation: Operation,
        target: Target<'p>,
    },
}

struct Routes {
    operations: Vec<ApiOperation>,
    trie: trie::Trie,
}

fn routes() -> &'static Routes {
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let operations: Vec<ApiOperation> = packed::unpack()
            .map(|(op, template)| {
                // The table borrows its templates for as long as the process runs: leaked once.
                ApiOperation::new(op.method, template.leak(), op.required)
            })
            .collect();
        let trie = trie::Trie::build(&operations);
        Routes { operations, trie }
    })
}

/// All API operations, in route-table order.
pub fn api_operations() -> &'static [ApiOperation] {
    &routes().operations
}

/// Finds the operation for a request method and an already parsed path (§4.2–§4.4).
pub fn resolve<'p>(method: &str, path: &'p RequestPath<'p>) -> Resolution<'p> {
    let Some(method) = Method::of_request(method) else {
        return match path {
            RequestPath::Web => Resolution::Web,
            _ => Resolution::Unknown,
        };
    };
    match path {
        RequestPath::Web => Resolution::Web,
        RequestPath::Api(segments) => {
            let routes = routes();
            match routes.trie.find(method, segments) {
                Some(index) => {
                    let op = &routes.operations[index];
                    Resolution::Matched {
                        operation: Operation::Api(op),
                        target: op.target.resolve(segments),
                    }
                }
                None => Resolution::Unknown,
            }
        }
        RequestPath::Git {
            workspace,
            repository,
            endpoint,
        } => {
            let (service, expected) = match endpoint {
                GitEndpoint::InfoRefs(service) => (*service, Method::Get),
                GitEndpoint::Pack(service) => (*service, Method::Post),
            };
            if method != expected {
                return Resolution::Unknown;
            }
            Resolution::Matched {
                operation: Operation::Git(service),
                target: Target::Repository {
                    workspace,
                    repository,
                },
            }
        }
    }
}
