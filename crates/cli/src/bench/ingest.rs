//! `gatehouse bench ingest`: bulk load of the synthetic estate (DESIGN.md §6:
//! "≥ 50% of the rate of plain batched inserts of the same rows through the
//! same driver").
//!
//! For each engine, in one process:
//! 1. **Baseline** ([`super::baseline`]), on a fresh database: the rows the
//!    items carry, one per item, written by plain batched inserts, once with
//!    multi-row `INSERT`s and once with prepared single-row `INSERT`s.
//! 2. **Gatehouse**, on another fresh database: the real ingest path of
//!    `gatehouse import` and `gatehouse demo` (`import::load`): each item
//!    parsed by `gatehouse_domain::feed::parse_item`, then
//!    `Store::apply_feed(…, BatchMode::Partial, …)` per batch.
//!
//! **What the clock covers.** Generating the synthetic JSON items is never
//! timed (the clock stops while the next batch is generated). Gatehouse is
//! timed from JSON values to committed rows: parsing plus `apply_feed`.
//! The baseline is timed for the database work only: its rows are built from
//! the same parsed items before its clock starts. So Gatehouse pays for its
//! parsing and the baseline does not; the store-only ratio (parsing left out
//! of both) is reported beside the headline one.
//!
//! Gatehouse's rate is compared with the faster baseline method. Figures are
//! printed as a table on stdout and written as JSON to
//! `<out-dir>/ingest-<engine>.json`; progress bars go to stderr.

use super::baseline::{self, Method, Row, Sink};
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use gatehouse_domain::Establishment;
use gatehouse_domain::feed::parse_item;
use gatehouse_store::testing::{fresh_url, postgres_base_url};
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
    /// each run gets a fresh schema.
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

/// Processor time, in seconds: of this process, and of every PostgreSQL
/// server process. Linux only (`/proc`, in USER_HZ = 100 ticks a second);
/// `None` elsewhere. A backend that exits mid-phase takes its time with it,
/// so snapshots are taken while the benchmark's pools are still open.
#[derive(Debug, Clone, Copy, Default)]
struct CpuSnapshot {
    own: Option<f64>,
    postgres: Option<f64>,
}

fn stat_ticks(stat: &str) -> Option<(String, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_owned();
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    // After the command: state is field 3 of stat(5); utime and stime are 14 and 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((comm, (utime + stime) / 100.0))
}

fn cpu_snapshot() -> CpuSnapshot {
    let own = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| stat_ticks(&s))
        .map(|(_, t)| t);
    let postgres = std::fs::read_dir("/proc").ok().map(|dir| {
        dir.filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
            .filter_map(|s| stat_ticks(&s))
            .filter(|(comm, _)| comm == "postgres")
            .map(|(_, t)| t)
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

fn cpu_between(a: CpuSnapshot, b: CpuSnapshot, engine: EngineKind) -> CpuUse {
    let diff = |x: Option<f64>, y: Option<f64>| Some(y? - x?);
    CpuUse {
        process_seconds: diff(a.own, b.own),
        postgres_seconds: match engine {
            EngineKind::Postgres => diff(a.postgres, b.postgres),
            EngineKind::Sqlite => None,
        },
    }
}

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
    /// Building the rows from the parsed items, untimed; for reference.
    build_seconds: f64,
    cpu: CpuUse,
}

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    engine: &'static str,
    estate: &'static str,
    items: u64,
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

fn progress(len: u64, what: String) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:28} {wide_bar} {human_pos}/{human_len} ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what);
    bar
}

/// The estate's items, up to the limit.
fn items<'e>(estate: &'e Estate, limit: Option<u64>) -> Box<dyn Iterator<Item = Value> + 'e> {
    match limit {
        Some(n) => Box::new(estate.items().take(n as usize)),
        None => Box::new(estate.items()),
    }
}

/// Opens a fresh database as Gatehouse does: migrated, with the built-in
/// establishments and the estate's.
async fn prepare(store: &dyn Store, estate: &Estate) -> anyhow::Result<()> {
    store.migrate().await?;
    store
        .ensure_establishments(&Establishment::catalogue())
        .await?;
    store.ensure_establishments(&estate.establishments()).await?;
    Ok(())
}

