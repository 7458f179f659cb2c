//! `gatehouse bench svix`: the same events at the same rate to the same
//! receiver, through the open-source Svix server and through Gatehouse (the
//! demo, on SQLite), one after the other in one run (issue 12, item 8).
//! `bench/svix.sh` builds and starts Svix, then runs this.
//!
//! In this process: one webhook receiver on `127.0.0.1:0` (hyper HTTP/1.1,
//! answers 204 once the whole body is read), one `reqwest` poster, and
//! Gatehouse itself (`Application::build_with_store` on a fresh SQLite
//! database, the default delivery configuration). Svix runs as its own
//! process at `--svix-url`.
//!
//! Setup: in Svix, an application and one endpoint pointing at the receiver;
//! in Gatehouse, `--people` prison numbers received at LEI and a
//! subscription of `lei-health` to `uk.gatehouse.alert.*` at the receiver.
//!
//! Each event is one alert item. Through Svix it is the payload of one
//! `POST /api/v1/app/{app}/msg/` and arrives as that JSON (`alert.id`);
//! through Gatehouse it is one `POST /v1/prison-events` and arrives as the
//! CloudEvent's `data.alert.id`. That id is the marker `sx-<phase>-<n>`;
//! latency is receive time minus the time that event's POST was sent.
//!
//! For each `--rates` rate: Svix, then Gatehouse, each open loop at that rate
//! for `--seconds` after an unmeasured `--warmup`; then the ceiling phase:
//! `--ceiling-events` single-event POSTs as fast as `--ceiling-posters`
//! closed-loop posters can, to Svix then to Gatehouse, the figure being
//! events delivered a second end to end (first POST sent → last received).
//! After each phase it waits until every accepted event arrived, or nothing
//! arrived for `--drain-timeout` seconds, and counts missing and duplicates.

use super::common::{drop_database, thousands};
use super::delivery::{
    Arrivals, ESTABLISHMENT, FEED, HEALTH, Latency, alert_item, drain, latency, marker,
    prison_numbers, start_receiver,
};
use chrono::{DateTime, Utc};
use clap::Args;
use gatehouse_domain::Scope;
use gatehouse_policy::templates::template;
use gatehouse_server::auth::issue_key;
use gatehouse_server::{Application, ServerConfig};
use gatehouse_store::testing::fresh_store_with_url;
use gatehouse_store::{EngineKind, NewConsumer};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Args, Debug)]
pub struct SvixArgs {
    /// The Svix server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8071")]
    pub svix_url: String,
    /// A Svix API token (`svix-server jwt generate`); also read from SVIX_TOKEN.
    #[arg(long, env = "SVIX_TOKEN")]
    pub svix_token: String,
    /// Rates, events a second, each run through Svix then Gatehouse.
    #[arg(long, value_delimiter = ',', default_values_t = vec![200.0, 1000.0])]
    pub rates: Vec<f64>,
    /// Measured seconds of each rate phase.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Unmeasured seconds at the same rate before each measurement (then drained).
    #[arg(long, default_value_t = 5.0)]
    pub warmup: f64,
    /// Prison numbers received at LEI in Gatehouse's setup; events go to them in turn.
    #[arg(long, default_value_t = 2000)]
    pub people: usize,
    /// The most POSTs in flight at once during the paced phases.
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: usize,
    /// Events of the ceiling phase, for each side (0: skip it).
    #[arg(long, default_value_t = 5000)]
    pub ceiling_events: usize,
    /// Concurrent closed-loop posters in the ceiling phase.
    #[arg(long, default_value_t = 32)]
    pub ceiling_posters: usize,
    /// After a phase, stop waiting when nothing has arrived for this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub drain_timeout: f64,
    /// Where the JSON figures go (`svix.json`).
    #[arg(long, default_value = "target/bench")]
    pub out_dir: PathBuf,
}

// ---------------------------------------------------------------- the receiver

/// First arrival of each event of a phase, and all arrivals (more: duplicates).
#[derive(Default)]
// ---------------------------------------------------------------- the two sides

/// Where events go: the request for one event, and what a good answer is.
#[derive(Clone)]
struct Side {
    name: &'static str,
    url: String,
    token: String,
    /// Svix wraps the item as a message's payload.
    svix: bool,
}

impl Side {
    fn request(&self, client: &reqwest::Client, item: Value) -> reqwest::RequestBuilder {
        let body = if self.svix {
            json!({"eventType": "alert.created", "payload": item})
        } else {
            item
        };
        client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
    }
}

