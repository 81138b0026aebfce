//! The policy module under wasmtime, through the raw ABI of SPEC §8.
//!
//! One `Engine` for the process; each loaded module is compiled once into an `InstancePre`, and
//! instances are kept in a small idle pool and reused across calls, because instantiating per call
//! would cost more than the decision itself. Every store has a memory cap and an epoch deadline so
//! that a faulty module can neither exhaust memory nor hang a request; an instance that trapped is
//! dropped (its state may be corrupt) and every instance is recycled after a number of calls so
//! that a slow leak in the module cannot accumulate.

use parking_lot::{Mutex, RwLock};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{
    Config, Engine, InstancePre, Linker, Memory, Module, PoolingAllocationConfig, Store,
    StoreLimits, StoreLimitsBuilder, Trap, TypedFunc,
};

pub const ABI_VERSION: i32 = 2;
static NEXT_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
const EPOCH_TICK: Duration = Duration::from_millis(5);

#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Linear-memory cap per instance.
    pub memory_limit: usize,
    /// Wall-clock budget of one call into the module.
    pub timeout: Duration,
    /// An instance is discarded after this many calls.
    pub recycle_after: u32,
    /// Upper bound of live instances per engine (idle + busy, all loaded modules together).
    pub max_instances: u32,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            memory_limit: 64 << 20,
            timeout: Duration::from_millis(100),
            recycle_after: 100_000,
            max_instances: 64,
        }
    }
}

/// Why a module could not be loaded; the previous module (if any) stays in force.
#[derive(Debug)]
pub enum LoadError {
    Unreadable(String),
    DigestMismatch { expected: String, actual: String },
    Invalid(String),
    AbiMismatch(i64),
    SelfTest(String),
}

impl LoadError {
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::Unreadable(_) => "policy_unreadable",
            LoadError::DigestMismatch { .. } => "policy_digest_mismatch",
            LoadError::Invalid(_) => "policy_invalid",
            LoadError::AbiMismatch(_) => "policy_abi_mismatch",
            LoadError::SelfTest(_) => "policy_self_test_failed",
        }
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Unreadable(m) => write!(f, "cannot read the policy module: {m}"),
            LoadError::DigestMismatch { expected, actual } => write!(
                f,
                "policy module SHA-256 is {actual}, but {expected} is pinned"
            ),
            LoadError::Invalid(m) => write!(f, "invalid policy module: {m}"),
            LoadError::AbiMismatch(v) => {
                write!(
                    f,
                    "policy module ABI version {v}, this host speaks {ABI_VERSION}"
                )
            }
            LoadError::SelfTest(m) => write!(f, "policy module failed its self-test: {m}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Why one call into the module failed; the caller denies.
#[derive(Debug)]
pub enum CallError {
    Timeout,
    Trap(String),
    BadOutput(String),
    Unavailable(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Timeout => write!(f, "policy call exceeded its deadline"),
            CallError::Trap(m) => write!(f, "policy module trapped: {m}"),
            CallError::BadOutput(m) => write!(f, "policy module answered badly: {m}"),
            CallError::Unavailable(m) => write!(f, "no policy instance available: {m}"),
        }
    }
}

impl std::error::Error for CallError {}

/// The process-wide engine plus the thread that advances its epoch.
pub struct PolicyEngine {
    engine: Engine,
    config: RuntimeConfig,
}

