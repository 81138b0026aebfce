//! The snapshot an edge runtime answers checks from: for every stored token the SHA-256 of its
//! secret with its id and the claims the host itself hands the module, and the repository →
//! project map the module's lookups ask for. Hashes only: a snapshot that leaks grants nobody a usable token.

use crate::clock;
use crate::error::ApiError;
use crate::service::{claims_json, Service};
use crate::token;
use serde_json::{json, Map, Value};

/// Bumped when a field changes meaning, so an edge can refuse a snapshot it does not understand.
pub const FORMAT: u32 = 2;

/// Key of the repository map: the names compare ASCII-case-insensitively, so both are lowered.
pub fn repository_key(workspace: &str, repository: &str) -> String {
    format!(
        "{}/{}",
        workspace.to_ascii_lowercase(),
        repository.to_ascii_lowercase()
    )
}

pub fn snapshot(service: &Service) -> Result<Value, ApiError> {
    let state = service.store.check_state()?;
    let now = clock::now();
    let tokens: Vec<Value> = state
        .tokens
        .iter()
        .map(|(hash, rec)| {
            let claims: Value = serde_json::from_str(&claims_json(rec)).unwrap_or(Value::Null);
            json!({
                "sha256": token::to_hex(hash),
                "id": rec.id,
                "claims": claims,
            })
        })
        .collect();
    let repositories: Map<String, Value> = state
        .repositories
        .iter()
        .map(|r| (repository_key(&r.workspace, &r.slug), json!(r.project)))
        .collect();
    Ok(json!({
        "format": FORMAT,
        "version": state.generation,
        "generated_at": clock::to_rfc3339(now),
        "generated_at_unix": now,
        "tokens": tokens,
        "repositories": repositories,
    }))
}