/// Gatehouse's ingest path, as `import::load` runs it, with the clock split
/// between parsing and the store and stopped while items are generated.
async fn run_gatehouse(
    engine: EngineKind,
    url: &str,
    estate: &Estate,
    limit: Option<u64>,
    batch: usize,
    total: u64,
) -> anyhow::Result<GatehouseRun> {
    let store = gatehouse_store::connect(url).await?;
    prepare(store.as_ref(), estate).await?;
    let bar = progress(total, format!("{} · gatehouse", engine.as_str()));
    let mut source = items(estate, limit);
    let mut values: Vec<Value> = Vec::with_capacity(batch);
    let (mut parse, mut apply) = (Duration::ZERO, Duration::ZERO);
    let mut tally = Tally::default();
    let mut count = 0u64;
    let cpu_before = cpu_snapshot();
    loop {
        values.clear();
        values.extend(source.by_ref().take(batch));
        if values.is_empty() {
            break;
        }
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
            .apply_feed(entries, BatchMode::Partial, SOURCE)
            .await?;
        let t2 = Instant::now();
        parse += t1 - t0;
        apply += t2 - t1;
        for o in outcomes {
            match o.status {
                ItemStatus::Stored => tally.stored += 1,
                ItemStatus::Superseded => tally.superseded += 1,
                ItemStatus::Acknowledged => tally.acknowledged += 1,
                ItemStatus::Rejected | ItemStatus::NotApplied => {
                    if tally.rejected < 5
                        && let Some(p) = &o.problem
                    {
                        bar.println(format!("item {} refused: {}: {}", o.index, p.field, p.rule));
                    }
                    tally.rejected += 1;
                }
            }
        }
        count += values.len() as u64;
        bar.inc(values.len() as u64);
    }
    let cpu = cpu_between(cpu_before, cpu_snapshot(), engine);
    bar.finish_and_clear();
    let rows = store.counts().await?;
    let seconds = (parse + apply).as_secs_f64();
    Ok(GatehouseRun {
        items: count,
        seconds,
        parse_seconds: parse.as_secs_f64(),
        store_seconds: apply.as_secs_f64(),
        items_per_second: count as f64 / seconds,
        store_items_per_second: count as f64 / apply.as_secs_f64(),
        cpu,
        outcomes: tally,
        rows,
    })
}

/// The baseline: rows built from the parsed items (untimed), then written
/// in transactions of `batch` items (timed).
#[allow(clippy::too_many_arguments)]
async fn run_baseline(
    sink: &impl Sink,
    engine: EngineKind,
    estate: &Estate,
    limit: Option<u64>,
    batch: usize,
    total: u64,
    method: Method,
) -> anyhow::Result<BaselineRun> {
    let bar = progress(
        total,
        format!("{} · baseline {}", engine.as_str(), method.as_str()),
    );
    let mut source = items(estate, limit);
    let (mut write, mut build) = (Duration::ZERO, Duration::ZERO);
    let mut count = 0u64;
    let mut skipped = 0u64;
    let mut rows: Vec<Row> = Vec::with_capacity(batch);
    let cpu_before = cpu_snapshot();
    loop {
        let values: Vec<Value> = source.by_ref().take(batch).collect();
        if values.is_empty() {
            break;
        }
        let t0 = Instant::now();
        let now = Utc::now();
        rows.clear();
        for v in &values {
            let item = parse_item(v, now)
                .map_err(|e| anyhow::anyhow!("synthetic item refused: {}: {}", e.error.field, e.error.rule))?;
            match Row::from_item(&item, SOURCE, now) {
                Some(row) => rows.push(row),
                None => skipped += 1,
            }
        }
        let t1 = Instant::now();
        sink.write(&rows, method).await?;
        write += t1.elapsed();
        build += t1 - t0;
        count += values.len() as u64;
        bar.inc(values.len() as u64);
    }
    let cpu = cpu_between(cpu_before, cpu_snapshot(), engine);
    bar.finish_and_clear();
    if skipped > 0 {
        eprintln!("baseline: {skipped} items of kinds with no baseline row were left out");
    }
    let seconds = write.as_secs_f64();
    Ok(BaselineRun {
        method: method.as_str(),
        items: count,
        rows: sink.rows().await?,
        seconds,
        items_per_second: count as f64 / seconds,
        build_seconds: build.as_secs_f64(),
        cpu,
    })
}

/// Both baseline methods, each on its own fresh database.
async fn run_baselines(
    engine: EngineKind,
    estate: &Estate,
    limit: Option<u64>,
    batch: usize,
    total: u64,
    keep: bool,
) -> anyhow::Result<Vec<BaselineRun>> {
    let mut runs = Vec::new();
    for method in [Method::MultiRow, Method::SingleRow] {
        let url = fresh_url(engine, "benchbase").await;
        let run = match engine {
            EngineKind::Sqlite => {
                let store = gatehouse_store::engine::sqlite::SqliteStore::connect(&url).await?;
                prepare(&store, estate).await?;
                let sink = baseline::sqlite::Baseline::create(store.pool().clone()).await?;
                run_baseline(&sink, engine, estate, limit, batch, total, method).await
            }
            EngineKind::Postgres => {
                let store = gatehouse_store::engine::postgres::PgStore::connect(&url).await?;
                prepare(&store, estate).await?;
                let sink = baseline::postgres::Baseline::create(store.pool().clone()).await?;
                run_baseline(&sink, engine, estate, limit, batch, total, method).await
            }
        };
        if !keep {
            drop_database(engine, &url).await;
        }
        runs.push(run?);
    }
    Ok(runs)
}

