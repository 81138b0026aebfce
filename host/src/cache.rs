//! The check path's in-memory cache: token hash → claims, and repository → project.
//!
//! Every mutation that can change a check's answer has its entries dropped (`forget`, from the
//! store's change log) after it commits and before it answers. Fills carry the generation they
//! started at and are dropped if a removal happened meanwhile, so a lookup that read the store
//! just before a revocation committed cannot re-insert the stale, unrevoked claims.
//!
//! The cache holds at most its capacity and evicts what is least used past it (quick_cache's
//! CLOCK-Pro), so a store with more active tokens than the capacity keeps a steady hit rate
//! instead of emptying itself whenever it fills.

use crate::token::SecretHash;
use quick_cache::sync::Cache;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

/// The default capacity of each of the two maps (`scopegate serve --cache-entries`).
pub const DEFAULT_CAPACITY: usize = 100_000;
/// Bounds the per-second decision memo, which is emptied every second anyway.
const MAX_MEMO_ENTRIES: usize = 100_000;

pub struct CachedToken {
    pub id: Arc<str>,
    /// Its workspace, for the audit log's record of denied checks.
    pub workspace: Arc<str>,
    /// The §5 `token` object, serialised.
    pub claims: String,
}

/// For maps keyed by what scopegate generated (token hashes, token ids): foldhash's fast hasher
/// with a per-process seed. SipHash, the default, guards keys an attacker chooses; it was a
/// tenth of the host's share of a check.
pub(crate) type FastState = foldhash::fast::RandomState;

type Weighter = quick_cache::UnitWeighter;
type Lifecycle<K, V> = quick_cache::sync::DefaultLifecycle<K, V>;

pub struct CheckCache {
    generation: AtomicU64,
    /// SHA-256 of issued secrets: only tokens found in the store are cached.
    tokens: Cache<
        SecretHash,
        Arc<CachedToken>,
        Weighter,
        FastState,
        Lifecycle<SecretHash, Arc<CachedToken>>,
    >,
    repos: Cache<(String, String), Option<String>>,
}

impl Default for CheckCache {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl CheckCache {
    /// At most `capacity` tokens and as many repositories.
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        CheckCache {
            generation: AtomicU64::new(0),
            tokens: Cache::with(
                capacity,
                capacity as u64,
                Weighter::default(),
                FastState::default(),
                Lifecycle::default(),
            ),
            repos: Cache::new(capacity),
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(SeqCst)
    }

    /// The entries held now, tokens and repositories.
    pub fn len(&self) -> (usize, usize) {
        (self.tokens.len(), self.repos.len())
    }

    pub fn get(&self, hash: &SecretHash) -> Option<Arc<CachedToken>> {
        self.tokens.get(hash)
    }

    /// Inserts unless an invalidation came after `generation`. The check after the insert
    /// covers an invalidation that lands between the first check and the insert: it bumps the
    /// generation before it removes entries, so either its removal follows the insert, or the
    /// second check sees the new generation and takes the entry out again.
    pub fn insert(&self, generation: u64, hash: SecretHash, entry: Arc<CachedToken>) {
        if self.generation() != generation {
            return;
        }
        self.tokens.insert(hash, entry);
        if self.generation() != generation {
            self.tokens.remove(&hash);
        }
    }

    pub fn repo_project(&self, ws: &str, repo: &str) -> Option<Option<String>> {
        self.repos
            .get(&(ws.to_ascii_lowercase(), repo.to_ascii_lowercase()))
    }

    pub fn insert_repo(&self, generation: u64, ws: &str, repo: &str, project: Option<String>) {
        if self.generation() != generation {
            return;
        }
        let key = (ws.to_ascii_lowercase(), repo.to_ascii_lowercase());
        self.repos.insert(key.clone(), project);
        if self.generation() != generation {
            self.repos.remove(&key);
        }
    }

    /// Drops everything: for when what changed is unknown.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, SeqCst);
        self.tokens.clear();
        self.repos.clear();
    }

    /// Drops the entries of these tokens and repositories (by their lower-case keys), and
    /// nothing else. The generation moves first, as in `invalidate`, so that a fill that read
    /// the store before the change is not inserted after this removal.
    pub fn forget<'a>(
        &self,
        tokens: impl IntoIterator<Item = &'a SecretHash>,
        repositories: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        self.generation.fetch_add(1, SeqCst);
        for hash in tokens {
            self.tokens.remove(hash);
        }
        for (ws, repo) in repositories {
            self.repos.remove(&(ws.to_string(), repo.to_string()));
        }
    }
}

use parking_lot::RwLock;
use std::collections::HashMap;

/// Memo of the module's answers within one second.
///
/// The policy is a pure function of its input, and the input carries the claims, the request,
/// `now` (in seconds) and the repository's project; so the same input bytes under the same
/// loaded module always get the same decision. Keys are those exact bytes, or their SHA-256 for
/// an input that holds a secret; the memo is emptied when the second or the module changes, so it
/// never holds more than a second of traffic.
pub struct DecisionMemo<T, K = String> {
    inner: RwLock<MemoInner<T, K>>,
}

