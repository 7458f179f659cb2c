//! Server configuration.

use std::net::SocketAddr;

/// The default embedded database: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://gatehouse.db";

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
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.into(),
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            body_limit: 8 * 1024 * 1024,
            max_batch_items: 10_000,
        }
    }
}
