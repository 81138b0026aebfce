//! The gate (§9, §10): a forward-auth check's headers in, the whole `/check` answer out.
//!
//! A check takes two calls with the caller's lookups between them, because the module does no
//! I/O and holds no state:
//! 1. [`check_request`] reads the original method and URI and the credentials from the headers,
//!    checks the token's shape and checksum, and hashes it. It answers at once when there is
//!    nothing to look up (no credentials, malformed ones, a request that can't be read), or else
//!    asks for a [`Lookup`]: the claims stored under a SHA-256, and the project of the repository
//!    the request targets (which a project token needs).
//! 2. [`check_answer`] takes the request back with what the lookups found and the time, and
//!    decides (§5) and words the answer: status, headers in order, body.
//!
//! Every runtime words every answer from here, so the host, the edge and a browser agree byte
//! for byte.

mod answer;
mod read;

use std::borrow::Cow;

use crate::claims::{Claims, TokenKind};
use crate::credentials::{self, CredentialError};
use crate::decision::{Decision, Reason};
use crate::forwarded::{self, original_request, ForwardedHeaders, Refusal};
use crate::input::{AuthorizeInput, Request};
use crate::path;
use crate::routes::{self, Operation, Resolution};
use crate::scope::ScopeSet;
use crate::target::Target;
use crate::token::{self, SecretKind};

pub use answer::CheckAnswer;

/// Why a credential is refused before any claims are read: the host-level reasons of §9, all 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// No `Authorization`, or a blank one.
    TokenMissing,
    /// Fails §7, or Basic with a user other than `x-token-auth`.
    TokenMalformed,
    /// Well formed, but no claims are stored under its hash.
    TokenUnknown,
}

/// What the caller could not find out; each is a denial (403), never a guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The host's store did not answer.
    StoreUnavailable,
    /// An edge has no snapshot of the store yet.
    SnapshotMissing,
    /// An edge's snapshot is older than it may be.
    SnapshotStale,
    /// The module could not be asked (it trapped, or answered badly).
    PolicyFailure,
}

impl Failure {
    pub const ALL: [Failure; 4] = [
        Failure::StoreUnavailable,
        Failure::SnapshotMissing,
        Failure::SnapshotStale,
        Failure::PolicyFailure,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Failure::StoreUnavailable => "store_unavailable",
            Failure::SnapshotMissing => "snapshot_missing",
            Failure::SnapshotStale => "snapshot_stale",
            Failure::PolicyFailure => "policy_failure",
        }
    }

    /// A `match` rather than a search of `ALL`, which the compiler unrolled into 0.9 KB of the
    /// module; a test holds the two spellings together.
    pub fn parse(code: &str) -> Option<Failure> {
        match code {
            "store_unavailable" => Some(Failure::StoreUnavailable),
            "snapshot_missing" => Some(Failure::SnapshotMissing),
            "snapshot_stale" => Some(Failure::SnapshotStale),
            "policy_failure" => Some(Failure::PolicyFailure),
            _ => None,
        }
    }

    const fn message(self) -> &'static str {
        match self {
            Failure::StoreUnavailable => "the store is unreachable; denied",
            Failure::SnapshotMissing => "no snapshot of the store is loaded yet; denied",
            Failure::SnapshotStale => "the snapshot of the store is too old to trust; denied",
            Failure::PolicyFailure => "the request could not be evaluated; denied",
        }
    }
}

/// The reason a check answers with: §5's, §9's host-level ones, or a failure to find out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckReason {
    Policy(Reason),
    Credential(Credential),
    Failure(Failure),
}

impl CheckReason {
    pub const fn code(self) -> &'static str {
        match self {
            CheckReason::Policy(reason) => reason.code(),
            CheckReason::Credential(Credential::TokenMissing) => "token_missing",
            CheckReason::Credential(Credential::TokenMalformed) => "token_malformed",
            CheckReason::Credential(Credential::TokenUnknown) => "token_unknown",
            CheckReason::Failure(failure) => failure.code(),
        }
    }

    /// `/check` answers only 200, 401 or 403 (§9).
    pub const fn status(self) -> u16 {
        match self {
            CheckReason::Policy(reason) => reason.status(),
            CheckReason::Credential(_) => 401,
            CheckReason::Failure(_) => 403,
        }
    }
}

/// What the first call found out.
#[derive(Debug)]
pub enum Step<'a> {
    /// The answer, with nothing to look up.
    Answer(CheckAnswer<'a>),
    /// What to look up before the second call.
    Lookup(Lookup<'a>),
}

/// The lookups a check needs, and the request to hand back with their results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup<'a> {
    /// The SHA-256 of the presented token: the key its claims are stored under.
    pub sha256: [u8; 32],
    /// The repository the request targets, as `(workspace, slug)` in lower case (names compare
    /// without ASCII case): its project decides what a project token reaches.
    pub repository: Option<(String, String)>,
    pub request: Request<'a>,
}

/// The claims found under a token's hash, with the token's public id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken<'a> {
    pub id: Cow<'a, str>,
    /// The §5 token object, or why it breaks §2 (`invalid_claims`).
    pub claims: Result<Claims<'a>, Cow<'static, str>>,
}

/// What the caller's lookups found, for the second call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found<'a> {
    /// The caller could not find out.
    Failed(Failure),
    Found {
        request: Request<'a>,
        now: i64,
        /// `None`: nothing is stored under the hash.
        token: Option<StoredToken<'a>>,
        repository_project: Option<Cow<'a, str>>,
    },
}