impl PolicyEngine {
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Arc<Self>> {
        let mut pool = PoolingAllocationConfig::default();
        let n = config.max_instances.max(2);
        pool.total_core_instances(n)
            .total_memories(n)
            // wasm-bindgen output has a funcref table and an externref table.
            .max_tables_per_module(2)
            .total_tables(2 * n)
            .max_memories_per_module(1)
            .max_memory_size(config.memory_limit)
            .total_gc_heaps(n)
            .max_unused_warm_slots(n);
        let mut wasm = Config::new();
        wasm.allocation_strategy(pool);
        wasm.epoch_interruption(true);
        let engine = Engine::new(&wasm).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("policy-epoch".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })?;
        Ok(Arc::new(PolicyEngine { engine, config }))
    }

    fn deadline_ticks(&self) -> u64 {
        (self.config.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64 + 1
    }

    /// Compile, check the digest pin, the ABI version and the self-test.
    pub fn load(&self, bytes: &[u8], pin: Option<&str>) -> Result<Policy, LoadError> {
        let sha256 = crate::token::to_hex(&Sha256::digest(bytes));
        if let Some(expected) = pin {
            if !expected.eq_ignore_ascii_case(&sha256) {
                return Err(LoadError::DigestMismatch {
                    expected: expected.to_ascii_lowercase(),
                    actual: sha256,
                });
            }
        }
        let module = Module::from_binary(&self.engine, bytes)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        let mut linker = Linker::new(&self.engine);
        // The file is wasm-bindgen output: its JS imports exist but the raw ABI never calls them.
        linker
            .define_unknown_imports_as_traps(&module)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        let mut policy = Policy {
            pre,
            engine: self.engine.clone(),
            config: self.config.clone(),
            deadline_ticks: self.deadline_ticks(),
            idle: Mutex::new(Vec::new()),
            serial: NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            sha256,
            abi_version: 0,
            operations: None,
            check_headers: Vec::new(),
            failure_answer: Vec::new(),
            secret_len: None,
        };
        let mut slot = policy.instantiate().map_err(|e| match e {
            CallError::Unavailable(m) => LoadError::Invalid(m),
            other => LoadError::Invalid(other.to_string()),
        })?;
        slot.store.set_epoch_deadline(policy.deadline_ticks);
        let version = slot
            .call_bare(Entry::AbiVersion, slot.abi_version.clone())
            .map_err(|e| LoadError::SelfTest(format!("sg_abi_version: {e:#}")))?;
        if version != ABI_VERSION {
            return Err(LoadError::AbiMismatch(version as i64));
        }
        policy.abi_version = version;
        let scans = slot.scan.is_some();
        policy.idle.lock().push(slot);
        policy.operations = policy.operation_count();
        policy.check_headers = policy.check_header_names()?;
        self_test(&mut policy, scans)?;
        policy.failure_answer = policy
            .check_answer(br#"{"failure":"policy_failure"}"#)
            .map_err(|e| LoadError::SelfTest(format!("check_answer: {e}")))?;
        Ok(policy)
    }
}

struct HostState {
    limits: StoreLimits,
}

struct Slot {
    store: Store<HostState>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    free: TypedFunc<(i32, i32), ()>,
    authorize: TypedFunc<(i32, i32), i64>,
    route: TypedFunc<(i32, i32), i64>,
    check_issue: TypedFunc<(i32, i32), i64>,
    check_request: TypedFunc<(i32, i32), i64>,
    check_answer: TypedFunc<(i32, i32), i64>,
    seal: TypedFunc<(i32, i32), i64>,
    introspect: TypedFunc<(i32, i32), i64>,
    /// Optional, like `sg_operations`: a module from before `sg_scan` still serves checks (it
    /// has the same ABI version); only `scopegate scan` needs it.
    scan: Option<TypedFunc<(i32, i32), i64>>,
    check_header_names: TypedFunc<(), i64>,
    abi_version: TypedFunc<(), i32>,
    operations: Option<TypedFunc<(), i64>>,
    calls: u32,
    /// An input buffer kept across calls, `(ptr, capacity)`: allocating and freeing one per
    /// call was two extra calls into the module per decision.
    input: Option<(i32, usize)>,
}

/// Inputs up to this size reuse the instance's buffer; larger ones get one of their own.
const KEPT_INPUT: usize = 64 * 1024;

/// The module's entry points the host calls (its allocator aside).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entry {
    Authorize,
    Route,
    CheckIssue,
    CheckRequest,
    CheckAnswer,
    Seal,
    Introspect,
    Scan,
    CheckHeaderNames,
    AbiVersion,
    Operations,
}

impl Entry {
    pub const ALL: [Entry; 11] = [
        Entry::Authorize,
        Entry::Route,
        Entry::CheckIssue,
        Entry::CheckRequest,
        Entry::CheckAnswer,
        Entry::Seal,
        Entry::Introspect,
        Entry::Scan,
        Entry::CheckHeaderNames,
        Entry::AbiVersion,
        Entry::Operations,
    ];

