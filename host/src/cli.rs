//! The `scopegate` command line: the service, and the same operations as the admin API on the
//! local store, so that a fresh install can be set up from the shell.

use crate::clock;
use crate::error::ApiError;
use crate::forwarded::ForwardedHeaders;
use crate::http::views::{CreatedView, TokenView};
use crate::runtime::RuntimeConfig;
use crate::server::{open_policy, ServeOptions};
use crate::service::{IssueRequest, ResourceRef, Service};
use crate::store::{DbTarget, Entity, Plan, TokenPolicy};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Machine-readable output.
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
}

#[derive(Args, Debug)]
pub struct ServeArgs {
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
    /// How long cached check answers outlive the last contact with the store, in milliseconds;
    /// after that, while the store is unreachable, checks fail closed.
    #[arg(long, env = "SCOPEGATE_MAX_STALENESS_MS", default_value_t = 10_000)]
    pub max_staleness_ms: u64,
    /// The forwarding headers the front in front of /check sets: `original` (X-Original-Method
    /// and X-Original-URI, as nginx configurations do), `forwarded` (X-Forwarded-Method and
    /// X-Forwarded-Uri, as Caddy and Traefik do) or `either`. Fronts pass the client's own
    /// headers on, so pinning the front's family ignores the other one a client may add.
    #[arg(long, env = "SCOPEGATE_FORWARDED_HEADERS", value_enum, default_value_t = ForwardedHeaders::Either)]
    pub forwarded_headers: ForwardedHeaders,
}

#[derive(Subcommand, Debug)]
pub enum WorkspaceCmd {
    /// Create or update.
    Put {
        slug: String,
        #[arg(long)]
        plan: String,
        #[arg(long)]
        max_lifetime_days: Option<u32>,
        #[arg(long)]
        allow_no_expiry: bool,
    },
    Delete {
        slug: String,
    },
    List,
    Show {
        slug: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProjectCmd {
    Put { workspace: String, key: String },
    Delete { workspace: String, key: String },
}

#[derive(Subcommand, Debug)]
pub enum RepositoryCmd {
    /// Create, or move to another project.
    Put {
        workspace: String,
        slug: String,
        #[arg(long)]
        project: String,
    },
    Delete {
        workspace: String,
        slug: String,
    },
    /// Move to another workspace (revokes the repository's tokens).
    Transfer {
        workspace: String,
        slug: String,
        #[arg(long)]
        to_workspace: String,
        #[arg(long)]
        to_project: String,
    },
}

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

impl ResourceArgs {
    fn to_ref(&self) -> ResourceRef {
        match (&self.project, &self.repository) {
            (Some(p), _) => ResourceRef::Project(self.workspace.clone(), p.clone()),
            (_, Some(r)) => ResourceRef::Repository(self.workspace.clone(), r.clone()),
            _ => ResourceRef::Workspace(self.workspace.clone()),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Issue a token; its secret is printed once.
    Create {
        #[command(flatten)]
        resource: ResourceArgs,
        #[arg(long)]
        name: String,
        /// A scope (repeat, or separate with commas).
        #[arg(long = "scope", value_delimiter = ',')]
        scopes: Vec<String>,
        /// RFC 3339 expiry; omit for none (if the workspace allows it).
        #[arg(long)]
        expires_at: Option<String>,
    },
    List {
        #[command(flatten)]
        resource: ResourceArgs,
    },
    Show {
        id: String,
    },
    Revoke {
        id: String,
    },
    /// Replace by a new token; the old one keeps at most 30 minutes.
    Rotate {
        id: String,
        #[arg(long)]
        expires_at: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct CheckArgs {
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

#[derive(Subcommand, Debug)]
pub enum PolicyCmd {
    /// Digest, ABI version and operation count of the module.
    Info,
}

fn open_service(cli: &Cli, with_policy: bool) -> anyhow::Result<Service> {
    let store = cli
        .db
        .open()
        .map_err(|e| anyhow::anyhow!("{}: {e}", cli.db))?;
    let policy = if with_policy {
        let cfg = RuntimeConfig {
            max_instances: 4,
            ..RuntimeConfig::default()
        };
        Some(open_policy(
            cli.policy.clone(),
            cli.policy_sha256.clone(),
            cfg,
        )?)
    } else {
        None
    };
    Ok(Service::new(store, policy))
}

fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row.clone());
    }
}

fn print_fields(fields: &[(&str, String)]) {
    let w = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in fields {
        println!("{k:<w$}  {v}");
    }
}

fn out<T: Serialize>(json: bool, value: &T, human: impl FnOnce()) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        human();
    }
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

fn token_rows(tokens: &[TokenView]) -> Vec<Vec<String>> {
    tokens
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.name.clone(),
                t.kind.as_str().into(),
                t.scopes.join(","),
                t.state.into(),
                opt(&t.expires_at),
                opt(&t.last_accessed_at),
            ]
        })
        .collect()
}

