//! `gatehouse bench ingest`: bulk load of the synthetic estate (DESIGN.md §6:
//! "≥ 50% of the rate of plain batched inserts of the same rows through the
//! same driver").
//!
//! For each engine, three fresh databases, loaded side by side in one process:
//! - **Gatehouse**: the real ingest path of `gatehouse import` and
//!   `gatehouse demo` (`import::load`): each item parsed by
//!   `gatehouse_domain::feed::parse_item`, then
//!   `Store::apply_feed(…, BatchMode::Partial, …)` per batch;
//! - **baseline, multi-row** and **baseline, single-row** ([`super::baseline`]):
//!   the rows the items carry, one per item, written by plain batched inserts.
//!
//! The three take turns batch by batch (baseline multi-row, baseline
//! single-row, Gatehouse), so whatever else the machine is doing falls on all
//! three alike.
//!
//! **What the clock covers.** Generating the synthetic JSON items is never
//! timed. Gatehouse is timed from JSON values to committed rows: parsing plus
//! `apply_feed`. The baseline is timed for the database work only: its rows
//! are built from the same parsed items before its clock starts. So Gatehouse
//! pays for its parsing and the baseline does not; the store-only ratio
//! (parsing left out of both) is reported beside the headline one.
//!
//! Gatehouse's rate is compared with the faster baseline method. Figures are
//! printed as a table on stdout and written as JSON to
//! `<out-dir>/ingest-<engine>.json`; the progress bar goes to stderr.

use super::baseline::{Method, Row, Sink};
use super::common::{drop_database, thousands};
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use gatehouse_domain::Establishment;
use gatehouse_domain::feed::parse_item;
use gatehouse_store::testing::fresh_url;
use gatehouse_store::{BatchMode, EngineKind, FeedEntry, ItemStatus, Store, TableCounts};
use gatehouse_synth::{Estate, EstateConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// DESIGN.md §6: Gatehouse's bulk-load rate as a share of the baseline's.
pub const TARGET_RATIO: f64 = 0.5;

/// Recorded as the source of every item, on both sides.
const SOURCE: &str = "bench-ingest";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EstateChoice {
    /// 120 prisons, 87,000 people, about 1.2 million items.
    National,
    /// 3 prisons, 2,000 people, about 24,000 items.
    Demo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Only {
    /// Only Gatehouse's ingest (for profiling it); no ratio, no JSON.
    Gatehouse,
    /// Only the baseline; no ratio, no JSON.
    Baseline,
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Which engine(s). PostgreSQL: the server named by
    /// GATEHOUSE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
    /// each database is a fresh schema there.
    #[arg(long, value_enum, default_value = "both")]
    pub engine: EngineChoice,
    /// Which synthetic estate.
    #[arg(long, value_enum, default_value = "national")]
    pub estate: EstateChoice,
    /// Load only the first N items of the estate (for quick runs).
    #[arg(long)]
    pub limit: Option<u64>,
    /// Items per batch: one `apply_feed` call for Gatehouse, one transaction for the baseline.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Run only one side.
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Where the JSON figures go.
    #[arg(long, default_value = "target/bench")]
    pub out_dir: PathBuf,
    /// Keep the benchmark databases (SQLite files, PostgreSQL schemas) instead of dropping them.
    #[arg(long)]
    pub keep: bool,
}

/// The anchor of the synthetic estate: the one its documentation counts
/// items for (1,209,808 national), so runs on different days load the same
/// items; "now" on a machine whose clock is earlier than that.
fn anchor() -> DateTime<Utc> {
    let fixed = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .expect("a valid date")
        .to_utc();
    let now = Utc::now();
    if fixed < now {
        fixed
    } else {
        now - chrono::Duration::minutes(1)
    }
}

fn estate_config(choice: EstateChoice) -> EstateConfig {
    match choice {
        EstateChoice::National => EstateConfig::national(anchor()),
        EstateChoice::Demo => EstateConfig::demo(anchor()),
    }
}

fn estate_name(choice: EstateChoice) -> &'static str {
    match choice {
        EstateChoice::National => "national",
        EstateChoice::Demo => "demo",
    }
}

// ---------------------------------------------------------------- processor time

/// Processor time so far, in seconds: of this process (SQLite runs inside
/// it), and of every PostgreSQL server process. Linux only (`/proc`, in
/// USER_HZ = 100 ticks a second); `None` elsewhere.
#[derive(Debug, Clone, Copy, Default)]
struct CpuSnapshot {
    own: Option<f64>,
    postgres: Option<f64>,
}

/// (command, processor seconds) from a `/proc/<pid>/stat` line.
fn stat_seconds(stat: &str) -> Option<(&str, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let mut fields = stat.get(close + 2..)?.split_whitespace();
    // After the command come state (field 3 of proc(5)) …; utime and stime are fields 14 and 15.
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((&stat[open + 1..close], (utime + stime) / 100.0))
}

fn cpu_snapshot(postgres: bool) -> CpuSnapshot {
    let own = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| stat_seconds(&s).map(|(_, t)| t));
    let postgres = postgres
        .then(|| std::fs::read_dir("/proc").ok())
        .flatten()
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
                .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
                .filter_map(|s| {
                    stat_seconds(&s).and_then(|(comm, t)| (comm == "postgres").then_some(t))
                })
                .sum::<f64>()
        });
    CpuSnapshot { own, postgres }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
