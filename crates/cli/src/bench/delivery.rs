//! `gatehouse bench delivery`: a prison event in, a webhook out (DESIGN.md §6:
//! "a prison event posted to a webhook received by a subscriber on loopback:
//! p99 ≤ 50 ms at 1,000 events/s sustained").
//!
//! Everything runs in this one process, for each engine in turn:
//! - a fresh database (`gatehouse_store::testing::fresh_store_with_url`) with
//!   two consumers registered as the test harness registers them:
//!   `prison-feed` (the `prison-feed` template, all establishments), which
//!   posts, and `lei-health` (the `prison-healthcare` template, LEI), which
//!   subscribes;
//! - Gatehouse itself (`Application::build_with_store` on `127.0.0.1:0`,
//!   `run_until_stopped`, the default delivery configuration);
//! - a webhook receiver on `127.0.0.1:0`: a hyper HTTP/1.1 server (the
//!   server axum runs on; this crate has no direct axum dependency) that
//!   reads each request's body, takes the time, finds the marker in it and
//!   answers 204;
//! - the poster: one `reqwest` client.
//!
//! Setup: `--people` prison numbers are received at LEI (receptions, in
//! batches), then `lei-health` subscribes its receiver to
//! `uk.gatehouse.alert.*` through `POST /v1/subscriptions`.
//!
//! Each measured event is one native `gatehouse.alert` item, its own
//! `POST /v1/prison-events`, for the next prison number in turn; its event id
//! and alert id are a marker (`bd-<phase>-<n>`), which comes back to the
//! receiver as `data.alert.id` of the CloudEvent. Latency is the receive time
//! minus the time that event's POST was sent.
//!
//! Phases, one after another:
//! 1. **baseline**: the same poster sends the same JSON straight to the same
//!    receiver (one HTTP round trip on loopback, no Gatehouse), open loop at
//!    `--rate` for `--seconds` after `--warmup`;
//! 2. **gatehouse**: the same, to Gatehouse, which must store the item, fan
//!    it out, claim the delivery, record the disclosure, sign it and POST it
//!    to the receiver;
//! 3. **ceiling**: `--ceiling-events` posted to Gatehouse as fast as
//!    `--ceiling-posters` posters can, in batches of `--ceiling-batch`; the
//!    figure is events delivered per second end to end (first POST sent to
//!    last delivery received);
//! 4. **baseline ceiling**: the same number of single-event POSTs straight
//!    to the receiver, closed loop on `--ceiling-connections` connections
//!    (64: what Gatehouse's webhook client keeps per receiver).
//!
//! Pacing is open loop: event `n` is due at `n / rate` seconds after the
//! start and is sent then, whatever became of the earlier ones, as its own
//! task (at most `--max-in-flight` at once; an event that must wait for a
//! free slot is sent late, and the lag is reported). After each phase the
//! benchmark waits until every event posted has been received (or nothing
//! has arrived for `--drain-timeout` seconds) and counts the missing and the
//! duplicated. Figures: a table per engine on stdout, JSON in
//! `<out-dir>/delivery-<engine>.json`. Nothing asserts a target.

use super::common::{drop_database, thousands};
use super::ingest::EngineChoice;
use chrono::{DateTime, Utc};
use clap::Args;
use gatehouse_domain::Scope;
use gatehouse_policy::templates::template;
use gatehouse_server::auth::issue_key;
use gatehouse_server::{Application, ServerConfig};
use gatehouse_store::testing::fresh_store_with_url;
use gatehouse_store::{DeliveryStatus, EngineKind, NewConsumer};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};

/// DESIGN.md §6: p99 from POST to webhook received…
pub const TARGET_P99_MS: f64 = 50.0;
/// …at this many events a second, sustained.
pub const TARGET_RATE: f64 = 1000.0;

pub(super) const FEED: &str = "prison-feed";
pub(super) const HEALTH: &str = "lei-health";
pub(super) const ESTABLISHMENT: &str = "LEI";

#[derive(Args, Debug)]
pub struct DeliveryArgs {
    /// Which engine(s). PostgreSQL: the server named by
    /// GATEHOUSE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
    /// the database is a fresh schema there.
    #[arg(long, value_enum, default_value = "both")]
    pub engine: EngineChoice,
    /// Events a second, posted open loop (the target is set at 1,000).
    #[arg(long, default_value_t = TARGET_RATE)]
    pub rate: f64,
    /// Measured seconds, for the baseline and for Gatehouse each.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Unmeasured seconds at the same rate before each measurement (then drained).
    #[arg(long, default_value_t = 5.0)]
    pub warmup: f64,
    /// Prison numbers received at LEI in the setup; events go to them in turn.
    #[arg(long, default_value_t = 2000)]
    pub people: usize,
    /// The most POSTs in flight at once during the paced phases.
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: usize,
    /// Events of the throughput-ceiling phase (0: skip it).
    #[arg(long, default_value_t = 10_000)]
    pub ceiling_events: usize,
    /// Items per POST in the ceiling phase.
    #[arg(long, default_value_t = 100)]
    pub ceiling_batch: usize,
    /// Concurrent posters in the ceiling phase.
    #[arg(long, default_value_t = 4)]
    pub ceiling_posters: usize,
    /// Concurrent connections of the baseline's ceiling (Gatehouse's webhook
    /// client keeps up to 64 per receiver).
    #[arg(long, default_value_t = 64)]
    pub ceiling_connections: usize,
    /// After a phase, stop waiting for deliveries when none has arrived for this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub drain_timeout: f64,
    /// Where the JSON figures go.
    #[arg(long, default_value = "target/bench")]
    pub out_dir: PathBuf,
    /// Keep the benchmark database (SQLite file, PostgreSQL schema) instead of dropping it.
    #[arg(long)]
    pub keep: bool,
    /// PostgreSQL: 2 runs a second Gatehouse instance on the same database.
    /// Events are posted to the first, which sends no webhooks; the second
    /// sends them, woken by the first's commits (LISTEN/NOTIFY). SQLite
    /// always runs one.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub instances: u8,
}