    /// The export's name.
    pub const fn name(self) -> &'static str {
        match self {
            Entry::Authorize => "sg_authorize",
            Entry::Route => "sg_route",
            Entry::CheckIssue => "sg_check_issue",
            Entry::CheckRequest => "sg_check_request",
            Entry::CheckAnswer => "sg_check_answer",
            Entry::Seal => "sg_seal",
            Entry::Introspect => "sg_introspect",
            Entry::Scan => "sg_scan",
            Entry::CheckHeaderNames => "sg_check_header_names",
            Entry::AbiVersion => "sg_abi_version",
            Entry::Operations => "sg_operations",
        }
    }
}

/// The entry points that take an input, as [`Slot::invoke`] calls them.
#[derive(Clone, Copy, Debug)]
enum Input {
    Authorize,
    Route,
    CheckIssue,
    CheckRequest,
    CheckAnswer,
    Seal,
    Introspect,
    Scan,
}

impl Input {
    const fn entry(self) -> Entry {
        match self {
            Input::Authorize => Entry::Authorize,
            Input::Route => Entry::Route,
            Input::CheckIssue => Entry::CheckIssue,
            Input::CheckRequest => Entry::CheckRequest,
            Input::CheckAnswer => Entry::CheckAnswer,
            Input::Seal => Entry::Seal,
            Input::Introspect => Entry::Introspect,
            Input::Scan => Entry::Scan,
        }
    }
}

/// What a secret found by `sg_scan` is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    AccessToken,
    AdminCredential,
}

/// A secret `sg_scan` found: where it starts in the bytes handed in, and its kind. It is
/// always 51 bytes long (SPEC §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    pub offset: usize,
    pub kind: SecretKind,
}

#[derive(serde::Deserialize)]
struct ScanAnswer {
    secret_len: usize,
    findings: Vec<ScanFinding>,
}

#[derive(serde::Deserialize)]
struct ScanFinding {
    offset: usize,
    kind: String,
}

/// One loaded, checked module.
pub struct Policy {
    pre: InstancePre<HostState>,
    engine: Engine,
    config: RuntimeConfig,
    deadline_ticks: u64,
    idle: Mutex<Vec<Slot>>,
    /// Unique per load in this process: tells answers of different modules apart.
    pub serial: u64,
    pub sha256: String,
    pub abi_version: i32,
    /// Number of API operations, when the module exports the optional `sg_operations`.
    pub operations: Option<usize>,
    /// The headers `sg_check_request` reads, lower case, as `sg_check_header_names` lists them.
    check_headers: Vec<String>,
    /// `sg_check_answer`'s answer to `{"failure":"policy_failure"}`.
    failure_answer: Vec<u8>,
    /// A secret's length, as `sg_scan` answered it at load; `None` when the module has no
    /// `sg_scan`.
    secret_len: Option<usize>,
}

fn classify(err: wasmtime::Error) -> CallError {
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError::Timeout,
        _ => CallError::Trap(format!("{err:#}")),
    }
}

impl Slot {
    fn read_result(&mut self, packed: i64) -> Result<Vec<u8>, CallError> {
        let packed = packed as u64;
        let ptr = (packed >> 32) as usize;
        let len = (packed & 0xffff_ffff) as usize;
        let out = self
            .memory
            .data(&self.store)
            .get(ptr..ptr.saturating_add(len))
            .ok_or_else(|| CallError::BadOutput(format!("result {ptr}+{len} is out of memory")))?
            .to_vec();
        self.free
            .call(&mut self.store, (ptr as i32, len as i32))
            .map_err(classify)?;
        Ok(out)
    }

    fn invoke(&mut self, entry: Input, input: &[u8], ticks: u64) -> Result<Vec<u8>, CallError> {
        self.store.set_epoch_deadline(ticks);
        let len = i32::try_from(input.len())
            .map_err(|_| CallError::BadOutput("input too large".into()))?;
        let no_scan = || CallError::Unavailable("the module has no sg_scan".into());
        // Refused before the input is written, which would leave a buffer allocated.
        if matches!(entry, Input::Scan) && self.scan.is_none() {
            return Err(no_scan());
        }
        let kept = input.len() <= KEPT_INPUT;
        let ptr = if kept {
            self.kept_buffer(input.len())?
        } else {
            self.alloc.call(&mut self.store, len).map_err(classify)?
        };
        self.memory
            .write(&mut self.store, ptr as u32 as usize, input)
            .map_err(|_| {
                CallError::BadOutput(format!("sg_alloc returned {ptr}, outside memory"))
            })?;
        // Borrowed beside the store rather than cloned: a clone copies the function's type,
        // which took 1.6% of a check's time under perf.
        let func = match entry {
            Input::Authorize => &self.authorize,
            Input::Route => &self.route,
            Input::CheckIssue => &self.check_issue,
            Input::CheckRequest => &self.check_request,
            Input::CheckAnswer => &self.check_answer,
            Input::Seal => &self.seal,
            Input::Introspect => &self.introspect,
            Input::Scan => self.scan.as_ref().ok_or_else(no_scan)?,
        };
        let packed = func.call(&mut self.store, (ptr, len)).map_err(classify)?;
        // The input buffer stays the caller's: it was allocated by the caller through sg_alloc.
        if !kept {
            self.free
                .call(&mut self.store, (ptr, len))
                .map_err(classify)?;
        }
        self.read_result(packed)
    }

