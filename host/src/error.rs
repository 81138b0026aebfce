//! Errors shown to API and CLI users: one variant per way a request can fail, each with a stable
//! reason code ([`ApiError::code`]), an HTTP status ([`ApiError::status`]) and the message users
//! read ([`ApiError::message`]). `Display` is the diagnostic for the service log: it may name the
//! underlying failure, which the message of a server-side failure never does.
//!
//! Nothing here logs. Where an error is answered (the HTTP error writer, the CLI) it is logged
//! once, by [`ApiError::log`].

use crate::runtime::{CallError, LoadError};
use crate::store::{Entity, StoreError};

/// The names a resource takes, each with its own rules (and its own `invalid_…` code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Workspace,
    Repository,
    ProjectKey,
    Webhook,
}

impl NameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Workspace => "workspace",
            NameKind::Repository => "repository",
            NameKind::ProjectKey => "project_key",
            NameKind::Webhook => "webhook",
        }
    }
}

/// Why the module refused to issue a token: its §6 reason code, as it answered it. The codes
/// and their order are the module's, so the host keeps no list of them; it passes the code on,
/// and a code that is not a plain lowercase word becomes `issue_refused`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusalCode(Box<str>);

impl RefusalCode {
    /// The code of a refusal that names no reason, or none a code can be.
    pub const UNNAMED: &'static str = "issue_refused";