// ---------------------------------------------------------------- the receiver

/// What the receiver got for one phase: the first arrival of each event, and
/// how many arrivals in all (more than the events: duplicates).
#[derive(Default)]
pub(super) struct PhaseLog {
    pub(super) first: HashMap<usize, Instant>,
    pub(super) total: usize,
}

#[derive(Default)]
pub(super) struct Arrivals {
    phases: Mutex<HashMap<String, PhaseLog>>,
    /// Requests with no marker the benchmark knows.
    pub(super) unexpected: AtomicUsize,
}

pub(super) fn marker(phase: &str, n: usize) -> String {
    format!("bd-{phase}-{n}")
}

fn parse_marker(m: &str) -> Option<(&str, usize)> {
    let (phase, n) = m.strip_prefix("bd-")?.rsplit_once('-')?;
    Some((phase, n.parse().ok()?))
}

impl Arrivals {
    fn record(&self, marker: Option<&str>, at: Instant) {
        let Some((phase, n)) = marker.and_then(parse_marker) else {
            self.unexpected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        let log = phases.entry(phase.to_owned()).or_default();
        log.total += 1;
        log.first.entry(n).or_insert(at);
    }

    pub(super) fn unique(&self, phase: &str) -> usize {
        self.phases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(phase)
            .map_or(0, |l| l.first.len())
    }

    pub(super) fn take(&self, phase: &str) -> PhaseLog {
        self.phases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(phase)
            .unwrap_or_default()
    }
}

/// One webhook: the whole body is read, then the time is taken, then the
/// marker is looked for (`data.alert.id` of a CloudEvent from Gatehouse,
/// `alert.id` of the item the baseline posts directly).
async fn receive(
    arrivals: Arc<Arrivals>,
    req: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, hyper::Error> {
    let body = req.into_body().collect().await?.to_bytes();
    let at = Instant::now();
    let v: Option<Value> = serde_json::from_slice(&body).ok();
    let m = v
        .as_ref()
        .and_then(|v| {
            v.pointer("/data/alert/id")
                .or_else(|| v.pointer("/alert/id"))
        })
        .and_then(Value::as_str);
    arrivals.record(m, at);
    let mut resp = Response::new(Empty::new());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}

pub(super) async fn start_receiver(
    arrivals: Arc<Arrivals>,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((s, _)) => s,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let arrivals = arrivals.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| receive(arrivals.clone(), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((addr, task))
}

// ---------------------------------------------------------------- the items

pub(super) fn alert_item(m: &str, prison_number: &str, today: &str) -> Value {
    json!({
        "id": m,
        "type": "gatehouse.alert",
        "occurredAt": Utc::now().to_rfc3339(),
        "prisonNumber": prison_number,
        "alert": {"id": m, "code": "HA", "active": true, "activeFrom": today},
    })
}

fn reception(prison_number: &str) -> Value {
    json!({
        "id": format!("bd-reception-{prison_number}"),
        "type": "gatehouse.movement",
        "occurredAt": (Utc::now() - chrono::Duration::hours(10)).to_rfc3339(),
        "prisonNumber": prison_number,
        "movement": {"kind": "reception", "reason": "NEW_ADMISSION", "establishment": ESTABLISHMENT},
    })
}

/// `B0000BQ`, `B0001BQ`, …: valid prison numbers, distinct for up to 260,000 people.
pub(super) fn prison_numbers(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let tail = (i / 10_000) % 26;
            format!("B{:04}B{}", i % 10_000, (b'A' + tail as u8) as char)
        })
        .collect()
}

// ---------------------------------------------------------------- statistics

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(super) struct Latency {
    pub(super) samples: usize,
    pub(super) p50_ms: f64,
    pub(super) p90_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) p999_ms: f64,
    pub(super) max_ms: f64,
    pub(super) mean_ms: f64,
}

pub(super) fn latency(mut ms: Vec<f64>) -> Latency {
    if ms.is_empty() {
        return Latency::default();
    }
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| {
        let rank = ((p / 100.0) * ms.len() as f64).ceil() as usize;
        ms[rank.clamp(1, ms.len()) - 1]
    };
    Latency {
        samples: ms.len(),
        p50_ms: at(50.0),
        p90_ms: at(90.0),
        p99_ms: at(99.0),
        p999_ms: at(99.9),
        max_ms: ms[ms.len() - 1],
        mean_ms: ms.iter().sum::<f64>() / ms.len() as f64,
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------- processor time

/// Processor seconds so far of this process and (PostgreSQL runs) of every
/// `postgres` process. Linux only (`/proc`, 100 ticks a second).
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    own: Option<f64>,
    postgres: Option<f64>,
}

fn stat_seconds(stat: &str) -> Option<(&str, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let mut fields = stat.get(close + 2..)?.split_whitespace();
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((&stat[open + 1..close], (utime + stime) / 100.0))
}

fn cpu(postgres: bool) -> Cpu {
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
                .filter_map(|s| stat_seconds(&s).and_then(|(c, t)| (c == "postgres").then_some(t)))
                .sum::<f64>()
        });
    Cpu { own, postgres }
}