    /// A call into an export that takes no input, counted like every other.
    fn call_bare<R: wasmtime::WasmResults>(
        &mut self,
        entry: Entry,
        func: TypedFunc<(), R>,
    ) -> wasmtime::Result<R> {
        let result = func.call(&mut self.store, ());
        // Any error of a call is a trap (an epoch deadline's included).
        crate::metrics::module_call(entry, result.is_err());
        result
    }

    /// The kept input buffer, grown to hold `len` bytes.
    fn kept_buffer(&mut self, len: usize) -> Result<i32, CallError> {
        if let Some((ptr, capacity)) = self.input {
            if capacity >= len {
                return Ok(ptr);
            }
            self.input = None;
            self.free
                .call(&mut self.store, (ptr, capacity as i32))
                .map_err(classify)?;
        }
        let capacity = len.next_power_of_two().clamp(1024, KEPT_INPUT);
        let ptr = self
            .alloc
            .call(&mut self.store, capacity as i32)
            .map_err(classify)?;
        if ptr == 0 {
            return Err(CallError::BadOutput(format!(
                "sg_alloc({capacity}) returned 0"
            )));
        }
        self.input = Some((ptr, capacity));
        Ok(ptr)
    }
}

impl Policy {
    fn instantiate(&self) -> Result<Slot, CallError> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.config.memory_limit)
            .instances(1)
            .tables(4)
            .memories(1)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(&self.engine, HostState { limits });
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(self.deadline_ticks);
        let inst = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| CallError::Unavailable(format!("{e:#}")))?;
        let missing = |name: &str, e: wasmtime::Error| {
            CallError::Unavailable(format!("export {name}: {e:#}"))
        };
        let memory = inst
            .get_memory(&mut store, "memory")
            .ok_or_else(|| CallError::Unavailable("no exported memory".into()))?;
        macro_rules! func {
            ($name:literal) => {
                inst.get_typed_func(&mut store, $name)
                    .map_err(|e| missing($name, e))?
            };
        }
        let alloc = func!("sg_alloc");
        let free = func!("sg_free");
        let authorize = func!("sg_authorize");
        let route = func!("sg_route");
        let check_issue = func!("sg_check_issue");
        let check_request = func!("sg_check_request");
        let check_answer = func!("sg_check_answer");
        let seal = func!("sg_seal");
        let introspect = func!("sg_introspect");
        let scan = inst.get_typed_func(&mut store, "sg_scan").ok();
        let check_header_names = func!("sg_check_header_names");
        let abi_version = func!("sg_abi_version");
        let operations = inst.get_typed_func(&mut store, "sg_operations").ok();
        Ok(Slot {
            store,
            memory,
            alloc,
            free,
            authorize,
            route,
            check_issue,
            check_request,
            check_answer,
            seal,
            introspect,
            scan,
            check_header_names,
            abi_version,
            operations,
            calls: 0,
            input: None,
        })
    }

    fn take(&self) -> Result<Slot, CallError> {
        if let Some(slot) = self.idle.lock().pop() {
            return Ok(slot);
        }
        self.instantiate()
    }

    fn give_back(&self, mut slot: Slot) {
        slot.calls += 1;
        if slot.calls >= self.config.recycle_after {
            return;
        }
        let mut idle = self.idle.lock();
        if idle.len() < (self.config.max_instances as usize / 4).max(2) {
            idle.push(slot);
        }
    }

    fn call(&self, entry: Input, input: &[u8]) -> Result<Vec<u8>, CallError> {
        let mut slot = self.take()?;
        let result = slot.invoke(entry, input, self.deadline_ticks);
        crate::metrics::module_call(
            entry.entry(),
            matches!(result, Err(CallError::Trap(_) | CallError::Timeout)),
        );
        match result {
            Ok(out) => {
                self.give_back(slot);
                Ok(out)
            }
            // The instance is dropped: after a trap its memory may be inconsistent.
            Err(e) => Err(e),
        }
    }

    /// `sg_authorize`: the §5 policy input in, the §5 decision out (JSON bytes).
    pub fn authorize(&self, input: &[u8]) -> Result<Vec<u8>, CallError> {
        self.call(Input::Authorize, input)
    }

    /// `sg_route`: `{"method","path"}` in, `null` or `{operation, required_scopes, target}` out.
    pub fn route(&self, input: &[u8]) -> Result<Vec<u8>, CallError> {
        self.call(Input::Route, input)
    }

    /// `sg_check_issue`: `{"request","context"}` in, `{ok, reason?, message?}` out.
    pub fn check_issue(&self, input: &[u8]) -> Result<Vec<u8>, CallError> {
        self.call(Input::CheckIssue, input)
    }

    /// `sg_check_request`, a check's first call: its headers in (`{"forwarded_headers",
    /// "headers"}`), the whole answer or the lookups it needs out.
    pub fn check_request(&self, input: &[u8]) -> Result<Vec<u8>, CallError> {
        self.call(Input::CheckRequest, input)
    }

    /// `sg_check_answer`, a check's second call: the request with what the lookups found in,
    /// the whole answer out.
    pub fn check_answer(&self, input: &[u8]) -> Result<Vec<u8>, CallError> {
        self.call(Input::CheckAnswer, input)
    }

    /// `sg_seal`: `{"kind", "random"}` in, `{"secret", "sha256"}` out.
    pub fn seal(&self, input: &[u8]) -> Result<Vec<u8>, CallError> {
        self.call(Input::Seal, input)
    }

    /// `sg_introspect`: `{"now", "token": {"id", "created_at", "claims"} | null}` in, the RFC
    /// 7662 answer out.
    pub fn introspect(&self, input: &[u8]) -> Result<Vec<u8>, CallError> {
        self.call(Input::Introspect, input)
    }

    /// `sg_scan`: raw bytes in (not JSON), the secrets found in them out, as offsets into
    /// those bytes with their kinds.
    pub fn scan(&self, bytes: &[u8]) -> Result<Vec<Found>, CallError> {
        Ok(self.scan_answer(bytes)?.1)
    }

    /// A secret's length in bytes, as the module states it: what windows of a file handed to
    /// `sg_scan` overlap by. `None` when the module has no `sg_scan`.
    pub fn secret_len(&self) -> Option<usize> {
        self.secret_len
    }

    fn scan_answer(&self, bytes: &[u8]) -> Result<(usize, Vec<Found>), CallError> {
        let out = self.call(Input::Scan, bytes)?;
        let answer: ScanAnswer = serde_json::from_slice(&out)
            .map_err(|e| CallError::BadOutput(format!("sg_scan: {e}")))?;
        let found = answer
            .findings
            .into_iter()
            .map(|f| match f.kind.as_str() {
                "access_token" => Ok(Found {
                    offset: f.offset,
                    kind: SecretKind::AccessToken,
                }),
                "admin_credential" => Ok(Found {
                    offset: f.offset,
                    kind: SecretKind::AdminCredential,
                }),
                other => Err(CallError::BadOutput(format!(
                    "sg_scan: unknown kind {other:?}"
                ))),
            })
            .collect::<Result<_, _>>()?;
        Ok((answer.secret_len, found))
    }

    /// The answer a check gets when the module can't be asked (a trap, a bad answer): the
    /// module's own wording, asked for when it was loaded.
    pub fn failure_answer(&self) -> &[u8] {
        &self.failure_answer
    }

    /// Whether `sg_check_request` reads the header `name` (lower case): the others need not
    /// be handed to it.
    pub fn reads_header(&self, name: &str) -> bool {
        self.check_headers.iter().any(|n| n == name)
    }

    fn check_header_names(&self) -> Result<Vec<String>, LoadError> {
        let fail = |m: String| LoadError::SelfTest(format!("sg_check_header_names: {m}"));
        let mut slot = self.take().map_err(|e| fail(e.to_string()))?;
        slot.store.set_epoch_deadline(self.deadline_ticks);
        let f = slot.check_header_names.clone();
        let packed = slot
            .call_bare(Entry::CheckHeaderNames, f)
            .map_err(|e| fail(format!("{e:#}")))?;
        let out = slot.read_result(packed).map_err(|e| fail(e.to_string()))?;
        self.give_back(slot);
        let names: Vec<String> = serde_json::from_slice(&out).map_err(|e| fail(e.to_string()))?;
        if names
            .iter()
            .any(|n| n.is_empty() || n.bytes().any(|b| b.is_ascii_uppercase()))
        {
            return Err(fail(format!("not lower-case header names: {names:?}")));
        }
        Ok(names)
    }

    fn operation_count(&self) -> Option<usize> {
        let mut slot = self.take().ok()?;
        let f = slot.operations.clone()?;
        slot.store.set_epoch_deadline(self.deadline_ticks);
        let packed = slot.call_bare(Entry::Operations, f).ok()?;
        let out = slot.read_result(packed).ok()?;
        self.give_back(slot);
        serde_json::from_slice::<Vec<serde_json::Value>>(&out)
            .ok()
            .map(|v| v.len())
    }
}

