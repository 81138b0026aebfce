//! Admin credentials: the bootstrap key decided at start-up, the credentials created through
//! the API or the CLI, and matching what an admin request presents to one of them.
//!
//! Credentials are looked up in the store on every admin request, never cached: a revocation
//! on one host is in force on every host sharing the store from its commit on.

use super::roles::{Action, Caller};
use super::Service;
use crate::clock;
use crate::error::ApiError;
use crate::store::credentials::{Binding, BOOTSTRAP_ID};
use crate::store::{Actor, CredentialRecord, Entity, NewCredential, Page, PageRequest, Role};
use crate::token;

/// The id the audit log gives the key taken from `SCOPEGATE_ADMIN_KEY`.
pub const ENV_CREDENTIAL_ID: &str = "env";

/// What a new credential is to be.
#[derive(Clone, Debug)]
pub struct CredentialRequest {
    pub name: String,
    pub role: Role,
    pub workspace: Option<String>,
    pub expires_at: Option<i64>,
}

/// A credential just created: its secret is here and nowhere else.
pub struct CreatedCredential {
    pub record: CredentialRecord,
    pub secret: String,
}

fn same_digest(a: &token::SecretHash, b: &token::SecretHash) -> bool {
    // Comparing digests, so timing reveals nothing about the key itself.
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

impl Service {
    /// Decide the bootstrap key (SPEC §9): the environment's if given (held in memory, an
    /// `owner` named `env`), else the credentials already stored, else a new `owner`
    /// credential `bootstrap`. Returns the new key when one was generated, so the caller can
    /// print it once.
    pub fn init_admin_key(&self, from_env: Option<&str>) -> Result<Option<String>, ApiError> {
        if let Some(k) = from_env.filter(|k| !k.is_empty()) {
            *self.env_key_hash.lock() = Some(token::hash(k));
            return Ok(None);
        }
        if !self
            .store
            .list_credentials(&PageRequest::first(1))?
            .items
            .is_empty()
        {
            return Ok(None);
        }
        let (key, hash) = self.seal("admin_credential")?;
        let now = clock::now();
        self.store.insert_credential(
            NewCredential {
                id: BOOTSTRAP_ID.into(),
                hash,
                name: BOOTSTRAP_ID.into(),
                role: Role::Owner,
                workspace: None,
                created_at: now,
                expires_at: None,
            },
            &Actor::Credential(BOOTSTRAP_ID.into()),
        )?;
        Ok(Some(key))
    }

    /// The caller an admin request's bearer secret names: the environment's key, or a live
    /// stored credential. Anything else is 401.
    pub fn authenticate(&self, presented: &str) -> Result<Caller, ApiError> {
        let hash = token::hash(presented);
        if let Some(env) = *self.env_key_hash.lock() {
            if same_digest(&env, &hash) {
                return Ok(Caller {
                    actor: Actor::Credential(ENV_CREDENTIAL_ID.into()),
                    role: Role::Owner,
                    workspace: None,
                });
            }
        }
        // The store is asked by hash, as it is for access tokens: the lookup is on a digest,
        // which tells a timing observer nothing about the secret.
        match self.store.credential_by_hash(&hash)? {
            Some(c) if c.is_live(clock::now()) => Ok(Caller {
                actor: Actor::Credential(c.id),
                role: c.role,
                workspace: c.workspace,
            }),
            _ => Err(ApiError::AdminKeyInvalid),
        }
    }

    /// The calling credential's own record (the in-memory `SCOPEGATE_ADMIN_KEY` has none in
    /// the store, so it is described here).
    pub fn whoami(&self, caller: &Caller) -> Result<CredentialRecord, ApiError> {
        caller.may(Action::WhoAmI, None)?;
        match &caller.actor {
            Actor::Credential(id) if id == ENV_CREDENTIAL_ID => Ok(CredentialRecord {
                id: id.clone(),
                name: "SCOPEGATE_ADMIN_KEY".into(),
                role: caller.role,
                workspace: None,
                created_at: 0,
                expires_at: None,
                revoked_at: None,
            }),
            Actor::Credential(id) => self
                .store
                .get_credential(id)?
                .ok_or(ApiError::AdminKeyInvalid),
            _ => Err(ApiError::AdminKeyInvalid),
        }
    }

    pub fn create_credential(
        &self,
        req: CredentialRequest,
        caller: &Caller,
    ) -> Result<CreatedCredential, ApiError> {
        caller.may(Action::ManageCredentials, None)?;
        let role = req.role.as_str();
        match (req.role.workspace_binding(), &req.workspace) {
            (Binding::Required, None) => {
                return Err(ApiError::RoleBinding {
                    role,
                    rule: "needs a workspace",
                })
            }
            (Binding::Refused, Some(_)) => {
                return Err(ApiError::RoleBinding {
                    role,
                    rule: "cannot be bound to a workspace",
                })
            }
            _ => {}
        }
        let name = req.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(ApiError::InvalidBody(
                "name must be 1 to 200 characters".into(),
            ));
        }
        let now = clock::now();
        if req.expires_at.is_some_and(|e| e <= now) {
            return Err(ApiError::RoleBinding {
                role,
                rule: "cannot expire in the past",
            });
        }
        let workspace = match &req.workspace {
            Some(w) => Some(
                self.store
                    .get_workspace(w)?
                    .ok_or(ApiError::NotFound(Entity::Workspace))?
                    .slug,
            ),
            None => None,
        };
        let (secret, hash) = self.seal("admin_credential")?;
        let record = self.store.insert_credential(
            NewCredential {
                id: token::new_credential_id(),
                hash,
                name: name.to_string(),
                role: req.role,
                workspace,
                created_at: now,
                expires_at: req.expires_at,
            },
            &caller.actor,
        )?;
        tracing::info!(id = %record.id, role, "admin credential created");
        Ok(CreatedCredential { record, secret })
    }

    pub fn list_credentials(
        &self,
        page: &PageRequest,
        caller: &Caller,
    ) -> Result<Page<CredentialRecord>, ApiError> {
        caller.may(Action::Read, None)?;
        Ok(self.store.list_credentials(page)?)
    }

    pub fn revoke_credential(
        &self,
        id: &str,
        caller: &Caller,
    ) -> Result<CredentialRecord, ApiError> {
        caller.may(Action::ManageCredentials, None)?;
        let rec = self
            .store
            .revoke_credential(id, clock::now(), &caller.actor)?;
        tracing::info!(id = %rec.id, "admin credential revoked");
        Ok(rec)
    }
}