/// Processor use over a phase, as a share of one core.
#[derive(Debug, Clone, Copy, Default, Serialize)]
struct CpuUse {
    process_cores: Option<f64>,
    postgres_cores: Option<f64>,
}

fn cpu_use(a: Cpu, b: Cpu, wall: Duration) -> CpuUse {
    let w = wall.as_secs_f64().max(1e-9);
    let d = |x: Option<f64>, y: Option<f64>| x.zip(y).map(|(x, y)| (y - x) / w);
    CpuUse {
        process_cores: d(a.own, b.own),
        postgres_cores: d(a.postgres, b.postgres),
    }
}

// ---------------------------------------------------------------- posting

/// Where a phase posts, and what a good answer is.
#[derive(Clone)]
struct Target {
    url: String,
    key: Option<String>,
    /// 201 from Gatehouse (one item stored), 204 from the receiver.
    expect: u16,
}

/// One event of a paced phase.
struct Sent {
    n: usize,
    due: Instant,
    at: Instant,
    answered: Duration,
    ok: bool,
}

struct Paced {
    events: usize,
    sent: Vec<Sent>,
    started: Instant,
}

/// Open loop: event `n` is due `n / rate` s after the start; each is its own task.
#[allow(clippy::too_many_arguments)]
async fn paced(
    client: &reqwest::Client,
    target: &Target,
    phase: &str,
    rate: f64,
    seconds: f64,
    people: &[String],
    max_in_flight: usize,
    today: &str,
) -> anyhow::Result<Paced> {
    let events = (rate * seconds).round().max(1.0) as usize;
    let (tx, mut rx) = mpsc::unbounded_channel::<Sent>();
    let slots = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let started = Instant::now() + Duration::from_millis(20);
    let mut next_report = started + Duration::from_secs(10);
    for n in 0..events {
        let body = alert_item(&marker(phase, n), &people[n % people.len()], today).to_string();
        let due = started + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let slot = slots.clone().acquire_owned().await?;
        let mut req = client
            .post(&target.url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(key) = &target.key {
            req = req.bearer_auth(key);
        }
        let expect = target.expect;
        let tx = tx.clone();
        tokio::spawn(async move {
            let at = Instant::now();
            let ok = match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    status == expect
                }
                Err(_) => false,
            };
            let answered = at.elapsed();
            drop(slot);
            let _ = tx.send(Sent {
                n,
                due,
                at,
                answered,
                ok,
            });
        });
        if Instant::now() >= next_report {
            eprintln!(
                "  {phase}: {n} of {events} sent, {} POSTs in flight",
                max_in_flight - slots.available_permits()
            );
            next_report += Duration::from_secs(10);
        }
    }
    drop(tx);
    let mut sent = Vec::with_capacity(events);
    while let Some(s) = rx.recv().await {
        sent.push(s);
    }
    sent.sort_by_key(|s| s.n);
    Ok(Paced {
        events,
        sent,
        started,
    })
}