fn json_call(
    f: impl Fn(&[u8]) -> Result<Vec<u8>, CallError>,
    input: serde_json::Value,
    what: &str,
) -> Result<serde_json::Value, LoadError> {
    let out =
        f(input.to_string().as_bytes()).map_err(|e| LoadError::SelfTest(format!("{what}: {e}")))?;
    serde_json::from_slice(&out)
        .map_err(|e| LoadError::SelfTest(format!("{what}: answer is not JSON: {e}")))
}

/// A few decisions whose answers the contract fixes, so that a module that loads but decides
/// nonsense (a wrong build, a truncated file that still validates) is refused before it serves.
fn self_test(p: &mut Policy, scans: bool) -> Result<(), LoadError> {
    use serde_json::json;
    let token = json!({"kind": "repository", "workspace": "acme", "repository": "api",
                       "scopes": ["repository"], "expires_at": null, "revoked": false});
    let request = json!({"method": "GET", "path": "/2.0/repositories/acme/api"});
    let allow = json_call(
        |b| p.authorize(b),
        json!({"token": token, "request": request, "now": 1_764_300_000}),
        "authorize",
    )?;
    if allow["allow"] != json!(true)
        || allow["status"] != json!(200)
        || allow["reason"] != "allowed"
    {
        return Err(LoadError::SelfTest(format!(
            "expected allowed, got {allow}"
        )));
    }
    let mut revoked_token = token.clone();
    revoked_token["revoked"] = json!(true);
    let revoked = json_call(
        |b| p.authorize(b),
        json!({"token": revoked_token, "request": request, "now": 1_764_300_000}),
        "authorize",
    )?;
    if revoked["allow"] != json!(false)
        || revoked["status"] != json!(401)
        || revoked["reason"] != "token_revoked"
    {
        return Err(LoadError::SelfTest(format!(
            "expected token_revoked, got {revoked}"
        )));
    }
    let route = json_call(|b| p.route(b), request, "route")?;
    if route["operation"] != "GET /repositories/{workspace}/{repo_slug}"
        || route["required_scopes"] != json!(["repository"])
    {
        return Err(LoadError::SelfTest(format!("unexpected route {route}")));
    }
    // A check through both calls: the headers, a lookup for the sealed token, its answer.
    let sealed = json_call(
        |b| p.seal(b),
        json!({"kind": "access_token", "random": "0123456789abcdefghijABCDEFGHIJ0123456789"}),
        "seal",
    )?;
    let secret = sealed["secret"].as_str().unwrap_or_default();
    let headers = json!([
        ["x-original-method", "GET"],
        ["x-original-uri", "/2.0/repositories/acme/api"],
        ["authorization", format!("Bearer {secret}")]
    ]);
    let step = json_call(
        |b| p.check_request(b),
        json!({"forwarded_headers": "either", "headers": headers}),
        "check_request",
    )?;
    if step["lookup"]["sha256"] != sealed["sha256"]
        || step["lookup"]["repository"] != json!({"workspace": "acme", "slug": "api"})
    {
        return Err(LoadError::SelfTest(format!(
            "expected a lookup of the sealed token, got {step} for {sealed}"
        )));
    }
    let answer = json_call(
        |b| p.check_answer(b),
        json!({"request": step["request"], "now": 1_764_300_000,
               "token": {"id": "tok_1", "claims": token}, "repository_project": "PROJ"}),
        "check_answer",
    )?;
    if answer["status"] != json!(200) || !answer["headers"].to_string().contains("tok_1") {
        return Err(LoadError::SelfTest(format!(
            "expected an allow, got {answer}"
        )));
    }
    if scans {
        scan_self_test(p, secret)?;
    }
    let repeated = json_call(
        |b| p.check_request(b),
        json!({"headers": [["x-original-uri", "/2.0/user"], ["x-original-uri", "/2.0/user"]]}),
        "check_request",
    )?;
    if repeated["status"] != json!(403) || repeated["reason"] != "bad_input" {
        return Err(LoadError::SelfTest(format!(
            "expected a repeated header to be bad_input, got {repeated}"
        )));
    }
    let issue = json_call(
        |b| p.check_issue(b),
        json!({"request": {"kind": "repository", "workspace": "acme", "repository": "api",
                           "name": "ci", "scopes": ["repository"], "expires_at": 1_764_400_000},
               "context": {"plan": "free", "now": 1_764_300_000, "max_lifetime_days": 365,
                           "allow_no_expiry": false}}),
        "check_issue",
    )?;
    if issue["ok"] != json!(true) {
        return Err(LoadError::SelfTest(format!(
            "expected an issuable token, got {issue}"
        )));
    }
    Ok(())
}

