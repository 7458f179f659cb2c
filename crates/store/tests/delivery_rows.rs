//! Delivery rows on both engines: a subscription starts at its creation, a
//! failing event holds its person's later events for a bounded time only, and
//! outcomes written in batches (the settler's group commit) each land on
//! their own row, with the round's subscription carried by its claims.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gatehouse_domain::feed::parse_item;
use gatehouse_store::testing::fresh_store;
use gatehouse_store::*;
use serde_json::{Value, json};
use std::sync::Arc;

macro_rules! on_both_engines {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let store = fresh_store(EngineKind::Sqlite, stringify!($name)).await;
                ($body)(store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let store = fresh_store(EngineKind::Postgres, stringify!($name)).await;
                ($body)(store).await;
            }
        }
    };
}

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::hours(h)
}

fn audit() -> WriteAudit {
    WriteAudit::system("store-test", "test", "test", vec![])
}

fn cell_move(id: &str, who: &str, h: i64, cell: &str) -> Value {
    json!({"id": id, "type": "gatehouse.movement", "occurredAt": t(h).to_rfc3339(), "prisonNumber": who,
           "movement": {"kind": "cell-move", "establishment": "LEI", "cell": cell}})
}

fn reception(id: &str, who: &str, h: i64) -> Value {
    json!({"id": id, "type": "gatehouse.movement", "occurredAt": t(h).to_rfc3339(), "prisonNumber": who,
           "movement": {"kind": "reception", "establishment": "LEI", "cell": "LEI-A-1-001"}})
}

async fn feed(store: &Arc<dyn Store>, values: &[Value]) {
    let items = values
        .iter()
        .map(|v| match parse_item(v, t(24 * 30)) {
            Ok(item) => FeedEntry::Parsed(Box::new(item)),
            Err(e) => FeedEntry::Refused(e),
        })
        .collect();
    let out = store
        .apply_feed(items, BatchMode::Partial, "prison-feed", &audit())
        .await
        .unwrap();
    assert!(
        out.iter().all(|o| o.status == ItemStatus::Stored),
        "{out:?}"
    );
}

async fn subscribe(store: &Arc<dyn Store>) -> String {
    let new = NewSubscription {
        consumer: "lei-health".into(),
        url: "http://127.0.0.1:9/hook".into(),
        event_types: vec![],
        establishments: vec![],
        secret: WebhookSecret {
            id: "s1".into(),
            secret: "whsec_MDEyMzQ1Njc4OWFiY2RlZg==".into(),
            created_at: Utc::now(),
            expires_at: None,
        },
    };
    store.create_subscription(&new, &audit()).await.unwrap().id
}

fn every(subs: &[SubscriptionRecord], _: &OutboxEvent) -> Vec<String> {
    subs.iter().map(|s| s.id.clone()).collect()
}

async fn fan_out_all(store: &Arc<dyn Store>, now: DateTime<Utc>) {
    while store.fan_out(500, now, &every).await.unwrap() > 0 {}
}

