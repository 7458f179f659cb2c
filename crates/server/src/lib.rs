//! Gatehouse HTTP server.
//!
//! Module map:
//! - [`config`]: what the server needs to start (database URL, listen address, limits).
//! - [`startup`]: build (connect, migrate, seed, bind) and run with graceful shutdown.
//! - [`state`]: the shared application state handed to handlers.
//! - [`error`]: [`ApiError`](error::ApiError), every failure as an RFC 9457 problem; internal causes logged, never shown.
//! - [`access`]: decide, record the disclosure, answer: the one path to a person's data.
//! - [`audit`]: disclosure records, group-commit writer, signed checkpoints.
//! - [`delivery`]: events from the outbox to subscribers: webhooks, the pull feed's views, NATS.
//! - [`auth`]: API keys (generation, hashing) and the authenticated [`Caller`](auth::Caller) extractor.
//! - [`client_cert`]: the TLS client certificate as a second proof, checked against the key's consumer.
//! - [`tls`]: HTTPS and mutual TLS with rustls: files, verifier, listener.
//! - [`staff_assertion`]: the staff user of an API request, from a signed assertion verified against the consumer's keys.
//! - [`assertion_signer`]: minting Ed25519 staff assertions, for the demo and tests.
//! - [`jwt`]: verifying a signed JWT (assertions, OpenID Connect ID tokens); [`jwks`]: key sets, fetched and cached.
//! - [`extract`]: path, query and body extractors whose rejections are problems, not plain text.
//! - [`telemetry`]: logging without personal data, Prometheus metrics, request ids.
//! - [`http`]: the routes: `/v1` REST, health, metrics, OpenAPI and its docs page.

pub mod access;
pub mod assertion_signer;
pub mod audit;
pub mod auth;
pub mod client_cert;
pub mod config;
pub mod delivery;
pub mod error;
pub mod extract;
pub mod feed_writer;
pub mod group_commit;
pub mod http;
pub mod jwks;
pub mod jwt;
pub mod staff_assertion;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tls;

pub use config::ServerConfig;
pub use startup::Application;