async fn expect_2xx(r: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{what}: {status}: {v}");
    Ok(v)
}

/// An application and one endpoint at the receiver, in Svix.
async fn svix_side(client: &reqwest::Client, args: &SvixArgs, hook: &str) -> anyhow::Result<Side> {
    let base = args.svix_url.trim_end_matches('/');
    let uid = format!("gatehouse-bench-{}", uuid::Uuid::new_v4().simple());
    let app = expect_2xx(
        client
            .post(format!("{base}/api/v1/app/"))
            .bearer_auth(&args.svix_token)
            .json(&json!({"name": uid, "uid": uid}))
            .send()
            .await?,
        "Svix: create application",
    )
    .await?;
    let app_id = app["id"].as_str().unwrap_or_default().to_owned();
    expect_2xx(
        client
            .post(format!("{base}/api/v1/app/{app_id}/endpoint/"))
            .bearer_auth(&args.svix_token)
            .json(&json!({"url": hook, "version": 1, "description": "gatehouse bench receiver"}))
            .send()
            .await?,
        "Svix: create endpoint (is 127.0.0.1 in SVIX_WHITELIST_SUBNETS?)",
    )
    .await?;
    Ok(Side {
        name: "svix",
        url: format!("{base}/api/v1/app/{app_id}/msg/"),
        token: args.svix_token.clone(),
        svix: true,
    })
}

/// Gatehouse, running in this process on a fresh SQLite database.
struct Gatehouse {
    side: Side,
    db_url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    audit_key: PathBuf,
}

async fn gatehouse_side(
    client: &reqwest::Client,
    hook: &str,
    people: &[String],
) -> anyhow::Result<Gatehouse> {
    let (store, db_url) = fresh_store_with_url(EngineKind::Sqlite, "benchsvix").await;
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
        "gatehouse-bench-svix-{}.audit-key",
        uuid::Uuid::new_v4().simple()
    ));
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse()?,
        audit_key: Some(audit_key.clone()),
        ..ServerConfig::default()
    };
    let app = Application::build_with_store(config, store).await?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));

    // The receiver listens before the subscription is made (so no first
    // delivery fails and holds a person's later events behind a retry).
    for chunk in people.chunks(500) {
        let items: Vec<Value> = chunk
            .iter()
            .map(|pn| {
                json!({
                    "id": format!("sx-reception-{pn}"),
                    "type": "gatehouse.movement",
                    "occurredAt": (Utc::now() - chrono::Duration::hours(10)).to_rfc3339(),
                    "prisonNumber": pn,
                    "movement": {"kind": "reception", "reason": "NEW_ADMISSION", "establishment": ESTABLISHMENT},
                })
            })
            .collect();
        expect_2xx(
            client
                .post(format!("{base}/v1/prison-events"))
                .bearer_auth(&keys[FEED])
                .json(&items)
                .send()
                .await?,
            "Gatehouse: receptions",
        )
        .await?;
    }
    expect_2xx(
        client
            .post(format!("{base}/v1/subscriptions"))
            .bearer_auth(&keys[HEALTH])
            .json(
                &json!({"url": hook, "eventTypes": ["uk.gatehouse.alert.*"], "establishments": []}),
            )
            .send()
            .await?,
        "Gatehouse: subscription",
    )
    .await?;
    Ok(Gatehouse {
        side: Side {
            name: "gatehouse",
            url: format!("{base}/v1/prison-events"),
            token: keys[FEED].clone(),
            svix: false,
        },
        db_url,
        stop,
        server,
        audit_key,
    })
}

// ---------------------------------------------------------------- statistics

/// One side's figures for one phase.
#[derive(Debug, Clone, Serialize)]
struct Phase {
    side: &'static str,
    /// Events a second asked for (`None`: the ceiling, as fast as possible).
    rate: Option<f64>,
    events: usize,
    accepted: usize,
    refused: usize,
    /// Accepted a second, first POST sent → last POST answered.
    accepted_rate: f64,
    /// Delivered a second, first POST sent → last event received.
    delivered_rate: f64,
    latency: Latency,
    missing: usize,
    duplicates: usize,
    /// Last delivery, seconds after the last POST was sent.
    tail_seconds: f64,
}

// ---------------------------------------------------------------- posting

/// When each event's POST was sent and whether it was accepted.
struct Posted {
    sent: Vec<Option<Instant>>,
    accepted: Vec<bool>,
    first: Instant,
    last_sent: Instant,
    last_answer: Instant,
}

