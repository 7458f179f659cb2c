//! `gatehouse bench attendance`: the attendance dashboard's figures for the
//! national synthetic year (≥ 5 million appointments), on SQLite and on
//! PostgreSQL, against the plain SQL aggregate over the same rows in the same
//! run. Target: the figures in ≤ 2 s on either engine.
//!
//! For each engine, one fresh database (`gatehouse_store::testing::fresh_url`),
//! opened with Gatehouse's own engine (`SqliteStore`/`PgStore`, the
//! connection settings of `gatehouse serve`), loaded with the national
//! synthetic year (`gatehouse_synth::appointments`, `AppointmentConfig::national`)
//! through `Store::import_appointments` in chunks of 10,000 (the load rate
//! is reported; generating the rows is not timed). Then, `--runs` times,
//! taking turns:
//! - **figures**: what the dashboard does: `Store::attendance_tallies` for
//!   the whole year and every establishment, then `Figures::from_tallies`;
//! - **plain aggregate**: one `GROUP BY` over the raw `appointments` rows
//!   giving the same grouping (establishment, week, type, setting, outcome
//!   or cancelled / not recorded, reason; `COUNT(*)`, `SUM(minutes)`), sent
//!   through sqlx on the engine's own pool, its rows decoded into tallies.
//!
//! The two must agree, tally by tally (count and minutes): a difference
//! fails the run. Printed: the load, the median and the slowest run of each,
//! the ratio (figures / plain aggregate) and whether the 2 s target is met;
//! JSON in `<out-dir>/attendance-<engine>.json`.

use super::common::{drop_database, thousands};
use crate::demo::imported;
use chrono::{DateTime, Days, NaiveDate, Utc};
use clap::{Args, ValueEnum};
use gatehouse_domain::Establishment;
use gatehouse_domain::appointment::{AppointmentType, Setting};
use gatehouse_domain::attendance::{Bucket, Figures, Tally};
use gatehouse_store::engine::{postgres::PgStore, sqlite::SqliteStore};
use gatehouse_store::testing::fresh_url;
use gatehouse_store::{EngineKind, ImportedAppointment, Store, TallyQuery};
use gatehouse_synth::appointments::AppointmentConfig;
use gatehouse_synth::{Estate, EstateConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// DESIGN.md §6 / the issue: the dashboard's figures within this many seconds.
pub const TARGET_SECONDS: f64 = 2.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Args, Debug)]
pub struct AttendanceArgs {
    /// Which engine(s). PostgreSQL: the server named by
    /// GATEHOUSE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
    /// the database is a fresh schema there.
    #[arg(long, value_enum, default_value = "both")]
    pub engine: EngineChoice,
    /// Load only the first N appointments of the national year (5,221,786
    /// in all) for a quick run.
    #[arg(long)]
    pub appointments: Option<u64>,
    /// How many times each side is measured.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Appointments per `import_appointments` call.
    #[arg(long, default_value_t = 10_000)]
    pub chunk: usize,
    /// Where the JSON figures go.
    #[arg(long, default_value = "target/bench")]
    pub out_dir: PathBuf,
    /// Keep the benchmark database (SQLite file, PostgreSQL schema) instead of dropping it.
    #[arg(long)]
    pub keep: bool,
}

/// The anchor of the synthetic estate: fixed, so every run loads the same
/// rows (the one the synthetic estate documents its counts for).
fn anchor() -> DateTime<Utc> {
    let fixed = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .expect("a valid date")
        .to_utc();
    fixed.min(Utc::now() - chrono::Duration::minutes(1))
}

// ---------------------------------------------------------------- the engines

/// Gatehouse's own engine, for its store and its pool.
enum Engine {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// The plain aggregate: the tallies' grouping computed from the raw rows.
const PLAIN_AGGREGATE: &str = "SELECT establishment, CAST(week AS TEXT) AS week, type, setting, \
     CASE WHEN outcome IS NOT NULL THEN outcome WHEN status = 'cancelled' THEN 'cancelled' ELSE 'not-recorded' END AS bucket, \
     COALESCE(outcome_reason, '') AS reason, COUNT(*) AS appointments, CAST(SUM(minutes) AS BIGINT) AS minutes \
     FROM appointments WHERE week >= $1 AND week <= $2 \
     GROUP BY establishment, week, type, setting, \
     CASE WHEN outcome IS NOT NULL THEN outcome WHEN status = 'cancelled' THEN 'cancelled' ELSE 'not-recorded' END, \
     COALESCE(outcome_reason, '')";

type PlainRow = (String, String, String, String, String, String, i64, i64);

impl Engine {
    async fn open(engine: EngineKind, url: &str) -> anyhow::Result<Self> {
        let mut establishments = Establishment::catalogue();
        establishments.extend(Estate::new(EstateConfig::national(anchor())).establishments());
        let e = match engine {
            EngineKind::Sqlite => Self::Sqlite(SqliteStore::connect(url).await?),
            EngineKind::Postgres => Self::Postgres(PgStore::connect(url).await?),
        };
        e.store().migrate().await?;
        e.store().ensure_establishments(&establishments).await?;
        Ok(e)
    }

