//! What the HTTP API and the CLI both do: resource lifecycle, issuing, revoking, rotating, and
//! the check decision. Policy answers come from the module; this layer owns the store, the
//! secrets and the cache.

pub use crate::answer::CheckAnswer;
use crate::answer::Step;
use crate::cache::{CheckCache, FastState};
use crate::clock;
use crate::error::ApiError;
use crate::forwarded::{self, ForwardedHeaders};
use crate::runtime::{Policy, PolicyHandle};
use crate::store::{
    NewToken, Plan, Project, Repository, Resource, Store, TokenPolicy, TokenRecord, Workspace,
};
use crate::token;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// How long a rotated token keeps working at most.
pub const ROTATION_GRACE_SECS: i64 = 30 * 60;

pub struct Service {
    pub store: Arc<dyn Store>,
    policy: Option<Arc<PolicyHandle>>,
    cache: CheckCache,
    /// The module's answers to a check's second call, whose input holds no secret.
    answers: crate::cache::DecisionMemo<CheckAnswer>,
    /// Its answers to the first call, keyed by the SHA-256 of that call's input: the input holds
    /// the token, which the memo must not keep.
    steps: crate::cache::DecisionMemo<Step, token::SecretHash>,
    memo_enabled: std::sync::atomic::AtomicBool,
    /// Token id → last access, until the next flush. Ids are generated here.
    accesses: Mutex<HashMap<String, i64, FastState>>,
    admin_key_hash: Mutex<Option<token::SecretHash>>,
    coherence: Coherence,
    /// The family of forwarding headers the front sets (`serve --forwarded-headers`).
    forwarded_headers: ForwardedHeaders,
}

/// How long cached check answers may outlive the last contact with the store.
pub const DEFAULT_MAX_STALENESS: std::time::Duration = std::time::Duration::from_secs(10);

/// When the cache was last known to agree with the store. While the store is unreachable no
/// change can be noticed, so cached answers are trusted only for a bounded window; after it,
/// checks go to the store and fail closed until it answers again.
struct Coherence {
    epoch: std::time::Instant,
    /// Milliseconds since `epoch` of the last successful change poll; 0 until a server starts
    /// polling (the CLI and in-process benchmarks never do, and need no bound).
    confirmed_ms: std::sync::atomic::AtomicU64,
    max_staleness_ms: std::sync::atomic::AtomicU64,
    /// Whether the last poll failed, so that the outage and the recovery are logged once each.
    failing: std::sync::atomic::AtomicBool,
}

impl Coherence {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    fn trusted(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let confirmed = self.confirmed_ms.load(Relaxed);
        confirmed == 0
            || self.now_ms().saturating_sub(confirmed) <= self.max_staleness_ms.load(Relaxed)
    }
}

/// A resource named in a URL or on the command line, not yet resolved against the store.
#[derive(Clone, Debug)]
pub enum ResourceRef {
    Workspace(String),
    Project(String, String),
    Repository(String, String),
}

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

/// The answer of `/check`: the module's, and the token it was for when it allowed.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub answer: Arc<CheckAnswer>,
    pub token_id: Option<Arc<str>>,
}

impl CheckOutcome {
    pub fn status(&self) -> u16 {
        self.answer.status.as_u16()
    }

    pub fn allowed(&self) -> bool {
        self.answer.status == axum::http::StatusCode::OK
    }

    pub fn reason(&self) -> &str {
        &self.answer.reason
    }
}

#[derive(Deserialize)]
struct IssueAnswer {
    ok: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn valid_name(s: &str, what: &str, allow: impl Fn(u8) -> bool) -> Result<(), ApiError> {
    let ok = !s.is_empty() && s.len() <= 100 && s != "." && s != ".." && s.bytes().all(allow);
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            &format!("invalid_{what}"),
            format!("{what} {s:?} is not a valid name (1-100 of A-Z a-z 0-9 - _ .)"),
        ))
    }
}

pub fn check_slug(s: &str, what: &str) -> Result<(), ApiError> {
    valid_name(s, what, |b| {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'
    })
}

