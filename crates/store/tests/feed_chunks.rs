//! The feed applied a chunk at a time (set-based, engine/queries/feed_set.rs):
//! what an item sees of earlier items in the same chunk, duplicates and
//! refusals inside a chunk, and the item-by-item fallback after an
//! unexpected database error giving the same outcomes. Both engines.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gatehouse_domain::feed::parse_item;
use gatehouse_domain::{CustodyStatus, PrisonNumber};
use gatehouse_store::testing::{execute_raw, fresh_store, fresh_store_with_url};
use gatehouse_store::*;
use serde_json::{Value, json};
use std::sync::Arc;

macro_rules! on_both_engines {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(EngineKind::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(EngineKind::Postgres).await;
            }
        }
    };
}

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::hours(h)
}

fn pn(s: &str) -> PrisonNumber {
    PrisonNumber::parse(s).unwrap()
}

fn movement(id: &str, who: &str, at: DateTime<Utc>, m: Value) -> Value {
    json!({"id": id, "type": "gatehouse.movement", "occurredAt": at.to_rfc3339(), "prisonNumber": who, "movement": m})
}

fn person(id: &str, who: &str, at: DateTime<Utc>, family: &str) -> Value {
    json!({"id": id, "type": "gatehouse.person", "occurredAt": at.to_rfc3339(), "prisonNumber": who,
           "person": {"givenName": "Sam", "familyName": family, "dateOfBirth": "1990-01-02"}})
}

fn alert(id: &str, who: &str, at: DateTime<Utc>, active: bool) -> Value {
    json!({"id": id, "type": "gatehouse.alert", "occurredAt": at.to_rfc3339(), "prisonNumber": who,
           "alert": {"id": "al-1", "code": "HA", "active": active}})
}

fn court_plan(id: &str, who: &str, at: DateTime<Utc>, when: DateTime<Utc>) -> Value {
    json!({"id": id, "type": "gatehouse.planned-movement", "occurredAt": at.to_rfc3339(), "prisonNumber": who,
           "plannedMovement": {"id": format!("CRT-{who}"), "kind": "court-appearance", "establishment": "LEI", "plannedFor": when.to_rfc3339()}})
}

fn entries(values: &[Value]) -> Vec<FeedEntry> {
    values
        .iter()
        .map(|v| match parse_item(v, t(24 * 30)) {
            Ok(item) => FeedEntry::Parsed(Box::new(item)),
            Err(e) => FeedEntry::Refused(e),
        })
        .collect()
}

fn audit() -> WriteAudit {
    WriteAudit::system("store-test", "test", "test", vec![])
}

async fn apply(store: &Arc<dyn Store>, values: &[Value]) -> Vec<ItemOutcome> {
    store
        .apply_feed(entries(values), BatchMode::Partial, "prison-feed", &audit())
        .await
        .unwrap()
}

/// What an outcome says, without its index.
fn said(o: &ItemOutcome) -> (Option<String>, ItemStatus, Vec<String>) {
    (o.event_id.clone(), o.status, o.changes.clone())
}

/// The outbox as a receiver would compare it: type, person, per-person sequence.
async fn outbox(store: &Arc<dyn Store>) -> Vec<(String, String, i64)> {
    store
        .outbox_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event_type, e.subject, e.subject_seq))
        .collect()
}

