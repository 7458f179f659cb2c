//! Shared helpers: build a signed log in memory, tamper with it, verify it.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use gatehouse_audit::{
    Appender, Finding, FindingKind, Hash, Report, SignedCheckpoint, Signer, StoredRecord, Verifier,
    chain_hash, leaf_hash,
};

pub const ORIGIN: &str = "gatehouse.test/audit";

/// A stored row, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub seq: i64,
    pub content: Vec<u8>,
    pub leaf_hash: Hash,
    pub chain: Hash,
}

impl Row {
    pub fn stored(&self) -> StoredRecord<'_> {
        StoredRecord {
            seq: self.seq,
            content: &self.content,
            leaf_hash: self.leaf_hash,
            chain: self.chain,
        }
    }
}

pub struct Log {
    pub signer: Signer,
    pub rows: Vec<Row>,
    pub checkpoints: Vec<SignedCheckpoint>,
}

/// A roughly 300-byte synthetic disclosure record.
pub fn content(seq: i64) -> Vec<u8> {
    format!(
        concat!(
            "{{\"seq\":{},\"at\":\"2026-04-20T12:{:02}:{:02}Z\",\"consumer\":\"hcu-{}\",\"staff\":\"nurse-{}\",",
            "\"person\":\"A{:04}BC\",\"resource\":\"summary\",\"view\":\"health-summary\",",
            "\"fields\":[\"alerts\",\"notices\",\"appointments\"],\"purpose\":\"direct-care\",",
            "\"basis\":\"UK GDPR 6(1)(e), 9(2)(h)\",\"decision\":\"permit\",\"policies\":[\"hcu-read\"],",
            "\"request\":\"{:016x}\"}}"
        ),
        seq,
        (seq / 60) % 60,
        seq % 60,
        seq % 7,
        seq % 13,
        seq % 10_000,
        (seq as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
    .into_bytes()
}

/// A log of `n` records with a signed checkpoint every `every` records and
/// one at the end (when `final_checkpoint`).
pub fn build(n: usize, every: usize, final_checkpoint: bool) -> Log {
    let signer = Signer::from_bytes(&[42u8; 32]);
    let mut app = Appender::new();
    let mut rows = Vec::with_capacity(n);
    let mut checkpoints = Vec::new();
    for i in 1..=n as i64 {
        let c = content(i);
        let a = app.append(&c);
        assert_eq!(a.seq, i);
        rows.push(Row {
            seq: a.seq,
            content: c,
            leaf_hash: a.leaf_hash,
            chain: a.chain,
        });
        if (every > 0 && (i as usize).is_multiple_of(every))
            || (final_checkpoint && i as usize == n)
        {
            if checkpoints
                .last()
                .is_some_and(|c: &SignedCheckpoint| c.checkpoint.size == i as u64)
            {
                continue;
            }
            let ts = Utc.timestamp_opt(1_776_686_400 + i, 0).unwrap();
            checkpoints.push(signer.sign(app.checkpoint(ORIGIN, ts)).unwrap());
        }
    }
    Log {
        signer,
        rows,
        checkpoints,
    }
}

/// Verifies with all checkpoints given up front.
pub fn verify_with(log: &Log, v: Verifier) -> Result<Report, Finding> {
    let mut v = v;
    for cp in &log.checkpoints {
        v.check_checkpoint(cp)?;
    }
    for r in &log.rows {
        v.push(r.stored())?;
    }
    v.finish()
}

pub fn verify(log: &Log) -> Result<Report, Finding> {
    verify_with(
        log,
        Verifier::new(log.signer.public_key()).with_origin(ORIGIN),
    )
}

pub fn expect(log: &Log, kind: FindingKind, seq: i64) -> Finding {
    match verify(log) {
        Ok(r) => panic!("expected {kind} at {seq}, but verification passed: {r:?}"),
        Err(f) => {
            assert_eq!((f.kind, f.seq), (kind, seq), "got {f}");
            assert!(!f.detail.is_empty());
            f
        }
    }
}

/// Index into `rows` of seq `s` (before any reordering).
pub fn ix(s: i64) -> usize {
    (s - 1) as usize
}

/// A forged row for position `seq`: content, leaf hash, and either a chain
/// value recomputed from `prev_chain` or a made-up one.
pub fn forged(seq: i64, prev_chain: Option<&Hash>) -> Row {
    let c =
        format!("{{\"seq\":{seq},\"forged\":true,\"person\":\"A9999ZZ\",\"decision\":\"permit\"}}")
            .into_bytes();
    let l = leaf_hash(&c);
    let chain = match prev_chain {
        Some(p) => chain_hash(p, &l),
        None => leaf_hash(b"made-up chain"),
    };
    Row {
        seq,
        content: c,
        leaf_hash: l,
        chain,
    }
}

/// The stored chain value before seq `s` (zeros before 1).
pub fn chain_before(rows: &[Row], s: i64) -> Hash {
    if s <= 1 {
        [0u8; 32]
    } else {
        rows[ix(s - 1)].chain
    }
}

/// Inserts `row` at seq `at`, shifting later seqs up by one.
pub fn insert_shifting(rows: &mut Vec<Row>, at: i64, row: Row) {
    for r in rows.iter_mut().filter(|r| r.seq >= at) {
        r.seq += 1;
    }
    rows.insert(ix(at), row);
}

/// Recomputes the leaf hash and chain values of rows from index `from` on.
pub fn rechain_from(rows: &mut [Row], from: usize) {
    let mut prev = if from == 0 {
        [0u8; 32]
    } else {
        rows[from - 1].chain
    };
    for r in rows[from..].iter_mut() {
        r.leaf_hash = leaf_hash(&r.content);
        r.chain = chain_hash(&prev, &r.leaf_hash);
        prev = r.chain;
    }
}
