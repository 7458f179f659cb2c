//! Group commit for delivery outcomes ([`crate::group_commit`]). Every attempt
//! hands its outcome to one settler task and waits for it to be durable; the
//! settler writes whatever has queued (up to [`MAX_BATCH`]) in one
//! transaction, so at a thousand deliveries a second the outcomes cost a few
//! commits a second, not a thousand. An attempt's lease is released only by
//! its durable outcome: if the write fails, every attempt of that batch is
//! told, its lease lapses and it is tried again (at least once; receivers
//! dedupe on `webhook-id`).

use crate::group_commit::GroupCommit;
use gatehouse_store::{FinishedAttempt, Store};
use std::sync::Arc;

pub const MAX_BATCH: usize = 512;
const QUEUE: usize = 8192;

#[derive(Clone)]
pub struct Settler {
    writer: GroupCommit<FinishedAttempt, ()>,
}

impl Settler {
    /// Starts the settler task; it ends when every handle is dropped.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let writer = GroupCommit::spawn(MAX_BATCH, QUEUE, move |done: Vec<FinishedAttempt>| {
            let store = store.clone();
            async move {
                metrics::counter!("gatehouse_delivery_settle_batches_total").increment(1);
                store.finish_deliveries(&done).await?;
                Ok(vec![(); done.len()])
            }
        });
        Self { writer }
    }

    /// Records one outcome and waits until it is durable.
    pub async fn settle(&self, done: FinishedAttempt) -> anyhow::Result<()> {
        self.writer
            .submit(done)
            .await?
            .map_err(|e| anyhow::anyhow!("recording delivery outcomes failed: {e}"))
    }
}
