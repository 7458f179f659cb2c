//! The disclosure audit: the hash-chained log, its Merkle frontier and signed checkpoints.
//!
//! Implemented for each engine in `engine/queries/audit.rs`.

use crate::{AuditHead, AuditRow, NewDisclosure, Page, PageRequest, Result, StoredCheckpoint};
use async_trait::async_trait;
use gatehouse_domain::PrisonNumber;

/// The disclosure audit: the hash-chained log, its Merkle frontier and signed checkpoints.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends records in one transaction, extending the hash chain and Merkle frontier; returns their sequence numbers.
    async fn append_audit(&self, records: &[NewDisclosure]) -> Result<Vec<i64>>;

    async fn audit_head(&self) -> Result<AuditHead>;

    /// Rows with `seq > after`, in sequence order (storage order as read).
    async fn audit_rows(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>>;

    async fn audit_row(&self, seq: i64) -> Result<Option<AuditRow>>;

    /// A person's disclosure records, newest first.
    async fn audit_for_person(
        &self,
        prison_number: &PrisonNumber,
        page: &PageRequest,
    ) -> Result<Page<AuditRow>>;

    /// The leaf hashes (hex) of records 1..=size, in order.
    async fn audit_leaf_hashes(&self, size: i64) -> Result<Vec<String>>;

    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<()>;

    async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>>;

    /// The checkpoint with the largest size, if any (the checkpointer asks this every round: one row, not all).
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;

    /// The checkpoint signed for exactly this size, if any.
    async fn checkpoint_at(&self, size: i64) -> Result<Option<StoredCheckpoint>>;

    /// Checkpoints with `after < size <= upto`, by size (verification streams them beside the records).
    async fn checkpoints_between(&self, after: i64, upto: i64) -> Result<Vec<StoredCheckpoint>>;
}