/// Removes a benchmark database: the SQLite file (and its WAL), or the PostgreSQL schema.
async fn drop_database(engine: EngineKind, url: &str) {
    match engine {
        EngineKind::Sqlite => {
            if let Some(path) = url.strip_prefix("sqlite://") {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
        }
        EngineKind::Postgres => {
            let Some(schema) = url.split("search_path%3D").nth(1) else {
                return;
            };
            let schema: String = schema
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if let Ok(pool) = sqlx::PgPool::connect(&postgres_base_url()).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&pool)
                .await;
                pool.close().await;
            }
        }
    }
}

fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn cpu_text(cpu: &CpuUse) -> String {
    match (cpu.process_seconds, cpu.postgres_seconds) {
        (Some(p), Some(s)) => format!("cpu {p:.1}s gatehouse process + {s:.1}s postgres"),
        (Some(p), None) => format!("cpu {p:.1}s"),
        _ => String::new(),
    }
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
            .map(|l| format!(", limited to the first {}", thousands(l as f64)))
            .unwrap_or_default(),
    );

    let mut reports = Vec::new();
    for engine in engines {
        let baselines = if args.only == Some(Only::Gatehouse) {
            Vec::new()
        } else {
            let runs = run_baselines(engine, &estate, args.limit, batch, total, args.keep).await?;
            for r in &runs {
                eprintln!(
                    "{} baseline {}: {} items ({} rows) in {:.1}s: {} items/s; {}",
                    engine.as_str(),
                    r.method,
                    thousands(r.items as f64),
                    thousands(r.rows as f64),
                    r.seconds,
                    thousands(r.items_per_second),
                    cpu_text(&r.cpu),
                );
            }
            runs
        };
        let gatehouse = if args.only == Some(Only::Baseline) {
            None
        } else {
            let url = fresh_url(engine, "benchgatehouse").await;
            let run = run_gatehouse(engine, &url, &estate, args.limit, batch, total).await;
            if !args.keep {
                drop_database(engine, &url).await;
            } else {
                eprintln!("kept the Gatehouse database: {url}");
            }
            let g = run?;
            eprintln!(
                "{} gatehouse: {} items in {:.1}s (parse {:.1}s, store {:.1}s): {} items/s; {}",
                engine.as_str(),
                thousands(g.items as f64),
                g.seconds,
                g.parse_seconds,
                g.store_seconds,
                thousands(g.items_per_second),
                cpu_text(&g.cpu),
            );
            eprintln!(
                "  outcomes: {} stored, {} superseded, {} acknowledged, {} refused",
                g.outcomes.stored, g.outcomes.superseded, g.outcomes.acknowledged, g.outcomes.rejected
            );
            let r = &g.rows;
            eprintln!(
                "  rows held: people {}, movements {}, alerts {}, planned {}, identity links {}, feed ledger {}, outbox {}",
                r.people, r.movements, r.alerts, r.planned_movements, r.identity_links, r.feed_ledger, r.outbox
            );
            Some(g)
        };
        let (Some(gatehouse), Some(best)) = (
            gatehouse,
            baselines
                .iter()
                .max_by(|a, b| a.items_per_second.total_cmp(&b.items_per_second)),
        ) else {
            continue;
        };
        let report = Report {
            benchmark: "ingest",
            engine: engine.as_str(),
            estate: estate_name(args.estate),
            items: gatehouse.items,
            limited: args.limit.is_some_and(|l| l < estimated),
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
        "ingest: {} estate, batches of {batch}, {cores} cores; Gatehouse = parse + apply_feed, baseline = plain batched INSERTs (database time only)",
        estate_name(args.estate)
    );
    println!(
        "{:<9} {:>10} {:>9} {:>10} {:>18} {:>7} {:>12} {:>7}",
        "engine", "items", "seconds", "items/s", "baseline items/s", "ratio", "store ratio", "target"
    );
    for r in &reports {
        println!(
            "{:<9} {:>10} {:>9.1} {:>10} {:>18} {:>6.1}% {:>11.1}% {:>6}",
            r.engine,
            thousands(r.items as f64),
            r.gatehouse.seconds,
            thousands(r.gatehouse.items_per_second),
            format!("{} ({})", thousands(r.baseline_items_per_second), r.baseline),
            r.ratio * 100.0,
            r.store_ratio * 100.0,
            format!("≥{:.0}%", TARGET_RATIO * 100.0),
        );
    }
    for r in &reports {
        let others: Vec<String> = r
            .baselines
            .iter()
            .map(|b| format!("{} {} items/s", b.method, thousands(b.items_per_second)))
            .collect();
        println!("{}: baselines {}", r.engine, others.join(", "));
    }
    Ok(())
}