struct MemoInner<T, K> {
    now: i64,
    module: u64,
    map: HashMap<K, Arc<T>>,
}

impl<T, K> Default for DecisionMemo<T, K> {
    fn default() -> Self {
        DecisionMemo {
            inner: RwLock::new(MemoInner {
                now: i64::MIN,
                module: 0,
                map: HashMap::new(),
            }),
        }
    }
}

impl<T, K: std::hash::Hash + Eq> DecisionMemo<T, K> {
    pub fn get(&self, module: u64, now: i64, key: &K) -> Option<Arc<T>> {
        let inner = self.inner.read();
        if inner.now != now || inner.module != module {
            return None;
        }
        inner.map.get(key).cloned()
    }

    pub fn put(&self, module: u64, now: i64, key: K, value: Arc<T>) {
        let mut inner = self.inner.write();
        if now < inner.now {
            return;
        }
        if inner.now != now || inner.module != module {
            inner.map.clear();
            inner.now = now;
            inner.module = module;
        }
        if inner.map.len() >= MAX_MEMO_ENTRIES {
            inner.map.clear();
        }
        inner.map.insert(key, value);
    }

    pub fn clear(&self) {
        self.inner.write().map.clear();
    }

    /// The memoised answer under `key`, or `answer`'s, kept for the rest of the second; with
    /// `on` false the memo is neither read nor filled.
    pub fn get_or_answer<E>(
        &self,
        on: bool,
        module: u64,
        now: i64,
        key: K,
        answer: impl FnOnce(&K) -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        if let Some(known) = on.then(|| self.get(module, now, &key)).flatten() {
            return Ok(known);
        }
        let value = Arc::new(answer(&key)?);
        if on {
            self.put(module, now, key, value.clone());
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_answers_only_the_same_input_second_and_module() {
        let memo = DecisionMemo::<u32>::default();
        memo.put(1, 100, "in".into(), Arc::new(7));
        assert_eq!(memo.get(1, 100, &"in".into()).as_deref(), Some(&7));
        assert!(memo.get(1, 100, &"other".into()).is_none());
        assert!(memo.get(2, 100, &"in".into()).is_none(), "another module");
        assert!(memo.get(1, 101, &"in".into()).is_none(), "another second");
        memo.put(1, 101, "in".into(), Arc::new(8));
        memo.put(1, 100, "late".into(), Arc::new(9)); // an older second never comes back
        assert!(memo.get(1, 100, &"in".into()).is_none());
        assert_eq!(memo.get(1, 101, &"in".into()).as_deref(), Some(&8));
    }

    #[test]
    fn fills_started_before_an_invalidation_are_dropped() {
        let cache = CheckCache::default();
        let g = cache.generation();
        cache.invalidate();
        let entry = Arc::new(CachedToken {
            id: "t".into(),
            workspace: "w".into(),
            claims: "{}".into(),
        });
        cache.insert(g, [0; 32], entry.clone());
        assert!(cache.get(&[0; 32]).is_none());
        cache.insert(cache.generation(), [0; 32], entry);
        assert!(cache.get(&[0; 32]).is_some());
    }

    #[test]
    fn forgetting_drops_only_what_is_named_and_fences_fills() {
        let cache = CheckCache::default();
        let g = cache.generation();
        let entry = Arc::new(CachedToken {
            id: "t".into(),
            workspace: "w".into(),
            claims: "{}".into(),
        });
        cache.insert(g, [1; 32], entry.clone());
        cache.insert(g, [2; 32], entry.clone());
        cache.insert_repo(g, "Acme", "API", Some("P".into()));
        cache.insert_repo(g, "acme", "web", None);
        cache.forget([&[1; 32]], [("acme", "api")]);
        assert!(cache.get(&[1; 32]).is_none());
        assert!(cache.get(&[2; 32]).is_some());
        assert!(cache.repo_project("acme", "api").is_none());
        assert_eq!(cache.repo_project("ACME", "Web"), Some(None));
        // A fill that started before the change is not kept.
        cache.insert(g, [1; 32], entry);
        assert!(cache.get(&[1; 32]).is_none());
    }

    #[test]
    fn a_full_cache_evicts_rather_than_empties() {
        let cache = CheckCache::with_capacity(100);
        let g = cache.generation();
        for i in 0..1000u32 {
            let mut hash = [0; 32];
            hash[..4].copy_from_slice(&i.to_le_bytes());
            let entry = Arc::new(CachedToken {
                id: "t".into(),
                workspace: "w".into(),
                claims: "{}".into(),
            });
            cache.insert(g, hash, entry);
        }
        let (tokens, _) = cache.len();
        assert!((50..=100).contains(&tokens), "{tokens} entries held");
    }
}
