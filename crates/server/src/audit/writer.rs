//! Group commit for the audit log. Each request sends its record to one writer
//! task and waits for the answer; the writer takes whatever has queued (up to
//! [`MAX_BATCH`]) and appends it in one transaction, so under load many
//! records share one commit and auditing does not halve read throughput.
//! Nothing is answered before its record is durable: there is nothing to
//! recover after a crash, because nothing unrecorded was ever disclosed.

use gatehouse_store::{NewDisclosure, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

pub const MAX_BATCH: usize = 512;
const QUEUE: usize = 8192;

type Reply = oneshot::Sender<Result<i64, Arc<StoreError>>>;

#[derive(Clone)]
pub struct AuditWriter {
    queue: mpsc::Sender<(NewDisclosure, Reply)>,
}

impl AuditWriter {
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (queue, mut incoming) = mpsc::channel::<(NewDisclosure, Reply)>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let records: Vec<NewDisclosure> = batch.iter().map(|(r, _)| r.clone()).collect();
                match store.append_audit(&records).await {
                    Ok(seqs) => {
                        for ((_, reply), seq) in batch.drain(..).zip(seqs) {
                            let _ = reply.send(Ok(seq));
                        }
                    }
                    Err(e) => {
                        let e = Arc::new(e);
                        for (_, reply) in batch.drain(..) {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
                metrics::counter!("gatehouse_audit_batches_total").increment(1);
            }
        });
        Self { queue }
    }

    /// Appends one record and waits until it is durable; returns its sequence number.
    pub async fn record(&self, record: NewDisclosure) -> Result<i64, anyhow::Error> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send((record, tx))
            .await
            .map_err(|_| anyhow::anyhow!("the audit writer has stopped"))?;
        match rx.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(e)) => Err(anyhow::anyhow!("audit append failed: {e}")),
            Err(_) => Err(anyhow::anyhow!("the audit writer dropped the record")),
        }
    }
}
