//! Offline verification of the whole disclosure audit held in a store:
//! every leaf hash, the hash chain, and every signed checkpoint's root.
//! `gatehouse audit verify` and the tamper tests both use it.

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
    if let Ok(bytes) = hex::decode(hex_text) {
        if bytes.len() == 32 {
            out.copy_from_slice(&bytes);
        }
    }
    out
}

pub async fn verify_store(store: &dyn Store, key: PublicKey) -> Result<Report, VerifyError> {
    let mut verifier = Verifier::new(key).with_origin(super::checkpoints::ORIGIN);
    for c in store.checkpoints().await? {
        let cp = SignedCheckpoint::parse(&c.signed).map_err(|e| {
            VerifyError::Finding(Finding {
                kind: FindingKind::BadSignature,
                seq: c.size,
                detail: format!("checkpoint at size {} does not parse: {e}", c.size),
            })
        })?;
        verifier
            .check_checkpoint(&cp)
            .map_err(VerifyError::Finding)?;
    }
    let mut after = 0i64;
    loop {
        let rows = store.audit_rows(after, 10_000).await?;
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
    Ok(report)
}
