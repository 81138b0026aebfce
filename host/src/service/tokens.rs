//! Access tokens: issuing (as the module allows), listing, revoking and rotating, and the
//! claims the check path hands the module for a stored token.

use super::{push_json_str, Action, Caller, ResourceRef, Service};
use crate::clock;
use crate::error::{ApiError, RefusalCode};
use crate::store::page::{Order, NEWEST_TOKENS};
use crate::store::{
    Entity, NewToken, Page, PageRequest, Resource, TokenRecord, TokenSelection, TokenState,
    Workspace,
};
use crate::token;
use serde::Deserialize;
use serde_json::json;

/// How long a rotated token keeps working at most.
pub const ROTATION_GRACE_SECS: i64 = 30 * 60;

#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<i64>,
}

pub struct Created {
    pub record: TokenRecord,
    pub secret: String,
}

#[derive(Deserialize)]
struct IssueAnswer {
    ok: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The policy's view of a stored token (its §5 `token` object), serialised once per cache fill,
/// in the layout the module reads fastest: §5's key order, every field present, no whitespace.
pub fn claims_json(r: &TokenRecord) -> String {
    let mut out = String::with_capacity(128);
    out.push_str(r#"{"kind":"#);
    push_json_str(&mut out, r.resource.kind().as_str());
    out.push_str(r#","workspace":"#);
    push_json_str(&mut out, r.resource.workspace());
    match &r.resource {
        Resource::Project { project, .. } => {
            out.push_str(r#","project":"#);
            push_json_str(&mut out, project);
        }
        Resource::Repository { repository, .. } => {
            out.push_str(r#","repository":"#);
            push_json_str(&mut out, repository);
        }
        Resource::Workspace { .. } => {}
    }
    out.push_str(r#","scopes":["#);
    for (i, scope) in r.scopes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(&mut out, scope);
    }
    out.push_str(r#"],"expires_at":"#);
    match r.expires_at {
        Some(at) => out.push_str(itoa::Buffer::new().format(at)),
        None => out.push_str("null"),
    }
    out.push_str(r#","revoked":"#);
    out.push_str(if r.is_revoked() { "true" } else { "false" });
    out.push('}');
    out
}

fn workspace_of(r: &ResourceRef) -> &str {
    match r {
        ResourceRef::Workspace(w) | ResourceRef::Project(w, _) | ResourceRef::Repository(w, _) => w,
    }
}

impl Service {
    fn resolve(&self, r: &ResourceRef) -> Result<(Resource, Workspace), ApiError> {
        let ws = self
            .store
            .get_workspace(workspace_of(r))?
            .ok_or(ApiError::NotFound(Entity::Workspace))?;
        let resource = match r {
            ResourceRef::Workspace(_) => Resource::Workspace {
                workspace: ws.slug.clone(),
            },
            ResourceRef::Project(w, k) => {
                let p = self
                    .store
                    .get_project(w, k)?
                    .ok_or(ApiError::NotFound(Entity::Project))?;
                Resource::Project {
                    workspace: p.workspace,
                    project: p.key,
                }
            }
            ResourceRef::Repository(w, s) => {
                let r = self
                    .store
                    .get_repository(w, s)?
                    .ok_or(ApiError::NotFound(Entity::Repository))?;
                Resource::Repository {
                    workspace: r.workspace,
                    repository: r.slug,
                }
            }
        };
        Ok((resource, ws))
    }

    fn check_issue(
        &self,
        resource: &Resource,
        ws: &Workspace,
        req: &IssueRequest,
        now: i64,
    ) -> Result<(), ApiError> {
        let mut request = json!({
            "kind": resource.kind().as_str(),
            "workspace": resource.workspace(),
            "name": req.name,
            "scopes": req.scopes,
            "expires_at": req.expires_at,
        });
        match resource {
            Resource::Project { project, .. } => request["project"] = json!(project),
            Resource::Repository { repository, .. } => request["repository"] = json!(repository),
            Resource::Workspace { .. } => {}
        }
        let input = json!({
            "request": request,
            "context": {
                "plan": ws.plan.as_str(),
                "now": now,
                "max_lifetime_days": ws.token_policy.max_lifetime_days,
                "allow_no_expiry": ws.token_policy.allow_no_expiry,
            }
        });
        let out = self
            .policy()?
            .current()
            .check_issue(input.to_string().as_bytes())?;
        let answer: IssueAnswer = serde_json::from_slice(&out).map_err(ApiError::IssueAnswer)?;
        if answer.ok {
            return Ok(());
        }
        let reason = RefusalCode::of(answer.reason.as_deref());
        Err(ApiError::IssueRefused {
            reason,
            message: answer.message.unwrap_or_default(),
        })
    }

    fn normalise_scopes(scopes: &[String]) -> Vec<String> {
        let mut s = scopes.to_vec();
        s.sort();
        s.dedup();
        s
    }

    pub fn create_token(
        &self,
        r: &ResourceRef,
        req: IssueRequest,
        caller: &Caller,
    ) -> Result<Created, ApiError> {
        caller.may(Action::ManageResources, Some(workspace_of(r)))?;
        let now = clock::now();
        let (resource, ws) = self.resolve(r)?;
        self.check_issue(&resource, &ws, &req, now)?;
        let (secret, hash) = self.seal("access_token")?;
        let record = self.store.insert_token(
            NewToken {
                id: token::new_id(),
                hash,
                name: req.name.trim().to_string(),
                resource,
                scopes: Self::normalise_scopes(&req.scopes),
                created_at: now,
                expires_at: req.expires_at,
            },
            &caller.actor,
        )?;
        tracing::info!(id = %record.id, kind = record.resource.kind().as_str(),
                       workspace = record.resource.workspace(), "token created");
        Ok(Created { record, secret })
    }

    /// The tokens of exactly this resource (its kind, bound to it), newest first: the admin
    /// API's lists.
    pub fn list_tokens(
        &self,
        r: &ResourceRef,
        page: &PageRequest,
        caller: &Caller,
    ) -> Result<Page<TokenRecord>, ApiError> {
        caller.may(Action::Read, Some(workspace_of(r)))?;
        let (resource, _) = self.resolve(r)?;
        self.flush_accesses();
        Ok(self
            .store
            .list_tokens(TokenSelection::Of(&resource), None, NEWEST_TOKENS, page)?)
    }

    /// A page of the tokens within a resource, oldest first: for a workspace every token in it (workspace,
    /// project and repository tokens), for a project or repository the tokens bound to it; only
    /// those in `state` at `now` when given. The workspace must exist; the project or
    /// repository need not, so that the deactivated tokens of a deleted one stay listable.
    pub fn find_tokens(
        &self,
        within: &ResourceRef,
        state: Option<TokenState>,
        now: i64,
        page: &PageRequest,
    ) -> Result<Page<TokenRecord>, ApiError> {
        let bound = match within {
            ResourceRef::Workspace(_) => None,
            ResourceRef::Project(workspace, project) => Some(Resource::Project {
                workspace: workspace.clone(),
                project: project.clone(),
            }),
            ResourceRef::Repository(workspace, repository) => Some(Resource::Repository {
                workspace: workspace.clone(),
                repository: repository.clone(),
            }),
        };
        let ws = self
            .store
            .get_workspace(workspace_of(within))?
            .ok_or(ApiError::NotFound(Entity::Workspace))?;
        let selection = match &bound {
            None => TokenSelection::InWorkspace(&ws.slug),
            Some(resource) => TokenSelection::Of(resource),
        };
        self.flush_accesses();
        Ok(self
            .store
            .list_tokens(selection, state.map(|s| (s, now)), Order::OldestFirst, page)?)
    }

    pub fn get_token(&self, id: &str, caller: &Caller) -> Result<TokenRecord, ApiError> {
        self.flush_accesses();
        let t = self
            .store
            .get_token(id)?
            .ok_or(ApiError::NotFound(Entity::Token))?;
        caller.may(Action::Read, Some(t.resource.workspace()))?;
        Ok(t)
    }

    /// The token `id` when the caller may do `action` in its workspace.
    fn token_for(
        &self,
        id: &str,
        caller: &Caller,
        action: Action,
    ) -> Result<TokenRecord, ApiError> {
        let t = self
            .store
            .get_token(id)?
            .ok_or(ApiError::NotFound(Entity::Token))?;
        caller.may(action, Some(t.resource.workspace()))?;
        Ok(t)
    }

    pub fn revoke_token(&self, id: &str, caller: &Caller) -> Result<TokenRecord, ApiError> {
        self.token_for(id, caller, Action::ManageResources)?;
        let out = self.store.revoke_token(id, clock::now(), &caller.actor);
        // Invalidate after the commit and before answering: no check can allow it from now on.
        self.changed();
        let rec = out?;
        tracing::info!(id = %rec.id, "token revoked");
        Ok(rec)
    }

    pub fn rotate_token(
        &self,
        id: &str,
        expires_at: Option<i64>,
        caller: &Caller,
    ) -> Result<Created, ApiError> {
        let now = clock::now();
        let old = self.token_for(id, caller, Action::ManageResources)?;
        if old.is_revoked() {
            return Err(ApiError::TokenRevoked);
        }
        if old.expires_at.is_some_and(|e| now >= e) {
            return Err(ApiError::TokenExpired);
        }
        let r = match &old.resource {
            Resource::Workspace { workspace } => ResourceRef::Workspace(workspace.clone()),
            Resource::Project { workspace, project } => {
                ResourceRef::Project(workspace.clone(), project.clone())
            }
            Resource::Repository {
                workspace,
                repository,
            } => ResourceRef::Repository(workspace.clone(), repository.clone()),
        };
        let (resource, ws) = self.resolve(&r)?;
        let req = IssueRequest {
            name: old.name.clone(),
            scopes: old.scopes.clone(),
            expires_at,
        };
        self.check_issue(&resource, &ws, &req, now)?;
        let grace_end = now + ROTATION_GRACE_SECS;
        let old_expires = Some(old.expires_at.map_or(grace_end, |e| e.min(grace_end)));
        let (secret, hash) = self.seal("access_token")?;
        let out = self.store.rotate_token(
            id,
            old_expires,
            NewToken {
                id: token::new_id(),
                hash,
                name: old.name.clone(),
                resource,
                scopes: old.scopes.clone(),
                created_at: now,
                expires_at,
            },
            &caller.actor,
        );
        self.changed();
        let record = out?;
        tracing::info!(old = %id, new = %record.id, "token rotated");
        Ok(Created { record, secret })
    }
}

#[cfg(test)]
mod tests {
    use super::claims_json;
    use crate::store::{Resource, TokenRecord};
    use serde_json::json;

    /// The token object the host writes is the §5 object of the record, keys in §5's order.
    #[test]
    fn claims_are_the_records_token_object_in_contract_order(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let name = "we\"ird\\na\u{e9}me";
        let resources = [
            Resource::Workspace {
                workspace: name.into(),
            },
            Resource::Project {
                workspace: "acme".into(),
                project: name.into(),
            },
            Resource::Repository {
                workspace: "acme".into(),
                repository: name.into(),
            },
        ];
        let times = [
            (None, None),
            (Some(1_767_225_600), Some(5)),
            (Some(-1), None),
        ];
        for (resource, (expires_at, revoked_at)) in resources.into_iter().zip(times) {
            let record = TokenRecord {
                id: "id".into(),
                name: "n".into(),
                resource: resource.clone(),
                scopes: vec!["pullrequest".into(), "a\"b".into()],
                created_at: 0,
                expires_at,
                revoked_at,
                deactivated_at: None,
                last_accessed_at: None,
                last_used_ips: Vec::new(),
                rotated_from: None,
            };
            let text = claims_json(&record);
            let mut expected = json!({
                "kind": resource.kind().as_str(),
                "workspace": resource.workspace(),
                "scopes": ["pullrequest", "a\"b"],
                "expires_at": expires_at,
                "revoked": revoked_at.is_some(),
            });
            let mut order = vec!["kind", "workspace"];
            match &resource {
                Resource::Project { project, .. } => {
                    expected["project"] = json!(project);
                    order.push("project");
                }
                Resource::Repository { repository, .. } => {
                    expected["repository"] = json!(repository);
                    order.push("repository");
                }
                Resource::Workspace { .. } => {}
            }
            order.extend(["scopes", "expires_at", "revoked"]);
            let read: serde_json::Value = serde_json::from_str(&text)?;
            assert_eq!(read, expected, "{text}");
            let at = order
                .iter()
                .map(|k| {
                    text.find(&format!("\"{k}\":"))
                        .ok_or_else(|| format!("no {k} in {text}"))
                })
                .collect::<Result<Vec<usize>, String>>()?;
            assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        }
        Ok(())
    }
}