/// Waits until `expected` events of `phase` have arrived, or none has for `quiet`.
pub(super) async fn drain(arrivals: &Arrivals, phase: &str, expected: usize, quiet: Duration) {
    let mut seen = arrivals.unique(phase);
    let mut last_progress = Instant::now();
    while seen < expected && last_progress.elapsed() < quiet {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now = arrivals.unique(phase);
        if now > seen {
            seen = now;
            last_progress = Instant::now();
        }
    }
    // A moment for any duplicate right behind the last delivery.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// The wall clock at one instant, to place the store's timestamps on the
/// benchmark's monotonic clock.
#[derive(Clone, Copy)]
struct Wall {
    instant: Instant,
    utc: DateTime<Utc>,
}

impl Wall {
    fn now() -> Self {
        Self {
            instant: Instant::now(),
            utc: Utc::now(),
        }
    }

    /// Milliseconds from `sent` to the wall-clock time `t`.
    fn since(&self, sent: Instant, t: DateTime<Utc>) -> f64 {
        let t_ms = (t - self.utc).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0;
        t_ms - millis(sent.saturating_duration_since(self.instant))
    }
}

/// What the store recorded of one delivered event (wall clock).
struct StoreTimes {
    /// `outbox.recorded_at`: when the POST's handler called `apply_feed`
    /// (before the transaction, so before any wait for the writer).
    stored: DateTime<Utc>,
    /// `deliveries.created_at`: when the fan-out that made its delivery began.
    fanned_out: DateTime<Utc>,
    /// `deliveries.delivered_at`: when the attempt was recorded as delivered
    /// (after the receiver answered).
    finished: Option<DateTime<Utc>>,
}

/// Where an event's time goes: each point in milliseconds after its POST was sent.
#[derive(Debug, Clone, Serialize)]
struct Stages {
    /// The handler calls `apply_feed` (HTTP, key check, parsing done).
    store_called: Latency,
    /// The POST's answer read by the poster (the item committed).
    answered: Latency,
    /// The fan-out that makes its delivery row begins.
    fan_out_began: Latency,
    /// The receiver has the webhook (the headline latency).
    received: Latency,
    /// The delivery recorded as done (after the receiver's answer).
    finished: Latency,
}

#[derive(Debug, Clone, Serialize)]
struct Window {
    from_s: f64,
    to_s: f64,
    events: usize,
    p50_ms: f64,
    p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
struct RatePhase {
    target_rate: f64,
    events: usize,
    posted_ok: usize,
    post_failed: usize,
    /// First send to last send.
    send_seconds: f64,
    achieved_rate: f64,
    /// How late events were sent against their schedule.
    send_lag: Latency,
    /// POST sent → webhook received.
    latency: Latency,
    /// POST sent → its answer read (for Gatehouse: the item stored).
    answered: Latency,
    received: usize,
    missing: usize,
    duplicates: usize,
    /// Events received per second, first send to last receipt.
    delivered_rate: f64,
    /// Last send to last receipt.
    tail_seconds: f64,
    /// Scheduled send time → webhook received: counts the wait for a free
    /// POST slot too (no coordinated omission).
    latency_from_schedule: Latency,
    /// Latency by send time, the phase cut in ten.
    windows: Vec<Window>,
    /// Gatehouse only: where the time goes, from the store's own timestamps.
    stages: Option<Stages>,
    /// Gatehouse only: what became of the missing events.
    missing_detail: Option<MissingDetail>,
    /// Over the phase and its drain.
    cpu: CpuUse,
}

fn rate_phase(
    m: &Measured,
    rate: f64,
    store: Option<(&HashMap<usize, StoreTimes>, Wall)>,
) -> RatePhase {
    let (p, log) = (&m.paced, &m.log);
    let ok: Vec<&Sent> = p.sent.iter().filter(|s| s.ok).collect();
    let first = p.sent.first().map_or(p.started, |s| s.at);
    let last = p.sent.iter().map(|s| s.at).max().unwrap_or(first);
    let mut lat = Vec::with_capacity(ok.len());
    let mut from_due = Vec::with_capacity(ok.len());
    let mut missing = 0;
    let mut last_rx = first;
    for s in &ok {
        match log.first.get(&s.n) {
            Some(&r) => {
                lat.push(millis(r.saturating_duration_since(s.at)));
                from_due.push(millis(r.saturating_duration_since(s.due)));
                last_rx = last_rx.max(r);
            }
            None => missing += 1,
        }
    }
    let stages = store.map(|(times, wall)| {
        let mut cols: [Vec<f64>; 5] = Default::default();
        for s in &ok {
            let (Some(&r), Some(t)) = (log.first.get(&s.n), times.get(&s.n)) else {
                continue;
            };
            cols[0].push(wall.since(s.at, t.stored));
            cols[1].push(millis(s.answered));
            cols[2].push(wall.since(s.at, t.fanned_out));
            cols[3].push(millis(r.saturating_duration_since(s.at)));
            if let Some(f) = t.finished {
                cols[4].push(wall.since(s.at, f));
            }
        }
        let [a, b, c, d, e] = cols;
        Stages {
            store_called: latency(a),
            answered: latency(b),
            fan_out_began: latency(c),
            received: latency(d),
            finished: latency(e),
        }
    });
    let span = (last - first).as_secs_f64();
    let received = log.first.len();
    let windows = {
        let total = span.max(1e-9);
        let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); 10];
        for s in &ok {
            if let Some(&r) = log.first.get(&s.n) {
                let k = (((s.at - first).as_secs_f64() / total) * 10.0) as usize;
                buckets[k.min(9)].push(millis(r.saturating_duration_since(s.at)));
            }
        }
        buckets
            .into_iter()
            .enumerate()
            .map(|(k, b)| {
                let l = latency(b);
                Window {
                    from_s: total * k as f64 / 10.0,
                    to_s: total * (k + 1) as f64 / 10.0,
                    events: l.samples,
                    p50_ms: l.p50_ms,
                    p99_ms: l.p99_ms,
                }
            })
            .collect()
    };
    RatePhase {
        target_rate: rate,
        events: p.events,
        posted_ok: ok.len(),
        post_failed: p.sent.len() - ok.len(),
        send_seconds: span,
        achieved_rate: if span > 0.0 {
            (p.sent.len().saturating_sub(1)) as f64 / span
        } else {
            0.0
        },
        send_lag: latency(
            p.sent
                .iter()
                .map(|s| millis(s.at.saturating_duration_since(s.due)))
                .collect(),
        ),
        latency: latency(lat),
        latency_from_schedule: latency(from_due),
        stages,
        answered: latency(ok.iter().map(|s| millis(s.answered)).collect()),
        received,
        missing,
        duplicates: log.total - received,
        delivered_rate: received as f64 / (last_rx - first).as_secs_f64().max(1e-9),
        tail_seconds: last_rx.saturating_duration_since(last).as_secs_f64(),
        windows,
        missing_detail: None,
        cpu: m.cpu,
    }
}

struct Measured {
    paced: Paced,
    log: PhaseLog,
    cpu: CpuUse,
}

/// Warm-up (drained, not measured), then the measured phase.
#[allow(clippy::too_many_arguments)]
async fn measure(
    client: &reqwest::Client,
    arrivals: &Arrivals,
    target: &Target,
    phase: &str,
    args: &DeliveryArgs,
    people: &[String],
    today: &str,
    pg: bool,
) -> anyhow::Result<Measured> {
    let quiet = Duration::from_secs_f64(args.drain_timeout);
    if args.warmup > 0.0 {
        let warm = format!("{phase}warmup");
        let w = paced(
            client,
            target,
            &warm,
            args.rate,
            args.warmup,
            people,
            args.max_in_flight,
            today,
        )
        .await?;
        let ok = w.sent.iter().filter(|s| s.ok).count();
        drain(arrivals, &warm, ok, quiet).await;
        let log = arrivals.take(&warm);
        eprintln!(
            "  {phase} warm-up: {} events, {} received",
            w.events,
            log.first.len()
        );
    }
    let before = cpu(pg);
    let t = Instant::now();
    let p = paced(
        client,
        target,
        phase,
        args.rate,
        args.seconds,
        people,
        args.max_in_flight,
        today,
    )
    .await?;
    let ok = p.sent.iter().filter(|s| s.ok).count();
    drain(arrivals, phase, ok, quiet).await;
    let cpu = cpu_use(before, cpu(pg), t.elapsed());
    let log = arrivals.take(phase);
    Ok(Measured { paced: p, log, cpu })
}