/// `sg_scan` finds the sealed token where it was put, and says how long a secret is.
fn scan_self_test(p: &mut Policy, secret: &str) -> Result<(), LoadError> {
    let (secret_len, scanned) = p
        .scan_answer(format!("token = \"{secret}\"\n").as_bytes())
        .map_err(|e| LoadError::SelfTest(format!("scan: {e}")))?;
    if secret_len != secret.len()
        || scanned
            != [Found {
                offset: 9,
                kind: SecretKind::AccessToken,
            }]
    {
        return Err(LoadError::SelfTest(format!(
            "expected the sealed token found at 9, got {scanned:?} ({secret_len} long)"
        )));
    }
    p.secret_len = Some(secret_len);
    Ok(())
}

/// Information about the module in force.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PolicyInfo {
    pub path: String,
    pub sha256: String,
    pub abi_version: i32,
    pub operations: Option<usize>,
}

/// The module in force, swappable atomically.
pub struct PolicyHandle {
    engine: Arc<PolicyEngine>,
    path: PathBuf,
    current: RwLock<Arc<Policy>>,
    pin: Mutex<Option<String>>,
    reload_lock: Mutex<()>,
}

pub fn read_module(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|e| LoadError::Unreadable(format!("{}: {e}", path.display())))
}

impl PolicyHandle {
    pub fn open(
        engine: Arc<PolicyEngine>,
        path: PathBuf,
        pin: Option<String>,
    ) -> Result<Self, LoadError> {
        let bytes = read_module(&path)?;
        let policy = engine.load(&bytes, pin.as_deref())?;
        Ok(PolicyHandle {
            engine,
            path,
            current: RwLock::new(Arc::new(policy)),
            pin: Mutex::new(pin),
            reload_lock: Mutex::new(()),
        })
    }

    pub fn current(&self) -> Arc<Policy> {
        self.current.read().clone()
    }

    pub fn info(&self) -> PolicyInfo {
        let p = self.current();
        PolicyInfo {
            path: self.path.display().to_string(),
            sha256: p.sha256.clone(),
            abi_version: p.abi_version,
            operations: p.operations,
        }
    }

    /// Re-read the module file and swap it in if it passes every load check. A new pin, when
    /// given, replaces the old one only if the module matches it.
    pub fn reload(&self, new_pin: Option<String>) -> Result<PolicyInfo, LoadError> {
        let _one_at_a_time = self.reload_lock.lock();
        let pin = new_pin.or_else(|| self.pin.lock().clone());
        let bytes = read_module(&self.path)?;
        let policy = self.engine.load(&bytes, pin.as_deref())?;
        *self.pin.lock() = pin;
        *self.current.write() = Arc::new(policy);
        Ok(self.info())
    }
}