on_both_engines!(one_chunk_sees_its_own_earlier_items, |engine| async move {
    let store = fresh_store(engine, "chunk_sees_itself").await;
    let out = apply(
        &store,
        &[
            person("p1", "A1111AA", t(0), "Lane"),
            movement(
                "m1",
                "A1111AA",
                t(1),
                json!({"kind": "reception", "establishment": "LEI", "cell": "LEI-A-1-001"}),
            ),
            alert("a1", "A1111AA", t(2), true),
            court_plan("c1", "A1111AA", t(3), t(48)),
            alert("a2", "A1111AA", t(4), false),
            movement(
                "m2",
                "A1111AA",
                t(47),
                json!({"kind": "court-out", "establishment": "LEI"}),
            ),
            person("p2", "A1111AA", t(48), "Lane-Hill"),
        ],
    )
    .await;
    assert!(
        out.iter().all(|o| o.status == ItemStatus::Stored),
        "{out:?}"
    );
    assert_eq!(out[2].changes, ["alert HA raised"]);
    assert_eq!(out[4].changes, ["alert HA closed"]);
    assert!(
        out[5]
            .changes
            .iter()
            .any(|c| c.contains("completed by this movement")),
        "{:?}",
        out[5].changes
    );
    assert_eq!(out[6].changes, ["details updated"]);

    let p = store.person(&pn("A1111AA")).await.unwrap().unwrap();
    assert_eq!(p.custody.unwrap().status, CustodyStatus::AtCourt);
    assert_eq!(p.details.unwrap().name.family_name, "Lane-Hill");
    let types: Vec<(String, i64)> = outbox(&store)
        .await
        .into_iter()
        .map(|(t, _, s)| (t, s))
        .collect();
    assert_eq!(
        types,
        [
            ("uk.gatehouse.person.details-changed".to_string(), 1),
            ("uk.gatehouse.person.received".to_string(), 2),
            ("uk.gatehouse.alert.raised".to_string(), 3),
            ("uk.gatehouse.planned-movement.scheduled".to_string(), 4),
            ("uk.gatehouse.alert.closed".to_string(), 5),
            ("uk.gatehouse.person.court-out".to_string(), 6),
            ("uk.gatehouse.planned-movement.completed".to_string(), 7),
            ("uk.gatehouse.person.details-changed".to_string(), 8),
        ]
    );
    let alerts = store
        .alerts(&pn("A1111AA"), false, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(alerts.items.len(), 1);
    assert!(!alerts.items[0].alert.active);
});

on_both_engines!(duplicate_event_ids_inside_one_chunk, |engine| async move {
    let store = fresh_store(engine, "chunk_duplicates").await;
    let reception = movement(
        "m1",
        "B2222BB",
        t(1),
        json!({"kind": "reception", "establishment": "LEI"}),
    );
    let other_content = movement(
        "m1",
        "B2222BB",
        t(2),
        json!({"kind": "reception", "establishment": "MDI"}),
    );
    let out = apply(&store, &[reception.clone(), reception, other_content]).await;
    assert_eq!(out[0].status, ItemStatus::Stored);
    assert_eq!(
        said(&out[1]),
        said(&out[0]),
        "a replay inside the chunk gets the first answer"
    );
    assert_eq!(out[1].index, 1);
    assert_eq!(out[2].status, ItemStatus::Rejected);
    assert!(out[2].problem.as_ref().unwrap().conflict);
    let history = store
        .movements(&pn("B2222BB"), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(history.items.len(), 1);
    assert_eq!(outbox(&store).await.len(), 1);
});

on_both_engines!(
    a_refusal_mid_chunk_leaves_the_rest_standing,
    |engine| async move {
        let store = fresh_store(engine, "chunk_refusal").await;
        let out = apply(
        &store,
        &[
            movement("m1", "C3333CC", t(1), json!({"kind": "reception", "establishment": "LEI"})),
            // Refused: nothing of it is written, not even its person.
            movement("m2", "D4444DD", t(1), json!({"kind": "reception", "establishment": "ZZZ"})),
            json!({"id": "x1", "type": "gatehouse.planned-movement.cancelled", "occurredAt": t(2).to_rfc3339(),
                   "prisonNumber": "E5555EE", "plannedMovementId": "NOPE"}),
            movement("m3", "C3333CC", t(3), json!({"kind": "court-out", "establishment": "LEI"})),
        ],
    )
    .await;
        let statuses: Vec<ItemStatus> = out.iter().map(|o| o.status).collect();
        assert_eq!(
            statuses,
            [
                ItemStatus::Stored,
                ItemStatus::Rejected,
                ItemStatus::Rejected,
                ItemStatus::Stored
            ]
        );
        assert!(store.person(&pn("D4444DD")).await.unwrap().is_none());
        assert!(store.person(&pn("E5555EE")).await.unwrap().is_none());
        assert_eq!(
            store
                .person(&pn("C3333CC"))
                .await
                .unwrap()
                .unwrap()
                .custody
                .unwrap()
                .status,
            CustodyStatus::AtCourt
        );
        let seqs: Vec<i64> = outbox(&store)
            .await
            .into_iter()
            .map(|(_, _, s)| s)
            .collect();
        assert_eq!(seqs, [1, 2]);
        // A refused item is not in the ledger: sent again, it is judged again.
        let again = apply(
            &store,
            &[movement(
                "m2",
                "D4444DD",
                t(1),
                json!({"kind": "reception", "establishment": "LEI"}),
            )],
        )
        .await;
        assert_eq!(again[0].status, ItemStatus::Stored);
    }
);

on_both_engines!(
    a_database_error_mid_chunk_falls_back_to_item_by_item,
    |engine| async move {
        // The same feed into two stores; in one, a trigger makes the set-based
        // write of a carried-out plan fail (the item-by-item path updates the plan
        // instead of inserting it), so that chunk goes item by item.
        let control = fresh_store(engine, "chunk_fault_control").await;
        let (faulty, url) = fresh_store_with_url(engine, "chunk_fault").await;
        let first = [
            movement(
                "r",
                "F6666FF",
                t(0),
                json!({"kind": "reception", "establishment": "LEI"}),
            ),
            court_plan("c1", "F6666FF", t(1), t(48)),
        ];
        let second = [
            alert("a1", "F6666FF", t(2), true),
            movement(
                "bad",
                "G7777GG",
                t(2),
                json!({"kind": "reception", "establishment": "ZZZ"}),
            ),
            person("p1", "G7777GG", t(3), "Moss"),
            movement(
                "m1",
                "F6666FF",
                t(47),
                json!({"kind": "court-out", "establishment": "LEI"}),
            ),
            alert("a2", "F6666FF", t(48), false),
        ];
        for store in [&control, &faulty] {
            apply(store, &first).await;
        }
        match engine {
        EngineKind::Sqlite => {
            execute_raw(&url, "CREATE TRIGGER inject_fault BEFORE INSERT ON planned_movements WHEN NEW.status = 'completed' BEGIN SELECT RAISE(ABORT, 'injected fault'); END").await
        }
        _ => {
            execute_raw(&url, "CREATE FUNCTION inject_fault() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql").await;
            execute_raw(&url, "CREATE TRIGGER inject_fault BEFORE INSERT ON planned_movements FOR EACH ROW WHEN (NEW.status = 'completed') EXECUTE FUNCTION inject_fault()").await;
        }
    }
        let expected = apply(&control, &second).await;
        let got = apply(&faulty, &second).await;
        assert!(
            expected[3]
                .changes
                .iter()
                .any(|c| c.contains("completed by this movement")),
            "{expected:?}"
        );
        assert_eq!(
            got.iter().map(said).collect::<Vec<_>>(),
            expected.iter().map(said).collect::<Vec<_>>()
        );
        assert_eq!(outbox(&faulty).await, outbox(&control).await);
        for who in ["F6666FF", "G7777GG"] {
            let (a, b) = (
                faulty.person(&pn(who)).await.unwrap().unwrap(),
                control.person(&pn(who)).await.unwrap().unwrap(),
            );
            assert_eq!(
                (a.details, a.custody, a.incoming),
                (b.details, b.custody, b.incoming)
            );
        }
    }
);
