//! Verify throughput for 100,000 ~300-byte records (with a signed checkpoint
//! every 10,000), against a baseline measured in the same run: plain
//! SHA-256 of the same bytes. Prints verify-rate / sha256-rate.
//!
//! `cargo bench -p gatehouse-audit --bench verify`

use chrono::{TimeZone, Utc};
use criterion::{Criterion, Throughput};
use gatehouse_audit::{Appender, Hash, SignedCheckpoint, Signer, StoredRecord, Verifier};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::{Duration, Instant};

const N: usize = 100_000;
const EVERY: usize = 10_000;

struct Fixture {
    /// All contents, back to back.
    bytes: Vec<u8>,
    /// (start, end) of each record in `bytes`.
    spans: Vec<(usize, usize)>,
    hashes: Vec<(Hash, Hash)>,
    checkpoints: Vec<SignedCheckpoint>,
    signer: Signer,
}

fn content(seq: usize) -> String {
    format!(
        concat!(
            "{{\"seq\":{},\"at\":\"2026-04-20T12:{:02}:{:02}Z\",\"consumer\":\"hcu-{}\",\"staff\":\"nurse-{:04}\",",
            "\"person\":\"A{:04}BC\",\"resource\":\"summary\",\"view\":\"health-summary\",",
            "\"fields\":[\"alerts\",\"notices\",\"appointments\"],\"purpose\":\"direct-care\",",
            "\"basis\":\"9(2)(h)\",\"decision\":\"permit\",\"request\":\"{:016x}\"}}"
        ),
        seq,
        (seq / 60) % 60,
        seq % 60,
        seq % 7,
        seq % 997,
        seq % 10_000,
        (seq as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
}

fn fixture() -> Fixture {
    let signer = Signer::from_bytes(&[5u8; 32]);
    let mut app = Appender::new();
    let mut bytes = Vec::with_capacity(N * 300);
    let mut spans = Vec::with_capacity(N);
    let mut hashes = Vec::with_capacity(N);
    let mut checkpoints = Vec::new();
    for seq in 1..=N {
        let start = bytes.len();
        bytes.extend_from_slice(content(seq).as_bytes());
        let a = app.append(&bytes[start..]);
        spans.push((start, bytes.len()));
        hashes.push((a.leaf_hash, a.chain));
        if seq % EVERY == 0 {
            let ts = Utc.timestamp_opt(1_776_686_400 + seq as i64, 0).unwrap();
            checkpoints.push(
                signer
                    .sign(app.checkpoint("gatehouse.bench/audit", ts))
                    .unwrap(),
            );
        }
    }
    Fixture {
        bytes,
        spans,
        hashes,
        checkpoints,
        signer,
    }
}

fn verify_all(f: &Fixture) -> u64 {
    let mut v = Verifier::new(f.signer.public_key());
    for cp in &f.checkpoints {
        v.check_checkpoint(cp).unwrap();
    }
    for (i, (&(s, e), &(leaf_hash, chain))) in f.spans.iter().zip(&f.hashes).enumerate() {
        v.push(StoredRecord {
            seq: i as i64 + 1,
            content: &f.bytes[s..e],
            leaf_hash,
            chain,
        })
        .unwrap();
    }
    v.finish().unwrap().records
}

fn sha256_all(f: &Fixture) -> u8 {
    let mut acc = 0u8;
    for &(s, e) in &f.spans {
        acc ^= Sha256::digest(&f.bytes[s..e])[0];
    }
    acc
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let fx = fixture();
    let avg = fx.bytes.len() as f64 / N as f64;

    let mut c = Criterion::default().sample_size(20).configure_from_args();
    {
        let mut g = c.benchmark_group("audit_verify_100k");
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("verify", |b| {
            b.iter(|| black_box(verify_all(black_box(&fx))))
        });
        g.bench_function("sha256_baseline", |b| {
            b.iter(|| black_box(sha256_all(black_box(&fx))))
        });
        g.finish();
    }
    c.final_summary();

    // The ratio, measured in the same process, interleaved, best of 7.
    let mut tv = Duration::MAX;
    let mut th = Duration::MAX;
    for _ in 0..7 {
        tv = tv.min(best_of(1, || {
            black_box(verify_all(&fx));
        }));
        th = th.min(best_of(1, || {
            black_box(sha256_all(&fx));
        }));
    }
    let rv = N as f64 / tv.as_secs_f64();
    let rh = N as f64 / th.as_secs_f64();
    println!(
        "audit verify: {N} records (avg {avg:.0} bytes), {} checkpoints: {rv:.0} records/s; plain SHA-256 of the same \
         bytes: {rh:.0} records/s; ratio verify/sha256 = {:.2}",
        fx.checkpoints.len(),
        rv / rh
    );
}
