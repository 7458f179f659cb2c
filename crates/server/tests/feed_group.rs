//! Small prison-feed writes arriving together are applied together (group
//! commit, `crates/server/src/feed_writer.rs`), and each request is still
//! answered as if it had been alone: its own outcomes, its own refusals, its
//! own audit records naming its own request. Both engines.

mod common;

use common::items::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn alert(id: &str, pn: &str) -> Value {
    json!({"id": id, "type": "gatehouse.alert", "occurredAt": at(0), "prisonNumber": pn,
           "alert": {"id": format!("al-{id}"), "code": "HA", "active": true, "activeFrom": "2026-11-01"}})
}

/// Every audit record, by request id.
async fn records_by_request(app: &common::TestApp) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut after = 0;
    loop {
        let rows = app.store.audit_rows(after, 1000).await.unwrap();
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in rows {
            let d: Value = serde_json::from_str(&r.content).unwrap();
            out.entry(d["requestId"].as_str().unwrap_or("").to_owned())
                .or_default()
                .push(d);
        }
    }
    out
}

on_both_engines!(
    concurrent_small_feed_writes_are_each_answered_and_recorded_as_their_own,
    |app: common::TestApp| async move {
        let people: Vec<String> = (0..8).map(|i| format!("G{:04}AA", 1000 + i)).collect();
        let receptions: Vec<Value> = people
            .iter()
            .enumerate()
            .map(|(i, pn)| reception(&format!("g-r{i}"), pn, "LEI", 5))
            .collect();
        let (s, _) = app.feed(&json!(receptions)).await;
        assert_eq!(s, 200);
        // 48 requests at once: singles, pairs with a refused item, and the same
        // event sent twice by two requests.
        // The same content each time (its time taken once).
        let shared = alert("g-shared", &people[0]);
        let mut tasks = Vec::new();
        for r in 0..48 {
            let client = app.client.clone();
            let url = app.url("/v1/prison-events");
            let key = app.key("prison-feed").to_owned();
            let pn = people[r % people.len()].clone();
            let body = match r % 4 {
                0 => alert(&format!("g-{r}"), &pn),
                1 => {
                    json!([alert(&format!("g-{r}"), &pn), {"id": format!("g-{r}-bad"), "type": "gatehouse.alert"}])
                }
                2 => shared.clone(),
                _ => json!([alert(&format!("g-{r}"), &pn)]),
            };
            tasks.push(tokio::spawn(async move {
                let rid = format!("group-test-{r}");
                let resp = client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("x-request-id", &rid)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let answer: Value = resp.json().await.unwrap();
                (r, rid, status, answer)
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        let records = records_by_request(&app).await;
        let mut shared_answers = Vec::new();
        for (r, rid, status, answer) in &answers {
            match r % 4 {
                0 => {
                    assert_eq!(*status, 201, "request {r}: {answer}");
                    assert_eq!(answer["eventId"], format!("g-{r}"), "request {r}: {answer}");
                    assert_eq!(records[rid].len(), 1, "request {r}: one record");
                    assert_eq!(records[rid][0]["prisonNumber"], people[r % people.len()]);
                }
                1 => {
                    assert_eq!(*status, 200, "request {r}: {answer}");
                    assert_eq!(answer["accepted"], 1, "request {r}: {answer}");
                    assert_eq!(answer["rejected"], 1, "request {r}: {answer}");
                    let items = answer["items"].as_array().unwrap();
                    assert_eq!(items[0]["index"], 0);
                    assert_eq!(items[0]["eventId"], format!("g-{r}"));
                    assert_eq!(items[1]["index"], 1);
                    assert_eq!(items[1]["status"], "rejected");
                    assert_eq!(
                        records[rid].len(),
                        1,
                        "request {r}: only the stored item is recorded"
                    );
                }
                2 => {
                    // One of the twelve stored it; a replay gets the same answer.
                    assert_eq!(answer["eventId"], "g-shared");
                    shared_answers.push((*status, answer.clone()));
                }
                _ => {
                    assert_eq!(*status, 200, "request {r}: {answer}");
                    assert_eq!(answer["items"][0]["eventId"], format!("g-{r}"));
                    assert_eq!(records[rid].len(), 1, "request {r}: one record");
                }
            }
        }
        assert_eq!(shared_answers.len(), 12);
        assert!(
            shared_answers.windows(2).all(|w| w[0] == w[1]),
            "every sender of the same event gets the same answer: {shared_answers:?}"
        );
        // Stored once: one event on the outbox for it.
        let mut seen = 0;
        let mut after = String::new();
        loop {
            let q = if after.is_empty() {
                "/v1/events?limit=500".to_owned()
            } else {
                format!("/v1/events?limit=500&after={after}")
            };
            let (s, page) = app.get_json("lei-health", &q).await;
            assert_eq!(s, 200);
            let items = page["items"].as_array().unwrap();
            seen += items
                .iter()
                .filter(|e| e["data"]["alert"]["id"] == "al-g-shared")
                .count();
            if items.is_empty() {
                break;
            }
            after = page["nextCursor"].as_str().unwrap().to_owned();
        }
        assert_eq!(seen, 1, "the shared event was stored once");
    }
);
