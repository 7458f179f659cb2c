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
mod operator;
mod report;
mod staff;
mod staff_identity;
mod witness;

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
        /// Default: beside a SQLite database, or gatehouse-audit.key. Keep it
        /// outside the database's directory and backups. Alternatively give the
        /// key itself (64 hex digits) in GATEHOUSE_AUDIT_SIGNING_KEY (never logged);
        /// the file is then not read.
        #[arg(long, env = "GATEHOUSE_AUDIT_KEY")]
        audit_key: Option<std::path::PathBuf>,
        /// Sign an audit checkpoint at least this often while records are added
        /// (and once at shutdown), e.g. 1s, 500ms, 1m. `audit verify --cadence`
        /// must be given the same.
        #[arg(long, env = "GATEHOUSE_CHECKPOINT_EVERY", default_value = "1s",
              value_parser = witness::parse_duration)]
        checkpoint_every: std::time::Duration,
        /// Also publish every event (thin: no record data) to NATS JetStream, e.g. nats://127.0.0.1:4222.
        #[arg(long, env = "GATEHOUSE_NATS_URL")]
        nats_url: Option<String>,
        /// How long a failing webhook delivery holds back the same person's
        /// later events before they flow on past it, e.g. 60s, 500ms.
        #[arg(long, env = "GATEHOUSE_DELIVERY_HOLD", default_value = "60s",
              value_parser = witness::parse_duration)]
        delivery_hold: std::time::Duration,
        #[command(flatten)]
        tls: TlsArgs,
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

/// HTTPS and mutual TLS (see docs/identity-and-transport.md). Without
/// --tls-cert the server speaks plain HTTP.
#[derive(clap::Args)]
struct TlsArgs {
    /// Serve HTTPS with this certificate chain (PEM, the server's own certificate first).
    #[arg(long, env = "GATEHOUSE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "GATEHOUSE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Mutual TLS: CA certificates (PEM bundle) that issue client certificates.
    #[arg(long, env = "GATEHOUSE_CLIENT_CA", requires = "tls_cert")]
    client_ca: Option<std::path::PathBuf>,
    /// With --client-ca: `required` (default) refuses a connection without a client
    /// certificate in the handshake; `optional` lets it in (staff browsers), and a
    /// consumer set to require a certificate is still refused.
    #[arg(long, env = "GATEHOUSE_CLIENT_AUTH", requires = "client_ca")]
    client_auth: Option<gatehouse_server::tls::ClientAuth>,
    /// With --client-ca: revocation lists (PEM) from the client CAs; a listed
    /// certificate fails the handshake. Repeat, or comma-separate in the variable.
    #[arg(
        long,
        env = "GATEHOUSE_CLIENT_CRL",
        requires = "client_ca",
        value_delimiter = ','
    )]
    client_crl: Vec<std::path::PathBuf>,
}

impl TlsArgs {
    fn config(self) -> Option<gatehouse_server::tls::TlsConfig> {
        let (cert, key) = (self.tls_cert?, self.tls_key?);
        Some(gatehouse_server::tls::TlsConfig {
            cert,
            key,
            client_ca: self.client_ca,
            client_auth: self.client_auth.unwrap_or_default(),
            client_crls: self.client_crl,
        })
    }
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
            checkpoint_every,
            nats_url,
            delivery_hold,
            tls,
            identity,
        } => {
            let mut config = ServerConfig {
                database_url: database_url(
                    &cli.database_url,
                    gatehouse_server::config::DEFAULT_DATABASE_URL,
                ),
                listen,
                audit_key,
                audit_signer: gatehouse_server::audit::checkpoints::signer_from_env()?,
                checkpoint_every,
                delivery: gatehouse_server::delivery::DeliveryConfig {
                    nats_url,
                    hold: delivery_hold,
                    ..Default::default()
                },
                tls: tls.config(),
                ..ServerConfig::default()
            };
            identity.apply(&mut config)?;
            let app = Application::build(config).await?;
            tracing::info!(address = %app.local_addr(), scheme = app.scheme(), "Gatehouse listening");
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
