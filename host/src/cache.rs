//! The check path's in-memory cache: token hash → claims, and repository → project.
//!
//! Every mutation that can change a check's answer calls `invalidate` after it commits and
//! before it answers. Fills carry the generation they started at and are dropped if an
//! invalidation happened meanwhile, so a lookup that read the store just before a revocation
//! committed cannot re-insert the stale, unrevoked claims.

use crate::store::TokenKind;
use crate::token::SecretHash;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;

/// Bounds memory when many distinct tokens are checked; clearing is always safe.
const MAX_ENTRIES: usize = 100_000;

pub struct CachedToken {
    pub id: String,
    pub kind: TokenKind,
    /// The §5 `token` object, serialised.
    pub claims: String,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    tokens: HashMap<SecretHash, Arc<CachedToken>>,
    repos: HashMap<(String, String), Option<String>>,
}

#[derive(Default)]
pub struct CheckCache {
    inner: RwLock<Inner>,
}

impl CheckCache {
    pub fn generation(&self) -> u64 {
        self.inner.read().generation
    }

    pub fn get(&self, hash: &SecretHash) -> Option<Arc<CachedToken>> {
        self.inner.read().tokens.get(hash).cloned()
    }

    pub fn insert(&self, generation: u64, hash: SecretHash, entry: Arc<CachedToken>) {
        let mut inner = self.inner.write();
        if inner.generation != generation {
            return;
        }
        if inner.tokens.len() >= MAX_ENTRIES {
            inner.tokens.clear();
        }
        inner.tokens.insert(hash, entry);
    }

    pub fn repo_project(&self, ws: &str, repo: &str) -> Option<Option<String>> {
        self.inner
            .read()
            .repos
            .get(&(ws.to_ascii_lowercase(), repo.to_ascii_lowercase()))
            .cloned()
    }

    pub fn insert_repo(&self, generation: u64, ws: &str, repo: &str, project: Option<String>) {
        let mut inner = self.inner.write();
        if inner.generation != generation {
            return;
        }
        if inner.repos.len() >= MAX_ENTRIES {
            inner.repos.clear();
        }
        inner.repos.insert(
            (ws.to_ascii_lowercase(), repo.to_ascii_lowercase()),
            project,
        );
    }

    pub fn invalidate(&self) {
        let mut inner = self.inner.write();
        inner.generation += 1;
        inner.tokens.clear();
        inner.repos.clear();
    }
}