/// The first call: a check's headers, as `(name, value)` pairs in the order they came (values
/// are byte strings, a character per byte), and the family of forwarding headers the front sets.
pub fn check_request<'a>(
    headers: &[(Cow<'a, str>, Cow<'a, str>)],
    mode: ForwardedHeaders,
) -> Step<'a> {
    let original = match original_request(headers, mode) {
        Ok(original) => original,
        Err(refusal) => return Step::Answer(CheckAnswer::refused(refusal)),
    };
    // What the request routes to decides the challenges' order and the repository to look up.
    let (git, repository) = match path::parse(&original.uri) {
        Ok(parsed) => match routes::resolve(&original.method, &parsed) {
            Resolution::Matched {
                operation,
                target:
                    Target::Repository {
                        workspace,
                        repository,
                    },
            } => (
                matches!(operation, Operation::Git(_)),
                Some((
                    workspace.to_ascii_lowercase(),
                    repository.to_ascii_lowercase(),
                )),
            ),
            _ => (false, None),
        },
        Err(_) => (false, None),
    };
    let authorization = original.authorization.as_deref().map(str::as_bytes);
    let secret = match credentials::secret(authorization) {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            return Step::Answer(CheckAnswer::credential(
                Credential::TokenMissing,
                "no access token was presented",
                git,
            ))
        }
        Err(error) => {
            return Step::Answer(CheckAnswer::credential(
                Credential::TokenMalformed,
                CredentialError::message(error),
                git,
            ))
        }
    };
    if !token::is_well_formed(&secret, SecretKind::AccessToken) {
        return Step::Answer(CheckAnswer::credential(
            Credential::TokenMalformed,
            "the access token is malformed",
            git,
        ));
    }
    Step::Lookup(Lookup {
        sha256: token::sha256(&secret),
        repository,
        request: Request {
            method: original.method,
            path: original.uri,
        },
    })
}

/// The second call: the answer from what the lookups found.
pub fn check_answer<'a>(found: Found<'a>) -> CheckAnswer<'a> {
    let (request, now, token, repository_project) = match found {
        Found::Failed(failure) => return CheckAnswer::failed(failure),
        Found::Found {
            request,
            now,
            token,
            repository_project,
        } => (request, now, token, repository_project),
    };
    let is_git = |request: &Request| is_git(&request.method, &request.path);
    let Some(StoredToken { id, claims }) = token else {
        return CheckAnswer::credential(
            Credential::TokenUnknown,
            "the access token is not known",
            is_git(&request),
        );
    };
    if !is_token_id(&id) {
        return CheckAnswer::decided(
            Decision::early(
                Reason::BadInput,
                "the token id is not 1 to 128 characters of [0-9A-Za-z_.-]",
                ScopeSet::EMPTY,
            ),
            None,
            false,
        );
    }
    let claims = match claims {
        Ok(claims) => claims,
        Err(why) => {
            let d = Decision::early(Reason::InvalidClaims, why, ScopeSet::EMPTY);
            return CheckAnswer::decided(d, None, is_git(&request));
        }
    };
    let kind = claims.kind();
    let input = AuthorizeInput {
        claims,
        request,
        now,
        repository_project,
    };
    let decision = crate::authorize::authorize(&input);
    let git = decision.status == 401 && is_git(&input.request);
    let token = decision.allow.then_some((id, kind));
    CheckAnswer::decided(decision, token, git)
}

/// Whether a request is git smart HTTP: its 401s challenge `Basic` first (§9).
fn is_git(method: &str, uri: &str) -> bool {
    path::parse(uri).is_ok_and(|parsed| {
        matches!(
            routes::resolve(method, &parsed),
            Resolution::Matched {
                operation: Operation::Git(_),
                ..
            }
        )
    })
}

/// A token id goes into a header (`X-Token-Id`): nothing in it may need quoting or break a line.
fn is_token_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `X-Credential-Type` of a token kind (§9).
pub const fn credential_type(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Repository => "repo_access_token",
        TokenKind::Project => "project_access_token",
        TokenKind::Workspace => "workspace_access_token",
    }
}

/// The first call on JSON text `{"forwarded_headers"?, "headers": [[name, value], …]}`: a
/// check answer, or `{"lookup": {"sha256", "repository"}, "request": {"method", "path"}}`.
pub fn check_request_json(input: &[u8]) -> Vec<u8> {
    match forwarded::read_input(input) {
        Ok((mode, headers)) => match check_request(&headers, mode) {
            Step::Answer(answer) => answer.to_json(),
            Step::Lookup(lookup) => lookup.to_json(),
        },
        Err(unreadable) => CheckAnswer::decided(unreadable, None, false).to_json(),
    }
}

/// The second call on JSON text `{"request", "now", "token": {"id", "claims"} | null,
/// "repository_project"}`, or `{"failure": code}`: the check answer.
pub fn check_answer_json(input: &[u8]) -> Vec<u8> {
    match read::found(input) {
        Ok(found) => check_answer(found).to_json(),
        Err(unreadable) => CheckAnswer::decided(unreadable, None, false).to_json(),
    }
}

/// `Refusal`s answer as §5 decisions do.
impl CheckAnswer<'_> {
    fn refused(refusal: Refusal) -> Self {
        CheckAnswer::decided(refusal.decision(), None, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_is_read_by_its_code_alone() {
        for failure in Failure::ALL {
            assert_eq!(Failure::parse(failure.code()), Some(failure));
        }
        assert_eq!(Failure::parse("Store_unavailable"), None);
        assert_eq!(Failure::parse("token_unknown"), None);
    }
}