const TOKEN_HEADERS: &[&str] = &[
    "id",
    "name",
    "kind",
    "scopes",
    "state",
    "expires_at",
    "last_accessed_at",
];

fn show_created(json: bool, c: &CreatedView) {
    out(json, c, || {
        print_fields(&[
            ("id", c.id.clone()),
            ("token", c.token.clone()),
            ("name", c.name.clone()),
            ("kind", c.kind.as_str().into()),
            ("scopes", c.scopes.join(", ")),
            ("created_at", c.created_at.clone()),
            ("expires_at", opt(&c.expires_at)),
        ]);
        eprintln!("The token is shown only now; store it securely.");
    });
}

fn parse_expiry(s: &Option<String>) -> Result<Option<i64>, ApiError> {
    match s {
        None => Ok(None),
        Some(s) if s == "none" || s == "null" => Ok(None),
        Some(s) => clock::parse_rfc3339(s)
            .map(Some)
            .ok_or_else(|| ApiError::InvalidBody(format!("{s:?} is not an RFC 3339 date-time"))),
    }
}

/// Runs one command; the exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let json = cli.json;
    let result: Result<i32, ApiError> = match &cli.command {
        Command::Serve(a) => {
            let opts = ServeOptions {
                listen: a.listen,
                db: cli.db.clone(),
                policy: cli.policy.clone(),
                policy_sha256: cli.policy_sha256.clone(),
                www: a.www.clone(),
                runtime: RuntimeConfig {
                    memory_limit: a.policy_memory_mib << 20,
                    timeout: Duration::from_millis(a.policy_timeout_ms),
                    ..RuntimeConfig::default()
                },
                admin_key: std::env::var("SCOPEGATE_ADMIN_KEY").ok(),
                decision_memo: a.decision_memo,
                max_staleness: Duration::from_millis(a.max_staleness_ms),
                forwarded_headers: a.forwarded_headers,
            };
            let mut rt = tokio::runtime::Builder::new_multi_thread();
            if a.workers > 0 {
                rt.worker_threads(a.workers);
            }
            rt.enable_all()
                .build()?
                .block_on(crate::server::serve(opts))?;
            return Ok(0);
        }
        Command::Workspace(cmd) => {
            let svc = open_service(&cli, false)?;
            workspace(&svc, cmd, json)
        }
        Command::Project(cmd) => {
            let svc = open_service(&cli, false)?;
            match cmd {
                ProjectCmd::Put { workspace, key } => {
                    svc.put_project(workspace, key).map(|(p, _)| {
                        out(json, &p, || println!("project {}/{}", p.workspace, p.key));
                        0
                    })
                }
                ProjectCmd::Delete { workspace, key } => {
                    svc.delete_project(workspace, key).map(|_| {
                        out(json, &json!({"deleted": true}), || println!("deleted"));
                        0
                    })
                }
            }
        }
        Command::Repository(cmd) => {
            let svc = open_service(&cli, false)?;
            repository(&svc, cmd, json)
        }
        Command::Token(cmd) => {
            let needs_policy = matches!(cmd, TokenCmd::Create { .. } | TokenCmd::Rotate { .. });
            let svc = open_service(&cli, needs_policy)?;
            token(&svc, cmd, json)
        }
        Command::Check(a) => {
            let svc = open_service(&cli, true)?;
            check(&svc, a, json)
        }
        Command::Policy(PolicyCmd::Info) => {
            let cfg = RuntimeConfig {
                max_instances: 4,
                ..RuntimeConfig::default()
            };
            let p = open_policy(cli.policy.clone(), cli.policy_sha256.clone(), cfg)?;
            let info = p.info();
            out(json, &info, || {
                print_fields(&[
                    ("path", info.path.clone()),
                    ("sha256", info.sha256.clone()),
                    ("abi_version", info.abi_version.to_string()),
                    (
                        "operations",
                        info.operations.map_or("unknown".into(), |n| n.to_string()),
                    ),
                ])
            });
            Ok(0)
        }
    };
    match result {
        Ok(code) => Ok(code),
        // The one place the CLI answers an error, and so where it is logged.
        Err(e) => {
            e.log();
            let (message, reason) = (e.message(), e.code());
            if json {
                eprintln!(
                    "{}",
                    json!({"type": "error", "error": {"message": message, "reason": reason}})
                );
            } else {
                eprintln!("error: {message} ({reason})");
            }
            Ok(match e.status() {
                404 => 4,
                409 => 5,
                422 => 6,
                _ => 1,
            })
        }
    }
}