#[derive(Debug, Clone, Serialize)]
struct Ceiling {
    events: usize,
    /// Items per POST (1: the baseline's single-event POSTs).
    batch: usize,
    /// Concurrent posters (the baseline: connections).
    posters: usize,
    posted_ok: usize,
    post_failed: usize,
    /// First POST sent to the last answered.
    post_seconds: f64,
    posted_rate: f64,
    /// First POST sent to the last event received.
    seconds: f64,
    delivered_rate: f64,
    received: usize,
    missing: usize,
    duplicates: usize,
    /// Its POST sent → received, per event.
    latency: Latency,
    /// Gatehouse only: what became of the missing events.
    missing_detail: Option<MissingDetail>,
    /// Over the phase and its drain.
    cpu: CpuUse,
}

/// As fast as `posters` concurrent closed-loop posters go: `events` in POSTs of `batch` items.
#[allow(clippy::too_many_arguments)]
async fn ceiling(
    client: &reqwest::Client,
    arrivals: &Arrivals,
    target: &Target,
    phase: &str,
    events: usize,
    batch: usize,
    posters: usize,
    people: &[String],
    today: &str,
    quiet: Duration,
    pg: bool,
) -> anyhow::Result<Ceiling> {
    let batch = batch.max(1);
    // Bodies are built before the clock starts.
    let bodies: Arc<Vec<(usize, usize, String)>> = Arc::new(
        (0..events)
            .step_by(batch)
            .map(|from| {
                let to = (from + batch).min(events);
                let items: Vec<Value> = (from..to)
                    .map(|n| alert_item(&marker(phase, n), &people[n % people.len()], today))
                    .collect();
                let body = if batch == 1 {
                    items[0].to_string()
                } else {
                    Value::Array(items).to_string()
                };
                (from, to, body)
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let before = cpu(pg);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..posters.max(1) {
        let (client, target, bodies, next) =
            (client.clone(), target.clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            // (first event, last event + 1, sent at, good answer)
            let mut out: Vec<(usize, usize, Instant, bool)> = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some((from, to, body)) = bodies.get(k) else {
                    break;
                };
                let mut req = client
                    .post(&target.url)
                    .header("content-type", "application/json")
                    .body(body.clone());
                if let Some(key) = &target.key {
                    req = req.bearer_auth(key);
                }
                let at = Instant::now();
                let ok = match req.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let text = r.text().await.unwrap_or_default();
                        if batch == 1 {
                            status == target.expect
                        } else {
                            status == 200
                                && serde_json::from_str::<Value>(&text)
                                    .ok()
                                    .and_then(|v| v["accepted"].as_u64())
                                    == Some((to - from) as u64)
                        }
                    }
                    Err(_) => false,
                };
                out.push((*from, *to, at, ok));
            }
            out
        }));
    }
    let mut posts = Vec::new();
    for t in tasks {
        posts.extend(t.await?);
    }
    let posted = t0.elapsed();
    let posted_ok: usize = posts.iter().filter(|p| p.3).map(|p| p.1 - p.0).sum();
    drain(arrivals, phase, posted_ok, quiet).await;
    let used = cpu_use(before, cpu(pg), t0.elapsed());
    let log = arrivals.take(phase);
    let mut last_rx = t0;
    let mut lat = Vec::with_capacity(posted_ok);
    let mut missing = 0;
    for (from, to, at, ok) in &posts {
        if !ok {
            continue;
        }
        for n in *from..*to {
            match log.first.get(&n) {
                Some(&r) => {
                    last_rx = last_rx.max(r);
                    lat.push(millis(r.saturating_duration_since(*at)));
                }
                None => missing += 1,
            }
        }
    }
    let seconds = last_rx.saturating_duration_since(t0).as_secs_f64();
    let received = log.first.len();
    Ok(Ceiling {
        events,
        batch,
        posters,
        posted_ok,
        post_failed: events - posted_ok,
        post_seconds: posted.as_secs_f64(),
        posted_rate: posted_ok as f64 / posted.as_secs_f64().max(1e-9),
        seconds,
        delivered_rate: received as f64 / seconds.max(1e-9),
        received,
        missing,
        duplicates: log.total - received,
        latency: latency(lat),
        missing_detail: None,
        cpu: used,
    })
}

/// What became of the events of a phase that were stored but never
/// received, from Gatehouse's own tables once the drain has ended.
#[derive(Debug, Clone, Copy, Default, Serialize)]
struct MissingDetail {
    /// A delivery row exists and is still pending (late, not lost).
    pending: usize,
    /// A delivery row exists and is dead (given up).
    dead: usize,
    /// In the outbox, past the fan-out cursor: not fanned out yet.
    not_yet_fanned_out: i64,
    /// In the outbox, behind the fan-out cursor, with no delivery row: the
    /// fan-out passed it by, and nothing will ever deliver it.
    passed_by_fan_out: i64,
}