fn post_one(
    client: &reqwest::Client,
    side: &Side,
    item: Value,
) -> impl std::future::Future<Output = bool> + Send + 'static {
    let req = side.request(client, item);
    async move {
        match req.send().await {
            Ok(r) => r.status().is_success(),
            Err(_) => false,
        }
    }
}

/// Open loop: event `n` is due `n / rate` s after the start, each its own task.
#[allow(clippy::too_many_arguments)]
async fn paced(
    client: &reqwest::Client,
    side: &Side,
    phase: &str,
    rate: f64,
    seconds: f64,
    people: &[String],
    max_in_flight: usize,
    today: &str,
) -> anyhow::Result<Posted> {
    let events = (rate * seconds).round().max(1.0) as usize;
    let slots = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let results = Arc::new(Mutex::new(vec![(None, false, None::<Instant>); events]));
    let first = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(events);
    for n in 0..events {
        let due = first + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let slot = slots.clone().acquire_owned().await?;
        let item = alert_item(&marker(phase, n), &people[n % people.len()], today);
        let send = post_one(client, side, item);
        let results = results.clone();
        tasks.push(tokio::spawn(async move {
            let at = Instant::now();
            let ok = send.await;
            drop(slot);
            results.lock().unwrap_or_else(|e| e.into_inner())[n] =
                (Some(at), ok, Some(Instant::now()));
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(collect(results, first))
}

/// Closed loop: `posters` tasks, each sending its next event once the last was answered.
async fn as_fast_as_possible(
    client: &reqwest::Client,
    side: &Side,
    phase: &str,
    events: usize,
    posters: usize,
    people: &[String],
    today: &str,
) -> Posted {
    let results = Arc::new(Mutex::new(vec![(None, false, None::<Instant>); events]));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let first = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..posters.max(1) {
        let (client, side, next, results) =
            (client.clone(), side.clone(), next.clone(), results.clone());
        let (phase, people, today) = (phase.to_owned(), people.to_vec(), today.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= events {
                    break;
                }
                let item = alert_item(&marker(&phase, n), &people[n % people.len()], &today);
                let at = Instant::now();
                let ok = post_one(&client, &side, item).await;
                results.lock().unwrap_or_else(|e| e.into_inner())[n] =
                    (Some(at), ok, Some(Instant::now()));
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    collect(results, first)
}

type Slot = (Option<Instant>, bool, Option<Instant>);

fn collect(results: Arc<Mutex<Vec<Slot>>>, first: Instant) -> Posted {
    let r = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
    let last_sent = r.iter().filter_map(|s| s.0).max().unwrap_or(first);
    let last_answer = r.iter().filter_map(|s| s.2).max().unwrap_or(first);
    Posted {
        sent: r.iter().map(|s| s.0).collect(),
        accepted: r.iter().map(|s| s.1).collect(),
        first,
        last_sent,
        last_answer,
    }
}

async fn measure(
    arrivals: &Arrivals,
    side: &Side,
    phase: &str,
    rate: Option<f64>,
    posted: Posted,
    quiet: Duration,
) -> Phase {
    let accepted = posted.accepted.iter().filter(|ok| **ok).count();
    drain(arrivals, phase, accepted, quiet).await;
    let log = arrivals.take(phase);
    let mut ms = Vec::with_capacity(log.first.len());
    let mut last_received = posted.first;
    for (n, at) in &log.first {
        if let Some(Some(sent)) = posted.sent.get(*n) {
            ms.push(at.saturating_duration_since(*sent).as_secs_f64() * 1000.0);
        }
        last_received = last_received.max(*at);
    }
    let missing = (0..posted.sent.len())
        .filter(|n| posted.accepted[*n] && !log.first.contains_key(n))
        .count();
    let span = |end: Instant| {
        end.saturating_duration_since(posted.first)
            .as_secs_f64()
            .max(1e-9)
    };
    Phase {
        side: side.name,
        rate,
        events: posted.sent.len(),
        accepted,
        refused: posted.sent.len() - accepted,
        accepted_rate: accepted as f64 / span(posted.last_answer),
        delivered_rate: log.first.len() as f64 / span(last_received),
        latency: latency(ms),
        missing,
        duplicates: log.total - log.first.len(),
        tail_seconds: last_received
            .saturating_duration_since(posted.last_sent)
            .as_secs_f64(),
    }
}

// ---------------------------------------------------------------- the run

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    recorded_at: DateTime<Utc>,
    cores: usize,
    svix_url: String,
    seconds: f64,
    warmup: f64,
    phases: Vec<Phase>,
    unexpected: usize,
}

fn print_report(r: &Report) {
    println!();
    println!(
        "svix side by side · {} cores · {} s per rate after {} s warm-up · POST sent → webhook received",
        r.cores, r.seconds, r.warmup
    );
    println!(
        "{:<10} {:<9} {:>7} {:>11} {:>12} {:>9} {:>9} {:>9} {:>9} {:>8} {:>5} {:>7}",
        "phase",
        "side",
        "events",
        "accepted/s",
        "delivered/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "missing",
        "dup",
        "tail s"
    );
    for p in &r.phases {
        let phase = p
            .rate
            .map_or_else(|| "ceiling".to_owned(), |x| format!("{}/s", thousands(x)));
        println!(
            "{:<10} {:<9} {:>7} {:>11} {:>12} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>8} {:>5} {:>7.2}",
            phase,
            p.side,
            thousands(p.events as f64),
            thousands(p.accepted_rate),
            thousands(p.delivered_rate),
            p.latency.p50_ms,
            p.latency.p90_ms,
            p.latency.p99_ms,
            p.latency.max_ms,
            p.missing,
            p.duplicates,
            p.tail_seconds
        );
    }
    if r.unexpected > 0 {
        println!(
            "the receiver got {} requests it could not attribute",
            r.unexpected
        );
    }
}

pub async fn run(args: SvixArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rates.iter().all(|r| *r > 0.0),
        "--rates must be positive"
    );
    anyhow::ensure!(args.seconds > 0.0, "--seconds must be positive");
    let arrivals = Arc::new(Arrivals::default());
    let (receiver, _receiver_task) = start_receiver(arrivals.clone()).await?;
    let hook = format!("http://{receiver}/hook");
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(args.max_in_flight.max(args.ceiling_posters))
        .timeout(Duration::from_secs(60))
        .build()?;
    let people = prison_numbers(args.people.max(1));
    let today = Utc::now().date_naive().to_string();
    let quiet = Duration::from_secs_f64(args.drain_timeout);

    let svix = svix_side(&client, &args, &hook).await?;
    let gatehouse = gatehouse_side(&client, &hook, &people).await?;
    eprintln!(
        "svix at {}; gatehouse (SQLite) with {} people at {ESTABLISHMENT}; both deliver to {hook}",
        args.svix_url,
        people.len()
    );

    let mut phases = Vec::new();
    for (i, rate) in args.rates.iter().copied().enumerate() {
        for side in [&svix, &gatehouse.side] {
            let tag = format!("{}{i}", side.name);
            if args.warmup > 0.0 {
                let warm = format!("{tag}w");
                let p = paced(
                    &client,
                    side,
                    &warm,
                    rate,
                    args.warmup,
                    &people,
                    args.max_in_flight,
                    &today,
                )
                .await?;
                measure(&arrivals, side, &warm, Some(rate), p, quiet).await;
            }
            eprintln!(
                "{}: {} events/s for {} s",
                side.name,
                thousands(rate),
                args.seconds
            );
            let p = paced(
                &client,
                side,
                &tag,
                rate,
                args.seconds,
                &people,
                args.max_in_flight,
                &today,
            )
            .await?;
            phases.push(measure(&arrivals, side, &tag, Some(rate), p, quiet).await);
        }
    }
    if args.ceiling_events > 0 {
        for side in [&svix, &gatehouse.side] {
            let tag = format!("{}c", side.name);
            eprintln!(
                "{}: ceiling, {} events by {} posters",
                side.name,
                thousands(args.ceiling_events as f64),
                args.ceiling_posters
            );
            let p = as_fast_as_possible(
                &client,
                side,
                &tag,
                args.ceiling_events,
                args.ceiling_posters,
                &people,
                &today,
            )
            .await;
            phases.push(measure(&arrivals, side, &tag, None, p, quiet).await);
        }
    }

    let _ = gatehouse.stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), gatehouse.server).await;
    let _ = std::fs::remove_file(&gatehouse.audit_key);
    drop_database(EngineKind::Sqlite, &gatehouse.db_url).await;

    let report = Report {
        benchmark: "svix",
        recorded_at: Utc::now(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        svix_url: args.svix_url.clone(),
        seconds: args.seconds,
        warmup: args.warmup,
        phases,
        unexpected: arrivals.unexpected.load(Ordering::Relaxed),
    };
    std::fs::create_dir_all(&args.out_dir)?;
    let path = args.out_dir.join("svix.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
    eprintln!("figures written to {}", path.display());
    print_report(&report);
    Ok(())
}
