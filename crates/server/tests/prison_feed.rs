//! The prison feed over HTTP: HMPPS envelopes and Gatehouse upserts, singly,
//! in arrays and as NDJSON; replay; out-of-order events; planned movements.

mod common;

use common::items::*;
use serde_json::{Value, json};

on_both_engines!(
    hmpps_reception_then_release_to_court_is_reflected_in_custody,
    |app: common::TestApp| async move {
        let (s, body) = app
            .feed(&hmpps(
                "prisoner-offender-search.prisoner.received",
                "A1234BC",
                5,
                json!({"prisonId": "LEI", "reason": "NEW_ADMISSION"}),
            ))
            .await;
        assert_eq!(s, 201, "{body}");
        assert_eq!(body["status"], "stored");
        assert!(body["eventId"].as_str().unwrap().starts_with("sha256:"));
        let (s, body) = app
            .feed(&hmpps(
                "prisoner-offender-search.prisoner.released",
                "A1234BC",
                1,
                json!({"prisonId": "LEI", "reason": "SENT_TO_COURT"}),
            ))
            .await;
        assert_eq!(s, 201, "{body}");
        let (s, p) = app.get_json("lei-health", "/v1/people/A1234BC").await;
        assert_eq!(s, 200);
        assert_eq!(p["custody"]["status"], "at-court");
        assert_eq!(p["custody"]["establishment"], "LEI");
        assert_eq!(p["custody"]["location"], "CRT");
        assert_eq!(p["custody"]["owner"], "prison");
        assert!(p["custody"]["source"].is_string());
        // Nothing but the prison number is known of the name: said in words, never silence.
        let missing: Vec<&str> = p["missing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert!(
            missing.contains(&"not linked to an NHS number"),
            "{missing:?}"
        );
        assert!(
            missing.iter().any(|m| m.contains("name and date of birth")),
            "{missing:?}"
        );
        let (_, moves) = app
            .get_json("lei-health", "/v1/people/A1234BC/movements")
            .await;
        assert_eq!(moves["items"].as_array().unwrap().len(), 2);
        assert_eq!(moves["items"][0]["kind"], "court-out", "newest first");
    }
);

on_both_engines!(
    a_replayed_event_changes_nothing_and_gets_the_same_answer,
    |app: common::TestApp| async move {
        let event = hmpps(
            "person.alert.created",
            "B2345CD",
            2,
            json!({"alertUuid": "6a0783ee-024e-4201-8e1f-3ead5fd2492a", "alertCode": "HA", "source": "DPS"}),
        );
        let received = reception("r1", "B2345CD", "LEI", 3);
        app.feed(&received).await;
        let first = app.feed(&event).await;
        let counts = app.counts().await;
        let again = app.feed(&event).await;
        assert_eq!(first, again);
        assert_eq!(counts, app.counts().await);
        // In a batch too.
        let batch = json!([received, event]);
        let (s, body) = app.feed(&batch).await;
        assert_eq!(s, 200);
        assert_eq!(body["accepted"], 2);
        assert_eq!(counts, app.counts().await);
    }
);

on_both_engines!(
    out_of_order_events_never_override_newer_state,
    |app: common::TestApp| async move {
        // A transfer (newer) arrives before the reception (older).
        let (s, _) = app
            .feed(&movement(
                "t",
                "C3456DE",
                1,
                json!({"kind": "transfer-out", "establishment": "LEI", "destination": "MDI"}),
            ))
            .await;
        assert_eq!(s, 201);
        let (s, body) = app.feed(&reception("r", "C3456DE", "LEI", 48)).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["status"], "superseded");
        let (_, p) = app.get_json("escort", "/v1/people/C3456DE").await;
        assert_eq!(p["custody"]["status"], "in-transit");
        assert_eq!(p["custody"]["destination"], "MDI");
        // Arrival at MDI moves responsibility: MDI healthcare now sees the person, LEI's no longer.
        app.feed(&movement("a", "C3456DE", 0, json!({"kind": "reception", "reason": "TRANSFERRED", "establishment": "MDI", "cell": "MDI-A-1-001"}))).await;
        assert_eq!(
            app.get("mdi-health", "/v1/people/C3456DE").await.status(),
            200
        );
        assert_eq!(
            app.get("lei-health", "/v1/people/C3456DE").await.status(),
            404
        );
    }
);