/// The store's timestamps of each delivered event of `phase`, and what
/// became of its missing ones.
async fn store_view(
    store: &Arc<dyn gatehouse_store::Store>,
    subscription: &str,
    engine: EngineKind,
    url: &str,
    phase: &str,
) -> anyhow::Result<(HashMap<usize, StoreTimes>, MissingDetail)> {
    let mut times = HashMap::new();
    let mut detail = MissingDetail::default();
    let mut with_row = std::collections::HashSet::new();
    for d in store.deliveries(subscription, None, i64::MAX).await? {
        let m = d.event.data.pointer("/alert/id").and_then(Value::as_str);
        let Some((p, n)) = m.and_then(parse_marker) else {
            continue;
        };
        if p != phase {
            continue;
        }
        with_row.insert(d.event.seq);
        match d.status {
            DeliveryStatus::Pending => detail.pending += 1,
            DeliveryStatus::Dead => detail.dead += 1,
            DeliveryStatus::Delivered => {}
        }
        times.insert(
            n,
            StoreTimes {
                stored: d.event.recorded_at,
                fanned_out: d.created_at,
                finished: d.delivered_at,
            },
        );
    }
    // Outbox rows of this phase with no delivery row, either side of the cursor.
    let cursor = store.cursor("fanout").await?;
    let sql = "SELECT seq FROM outbox WHERE type LIKE 'uk.gatehouse.alert.%' AND data LIKE $1";
    let pattern = format!("%\"bd-{phase}-%");
    let seqs: Vec<i64> = match engine {
        EngineKind::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await?;
            let r = sqlx::query_scalar(sql)
                .bind(&pattern)
                .fetch_all(&pool)
                .await?;
            pool.close().await;
            r
        }
        EngineKind::Postgres => {
            let pool = sqlx::PgPool::connect(url).await?;
            let r = sqlx::query_scalar(sql)
                .bind(&pattern)
                .fetch_all(&pool)
                .await?;
            pool.close().await;
            r
        }
    };
    let (mut passed, mut waiting) = (0, 0);
    for seq in seqs.into_iter().filter(|s| !with_row.contains(s)) {
        if seq <= cursor {
            passed += 1;
        } else {
            waiting += 1;
        }
    }
    detail.passed_by_fan_out = passed;
    detail.not_yet_fanned_out = waiting;
    Ok((times, detail))
}

// ---------------------------------------------------------------- one engine

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    engine: &'static str,
    recorded_at: DateTime<Utc>,
    /// Gatehouse instances: 2 when one stores and the other sends.
    instances: u8,
    cores: usize,
    people: usize,
    rate: f64,
    seconds: f64,
    warmup: f64,
    baseline: RatePhase,
    gatehouse: RatePhase,
    /// Gatehouse / baseline.
    p50_ratio: f64,
    p99_ratio: f64,
    rate_ratio: f64,
    target_p99_ms: f64,
    target_rate: f64,
    ceiling: Option<Ceiling>,
    baseline_ceiling: Option<Ceiling>,
    /// Gatehouse's delivered events/s / the baseline's.
    ceiling_ratio: Option<f64>,
    /// Requests the receiver could not attribute to any event.
    unexpected: usize,
}

