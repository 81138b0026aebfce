//! Workspaces, projects and repositories: their lifecycle, and the names they may take.

use super::{Action, Caller, Service};
use crate::clock;
use crate::error::{ApiError, NameKind};
use crate::store::page::DEFAULT_LIMIT;
use crate::store::{Entity, Page, PageRequest, Plan, Project, Repository, TokenPolicy, Workspace};

/// A resource named in a URL or on the command line, not yet resolved against the store.
#[derive(Clone, Debug)]
pub enum ResourceRef {
    Workspace(String),
    Project(String, String),
    Repository(String, String),
}

fn valid_name(s: &str, kind: NameKind, allow: impl Fn(u8) -> bool) -> Result<(), ApiError> {
    let ok = !s.is_empty() && s.len() <= 100 && s != "." && s != ".." && s.bytes().all(allow);
    if ok {
        Ok(())
    } else {
        Err(ApiError::InvalidName {
            kind,
            name: s.to_string(),
        })
    }
}

/// [`check_slug`]'s rule as a regular expression, for the API's description of its parameters
/// (a unit test holds the two to the same answers): any 1-100 of the characters, save `.` and
/// `..`, spelled as the three ways such a name can begin.
pub const SLUG_PATTERN: &str = r"^(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}|\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,98}|\.\.[A-Za-z0-9._-]{1,98})$";

/// [`check_key`]'s rule as a regular expression.
pub const KEY_PATTERN: &str = r"^[A-Za-z0-9_]{1,100}$";

/// A workspace or repository slug: 1-100 of `A-Z a-z 0-9 - _ .`, neither `.` nor `..`.
pub fn check_slug(s: &str, kind: NameKind) -> Result<(), ApiError> {
    valid_name(s, kind, |b| {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'
    })
}

/// A project key: 1-100 of `A-Z a-z 0-9 _`.
pub fn check_key(s: &str) -> Result<(), ApiError> {
    valid_name(s, NameKind::ProjectKey, |b| {
        b.is_ascii_alphanumeric() || b == b'_'
    })
}

impl Service {
    pub fn list_workspaces(
        &self,
        page: &PageRequest,
        caller: &Caller,
    ) -> Result<Page<Workspace>, ApiError> {
        caller.may(Action::Read, None)?;
        Ok(self.store.list_workspaces(page)?)
    }

    /// A workspace with the first pages of its projects and repositories.
    pub fn workspace_detail(
        &self,
        slug: &str,
        caller: &Caller,
    ) -> Result<(Workspace, Page<Project>, Page<Repository>), ApiError> {
        caller.may(Action::Read, Some(slug))?;
        let workspace = self.existing_workspace(slug)?;
        let first = PageRequest::first(DEFAULT_LIMIT);
        Ok((
            workspace,
            self.store.list_projects(slug, &first)?,
            self.store.list_repositories(slug, None, &first)?,
        ))
    }

    /// A page of the workspace's projects; NotFound for an unknown workspace.
    pub fn list_projects(
        &self,
        ws: &str,
        page: &PageRequest,
        caller: &Caller,
    ) -> Result<Page<Project>, ApiError> {
        caller.may(Action::Read, Some(ws))?;
        self.existing_workspace(ws)?;
        Ok(self.store.list_projects(ws, page)?)
    }

    /// A page of the workspace's repositories, or of one project's; NotFound for an unknown
    /// workspace.
    pub fn list_repositories(
        &self,
        ws: &str,
        project: Option<&str>,
        page: &PageRequest,
        caller: &Caller,
    ) -> Result<Page<Repository>, ApiError> {
        caller.may(Action::Read, Some(ws))?;
        self.existing_workspace(ws)?;
        Ok(self.store.list_repositories(ws, project, page)?)
    }

    fn existing_workspace(&self, slug: &str) -> Result<Workspace, ApiError> {
        self.store
            .get_workspace(slug)?
            .ok_or(ApiError::NotFound(Entity::Workspace))
    }

