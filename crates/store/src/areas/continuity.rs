//! Medication continuity checks raised by movements.
//!
//! Implemented for each engine in `engine/queries/continuity.rs`.

use crate::{ContinuityCheck, ContinuityConfirmation, Result, WriteAudit};
use async_trait::async_trait;
use gatehouse_domain::PrisonNumber;

/// Medication continuity checks raised by movements.
#[async_trait]
pub trait ContinuityStore: Send + Sync {
    async fn continuity_checks(
        &self,
        prison_number: &PrisonNumber,
        open_only: bool,
    ) -> Result<Vec<ContinuityCheck>>;

    async fn continuity_check(&self, id: &str) -> Result<Option<ContinuityCheck>>;

    /// Confirms an open check and raises its event; a closed one is a conflict.
    async fn confirm_continuity(
        &self,
        id: &str,
        confirmation: &ContinuityConfirmation,
        audit: &WriteAudit,
    ) -> Result<ContinuityCheck>;
}
