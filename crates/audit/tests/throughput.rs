//! A million synthetic ~300-byte records verify; the rate is printed, not
//! asserted (run with `--release -- --nocapture` to see it). Debug builds
//! use a fifth of the records to stay quick.

use chrono::{TimeZone, Utc};
use gatehouse_audit::{Appender, Hash, Signer, StoredRecord, Verifier};
use std::time::Instant;

const RECORD_BYTES: usize = 300;

/// Writes a deterministic ~300-byte disclosure-like record for `seq`.
fn fill(buf: &mut [u8; RECORD_BYTES], seq: u64) {
    const TEMPLATE: &[u8; RECORD_BYTES] = b"{\"seq\":00000000000000000000,\"at\":\"2026-04-20T12:00:00Z\",\"consumer\":\"hcu-wing\",\"staff\":\"nurse-00001\",\"person\":\"A1234BC\",\"resource\":\"summary\",\"view\":\"health-summary\",\"fields\":[\"alerts\",\"notices\",\"appointments\"],\"purpose\":\"direct-care\",\"basis\":\"9(2)(h)\",\"decision\":\"permit\",\"request\":\"0000000000000000\"}";
    buf.copy_from_slice(TEMPLATE);
    let mut s = seq;
    for i in (7..27).rev() {
        buf[i] = b'0' + (s % 10) as u8;
        s /= 10;
    }
    let mut r = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for i in (RECORD_BYTES - 18..RECORD_BYTES - 2).rev() {
        buf[i] = b"0123456789abcdef"[(r & 15) as usize];
        r >>= 4;
    }
}

#[test]
fn a_million_records_verify() {
    let n: u64 = if cfg!(debug_assertions) {
        200_000
    } else {
        1_000_000
    };
    let every = 10_000;
    let signer = Signer::from_bytes(&[3u8; 32]);

    let t0 = Instant::now();
    let mut app = Appender::new();
    let mut stored: Vec<(Hash, Hash)> = Vec::with_capacity(n as usize);
    let mut checkpoints = Vec::new();
    let mut buf = [0u8; RECORD_BYTES];
    for seq in 1..=n {
        fill(&mut buf, seq);
        let a = app.append(&buf);
        stored.push((a.leaf_hash, a.chain));
        if seq % every == 0 || seq == n {
            let ts = Utc.timestamp_opt(1_776_686_400 + seq as i64, 0).unwrap();
            checkpoints.push(
                signer
                    .sign(app.checkpoint("gatehouse.test/audit", ts))
                    .unwrap(),
            );
        }
    }
    let build = t0.elapsed();

    let mut v = Verifier::new(signer.public_key()).require_checkpoint_at_end(true);
    for cp in &checkpoints {
        v.check_checkpoint(cp).unwrap();
    }
    for (i, (leaf_hash, chain)) in stored.iter().enumerate() {
        let seq = i as u64 + 1;
        fill(&mut buf, seq);
        v.push(StoredRecord {
            seq: seq as i64,
            content: &buf,
            leaf_hash: *leaf_hash,
            chain: *chain,
        })
        .unwrap();
    }
    let report = v.finish().unwrap();
    assert_eq!(report.records, n);
    assert_eq!(report.checkpoints_verified, checkpoints.len() as u64);
    assert_eq!(report.root, app.root());

    println!(
        "audit verify: {} records of {RECORD_BYTES} bytes, {} checkpoints, in {:.3} s = {:.0} records/s \
         (building the log took {:.3} s){}",
        report.records,
        report.checkpoints_verified,
        report.elapsed.as_secs_f64(),
        report.rate(),
        build.as_secs_f64(),
        if cfg!(debug_assertions) {
            " [debug build: scaled down; use --release for the real rate]"
        } else {
            ""
        }
    );
}
