//! The scopegate policy as one WebAssembly module. Two doors into the same `scopegate-core`
//! functions: a wasm-bindgen API taking and returning plain JS objects, and a raw byte ABI of JSON
//! buffers for hosts without JS (wasmtime, edge runtimes) that never calls an import.

pub mod abi;
mod js;

pub use abi::{dispatch, Call};
