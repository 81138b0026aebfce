//! Carrying out one command on the local store (or serving), and its exit code.

use super::print::{
    out, print_audit, print_credentials, print_fields, print_findings, print_table, print_token,
    print_tokens, show_created, show_created_credential, FindingView,
};
use super::{
    AuditArgs, CheckArgs, Cli, Command, CredentialCmd, ExpiryArgs, PolicyCmd, ProjectCmd,
    RepositoryCmd, ScanArgs, TokenCmd, WorkspaceCmd,
};
use crate::clock;
use crate::error::ApiError;
use crate::http::views::{
    AuditView, CreatedView, CredentialCreatedView, CredentialView, TokenView,
};
use crate::runtime::{RuntimeConfig, SecretKind};
use crate::scan::{self, ScanError};
use crate::server::{open_policy, ServeOptions};
use crate::service::{Caller, CredentialRequest, IssueRequest, Service};
use crate::store::page::Order;
use crate::store::{After, DbTarget, Page, PageRequest, Plan, TokenPolicy, TokenState};
use clap::CommandFactory;
use serde_json::json;
use std::time::Duration;

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

impl ExpiryArgs {
    /// The expiry in Unix seconds, `None` for none. A duration too long to add saturates: the
    /// module refuses it as longer than any workspace allows.
    fn at(&self, now: i64) -> Option<i64> {
        self.expires_at
            .or_else(|| self.expires_in.map(|d| now.saturating_add(d)))
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
                record_usage: a.record_usage,
                max_staleness: Duration::from_millis(a.max_staleness_ms),
                forwarded_headers: a.forwarded_headers,
                cache_entries: usize::try_from(a.cache_entries).unwrap_or(usize::MAX),
                json,
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
                ProjectCmd::Put { workspace, key } => svc
                    .put_project(workspace, key, &Caller::cli())
                    .map(|(p, _)| {
                        out(json, &p, || println!("project {}/{}", p.workspace, p.key));
                        0
                    }),
                ProjectCmd::Delete { workspace, key } => {
                    svc.delete_project(workspace, key, &Caller::cli()).map(|_| {
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
        Command::Credential(cmd) => {
            let needs_policy = matches!(cmd, CredentialCmd::Create { .. });
            let svc = open_service(&cli, needs_policy)?;
            credential(&svc, cmd, json)
        }
        Command::Audit(a) => {
            let svc = open_service(&cli, false)?;
            audit(&svc, a, json)
        }
        Command::Check(a) => {
            let svc = open_service(&cli, true)?;
            check(&svc, a, json)
        }
        // Its exit status is its own (2 on an error, as scanners answer), so it answers its
        // errors itself, setup included.
        Command::Scan(a) => return Ok(scan(&cli, a, json)),
        // The document is JSON already, so `--json` changes nothing.
        Command::Openapi => {
            print!("{}", crate::http::openapi::document_json());
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "scopegate", &mut script);
            let script = String::from_utf8_lossy(&script);
            out(
                json,
                &json!({"shell": shell.to_string(), "script": script}),
                || print!("{script}"),
            );
            Ok(0)
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
            let (w, _) = svc.put_workspace(slug, plan, policy, &Caller::cli())?;
            out(json, &w, || {
                println!("workspace {} ({})", w.slug, w.plan.as_str())
            });
        }
        WorkspaceCmd::Delete { slug } => {
            svc.delete_workspace(slug, &Caller::cli())?;
            out(json, &json!({"deleted": true}), || println!("deleted"));
        }
        WorkspaceCmd::List(page) => {
            let page = page.request(Order::Key(""))?;
            let list = next_page(svc.list_workspaces(&page, &Caller::cli())?);
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
            let (w, projects, repos) = svc.workspace_detail(slug, &Caller::cli())?;
            let (projects, repos) = (next_page(projects), next_page(repos));
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
        } => {
            svc.put_repository(workspace, slug, project, &Caller::cli())?
                .0
        }
        RepositoryCmd::Delete { workspace, slug } => {
            svc.delete_repository(workspace, slug, &Caller::cli())?;
            out(json, &json!({"deleted": true}), || println!("deleted"));
            return Ok(0);
        }
        RepositoryCmd::Transfer {
            workspace,
            slug,
            to_workspace,
            to_project,
        } => svc.transfer_repository(workspace, slug, to_workspace, to_project, &Caller::cli())?,
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
            expiry,
        } => {
            let req = IssueRequest {
                name: name.clone(),
                scopes: scopes.clone(),
                expires_at: expiry.at(now),
            };
            let c = svc.create_token(&resource.to_ref(), req, &Caller::cli())?;
            show_created(json, &CreatedView::of(&c));
        }
        TokenCmd::Rotate { id, expiry } => {
            let c = svc.rotate_token(id, expiry.at(now), &Caller::cli())?;
            show_created(json, &CreatedView::of(&c));
        }
        TokenCmd::List(list) => {
            let page = list.page.request(Order::OldestFirst)?;
            let list: Vec<TokenView> =
                next_page(svc.find_tokens(&list.to_ref(), list.state, now, &page)?)
                    .iter()
                    .map(|t| TokenView::of(t, now))
                    .collect();
            out(json, &list, || print_tokens(&list));
        }
        TokenCmd::Show { id } => {
            let t = TokenView::of(&svc.get_token(id, &Caller::cli())?, now);
            out(json, &t, || print_token(&t));
        }
        TokenCmd::Revoke { id } => {
            let t = TokenView::of(&svc.revoke_token(id, &Caller::cli())?, now);
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

fn credential(svc: &Service, cmd: &CredentialCmd, json: bool) -> Result<i32, ApiError> {
    let cli = Caller::cli();
    match cmd {
        CredentialCmd::Create {
            name,
            role,
            workspace,
            expires_at,
        } => {
            let req = CredentialRequest {
                name: name.clone(),
                role: *role,
                workspace: workspace.clone(),
                expires_at: *expires_at,
            };
            let c = svc.create_credential(req, &cli)?;
            show_created_credential(json, &CredentialCreatedView::of(&c));
        }
        CredentialCmd::List(page) => {
            let page = page.request(Order::OldestFirst)?;
            let list: Vec<CredentialView> = next_page(svc.list_credentials(&page, &cli)?)
                .iter()
                .map(CredentialView::of)
                .collect();
            out(json, &list, || print_credentials(&list));
        }
        CredentialCmd::Revoke { id } => {
            let c = CredentialView::of(&svc.revoke_credential(id, &cli)?);
            out(json, &c, || println!("revoked {}", c.id));
        }
    }
    Ok(0)
}

impl super::PageArgs {
    fn request(&self, order: Order) -> Result<PageRequest, ApiError> {
        let after = match &self.cursor {
            None => After::Start,
            Some(c) => order
                .parse(c)
                .map_err(|e| ApiError::InvalidQuery(e.to_string()))?,
        };
        Ok(PageRequest {
            limit: self.limit.into(),
            after,
        })
    }
}

/// A page's rows; the cursor of the next page, when there is one, goes to stderr, so that
/// stdout stays the rows alone (a table, or a JSON array).
fn next_page<T>(page: Page<T>) -> Vec<T> {
    if let Some(cursor) = page.next.as_ref().and_then(|a| a.cursor()) {
        eprintln!("more: --cursor {cursor}");
    }
    page.items
}

fn audit(svc: &Service, a: &AuditArgs, json: bool) -> Result<i32, ApiError> {
    let query = crate::store::AuditQuery {
        workspace: a.workspace.clone(),
        token_id: a.token_id.clone(),
        event: a.event,
        since: a.since,
        before_id: a.before,
        limit: usize::from(a.limit),
    };
    let entries: Vec<AuditView> = svc
        .audit(query, &Caller::cli())?
        .iter()
        .map(AuditView::of)
        .collect();
    out(json, &entries, || print_audit(&entries));
    Ok(0)
}

/// How much of a secret a finding shows.
const SHOWN: usize = 12;

fn scan(cli: &Cli, a: &ScanArgs, json: bool) -> i32 {
    let mut errors = Vec::new();
    let findings = match scan_findings(cli, a, &mut errors) {
        Ok(findings) => findings,
        Err(e) => {
            errors.push(e);
            Vec::new()
        }
    };
    for e in &errors {
        if json {
            eprintln!(
                "{}",
                json!({"type": "error", "error": {"message": e.message(), "reason": e.code()}})
            );
        } else {
            eprintln!("error: {} ({})", e.message(), e.code());
        }
    }
    out(json, &findings, || print_findings(&findings));
    if !errors.is_empty() {
        2
    } else if !findings.is_empty() {
        1
    } else {
        0
    }
}

/// The store `scan` looks secrets up in: none when the SQLite file does not exist, since a
/// scan must not create one (every finding is then `unknown`).
fn scan_store(cli: &Cli) -> Result<Option<Service>, ScanError> {
    if let DbTarget::Sqlite(path) = &cli.db {
        if !path.exists() {
            return Ok(None);
        }
    }
    let store = cli.db.open().map_err(ApiError::from)?;
    Ok(Some(Service::new(store, None)))
}

/// Every finding, looked up and (with `--revoke`) revoked; the paths that could not be read go
/// to `errors` and the scan goes on.
fn scan_findings(
    cli: &Cli,
    a: &ScanArgs,
    errors: &mut Vec<ScanError>,
) -> Result<Vec<FindingView>, ScanError> {
    let svc = scan_store(cli)?;
    if a.revoke && svc.is_none() {
        return Err(ScanError::NoStore(cli.db.to_string()));
    }
    let cfg = RuntimeConfig {
        max_instances: 2,
        // Offline, and a window is a few MB: the server's per-call deadline is for requests.
        timeout: Duration::from_secs(30),
        ..RuntimeConfig::default()
    };
    let policy = open_policy(cli.policy.clone(), cli.policy_sha256.clone(), cfg)
        .map_err(|e| ScanError::Policy(format!("{e:#}")))?
        .current();
    let mut hits = Vec::new();
    if a.git {
        for repo in &a.paths {
            if let Err(e) = scan::scan_git(&policy, repo, &mut |h| hits.push(h)) {
                errors.push(e);
            }
        }
    } else {
        scan::scan_paths(&policy, &a.paths, &mut |h| hits.push(h), &mut |e| {
            errors.push(e)
        });
    }
    let now = clock::now();
    // One lookup and at most one revocation per secret, however often it occurs.
    let mut known: std::collections::HashMap<String, Looked> = std::collections::HashMap::new();
    let mut findings = Vec::with_capacity(hits.len());
    for hit in hits {
        let looked = match known.get(&hit.secret) {
            Some(looked) => looked.clone(),
            None => {
                let looked = match &svc {
                    Some(svc) => look_up(svc, &hit, now, a.revoke)?,
                    None => Looked::UNKNOWN,
                };
                known.insert(hit.secret.clone(), looked.clone());
                looked
            }
        };
        findings.push(FindingView {
            location: hit.location,
            token_id: looked.id,
            state: looked.state,
            revoked_now: looked.revoked_now,
            name: looked.name,
            secret_start: hit.secret.chars().take(SHOWN).collect(),
        });
    }
    Ok(findings)
}

/// What the store holds under a secret's hash.
#[derive(Clone)]
struct Looked {
    id: Option<String>,
    name: Option<String>,
    state: &'static str,
    /// Whether this scan revoked it.
    revoked_now: bool,
}

impl Looked {
    const UNKNOWN: Looked = Looked {
        id: None,
        name: None,
        state: "unknown",
        revoked_now: false,
    };
}

/// The stored token or credential of a secret, by the SHA-256 it is stored under: its id and
/// name, its state, and whether this call revoked it.
fn look_up(svc: &Service, hit: &scan::Hit, now: i64, revoke: bool) -> Result<Looked, ScanError> {
    let hash = crate::token::hash(&hit.secret);
    let cli = Caller::cli();
    let (id, name, state) = match hit.kind {
        SecretKind::AccessToken => {
            let Some(t) = svc.store.token_by_hash(&hash).map_err(ApiError::from)? else {
                return Ok(Looked::UNKNOWN);
            };
            let state = t.state(now).as_str();
            (t.id, t.name, state)
        }
        SecretKind::AdminCredential => {
            let Some(c) = svc
                .store
                .credential_by_hash(&hash)
                .map_err(ApiError::from)?
            else {
                return Ok(Looked::UNKNOWN);
            };
            // A credential has no deactivation; a revocation outranks an expiry, as a token's does.
            let state = if c.revoked_at.is_some() {
                "revoked"
            } else if c.is_live(now) {
                "active"
            } else {
                "expired"
            };
            (c.id, c.name, state)
        }
    };
    let revoked_now = revoke && state == TokenState::Active.as_str();
    if revoked_now {
        match hit.kind {
            SecretKind::AccessToken => drop(svc.revoke_token(&id, &cli)?),
            SecretKind::AdminCredential => drop(svc.revoke_credential(&id, &cli)?),
        }
    }
    Ok(Looked {
        id: Some(id),
        name: Some(name),
        state,
        revoked_now,
    })
}