async fn run_engine(engine: EngineKind, args: &DeliveryArgs) -> anyhow::Result<Report> {
    let pg = engine == EngineKind::Postgres;
    let (store, url) = fresh_store_with_url(engine, "benchdelivery").await;
    let mut keys = HashMap::new();
    for (name, tpl, scope) in [
        (FEED, "prison-feed", "*"),
        (HEALTH, "prison-healthcare", ESTABLISHMENT),
    ] {
        let t = template(tpl).ok_or_else(|| anyhow::anyhow!("no template {tpl}"))?;
        let key = issue_key();
        let new = NewConsumer {
            name: name.into(),
            org_type: t.org_type,
            agreement: t.name.into(),
            agreement_text: t.text.into(),
            scope: Scope::parse(scope).map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.rule))?,
        };
        let audit = crate::operator::change("consumer", "add-consumer", &["bench"]);
        store.create_consumer(&new, &key.stored, &audit).await?;
        keys.insert(name, key.secret);
    }
    let audit_key = std::env::temp_dir().join(format!(
        "gatehouse-bench-delivery-{}.audit-key",
        uuid::Uuid::new_v4().simple()
    ));
    let instances = if pg { args.instances } else { 1 };
    let mut config = ServerConfig {
        listen: "127.0.0.1:0".parse()?,
        audit_key: Some(audit_key.clone()),
        ..ServerConfig::default()
    };
    // Two instances: the one posted to only stores and fans out.
    config.delivery.webhooks = instances == 1;
    let app = Application::build_with_store(config.clone(), store.clone()).await?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    // The sending instance: its own connections to the same database.
    let (second_stop, second) = if instances == 2 {
        let mut config = config;
        config.delivery.webhooks = true;
        let app =
            Application::build_with_store(config, gatehouse_store::connect(&url).await?).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        (Some(stop), Some(server))
    } else {
        (None, None)
    };

    let arrivals = Arc::new(Arrivals::default());
    let (receiver_addr, receiver) = start_receiver(arrivals.clone()).await?;
    let hook = format!("http://{receiver_addr}/hook");
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(args.max_in_flight.max(args.ceiling_connections))
        .timeout(Duration::from_secs(60))
        .build()?;

    // Setup: the people, received at LEI; then the subscription.
    let people = prison_numbers(args.people.max(1));
    for chunk in people.chunks(500) {
        let items: Vec<Value> = chunk.iter().map(|pn| reception(pn)).collect();
        let r = client
            .post(format!("{base}/v1/prison-events"))
            .bearer_auth(&keys[FEED])
            .json(&items)
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(
            status == 200 && v["accepted"].as_u64() == Some(chunk.len() as u64),
            "setup: receptions refused ({status}): {v}"
        );
    }
    let r = client
        .post(format!("{base}/v1/subscriptions"))
        .bearer_auth(&keys[HEALTH])
        .json(&json!({"url": hook, "eventTypes": ["uk.gatehouse.alert.*"], "establishments": []}))
        .send()
        .await?;
    let status = r.status();
    let sub: Value = r.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(
        status == 201,
        "setup: subscription refused ({status}): {sub}"
    );
    let subscription = sub["id"].as_str().unwrap_or_default().to_owned();
    let today = Utc::now().date_naive().to_string();
    eprintln!(
        "{}: {} people received at {ESTABLISHMENT}; {HEALTH} subscribed {hook}",
        engine.as_str(),
        people.len()
    );

    let direct = Target {
        url: hook.clone(),
        key: None,
        expect: 204,
    };
    let gatehouse = Target {
        url: format!("{base}/v1/prison-events"),
        key: Some(keys[FEED].clone()),
        expect: 201,
    };
    let quiet = Duration::from_secs_f64(args.drain_timeout);

    eprintln!("{}: baseline (direct to the receiver)", engine.as_str());
    let baseline = measure(
        &client, &arrivals, &direct, "base", args, &people, &today, pg,
    )
    .await?;
    let baseline = rate_phase(&baseline, args.rate, None);
    eprintln!("{}: gatehouse", engine.as_str());
    let wall = Wall::now();
    let measured = measure(
        &client, &arrivals, &gatehouse, "gh", args, &people, &today, pg,
    )
    .await?;
    // The store's own timestamps of the measured events, for the stages.
    let (times, detail) = store_view(&store, &subscription, engine, &url, "gh").await?;
    let mut measured = rate_phase(&measured, args.rate, Some((&times, wall)));
    measured.missing_detail = Some(detail);

    let (ceil, base_ceil) = if args.ceiling_events > 0 {
        eprintln!(
            "{}: ceiling: {} events as fast as possible",
            engine.as_str(),
            args.ceiling_events
        );
        let mut c = ceiling(
            &client,
            &arrivals,
            &gatehouse,
            "ceil",
            args.ceiling_events,
            args.ceiling_batch,
            args.ceiling_posters,
            &people,
            &today,
            quiet,
            pg,
        )
        .await?;
        c.missing_detail = Some(
            store_view(&store, &subscription, engine, &url, "ceil")
                .await?
                .1,
        );
        let b = ceiling(
            &client,
            &arrivals,
            &direct,
            "baseceil",
            args.ceiling_events,
            1,
            args.ceiling_connections,
            &people,
            &today,
            quiet,
            pg,
        )
        .await?;
        (Some(c), Some(b))
    } else {
        (None, None)
    };

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    if let (Some(stop), Some(server)) = (second_stop, second) {
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    }
    receiver.abort();
    let _ = std::fs::remove_file(&audit_key);
    if args.keep {
        eprintln!("kept: {url}");
    } else {
        drop_database(engine, &url).await;
    }

    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    Ok(Report {
        benchmark: "delivery",
        engine: engine.as_str(),
        recorded_at: Utc::now(),
        instances,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        people: people.len(),
        rate: args.rate,
        seconds: args.seconds,
        warmup: args.warmup,
        p50_ratio: ratio(measured.latency.p50_ms, baseline.latency.p50_ms),
        p99_ratio: ratio(measured.latency.p99_ms, baseline.latency.p99_ms),
        rate_ratio: ratio(measured.achieved_rate, baseline.achieved_rate),
        target_p99_ms: TARGET_P99_MS,
        target_rate: TARGET_RATE,
        ceiling_ratio: ceil
            .as_ref()
            .zip(base_ceil.as_ref())
            .map(|(c, b)| ratio(c.delivered_rate, b.delivered_rate)),
        ceiling: ceil,
        baseline_ceiling: base_ceil,
        baseline,
        gatehouse: measured,
        unexpected: arrivals.unexpected.load(Ordering::Relaxed),
    })
}

// ---------------------------------------------------------------- output

fn cores_text(c: &CpuUse) -> String {
    match (c.process_cores, c.postgres_cores) {
        (Some(p), Some(s)) => format!("{p:.2} cores in this process + {s:.2} in postgres"),
        (Some(p), None) => format!("{p:.2} cores in this process"),
        _ => "n/a".into(),
    }
}

/// Milliseconds, to a precision that fits their size.
fn ms(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.2}")
    } else if x < 1000.0 {
        format!("{x:.1}")
    } else {
        thousands(x)
    }
}

/// A ratio, as a multiple.
fn times(x: f64) -> String {
    if !x.is_finite() {
        "n/a".into()
    } else if x < 10.0 {
        format!("{x:.2}×")
    } else if x < 1000.0 {
        format!("{x:.0}×")
    } else {
        format!("{}×", thousands(x))
    }
}

fn missing_text(d: &MissingDetail) -> String {
    format!(
        "{} still pending, {} dead, {} not yet fanned out, {} passed by the fan-out (never to be delivered)",
        d.pending, d.dead, d.not_yet_fanned_out, d.passed_by_fan_out
    )
}

fn p50_p99(l: &Latency) -> String {
    format!("{} / {}", ms(l.p50_ms), ms(l.p99_ms))
}