struct CpuUse {
    /// Processor seconds of the benchmark process (SQLite runs inside it).
    process_seconds: Option<f64>,
    /// Processor seconds of the PostgreSQL server processes (PostgreSQL runs only).
    postgres_seconds: Option<f64>,
}

impl CpuUse {
    fn add(&mut self, a: CpuSnapshot, b: CpuSnapshot) {
        fn plus(acc: &mut Option<f64>, x: Option<f64>, y: Option<f64>) {
            if let (Some(x), Some(y)) = (x, y) {
                *acc = Some(acc.unwrap_or(0.0) + (y - x));
            }
        }
        plus(&mut self.process_seconds, a.own, b.own);
        plus(&mut self.postgres_seconds, a.postgres, b.postgres);
    }

    fn text(&self) -> String {
        match (self.process_seconds, self.postgres_seconds) {
            (Some(p), Some(s)) => {
                format!("processor {p:.1}s in this process + {s:.1}s in postgres")
            }
            (Some(p), None) => format!("processor {p:.1}s"),
            _ => String::new(),
        }
    }
}

// ---------------------------------------------------------------- results

#[derive(Debug, Default, Serialize)]
struct Tally {
    stored: u64,
    superseded: u64,
    acknowledged: u64,
    rejected: u64,
}

#[derive(Debug, Serialize)]
struct GatehouseRun {
    items: u64,
    /// Parsing plus `apply_feed`: what the headline rate is of.
    seconds: f64,
    parse_seconds: f64,
    store_seconds: f64,
    items_per_second: f64,
    store_items_per_second: f64,
    /// Processor time spent in the timed part.
    cpu: CpuUse,
    outcomes: Tally,
    /// Rows Gatehouse holds afterwards, in every table it writes.
    rows: TableCounts,
}

#[derive(Debug, Serialize)]
struct BaselineRun {
    method: &'static str,
    items: u64,
    rows: i64,
    /// Database work only; the rows were built before the clock started.
    seconds: f64,
    items_per_second: f64,
    /// Processor time spent in the timed part.
    cpu: CpuUse,
}

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    engine: &'static str,
    estate: &'static str,
    items: u64,
    /// Whether only a prefix of the estate was loaded (`--limit`).
    limited: bool,
    batch: usize,
    recorded_at: DateTime<Utc>,
    cores: usize,
    gatehouse: GatehouseRun,
    baselines: Vec<BaselineRun>,
    /// The faster baseline method, which the ratio is against.
    baseline: &'static str,
    baseline_items_per_second: f64,
    /// Gatehouse (parse + store) / baseline (database only).
    ratio: f64,
    /// Gatehouse (store only) / baseline (database only).
    store_ratio: f64,
    target: f64,
}

