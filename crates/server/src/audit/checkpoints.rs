//! Signed checkpoints of the audit log, and the key that signs them.
//!
//! The signing key lives in a file beside the database, never in it: someone
//! who can rewrite the database still cannot sign a checkpoint for the
//! rewritten log, so `gatehouse audit verify` (and the other organisation,
//! holding earlier checkpoints) catches the rewrite.

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use gatehouse_audit::checkpoint::{Checkpoint, Signer};
use gatehouse_audit::merkle::{Frontier, Hash, consistency_proof, inclusion_proof};
use gatehouse_store::{Store, StoredCheckpoint};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, watch};

/// The origin line of every checkpoint this log signs.
pub const ORIGIN: &str = "gatehouse.audit";

/// The environment variable that may hold the signing key itself (64 hex
/// digits) instead of a file: for secret stores that inject environment
/// variables. Its value is never logged nor shown.
pub const SIGNING_KEY_ENV: &str = "GATEHOUSE_AUDIT_SIGNING_KEY";

/// The signing key from [`SIGNING_KEY_ENV`], if set. The error does not
/// repeat the value.
pub fn signer_from_env() -> anyhow::Result<Option<Signer>> {
    match std::env::var(SIGNING_KEY_ENV) {
        Ok(v) if !v.trim().is_empty() => Signer::from_hex(&v)
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{SIGNING_KEY_ENV} is set but is not 64 hex digits")),
        _ => Ok(None),
    }
}

/// The server's signing key: the one given in the configuration (from the
/// environment), else the key file (created if absent).
pub fn signer_for(config: &crate::ServerConfig) -> anyhow::Result<Signer> {
    match &config.audit_signer {
        Some(s) => Ok(s.clone()),
        None => load_or_create_key(&config.audit_key_path()),
    }
}

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

/// The latest signed checkpoint, as carried in the `Gatehouse-Audit-Checkpoint`
/// header of webhook deliveries and pull-feed pages: the signed note, base64
/// (standard alphabet, padded; a note has several lines, a header has one).
/// Shared through a `watch` so that no delivery signs or reads anything.
pub type LatestNote = watch::Receiver<Option<Arc<str>>>;

/// The header that carries [`LatestNote`].
pub const CHECKPOINT_HEADER: &str = "gatehouse-audit-checkpoint";

/// A [`LatestNote`] that never carries a note (delivery built without a checkpointer).
pub fn no_note() -> LatestNote {
    watch::channel(None).1
}

/// Signs checkpoints: on demand, and every `every_records` records or `every` time.
pub struct Checkpointer {
    signer: Signer,
    store: Arc<dyn Store>,
    every_records: i64,
    every: Duration,
    /// Serialises checkpoint making within this process.
    making: Mutex<()>,
    latest: watch::Sender<Option<Arc<str>>>,
}

impl Checkpointer {
    pub fn new(signer: Signer, store: Arc<dyn Store>, every_records: i64, every: Duration) -> Self {
        Self {
            signer,
            store,
            every_records,
            every,
            making: Mutex::new(()),
            latest: watch::channel(None).0,
        }
    }

    pub fn public_key_hex(&self) -> String {
        self.signer.public_key_hex()
    }

    /// The latest checkpoint this process signed or found, for headers.
    pub fn latest(&self) -> LatestNote {
        self.latest.subscribe()
    }

    fn publish(&self, c: &StoredCheckpoint) {
        let encoded: Arc<str> = B64.encode(c.signed.as_bytes()).into();
        self.latest.send_replace(Some(encoded));
    }

    /// The checkpoint for the log as it is now: the latest stored one if the
    /// log has not grown since, else a newly signed one.
    pub async fn checkpoint_now(&self) -> anyhow::Result<StoredCheckpoint> {
        let _guard = self.making.lock().await;
        let head = self.store.audit_head().await?;
        if let Some(last) = self.store.latest_checkpoint().await?
            && last.size == head.size
        {
            return Ok(last);
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
        self.publish(&stored);
        Ok(stored)
    }

    /// How often the task looks at the log's head: a quarter of the cadence,
    /// between 10 ms and 250 ms. One single-row read each time.
    fn poll_interval(&self) -> Duration {
        (self.every / 4).clamp(Duration::from_millis(10), Duration::from_millis(250))
    }

    /// Signs a checkpoint whenever `every_records` records have been added, or
    /// `every` has passed with records added; and once more when `stop`
    /// turns true (after the server has stopped serving, so the last records
    /// are covered too). Await the handle to know the last one is stored.
    pub fn spawn(self: Arc<Self>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut last_size = match self.store.latest_checkpoint().await {
                Ok(Some(c)) => {
                    self.publish(&c);
                    c.size
                }
                _ => 0,
            };
            // The log may have grown while no server ran: due at once.
            let mut last_time = tokio::time::Instant::now() - self.every;
            let mut tick = tokio::time::interval(self.poll_interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let stopping = tokio::select! {
                    _ = tick.tick() => false,
                    changed = stop.changed() => changed.is_err() || *stop.borrow(),
                };
                let Ok(head) = self.store.audit_head().await else {
                    if stopping {
                        tracing::warn!(
                            "could not read the audit head at shutdown: no final checkpoint"
                        );
                        return;
                    }
                    continue;
                };
                let grown = head.size > last_size;
                // Due one look early rather than one look late: checkpoints
                // are then at most `every` apart while records arrive.
                let due = grown
                    && (stopping
                        || head.size - last_size >= self.every_records
                        || last_time.elapsed() + self.poll_interval() > self.every);
                if due {
                    match self.checkpoint_now().await {
                        Ok(c) => {
                            last_size = c.size;
                            last_time = tokio::time::Instant::now();
                        }
                        Err(e) => tracing::warn!(error = %e, "could not sign an audit checkpoint"),
                    }
                }
                if stopping {
                    return;
                }
            }
        })
    }
}

/// The consistency proof (hex) from the tree of `from` leaves to the tree
/// of all of `leaves_hex`.
pub fn consistency(leaves_hex: &[String], from: i64) -> anyhow::Result<Vec<String>> {
    let leaves = leaves_hex
        .iter()
        .map(|h| from_hex(h))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let proof = consistency_proof(&leaves, from as u64, leaves.len() as u64)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(proof.iter().map(hex::encode).collect())
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
