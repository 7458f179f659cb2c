//! The store itself: which engine, its schema, whether it answers, and row counts.

use super::engine::{ENGINE, EngineStore, MIGRATOR};
use super::reads::counts;
use crate::Result;
use crate::model::*;

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::LifecycleStore for EngineStore {
    fn engine(&self) -> crate::EngineKind {
        ENGINE
    }
    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }
    async fn counts(&self) -> Result<TableCounts> {
        counts(&self.reader).await
    }
}
