//! Errors shown to API and CLI users, each with a stable reason code.

use crate::runtime::{CallError, LoadError};
use crate::store::StoreError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub reason: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, reason: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            reason: reason.into(),
            message: message.into(),
        }
    }
    pub fn bad_request(reason: &str, message: impl Into<String>) -> Self {
        Self::new(400, reason, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            404,
            format!("{what}_not_found"),
            format!("{what} not found"),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.reason)
    }
}

impl std::error::Error for ApiError {}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = e.code();
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what.as_str()),
            StoreError::Conflict(c) => ApiError::new(409, code, c.to_string()),
            StoreError::Unavailable(m) => {
                tracing::warn!(error = %m, "store unavailable");
                ApiError::new(
                    503,
                    code,
                    "the store is unreachable; nothing was changed, retry later",
                )
            }
            e @ (StoreError::Backend(_) | StoreError::Corrupt { .. }) => {
                tracing::error!(error = %e, "store failure");
                ApiError::new(500, code, "the store failed; see the service log")
            }
        }
    }
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        tracing::error!(error = %e, "policy module failure");
        ApiError::new(
            500,
            "policy_failure",
            "the policy module failed; see the service log",
        )
    }
}

impl From<LoadError> for ApiError {
    fn from(e: LoadError) -> Self {
        ApiError::new(422, e.code(), e.to_string())
    }
}
