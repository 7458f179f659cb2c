//! `gatehouse bench checkpoints`: what signing a checkpoint every second
//! costs, against the same write load with a 60 s cadence in the same run.
//!
//! Each side: a fresh database, the real [`Checkpointer`] task at its
//! cadence, and a writer appending `--rate` disclosure records a second
//! (of `--record-bytes` each, in batches every 100 ms, as group commit
//! does) for `--seconds`. Measured: process CPU time (user + system, from
//! `/proc/self/stat`; Linux), checkpoints made, and the rows and bytes they
//! hold. The checkpointer's cost is the difference in CPU between the
//! sides, per checkpoint and per hour; rows and bytes are extrapolated to a
//! day of continuous writing (the worst case: 86,400 at 1 s).

use super::common::drop_database;
use clap::Args;
use gatehouse_server::audit::checkpoints::Checkpointer;
use gatehouse_store::{EngineKind, NewDisclosure};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct CheckpointsArgs {
    /// The engine: sqlite or postgres (GATEHOUSE_TEST_POSTGRES_URL).
    #[arg(long, default_value = "sqlite")]
    engine: String,
    /// Seconds of writing per side.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Records appended per second.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Bytes of each record's content.
    #[arg(long, default_value_t = 300)]
    record_bytes: usize,
}

struct Side {
    cpu: Duration,
    records: i64,
    checkpoints: usize,
    bytes: usize,
    wall: Duration,
}

/// User + system CPU time of this process so far.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after ')'.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

async fn side(
    args: &CheckpointsArgs,
    engine: EngineKind,
    cadence: Duration,
) -> anyhow::Result<Side> {
    let url = gatehouse_store::testing::fresh_url(engine, "benchcheckpoints").await;
    let store = gatehouse_store::connect(&url).await?;
    store.migrate().await?;
    let checkpointer = Arc::new(Checkpointer::new(
        gatehouse_audit::Signer::generate(),
        store.clone(),
        i64::MAX, // cadence only: the record trigger is the same on both sides
        cadence,
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let cpu0 = process_cpu();
    let started = Instant::now();
    let task = checkpointer.clone().spawn(stopped);
    let per_batch = (args.rate / 10).max(1) as usize;
    let content = format!(
        "{{\"pad\":\"{}\"}}",
        "x".repeat(args.record_bytes.saturating_sub(12))
    );
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(args.seconds) {
        tick.tick().await;
        let batch: Vec<NewDisclosure> = (0..per_batch)
            .map(|_| {
                n += 1;
                NewDisclosure {
                    prison_number: None,
                    consumer: "bench".into(),
                    content: content.replacen("\"pad\"", &format!("\"n\":{n},\"pad\""), 1),
                }
            })
            .collect();
        store.append_audit(&batch).await?;
    }
    let _ = stop.send(true);
    task.await?;
    let wall = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu0);
    let checkpoints = store.checkpoints().await?;
    // Per row: size and created_at (8 bytes each), the hex root, the note.
    let bytes = checkpoints
        .iter()
        .map(|c| 16 + c.root.len() + c.signed.len())
        .sum();
    let records = store.audit_head().await?.size;
    drop(store);
    drop_database(engine, &url).await;
    Ok(Side {
        cpu,
        records,
        checkpoints: checkpoints.len(),
        bytes,
        wall,
    })
}

pub async fn run(args: CheckpointsArgs) -> anyhow::Result<()> {
    let engine = match args.engine.as_str() {
        "sqlite" => EngineKind::Sqlite,
        "postgres" => EngineKind::Postgres,
        other => anyhow::bail!("--engine must be sqlite or postgres, not {other:?}"),
    };
    println!(
        "checkpoint cadence cost, {}: {} records/s of {} bytes for {} s per side",
        args.engine, args.rate, args.record_bytes, args.seconds
    );
    // The pure CPU part, measured alone: render and sign one note.
    let signer = gatehouse_audit::Signer::generate();
    let t = Instant::now();
    const SIGNS: u32 = 10_000;
    for i in 0..SIGNS {
        let cp = gatehouse_audit::Checkpoint {
            origin: gatehouse_server::audit::checkpoints::ORIGIN.into(),
            size: i as u64,
            root: gatehouse_audit::leaf_hash(&i.to_be_bytes()),
            timestamp: chrono::Utc::now(),
        };
        std::hint::black_box(signer.sign(cp)?.to_text());
    }
    let per_sign = t.elapsed() / SIGNS;
    let base = side(&args, engine, Duration::from_secs(60)).await?;
    let every = side(&args, engine, Duration::from_secs(1)).await?;
    let extra_cpu = every.cpu.saturating_sub(base.cpu);
    let extra_cps = every.checkpoints.saturating_sub(base.checkpoints).max(1);
    let per_cp = extra_cpu / extra_cps as u32;
    let per_hour = per_cp * 3600;
    let day = |s: &Side| s.checkpoints as f64 / s.wall.as_secs_f64() * 86_400.0;
    let bytes_per_row = every.bytes as f64 / every.checkpoints.max(1) as f64;
    println!("| side | records | checkpoints | process CPU | checkpoint rows/day | bytes/day |");
    println!("|---|---|---|---|---|---|");
    for (name, s) in [("60 s cadence (baseline)", &base), ("1 s cadence", &every)] {
        println!(
            "| {name} | {} | {} | {:.2} s | {:.0} | {:.1} MB |",
            s.records,
            s.checkpoints,
            s.cpu.as_secs_f64(),
            day(s),
            day(s) * bytes_per_row / 1e6
        );
    }
    println!(
        "1 s cadence: CPU {:.3}× the baseline's; +{:.2} ms CPU per checkpoint, +{:.1} s CPU per hour \
         ({:.2}% of one core); {:.0} bytes per checkpoint row",
        every.cpu.as_secs_f64() / base.cpu.as_secs_f64().max(1e-9),
        per_cp.as_secs_f64() * 1000.0,
        per_hour.as_secs_f64(),
        per_hour.as_secs_f64() / 36.0,
        bytes_per_row
    );
    println!(
        "signing alone: {:.1} µs CPU per checkpoint = {:.2} s CPU per hour at 1 s; the rest of a checkpoint's cost \
         is two single-row reads and one single-row insert",
        per_sign.as_secs_f64() * 1e6,
        per_sign.as_secs_f64() * 3600.0
    );
    Ok(())
}