    pub fn put_workspace(
        &self,
        slug: &str,
        plan: Plan,
        policy: TokenPolicy,
        caller: &Caller,
    ) -> Result<(Workspace, bool), ApiError> {
        caller.may(Action::ManageWorkspace, Some(slug))?;
        check_slug(slug, NameKind::Workspace)?;
        let out = self
            .store
            .put_workspace(slug, plan, policy, clock::now(), &caller.actor)?;
        self.changed();
        Ok(out)
    }

    pub fn delete_workspace(&self, slug: &str, caller: &Caller) -> Result<(), ApiError> {
        caller.may(Action::ManageWorkspace, Some(slug))?;
        let out = self
            .store
            .delete_workspace(slug, clock::now(), &caller.actor);
        self.changed();
        Ok(out?)
    }

    pub fn put_project(
        &self,
        ws: &str,
        key: &str,
        caller: &Caller,
    ) -> Result<(Project, bool), ApiError> {
        caller.may(Action::ManageResources, Some(ws))?;
        check_key(key)?;
        let out = self
            .store
            .put_project(ws, key, clock::now(), &caller.actor)?;
        self.changed();
        Ok(out)
    }

    pub fn delete_project(&self, ws: &str, key: &str, caller: &Caller) -> Result<(), ApiError> {
        caller.may(Action::ManageResources, Some(ws))?;
        let out = self
            .store
            .delete_project(ws, key, clock::now(), &caller.actor);
        self.changed();
        Ok(out?)
    }

    pub fn put_repository(
        &self,
        ws: &str,
        slug: &str,
        project: &str,
        caller: &Caller,
    ) -> Result<(Repository, bool), ApiError> {
        caller.may(Action::ManageResources, Some(ws))?;
        check_slug(slug, NameKind::Repository)?;
        let out = self
            .store
            .put_repository(ws, slug, project, clock::now(), &caller.actor);
        self.changed();
        Ok(out?)
    }

    pub fn delete_repository(&self, ws: &str, slug: &str, caller: &Caller) -> Result<(), ApiError> {
        caller.may(Action::ManageResources, Some(ws))?;
        let out = self
            .store
            .delete_repository(ws, slug, clock::now(), &caller.actor);
        self.changed();
        Ok(out?)
    }

    pub fn transfer_repository(
        &self,
        ws: &str,
        slug: &str,
        to_ws: &str,
        to_project: &str,
        caller: &Caller,
    ) -> Result<Repository, ApiError> {
        // Both ends: a manager of one workspace can neither take a repository out of another
        // nor hand one to another.
        caller.may(Action::ManageResources, Some(ws))?;
        caller.may(Action::ManageResources, Some(to_ws))?;
        let out = self.store.transfer_repository(
            ws,
            slug,
            to_ws,
            to_project,
            clock::now(),
            &caller.actor,
        );
        self.changed();
        Ok(out?)
    }
}

#[cfg(test)]
mod tests {
    use super::{check_key, check_slug, KEY_PATTERN, SLUG_PATTERN};
    use crate::error::NameKind;
    use proptest::prelude::*;

    fn agree(name: &str) {
        let slug = regex::Regex::new(SLUG_PATTERN).unwrap();
        let key = regex::Regex::new(KEY_PATTERN).unwrap();
        assert_eq!(
            slug.is_match(name),
            check_slug(name, NameKind::Workspace).is_ok(),
            "slug {name:?}"
        );
        assert_eq!(key.is_match(name), check_key(name).is_ok(), "key {name:?}");
    }

    #[test]
    fn the_patterns_answer_as_the_rules_do_at_the_edges() {
        for name in [
            "", ".", "..", "...", ".a", "..a", "a.", "a", "_", "-", "a b", "é", "a/b", "a\n",
        ] {
            agree(name);
        }
        for len in [99, 100, 101] {
            agree(&"a".repeat(len));
            agree(&format!(".{}", "a".repeat(len - 1)));
            agree(&format!("..{}", "a".repeat(len - 2)));
        }
    }

    proptest! {
        #[test]
        fn the_patterns_answer_as_the_rules_do(name in "[A-Za-z0-9._ /-]{0,3}|[A-Za-z0-9._-]{95,105}") {
            agree(&name);
        }
    }
}
