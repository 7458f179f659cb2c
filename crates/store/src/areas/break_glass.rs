//! Break-glass grants and their reviews.
//!
//! Implemented for each engine in `engine/queries/break_glass.rs`.

use crate::{BreakGlassRecord, Result, WriteAudit};
use async_trait::async_trait;

/// Break-glass grants and their reviews.
#[async_trait]
pub trait BreakGlassStore: Send + Sync {
    /// Joins the open grant for this consumer, staff user and person, or opens a new one lasting `window`.
    async fn break_glass_use(
        &self,
        consumer: &str,
        staff_user: &str,
        prison_number: &str,
        reason: &str,
        window: chrono::Duration,
        audit: &WriteAudit,
    ) -> Result<BreakGlassRecord>;

    async fn break_glass_list(&self, status: Option<&str>) -> Result<Vec<BreakGlassRecord>>;

    async fn break_glass_review(
        &self,
        id: &str,
        reviewer: &str,
        outcome: &str,
        note: Option<&str>,
        audit: &WriteAudit,
    ) -> Result<BreakGlassRecord>;
}