pub fn check_key(s: &str) -> Result<(), ApiError> {
    valid_name(s, "project_key", |b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Append `s` as a JSON string literal. The check path builds the module's input with this
/// into one buffer instead of allocating a string per field.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    // Nearly every method and URI needs no escape: two vectorised passes say so faster than
    // the byte loop below finds out.
    let bytes = s.as_bytes();
    let control = bytes.iter().fold(false, |found, &b| found | (b < 0x20));
    if !control && memchr::memchr2(b'"', b'\\', bytes).is_none() {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut rest = s;
    while let Some(i) = rest
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < 0x20)
    {
        out.push_str(&rest[..i]);
        match rest.as_bytes()[i] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('"');
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

/// What a check's lookups found.
struct Found {
    token: Option<Arc<crate::cache::CachedToken>>,
    repository_project: Option<String>,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, policy: Option<Arc<PolicyHandle>>) -> Self {
        Service {
            store,
            policy,
            cache: CheckCache::default(),
            answers: Default::default(),
            steps: Default::default(),
            memo_enabled: std::sync::atomic::AtomicBool::new(true),
            accesses: Mutex::new(HashMap::default()),
            admin_key_hash: Mutex::new(None),
            coherence: Coherence {
                epoch: std::time::Instant::now(),
                confirmed_ms: 0.into(),
                max_staleness_ms: (DEFAULT_MAX_STALENESS.as_millis() as u64).into(),
                failing: false.into(),
            },
            forwarded_headers: ForwardedHeaders::default(),
        }
    }

    /// Pins the family of forwarding headers the front sets.
    pub fn with_forwarded_headers(mut self, mode: ForwardedHeaders) -> Self {
        self.forwarded_headers = mode;
        self
    }

    /// How long cached answers outlive the last contact with the store.
    pub fn set_max_staleness(&self, d: std::time::Duration) {
        self.coherence
            .max_staleness_ms
            .store(d.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// The module in force; the CLI opens the store without one for commands that need none.
    pub fn policy(&self) -> Result<&Arc<PolicyHandle>, ApiError> {
        self.policy
            .as_ref()
            .ok_or_else(|| ApiError::new(500, "policy_unavailable", "no policy module is loaded"))
    }

    // ---- admin key -------------------------------------------------------------------------

    /// Decide the admin key: the environment's if given, else the stored one, else a new one.
    /// Returns the new key when one was generated, so the caller can print it once.
    pub fn init_admin_key(&self, from_env: Option<&str>) -> Result<Option<String>, ApiError> {
        if let Some(k) = from_env.filter(|k| !k.is_empty()) {
            *self.admin_key_hash.lock() = Some(token::hash(k));
            return Ok(None);
        }
        if let Some(h) = self.store.admin_key_hash()? {
            *self.admin_key_hash.lock() = Some(h);
            return Ok(None);
        }
        let (key, h) = self.seal("admin_credential")?;
        self.store.set_admin_key_hash(&h)?;
        *self.admin_key_hash.lock() = Some(h);
        Ok(Some(key))
    }

    pub fn admin_key_matches(&self, presented: &str) -> bool {
        let Some(expected) = *self.admin_key_hash.lock() else {
            return false;
        };
        let got = token::hash(presented);
        // Comparing digests, so timing reveals nothing about the key itself.
        got.iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    // ---- resources -------------------------------------------------------------------------

    fn changed(&self) {
        self.cache.invalidate();
    }

    pub fn put_workspace(
        &self,
        slug: &str,
        plan: Plan,
        policy: TokenPolicy,
    ) -> Result<(Workspace, bool), ApiError> {
        check_slug(slug, "workspace")?;
        let out = self.store.put_workspace(slug, plan, policy, clock::now())?;
        self.changed();
        Ok(out)
    }

    pub fn delete_workspace(&self, slug: &str) -> Result<(), ApiError> {
        let out = self.store.delete_workspace(slug, clock::now());
        self.changed();
        Ok(out?)
    }

    pub fn put_project(&self, ws: &str, key: &str) -> Result<(Project, bool), ApiError> {
        check_key(key)?;
        let out = self.store.put_project(ws, key, clock::now())?;
        self.changed();
        Ok(out)
    }

    pub fn delete_project(&self, ws: &str, key: &str) -> Result<(), ApiError> {
        let out = self.store.delete_project(ws, key, clock::now());
        self.changed();
        Ok(out?)
    }

    pub fn put_repository(
        &self,
        ws: &str,
        slug: &str,
        project: &str,
    ) -> Result<(Repository, bool), ApiError> {
        check_slug(slug, "repository")?;
        let out = self.store.put_repository(ws, slug, project, clock::now());
        self.changed();
        Ok(out?)
    }

    pub fn delete_repository(&self, ws: &str, slug: &str) -> Result<(), ApiError> {
        let out = self.store.delete_repository(ws, slug, clock::now());
        self.changed();
        Ok(out?)
    }

    pub fn transfer_repository(
        &self,
        ws: &str,
        slug: &str,
        to_ws: &str,
        to_project: &str,
    ) -> Result<Repository, ApiError> {
        let out = self
            .store
            .transfer_repository(ws, slug, to_ws, to_project, clock::now());
        self.changed();
        Ok(out?)
    }

    // ---- tokens ----------------------------------------------------------------------------

    fn resolve(&self, r: &ResourceRef) -> Result<(Resource, Workspace), ApiError> {
        let ws_name = match r {
            ResourceRef::Workspace(w)
            | ResourceRef::Project(w, _)
            | ResourceRef::Repository(w, _) => w,
        };
        let ws = self
            .store
            .get_workspace(ws_name)?
            .ok_or_else(|| ApiError::not_found("workspace"))?;
        let resource = match r {
            ResourceRef::Workspace(_) => Resource::Workspace {
                workspace: ws.slug.clone(),
            },
            ResourceRef::Project(w, k) => {
                let p = self
                    .store
                    .get_project(w, k)?
                    .ok_or_else(|| ApiError::not_found("project"))?;
                Resource::Project {
                    workspace: p.workspace,
                    project: p.key,
                }
            }
            ResourceRef::Repository(w, s) => {
                let r = self
                    .store
                    .get_repository(w, s)?
                    .ok_or_else(|| ApiError::not_found("repository"))?;
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
        let answer: IssueAnswer = serde_json::from_slice(&out).map_err(|e| {
            tracing::error!(error = %e, "policy module: unreadable check_issue answer");
            ApiError::new(500, "policy_failure", "the policy module answered badly")
        })?;
        if answer.ok {
            return Ok(());
        }
        let reason = answer.reason.unwrap_or_else(|| "issue_refused".into());
        let status = if reason == "bad_input" { 400 } else { 422 };
        Err(ApiError::new(
            status,
            reason,
            answer.message.unwrap_or_default(),
        ))
    }

    fn normalise_scopes(scopes: &[String]) -> Vec<String> {
        let mut s = scopes.to_vec();
        s.sort();
        s.dedup();
        s
    }

    pub fn create_token(&self, r: &ResourceRef, req: IssueRequest) -> Result<Created, ApiError> {
        let now = clock::now();
        let (resource, ws) = self.resolve(r)?;
        self.check_issue(&resource, &ws, &req, now)?;
        let (secret, hash) = self.seal("access_token")?;
        let record = self.store.insert_token(NewToken {
            id: token::new_id(),
            hash,
            name: req.name.trim().to_string(),
            resource,
            scopes: Self::normalise_scopes(&req.scopes),
            created_at: now,
            expires_at: req.expires_at,
        })?;
        tracing::info!(id = %record.id, kind = record.resource.kind().as_str(),
                       workspace = record.resource.workspace(), "token created");
        Ok(Created { record, secret })
    }

    pub fn list_tokens(&self, r: &ResourceRef) -> Result<Vec<TokenRecord>, ApiError> {
        let (resource, _) = self.resolve(r)?;
        self.flush_accesses();
        Ok(self.store.list_tokens(&resource)?)
    }

    pub fn get_token(&self, id: &str) -> Result<TokenRecord, ApiError> {
        self.flush_accesses();
        self.store
            .get_token(id)?
            .ok_or_else(|| ApiError::not_found("token"))
    }

    pub fn revoke_token(&self, id: &str) -> Result<TokenRecord, ApiError> {
        let out = self.store.revoke_token(id, clock::now());
        // Invalidate after the commit and before answering: no check can allow it from now on.
        self.changed();
        let rec = out?;
        tracing::info!(id = %rec.id, "token revoked");
        Ok(rec)
    }

    pub fn rotate_token(&self, id: &str, expires_at: Option<i64>) -> Result<Created, ApiError> {
        let now = clock::now();
        let old = self
            .store
            .get_token(id)?
            .ok_or_else(|| ApiError::not_found("token"))?;
        if old.is_revoked() {
            return Err(ApiError::new(
                409,
                "token_revoked",
                "a revoked token cannot be rotated",
            ));
        }
        if old.expires_at.is_some_and(|e| now >= e) {
            return Err(ApiError::new(
                409,
                "token_expired",
                "an expired token cannot be rotated",
            ));
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
        );
        self.changed();
        let record = out?;
        tracing::info!(old = %id, new = %record.id, "token rotated");
        Ok(Created { record, secret })
    }

    /// A new secret of `kind` (`access_token`, `admin_credential`) made by the module from
    /// fresh random characters, with the hash it is stored under.
    fn seal(&self, kind: &str) -> Result<(String, token::SecretHash), ApiError> {
        #[derive(Deserialize)]
        struct Sealed {
            secret: String,
            sha256: String,
        }
        let input = json!({"kind": kind, "random": token::random_part()}).to_string();
        let out = self.policy()?.current().seal(input.as_bytes())?;
        let unreadable = || ApiError::new(500, "policy_failure", "the module sealed no secret");
        let sealed: Sealed = serde_json::from_slice(&out).map_err(|_| unreadable())?;
        let hash = token::from_hex(&sealed.sha256).ok_or_else(unreadable)?;
        Ok((sealed.secret, hash))
    }

    // ---- check -----------------------------------------------------------------------------

    fn lookup(
        &self,
        hash: &token::SecretHash,
    ) -> Result<Option<Arc<crate::cache::CachedToken>>, ApiError> {
        if let Some(t) = self.cache.get(hash).filter(|_| self.coherence.trusted()) {
            return Ok(Some(t));
        }
        let generation = self.cache.generation();
        let Some(rec) = self.store.token_by_hash(hash)? else {
            return Ok(None);
        };
        let entry = Arc::new(crate::cache::CachedToken {
            claims: claims_json(&rec),
            id: rec.id.into(),
        });
        self.cache.insert(generation, *hash, entry.clone());
        Ok(Some(entry))
    }

    fn repository_project(&self, ws: &str, repo: &str) -> Result<Option<String>, ApiError> {
        if let Some(p) = self
            .cache
            .repo_project(ws, repo)
            .filter(|_| self.coherence.trusted())
        {
            return Ok(p);
        }
        let generation = self.cache.generation();
        let p = self.store.get_repository(ws, repo)?.map(|r| r.project);
        self.cache.insert_repo(generation, ws, repo, p.clone());
        Ok(p)
    }

    /// The `/check` answer for a request's headers, named in lower case as they arrived.
    /// Every answer is the module's; a store that fails is a denial the module words, and a
    /// module that fails is the denial it worded when it was loaded.
    pub fn check<'h>(
        &self,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    ) -> Result<CheckOutcome, ApiError> {
        self.check_at(headers, clock::now())
    }

    /// `check` at the time `now`: the module's two calls with the lookups between them.
    /// Only a missing module is an error.
    pub fn check_at<'h>(
        &self,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
        now: i64,
    ) -> Result<CheckOutcome, ApiError> {
        let policy = self.policy()?.current();
        match self.ask(&policy, headers, now) {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                tracing::error!(reason = %e.reason, error = %e.message, "check failed; denying");
                let answer = CheckAnswer::read(policy.failure_answer())?;
                Ok(CheckOutcome {
                    answer: Arc::new(answer),
                    token_id: None,
                })
            }
        }
    }

    fn ask<'h>(
        &self,
        policy: &Policy,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
        now: i64,
    ) -> Result<CheckOutcome, ApiError> {
        // Only the headers the module reads are handed over.
        let input = forwarded::input(
            self.forwarded_headers,
            headers
                .into_iter()
                .filter(|(name, _)| policy.reads_header(name)),
        );
        let memo = self.memo_enabled.load(std::sync::atomic::Ordering::Relaxed);
        let first = |_: &token::SecretHash| Step::read(&policy.check_request(input.as_bytes())?);
        let step = if memo {
            let key = token::hash(&input);
            self.steps
                .get_or_answer(true, policy.serial, now, key, first)?
        } else {
            Arc::new(first(&[0; 32])?)
        };
        let lookup = match &*step {
            Step::Answer(answer) => {
                return Ok(CheckOutcome {
                    answer: answer.clone(),
                    token_id: None,
                })
            }
            Step::Lookup(lookup) => lookup,
        };
        let found = match self.find(lookup) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e.message, "the store failed a check's lookup; denying");
                let answer = policy.check_answer(br#"{"failure":"store_unavailable"}"#)?;
                return Ok(CheckOutcome {
                    answer: Arc::new(CheckAnswer::read(&answer)?),
                    token_id: None,
                });
            }
        };
        let mut input = String::with_capacity(lookup.request.len() + 256);
        input.push_str(r#"{"request":"#);
        input.push_str(&lookup.request);
        input.push_str(r#","now":"#);
        input.push_str(itoa::Buffer::new().format(now));
        input.push_str(r#","token":"#);
        match &found.token {
            Some(t) => {
                input.push_str(r#"{"id":"#);
                push_json_str(&mut input, &t.id);
                input.push_str(r#","claims":"#);
                input.push_str(&t.claims);
                input.push('}');
            }
            None => input.push_str("null"),
        }
        input.push_str(r#","repository_project":"#);
        match &found.repository_project {
            Some(p) => push_json_str(&mut input, p),
            None => input.push_str("null"),
        }
        input.push('}');
        let answer = self
            .answers
            .get_or_answer(memo, policy.serial, now, input, |input| {
                CheckAnswer::read(&policy.check_answer(input.as_bytes())?)
            })?;
        let token_id = found.token.map(|t| t.id.clone());
        let outcome = CheckOutcome { answer, token_id };
        if let (true, Some(id)) = (outcome.allowed(), &outcome.token_id) {
            let mut accesses = self.accesses.lock();
            // Steady traffic updates an existing entry; only a token's first check in a flush
            // period allocates.
            match accesses.get_mut(&**id) {
                Some(at) => *at = now,
                None => {
                    accesses.insert(id.to_string(), now);
                }
            }
        }
        Ok(outcome)
    }

    /// What a check's lookups find: the claims stored under the hash, and, for a token found,
    /// the project of the repository the request targets.
    fn find(&self, lookup: &crate::answer::Lookup) -> Result<Found, ApiError> {
        let Some(token) = self.lookup(&lookup.sha256)? else {
            return Ok(Found {
                token: None,
                repository_project: None,
            });
        };
        let repository_project = match &lookup.repository {
            Some((ws, repo)) => self.repository_project(ws, repo)?,
            None => None,
        };
        Ok(Found {
            token: Some(token),
            repository_project,
        })
    }

    /// Switch the per-second memos of the module's answers (on by default); benchmarks measure
    /// both paths.
    pub fn set_decision_memo(&self, on: bool) {
        self.memo_enabled
            .store(on, std::sync::atomic::Ordering::Relaxed);
        self.answers.clear();
        self.steps.clear();
    }

    /// Write the batched `last_accessed_at` values.
    pub fn flush_accesses(&self) {
        let batch: Vec<(String, i64)> = std::mem::take(&mut *self.accesses.lock())
            .into_iter()
            .collect();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.record_access(&batch) {
            tracing::warn!(error = %e, "could not record token accesses; keeping them for later");
            // Put them back (keeping the later time) so that an outage loses none.
            let mut pending = self.accesses.lock();
            for (id, at) in batch {
                let t = pending.entry(id).or_insert(at);
                *t = (*t).max(at);
            }
        }
    }

    /// Drop cached answers if someone else (the CLI, another host) committed to the store.
    pub fn poll_external_changes(&self, last: &mut Option<i64>) {
        use std::sync::atomic::Ordering::Relaxed;
        match self.store.change_marker() {
            Ok(marker) => {
                if last.is_some_and(|l| l != marker) {
                    tracing::debug!(marker, "the store changed outside this process");
                    self.cache.invalidate();
                }
                *last = Some(marker);
                self.coherence
                    .confirmed_ms
                    .store(self.coherence.now_ms(), Relaxed);
                if self.coherence.failing.swap(false, Relaxed) {
                    tracing::info!("the store answers again");
                }
            }
            Err(e) => {
                if !self.coherence.failing.swap(true, Relaxed) {
                    tracing::warn!(error = %e, max_staleness_ms = self.coherence.max_staleness_ms.load(Relaxed),
                        "the store is unreachable; cached answers hold for the staleness window, then checks fail closed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{claims_json, push_json_str};
    use crate::store::{Resource, TokenRecord};
    use serde_json::json;

    #[test]
    fn pushed_strings_read_back_as_themselves() {
        for s in [
            "",
            "/2.0/repositories/acme/api",
            "a\"b\\c",
            "tab\there\nnew\u{1}\u{1f}",
            "é😀/\u{7f}",
            "\"",
            "\\",
        ] {
            let mut out = String::from("x");
            push_json_str(&mut out, s);
            let back: String = serde_json::from_str(&out[1..]).unwrap();
            assert_eq!(back, s, "{out}");
        }
    }

    /// The token object the host writes is the §5 object of the record, keys in §5's order.
    #[test]
    fn claims_are_the_records_token_object_in_contract_order() {
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
            let read: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(read, expected, "{text}");
            let at: Vec<usize> = order
                .iter()
                .map(|k| text.find(&format!("\"{k}\":")).unwrap())
                .collect();
            assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        }
    }
}
