//! What an operation acts on (§4.4) and whether a token reaches it (§4.5).

use serde::Serialize;

use crate::claims::{same_name, Binding};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Repository,
    Project,
    Workspace,
    Global,
}

impl TargetKind {
    /// The name serde writes for it (a test holds the two together).
    pub const fn as_str(self) -> &'static str {
        match self {
            TargetKind::Repository => "repository",
            TargetKind::Project => "project",
            TargetKind::Workspace => "workspace",
            TargetKind::Global => "global",
        }
    }
}

/// The resource named by a request, borrowed from its decoded path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target<'p> {
    Repository {
        workspace: &'p str,
        repository: &'p str,
    },
    Project {
        workspace: &'p str,
        project: &'p str,
    },
    Workspace {
        workspace: &'p str,
    },
    Global,
}

/// Whether a token's binding reaches a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    Within,
    Outside,
    /// A project token and a repository whose project the caller did not supply.
    Unresolved,
}

impl<'p> Target<'p> {
    pub fn kind(&self) -> TargetKind {
        match self {
            Target::Repository { .. } => TargetKind::Repository,
            Target::Project { .. } => TargetKind::Project,
            Target::Workspace { .. } => TargetKind::Workspace,
            Target::Global => TargetKind::Global,
        }
    }

    pub fn workspace(&self) -> Option<&'p str> {
        match self {
            Target::Repository { workspace, .. }
            | Target::Project { workspace, .. }
            | Target::Workspace { workspace } => Some(*workspace),
            Target::Global => None,
        }
    }

    /// §4.5. `repository_project` is the project the caller says the target repository is in.
    pub fn reach(&self, binding: &Binding, repository_project: Option<&str>) -> Reach {
        let Some(workspace) = self.workspace() else {
            return Reach::Outside;
        };
        if !same_name(workspace, binding.workspace()) {
            return Reach::Outside;
        }
        let within = match (binding, self) {
            (Binding::Workspace { .. }, _) => true,
            (Binding::Repository { repository, .. }, Target::Repository { repository: r, .. }) => {
                same_name(repository, r)
            }
            (Binding::Project { project, .. }, Target::Project { project: p, .. }) => {
                same_name(project, p)
            }
            (Binding::Project { project, .. }, Target::Repository { .. }) => {
                return match repository_project {
                    Some(p) if same_name(project, p) => Reach::Within,
                    Some(_) => Reach::Outside,
                    None => Reach::Unresolved,
                };
            }
            _ => false,
        };
        if within {
            Reach::Within
        } else {
            Reach::Outside
        }
    }
}
