//! `scopegate serve`: wiring, background upkeep, signals.

use crate::runtime::{PolicyEngine, PolicyHandle, RuntimeConfig};
use crate::service::Service;
use crate::store::DbTarget;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub struct ServeOptions {
    pub listen: SocketAddr,
    pub db: DbTarget,
    pub policy: PathBuf,
    pub policy_sha256: Option<String>,
    pub www: PathBuf,
    pub runtime: RuntimeConfig,
    pub admin_key: Option<String>,
    pub decision_memo: bool,
    /// Usage and denied-check recording (`serve --record-usage`).
    pub record_usage: bool,
    pub max_staleness: Duration,
    pub forwarded_headers: crate::forwarded::ForwardedHeaders,
    /// The check cache's capacity, in tokens.
    pub cache_entries: usize,
    /// Say what standard output says (the generated admin key, the address) as JSON lines.
    pub json: bool,
}

/// How often usage (`last_accessed_at`, `last_used_ips`) and denied checks are written.
const ACCESS_FLUSH: Duration = Duration::from_secs(1);
/// How often the server looks for commits made by another process (the CLI).
const EXTERNAL_POLL: Duration = Duration::from_millis(50);

pub fn open_policy(
    path: PathBuf,
    pin: Option<String>,
    cfg: RuntimeConfig,
) -> anyhow::Result<Arc<PolicyHandle>> {
    let engine = PolicyEngine::new(cfg)?;
    let handle = PolicyHandle::open(engine, path.clone(), pin).map_err(|e| {
        let hint = if matches!(e, crate::runtime::LoadError::Unreadable(_)) {
            " (build it with `cargo xtask wasm`)"
        } else {
            ""
        };
        anyhow::anyhow!("{}: {e}{hint}", e.code())
    })?;
    Ok(Arc::new(handle))
}

pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let policy = open_policy(
        opts.policy.clone(),
        opts.policy_sha256.clone(),
        opts.runtime.clone(),
    )?;
    let info = policy.info();
    tracing::info!(path = %info.path, sha256 = %info.sha256, abi_version = info.abi_version,
                   operations = ?info.operations, "policy module loaded");
    // A service waits for its database (logging while it does) rather than exiting: started
    // together, the host may be up first.
    let db = opts.db.clone();
    let store = tokio::task::spawn_blocking(move || db.open_waiting(None))
        .await?
        .map_err(|e| anyhow::anyhow!("{}: {e}", opts.db))?;
    let svc = Arc::new(
        Service::new(store, Some(policy.clone()))
            .with_forwarded_headers(opts.forwarded_headers)
            .with_cache_capacity(opts.cache_entries),
    );
    svc.set_decision_memo(opts.decision_memo);
    svc.set_usage_recording(opts.record_usage);
    svc.set_max_staleness(opts.max_staleness);
    if let Some(key) = svc.init_admin_key(opts.admin_key.as_deref())? {
        // Printed once on standard output, never logged: only its hash is kept.
        if opts.json {
            println!("{}", serde_json::json!({ "admin_key": key }));
        } else {
            println!("admin key (shown once, store it now): {key}");
        }
    }

    // Webhooks go out from a task of their own: an admin call or a check only writes the
    // delivery (in its own transaction) and never waits for a receiver.
    let notifier = crate::webhooks::Notifier::new(svc.store.clone())?;
    tokio::spawn(notifier.run());

    let upkeep = svc.clone();
    // Catch up once before serving, so that a commit made right after start is noticed.
    svc.poll_external_changes();
    std::thread::Builder::new()
        .name("upkeep".into())
        .spawn(move || {
            let mut last_flush = std::time::Instant::now();
            loop {
                std::thread::sleep(EXTERNAL_POLL);
                upkeep.poll_external_changes();
                if last_flush.elapsed() >= ACCESS_FLUSH {
                    upkeep.flush_accesses();
                    last_flush = std::time::Instant::now();
                }
            }
        })?;

    #[cfg(unix)]
    {
        let reloader = policy.clone();
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let r = reloader.clone();
                match tokio::task::spawn_blocking(move || r.reload(None)).await {
                    Ok(Ok(info)) => {
                        tracing::info!(sha256 = %info.sha256, "policy module reloaded (SIGHUP)")
                    }
                    Ok(Err(e)) => tracing::error!(error = %e, code = e.code(),
                        "policy reload refused; the previous module stays in force"),
                    Err(e) => tracing::error!(error = %e, "policy reload task failed"),
                }
            }
        });
    }

    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    let addr = listener.local_addr()?;
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    tracing::info!(%addr, db = %opts.db, www = %opts.www.display(), workers,
                   forwarded_headers = opts.forwarded_headers.name(), "serving");
    if opts.json {
        println!(
            "{}",
            serde_json::json!({ "listening": format!("http://{addr}") })
        );
    } else {
        println!("scopegate listening on http://{addr}");
    }
    let app = crate::http::router(svc.clone(), opts.www.clone());
    crate::http::listen::serve(listener, app, shutdown()).await?;
    // Everything recorded, the denied checks of the current minute too.
    svc.flush_usage(true);
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
