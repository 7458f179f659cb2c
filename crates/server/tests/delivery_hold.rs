//! The bounded hold, on both engines: one person's events go in order, but a
//! failing event holds that person's later events for at most the hold
//! (`DeliveryConfig::hold`, 1 s here); then they flow on past it, each with
//! its `sequence`, while the failing event keeps its own retry schedule.
//! Other people's events never wait for it at all.

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::items::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HOLD: Duration = Duration::from_secs(1);
/// The hold, plus room for a loaded test machine.
const WITHIN_HOLD: Duration = Duration::from_secs(4);

macro_rules! on_both_engines_with_hold {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(spawn(gatehouse_store::EngineKind::Sqlite, stringify!($name)).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(spawn(gatehouse_store::EngineKind::Postgres, stringify!($name)).await)
                    .await;
            }
        }
    };
}

async fn spawn(engine: gatehouse_store::EngineKind, tag: &str) -> common::TestApp {
    common::TestApp::spawn_with(engine, tag, |c| {
        c.delivery.hold = HOLD;
        c.delivery.poll_interval = Duration::from_millis(50);
    })
    .await
}

/// What a receiver got: the person, the alert id and when.
#[derive(Clone, Debug)]
struct Got {
    subject: String,
    alert: String,
    sequence: i64,
    status: u16,
    at: Instant,
}

type Rule = Arc<dyn Fn(&Value) -> u16 + Send + Sync>;

#[derive(Clone)]
struct Shared {
    got: Arc<Mutex<Vec<Got>>>,
    rule: Rule,
}

