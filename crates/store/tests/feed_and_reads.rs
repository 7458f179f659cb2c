//! The store's behaviour, held on both engines: every test here runs once on
//! SQLite and once on PostgreSQL.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gatehouse_domain::feed::parse_item;
use gatehouse_domain::{CustodyStatus, NhsNumber, OrgType, PrisonNumber, Scope};
use gatehouse_store::testing::fresh_store;
use gatehouse_store::*;
use serde_json::{Value, json};
use std::sync::Arc;

/// Runs an async test body once per engine, as two named tests.
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

fn pn(s: &str) -> PrisonNumber {
    PrisonNumber::parse(s).unwrap()
}

fn movement(id: &str, who: &str, at: DateTime<Utc>, m: Value) -> Value {
    json!({"id": id, "type": "gatehouse.movement", "occurredAt": at.to_rfc3339(), "prisonNumber": who, "movement": m})
}

fn person(
    id: &str,
    who: &str,
    at: DateTime<Utc>,
    given: &str,
    family: &str,
    dob: &str,
    nhs: Option<&str>,
) -> Value {
    let mut p = json!({"givenName": given, "familyName": family, "dateOfBirth": dob});
    if let Some(n) = nhs {
        p["nhsNumber"] = json!(n);
    }
    json!({"id": id, "type": "gatehouse.person", "occurredAt": at.to_rfc3339(), "prisonNumber": who, "person": p})
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

async fn apply(store: &Arc<dyn Store>, values: &[Value]) -> Vec<ItemOutcome> {
    store
        .apply_feed(
            entries(values),
            BatchMode::Partial,
            "prison-feed",
            &common_audit(),
        )
        .await
        .unwrap()
}

on_both_engines!(reception_then_court_trip_derives_custody, |store: Arc<
    dyn Store,
>| async move {
    let out = apply(
        &store,
        &[
            person(
                "p1",
                "A1234BC",
                t(0),
                "Jon",
                "Smyth",
                "1985-03-04",
                Some("9434765919"),
            ),
            movement(
                "m1",
                "A1234BC",
                t(1),
                json!({"kind": "reception", "establishment": "LEI", "cell": "LEI-A-2-014"}),
            ),
            movement(
                "m2",
                "A1234BC",
                t(30),
                json!({"kind": "court-out", "establishment": "LEI"}),
            ),
        ],
    )
    .await;
    assert!(
        out.iter().all(|o| o.status == ItemStatus::Stored),
        "{out:?}"
    );
    let p = store.person(&pn("A1234BC")).await.unwrap().unwrap();
    let c = p.custody.unwrap();
    assert_eq!(c.status, CustodyStatus::AtCourt);
    assert_eq!(c.establishment.as_str(), "LEI");
    assert_eq!(p.details.unwrap().name.family_name, "Smyth");
    assert_eq!(p.nhs_link.unwrap().method, LinkMethod::PrisonFeed);

    let by_nhs = store
        .people_by_nhs_number(&NhsNumber::parse("9434765919").unwrap())
        .await
        .unwrap();
    assert_eq!(by_nhs.len(), 1);
    let by_name = store
        .people_by_name("smyth", Some("JON"), "1985-03-04".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(by_name.len(), 1);
    assert!(
        store
            .people_by_name("smyth", Some("Bob"), "1985-03-04".parse().unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    let events = store.outbox_after(0, 100).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "uk.gatehouse.identity.linked",
            "uk.gatehouse.person.details-changed",
            "uk.gatehouse.person.received",
            "uk.gatehouse.person.court-out"
        ]
    );
    let seqs: Vec<i64> = events.iter().map(|e| e.subject_seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
});

on_both_engines!(
    replay_changes_nothing_and_gets_the_same_answer,
    |store: Arc<dyn Store>| async move {
        let items = [
            movement(
                "m1",
                "B2345CD",
                t(1),
                json!({"kind": "reception", "establishment": "LEI"}),
            ),
            movement(
                "m2",
                "B2345CD",
                t(2),
                json!({"kind": "cell-move", "establishment": "LEI", "cell": "LEI-B-1-001"}),
            ),
        ];
        let first = apply(&store, &items).await;
        let before = store.counts().await.unwrap();
        let again = apply(&store, &items).await;
        assert_eq!(first, again);
        assert_eq!(before, store.counts().await.unwrap());

        // The same id with other content is refused, and changes nothing.
        let other = movement(
            "m1",
            "B2345CD",
            t(1),
            json!({"kind": "reception", "establishment": "MDI"}),
        );
        let out = apply(&store, &[other]).await;
        assert_eq!(out[0].status, ItemStatus::Rejected);
        assert_eq!(out[0].problem.as_ref().unwrap().field, "id");
        assert_eq!(before, store.counts().await.unwrap());
    }
);

on_both_engines!(
    a_late_old_event_never_overrides_a_newer_state,
    |store: Arc<dyn Store>| async move {
        // The newer movement arrives first.
        apply(
            &store,
            &[movement(
                "new",
                "C3456DE",
                t(50),
                json!({"kind": "transfer-out", "establishment": "LEI", "destination": "MDI"}),
            )],
        )
        .await;
        let out = apply(
            &store,
            &[movement(
                "old",
                "C3456DE",
                t(1),
                json!({"kind": "reception", "establishment": "LEI"}),
            )],
        )
        .await;
        assert_eq!(out[0].status, ItemStatus::Superseded, "{out:?}");
        let c = store
            .person(&pn("C3456DE"))
            .await
            .unwrap()
            .unwrap()
            .custody
            .unwrap();
        assert_eq!(c.status, CustodyStatus::InTransit);
        assert_eq!(c.destination.unwrap().as_str(), "MDI");
        let history = store
            .movements(&pn("C3456DE"), &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(history.items.len(), 2);
        assert_eq!(history.items[0].movement.occurred_at, t(50), "newest first");

        // Alerts and details follow the same rule.
        let alert = |id: &str, at, active: bool| json!({"id": id, "type": "gatehouse.alert", "occurredAt": at, "prisonNumber": "C3456DE", "alert": {"id": "al-1", "code": "HA", "active": active}});
        apply(&store, &[alert("a2", t(20).to_rfc3339(), false)]).await;
        let out = apply(&store, &[alert("a1", t(10).to_rfc3339(), true)]).await;
        assert_eq!(out[0].status, ItemStatus::Superseded);
        let alerts = store
            .alerts(&pn("C3456DE"), false, &PageRequest::first(10))
            .await
            .unwrap();
        assert!(!alerts.items[0].alert.active);

        apply(
            &store,
            &[person(
                "d2",
                "C3456DE",
                t(20),
                "New",
                "Name",
                "1990-01-01",
                None,
            )],
        )
        .await;
        let out = apply(
            &store,
            &[person(
                "d1",
                "C3456DE",
                t(10),
                "Old",
                "Name",
                "1990-01-01",
                None,
            )],
        )
        .await;
        assert_eq!(out[0].status, ItemStatus::Superseded);
        let p = store.person(&pn("C3456DE")).await.unwrap().unwrap();
        assert_eq!(p.details.unwrap().name.given_name, "New");
    }
);

on_both_engines!(
    planned_movements_are_amended_cancelled_and_replaced_by_the_real_one,
    |store: Arc<dyn Store>| async move {
        let plan = |id: &str, at: DateTime<Utc>, when: DateTime<Utc>| {
            json!({"id": id, "type": "gatehouse.planned-movement", "occurredAt": at.to_rfc3339(), "prisonNumber": "D4567EF",
               "plannedMovement": {"id": "CRT-1", "kind": "court-appearance", "establishment": "LEI", "plannedFor": when.to_rfc3339(), "description": "Leeds Crown Court"}})
        };
        apply(
            &store,
            &[movement(
                "r",
                "D4567EF",
                t(0),
                json!({"kind": "reception", "establishment": "LEI"}),
            )],
        )
        .await;
        let out = apply(
            &store,
            &[plan("p1", t(1), t(100)), plan("p2", t(2), t(120))],
        )
        .await;
        assert!(
            out.iter().all(|o| o.status == ItemStatus::Stored),
            "{out:?}"
        );
        let plans = store
            .planned_movements(&pn("D4567EF"), false)
            .await
            .unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].planned.planned_for, t(120));

        // The real court-out, near the planned time, completes the plan.
        let out = apply(
            &store,
            &[movement(
                "c",
                "D4567EF",
                t(121),
                json!({"kind": "court-out", "establishment": "LEI"}),
            )],
        )
        .await;
        assert!(
            out[0].changes.iter().any(|c| c.contains("completed")),
            "{out:?}"
        );
        assert!(
            store
                .planned_movements(&pn("D4567EF"), false)
                .await
                .unwrap()
                .is_empty()
        );
        let all = store.planned_movements(&pn("D4567EF"), true).await.unwrap();
        assert_eq!(all[0].status, gatehouse_domain::PlannedStatus::Completed);

        // Cancelling an unknown plan is refused; cancelling a held one works.
        let cancel = |id: &str, plan: &str| json!({"id": id, "type": "gatehouse.planned-movement.cancelled", "occurredAt": t(130).to_rfc3339(), "prisonNumber": "D4567EF", "plannedMovementId": plan});
        assert_eq!(
            apply(&store, &[cancel("x1", "NOPE")]).await[0].status,
            ItemStatus::Rejected
        );
        let transfer = json!({"id": "p3", "type": "gatehouse.planned-movement", "occurredAt": t(125).to_rfc3339(), "prisonNumber": "D4567EF",
        "plannedMovement": {"id": "TRF-9", "kind": "transfer", "establishment": "LEI", "destination": "MDI", "plannedFor": t(200).to_rfc3339()}});
        apply(&store, &[transfer]).await;
        assert_eq!(
            apply(&store, &[cancel("x2", "TRF-9")]).await[0].status,
            ItemStatus::Stored
        );
        assert!(
            store
                .planned_movements(&pn("D4567EF"), false)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

on_both_engines!(
    bad_items_write_nothing_and_atomic_batches_are_all_or_nothing,
    |store: Arc<dyn Store>| async move {
        let before = store.counts().await.unwrap();
        let unknown = movement(
            "u1",
            "E5678FG",
            t(1),
            json!({"kind": "reception", "establishment": "ZZZ"}),
        );
        let out = apply(&store, &[unknown.clone()]).await;
        assert_eq!(out[0].status, ItemStatus::Rejected);
        assert_eq!(
            out[0].problem.as_ref().unwrap().field,
            "movement.establishment"
        );
        assert_eq!(
            before,
            store.counts().await.unwrap(),
            "an unknown establishment leaves the store unchanged"
        );

        let good = movement(
            "g1",
            "E5678FG",
            t(1),
            json!({"kind": "reception", "establishment": "LEI"}),
        );
        let out = store
            .apply_feed(
                entries(&[good.clone(), unknown]),
                BatchMode::Atomic,
                "prison-feed",
                &common_audit(),
            )
            .await
            .unwrap();
        assert_eq!(out[0].status, ItemStatus::NotApplied);
        assert_eq!(out[1].status, ItemStatus::Rejected);
        assert_eq!(
            before,
            store.counts().await.unwrap(),
            "an atomic batch with a bad item stores nothing"
        );

        let out = apply(&store, &[good, json!({"nonsense": true})]).await;
        assert_eq!(out[0].status, ItemStatus::Stored);
        assert_eq!(out[1].status, ItemStatus::Rejected);
        assert_eq!(
            store.counts().await.unwrap().movements,
            before.movements + 1
        );
    }
);

on_both_engines!(nhs_numbers_are_never_silently_relinked, |store: Arc<
    dyn Store,
>| async move {
    apply(
        &store,
        &[person(
            "a",
            "F6789GH",
            t(0),
            "Ann",
            "Lee",
            "1970-01-01",
            Some("9434765919"),
        )],
    )
    .await;
    let before = store.counts().await.unwrap();
    let out = apply(
        &store,
        &[person(
            "b",
            "G7890HJ",
            t(1),
            "Bob",
            "Lee",
            "1971-01-01",
            Some("9434765919"),
        )],
    )
    .await;
    assert_eq!(
        out[0].status,
        ItemStatus::Rejected,
        "the same NHS number for a second person is a conflict"
    );
    let out = apply(
        &store,
        &[person(
            "c",
            "F6789GH",
            t(2),
            "Ann",
            "Lee",
            "1970-01-01",
            Some("9000000009"),
        )],
    )
    .await;
    assert_eq!(
        out[0].status,
        ItemStatus::Rejected,
        "a different NHS number never overwrites the link"
    );
    assert_eq!(before, store.counts().await.unwrap());
    assert_eq!(store.identity_links(&pn("F6789GH")).await.unwrap().len(), 1);
});

on_both_engines!(
    alerts_updated_hints_raise_and_close_by_code,
    |store: Arc<dyn Store>| async move {
        let hint = |id: &str, at: DateTime<Utc>, added: &[&str], removed: &[&str]| {
            json!({
        "id": id, "eventType": "prisoner-offender-search.prisoner.alerts-updated", "version": 1, "occurredAt": at.to_rfc3339(),
        "additionalInformation": {"nomsNumber": "H8901JK", "bookingId": 1, "alertsAdded": added, "alertsRemoved": removed},
        "personReference": {"identifiers": [{"type": "NOMS", "value": "H8901JK"}]}})
        };
        apply(&store, &[hint("h1", t(1), &["HA", "MEP"], &[])]).await;
        apply(&store, &[hint("h2", t(2), &[], &["HA"])]).await;
        let active = store
            .alerts(&pn("H8901JK"), true, &PageRequest::first(10))
            .await
            .unwrap();
        let codes: Vec<&str> = active.items.iter().map(|a| a.alert.code.as_str()).collect();
        assert_eq!(codes, ["MEP"]);
        let types: Vec<String> = store
            .outbox_after(0, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event_type)
            .collect();
        assert_eq!(
            types,
            [
                "uk.gatehouse.alert.raised",
                "uk.gatehouse.alert.raised",
                "uk.gatehouse.alert.closed"
            ]
        );
    }
);

on_both_engines!(
    pages_never_skip_or_repeat,
    |store: Arc<dyn Store>| async move {
        let items: Vec<Value> = (0..23)
        .map(|i| movement(&format!("cm{i}"), "A1111AA", t(i), json!({"kind": "cell-move", "establishment": "LEI", "cell": format!("LEI-A-1-{i:03}")})))
        .collect();
        apply(&store, &items).await;
        let mut seen = Vec::new();
        let mut page = PageRequest::first(5);
        loop {
            let p = store.movements(&pn("A1111AA"), &page).await.unwrap();
            seen.extend(p.items.iter().map(|m| m.seq));
            match p.next_cursor {
                Some(c) => {
                    page = PageRequest {
                        after: Cursor::decode(&c),
                        limit: 5,
                    }
                }
                None => break,
            }
        }
        assert_eq!(seen.len(), 23);
        let mut dedup = seen.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 23);
    }
);

on_both_engines!(
    consumers_keys_and_revocation,
    |store: Arc<dyn Store>| async move {
        let new = NewConsumer {
            name: "lei-wing".into(),
            org_type: OrgType::Prison,
            agreement: "prison-wing".into(),
            agreement_text: String::new(),
            scope: Scope::parse("LEI").unwrap(),
        };
        let key = StoredKey {
            prefix: "abcd1234".into(),
            hash: "h".repeat(64),
        };
        let c = store
            .create_consumer(&new, &key, &common_audit())
            .await
            .unwrap();
        assert!(matches!(
            store.create_consumer(&new, &key, &common_audit()).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store
                .consumer_by_key("abcd1234", &"h".repeat(64))
                .await
                .unwrap(),
            KeyLookup::Live(c.clone())
        );
        assert_eq!(
            store
                .consumer_by_key("abcd1234", &"x".repeat(64))
                .await
                .unwrap(),
            KeyLookup::Unknown
        );
        assert_eq!(
            store.consumer_by_key("nope", "x").await.unwrap(),
            KeyLookup::Unknown
        );
        assert!(
            store
                .revoke_consumer("lei-wing", &common_audit())
                .await
                .unwrap()
        );
        assert!(
            !store
                .revoke_consumer("lei-wing", &common_audit())
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .consumer_by_key("abcd1234", &"h".repeat(64))
                .await
                .unwrap(),
            KeyLookup::Revoked
        );
        assert_eq!(store.list_consumers().await.unwrap().len(), 1);
    }
);

on_both_engines!(
    concurrent_writers_keep_per_person_event_order,
    |store: Arc<dyn Store>| async move {
        // Many concurrent writes for one person: every outbox event gets a distinct, gap-free per-person sequence.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
            let v = movement(&format!("c{i}"), "B2222BB", t(i), json!({"kind": "cell-move", "establishment": "LEI", "cell": format!("LEI-C-1-{i:03}")}));
            apply(&store, &[v]).await
        }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut seqs: Vec<i64> = store
            .outbox_after(0, 1000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.subject == "B2222BB")
            .map(|e| e.subject_seq)
            .collect();
        seqs.sort();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        let c = store
            .person(&pn("B2222BB"))
            .await
            .unwrap()
            .unwrap()
            .custody
            .unwrap();
        assert_eq!(
            c.cell.unwrap().as_str(),
            "LEI-C-1-019",
            "the latest by time wins, whatever order the writers ran in"
        );
    }
);

/// The record a store write carries: these tests act as the operator would.
fn common_audit() -> gatehouse_store::WriteAudit {
    gatehouse_store::WriteAudit::system("store-test", "test", "test", vec![])
}
