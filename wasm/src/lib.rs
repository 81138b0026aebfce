//! The scopegate policy as one WebAssembly module. Two doors into the same `scopegate-core`
//! functions: a wasm-bindgen API taking and returning plain JS objects, and a raw byte ABI of JSON
//! buffers for hosts without JS (wasmtime, edge runtimes) that never calls an import.

pub mod abi;
mod js;

/// talc rather than the standard library's dlmalloc: the module is 5.3 KB smaller and a check
/// takes 1% fewer instructions. The module is single-threaded, which this allocator assumes.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub use abi::{dispatch, Call};
