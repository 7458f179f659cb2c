//! Group commit for delivery outcomes. Every attempt hands its outcome to one
//! settler task and waits for it to be durable; the settler writes whatever
//! has queued (up to [`MAX_BATCH`]) in one transaction, so at a thousand
//! deliveries a second the outcomes cost a few commits a second, not a
//! thousand. An attempt's lease is released only by its durable outcome: if
//! the write fails, every attempt of that batch is told, its lease lapses and
//! it is tried again (at least once; receivers dedupe on `webhook-id`).

use gatehouse_store::{FinishedAttempt, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

pub const MAX_BATCH: usize = 512;
const QUEUE: usize = 8192;

type Reply = oneshot::Sender<Result<(), Arc<StoreError>>>;

#[derive(Clone)]
pub struct Settler {
    queue: mpsc::Sender<(FinishedAttempt, Reply)>,
}

impl Settler {
    /// Starts the settler task; it ends when every handle is dropped.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (queue, mut incoming) = mpsc::channel::<(FinishedAttempt, Reply)>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let done: Vec<FinishedAttempt> = batch.iter().map(|(f, _)| f.clone()).collect();
                let result = store.finish_deliveries(&done).await.map_err(Arc::new);
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(result.clone());
                }
                metrics::counter!("gatehouse_delivery_settle_batches_total").increment(1);
            }
        });
        Self { queue }
    }

    /// Records one outcome and waits until it is durable.
    pub async fn settle(&self, done: FinishedAttempt) -> anyhow::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send((done, tx))
            .await
            .map_err(|_| anyhow::anyhow!("the delivery settler has stopped"))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::anyhow!("recording delivery outcomes failed: {e}")),
            Err(_) => Err(anyhow::anyhow!("the delivery settler dropped the outcome")),
        }
    }
}