// ---------------------------------------------------------------- the run

/// One side of the comparison while it runs.
struct Side {
    timed: Duration,
    cpu: CpuUse,
}

impl Side {
    fn new() -> Self {
        Self {
            timed: Duration::ZERO,
            cpu: CpuUse::default(),
        }
    }
    fn rate(&self, items: u64) -> f64 {
        items as f64 / self.timed.as_secs_f64().max(1e-9)
    }
}

struct EngineRun {
    gatehouse: Option<GatehouseRun>,
    baselines: Vec<BaselineRun>,
}

/// A fresh database for Gatehouse, opened as `gatehouse import` opens one.
async fn open_gatehouse(
    url: &str,
    establishments: &[Establishment],
) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    let store = gatehouse_store::connect(url).await?;
    store.migrate().await?;
    store.ensure_establishments(establishments).await?;
    Ok(store)
}

async fn run_engine(
    engine: EngineKind,
    estate: &Estate,
    limit: Option<u64>,
    batch: usize,
    total: u64,
    only: Option<Only>,
    keep: bool,
) -> anyhow::Result<EngineRun> {
    let mut establishments = Establishment::catalogue();
    establishments.extend(estate.establishments());
    let with_gatehouse = only != Some(Only::Baseline);
    let with_baseline = only != Some(Only::Gatehouse);
    let pg = engine == EngineKind::Postgres;

    let mut urls = Vec::new();
    let gatehouse = if with_gatehouse {
        let url = fresh_url(engine, "benchgatehouse").await;
        urls.push(url.clone());
        Some(open_gatehouse(&url, &establishments).await?)
    } else {
        None
    };
    let mut sinks = Vec::new();
    if with_baseline {
        for method in [Method::MultiRow, Method::SingleRow] {
            let url = fresh_url(engine, "benchbaseline").await;
            urls.push(url.clone());
            sinks.push((
                method,
                Sink::open(engine, &url, &establishments).await?,
                Side::new(),
            ));
        }
    }

    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{prefix:9} {wide_bar} {human_pos}/{human_len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(engine.as_str());

    let mut source: Box<dyn Iterator<Item = Value>> = match limit {
        Some(n) => Box::new(estate.items().take(n as usize)),
        None => Box::new(estate.items()),
    };
    let mut values: Vec<Value> = Vec::with_capacity(batch);
    let mut rows: Vec<Row> = Vec::with_capacity(batch);
    let mut g = Side::new();
    let (mut parse, mut apply) = (Duration::ZERO, Duration::ZERO);
    let mut tally = Tally::default();
    let mut items = 0u64;
    let mut no_row = 0u64;
    let mut batches = 0u64;
    loop {
        // Untimed: the next batch of synthetic items, and the baseline's rows.
        values.clear();
        values.extend(source.by_ref().take(batch));
        if values.is_empty() {
            break;
        }
        if with_baseline {
            let now = Utc::now();
            rows.clear();
            for v in &values {
                let item = parse_item(v, now).map_err(|e| {
                    anyhow::anyhow!(
                        "a synthetic item was refused: {}: {}",
                        e.error.field,
                        e.error.rule
                    )
                })?;
                match Row::from_item(&item, SOURCE, now) {
                    Some(row) => rows.push(row),
                    None => no_row += 1,
                }
            }
        }

        // The baseline: database work only.
        for (method, sink, side) in &mut sinks {
            let before = cpu_snapshot(pg);
            let t = Instant::now();
            sink.write(&rows, *method).await?;
            side.timed += t.elapsed();
            side.cpu.add(before, cpu_snapshot(pg));
        }

        // Gatehouse: parsing and the store, as `import::load` does them.
        if let Some(store) = &gatehouse {
            let before = cpu_snapshot(pg);
            let t0 = Instant::now();
            let now = Utc::now();
            let entries: Vec<FeedEntry> = values
                .iter()
                .map(|v| match parse_item(v, now) {
                    Ok(item) => FeedEntry::Parsed(Box::new(item)),
                    Err(e) => FeedEntry::Refused(e),
                })
                .collect();
            let t1 = Instant::now();
            let outcomes = store
                .apply_feed(
                    entries,
                    BatchMode::Partial,
                    SOURCE,
                    // The feed as served: every stored item is recorded with it.
                    &crate::operator::change("prison-event", "write-feed", &["bench"]),
                )
                .await?;
            let t2 = Instant::now();
            g.cpu.add(before, cpu_snapshot(pg));
            parse += t1 - t0;
            apply += t2 - t1;
            g.timed += t2 - t0;
            for o in outcomes {
                match o.status {
                    ItemStatus::Stored => tally.stored += 1,
                    ItemStatus::Superseded => tally.superseded += 1,
                    ItemStatus::Acknowledged => tally.acknowledged += 1,
                    ItemStatus::Rejected | ItemStatus::NotApplied => {
                        if tally.rejected < 5
                            && let Some(p) = &o.problem
                        {
                            bar.println(format!(
                                "item {} refused: {}: {}",
                                items + o.index as u64,
                                p.field,
                                p.rule
                            ));
                        }
                        tally.rejected += 1;
                    }
                }
            }
        }

        items += values.len() as u64;
        batches += 1;
        bar.inc(values.len() as u64);
        if batches % 10 == 1 {
            let mut parts = Vec::new();
            if gatehouse.is_some() {
                parts.push(format!("gatehouse {}/s", thousands(g.rate(items))));
            }
            for (method, _, side) in &sinks {
                parts.push(format!(
                    "{} {}/s",
                    method.as_str(),
                    thousands(side.rate(items))
                ));
            }
            bar.set_message(parts.join(" · "));
        }
    }
    bar.finish_and_clear();
    if no_row > 0 {
        eprintln!("baseline: {no_row} items of kinds with no baseline row were left out");
    }

    let mut baselines = Vec::new();
    for (method, sink, side) in sinks {
        baselines.push(BaselineRun {
            method: method.as_str(),
            items,
            rows: sink.rows().await?,
            seconds: side.timed.as_secs_f64(),
            items_per_second: side.rate(items),
            cpu: side.cpu,
        });
        sink.close().await;
    }
    let gatehouse = match gatehouse {
        Some(store) => Some(GatehouseRun {
            items,
            seconds: g.timed.as_secs_f64(),
            parse_seconds: parse.as_secs_f64(),
            store_seconds: apply.as_secs_f64(),
            items_per_second: g.rate(items),
            store_items_per_second: items as f64 / apply.as_secs_f64().max(1e-9),
            cpu: g.cpu,
            outcomes: tally,
            rows: store.counts().await?,
        }),
        None => None,
    };
    for url in &urls {
        if keep {
            eprintln!("kept: {url}");
        } else {
            drop_database(engine, url).await;
        }
    }
    Ok(EngineRun {
        gatehouse,
        baselines,
    })
}

pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let batch = args.batch.max(1);
    let engines: Vec<EngineKind> = match args.engine {
        EngineChoice::Sqlite => vec![EngineKind::Sqlite],
        EngineChoice::Postgres => vec![EngineKind::Postgres],
        EngineChoice::Both => vec![EngineKind::Sqlite, EngineKind::Postgres],
    };
    let estate = Estate::new(estate_config(args.estate));
    let estimated = estate.estimated_items();
    let total = args.limit.map_or(estimated, |l| l.min(estimated));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "ingest benchmark: {} estate ({} people, about {} items{}), batches of {batch}, {cores} cores",
        estate_name(args.estate),
        thousands(estate.person_count() as f64),
        thousands(estimated as f64),
        args.limit
            .map(|l| format!(", the first {} only", thousands(l as f64)))
            .unwrap_or_default(),
    );

    let mut reports = Vec::new();
    for engine in engines {
        let run = run_engine(
            engine, &estate, args.limit, batch, total, args.only, args.keep,
        )
        .await?;
        for b in &run.baselines {
            eprintln!(
                "{} baseline {}: {} items ({} rows) in {:.1}s: {} items/s; {}",
                engine.as_str(),
                b.method,
                thousands(b.items as f64),
                thousands(b.rows as f64),
                b.seconds,
                thousands(b.items_per_second),
                b.cpu.text(),
            );
        }
        if let Some(g) = &run.gatehouse {
            eprintln!(
                "{} gatehouse: {} items in {:.1}s (parse {:.1}s, store {:.1}s): {} items/s; {}",
                engine.as_str(),
                thousands(g.items as f64),
                g.seconds,
                g.parse_seconds,
                g.store_seconds,
                thousands(g.items_per_second),
                g.cpu.text(),
            );
            eprintln!(
                "  outcomes: {} stored, {} superseded, {} acknowledged, {} refused",
                g.outcomes.stored,
                g.outcomes.superseded,
                g.outcomes.acknowledged,
                g.outcomes.rejected
            );
            let r = &g.rows;
            eprintln!(
                "  rows held: people {}, movements {}, alerts {}, planned {}, identity links {}, feed ledger {}, outbox {}",
                r.people,
                r.movements,
                r.alerts,
                r.planned_movements,
                r.identity_links,
                r.feed_ledger,
                r.outbox
            );
        }
        let EngineRun {
            gatehouse: Some(gatehouse),
            baselines,
        } = run
        else {
            continue;
        };
        let Some(best) = baselines
            .iter()
            .max_by(|a, b| a.items_per_second.total_cmp(&b.items_per_second))
        else {
            continue;
        };
        let report = Report {
            benchmark: "ingest",
            engine: engine.as_str(),
            estate: estate_name(args.estate),
            items: gatehouse.items,
            limited: args.limit.is_some_and(|l| gatehouse.items == l),
            batch,
            recorded_at: Utc::now(),
            cores,
            baseline: best.method,
            baseline_items_per_second: best.items_per_second,
            ratio: gatehouse.items_per_second / best.items_per_second,
            store_ratio: gatehouse.store_items_per_second / best.items_per_second,
            target: TARGET_RATIO,
            gatehouse,
            baselines,
        };
        std::fs::create_dir_all(&args.out_dir)?;
        let path = args.out_dir.join(format!("ingest-{}.json", report.engine));
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
        eprintln!("figures written to {}", path.display());
        reports.push(report);
    }

    if reports.is_empty() {
        return Ok(());
    }
    println!();
    println!(
        "ingest: {} estate{}, batches of {batch}, {cores} cores. Gatehouse: parse + apply_feed. Baseline: plain batched INSERTs, database time only.",
        estate_name(args.estate),
        if reports.iter().any(|r| r.limited) {
            " (a prefix)"
        } else {
            ""
        },
    );
    println!(
        "{:<9} {:>10} {:>9} {:>10} {:>24} {:>7} {:>12} {:>7}",
        "engine",
        "items",
        "seconds",
        "items/s",
        "baseline items/s",
        "ratio",
        "store ratio",
        "target"
    );
    for r in &reports {
        println!(
            "{:<9} {:>10} {:>9.1} {:>10} {:>24} {:>6.1}% {:>11.1}% {:>7}",
            r.engine,
            thousands(r.items as f64),
            r.gatehouse.seconds,
            thousands(r.gatehouse.items_per_second),
            format!(
                "{} ({})",
                thousands(r.baseline_items_per_second),
                r.baseline
            ),
            r.ratio * 100.0,
            r.store_ratio * 100.0,
            format!("≥ {:.0}%", TARGET_RATIO * 100.0),
        );
    }
    for r in &reports {
        let all: Vec<String> = r
            .baselines
            .iter()
            .map(|b| format!("{} {} items/s", b.method, thousands(b.items_per_second)))
            .collect();
        println!("{}: baselines {}", r.engine, all.join(", "));
    }
    Ok(())
}
