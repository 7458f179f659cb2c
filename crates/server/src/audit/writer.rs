//! Group commit for the audit log ([`crate::group_commit`]). Each request
//! sends its record to one writer task and waits for the answer; the writer
//! appends whatever has queued (up to [`MAX_BATCH`]) in one transaction, so
//! under load many records share one commit and auditing does not halve read
//! throughput. Nothing is answered before its record is durable: there is
//! nothing to recover after a crash, because nothing unrecorded was ever disclosed.

use crate::group_commit::GroupCommit;
use gatehouse_store::{NewDisclosure, Store};
use std::sync::Arc;

pub const MAX_BATCH: usize = 512;
const QUEUE: usize = 8192;

#[derive(Clone)]
pub struct AuditWriter {
    writer: GroupCommit<NewDisclosure, i64>,
}

impl AuditWriter {
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let writer = GroupCommit::spawn(MAX_BATCH, QUEUE, move |records: Vec<NewDisclosure>| {
            let store = store.clone();
            async move {
                metrics::counter!("gatehouse_audit_batches_total").increment(1);
                store.append_audit(&records).await
            }
        });
        Self { writer }
    }

    /// Appends one record and waits until it is durable; returns its sequence number.
    pub async fn record(&self, record: NewDisclosure) -> Result<i64, anyhow::Error> {
        self.writer
            .submit(record)
            .await?
            .map_err(|e| anyhow::anyhow!("audit append failed: {e}"))
    }
}