    pub fn of(code: Option<&str>) -> RefusalCode {
        match code {
            Some(c)
                if !c.is_empty()
                    && c.len() <= 40
                    && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                RefusalCode(c.into())
            }
            _ => RefusalCode(Self::UNNAMED.into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What is wrong with a webhook's definition (`invalid_webhook_url`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookProblem {
    /// Not an `http://` or `https://` URL of the form `URL_PATTERN` states.
    Url,
    /// Not 16-256 visible ASCII characters.
    Secret,
    /// No event to send.
    NoEvents,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    // ---- the request --------------------------------------------------------------------------
    #[error("no admin key presented")]
    AdminKeyMissing,
    #[error("the admin key presented is not valid")]
    AdminKeyInvalid,
    /// The credential is valid, but its role does not cover this call (SPEC §11).
    #[error("the {role} credential may not {action}")]
    RoleForbidden {
        role: &'static str,
        action: &'static str,
    },
    /// A credential asked for with a role and a workspace binding that do not go together, or
    /// that would have expired already.
    #[error("a {role} credential {rule}")]
    RoleBinding {
        role: &'static str,
        rule: &'static str,
    },
    #[error("no such admin endpoint")]
    NoSuchEndpoint,
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    #[error("request body over {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(serde_json::Error),
    #[error("invalid path parameters: {}", .0.body_text())]
    InvalidPath(axum::extract::rejection::PathRejection),
    /// A body field missing or of the wrong form; the text says which.
    #[error("invalid body: {0}")]
    InvalidBody(String),
    /// A leak report of no string, or of more than the limit.
    #[error("a leak report holds 1 to {max} strings, not {received}")]
    ReportSize { received: usize, max: usize },
    /// More leak reports from one address than the limit allows.
    #[error("more than {per_hour} leak reports in {window_secs} s from one address")]
    TooManyReports { per_hour: usize, window_secs: i64 },
    /// A query parameter missing or of the wrong form; the text says which.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// The CLI could not read its input.
    #[error("unreadable input: {0}")]
    InvalidInput(std::io::Error),
    #[error("{} {name:?} is not a valid name", .kind.as_str())]
    InvalidName { kind: NameKind, name: String },
    #[error("invalid webhook: {0:?}")]
    InvalidWebhook(WebhookProblem),

    // ---- what the request names ---------------------------------------------------------------
    #[error("{} not found", .0.as_str())]
    NotFound(Entity),
    #[error("a revoked token cannot be rotated")]
    TokenRevoked,
    #[error("an expired token cannot be rotated")]
    TokenExpired,
    /// The module refused to issue the token.
    #[error("issue refused ({}): {message}", .reason.as_str())]
    IssueRefused {
        reason: RefusalCode,
        message: String,
    },

    // ---- the service --------------------------------------------------------------------------
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no policy module is loaded")]
    PolicyUnavailable,
    #[error(transparent)]
    PolicyCall(#[from] CallError),
    /// A module refused at load or reload; the previous one (if any) stays in force.
    #[error(transparent)]
    PolicyLoad(#[from] LoadError),
    /// A check answer the host cannot write out; the text says what was wrong.
    #[error("policy module answer: {0}")]
    PolicyAnswer(String),
    #[error("unreadable check_issue answer: {0}")]
    IssueAnswer(serde_json::Error),
    #[error("the module sealed no secret")]
    SealAnswer,
    /// A blocking task of the admin API failed (panicked or was cancelled).
    #[error("admin task failed: {0}")]
    TaskFailed(tokio::task::JoinError),
}

impl ApiError {
    /// The stable reason code the API and the CLI answer with.
    pub fn code(&self) -> &str {
        match self {
            ApiError::AdminKeyMissing => "admin_key_missing",
            ApiError::AdminKeyInvalid => "admin_key_invalid",
            ApiError::RoleForbidden { .. } => "role_forbidden",
            ApiError::RoleBinding { .. } => "invalid_role_binding",
            ApiError::NoSuchEndpoint => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::BodyTooLarge { .. } => "body_too_large",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidPath(_) => "invalid_path",
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::ReportSize { .. } => "report_size",
            ApiError::TooManyReports { .. } => "too_many_reports",
            ApiError::InvalidInput(_) => "invalid_input",
            ApiError::InvalidName { kind, .. } => match kind {
                NameKind::Workspace => "invalid_workspace",
                NameKind::Repository => "invalid_repository",
                NameKind::ProjectKey => "invalid_project_key",
                NameKind::Webhook => "invalid_webhook_name",
            },
            ApiError::InvalidWebhook(p) => match p {
                WebhookProblem::Url => "invalid_webhook_url",
                WebhookProblem::Secret => "invalid_webhook_secret",
                WebhookProblem::NoEvents => "invalid_webhook_events",
            },
            // The same codes as the store's, for the same absence.
            ApiError::NotFound(what) => StoreError::NotFound(*what).code(),
            ApiError::TokenRevoked => "token_revoked",
            ApiError::TokenExpired => "token_expired",
            ApiError::IssueRefused { reason, .. } => reason.as_str(),
            ApiError::Store(e) => e.code(),
            ApiError::PolicyUnavailable => "policy_unavailable",
            ApiError::PolicyCall(_)
            | ApiError::PolicyAnswer(_)
            | ApiError::IssueAnswer(_)
            | ApiError::SealAnswer => "policy_failure",
            ApiError::PolicyLoad(e) => e.code(),
            ApiError::TaskFailed(_) => "internal",
        }
    }

    /// The HTTP status the API answers with (the CLI's exit status follows it).
    pub fn status(&self) -> u16 {
        match self {
            ApiError::AdminKeyMissing | ApiError::AdminKeyInvalid => 401,
            ApiError::RoleForbidden { .. } => 403,
            ApiError::NoSuchEndpoint | ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::BodyTooLarge { .. } => 413,
            ApiError::InvalidJson(_)
            | ApiError::InvalidPath(_)
            | ApiError::InvalidBody(_)
            | ApiError::InvalidQuery(_)
            | ApiError::InvalidInput(_)
            | ApiError::InvalidName { .. }
            | ApiError::InvalidWebhook(_) => 400,
            ApiError::TokenRevoked | ApiError::TokenExpired => 409,
            // The file in place is not the one the caller pinned: a conflict with the host's
            // state, not a malformed request.
            ApiError::PolicyLoad(LoadError::DigestMismatch { .. }) => 409,
            // Well-formed, but not a credential that can be: a rule of SPEC §11, like the §6
            // refusals of an access token.
            ApiError::TooManyReports { .. } => 429,
            ApiError::IssueRefused { .. }
            | ApiError::ReportSize { .. }
            | ApiError::RoleBinding { .. }
            | ApiError::PolicyLoad(_) => 422,
            ApiError::Store(e) => match e {
                StoreError::NotFound(_) => 404,
                StoreError::Conflict(_) => 409,
                StoreError::Unavailable(_) => 503,
                StoreError::Backend(_) | StoreError::Corrupt { .. } => 500,
            },
            ApiError::PolicyUnavailable
            | ApiError::PolicyCall(_)
            | ApiError::PolicyAnswer(_)
            | ApiError::IssueAnswer(_)
            | ApiError::SealAnswer
            | ApiError::TaskFailed(_) => 500,
        }
    }

    /// What users are told. A failure of the service itself points at the log, where
    /// [`ApiError::log`] wrote what happened.
    pub fn message(&self) -> String {
        match self {
            ApiError::AdminKeyMissing => {
                "the admin API needs Authorization: Bearer <admin key>".into()
            }
            ApiError::AdminKeyInvalid => "the admin key is not valid".into(),
            ApiError::RoleForbidden { role, action } => {
                format!("a {role} credential may not {action}")
            }
            ApiError::RoleBinding { role, rule } => format!("a {role} credential {rule}"),
            ApiError::NoSuchEndpoint => "no such admin endpoint".into(),
            ApiError::MethodNotAllowed => "this method is not allowed on this endpoint".into(),
            ApiError::BodyTooLarge { limit } => {
                format!("request bodies are limited to {limit} bytes")
            }
            ApiError::InvalidJson(e) => format!("the body is not valid JSON: {e}"),
            ApiError::InvalidPath(e) => e.body_text(),
            ApiError::InvalidBody(m) | ApiError::InvalidQuery(m) => m.clone(),
            ApiError::ReportSize { received, max } => {
                format!("a leak report holds 1 to {max} strings, not {received}")
            }
            ApiError::TooManyReports { per_hour, window_secs } => format!(
                "at most {per_hour} leak reports an hour from one address ({window_secs} s); see Retry-After"
            ),
            ApiError::InvalidInput(e) => e.to_string(),
            ApiError::InvalidName { kind, name } => format!(
                "{} {name:?} is not a valid name (1-100 of A-Z a-z 0-9 - _ .)",
                kind.as_str()
            ),
            ApiError::InvalidWebhook(WebhookProblem::Url) => {
                "url must be an http:// or https:// URL: a host name or IPv4 address, an \
                 optional port, an optional path (no user, no fragment)"
                    .into()
            }
            // Never the secret itself: an answer may be logged by whoever sent the request.
            ApiError::InvalidWebhook(WebhookProblem::Secret) => {
                "secret must be 16 to 256 visible ASCII characters".into()
            }
            ApiError::InvalidWebhook(WebhookProblem::NoEvents) => {
                "events must name at least one of token.expiring, token.revoked, token.leaked, \
                 token.rotated"
                    .into()
            }
            ApiError::NotFound(what) | ApiError::Store(StoreError::NotFound(what)) => {
                format!("{} not found", what.as_str())
            }
            ApiError::TokenRevoked => "a revoked token cannot be rotated".into(),
            ApiError::TokenExpired => "an expired token cannot be rotated".into(),
            ApiError::IssueRefused { message, .. } => message.clone(),
            ApiError::Store(StoreError::Conflict(c)) => c.to_string(),
            ApiError::Store(StoreError::Unavailable(_)) => {
                "the store is unreachable; nothing was changed, retry later".into()
            }
            ApiError::Store(StoreError::Backend(_) | StoreError::Corrupt { .. }) => {
                "the store failed; see the service log".into()
            }
            ApiError::PolicyUnavailable => "no policy module is loaded".into(),
            ApiError::PolicyCall(_) => "the policy module failed; see the service log".into(),
            ApiError::PolicyLoad(e) => e.to_string(),
            ApiError::PolicyAnswer(m) => m.clone(),
            ApiError::IssueAnswer(_) => "the policy module answered badly".into(),
            ApiError::SealAnswer => "the module sealed no secret".into(),
            ApiError::TaskFailed(_) => "internal failure; see the service log".into(),
        }
    }

    /// Log a failure of the service itself, once, where it is answered. A refused request is
    /// the caller's to act on, and is not logged.
    pub fn log(&self) {
        match self {
            ApiError::Store(StoreError::Unavailable(_)) => {
                tracing::warn!(reason = self.code(), error = %self, "store unavailable");
            }
            e if e.status() >= 500 => {
                tracing::error!(reason = self.code(), error = %self, "request failed");
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ApiError, RefusalCode};
    use crate::store::{Conflict, Entity, StoreError};

    #[test]
    fn a_refusal_carries_the_modules_code_or_issue_refused() {
        assert_eq!(
            RefusalCode::of(Some("expiry_too_far")).as_str(),
            "expiry_too_far"
        );
        for stranger in [None, Some(""), Some("Not A Code"), Some("tok_AB")] {
            assert_eq!(RefusalCode::of(stranger).as_str(), "issue_refused");
        }
    }

    /// The codes, statuses and messages the API answered before errors were typed.
    #[test]
    fn codes_statuses_and_messages_are_stable() {
        let cases = [
            (
                ApiError::NotFound(Entity::Workspace),
                "workspace_not_found",
                404,
                "workspace not found",
            ),
            (
                ApiError::Store(StoreError::NotFound(Entity::Token)),
                "token_not_found",
                404,
                "token not found",
            ),
            (
                ApiError::Store(StoreError::Conflict(Conflict::RepositoryExists {
                    workspace: "acme".into(),
                    slug: "api".into(),
                })),
                "repository_exists",
                409,
                "acme already has a repository api",
            ),
            (
                ApiError::Store(StoreError::Unavailable("refused".into())),
                "store_unavailable",
                503,
                "the store is unreachable; nothing was changed, retry later",
            ),
            (
                ApiError::Store(StoreError::Backend("disk I/O error".into())),
                "store_failure",
                500,
                "the store failed; see the service log",
            ),
            (
                ApiError::IssueRefused {
                    reason: RefusalCode::of(Some("name_invalid")),
                    message: "m".into(),
                },
                "name_invalid",
                422,
                "m",
            ),
            (
                ApiError::IssueRefused {
                    reason: RefusalCode::of(None),
                    message: String::new(),
                },
                "issue_refused",
                422,
                "",
            ),
            (
                ApiError::InvalidName {
                    kind: super::NameKind::ProjectKey,
                    name: "a b".into(),
                },
                "invalid_project_key",
                400,
                "project_key \"a b\" is not a valid name (1-100 of A-Z a-z 0-9 - _ .)",
            ),
            (
                ApiError::BodyTooLarge { limit: 65536 },
                "body_too_large",
                413,
                "request bodies are limited to 65536 bytes",
            ),
            (
                ApiError::PolicyUnavailable,
                "policy_unavailable",
                500,
                "no policy module is loaded",
            ),
        ];
        for (e, code, status, message) in cases {
            assert_eq!(
                (e.code(), e.status(), e.message().as_str()),
                (code, status, message)
            );
        }
    }
}
