//! Real-time events on both engines: signed webhooks to entitled subscribers
//! only, in order per person, retried on the schedule, dead letters, replay,
//! secret rotation, a dead endpoint that delays nobody else, the pull feed
//! with long-poll, and two instances on PostgreSQL delivering each event once, the
//! one woken by the other's commit (LISTEN/NOTIFY) rather than its poll.

mod common;

use common::items::*;
use common::receiver::{Behaviour, Receiver};
use gatehouse_server::delivery::clock::Clock;
use gatehouse_server::delivery::signing;
use serde_json::{Value, json};
use std::time::Duration;

async fn subscribe(
    app: &common::TestApp,
    who: &str,
    url: &str,
    types: &[&str],
    ests: &[&str],
) -> Value {
    let r = app
        .post_json(
            who,
            "/v1/subscriptions",
            &json!({"url": url, "eventTypes": types, "establishments": ests}),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

fn acct_alert(id: &str, pn: &str) -> Value {
    json!({"id": id, "type": "gatehouse.alert", "occurredAt": at(0), "prisonNumber": pn,
           "alert": {"id": format!("al-{id}"), "code": "HA", "active": true, "activeFrom": "2026-11-01"}})
}

async fn seed(app: &common::TestApp) {
    let (s, _) = app
        .feed(&json!([
            reception("r1", "A1234BC", "LEI", 10),
            reception("r2", "B2345CD", "MDI", 10)
        ]))
        .await;
    assert_eq!(s, 200);
}

on_both_engines!(
    scenario_1_an_acct_alert_reaches_healthcare_at_its_establishment_within_a_second_and_nowhere_else,
    |app: common::TestApp| async move {
        seed(&app).await;
        let lei = Receiver::start(Behaviour::Accept).await;
        let mdi = Receiver::start(Behaviour::Accept).await;
        let lei_sub = subscribe(&app, "lei-health", &lei.url, &["uk.gatehouse.alert.*"], &[]).await;
        subscribe(&app, "mdi-health", &mdi.url, &["uk.gatehouse.alert.*"], &[]).await;
        let secret = lei_sub["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));

        let sent = std::time::Instant::now();
        let (s, _) = app.feed(&json!([acct_alert("acct-1", "A1234BC")])).await;
        assert_eq!(s, 200);
        let got = lei.wait_for(1, Duration::from_secs(1)).await;
        assert_eq!(got.len(), 1, "the LEI healthcare subscriber heard within a second");
        let latency = got[0].at - sent;
        assert!(latency < Duration::from_secs(1), "{latency:?}");
        let ev = got[0].json();
        assert_eq!(ev["specversion"], "1.0");
        assert_eq!(ev["type"], "uk.gatehouse.alert.raised");
        assert_eq!(ev["subject"], "A1234BC");
        assert_eq!(ev["id"], got[0].id.as_str(), "webhook-id is the event id");
        assert_eq!(ev["data"]["alert"]["code"], "HA");
        assert_eq!(ev["data"]["href"], "/v1/people/A1234BC/alerts");
        assert!(signing::verify(&secret, &got[0].id, got[0].timestamp, got[0].body.as_bytes(), &got[0].signature));
        assert!((chrono::Utc::now().timestamp() - got[0].timestamp).abs() < 5);

        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(mdi.received().is_empty(), "another establishment's subscriber heard nothing");
        // Every delivery is a disclosure.
        let (_, d) = app.get_json("ig", "/v1/people/A1234BC/disclosures").await;
        assert!(d.to_string().contains("event:webhook"), "{d}");
    }
);

on_both_engines!(
    one_persons_events_arrive_in_order_and_deliveries_are_logged,
    |app: common::TestApp| async move {
        seed(&app).await;
        let r = Receiver::start(Behaviour::Accept).await;
        let sub = subscribe(&app, "lei-health", &r.url, &[], &["LEI"]).await;
        let mut items = Vec::new();
        for i in 0..20 {
            items.push(movement(&format!("cm-{i}"), "A1234BC", 9 - i / 4, json!({"kind": "cell-move", "establishment": "LEI", "cell": format!("LEI-A-1-{:03}", i + 1)})));
        }
        let (s, v) = app.feed(&json!(items)).await;
        assert_eq!(s, 200, "{v}");
        let got = r.wait_for(20, Duration::from_secs(5)).await;
        let seqs: Vec<i64> = got
            .iter()
            .map(|g| g.json()["sequence"].as_str().unwrap().parse().unwrap())
            .collect();
        let mut sorted = seqs.clone();
        sorted.sort();
        assert_eq!(seqs, sorted, "in per-person order");
        assert!(seqs.len() >= 20);
        // The receiver answers before the sender records the delivery: wait for the log to catch up.
        let mut logged = 0;
        for _ in 0..50 {
            let (s, log) = app
                .get_json(
                    "lei-health",
                    &format!(
                        "/v1/subscriptions/{}/deliveries?status=delivered&limit=100",
                        sub["id"].as_str().unwrap()
                    ),
                )
                .await;
            assert_eq!(s, 200);
            logged = log.as_array().unwrap().len();
            if logged >= 20 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(logged >= 20, "{logged} deliveries logged");
    }
);

on_both_engines!(
    a_dead_endpoint_never_delays_another_subscriber,
    |app: common::TestApp| async move {
        seed(&app).await;
        let hanging = Receiver::start(Behaviour::Hang).await;
        let fine = Receiver::start(Behaviour::Accept).await;
        subscribe(&app, "lei-health", &hanging.url, &[], &[]).await;
        subscribe(
            &app,
            "escort",
            &fine.url,
            &["uk.gatehouse.alert.*"],
            &["LEI"],
        )
        .await;
        for i in 0..5 {
            let (s, _) = app
                .feed(&json!([acct_alert(&format!("x{i}"), "A1234BC")]))
                .await;
            assert_eq!(s, 200);
            let got = fine.wait_for(i + 1, Duration::from_secs(1)).await;
            assert_eq!(
                got.len(),
                i + 1,
                "the healthy subscriber is not held up by the hanging one"
            );
        }
    }
);

on_both_engines!(
    a_failing_receiver_is_retried_on_the_schedule_then_dead_lettered_disabled_and_replayed,
    |app: common::TestApp| async move {
        let start = chrono::Utc::now();
        let clock = Clock::manual(start);
        let app = common::TestApp::spawn_with(app.store.engine(), "retries", |c| {
            c.delivery.clock = clock.clone();
            c.delivery.poll_interval = Duration::from_millis(20);
        })
        .await;
        seed(&app).await;
        let r = Receiver::start(Behaviour::Answer(500)).await;
        let sub = subscribe(
            &app,
            "lei-health",
            &r.url,
            &["uk.gatehouse.alert.raised"],
            &[],
        )
        .await;
        let id = sub["id"].as_str().unwrap().to_owned();
        let (s, _) = app.feed(&json!([acct_alert("retry-1", "A1234BC")])).await;
        assert_eq!(s, 200);
        assert_eq!(
            r.wait_for(1, Duration::from_secs(2)).await.len(),
            1,
            "the first attempt is at once"
        );
        let delays = gatehouse_server::delivery::schedule::DELAYS_SECS;
        let mut expected_next = start;
        for (i, d) in delays.iter().enumerate() {
            // The receiver has attempt i + 1; its outcome is recorded a moment
            // later. Move the clock only then: jumped hours ahead while the
            // attempt is still in flight, the clock would pass its 30 s lease
            // and it would be claimed again (no real clock jumps like that).
            let mut recorded = false;
            for _ in 0..100 {
                let (_, list) = app
                    .get_json("lei-health", &format!("/v1/subscriptions/{id}/deliveries"))
                    .await;
                if list[0]["attempts"] == i + 1 {
                    recorded = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(recorded, "attempt {} was recorded", i + 1);
            // Not before its time (less 10% jitter)…
            clock.advance(chrono::Duration::milliseconds(d * 1000 * 89 / 100));
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert_eq!(r.received().len(), i + 1, "attempt {} came early", i + 2);
            // …and on time (plus 10% jitter).
            clock.advance(chrono::Duration::milliseconds(d * 1000 * 22 / 100));
            let got = r.wait_for(i + 2, Duration::from_secs(2)).await;
            assert_eq!(got.len(), i + 2, "attempt {} after {d}s", i + 2);
            expected_next += chrono::Duration::seconds(*d);
            assert_eq!(
                got[i + 1].id,
                got[0].id,
                "every retry carries the original webhook-id"
            );
        }
        let _ = expected_next;
        // Eight attempts over more than a day: a dead letter, and the endpoint disabled.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, dead) = app
            .get_json(
                "lei-health",
                &format!("/v1/subscriptions/{id}/deliveries?status=dead"),
            )
            .await;
        let dead = dead.as_array().unwrap().clone();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0]["attempts"], 8);
        assert_eq!(dead[0]["lastStatus"], 500);
        let (_, s) = app
            .get_json("lei-health", &format!("/v1/subscriptions/{id}"))
            .await;
        assert_eq!(s["status"], "disabled", "{s}");
        // Events raised while disabled wait; nothing is lost.
        let (st, _) = app.feed(&json!([acct_alert("retry-2", "A1234BC")])).await;
        assert_eq!(st, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(r.received().len(), 8);
        // The owner fixes the receiver, re-enables, and replays the dead letter.
        r.set(Behaviour::Accept);
        let resp = app
            .post_json(
                "lei-health",
                &format!("/v1/subscriptions/{id}/enable"),
                &json!({}),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let got = r.wait_for(9, Duration::from_secs(2)).await;
        assert_eq!(got.len(), 9, "the waiting event is delivered on re-enable");
        let first_id = got[0].id.clone();
        let resp = app
            .post_json(
                "lei-health",
                &format!("/v1/subscriptions/{id}/replay"),
                &json!({"fromEventId": first_id}),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["replayed"], 2);
        let got = r.wait_for(11, Duration::from_secs(2)).await;
        assert_eq!(
            got[9].id, first_id,
            "replay in order, with the original ids"
        );
        assert_eq!(got[10].id, got[8].id);
    }
);

on_both_engines!(
    secrets_rotate_with_both_signatures_while_the_old_one_lives,
    |app: common::TestApp| async move {
        seed(&app).await;
        let r = Receiver::start(Behaviour::Accept).await;
        let sub = subscribe(&app, "lei-health", &r.url, &["uk.gatehouse.alert.*"], &[]).await;
        let old = sub["secret"].as_str().unwrap().to_owned();
        let id = sub["id"].as_str().unwrap();
        let resp = app
            .post_json(
                "lei-health",
                &format!("/v1/subscriptions/{id}/secret"),
                &json!({"keepOldForSeconds": 3600}),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let rotated: Value = resp.json().await.unwrap();
        let new = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(old, new);
        assert_eq!(rotated["secrets"].as_array().unwrap().len(), 2);
        let (_, listed) = app.get_json("lei-health", "/v1/subscriptions").await;
        assert!(
            !listed.to_string().contains("whsec_"),
            "secrets are shown once only"
        );
        app.feed(&json!([acct_alert("rot-1", "A1234BC")])).await;
        let got = r.wait_for(1, Duration::from_secs(2)).await;
        let g = &got[0];
        assert_eq!(g.signature.split(' ').count(), 2);
        assert!(signing::verify(
            &old,
            &g.id,
            g.timestamp,
            g.body.as_bytes(),
            &g.signature
        ));
        assert!(signing::verify(
            &new,
            &g.id,
            g.timestamp,
            g.body.as_bytes(),
            &g.signature
        ));
    }
);

on_both_engines!(
    subscriptions_refuse_bad_input_and_stay_private_to_their_owner,
    |app: common::TestApp| async move {
        let before = app.store.subscriptions(None).await.unwrap().len();
        for (who, body, status) in [
            ("lei-health", json!({"url": "ftp://x.example/hook"}), 400),
            ("lei-health", json!({"url": "not a url"}), 400),
            (
                "lei-health",
                json!({"url": "http://receiver.example/hook"}),
                400,
            ),
            (
                "lei-health",
                json!({"url": "https://x.example/h", "eventTypes": ["uk.gatehouse.nope"]}),
                400,
            ),
            (
                "lei-health",
                json!({"url": "https://x.example/h", "establishments": ["MDI"]}),
                403,
            ),
            (
                "lei-health",
                json!({"url": "https://x.example/h", "establishments": ["lei"]}),
                400,
            ),
            (
                "lei-health",
                json!({"url": "https://x.example/h", "extra": 1}),
                400,
            ),
            ("ig", json!({"url": "https://x.example/h"}), 403),
        ] {
            let r = app.post_json(who, "/v1/subscriptions", &body).await;
            assert_eq!(r.status().as_u16(), status, "{who} {body}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
        }
        assert_eq!(app.store.subscriptions(None).await.unwrap().len(), before);
        let sub = subscribe(
            &app,
            "lei-health",
            "https://receiver.example/hook",
            &["uk.gatehouse.person.*"],
            &["LEI"],
        )
        .await;
        let path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());
        assert_eq!(app.get("mdi-health", &path).await.status(), 404);
        assert_eq!(app.get("lei-health", &path).await.status(), 200);
        let r = app
            .client
            .delete(app.url(&path))
            .bearer_auth(app.key("mdi-health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = app
            .client
            .delete(app.url(&path))
            .bearer_auth(app.key("lei-health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(app.get("lei-health", &path).await.status(), 404);
    }
);

on_both_engines!(
    the_pull_feed_gives_each_consumer_its_view_and_long_polls,
    |app: common::TestApp| async move {
        seed(&app).await;
        // The wing at LEI sees LEI's events only (a short long-poll: the fan-out
        // makes events final a moment after the write that raised them).
        let (s, page) = app
            .get_json("lei-wing", "/v1/events?limit=500&wait=5")
            .await;
        assert_eq!(s, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(!items.is_empty());
        assert!(items.iter().all(|e| e["establishment"] == "LEI"), "{page}");
        let cursor = page["nextCursor"].as_str().unwrap().to_owned();
        // Nothing new: a long poll waits, and answers as soon as an event arrives.
        let url = app.url(&format!("/v1/events?after={cursor}&wait=10"));
        let key = app.key("lei-wing").to_owned();
        let client = app.client.clone();
        let started = std::time::Instant::now();
        let waiting = tokio::spawn(async move {
            client
                .get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.feed(&json!([acct_alert("poll-1", "A1234BC")])).await;
        let page = waiting.await.unwrap();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert_eq!(page["items"][0]["type"], "uk.gatehouse.alert.raised");
        // Bad cursors and limits are 400s.
        for q in ["after=zzz", "limit=0", "limit=501", "wait=31", "after=e-1"] {
            let (s, _) = app.get_json("lei-wing", &format!("/v1/events?{q}")).await;
            assert_eq!(s, 400, "{q}");
        }
        // Governance reviews disclosures; it does not take the event stream.
        let (s, _) = app.get_json("ig", "/v1/events").await;
        assert_eq!(s, 403);
    }
);

on_both_engines!(
    notice_events_follow_the_notice_view,
    |app: common::TestApp| async move {
        seed(&app).await;
        let wing = Receiver::start(Behaviour::Accept).await;
        subscribe(
            &app,
            "lei-wing",
            &wing.url,
            &["uk.gatehouse.safety-notice.*"],
            &[],
        )
        .await;
        let notice = |audience: &str| {
            json!({
                "category": "allergy-diet", "audience": [audience],
                "instruction": "Nut-free meals only.", "lawfulBasis": "direct-care",
                "clinicalDetail": "CANARY-event-clinical",
                "reviewBy": (chrono::Utc::now() + chrono::Duration::days(30)).date_naive().to_string(),
                "author": {"role": "Dietitian", "registration": {"body": "HCPC", "number": "DT12345"}}
            })
        };
        for audience in ["healthcare-only", "wing"] {
            let r = app
                .post_json(
                    "lei-health",
                    "/v1/people/A1234BC/safety-notices",
                    &notice(audience),
                )
                .await;
            assert_eq!(r.status(), 201);
        }
        let got = wing.wait_for(1, Duration::from_secs(2)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got = if got.len() == 1 { wing.received() } else { got };
        assert_eq!(got.len(), 1, "only the notice meant for the wing");
        let ev = got[0].json();
        assert_eq!(ev["data"]["audience"][0], "wing");
        assert_eq!(ev["data"]["view"], "instruction");
        assert!(!got[0].body.contains("CANARY") && !got[0].body.contains("Nut-free"));
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_postgres_deliver_each_event_once() {
    let app = common::TestApp::spawn(gatehouse_store::EngineKind::Postgres, "two_instances").await;
    let second = app.another_instance().await;
    let r = Receiver::start(Behaviour::Accept).await;
    subscribe(&app, "lei-health", &r.url, &[], &[]).await;
    seed(&app).await;
    // Writes land on both instances, so both dispatchers are woken and race for the same deliveries.
    let client = reqwest::Client::new();
    let mut n = 0;
    for batch in 0..10 {
        let items: Vec<Value> = (0..20)
            .map(|i| {
                acct_alert(
                    &format!("two-{batch}-{i}"),
                    if i % 2 == 0 { "A1234BC" } else { "C3456DE" },
                )
            })
            .collect();
        if batch == 0 {
            app.feed(&json!([reception("r3", "C3456DE", "LEI", 10)]))
                .await;
            n += 1;
        }
        let base = if batch % 2 == 0 {
            app.base.clone()
        } else {
            second.base.clone()
        };
        let resp = client
            .post(format!("{base}/v1/prison-events"))
            .bearer_auth(app.key("prison-feed"))
            .json(&json!(items))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        n += 20;
    }
    let expected = n + 1; // and A1234BC's reception (B2345CD is at MDI: not this consumer's)
    let got = r.wait_for(expected, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let got = if got.len() >= expected {
        r.received()
    } else {
        got
    };
    let mut ids: Vec<&str> = got.iter().map(|g| g.id.as_str()).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected, "every event delivered");
    assert_eq!(total, expected, "and none twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_written_on_one_instance_is_sent_by_another_without_waiting_for_its_poll() {
    // The writing instance sends no webhooks; the sending one polls only every
    // minute, so only the commit's notification can wake it in time.
    let app = common::TestApp::spawn_with(
        gatehouse_store::EngineKind::Postgres,
        "listen_notify",
        |c| c.delivery.webhooks = false,
    )
    .await;
    seed(&app).await;
    let r = Receiver::start(Behaviour::Accept).await;
    subscribe(&app, "lei-health", &r.url, &["uk.gatehouse.alert.*"], &[]).await;
    let _sender = app
        .another_instance_with(|c| c.delivery.poll_interval = Duration::from_secs(60))
        .await;
    // Let the sender's first round (at start-up) pass.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..3 {
        let (s, _) = app
            .feed(&json!([acct_alert(&format!("ln-{i}"), "A1234BC")]))
            .await;
        assert_eq!(s, 200);
        let got = r.wait_for(i + 1, Duration::from_secs(5)).await;
        assert_eq!(got.len(), i + 1, "event {i} was sent by the other instance");
    }
}

on_both_engines!(
    concurrent_writers_lose_no_event_to_webhooks_or_the_pull_feed,
    |app: common::TestApp| async move {
        // Many writers at once: on PostgreSQL their transactions commit out of
        // outbox-sequence order, which a naive cursor would skip past for ever.
        let people: Vec<String> = (0..16).map(|i| format!("W{:04}AA", 1000 + i)).collect();
        let receptions: Vec<Value> = people
            .iter()
            .enumerate()
            .map(|(i, pn)| reception(&format!("cw-r{i}"), pn, "LEI", 5))
            .collect();
        app.feed(&json!(receptions)).await;
        let r = Receiver::start(Behaviour::Accept).await;
        subscribe(&app, "lei-health", &r.url, &["uk.gatehouse.alert.*"], &[]).await;
        let mut tasks = Vec::new();
        for (w, pn) in people.iter().enumerate() {
            let client = app.client.clone();
            let url = app.url("/v1/prison-events");
            let key = app.key("prison-feed").to_owned();
            let pn = pn.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..20 {
                    let item = acct_alert(&format!("cw-{w}-{i}"), &pn);
                    let resp = client
                        .post(&url)
                        .bearer_auth(&key)
                        .json(&item)
                        .send()
                        .await
                        .unwrap();
                    assert!(resp.status().is_success());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let expected = 16 * 20;
        let got = r.wait_for(expected, Duration::from_secs(20)).await;
        let mut ids: Vec<String> = got.iter().map(|g| g.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), expected, "every event reached the webhook");
        // The pull feed, paged from the start, also has every one.
        let mut seen = std::collections::BTreeSet::new();
        let mut after = String::new();
        for _ in 0..50 {
            let q = if after.is_empty() {
                "/v1/events?limit=500".to_owned()
            } else {
                format!("/v1/events?limit=500&after={after}")
            };
            let (s, page) = app.get_json("lei-health", &q).await;
            assert_eq!(s, 200);
            for e in page["items"].as_array().unwrap() {
                if e["type"] == "uk.gatehouse.alert.raised" {
                    seen.insert(e["id"].as_str().unwrap().to_owned());
                }
            }
            after = page["nextCursor"].as_str().unwrap().to_owned();
            if seen.len() == expected {
                break;
            }
        }
        assert_eq!(seen.len(), expected, "every event is in the pull feed");
    }
);