on_both_engines!(
    a_subscription_is_owed_only_events_written_after_it,
    |store: Arc<dyn Store>| async move {
        // Written, but not yet fanned out, when the subscription is made.
        feed(
            &store,
            &[
                reception("r1", "A1234BC", 1),
                cell_move("c1", "A1234BC", 2, "LEI-A-1-002"),
            ],
        )
        .await;
        let sub = subscribe(&store).await;
        feed(&store, &[cell_move("c2", "A1234BC", 3, "LEI-A-1-003")]).await;
        fan_out_all(&store, Utc::now()).await;
        let owed = store.deliveries(&sub, None, 100).await.unwrap();
        let ids: Vec<&str> = owed
            .iter()
            .map(|d| d.event.data["movement"]["cell"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            owed.len(),
            1,
            "only the event written after the subscription: {ids:?}"
        );
        // A replay still reaches back.
        let first = store.outbox_seq_at(t(-1000)).await.unwrap();
        let n = store
            .replay(&sub, first, Utc::now(), &every, &audit())
            .await
            .unwrap();
        assert_eq!(n, 3);
    }
);

on_both_engines!(
    a_failing_event_holds_its_persons_later_events_only_for_the_hold,
    |store: Arc<dyn Store>| async move {
        let sub = subscribe(&store).await;
        feed(
            &store,
            &[
                reception("r1", "A1234BC", 1),
                cell_move("c1", "A1234BC", 2, "LEI-A-1-002"),
                reception("r2", "B2345CD", 1),
            ],
        )
        .await;
        let made = Utc::now();
        fan_out_all(&store, made).await;
        let hold = Duration::seconds(60);
        let claim = |now: DateTime<Utc>| {
            let store = store.clone();
            async move {
                store
                    .claim_deliveries("w", now, now + Duration::seconds(30), now - hold, 100)
                    .await
                    .unwrap()
            }
        };
        let first = claim(made).await;
        let subjects: Vec<&str> = first.iter().map(|c| c.event.subject.as_str()).collect();
        assert_eq!(
            first.len(),
            2,
            "each person's head, not A's second: {subjects:?}"
        );
        let head = first.iter().find(|c| c.event.subject == "A1234BC").unwrap();
        let retry_at = made + Duration::minutes(5);
        store
            .finish_delivery(
                &sub,
                head.event.seq,
                made,
                &AttemptResult::Retry {
                    status: Some(503),
                    error: "down".into(),
                    next: retry_at,
                },
            )
            .await
            .unwrap();
        let b = first.iter().find(|c| c.event.subject == "B2345CD").unwrap();
        store
            .finish_delivery(
                &sub,
                b.event.seq,
                made,
                &AttemptResult::Delivered { status: 204 },
            )
            .await
            .unwrap();
        // Within the hold, A's second event waits behind the failing head.
        assert!(claim(made + Duration::seconds(59)).await.is_empty());
        // After it, it flows on; the head keeps its own retry time.
        let later = claim(made + Duration::seconds(61)).await;
        assert_eq!(later.len(), 1);
        assert!(later[0].event.seq > head.event.seq);
        store
            .finish_delivery(
                &sub,
                later[0].event.seq,
                made,
                &AttemptResult::Delivered { status: 204 },
            )
            .await
            .unwrap();
        let again = claim(retry_at).await;
        assert_eq!(again.len(), 1);
        assert_eq!(
            again[0].event.seq, head.event.seq,
            "the held event is retried on its schedule"
        );
    }
);

on_both_engines!(
    a_batch_of_outcomes_lands_each_on_its_own_delivery,
    |store: Arc<dyn Store>| async move {
        let sub = subscribe(&store).await;
        let people: Vec<String> = (0..250).map(|i| format!("A{:04}BC", 1000 + i)).collect();
        let items: Vec<Value> = people
            .iter()
            .enumerate()
            .map(|(i, pn)| reception(&format!("r{i}"), pn, 1))
            .collect();
        feed(&store, &items).await;
        // Milliseconds: PostgreSQL keeps microseconds.
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);
        fan_out_all(&store, now).await;
        let claimed = store
            .claim_deliveries(
                "w",
                now,
                now + Duration::seconds(30),
                now - Duration::seconds(60),
                1000,
            )
            .await
            .unwrap();
        assert_eq!(claimed.len(), 250, "one head per person");
        assert!(
            claimed
                .iter()
                .all(|c| c.subscription.id == sub && c.subscription_id == sub)
        );
        // More successes than fit one statement, and two failures among them.
        let retry_at = now + Duration::minutes(5);
        let done: Vec<FinishedAttempt> = claimed
            .iter()
            .enumerate()
            .map(|(i, c)| FinishedAttempt {
                subscription_id: sub.clone(),
                seq: c.event.seq,
                at: now + Duration::milliseconds(i as i64),
                result: match i {
                    7 => AttemptResult::Retry {
                        status: Some(503),
                        error: "down".into(),
                        next: retry_at,
                    },
                    8 => AttemptResult::Dead {
                        status: Some(400),
                        error: "refused".into(),
                    },
                    _ => AttemptResult::Delivered {
                        status: if i % 2 == 0 { 200 } else { 204 },
                    },
                },
            })
            .collect();
        store.finish_deliveries(&done).await.unwrap();
        let all = store.deliveries(&sub, None, 1000).await.unwrap();
        assert_eq!(all.len(), 250);
        for (i, c) in claimed.iter().enumerate() {
            let d = all.iter().find(|d| d.event.seq == c.event.seq).unwrap();
            assert_eq!(d.attempts, 1, "delivery {i}");
            match i {
                7 => {
                    assert_eq!(d.status, DeliveryStatus::Pending);
                    assert_eq!(d.next_attempt_at, retry_at);
                    assert_eq!(d.last_status, Some(503));
                }
                8 => {
                    assert_eq!(d.status, DeliveryStatus::Dead);
                    assert_eq!(d.last_error.as_deref(), Some("refused"));
                }
                _ => {
                    assert_eq!(d.status, DeliveryStatus::Delivered);
                    assert_eq!(d.delivered_at, Some(now + Duration::milliseconds(i as i64)));
                    assert_eq!(d.last_status, Some(if i % 2 == 0 { 200 } else { 204 }));
                }
            }
        }
        let s = store.subscription(&sub).await.unwrap().unwrap();
        assert_eq!(s.last_success_at, Some(now + Duration::milliseconds(249)));
        // Nothing is claimable again before the retry: the leases were released
        // by the outcomes, and the rest are finished.
        let again = store
            .claim_deliveries(
                "w",
                now,
                now + Duration::seconds(30),
                now - Duration::seconds(60),
                1000,
            )
            .await
            .unwrap();
        assert!(again.is_empty(), "{} claimable", again.len());
        let at_retry = store
            .claim_deliveries(
                "w",
                retry_at,
                retry_at + Duration::seconds(30),
                retry_at - Duration::seconds(60),
                1000,
            )
            .await
            .unwrap();
        assert_eq!(at_retry.len(), 1);
        assert_eq!(at_retry[0].event.seq, claimed[7].event.seq);
        // An empty batch is nothing.
        store.finish_deliveries(&[]).await.unwrap();
    }
);
