//! The store itself: which engine, its schema, whether it answers, and row counts.
//!
//! Implemented for each engine in `engine/queries/lifecycle.rs`.

use crate::{EngineKind, Result, TableCounts};
use async_trait::async_trait;

/// The store itself: which engine, its schema, whether it answers, and row counts.
#[async_trait]
pub trait LifecycleStore: Send + Sync {
    fn engine(&self) -> EngineKind;

    /// Applies the engine's versioned migrations (idempotent).
    async fn migrate(&self) -> Result<()>;

    /// A cheap round trip, for `/health/ready`.
    async fn ping(&self) -> Result<()>;

    /// Row counts of every table that holds person data: tests use it to
    /// prove that refused input left the store unchanged.
    async fn counts(&self) -> Result<TableCounts>;
}