fn print_report(r: &Report) {
    println!();
    println!(
        "delivery · {} · {} cores · {} people at {ESTABLISHMENT} · {} events/s for {} s after {} s warm-up",
        r.engine,
        r.cores,
        thousands(r.people as f64),
        thousands(r.rate),
        r.seconds,
        r.warmup
    );
    println!(
        "{:<33} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>4}",
        "POST sent → webhook received",
        "rate/s",
        "events",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "missing",
        "dup"
    );
    let row =
        |name: &str, rate: String, events: String, l: &Latency, missing: String, dup: String| {
            println!(
                "{:<33} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>4}",
                name,
                rate,
                events,
                ms(l.p50_ms),
                ms(l.p90_ms),
                ms(l.p99_ms),
                ms(l.p999_ms),
                ms(l.max_ms),
                missing,
                dup
            );
        };
    let (b, g) = (&r.baseline, &r.gatehouse);
    for (name, p) in [
        ("baseline: POST straight to hook", b),
        ("gatehouse: event in → webhook", g),
    ] {
        row(
            name,
            format!("{:.1}", p.achieved_rate),
            thousands(p.posted_ok as f64),
            &p.latency,
            p.missing.to_string(),
            p.duplicates.to_string(),
        );
    }
    println!(
        "{:<33} {:>8} {:>7} {:>9} {:>9} {:>9}",
        "ratio gatehouse / baseline",
        times(r.rate_ratio),
        "",
        times(r.p50_ratio),
        "",
        times(r.p99_ratio)
    );
    row(
        "gatehouse, from scheduled send",
        String::new(),
        String::new(),
        &g.latency_from_schedule,
        String::new(),
        String::new(),
    );
    println!(
        "target: p99 ≤ {} ms at {} events/s sustained. Measured: p99 {} ms at {:.0} events/s sent, {:.0}/s delivered (not asserted)",
        r.target_p99_ms,
        thousands(r.target_rate),
        ms(g.latency.p99_ms),
        g.achieved_rate,
        g.delivered_rate
    );
    if let Some(st) = &g.stages {
        println!(
            "gatehouse, ms after the POST was sent (p50 / p99): store called {} · POST answered {} · fan-out began {} · received {} · delivery recorded {}",
            p50_p99(&st.store_called),
            p50_p99(&st.answered),
            p50_p99(&st.fan_out_began),
            p50_p99(&st.received),
            p50_p99(&st.finished)
        );
    }
    if let Some(d) = &g.missing_detail
        && g.missing > 0
    {
        println!("gatehouse missing {}: {}", g.missing, missing_text(d));
    }
    let w: Vec<String> = g.windows.iter().map(|w| ms(w.p99_ms)).collect();
    println!("gatehouse p99 ms by tenth of the run: {}", w.join(" · "));
    println!(
        "sending: lag behind schedule p99 {} ms (baseline {} ms), max {} ms; last delivery {:.2} s after the last POST; {} POSTs failed",
        ms(g.send_lag.p99_ms),
        ms(b.send_lag.p99_ms),
        ms(g.send_lag.max_ms),
        g.tail_seconds,
        g.post_failed + b.post_failed
    );
    println!(
        "processor: baseline {}; gatehouse {}",
        cores_text(&b.cpu),
        cores_text(&g.cpu)
    );
    if let (Some(c), Some(bc), Some(ratio)) = (&r.ceiling, &r.baseline_ceiling, r.ceiling_ratio) {
        println!("ceiling, events/s delivered end to end (first POST sent → last event received):");
        println!(
            "  gatehouse: {} events in POSTs of {} by {} posters: {}/s (posted at {}/s; p50 {} ms, p99 {} ms; missing {}, dup {}); {}",
            thousands(c.events as f64),
            c.batch,
            c.posters,
            thousands(c.delivered_rate),
            thousands(c.posted_rate),
            ms(c.latency.p50_ms),
            ms(c.latency.p99_ms),
            c.missing,
            c.duplicates,
            cores_text(&c.cpu)
        );
        if let Some(d) = &c.missing_detail
            && c.missing > 0
        {
            println!("  gatehouse missing {}: {}", c.missing, missing_text(d));
        }
        println!(
            "  baseline:  the same events as single POSTs straight to the receiver on {} connections: {}/s (missing {}, dup {})",
            bc.posters,
            thousands(bc.delivered_rate),
            bc.missing,
            bc.duplicates
        );
        println!("  ratio gatehouse / baseline: {:.1}%", ratio * 100.0);
    }
    if r.unexpected > 0 {
        println!(
            "the receiver got {} requests it could not attribute",
            r.unexpected
        );
    }
}

pub async fn run(args: DeliveryArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    anyhow::ensure!(args.seconds > 0.0, "--seconds must be positive");
    let engines: Vec<EngineKind> = match args.engine {
        EngineChoice::Sqlite => vec![EngineKind::Sqlite],
        EngineChoice::Postgres => vec![EngineKind::Postgres],
        EngineChoice::Both => vec![EngineKind::Sqlite, EngineKind::Postgres],
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "delivery benchmark: {} events/s for {} s (after {} s warm-up), {} people, {cores} cores",
        thousands(args.rate),
        args.seconds,
        args.warmup,
        thousands(args.people as f64)
    );
    for engine in engines {
        let report = run_engine(engine, &args).await?;
        std::fs::create_dir_all(&args.out_dir)?;
        let path = args
            .out_dir
            .join(format!("delivery-{}.json", report.engine));
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
        eprintln!("figures written to {}", path.display());
        print_report(&report);
    }
    Ok(())
}
