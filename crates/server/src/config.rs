//! Server configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The default embedded database: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://gatehouse.db";

/// The default checkpoint cadence: what `gatehouse audit verify` expects too.
pub const DEFAULT_CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `sqlite://path` or `postgres://…`.
    pub database_url: String,
    /// Where to listen; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The most items one prison-feed request may carry.
    pub max_batch_items: usize,
    /// Write a disclosure record for every request that touches a person.
    /// Only a benchmark's baseline turns this off.
    pub audit: bool,
    /// The Ed25519 key that signs audit checkpoints: a file, created if absent.
    /// `None`: beside a SQLite database (`<file>.audit-key`), else `gatehouse-audit.key`.
    pub audit_key: Option<PathBuf>,
    /// The signing key itself, when it is given in the environment
    /// (`GATEHOUSE_AUDIT_SIGNING_KEY`) rather than in a file; `audit_key` is
    /// then not read. `Debug` shows only the public key.
    pub audit_signer: Option<gatehouse_audit::Signer>,
    /// Sign a checkpoint every this many records…
    pub checkpoint_every_records: i64,
    /// …or this often (the cadence), while records are being added; and
    /// once more at shutdown: checkpoints are at most this far apart while
    /// records arrive, so a record stays unsigned at most about this long.
    pub checkpoint_every: Duration,
    /// Webhooks, the pull feed and NATS.
    pub delivery: crate::delivery::DeliveryConfig,
    /// HTTPS, and mutual TLS with a client CA; `None`: plain HTTP.
    pub tls: Option<crate::tls::TlsConfig>,
    /// Clock skew tolerated on staff assertions' `exp`, `nbf` and `iat`, in seconds.
    pub assertion_leeway: u64,
    /// Staff sign-in through an OpenID Connect provider, beside local accounts.
    pub oidc: Option<crate::http::web::oidc::OidcConfig>,
}

impl ServerConfig {
    /// Where the audit signing key is kept.
    pub fn audit_key_path(&self) -> PathBuf {
        if let Some(p) = &self.audit_key {
            return p.clone();
        }
        match self.database_url.strip_prefix("sqlite://") {
            Some(path) if !path.contains(":memory:") => PathBuf::from(format!(
                "{}.audit-key",
                path.split('?').next().unwrap_or(path)
            )),
            _ => PathBuf::from("gatehouse-audit.key"),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.into(),
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            body_limit: 8 * 1024 * 1024,
            max_batch_items: 10_000,
            audit: true,
            audit_key: None,
            audit_signer: None,
            checkpoint_every_records: 1000,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
            delivery: Default::default(),
            tls: None,
            assertion_leeway: crate::staff_assertion::DEFAULT_LEEWAY,
            oidc: None,
        }
    }
}
