//! The `scopegate` command line: the service, and the same operations as the admin API on the
//! local store, so that a fresh install can be set up from the shell. This module holds the
//! arguments; `run` carries the commands out and `print` shapes their output.

mod print;
mod run;

pub use run::run;

use crate::clock;
use crate::forwarded::ForwardedHeaders;
use crate::service::ResourceRef;
use crate::store::{DbTarget, TokenState};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "scopegate",
    version,
    about = "Narrow, revocable access tokens for a Bitbucket-style API"
)]
pub struct Cli {
    /// The store: a SQLite file (a path or `sqlite://PATH`), or a PostgreSQL database shared by
    /// several hosts (`postgres://USER:PASSWORD@HOST/DB`).
    #[arg(
        long,
        global = true,
        env = "SCOPEGATE_DB",
        hide_env_values = true,
        default_value = "./scopegate.db"
    )]
    pub db: DbTarget,
    /// The policy module.
    #[arg(
        long,
        global = true,
        env = "SCOPEGATE_POLICY",
        default_value = "www/pkg/scopegate_policy_bg.wasm"
    )]
    pub policy: PathBuf,
    /// Refuse a policy module whose SHA-256 differs (hex).
    #[arg(long, global = true, env = "SCOPEGATE_POLICY_SHA256")]
    pub policy_sha256: Option<String>,
    /// Machine-readable output: one JSON value on standard output (errors as JSON on standard
    /// error).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP service (admin API, /check, demo).
    Serve(ServeArgs),
    /// Workspaces: plan and token policy.
    #[command(subcommand)]
    Workspace(WorkspaceCmd),
    /// Projects inside a workspace.
    #[command(subcommand)]
    Project(ProjectCmd),
    /// Repositories inside a workspace.
    #[command(subcommand)]
    Repository(RepositoryCmd),
    /// Access tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// One decision, as /check would answer it (exit status 0 when allowed, 1 when denied).
    Check(CheckArgs),
    /// The policy module.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Admin credentials for the HTTP API: each with one role (SPEC §11).
    #[command(subcommand)]
    Credential(CredentialCmd),
    /// The audit log, newest first: who changed what, and denied checks per minute.
    Audit(AuditArgs),
    /// Find leaked secrets (access tokens and admin credentials whose checksum is valid) in
    /// files or, with --git, in a repository's whole history, each with its state in the store.
    /// Exit status 0 when none is found, 1 when any is, 2 on an error.
    Scan(ScanArgs),
    /// Print the OpenAPI 3.1 document of the HTTP interface (as served at
    /// /admin/v1/openapi.json).
    Openapi,
    /// Print a shell completion script to standard output.
    Completions {
        /// The shell the script is for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// How `serve` writes its log lines (to standard error).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory served at `/` (the browser demo).
    #[arg(long, default_value = "www")]
    pub www: PathBuf,
    /// Linear-memory cap per policy instance, in MiB.
    #[arg(long, default_value_t = 64)]
    pub policy_memory_mib: usize,
    /// Deadline of one policy call, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub policy_timeout_ms: u64,
    /// Threads answering requests; 0 means one per core. Fewer than the cores when the machine
    /// is shared (with a proxy or a load generator) trade peak throughput for a shorter tail.
    #[arg(long, env = "SCOPEGATE_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// Reuse the module's answer to an identical input within the same second.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub decision_memo: bool,
    /// Record each token's last access and client addresses, and count denied checks per
    /// token, reason and minute (SPEC §11). Off, no client address is kept; the audit log of
    /// changes is written either way.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub record_usage: bool,
    /// How long cached check answers outlive the last contact with the store, in milliseconds;
    /// after that, while the store is unreachable, checks fail closed.
    #[arg(long, env = "SCOPEGATE_MAX_STALENESS_MS", default_value_t = 10_000)]
    pub max_staleness_ms: u64,
    /// How many tokens (and as many repositories) the check cache holds; past it, the least
    /// used are evicted. Each token entry takes a few hundred bytes.
    #[arg(long, env = "SCOPEGATE_CACHE_ENTRIES", default_value_t = crate::cache::DEFAULT_CAPACITY as u64,
          value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub cache_entries: u64,
    /// The forwarding headers the front in front of /check sets: `original` (X-Original-Method
    /// and X-Original-URI, as nginx configurations do), `forwarded` (X-Forwarded-Method and
    /// X-Forwarded-Uri, as Caddy and Traefik do) or `either`. Fronts pass the client's own
    /// headers on, so pinning the front's family ignores the other one a client may add.
    #[arg(long, env = "SCOPEGATE_FORWARDED_HEADERS", value_enum, default_value_t = ForwardedHeaders::Either)]
    pub forwarded_headers: ForwardedHeaders,
    /// The log lines' format on standard error; SCOPEGATE_LOG sets which are written (a
    /// tracing filter such as `info` or `scopegate_host=debug`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Subcommand, Debug)]
pub enum WorkspaceCmd {
    /// Create or update.
    Put {
        /// Workspace slug.
        slug: String,
        /// The plan: free, standard or premium.
        #[arg(long)]
        plan: String,
        /// The longest lifetime a token may be issued with: 90, 180 or 365 days (default 365).
        #[arg(long)]
        max_lifetime_days: Option<u32>,
        /// Allow tokens without an expiry.
        #[arg(long)]
        allow_no_expiry: bool,
    },
    /// Delete, with its projects and repositories; deactivates every token in it.
    Delete {
        /// Workspace slug.
        slug: String,
    },
    /// The workspaces with their plan and token policy, a page at a time.
    List(PageArgs),
    /// One workspace with its projects and repositories.
    Show {
        /// Workspace slug.
        slug: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProjectCmd {
    /// Create (an existing project is left as it is).
    Put {
        /// Workspace slug.
        workspace: String,
        /// Project key.
        key: String,
    },
    /// Delete (refused while it holds repositories); deactivates its project tokens.
    Delete {
        /// Workspace slug.
        workspace: String,
        /// Project key.
        key: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum RepositoryCmd {
    /// Create, or move to another project.
    Put {
        /// Workspace slug.
        workspace: String,
        /// Repository slug.
        slug: String,
        /// The project it belongs to.
        #[arg(long)]
        project: String,
    },
    /// Delete; deactivates its repository tokens.
    Delete {
        /// Workspace slug.
        workspace: String,
        /// Repository slug.
        slug: String,
    },
    /// Move to another workspace (revokes the repository's tokens).
    Transfer {
        /// Workspace slug (where it is now).
        workspace: String,
        /// Repository slug.
        slug: String,
        /// The workspace it moves to.
        #[arg(long)]
        to_workspace: String,
        /// Its project in that workspace.
        #[arg(long)]
        to_project: String,
    },
}

/// The resource a new token is bound to.
#[derive(Args, Debug, Clone)]
pub struct ResourceArgs {
    /// Workspace slug.
    pub workspace: String,
    /// Bind to this project (project token).
    #[arg(long, conflicts_with = "repository")]
    pub project: Option<String>,
    /// Bind to this repository (repository token).
    #[arg(long)]
    pub repository: Option<String>,
}

/// Which tokens of a workspace `token list` shows.
#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    /// Workspace slug: every token in it (workspace, project and repository tokens).
    pub workspace: String,
    /// Only the tokens bound to this project (project tokens).
    #[arg(long, conflicts_with = "repository")]
    pub project: Option<String>,
    /// Only the tokens bound to this repository (repository tokens).
    #[arg(long)]
    pub repository: Option<String>,
    /// Only the tokens in this state.
    #[arg(long, value_enum)]
    pub state: Option<TokenState>,
    #[command(flatten)]
    pub page: PageArgs,
}

/// Which page of a list: the first, or the one after `--cursor` (the cursor printed on stderr
/// after a page that has a next one).
#[derive(Args, Debug, Clone)]
pub struct PageArgs {
    /// At most this many entries.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
    /// Start after the page that printed this cursor.
    #[arg(long)]
    pub cursor: Option<String>,
}

fn resource_ref(
    workspace: &str,
    project: &Option<String>,
    repository: &Option<String>,
) -> ResourceRef {
    match (project, repository) {
        (Some(p), _) => ResourceRef::Project(workspace.to_string(), p.clone()),
        (_, Some(r)) => ResourceRef::Repository(workspace.to_string(), r.clone()),
        _ => ResourceRef::Workspace(workspace.to_string()),
    }
}

impl ResourceArgs {
    fn to_ref(&self) -> ResourceRef {
        resource_ref(&self.workspace, &self.project, &self.repository)
    }
}

impl ListArgs {
    fn to_ref(&self) -> ResourceRef {
        resource_ref(&self.workspace, &self.project, &self.repository)
    }
}

/// When a new token expires: a time, a duration from now, or (when both are omitted) never,
/// if the workspace allows it.
#[derive(Args, Debug, Clone)]
pub struct ExpiryArgs {
    /// The expiry: a date (2027-03-01, midnight UTC) or an RFC 3339 time
    /// (2027-03-01T12:00:00Z). Omit both this and --expires-in for none, if the workspace
    /// allows it.
    #[arg(long, value_name = "TIME", value_parser = clock::parse_time)]
    pub expires_at: Option<i64>,
    /// The expiry as a duration from now: a whole number of hours, days or weeks, such as
    /// 12h, 90d or 2w.
    #[arg(long, value_name = "DURATION", value_parser = clock::parse_duration, conflicts_with = "expires_at")]
    pub expires_in: Option<i64>,
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Issue a token; its secret is printed once.
    Create {
        #[command(flatten)]
        resource: ResourceArgs,
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// A scope (repeat, or separate with commas).
        #[arg(long = "scope", value_delimiter = ',')]
        scopes: Vec<String>,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// List a workspace's tokens (metadata only, never secrets), oldest first.
    List(ListArgs),
    /// One token's metadata.
    Show {
        /// Token id.
        id: String,
    },
    /// Revoke a token at once (idempotent).
    Revoke {
        /// Token id.
        id: String,
    },
    /// Replace by a new token; the old one keeps at most 30 minutes.
    Rotate {
        /// Id of the token to replace.
        id: String,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The original request method (GET, POST, ...).
    #[arg(long)]
    pub method: String,
    /// The original request URI (path and query).
    #[arg(long)]
    pub uri: String,
    /// The token; `-` reads it from standard input. Prefer SCOPEGATE_TOKEN: arguments are visible
    /// to other users of the machine.
    #[arg(long, env = "SCOPEGATE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files and directories to scan: directories recursively, skipping `.git` and not
    /// following symbolic links. With --git, repositories.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Scan every blob in the history of each repository (every commit of every ref) instead
    /// of the files; each secret is reported once, at the first commit it is found in.
    #[arg(long)]
    pub git: bool,
    /// Revoke every active token and credential found, at once (audit actor `cli`).
    #[arg(long)]
    pub revoke: bool,
}

#[derive(Subcommand, Debug)]
pub enum PolicyCmd {
    /// Digest, ABI version and operation count of the module.
    Info,
}

#[derive(Subcommand, Debug)]
pub enum CredentialCmd {
    /// Create an admin credential; its secret is printed once.
    Create {
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// What it may do.
        #[arg(long, value_enum)]
        role: crate::store::Role,
        /// The workspace it is bound to: required for token-manager, optional for auditor.
        #[arg(long)]
        workspace: Option<String>,
        /// When it stops working: a date (2027-03-01) or an RFC 3339 time; never if omitted.
        #[arg(long, value_name = "TIME", value_parser = clock::parse_time)]
        expires_at: Option<i64>,
    },
    /// The credentials' metadata (never a secret), revoked ones included, a page at a time.
    List(PageArgs),
    /// Revoke a credential at once, on every host (idempotent).
    Revoke {
        /// Credential id.
        id: String,
    },
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only this workspace's entries.
    #[arg(long)]
    pub workspace: Option<String>,
    /// Only entries about this token.
    #[arg(long)]
    pub token_id: Option<String>,
    /// Only this event (token.created, token.revoked, check.denied, ...).
    #[arg(long, value_parser = parse_event)]
    pub event: Option<crate::store::AuditEvent>,
    /// Only entries at or after this time: a date or an RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = clock::parse_time)]
    pub since: Option<i64>,
    /// At most this many entries.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
    /// Entries older than this id (the last id of the page before).
    #[arg(long)]
    pub before: Option<i64>,
}

fn parse_event(s: &str) -> Result<crate::store::AuditEvent, String> {
    crate::store::AuditEvent::parse(s).ok_or_else(|| {
        let names: Vec<&str> = crate::store::AuditEvent::ALL
            .iter()
            .map(|e| e.as_str())
            .collect();
        format!("{s:?} is not an event: one of {}", names.join(", "))
    })
}