fn workspace(svc: &Service, cmd: &WorkspaceCmd, json: bool) -> Result<i32, ApiError> {
    match cmd {
        WorkspaceCmd::Put {
            slug,
            plan,
            max_lifetime_days,
            allow_no_expiry,
        } => {
            let plan = Plan::parse(plan).ok_or_else(|| {
                ApiError::InvalidBody("plan must be free, standard or premium".into())
            })?;
            let days = max_lifetime_days.unwrap_or(365);
            if ![90, 180, 365].contains(&days) {
                return Err(ApiError::InvalidBody(
                    "max lifetime must be 90, 180 or 365 days".into(),
                ));
            }
            let policy = TokenPolicy {
                max_lifetime_days: days,
                allow_no_expiry: *allow_no_expiry,
            };
            let (w, _) = svc.put_workspace(slug, plan, policy)?;
            out(json, &w, || {
                println!("workspace {} ({})", w.slug, w.plan.as_str())
            });
        }
        WorkspaceCmd::Delete { slug } => {
            svc.delete_workspace(slug)?;
            out(json, &json!({"deleted": true}), || println!("deleted"));
        }
        WorkspaceCmd::List => {
            let list = svc.store.list_workspaces()?;
            out(json, &list, || {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|w| {
                        vec![
                            w.slug.clone(),
                            w.plan.as_str().into(),
                            w.token_policy.max_lifetime_days.to_string(),
                            w.token_policy.allow_no_expiry.to_string(),
                        ]
                    })
                    .collect();
                print_table(
                    &["workspace", "plan", "max_lifetime_days", "allow_no_expiry"],
                    &rows,
                );
            });
        }
        WorkspaceCmd::Show { slug } => {
            let w = svc
                .store
                .get_workspace(slug)?
                .ok_or(ApiError::NotFound(Entity::Workspace))?;
            let projects = svc.store.list_projects(slug)?;
            let repos = svc.store.list_repositories(slug)?;
            let v = json!({"workspace": w, "projects": projects, "repositories": repos});
            out(json, &v, || {
                print_fields(&[
                    ("workspace", w.slug.clone()),
                    ("plan", w.plan.as_str().into()),
                    (
                        "max_lifetime_days",
                        w.token_policy.max_lifetime_days.to_string(),
                    ),
                    (
                        "allow_no_expiry",
                        w.token_policy.allow_no_expiry.to_string(),
                    ),
                ]);
                println!();
                let rows: Vec<Vec<String>> = repos
                    .iter()
                    .map(|r| vec![r.slug.clone(), r.project.clone()])
                    .collect();
                print_table(&["repository", "project"], &rows);
                println!();
                let rows: Vec<Vec<String>> = projects.iter().map(|p| vec![p.key.clone()]).collect();
                print_table(&["project"], &rows);
            });
        }
    }
    Ok(0)
}