    fn store(&self) -> &dyn Store {
        match self {
            Self::Sqlite(s) => s,
            Self::Postgres(s) => s,
        }
    }

    /// The plain aggregate through sqlx on the engine's pool, decoded.
    async fn plain_aggregate(&self, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<Tally>> {
        let rows: Vec<PlainRow> = match self {
            Self::Sqlite(s) => {
                sqlx::query_as(PLAIN_AGGREGATE)
                    .bind(from)
                    .bind(to)
                    .fetch_all(s.pool())
                    .await?
            }
            Self::Postgres(s) => {
                sqlx::query_as(PLAIN_AGGREGATE)
                    .bind(from)
                    .bind(to)
                    .fetch_all(s.pool())
                    .await?
            }
        };
        rows.into_iter()
            .map(|(est, week, t, s, b, r, n, m)| {
                Ok(Tally {
                    establishment: est,
                    week: NaiveDate::parse_from_str(&week, "%Y-%m-%d")?,
                    appointment_type: AppointmentType::parse(&t)
                        .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                    setting: Setting::parse(&s).map_err(|e| anyhow::anyhow!("{e:?}"))?,
                    bucket: Bucket::from_pair(&b, &r)
                        .ok_or_else(|| anyhow::anyhow!("unknown bucket {b}/{r}"))?,
                    appointments: n,
                    minutes: m,
                })
            })
            .collect()
    }

    async fn close(self) {
        match self {
            Self::Sqlite(s) => s.pool().close().await,
            Self::Postgres(s) => s.pool().close().await,
        }
    }
}

// ---------------------------------------------------------------- results

#[derive(Debug, Serialize)]
struct Load {
    appointments: u64,
    seconds: f64,
    appointments_per_second: f64,
    /// Stored tallies the load left.
    tallies: usize,
}

#[derive(Debug, Serialize)]
struct Timing {
    /// Every run, in order, in seconds.
    runs: Vec<f64>,
    median: f64,
    max: f64,
}

impl Timing {
    fn of(runs: Vec<f64>) -> Self {
        let mut sorted = runs.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n == 0 {
            0.0
        } else if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Self {
            max: sorted.last().copied().unwrap_or(0.0),
            median,
            runs,
        }
    }
}

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    engine: &'static str,
    /// Whether only a prefix of the national year was loaded (`--appointments`).
    limited: bool,
    recorded_at: DateTime<Utc>,
    cores: usize,
    load: Load,
    /// What the dashboard does: `Store::attendance_figures` (whole year, every
    /// establishment), warm: every prison-week read from the figures cache.
    figures: Timing,
    /// The first `attendance_figures` after the load: every prison-week rebuilt
    /// from its tallies and written back (what a reader pays once per changed week).
    figures_cold_seconds: f64,
    /// The tally path without the cache: `attendance_tallies` + `Figures::from_tallies`.
    tally_path: Timing,
    /// The plain `GROUP BY` over `appointments`, fetched and decoded.
    plain_aggregate: Timing,
    /// Groups (tallies) both sides returned.
    groups: usize,
    /// figures median / plain aggregate median.
    ratio: f64,
    target_seconds: f64,
    /// The slowest figures run within the target.
    target_met: bool,
    /// The dashboard's headline figures, as computed.
    booked: i64,
    attendance_rate: Option<f64>,
    did_not_attend_rate: Option<f64>,
    was_not_brought_rate: Option<f64>,
}

type Key = (
    String,
    NaiveDate,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

fn by_key(tallies: &[Tally]) -> BTreeMap<Key, (i64, i64)> {
    let mut map = BTreeMap::new();
    for t in tallies {
        let (bucket, reason) = t.bucket.to_pair();
        let e = map
            .entry((
                t.establishment.clone(),
                t.week,
                t.appointment_type.as_str(),
                t.setting.as_str(),
                bucket,
                reason,
            ))
            .or_insert((0, 0));
        e.0 += t.appointments;
        e.1 += t.minutes;
    }
    map
}

/// Fails loudly unless the two agree tally by tally.
fn check_agreement(figures: &[Tally], plain: &[Tally], loaded: u64) -> anyhow::Result<()> {
    let (a, b) = (by_key(figures), by_key(plain));
    let mut differences = Vec::new();
    for k in a.keys().chain(b.keys()) {
        let (x, y) = (a.get(k), b.get(k));
        if x != y && differences.len() < 10 {
            differences.push(format!("{k:?}: figures {x:?}, plain aggregate {y:?}"));
        }
    }
    let total: i64 = b.values().map(|(n, _)| n).sum();
    if !differences.is_empty() {
        anyhow::bail!(
            "the figures and the plain aggregate disagree:\n  {}",
            differences.join("\n  ")
        );
    }
    if total != loaded as i64 {
        anyhow::bail!("the plain aggregate counts {total} appointments; {loaded} were loaded");
    }
    Ok(())
}

// ---------------------------------------------------------------- the run

async fn load(
    engine: &Engine,
    name: &str,
    estate: &Estate,
    cap: u64,
    chunk: usize,
) -> anyhow::Result<(u64, Duration)> {
    let bar = ProgressBar::new(cap);
    bar.set_style(
        ProgressStyle::with_template("{prefix:9} loading {wide_bar} {human_pos}/{human_len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(name.to_owned());
    let config = AppointmentConfig {
        chunk,
        ..AppointmentConfig::national()
    };
    let mut loaded = 0u64;
    let mut timed = Duration::ZERO;
    for chunk in estate.appointments(config) {
        if loaded >= cap {
            break;
        }
        // Untimed: generating the rows.
        let take = (cap - loaded).min(chunk.len() as u64) as usize;
        let rows: Vec<ImportedAppointment> = chunk.into_iter().take(take).map(imported).collect();
        let t = Instant::now();
        let audit = crate::operator::change("appointments", "import-appointments", &["bench"]);
        let stored = engine.store().import_appointments(&rows, &audit).await?;
        timed += t.elapsed();
        anyhow::ensure!(
            stored == rows.len() as u64,
            "stored {stored} of {}",
            rows.len()
        );
        loaded += stored;
        bar.inc(stored);
        bar.set_message(format!(
            "{}/s",
            thousands(loaded as f64 / timed.as_secs_f64().max(1e-9))
        ));
    }
    bar.finish_and_clear();
    Ok((loaded, timed))
}

async fn run_engine(
    kind: EngineKind,
    args: &AttendanceArgs,
    estate: &Estate,
    cap: u64,
) -> anyhow::Result<Report> {
    let url = fresh_url(kind, "benchattendance").await;
    let result = async {
        let engine = Engine::open(kind, &url).await?;
        let (loaded, load_time) =
            load(&engine, kind.as_str(), estate, cap, args.chunk.max(1)).await?;
        eprintln!(
            "{}: loaded {} appointments in {:.1}s ({} a second)",
            kind.as_str(),
            thousands(loaded as f64),
            load_time.as_secs_f64(),
            thousands(loaded as f64 / load_time.as_secs_f64().max(1e-9))
        );
        if kind == EngineKind::Postgres
            && let Engine::Postgres(s) = &engine
        {
            // As after any bulk load: fresh planner statistics for both sides.
            sqlx::query("ANALYZE").execute(s.pool()).await?;
        }

        // The whole year, every establishment: every week that can hold one of the rows.
        let a = anchor().date_naive();
        let from = a.checked_sub_days(Days::new(400)).expect("in range");
        let to = a.checked_add_days(Days::new(30)).expect("in range");
        let query = TallyQuery {
            establishments: Vec::new(),
            from,
            to,
        };
        let (mut figures_runs, mut tally_path_runs, mut plain_runs) =
            (Vec::new(), Vec::new(), Vec::new());
        let mut cold = None;
        let mut last: Option<(Vec<Tally>, Figures, Vec<Tally>)> = None;
        // One cold run (the cache empty after the load), then `--runs` warm ones.
        for run in 0..=args.runs.max(1) {
            let t0 = Instant::now();
            let figures = engine.store().attendance_figures(&query).await?;
            let took = t0.elapsed().as_secs_f64();
            if run == 0 {
                cold = Some(took);
            } else {
                figures_runs.push(took);
            }
            let t1 = Instant::now();
            let tallies = engine.store().attendance_tallies(&query).await?;
            let from_tallies = Figures::from_tallies(&tallies);
            tally_path_runs.push(t1.elapsed().as_secs_f64());
            anyhow::ensure!(
                figures == from_tallies,
                "the cached figures differ from the figures of the tallies"
            );
            if run == 0 {
                continue;
            }

            let t = Instant::now();
            let plain = engine.plain_aggregate(from, to).await?;
            plain_runs.push(t.elapsed().as_secs_f64());
            check_agreement(&tallies, &plain, loaded)?;
            last = Some((tallies, figures, plain));
        }
        let (tallies, figures, _) = last.expect("at least one run");
        let stored_tallies = tallies.len();
        engine.close().await;
        let figures_t = Timing::of(figures_runs);
        let plain_t = Timing::of(plain_runs);
        Ok::<_, anyhow::Error>(Report {
            benchmark: "attendance",
            engine: kind.as_str(),
            limited: args.appointments.is_some(),
            recorded_at: Utc::now(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load: Load {
                appointments: loaded,
                seconds: load_time.as_secs_f64(),
                appointments_per_second: loaded as f64 / load_time.as_secs_f64().max(1e-9),
                tallies: stored_tallies,
            },
            figures_cold_seconds: cold.unwrap_or_default(),
            tally_path: Timing::of(tally_path_runs),
            ratio: figures_t.median / plain_t.median.max(1e-9),
            target_met: figures_t.max <= TARGET_SECONDS,
            figures: figures_t,
            plain_aggregate: plain_t,
            groups: stored_tallies,
            target_seconds: TARGET_SECONDS,
            booked: figures.total.booked,
            attendance_rate: figures.total.attendance_rate,
            did_not_attend_rate: figures.total.did_not_attend_rate,
            was_not_brought_rate: figures.total.was_not_brought_rate,
        })
    }
    .await;
    if args.keep {
        eprintln!("kept: {url}");
    } else {
        drop_database(kind, &url).await;
    }
    result
}

pub async fn run(args: AttendanceArgs) -> anyhow::Result<()> {
    let engines: Vec<EngineKind> = match args.engine {
        EngineChoice::Sqlite => vec![EngineKind::Sqlite],
        EngineChoice::Postgres => vec![EngineKind::Postgres],
        EngineChoice::Both => vec![EngineKind::Sqlite, EngineKind::Postgres],
    };
    let estate = Estate::new(EstateConfig::national(anchor()));
    let estimated = estate.estimated_appointments(&AppointmentConfig::national());
    let cap = args.appointments.unwrap_or(u64::MAX);
    eprintln!(
        "attendance benchmark: national synthetic year ({} people, about {} appointments{}), {} runs each",
        thousands(estate.person_count() as f64),
        thousands(estimated as f64),
        args.appointments
            .map(|n| format!(", the first {} only", thousands(n as f64)))
            .unwrap_or_default(),
        args.runs.max(1),
    );

    let mut reports = Vec::new();
    for kind in engines {
        let report = run_engine(kind, &args, &estate, cap).await?;
        std::fs::create_dir_all(&args.out_dir)?;
        let path = args
            .out_dir
            .join(format!("attendance-{}.json", report.engine));
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
        eprintln!("figures written to {}", path.display());
        reports.push(report);
    }

    println!();
    println!(
        "attendance: the dashboard's figures (attendance_figures, whole year, every establishment, from the per-week cache) \
         against the plain GROUP BY over the raw appointments, {} warm runs each after one cold run; target ≤ {TARGET_SECONDS:.0} s.",
        args.runs.max(1)
    );
    println!(
        "| engine | appointments | load | groups | figures median (max) | cold | tallies + from_tallies median | plain aggregate median (max) | ratio | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in &reports {
        println!(
            "| {} | {} | {:.0} s ({}/s) | {} | {} ({}) | {} | {} | {} ({}) | {:.4} | {} |",
            r.engine,
            thousands(r.load.appointments as f64),
            r.load.seconds,
            thousands(r.load.appointments_per_second),
            thousands(r.groups as f64),
            ms(r.figures.median),
            ms(r.figures.max),
            ms(r.figures_cold_seconds),
            ms(r.tally_path.median),
            ms(r.plain_aggregate.median),
            ms(r.plain_aggregate.max),
            r.ratio,
            if r.target_met { "met" } else { "NOT met" },
        );
    }
    for r in &reports {
        let pct = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{:.1}%", x * 100.0));
        println!(
            "{}: {} booked; attended {}, did not attend {}, was not brought {}; the two agree tally by tally",
            r.engine,
            thousands(r.booked as f64),
            pct(r.attendance_rate),
            pct(r.did_not_attend_rate),
            pct(r.was_not_brought_rate),
        );
    }
    Ok(())
}

fn ms(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2} s")
    }
}