on_both_engines!(
    ndjson_batches_store_good_items_and_report_bad_ones,
    |app: common::TestApp| async move {
        let lines = [
            reception("n1", "D4567EF", "LEI", 10).to_string(),
            "{not json".to_string(),
            person(
                "n2",
                "D4567EF",
                "Ann",
                "Lee",
                "1980-02-03",
                Some("9434765919"),
            )
            .to_string(),
            reception("n3", "D4567EF", "ZZZ", 9).to_string(),
        ];
        let r = app
            .client
            .post(app.url("/v1/prison-events"))
            .bearer_auth(app.key("prison-feed"))
            .header("content-type", "application/x-ndjson")
            .body(lines.join("\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["accepted"], 2);
        assert_eq!(body["rejected"], 2);
        assert_eq!(body["items"][1]["problem"]["field"], "(line 2)");
        assert_eq!(
            body["items"][3]["problem"]["field"],
            "movement.establishment"
        );
        let (_, found) = app
            .get_json("lei-health", "/v1/people?nhsNumber=943%20476%205919")
            .await;
        assert_eq!(found["items"][0]["prisonNumber"], "D4567EF");
        let (_, found) = app
            .get_json(
                "lei-health",
                "/v1/people?name=Ann%20Lee&birthDate=1980-02-03",
            )
            .await;
        assert_eq!(found["items"][0]["prisonNumber"], "D4567EF");
        assert_eq!(
            found["items"][0]["identity"]["nhsNumberDisplay"],
            "943 476 5919"
        );
        // The wing terminal may find the person but not read the NHS number.
        let (_, found) = app
            .get_json("lei-wing", "/v1/people?name=Lee&birthDate=1980-02-03")
            .await;
        assert_eq!(found["items"][0]["identity"]["status"], "withheld");
        assert!(found["items"][0]["identity"]["nhsNumber"].is_null());
        // Out of scope: MDI healthcare finds nobody.
        let (_, found) = app
            .get_json("mdi-health", "/v1/people?nhsNumber=9434765919")
            .await;
        assert_eq!(found["items"].as_array().unwrap().len(), 0);
    }
);

on_both_engines!(
    atomic_batches_are_all_or_nothing,
    |app: common::TestApp| async move {
        let before = app.counts().await;
        let batch = json!([
            reception("g1", "E5678FG", "LEI", 5),
            reception("g2", "E5678FG", "NOT-A-CODE", 4)
        ]);
        let r = app
            .post_json("prison-feed", "/v1/prison-events?atomic=true", &batch)
            .await;
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["items"][0]["status"], "not-applied");
        assert_eq!(body["items"][1]["status"], "rejected");
        assert_eq!(before, app.counts().await);
        let r = app
            .post_json(
                "prison-feed",
                "/v1/prison-events?atomic=true",
                &json!([reception("g1", "E5678FG", "LEI", 5)]),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
);

on_both_engines!(
    planned_movements_flow_through_the_feed,
    |app: common::TestApp| async move {
        app.feed(&reception("r", "F6789GH", "LEI", 100)).await;
        let planned_for = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
        let plan = json!({"id": "p1", "type": "gatehouse.planned-movement", "occurredAt": at(1), "prisonNumber": "F6789GH",
        "plannedMovement": {"id": "TRF-1", "kind": "transfer", "establishment": "LEI", "destination": "MDI", "plannedFor": planned_for}});
        let (s, body) = app.feed(&plan).await;
        assert_eq!(s, 201, "{body}");
        let (_, plans) = app
            .get_json("lei-health", "/v1/people/F6789GH/planned-movements")
            .await;
        assert_eq!(plans["items"][0]["kind"], "transfer");
        assert_eq!(plans["items"][0]["destination"], "MDI");
        assert_eq!(plans["items"][0]["status"], "planned");
        let cancel = json!({"id": "p2", "type": "gatehouse.planned-movement.cancelled", "occurredAt": at(0), "prisonNumber": "F6789GH", "plannedMovementId": "TRF-1"});
        assert_eq!(app.feed(&cancel).await.0, 201);
        let (_, plans) = app
            .get_json(
                "lei-health",
                "/v1/people/F6789GH/planned-movements?status=all",
            )
            .await;
        assert_eq!(plans["items"][0]["status"], "cancelled");
    }
);

on_both_engines!(
    cell_moves_and_alert_hints_from_hmpps,
    |app: common::TestApp| async move {
        app.feed(&reception("r", "G7890HJ", "LEI", 10)).await;
        let (s, body) = app
            .feed(&hmpps(
                "prison-offender-events.prisoner.cell.move",
                "G7890HJ",
                5,
                json!({"bookingId": "1", "livingUnitId": "4088", "bedAssignmentSeq": "2"}),
            ))
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            body["status"], "acknowledged",
            "a hint with no cell is acknowledged, not guessed at: {body}"
        );
        let (s, _) = app.feed(&hmpps("prison-offender-events.prisoner.cell.move", "G7890HJ", 4, json!({"bookingId": "1", "livingUnitId": "4088", "bedAssignmentSeq": "2", "cellLocation": "LEI-A-2-014"}))).await;
        assert_eq!(s, 201);
        let (s, _) = app
            .feed(&hmpps(
                "prisoner-offender-search.prisoner.alerts-updated",
                "G7890HJ",
                3,
                json!({"bookingId": 1, "alertsAdded": ["HA", "HS"], "alertsRemoved": []}),
            ))
            .await;
        assert_eq!(s, 201);
        let (_, p) = app.get_json("lei-wing", "/v1/people/G7890HJ").await;
        assert_eq!(p["custody"]["cell"], "LEI-A-2-014");
        let (_, alerts) = app.get_json("escort", "/v1/people/G7890HJ/alerts").await;
        let codes: Vec<&str> = alerts["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes.len(), 2);
        assert!(alerts["items"][0]["relevance"] == "risk-to-self");
        assert!(alerts["items"][0]["source"] == "prison-feed");
    }
);

on_both_engines!(
    pagination_follows_next_links_without_gaps,
    |app: common::TestApp| async move {
        let batch: Vec<Value> = (0..30)
        .map(|i| movement(&format!("m{i}"), "H8901JK", 100 - i, json!({"kind": "cell-move", "establishment": "LEI", "cell": format!("LEI-A-1-{i:03}")})))
        .collect();
        assert_eq!(app.feed(&Value::Array(batch)).await.0, 200);
        let mut next = Some("/v1/people/H8901JK/movements?limit=7".to_string());
        let mut ids = vec![];
        while let Some(path) = next {
            let (s, page) = app.get_json("lei-wing", &path).await;
            assert_eq!(s, 200, "{page}");
            ids.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["id"].as_i64().unwrap()),
            );
            next = page["next"].as_str().map(str::to_owned);
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((ids.len(), unique.len()), (30, 30));
    }
);
