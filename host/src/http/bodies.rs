//! What the admin API reads: its request bodies and path parameters, as types. The handlers
//! extract these and nothing else, and the OpenAPI document is derived from the same types, so
//! the document can't promise a field the handler does not read or miss one it does.
//!
//! Bodies refuse fields they do not know: a misspelt `expires-at` must not issue a token that
//! never expires. A key given twice is refused too, rather than the last one silently winning.

use crate::service::{KEY_PATTERN, SLUG_PATTERN};
use crate::store::Plan;
use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, PartialSchema, ToSchema};

/// A string schema holding a value to `pattern`.
fn matching(pattern: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .into()
}

/// A workspace or repository slug as named in a request; the handler's `Checked` (or the
/// service) applies `check_slug`, which [`SLUG_PATTERN`] states for the document.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Slug(pub String);

impl PartialSchema for Slug {
    fn schema() -> RefOr<Schema> {
        matching(SLUG_PATTERN)
    }
}

impl ToSchema for Slug {}

/// A project key as named in a request; `check_key`'s rule is [`KEY_PATTERN`].
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Key(pub String);

impl PartialSchema for Key {
    fn schema() -> RefOr<Schema> {
        matching(KEY_PATTERN)
    }
}

impl ToSchema for Key {}

/// `PUT /workspaces/{ws}`: the plan and the token policy (a missing policy field takes its
/// default).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceBody {
    pub plan: Plan,
    /// The longest lifetime a token of this workspace may be issued with (default 365).
    #[serde(default)]
    pub max_lifetime_days: Option<LifetimeDays>,
    /// Whether tokens without an expiry may be issued (default false).
    #[serde(default)]
    pub allow_no_expiry: Option<bool>,
}

/// One of the lifetimes a workspace may cap its tokens at.
#[derive(Clone, Copy, Debug)]
pub struct LifetimeDays(pub u32);

const LIFETIMES: [u32; 3] = [90, 180, 365];

impl<'de> Deserialize<'de> for LifetimeDays {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let days = u32::deserialize(d)
            .map_err(|_| serde::de::Error::custom("max_lifetime_days must be 90, 180 or 365"))?;
        if LIFETIMES.contains(&days) {
            Ok(LifetimeDays(days))
        } else {
            Err(serde::de::Error::custom(
                "max_lifetime_days must be 90, 180 or 365",
            ))
        }
    }
}

impl PartialSchema for LifetimeDays {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .enum_values(Some(LIFETIMES))
            .into()
    }
}

impl ToSchema for LifetimeDays {}

/// `PUT /workspaces/{ws}/repositories/{slug}`: the project it belongs to (create, or move).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepositoryBody {
    pub project: Key,
}

/// `POST …/transfer`: where the repository goes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    pub workspace: Slug,
    pub project: Key,
}

/// `PUT /workspaces/{ws}/projects/{key}` takes no fields; an empty body or `{}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectBody {}

/// A token to issue. Whether the name, the scopes and the expiry are acceptable is the policy
/// module's to say (SPEC §6, answered 422 with its reason).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    pub name: String,
    #[schema(min_items = 1)]
    pub scopes: Vec<String>,
    /// RFC 3339; null or absent for no expiry, where the workspace allows it.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// `POST /access-tokens/{id}/rotate`: the new token's expiry (absent or null: none).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    #[serde(default)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// `POST /policy/reload`: optionally pin the new module's SHA-256.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReloadBody {
    #[serde(default)]
    pub sha256: Option<Sha256Hex>,
}

/// A SHA-256 digest in hex, as `scopegate policy info` prints it: anything else could never
/// match, and is refused as the mistake it is rather than as a mismatch.
#[derive(Clone, Debug)]
pub struct Sha256Hex(pub String);

const SHA256_PATTERN: &str = "^[0-9a-fA-F]{64}$";

impl<'de> Deserialize<'de> for Sha256Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256Hex(s))
        } else {
            Err(serde::de::Error::custom(
                "sha256 must be 64 hexadecimal digits",
            ))
        }
    }
}

impl PartialSchema for Sha256Hex {
    fn schema() -> RefOr<Schema> {
        matching(SHA256_PATTERN)
    }
}

impl ToSchema for Sha256Hex {}

/// A workspace named in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WorkspacePath {
    /// Workspace slug (case-insensitive; the first spelling is kept).
    pub ws: Slug,
}

/// A project named in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectPath {
    /// Workspace slug.
    pub ws: Slug,
    /// Project key.
    pub key: Key,
}

/// A repository named in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RepositoryPath {
    /// Workspace slug.
    pub ws: Slug,
    /// Repository slug.
    pub slug: Slug,
}

/// A token named in the path by its id (never its secret).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    /// Token id, as its creation answered it.
    pub id: String,
}

/// An admin credential named in the path by its id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CredentialPath {
    /// Credential id, as its creation answered it (`bootstrap` for the generated key).
    pub id: String,
}

/// `POST /credentials`: an admin credential to create (SPEC §11).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialBody {
    /// A name to recognise it by: 1–200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    pub role: crate::store::Role,
    /// Required for `token-manager`, optional for `auditor`, refused for the other roles.
    #[serde(default)]
    pub workspace: Option<Slug>,
    /// RFC 3339; null or absent for no expiry.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// The page of a list: every list of the admin API takes these.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// At most this many values (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the page before.
    #[param(pattern = "^[A-Za-z0-9_.-]{1,128}$")]
    pub cursor: Option<String>,
}

/// Which edge snapshot: with `since`, only what changed after that version.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SnapshotParams {
    /// The `version` of the snapshot the edge holds. The answer then has `since` and only the
    /// tokens and repositories changed after it; without `since` it is a full snapshot (as
    /// when that version is too old for the change log).
    #[param(minimum = 0)]
    pub since: Option<i64>,
}

/// The page of a token list (newest first): its cursors are `i` and a place in the order.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TokenPageParams {
    /// At most this many values (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the page before.
    #[param(pattern = "^i[1-9][0-9]{0,17}$")]
    pub cursor: Option<String>,
}

/// The page of the credentials (oldest first): its cursors are a creation time and an id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CredentialPageParams {
    /// At most this many values (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the page before.
    #[param(pattern = "^[0-9]{1,18}\\.[A-Za-z0-9_-]{1,64}$")]
    pub cursor: Option<String>,
}

/// `GET /workspaces/{ws}/repositories`: a page, of one project's repositories when given.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RepositoryListParams {
    /// Only the repositories of this project.
    pub project: Option<Key>,
    /// At most this many values (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the page before.
    #[param(pattern = "^[A-Za-z0-9_.-]{1,128}$")]
    pub cursor: Option<String>,
}

/// `GET /audit`: every filter is optional; entries come newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only this workspace's entries (a workspace-bound auditor sees only its own anyway).
    pub workspace: Option<Slug>,
    /// Only entries about this token.
    pub token_id: Option<String>,
    /// Only this event.
    pub event: Option<crate::store::AuditEvent>,
    /// Only entries at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// At most this many entries (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the page before.
    #[param(pattern = "^[1-9][0-9]{0,17}$")]
    pub cursor: Option<String>,
}
