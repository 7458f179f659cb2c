//! `gatehouse`: the one command for operators and developers.
//!
//! - `serve`: run the server.
//! - `demo`: build a synthetic estate if absent, create demo consumers with
//!   published demo keys, and serve.
//! - `migrate`: apply the database migrations.
//! - `consumer add|list|revoke|add-key`: manage consumer systems and their keys.
//! - `staff add|list|link-oidc|demo-assertion`: manage staff accounts for the web pages.
//! - `import`: load NDJSON prison events, with a progress bar.
//! - `bench`: the benchmarks of DESIGN.md §6 (`bench ingest`; see bench/README.md).

mod audit;
mod bench;
mod consumer;
mod demo;
mod identity_flags;
mod import;
mod report;
mod staff;
mod staff_identity;

use clap::{Parser, Subcommand};
use gatehouse_server::{Application, ServerConfig};
use std::net::SocketAddr;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Gatehouse: safety information shared between prison and prison healthcare"
)]
struct Cli {
    /// Database: `sqlite://path` (the embedded default) or `postgres://user@host/db`.
    #[arg(long, global = true, env = "GATEHOUSE_DATABASE_URL")]
    database_url: Option<String>,

    /// Log as JSON lines (for log shippers) instead of text.
    #[arg(long, global = true, env = "GATEHOUSE_LOG_JSON")]
    log_json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[arg(long, env = "GATEHOUSE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The file holding the audit checkpoint signing key (created if absent).
        /// Default: beside a SQLite database, or gatehouse-audit.key.
        #[arg(long, env = "GATEHOUSE_AUDIT_KEY")]
        audit_key: Option<std::path::PathBuf>,
        /// Also publish every event (thin: no record data) to NATS JetStream, e.g. nats://127.0.0.1:4222.
        #[arg(long, env = "GATEHOUSE_NATS_URL")]
        nats_url: Option<String>,
        #[command(flatten)]
        identity: identity_flags::IdentityFlags,
    },
    /// Run the demo: synthetic estate, demo consumers and keys, the server.
    Demo(demo::DemoArgs),
    /// Apply database migrations.
    Migrate,
    /// Manage consumers (the systems that call Gatehouse).
    #[command(subcommand)]
    Consumer(consumer::ConsumerCommand),
    /// Manage staff accounts for the web pages.
    #[command(subcommand)]
    Staff(staff::StaffCommand),
    /// Import prison events from an NDJSON file (`-` for standard input).
    Import(import::ImportArgs),
    /// Verify the disclosure audit, or report who saw a person's record.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Benchmarks against the DESIGN.md §6 targets (fresh databases; see bench/README.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    if json {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

fn database_url(cli: &Option<String>, default: &str) -> String {
    cli.clone().unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    match cli.command {
        Command::Serve {
            listen,
            audit_key,
            nats_url,
            identity,
        } => {
            let mut config = ServerConfig {
                database_url: database_url(
                    &cli.database_url,
                    gatehouse_server::config::DEFAULT_DATABASE_URL,
                ),
                listen,
                audit_key,
                delivery: gatehouse_server::delivery::DeliveryConfig {
                    nats_url,
                    ..Default::default()
                },
                ..ServerConfig::default()
            };
            identity.apply(&mut config)?;
            let app = Application::build(config).await?;
            tracing::info!(address = %app.local_addr(), "Gatehouse listening");
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Demo(args) => {
            demo::run(
                database_url(&cli.database_url, demo::DEFAULT_DATABASE_URL),
                args,
            )
            .await
        }
        Command::Migrate => {
            let url = database_url(
                &cli.database_url,
                gatehouse_server::config::DEFAULT_DATABASE_URL,
            );
            let store = gatehouse_store::connect(&url).await?;
            store.migrate().await?;
            store
                .ensure_establishments(&gatehouse_domain::Establishment::catalogue())
                .await?;
            println!("migrations applied ({})", store.engine().as_str());
            Ok(())
        }
        Command::Consumer(cmd) => {
            consumer::run(
                database_url(
                    &cli.database_url,
                    gatehouse_server::config::DEFAULT_DATABASE_URL,
                ),
                cmd,
            )
            .await
        }
        Command::Staff(cmd) => {
            staff::run(
                database_url(
                    &cli.database_url,
                    gatehouse_server::config::DEFAULT_DATABASE_URL,
                ),
                cmd,
            )
            .await
        }
        Command::Audit(cmd) => {
            audit::run(
                database_url(
                    &cli.database_url,
                    gatehouse_server::config::DEFAULT_DATABASE_URL,
                ),
                cmd,
            )
            .await
        }
        Command::Import(args) => {
            import::run(
                database_url(
                    &cli.database_url,
                    gatehouse_server::config::DEFAULT_DATABASE_URL,
                ),
                args,
            )
            .await
        }
        Command::Bench(cmd) => bench::run(cmd).await,
    }
}
