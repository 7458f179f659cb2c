//! Signed checkpoints of the audit log, and the key that signs them.
//!
//! The signing key lives in a file beside the database, never in it: someone
//! who can rewrite the database still cannot sign a checkpoint for the
//! rewritten log, so `gatehouse audit verify` (and the other organisation,
//! holding earlier checkpoints) catches the rewrite.

use anyhow::Context;
use chrono::Utc;
use gatehouse_audit::checkpoint::{Checkpoint, Signer};
use gatehouse_audit::merkle::{Frontier, Hash, inclusion_proof};
use gatehouse_store::{Store, StoredCheckpoint};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// The origin line of every checkpoint this log signs.
pub const ORIGIN: &str = "gatehouse.audit";

/// Loads an existing signing key (for verification: never creates one).
pub fn load_existing_key(path: &Path) -> anyhow::Result<Signer> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading the audit signing key {} (or pass --public-key)",
            path.display()
        )
    })?;
    Signer::from_hex(&text)
        .map_err(|e| anyhow::anyhow!("the audit signing key {} is not valid: {e}", path.display()))
}

/// Loads the signing key from `path`, or creates one there (mode 0600) if absent.
pub fn load_or_create_key(path: &Path) -> anyhow::Result<Signer> {
    if path.exists() {
        return load_existing_key(path);
    }
    let signer = Signer::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the audit signing key {}", path.display()))?;
    std::io::Write::write_all(&mut file, hex::encode(signer.to_bytes()).as_bytes())?;
    Ok(signer)
}

fn from_hex(s: &str) -> anyhow::Result<Hash> {
    let bytes = hex::decode(s)?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("a hash is not 32 bytes"))
}

/// Signs checkpoints: on demand, and every `every_records` records or `every` time.
pub struct Checkpointer {
    signer: Signer,
    store: Arc<dyn Store>,
    every_records: i64,
    every: Duration,
    /// Serialises checkpoint making within this process.
    making: Mutex<()>,
}

impl Checkpointer {
    pub fn new(signer: Signer, store: Arc<dyn Store>, every_records: i64, every: Duration) -> Self {
        Self {
            signer,
            store,
            every_records,
            every,
            making: Mutex::new(()),
        }
    }

    pub fn public_key_hex(&self) -> String {
        self.signer.public_key_hex()
    }

    /// The checkpoint for the log as it is now: the latest stored one if the
    /// log has not grown since, else a newly signed one.
    pub async fn checkpoint_now(&self) -> anyhow::Result<StoredCheckpoint> {
        let _guard = self.making.lock().await;
        let head = self.store.audit_head().await?;
        if let Some(last) = self.store.checkpoints().await?.pop() {
            if last.size == head.size {
                return Ok(last);
            }
        }
        let nodes = head
            .frontier
            .iter()
            .map(|h| from_hex(h))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let frontier = Frontier::from_parts(head.size as u64, nodes)
            .ok_or_else(|| anyhow::anyhow!("the audit head's frontier does not fit its size"))?;
        let root = frontier.root();
        let signed = self.signer.sign(Checkpoint {
            origin: ORIGIN.into(),
            size: head.size as u64,
            root,
            timestamp: Utc::now(),
        })?;
        let stored = StoredCheckpoint {
            size: head.size,
            root: hex::encode(root),
            signed: signed.to_text(),
            created_at: signed.checkpoint.timestamp,
        };
        self.store.save_checkpoint(&stored).await?;
        Ok(stored)
    }

    /// Signs a checkpoint whenever `every_records` records have been added, or
    /// `every` has passed with records added.
    pub fn spawn(self: Arc<Self>) {
        tokio::spawn(async move {
            let mut last_size = -1i64;
            let mut last_time = tokio::time::Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                let Ok(head) = self.store.audit_head().await else {
                    continue;
                };
                let due = head.size - last_size.max(0) >= self.every_records
                    || (head.size != last_size && last_time.elapsed() >= self.every);
                if due && head.size > 0 {
                    match self.checkpoint_now().await {
                        Ok(c) => {
                            last_size = c.size;
                            last_time = tokio::time::Instant::now();
                        }
                        Err(e) => tracing::warn!(error = %e, "could not sign an audit checkpoint"),
                    }
                }
            }
        });
    }
}

/// The root at `size` and the inclusion proof of record `record` (1-based), hex.
pub fn inclusion(
    leaves_hex: &[String],
    record: i64,
    size: i64,
) -> anyhow::Result<(String, Vec<String>)> {
    let leaves = leaves_hex
        .iter()
        .map(|h| from_hex(h))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let root = gatehouse_audit::merkle::root(&leaves[..size as usize]);
    let proof = inclusion_proof(&leaves, (record - 1) as u64, size as u64)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok((hex::encode(root), proof.iter().map(hex::encode).collect()))
}
