//! Group commit: many callers, one writer task. Each caller hands its item to
//! the task and waits for its own answer; the task takes whatever has queued
//! (up to a bound) and writes it in one call to the store, so under load many
//! items share one transaction and its commit. Nothing is answered before the
//! write has returned: an answer means durable, an error means not written.
//! The audit log, delivery outcomes and small feed writes all go through it.

use gatehouse_store::StoreError;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Reply<O> = oneshot::Sender<Result<O, Arc<StoreError>>>;

/// The handle callers submit through; the task ends when every handle is dropped.
pub struct GroupCommit<I, O> {
    queue: mpsc::Sender<(I, Reply<O>)>,
}

impl<I, O> Clone for GroupCommit<I, O> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<I: Send + 'static, O: Send + 'static> GroupCommit<I, O> {
    /// Starts the writer task. `write` gets up to `max_group` items and must
    /// answer one output per item, in order; a failure is every item's.
    pub fn spawn<F, Fut>(max_group: usize, queue: usize, write: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<O>, StoreError>> + Send,
    {
        let (tx, mut incoming) = mpsc::channel::<(I, Reply<O>)>(queue);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(max_group);
            while incoming.recv_many(&mut group, max_group).await > 0 {
                let (items, replies): (Vec<I>, Vec<Reply<O>>) = group.drain(..).unzip();
                match write(items).await {
                    Ok(outputs) => {
                        for (reply, out) in replies.into_iter().zip(outputs) {
                            let _ = reply.send(Ok(out));
                        }
                    }
                    Err(e) => {
                        let e = Arc::new(e);
                        for reply in replies {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
            }
        });
        Self { queue: tx }
    }

    /// Submits one item and waits for its answer. The outer error: the task
    /// has stopped (shutdown); the inner one: the group's write failed.
    pub async fn submit(&self, item: I) -> anyhow::Result<Result<O, Arc<StoreError>>> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send((item, tx))
            .await
            .map_err(|_| anyhow::anyhow!("the group-commit writer has stopped"))?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the group-commit writer dropped the item"))
    }
}
