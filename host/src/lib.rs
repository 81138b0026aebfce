//! scopegate's host service: the policy module under wasmtime, the hashed token store, the
//! admin API, the forward-auth check endpoint and the CLI.

pub mod answer;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod edge;
pub mod error;
pub mod forwarded;
pub mod http;
pub mod metrics;
pub mod runtime;
pub mod scan;
pub mod server;
pub mod service;
pub mod store;
pub mod token;
pub mod webhooks;
