use std::io::IsTerminal;

use clap::Parser;
use scopegate_host::cli::{Cli, Command, LogFormat};

/// Logging starts once the arguments are read, since `serve --log-format` chooses its format;
/// SCOPEGATE_LOG sets the filter whatever the format.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SCOPEGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        // Colour codes only for a person at a terminal, not in log files and collectors.
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

fn main() {
    let cli = Cli::parse();
    init_logging(match &cli.command {
        Command::Serve(serve) => serve.log_format,
        _ => LogFormat::Text,
    });
    let json = cli.json;
    match scopegate_host::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        // What failed before a command could run: the store or the module could not be opened,
        // or the service could not start. Commands answer their own errors, each with its code.
        Err(e) => {
            if json {
                let body = serde_json::json!({"type": "error", "error": {
                    "message": format!("{e:#}"), "reason": "setup_failed"}});
                eprintln!("{body}");
            } else {
                eprintln!("error: {e:#}");
            }
            std::process::exit(1);
        }
    }
}