fn repository(svc: &Service, cmd: &RepositoryCmd, json: bool) -> Result<i32, ApiError> {
    let r = match cmd {
        RepositoryCmd::Put {
            workspace,
            slug,
            project,
        } => svc.put_repository(workspace, slug, project)?.0,
        RepositoryCmd::Delete { workspace, slug } => {
            svc.delete_repository(workspace, slug)?;
            out(json, &json!({"deleted": true}), || println!("deleted"));
            return Ok(0);
        }
        RepositoryCmd::Transfer {
            workspace,
            slug,
            to_workspace,
            to_project,
        } => svc.transfer_repository(workspace, slug, to_workspace, to_project)?,
    };
    out(json, &r, || {
        println!(
            "repository {}/{} in project {}",
            r.workspace, r.slug, r.project
        )
    });
    Ok(0)
}

fn token(svc: &Service, cmd: &TokenCmd, json: bool) -> Result<i32, ApiError> {
    let now = clock::now();
    match cmd {
        TokenCmd::Create {
            resource,
            name,
            scopes,
            expires_at,
        } => {
            let req = IssueRequest {
                name: name.clone(),
                scopes: scopes.clone(),
                expires_at: parse_expiry(expires_at)?,
            };
            let c = svc.create_token(&resource.to_ref(), req)?;
            show_created(json, &CreatedView::of(&c));
        }
        TokenCmd::Rotate { id, expires_at } => {
            let c = svc.rotate_token(id, parse_expiry(expires_at)?)?;
            show_created(json, &CreatedView::of(&c));
        }
        TokenCmd::List { resource } => {
            let list: Vec<TokenView> = svc
                .list_tokens(&resource.to_ref())?
                .iter()
                .map(|t| TokenView::of(t, now))
                .collect();
            out(json, &list, || {
                print_table(TOKEN_HEADERS, &token_rows(&list))
            });
        }
        TokenCmd::Show { id } => {
            let t = TokenView::of(&svc.get_token(id)?, now);
            out(json, &t, || {
                print_fields(&[
                    ("id", t.id.clone()),
                    ("name", t.name.clone()),
                    ("kind", t.kind.as_str().into()),
                    ("workspace", t.workspace.clone()),
                    ("project", opt(&t.project)),
                    ("repository", opt(&t.repository)),
                    ("scopes", t.scopes.join(", ")),
                    ("state", t.state.into()),
                    ("created_at", t.created_at.clone()),
                    ("expires_at", opt(&t.expires_at)),
                    ("last_accessed_at", opt(&t.last_accessed_at)),
                    ("revoked_at", opt(&t.revoked_at)),
                ])
            });
        }
        TokenCmd::Revoke { id } => {
            let t = TokenView::of(&svc.revoke_token(id)?, now);
            out(json, &t, || println!("revoked {}", t.id));
        }
    }
    Ok(0)
}

fn check(svc: &Service, a: &CheckArgs, json: bool) -> Result<i32, ApiError> {
    let token = match a.token.as_deref() {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_line(&mut s)
                .map_err(ApiError::InvalidInput)?;
            Some(s.trim().to_string())
        }
        Some(t) => Some(t.to_string()),
        None => None,
    };
    let auth = token.map(|t| format!("Bearer {t}"));
    // The request as nginx's example configuration forwards it.
    let mut headers = vec![
        ("x-original-method", a.method.as_bytes()),
        ("x-original-uri", a.uri.as_bytes()),
    ];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth.as_bytes()));
    }
    let o = svc.check(headers)?;
    let a = &*o.answer;
    let body: serde_json::Value = serde_json::from_slice(&a.body).unwrap_or_default();
    let headers: Vec<(&str, &str)> = a
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_str().unwrap_or_default()))
        .collect();
    let v = json!({
        "allow": o.allowed(), "status": o.status(), "reason": o.reason(),
        "headers": headers, "body": body, "token_id": o.token_id.as_deref(),
    });
    out(json, &v, || {
        let message = body["error"]["message"].as_str().unwrap_or("allowed");
        let mut fields = vec![
            (
                "decision",
                if o.allowed() { "allow" } else { "deny" }.to_string(),
            ),
            ("status", o.status().to_string()),
            ("reason", o.reason().to_string()),
            ("message", message.to_string()),
        ];
        fields.extend(headers.iter().map(|(n, v)| (*n, v.to_string())));
        print_fields(&fields)
    });
    svc.flush_accesses();
    Ok(if o.allowed() { 0 } else { 1 })
}