async fn receive(State(s): State<Shared>, body: Bytes) -> StatusCode {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let status = (s.rule)(&v);
    s.got.lock().unwrap().push(Got {
        subject: v["subject"].as_str().unwrap_or_default().to_owned(),
        alert: v["data"]["alert"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        sequence: v["sequence"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(-1),
        status,
        at: Instant::now(),
    });
    StatusCode::from_u16(status).unwrap()
}

struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    /// Serves on `listener` (so a test may reserve the address before the receiver is up).
    fn serve(listener: tokio::net::TcpListener, rule: Rule) -> Self {
        let shared = Shared {
            got: Default::default(),
            rule,
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { got: shared.got }
    }

    async fn start(rule: Rule) -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        (Self::serve(listener, rule), url)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `done` holds of what arrived, or `timeout`.
    async fn until(&self, timeout: Duration, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let end = Instant::now() + timeout;
        loop {
            let got = self.got();
            if done(&got) || Instant::now() >= end {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn alert(id: &str, pn: &str) -> Value {
    json!({"id": id, "type": "gatehouse.alert", "occurredAt": at(0), "prisonNumber": pn,
           "alert": {"id": format!("al-{id}"), "code": "HA", "active": true, "activeFrom": "2026-11-01"}})
}

const A: &str = "A1234BC";
const C: &str = "C3456DE";

async fn seed(app: &common::TestApp) {
    let (s, v) = app
        .feed(&json!([
            reception("r1", A, "LEI", 10),
            reception("r3", C, "LEI", 10)
        ]))
        .await;
    assert_eq!(s, 200, "{v}");
}

async fn subscribe(app: &common::TestApp, url: &str) {
    let r = app
        .post_json(
            "lei-health",
            "/v1/subscriptions",
            &json!({"url": url, "eventTypes": ["uk.gatehouse.alert.*"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
}

/// Each person's alerts, in the order they were written.
async fn raise(app: &common::TestApp, ids: &[(&str, &str)]) {
    let items: Vec<Value> = ids.iter().map(|(id, pn)| alert(id, pn)).collect();
    let (s, v) = app.feed(&json!(items)).await;
    assert_eq!(s, 200, "{v}");
}

fn delivered<'a>(got: &'a [Got], alert: &str) -> Option<&'a Got> {
    got.iter()
        .find(|g| g.alert == format!("al-{alert}") && g.status < 300)
}

on_both_engines_with_hold!(
    a_receiver_down_at_subscription_time_holds_each_person_only_for_the_hold,
    |app: common::TestApp| async move {
        seed(&app).await;
        // The address is reserved, then let go: nothing listens when the subscription is made.
        let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = reserved.local_addr().unwrap();
        drop(reserved);
        subscribe(&app, &format!("http://{addr}/hook")).await;
        let sent = Instant::now();
        raise(
            &app,
            &[
                ("a1", A),
                ("c1", C),
                ("a2", A),
                ("c2", C),
                ("a3", A),
                ("c3", C),
            ],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = Receiver::serve(
            tokio::net::TcpListener::bind(addr).await.unwrap(),
            Arc::new(|_: &Value| 204),
        );
        // The first attempts failed and retry in about 5 s; the later events do not wait for that.
        let later = ["a2", "a3", "c2", "c3"];
        let got = r
            .until(WITHIN_HOLD, |g| {
                later.iter().all(|a| delivered(g, a).is_some())
            })
            .await;
        for a in later {
            assert!(
                delivered(&got, a).is_some(),
                "{a} arrived within the hold: {got:?}"
            );
        }
        assert!(
            sent.elapsed() < Duration::from_millis(4500),
            "before the heads' first retry"
        );
        for pn in [A, C] {
            let seqs: Vec<i64> = got
                .iter()
                .filter(|g| g.subject == pn)
                .map(|g| g.sequence)
                .collect();
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "the later events in order: {seqs:?}"
            );
        }
        // The held events keep their own schedule and arrive at their retry.
        let got = r
            .until(Duration::from_secs(10), |g| {
                delivered(g, "a1").is_some() && delivered(g, "c1").is_some()
            })
            .await;
        assert!(
            delivered(&got, "a1").is_some() && delivered(&got, "c1").is_some(),
            "{got:?}"
        );
    }
);

on_both_engines_with_hold!(
    a_poison_event_holds_its_persons_later_events_only_for_the_hold,
    |app: common::TestApp| async move {
        seed(&app).await;
        let (r, url) = Receiver::start(Arc::new(|v: &Value| {
            if v["data"]["alert"]["id"] == "al-a1" {
                500
            } else {
                204
            }
        }))
        .await;
        subscribe(&app, &url).await;
        let sent = Instant::now();
        raise(
            &app,
            &[("a1", A), ("c1", C), ("a2", A), ("c2", C), ("a3", A)],
        )
        .await;
        let got = r
            .until(Duration::from_secs(1), |g| delivered(g, "c2").is_some())
            .await;
        assert!(
            delivered(&got, "c1").is_some() && delivered(&got, "c2").is_some(),
            "another person never waits: {got:?}"
        );
        assert!(
            delivered(&got, "a2").is_none(),
            "within the hold, order holds: {got:?}"
        );
        let got = r.until(WITHIN_HOLD, |g| delivered(g, "a3").is_some()).await;
        let a2 = delivered(&got, "a2").expect("a2 flowed on after the hold");
        let a3 = delivered(&got, "a3").expect("a3 flowed on after the hold");
        assert!(
            a2.sequence < a3.sequence && a2.at <= a3.at,
            "still in order behind the gap"
        );
        assert!(
            a2.at - sent >= HOLD - Duration::from_millis(100),
            "held for the hold"
        );
        let poison: Vec<&Got> = got.iter().filter(|g| g.alert == "al-a1").collect();
        assert!(!poison.is_empty() && poison.iter().all(|g| g.status == 500));
        assert!(
            poison[0].sequence < a2.sequence,
            "the gap is visible in the sequence"
        );
    }
);

on_both_engines_with_hold!(
    a_receiver_that_refuses_one_person_delays_nobody_else,
    |app: common::TestApp| async move {
        seed(&app).await;
        let (r, url) = Receiver::start(Arc::new(
            |v: &Value| if v["subject"] == A { 503 } else { 204 },
        ))
        .await;
        subscribe(&app, &url).await;
        raise(
            &app,
            &[
                ("a1", A),
                ("c1", C),
                ("a2", A),
                ("c2", C),
                ("a3", A),
                ("c3", C),
            ],
        )
        .await;
        let got = r
            .until(Duration::from_secs(1), |g| {
                ["c1", "c2", "c3"].iter().all(|c| delivered(g, c).is_some())
            })
            .await;
        assert!(
            ["c1", "c2", "c3"]
                .iter()
                .all(|c| delivered(&got, c).is_some()),
            "{got:?}"
        );
        // Every one of the refused person's events is offered within the hold, not one per retry wait.
        let tried = |g: &[Got], a: &str| g.iter().any(|x| x.alert == format!("al-{a}"));
        let got = r
            .until(WITHIN_HOLD, |g| {
                ["a1", "a2", "a3"].iter().all(|a| tried(g, a))
            })
            .await;
        assert!(["a1", "a2", "a3"].iter().all(|a| tried(&got, a)), "{got:?}");
        let seqs: Vec<i64> = got
            .iter()
            .filter(|g| g.subject == A)
            .map(|g| g.sequence)
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "first offers in order: {seqs:?}"
        );
    }
);
