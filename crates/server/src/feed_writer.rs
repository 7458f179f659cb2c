//! Group commit for small prison-feed writes. At a thousand single-event
//! POSTs a second, each in its own transaction, the store's one writer (SQLite)
//! or its row locks and commits (PostgreSQL) become the limit: a transaction
//! costs a dozen statements whatever it holds. So small partial batches are
//! handed to one writer task, which applies whatever has queued together
//! (`FeedStore::apply_feed_group`: as if one after another, each item recorded
//! under its own request's audit) and answers each request with its own
//! outcomes ([`crate::group_commit`]). Nothing is answered before it is durable. Large batches and
//! atomic ones go straight to the store: they are already one transaction.

use crate::group_commit::GroupCommit;
use gatehouse_store::{FeedBatch, ItemOutcome, Store, StoreError};
use std::sync::Arc;

/// Batches of at most this many items are grouped; larger ones go alone.
pub const GROUP_ITEMS: usize = 50;
/// Requests taken into one group at most.
pub const MAX_GROUP: usize = 64;
const QUEUE: usize = 4096;

#[derive(Clone)]
pub struct FeedWriter {
    writer: GroupCommit<FeedBatch, Vec<ItemOutcome>>,
}

impl FeedWriter {
    /// Starts the writer task ([`crate::group_commit`]); it ends when every handle is dropped.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let writer = GroupCommit::spawn(MAX_GROUP, QUEUE, move |batches: Vec<FeedBatch>| {
            let store = store.clone();
            async move {
                metrics::histogram!("gatehouse_feed_group_requests").record(batches.len() as f64);
                store.apply_feed_group(batches).await
            }
        });
        Self { writer }
    }

    /// Applies one small partial batch with whatever else is queued; its outcomes.
    pub async fn apply(
        &self,
        batch: FeedBatch,
    ) -> anyhow::Result<Result<Vec<ItemOutcome>, Arc<StoreError>>> {
        self.writer.submit(batch).await
    }
}

/// A grouped write's failure, as the API answers it (the cause is shared by
/// every request of the group, so it arrives behind an `Arc`).
pub fn api_error(e: &StoreError) -> crate::error::ApiError {
    match e {
        StoreError::Database(sqlx::Error::PoolTimedOut) => {
            crate::error::ApiError::Unavailable("the database is busy; try again".into())
        }
        other => {
            crate::error::ApiError::Internal(anyhow::anyhow!("grouped feed write failed: {other}"))
        }
    }
}
