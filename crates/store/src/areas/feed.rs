//! The prison feed: items applied in batches, with ledger, projection, outbox and audit in one transaction.
//!
//! Implemented for each engine in `engine/queries/feed.rs`.

use crate::{BatchMode, FeedBatch, FeedEntry, ItemOutcome, Result, WriteAudit};
use async_trait::async_trait;

/// The prison feed: items applied in batches, with ledger, projection, outbox and audit in one transaction.
#[async_trait]
pub trait FeedStore: Send + Sync {
    /// Applies prison-feed items. In [`BatchMode::Partial`] each item is its own
    /// transaction and bad items are reported beside the stored ones; in
    /// [`BatchMode::Atomic`] all items share one transaction and any bad item
    /// leaves the store unchanged.
    async fn apply_feed(
        &self,
        items: Vec<FeedEntry>,
        mode: BatchMode,
        source: &str,
        audit: &WriteAudit,
    ) -> Result<Vec<ItemOutcome>>;

    /// Several [`BatchMode::Partial`] batches from concurrent requests applied
    /// together, as if one after another in the order given, sharing
    /// transactions (group commit); each item is recorded under its own
    /// batch's audit. Returns each batch's outcomes.
    async fn apply_feed_group(&self, batches: Vec<FeedBatch>) -> Result<Vec<Vec<ItemOutcome>>>;
}
