//! Offline verification of the whole disclosure audit held in a store:
//! every leaf hash, the hash chain, and every signed checkpoint's root.
//! `gatehouse audit verify` and the tamper tests both use it.

use gatehouse_audit::cadence::Cadence;
use gatehouse_audit::checkpoint::{PublicKey, SignedCheckpoint};
use gatehouse_audit::verify::{Finding, FindingKind, Report, StoredRecord, Verifier};
use gatehouse_store::Store;

/// Why verification failed: a finding in the log, or the store could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Finding(Finding),
    #[error("the audit could not be read: {0}")]
    Store(#[from] gatehouse_store::StoreError),
}

impl VerifyError {
    pub fn finding(&self) -> Option<&Finding> {
        match self {
            Self::Finding(f) => Some(f),
            Self::Store(_) => None,
        }
    }
}

fn decode_hash(hex_text: &str) -> [u8; 32] {
    // A stored hash that is not 32 bytes of hex is itself tampering: the verifier sees a wrong hash.
    let mut out = [0u8; 32];
    if let Ok(bytes) = hex::decode(hex_text)
        && bytes.len() == 32
    {
        out.copy_from_slice(&bytes);
    }
    out
}

pub async fn verify_store(store: &dyn Store, key: PublicKey) -> Result<Report, VerifyError> {
    verify_store_with(store, &VerifyOptions::new(key)).await
}

/// What to check beyond the records and the log's own checkpoints.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The log's public keys (the current one first, then any rotated from).
    pub keys: Vec<PublicKey>,
    /// Checkpoints held outside the database (by witnesses): the log must
    /// extend every one. Their signatures are checked with `keys`.
    pub witnessed: Vec<SignedCheckpoint>,
    /// The cadence rule's allowance (cadence plus slack); `None` skips it.
    pub cadence: Option<std::time::Duration>,
}

impl VerifyOptions {
    pub fn new(key: PublicKey) -> Self {
        Self {
            keys: vec![key],
            witnessed: Vec::new(),
            cadence: None,
        }
    }
}

/// Records are read this many at a time; the checkpoints they reach are
/// read beside them, so memory does not grow with the number of
/// checkpoints (up to 86,400 a day at a 1 s cadence).
const PAGE: i64 = 10_000;

pub async fn verify_store_with(
    store: &dyn Store,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    let mut verifier = Verifier::new(options.keys[0]).with_origin(super::checkpoints::ORIGIN);
    for k in &options.keys[1..] {
        verifier = verifier.with_key(*k);
    }
    // A witnessed checkpoint is compared, like the log's own, when the
    // verifier's recomputed tree reaches its size. The records cannot be
    // compared one by one with a root, so a mismatch names the range after
    // the last checkpoint (the log's or a witness's) that still matched:
    // the first changed record is in it, and holding more witnessed
    // checkpoints narrows it. A log shorter than a witnessed size names
    // the first missing record exactly.
    for cp in &options.witnessed {
        verifier
            .check_checkpoint_from(cp, "witnessed")
            .map_err(VerifyError::Finding)?;
    }
    let mut cadence = options.cadence.map(Cadence::new);
    let mut fed = -1i64;
    let mut after = 0i64;
    loop {
        let rows = store.audit_rows(after, PAGE).await?;
        let upto = rows.last().map_or(i64::MAX, |r| r.seq);
        for c in store.checkpoints_between(fed, upto).await? {
            let cp = parse_stored(&c)?;
            verifier
                .check_checkpoint(&cp)
                .map_err(VerifyError::Finding)?;
            if let Some(rule) = &mut cadence {
                rule.checkpoint(cp.checkpoint.size, cp.checkpoint.timestamp);
            }
        }
        fed = upto;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for row in &rows {
            let record = StoredRecord {
                seq: row.seq,
                content: row.content.as_bytes(),
                leaf_hash: decode_hash(&row.leaf_hash),
                chain: decode_hash(&row.chain),
            };
            verifier.push(record).map_err(VerifyError::Finding)?;
            if let Some(rule) = &mut cadence {
                rule.record(row.seq as u64, row.recorded_at)
                    .map_err(VerifyError::Finding)?;
            }
        }
    }
    let report = verifier.finish().map_err(VerifyError::Finding)?;
    let head = store.audit_head().await?;
    if report.records as i64 != head.size {
        return Err(VerifyError::Finding(Finding {
            kind: FindingKind::Deleted,
            seq: report.records as i64 + 1,
            detail: format!(
                "the log holds {} records but its head says {}: records deleted at the end",
                report.records, head.size
            ),
        }));
    }
    if let Some(rule) = cadence {
        rule.finish(report.records, chrono::Utc::now())
            .map_err(VerifyError::Finding)?;
    }
    Ok(report)
}

fn parse_stored(c: &gatehouse_store::StoredCheckpoint) -> Result<SignedCheckpoint, VerifyError> {
    SignedCheckpoint::parse(&c.signed).map_err(|e| {
        VerifyError::Finding(Finding {
            kind: FindingKind::BadSignature,
            seq: c.size,
            detail: format!("checkpoint at size {} does not parse: {e}", c.size),
        })
    })
}
