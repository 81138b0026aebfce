//! scopegate's access-token policy as a pure function: no I/O, no clock, no randomness. Every
//! runtime (the host through wasmtime, the browser, edge workers) runs this code compiled to one
//! WebAssembly module, so the answers here are the answers everywhere.

pub mod api;
pub mod authorize;
mod bytes;
pub mod check;
pub mod claims;
pub mod credentials;
pub mod decision;
pub mod forwarded;
pub mod input;
pub mod introspect;
pub mod issue;
mod json;
mod lenient;
pub mod minimal;
pub mod path;
pub mod routes;
pub mod scope;
pub mod target;
pub mod token;
mod wire;

pub use api::{operations, operations_json, route, route_json, OperationInfo, RouteInfo};
pub use authorize::{authorize, authorize_json, authorize_value};
pub use check::{
    check_answer, check_answer_json, check_request, check_request_json, CheckAnswer, CheckReason,
    Credential, Failure, Found, Lookup, Step, StoredToken,
};
pub use claims::{Binding, Claims, TokenKind};
pub use decision::{Decision, Reason};
pub use forwarded::{
    original_request, original_request_json, ForwardedHeaders, Header, OriginalRequest, Refusal,
};
pub use introspect::introspect_json;
pub use issue::{check_issue, check_issue_json, check_issue_value, IssueOutcome, IssueReason};
pub use minimal::{
    minimal_token, minimal_token_json, minimal_token_value, Advice, AdviceError, AdviceRefusal,
};
pub use scope::{Scope, ScopeSet};
pub use target::{Target, TargetKind};
pub use token::{scan, scan_json, seal_json, Finding, SecretKind};

/// Version of the module's interfaces (`abiVersion()`, `sg_abi_version`).
pub const ABI_VERSION: u32 = 2;
