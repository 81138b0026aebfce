//! What a token is: its kind, the resource it is bound to, its scopes and its lifetime.

use std::borrow::Cow;

use serde::Serialize;

use crate::scope::ScopeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Repository,
    Project,
    Workspace,
}

impl TokenKind {
    pub fn parse(name: &str) -> Option<TokenKind> {
        match name {
            "repository" => Some(TokenKind::Repository),
            "project" => Some(TokenKind::Project),
            "workspace" => Some(TokenKind::Workspace),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            TokenKind::Repository => "repository",
            TokenKind::Project => "project",
            TokenKind::Workspace => "workspace",
        }
    }
}

/// The one resource a token reaches. Each kind carries exactly the fields it is bound by, so a
/// repository token with a project (or a project token without one) cannot be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding<'a> {
    Repository {
        workspace: Cow<'a, str>,
        repository: Cow<'a, str>,
    },
    Project {
        workspace: Cow<'a, str>,
        project: Cow<'a, str>,
    },
    Workspace {
        workspace: Cow<'a, str>,
    },
}

impl Binding<'_> {
    pub fn kind(&self) -> TokenKind {
        match self {
            Binding::Repository { .. } => TokenKind::Repository,
            Binding::Project { .. } => TokenKind::Project,
            Binding::Workspace { .. } => TokenKind::Workspace,
        }
    }

    pub fn workspace(&self) -> &str {
        match self {
            Binding::Repository { workspace, .. }
            | Binding::Project { workspace, .. }
            | Binding::Workspace { workspace } => workspace,
        }
    }
}

/// Stored claims of a token, already checked against §2: every scope is grantable to the kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims<'a> {
    pub binding: Binding<'a>,
    pub scopes: ScopeSet,
    pub expires_at: Option<i64>,
    pub revoked: bool,
}

impl Claims<'_> {
    pub fn kind(&self) -> TokenKind {
        self.binding.kind()
    }
}

/// Slugs and keys compare ASCII-case-insensitively everywhere (§1).
pub fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}
