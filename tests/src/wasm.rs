//! The built module run through its raw ABI in wasmtime, every import defined as a trap: the way
//! a non-JS host or an edge runtime runs it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use wasmtime::{Engine, Instance, Linker, Memory, Module, Store, TypedFunc};

/// An instance of the policy module and its raw-ABI exports.
pub struct RawAbi {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    free: TypedFunc<(i32, i32), ()>,
    abi_version: TypedFunc<(), i32>,
    authorize: TypedFunc<(i32, i32), i64>,
    route: TypedFunc<(i32, i32), i64>,
    check_issue: TypedFunc<(i32, i32), i64>,
    minimal_token: TypedFunc<(i32, i32), i64>,
    check_request: TypedFunc<(i32, i32), i64>,
    check_answer: TypedFunc<(i32, i32), i64>,
    seal: TypedFunc<(i32, i32), i64>,
    scan: TypedFunc<(i32, i32), i64>,
    check_header_names: TypedFunc<(), i64>,
    /// An input buffer kept across calls, `(ptr, capacity)`, as a long-lived host keeps one.
    input: Option<(i32, usize)>,
}

/// The raw-ABI entry points that take a JSON buffer.
#[derive(Clone, Copy, Debug)]
pub enum Entry {
    Authorize,
    Route,
    CheckIssue,
    MinimalToken,
    CheckRequest,
    CheckAnswer,
    Seal,
    /// Raw bytes in, not JSON.
    Scan,
}

impl RawAbi {
    pub fn load(path: &Path) -> Result<RawAbi> {
        let (engine, module) = compiled(path)?;
        let mut linker: Linker<()> = Linker::new(&engine);
        linker.define_unknown_imports_as_traps(&module)?;
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module)?;
        let func = |store: &mut Store<()>, name: &str| -> Result<_> {
            instance
                .get_typed_func::<(i32, i32), i64>(&mut *store, name)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("export {name}"))
        };
        Ok(RawAbi {
            memory: memory(&instance, &mut store)?,
            alloc: instance.get_typed_func(&mut store, "sg_alloc")?,
            free: instance.get_typed_func(&mut store, "sg_free")?,
            abi_version: instance.get_typed_func(&mut store, "sg_abi_version")?,
            authorize: func(&mut store, "sg_authorize")?,
            route: func(&mut store, "sg_route")?,
            check_issue: func(&mut store, "sg_check_issue")?,
            minimal_token: func(&mut store, "sg_minimal_token")?,
            check_request: func(&mut store, "sg_check_request")?,
            check_answer: func(&mut store, "sg_check_answer")?,
            seal: func(&mut store, "sg_seal")?,
            scan: func(&mut store, "sg_scan")?,
            check_header_names: instance.get_typed_func(&mut store, "sg_check_header_names")?,
            input: None,
            store,
        })
    }

    pub fn abi_version(&mut self) -> Result<i32> {
        Ok(self.abi_version.call(&mut self.store, ())?)
    }

    /// Copies `input` into the module, calls `entry`, reads and frees the answer.
    pub fn call(&mut self, entry: Entry, input: &[u8]) -> Result<Vec<u8>> {
        let len = i32::try_from(input.len()).context("input over 2 GiB")?;
        if len == 0 {
            return self.call_raw(entry, 0, 0);
        }
        let ptr = match self.input {
            Some((ptr, capacity)) if capacity >= input.len() => ptr,
            kept => {
                if let Some((ptr, capacity)) = kept {
                    self.free.call(&mut self.store, (ptr, capacity as i32))?;
                }
                self.input = None;
                let capacity = input.len().next_power_of_two().max(1024);
                let ptr = self.alloc.call(&mut self.store, i32::try_from(capacity)?)?;
                if ptr == 0 {
                    bail!("sg_alloc({capacity}) failed");
                }
                self.input = Some((ptr, capacity));
                ptr
            }
        };
        self.memory
            .write(&mut self.store, ptr as u32 as usize, input)?;
        self.call_raw(entry, ptr, len)
    }

    /// Calls `entry` on a pointer and length as given, valid or not.
    pub fn call_raw(&mut self, entry: Entry, ptr: i32, len: i32) -> Result<Vec<u8>> {
        let func = match entry {
            Entry::Authorize => &self.authorize,
            Entry::Route => &self.route,
            Entry::CheckIssue => &self.check_issue,
            Entry::MinimalToken => &self.minimal_token,
            Entry::CheckRequest => &self.check_request,
            Entry::CheckAnswer => &self.check_answer,
            Entry::Seal => &self.seal,
            Entry::Scan => &self.scan,
        };
        let packed = func.call(&mut self.store, (ptr, len))?;
        self.read_answer(packed)
    }

    /// `sg_check_header_names`: the headers `sg_check_request` reads.
    pub fn check_header_names(&mut self) -> Result<Value> {
        let packed = self.check_header_names.call(&mut self.store, ())?;
        let bytes = self.read_answer(packed)?;
        serde_json::from_slice(&bytes).context("the module answered with invalid JSON")
    }

    /// Reads and frees an answer packed as `(ptr << 32) | len`.
    fn read_answer(&mut self, packed: i64) -> Result<Vec<u8>> {
        let packed = packed as u64;
        let (out_ptr, out_len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
        let out = self
            .memory
            .data(&self.store)
            .get(out_ptr..out_ptr.saturating_add(out_len))
            .with_context(|| format!("answer {out_ptr}+{out_len} lies outside memory"))?
            .to_vec();
        self.free
            .call(&mut self.store, (out_ptr as i32, out_len as i32))?;
        Ok(out)
    }

    pub fn call_json(&mut self, entry: Entry, input: &Value) -> Result<Value> {
        let bytes = self.call(entry, input.to_string().as_bytes())?;
        serde_json::from_slice(&bytes).context("the module answered with invalid JSON")
    }

    /// Bytes of linear memory in use, to see that answers are freed.
    pub fn memory_size(&self) -> usize {
        self.memory.data_size(&self.store)
    }
}

/// Compiles each module file once per test binary: Cranelift in a debug build takes seconds.
fn compiled(path: &Path) -> Result<(Engine, Module)> {
    static CACHE: Mutex<Vec<(PathBuf, Engine, Module)>> = Mutex::new(Vec::new());
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, engine, module)) = cache.iter().find(|(p, _, _)| p == path) {
        return Ok((engine.clone(), module.clone()));
    }
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "reading {} (build it with `cargo xtask wasm`)",
            path.display()
        )
    })?;
    let engine = Engine::default();
    let module = Module::new(&engine, bytes)?;
    cache.push((path.to_path_buf(), engine.clone(), module.clone()));
    Ok((engine, module))
}

fn memory(instance: &Instance, store: &mut Store<()>) -> Result<Memory> {
    instance
        .get_memory(store, "memory")
        .context("the module exports no memory")
}
