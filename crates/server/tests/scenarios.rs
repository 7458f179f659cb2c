//! The acceptance scenarios of SCENARIOS.md that the point-of-need summary,
//! safety notices and events answer, end to end over HTTP as the named
//! consumers, on both engines. Each ends by checking that no notice's clinical
//! detail reached `lei-wing` or `escort`, and that the audit verifies.

mod common;

use common::items::*;
use common::receiver::{Behaviour, Receiver};
use serde_json::{Value, json};
use std::time::Duration;

const CLINICAL: &str = "CANARY-scenario-clinical";

async fn publish(app: &common::TestApp, who: &str, pn: &str, body: Value) -> Value {
    let r = app
        .post_json(who, &format!("/v1/people/{pn}/safety-notices"), &body)
        .await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn get_as(
    app: &common::TestApp,
    who: &str,
    path: &str,
    purpose: Option<&str>,
) -> (u16, Value) {
    let mut r = app.client.get(app.url(path)).bearer_auth(app.key(who));
    if let Some(p) = purpose {
        r = r.header("Gatehouse-Purpose", p);
    }
    let resp = r.send().await.unwrap();
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap_or(Value::Null))
}

async fn subscribe(app: &common::TestApp, who: &str, url: &str, types: &[&str]) {
    let r = app
        .post_json(
            who,
            "/v1/subscriptions",
            &json!({"url": url, "eventTypes": types}),
        )
        .await;
    assert_eq!(r.status(), 201);
}

/// "Always": no clinical detail reached the prison side, and the audit verifies.
async fn always(app: &common::TestApp) {
    for who in ["lei-wing", "escort"] {
        for path in [
            "/v1/people/A1234BC/summary",
            "/v1/people/B2345CD/summary",
            "/v1/people/E5678FG/summary",
            "/v1/people/F6789GH/summary",
            "/v1/people/G7890HJ/summary",
            "/v1/events?limit=500",
        ] {
            let (_, v) = get_as(app, who, path, Some("safety")).await;
            assert!(!v.to_string().contains(CLINICAL), "{who} {path}");
        }
    }
    let signer = gatehouse_server::audit::checkpoints::load_existing_key(&app.audit_key).unwrap();
    let report =
        gatehouse_server::audit::verify::verify_store(app.store.as_ref(), signer.public_key())
            .await
            .expect("the audit verifies");
    assert!(report.records > 0);
}

on_both_engines!(
    scenario_1_risk_invisible_at_the_point_of_care,
    |app: common::TestApp| async move {
        app.feed(&json!([reception("r1", "A1234BC", "LEI", 10)]))
            .await;
        let hook = Receiver::start(Behaviour::Accept).await;
        subscribe(&app, "lei-health", &hook.url, &["uk.gatehouse.alert.*"]).await;
        let (s, _) = app
            .feed(&hmpps("person.alert.created", "A1234BC", 0, json!({"alertUuid": "7d0c5a1e-1111-4a36-9a51-4f5b2b8c9d10", "alertCode": "HA", "source": "DPS"})))
            .await;
        assert!(s == 200 || s == 201, "{s}");
        let got = hook.wait_for(1, Duration::from_secs(1)).await;
        assert_eq!(got.len(), 1, "alert.raised within a second");
        let (s, summary) = app
            .get_json("lei-health", "/v1/people/A1234BC/summary")
            .await;
        assert_eq!(s, 200);
        let acct = summary["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "alert")
            .expect("the alert is listed");
        assert!(acct["title"].as_str().unwrap().contains("ACCT"), "{acct}");
        assert!(acct["source"].as_str().is_some() && acct["lastUpdated"].as_str().is_some());
        // Not in Moorland's establishments: 404, until he is received there.
        assert_eq!(
            app.get("mdi-health", "/v1/people/A1234BC/summary")
                .await
                .status(),
            404
        );
        app.feed(&json!([movement("t1", "A1234BC", 0, json!({"kind": "transfer-out", "reason": "TRANSFERRED", "establishment": "LEI", "destination": "MDI"})),
                         movement("t2", "A1234BC", 0, json!({"kind": "reception", "reason": "TRANSFERRED", "establishment": "MDI"}))])).await;
        assert_eq!(
            app.get("mdi-health", "/v1/people/A1234BC/summary")
                .await
                .status(),
            200
        );
        always(&app).await;
    }
);

on_both_engines!(
    scenario_3_transfer_without_medication,
    |app: common::TestApp| async move {
        app.feed(&json!([reception("r1", "B2345CD", "LEI", 48)]))
            .await;
        let lei = Receiver::start(Behaviour::Accept).await;
        let mdi = Receiver::start(Behaviour::Accept).await;
        let types = ["uk.gatehouse.person.medication-continuity-*"];
        subscribe(&app, "lei-health", &lei.url, &types).await;
        subscribe(&app, "mdi-health", &mdi.url, &types).await;
        publish(&app, "lei-health", "B2345CD", json!({
            "category": "time-critical-medication", "audience": ["wing", "reception", "escort"],
            "instruction": "Medicines at 08:00, 14:00 and 20:00. Must travel with 7 days' supply in hand.",
            "clinicalDetail": format!("Sodium valproate 500mg TDS. {CLINICAL}"),
            "lawfulBasis": "direct-care", "reviewBy": review_by(), "author": author()
        })).await;
        // A planned transfer to Moorland for Friday.
        let friday = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
        let (s, v) = app.feed(&json!({"id": "plan-t1", "type": "gatehouse.planned-movement", "occurredAt": at(0), "prisonNumber": "B2345CD",
            "plannedMovement": {"id": "TRF-1", "kind": "transfer", "establishment": "LEI", "destination": "MDI", "plannedFor": friday}})).await;
        assert!(s == 200 || s == 201, "{v}");
        // At once, both healthcare units hear.
        let l = lei.wait_for(1, Duration::from_secs(2)).await;
        let m = mdi.wait_for(1, Duration::from_secs(2)).await;
        assert_eq!((l.len(), m.len()), (1, 1), "both units told");
        assert_eq!(
            l[0].json()["type"],
            "uk.gatehouse.person.medication-continuity-check"
        );
        assert!(!m[0].body.contains(CLINICAL));
        let check_id = l[0].json()["data"]["checkId"].as_str().unwrap().to_owned();
        // Both summaries head with the open check (Moorland prepares for its incoming patient).
        for who in ["lei-health", "mdi-health"] {
            let (s, summary) = app.get_json(who, "/v1/people/B2345CD/summary").await;
            assert_eq!(s, 200, "{who}: {summary}");
            assert_eq!(
                summary["items"][0]["kind"], "continuity-check",
                "{who}: {summary}"
            );
            assert!(
                summary["warnings"][0]
                    .as_str()
                    .unwrap()
                    .contains("NOT confirmed")
            );
        }
        // Leeds confirms; the check closes and both are told.
        let r = app
            .post_json(
                "lei-health",
                &format!("/v1/continuity-checks/{check_id}/confirm"),
                &json!({"note": "7 days' supply packed; MDI prescriber told", "author": author()}),
            )
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(lei.wait_for(2, Duration::from_secs(2)).await.len(), 2);
        let m = mdi.wait_for(2, Duration::from_secs(2)).await;
        assert_eq!(
            m[1].json()["type"],
            "uk.gatehouse.person.medication-continuity-confirmed"
        );
        let (_, summary) = app
            .get_json("lei-health", "/v1/people/B2345CD/summary")
            .await;
        assert!(
            summary["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["kind"] != "continuity-check")
        );
        // Confirming twice is a conflict, not a second event.
        let r = app
            .post_json(
                "lei-health",
                &format!("/v1/continuity-checks/{check_id}/confirm"),
                &json!({"note": "again", "author": author()}),
            )
            .await;
        assert_eq!(r.status(), 409);
        // The planned transfer happens: no second check for the same journey.
        app.feed(&json!([movement("tr-1", "B2345CD", 0, json!({"kind": "transfer-out", "reason": "TRANSFERRED", "establishment": "LEI", "destination": "MDI"}))])).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(lei.received().len(), 2);
        always(&app).await;
    }
);

on_both_engines!(
    scenario_3_variant_an_unconfirmed_transfer_heads_the_receiving_reception_summary,
    |app: common::TestApp| async move {
        app.feed(&json!([reception("r1", "B2345CD", "LEI", 48)]))
            .await;
        publish(&app, "lei-health", "B2345CD", json!({
            "category": "medication-continuity", "audience": ["reception", "escort"],
            "instruction": "Medicines must travel with him: 7 days' supply.",
            "clinicalDetail": CLINICAL, "lawfulBasis": "direct-care", "reviewBy": review_by(), "author": author()
        })).await;
        // Moved with no plan and nothing confirmed.
        app.feed(&json!([movement("t1", "B2345CD", 1, json!({"kind": "transfer-out", "reason": "TRANSFERRED", "establishment": "LEI", "destination": "MDI"})),
                         movement("t2", "B2345CD", 0, json!({"kind": "reception", "reason": "TRANSFERRED", "establishment": "MDI"}))])).await;
        let (s, summary) = app
            .get_json("mdi-health", "/v1/people/B2345CD/summary")
            .await;
        assert_eq!(s, 200, "{summary}");
        assert_eq!(
            summary["warnings"][0],
            "medication continuity NOT confirmed: medicines must travel with this person"
        );
        assert_eq!(summary["items"][0]["kind"], "continuity-check");
        always(&app).await;
    }
);

on_both_engines!(
    scenario_6_seizure_risk_on_the_wing,
    |app: common::TestApp| async move {
        app.feed(&json!([
            movement("r1", "E5678FG", 10, json!({"kind": "reception", "reason": "NEW_ADMISSION", "establishment": "LEI", "cell": "LEI-A-2-014"})),
            movement("r2", "A1234BC", 10, json!({"kind": "reception", "reason": "NEW_ADMISSION", "establishment": "LEI", "cell": "LEI-A-2-015"})),
            movement("r3", "C3456DE", 10, json!({"kind": "reception", "reason": "NEW_ADMISSION", "establishment": "LEI", "cell": "LEI-B-1-001"})),
        ])).await;
        publish(&app, "lei-health", "E5678FG", json!({
            "category": "seizure-risk", "audience": ["wing", "escort"],
            "instruction": "Seizure risk. Look through the door at every roll check. If fitting: call code blue and note the time.",
            "condition": "epilepsy",
            "clinicalDetail": format!("Juvenile myoclonic epilepsy; levetiracetam 1g BD. {CLINICAL}"),
            "lawfulBasis": "direct-care", "reviewBy": review_by(), "author": author()
        })).await;
        // The roll of wing A, landing 2 marks E5678FG's cell.
        let (s, roll) = get_as(
            &app,
            "lei-wing",
            "/v1/establishments/LEI/wings/A/summary?landing=2",
            Some("safety"),
        )
        .await;
        assert_eq!(s, 200, "{roll}");
        let people = roll["people"].as_array().unwrap();
        assert_eq!(people.len(), 2, "landing 2 only");
        let e = people
            .iter()
            .find(|p| p["prisonNumber"] == "E5678FG")
            .unwrap();
        assert_eq!(e["cell"], "LEI-A-2-014");
        assert_eq!(e["marked"], true);
        assert_eq!(e["notices"][0], "seizure-risk");
        let other = people
            .iter()
            .find(|p| p["prisonNumber"] == "A1234BC")
            .unwrap();
        assert_eq!(other["marked"], false);
        // The summary shows the instruction; neither the condition nor the clinical detail.
        let (_, summary) = get_as(
            &app,
            "lei-wing",
            "/v1/people/E5678FG/summary",
            Some("safety"),
        )
        .await;
        let text = summary.to_string();
        assert!(text.contains("Look through the door at every roll check"));
        assert!(
            !text.contains("epilepsy")
                && !text.contains("levetiracetam")
                && !text.contains(CLINICAL),
            "{text}"
        );
        always(&app).await;
    }
);

on_both_engines!(
    scenario_7_community_record_missing,
    |app: common::TestApp| async move {
        app.feed(&json!([
            person("p1", "F6789GH", "Frank", "Example", "1990-01-01", None),
            reception("r1", "F6789GH", "LEI", 2)
        ]))
        .await;
        for who in ["lei-health", "lei-wing", "escort"] {
            let (s, summary) = get_as(&app, who, "/v1/people/F6789GH/summary", None).await;
            assert_eq!(s, 200, "{who}");
            let warnings = summary["warnings"].to_string();
            assert!(
                warnings.contains("not linked to an NHS number"),
                "{who}: {warnings}"
            );
            assert!(
                warnings.contains("no health system has confirmed this record"),
                "{who}: {warnings}"
            );
            // Never an empty section: each says what it holds.
            for s in summary["sections"].as_array().unwrap() {
                assert!(
                    !s["items"].as_array().unwrap().is_empty() || s["message"].is_string(),
                    "{who}: {s}"
                );
            }
        }
        // Healthcare links the NHS number by PDS trace: the markers go, the provenance shows.
        let r = app
            .client
            .put(app.url("/v1/people/F6789GH/nhs-number"))
            .bearer_auth(app.key("lei-health"))
            .header(
                "Gatehouse-Staff-Assertion",
                app.assertion("lei-health", "Nurse A Example"),
            )
            .json(&json!({"nhsNumber": "943 476 5919", "method": "pds-trace"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (_, summary) = app
            .get_json("lei-health", "/v1/people/F6789GH/summary")
            .await;
        let warnings = summary["warnings"].to_string();
        assert!(
            !warnings.contains("not linked") && !warnings.contains("no health system"),
            "{warnings}"
        );
        assert_eq!(summary["identity"]["method"], "pds-trace");
        assert!(
            summary["identity"]["linkedBy"]
                .as_str()
                .unwrap()
                .contains("lei-health")
        );
        // The wing sees the record is linked and confirmed, not the number.
        let (_, wing) = get_as(&app, "lei-wing", "/v1/people/F6789GH/summary", None).await;
        assert!(!wing["warnings"].to_string().contains("not linked"));
        assert!(wing["identity"]["nhsNumber"].is_null());
        // A different number is never silently written over it.
        let r = app
            .client
            .put(app.url("/v1/people/F6789GH/nhs-number"))
            .bearer_auth(app.key("lei-health"))
            .json(&json!({"nhsNumber": "9990000018", "method": "manual"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        always(&app).await;
    }
);

on_both_engines!(
    scenario_8_self_harm_history_lost_on_escort,
    |app: common::TestApp| async move {
        let alert = |id: &str, code: &str, from: &str| {
            json!({"id": id, "type": "gatehouse.alert", "occurredAt": at(1), "prisonNumber": "G7890HJ",
            "alert": {"id": format!("al-{id}"), "code": code, "active": true, "activeFrom": from}})
        };
        app.feed(&json!([
            reception("r1", "G7890HJ", "LEI", 24),
            alert("a1", "HA", "2026-11-01"),
            alert("a2", "HS", "2025-06-12")
        ]))
        .await;
        publish(&app, "lei-health", "G7890HJ", json!({
            "category": "observation-required", "audience": ["escort"],
            "instruction": "Constant observation during the journey; no ligature points.",
            "clinicalDetail": CLINICAL, "lawfulBasis": "safeguarding", "reviewBy": review_by(), "author": author()
        })).await;
        publish(&app, "lei-health", "G7890HJ", json!({
            "category": "allergy-diet", "audience": ["wing"],
            "instruction": "Wing only: gluten-free meals.", "lawfulBasis": "direct-care", "reviewBy": review_by(), "author": author()
        })).await;
        let (s, summary) =
            get_as(&app, "escort", "/v1/people/G7890HJ/summary", Some("safety")).await;
        assert_eq!(s, 200);
        let text = summary.to_string();
        assert!(text.contains("ACCT"), "ACCT open is on the sheet");
        assert!(
            text.contains("2026-11-01") && text.contains("2025-06-12"),
            "with dates: {text}"
        );
        assert!(text.contains("Constant observation during the journey"));
        assert!(
            !text.contains("gluten-free"),
            "wing-only notices are not on the escort's summary"
        );
        // Risk to self comes first.
        let items = summary["items"].as_array().unwrap();
        let first_alert = items.iter().position(|i| i["kind"] == "alert").unwrap();
        let diet = items
            .iter()
            .position(|i| i["text"].as_str().unwrap_or_default().contains("gluten"));
        assert!(diet.is_none() && first_alert < items.len());
        always(&app).await;
    }
);

/// A start time a few minutes from now, on today's (UTC) date: near midnight,
/// waits for the new day, so "the day" of an appointment and of a departure
/// are one day.
async fn soon_today(minutes: i64) -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    let start = now + chrono::Duration::minutes(minutes);
    if start.date_naive() != now.date_naive() {
        let midnight = start.date_naive().and_hms_opt(0, 0, 5).unwrap().and_utc();
        tokio::time::sleep((midnight - now).to_std().unwrap()).await;
        return chrono::Utc::now() + chrono::Duration::minutes(minutes);
    }
    start
}

async fn book(app: &common::TestApp, body: Value) -> Value {
    let r = app.post_json("lei-health", "/v1/appointments", &body).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["appointments"][0].clone()
}

async fn figures(app: &common::TestApp) -> Value {
    let (s, v) = get_as(
        app,
        "lei-wing",
        "/v1/establishments/LEI/attendance",
        Some("operations"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["figures"]["total"].clone()
}

fn events_of(got: &[common::receiver::Received], kind: &str) -> Vec<Value> {
    got.iter()
        .map(|r| r.json())
        .filter(|e| e["type"] == kind)
        .collect()
}

on_both_engines!(
    scenario_2_double_entry_of_appointments,
    |app: common::TestApp| async move {
        // (The FHIR `Appointment` interface is not built yet: this books and reads through REST.)
        app.feed(&json!([reception("r1", "A1234BC", "LEI", 10)]))
            .await;
        let tomorrow_10 = (chrono::Utc::now() + chrono::Duration::days(1))
            .date_naive()
            .and_hms_opt(10, 0, 0)
            .unwrap()
            .and_utc();
        let a = book(
            &app,
            json!({"prisonNumber": "A1234BC", "type": "MEDE", "startsAt": tomorrow_10.to_rfc3339(),
            "place": {"kind": "internal", "room": "Dental suite"}, "clinicalNote": CLINICAL}),
        )
        .await;
        // The wing's unlock list for tomorrow shows it, typed once.
        let day = tomorrow_10.date_naive();
        let (s, list) = get_as(
            &app,
            "lei-wing",
            &format!("/v1/establishments/LEI/appointments?date={day}"),
            Some("safety"),
        )
        .await;
        assert_eq!(s, 200, "{list}");
        let entries = list["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{list}");
        assert_eq!(entries[0]["appointment"]["id"], a["id"]);
        assert_eq!(entries[0]["appointment"]["type"], "MEDE");
        assert!(
            !list.to_string().contains(CLINICAL),
            "the wing never sees the clinical note"
        );
        // On the day the wing records was-not-brought / regime-curtailed: counted as WNB, never DNA.
        let before = figures(&app).await;
        let start = soon_today(3).await;
        let today = book(
            &app,
            json!({"prisonNumber": "A1234BC", "type": "MEDE", "startsAt": start.to_rfc3339(),
            "place": {"kind": "internal", "room": "Dental suite"}}),
        )
        .await;
        let r = app
            .client
            .post(app.url(&format!(
                "/v1/appointments/{}/attendance",
                today["id"].as_str().unwrap()
            )))
            .bearer_auth(app.key("lei-wing"))
            .header("Gatehouse-Purpose", "operations")
            .json(&json!({"outcome": "was-not-brought", "reason": "regime-curtailed"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let after = figures(&app).await;
        assert_eq!(
            after["wasNotBrought"].as_i64().unwrap(),
            before["wasNotBrought"].as_i64().unwrap() + 1
        );
        assert_eq!(after["wasNotBroughtByReason"]["regime-curtailed"], 1);
        assert_eq!(after["didNotAttend"], before["didNotAttend"]);
        always(&app).await;
    }
);

on_both_engines!(
    scenario_4_unannounced_movement,
    |app: common::TestApp| async move {
        app.feed(&json!([reception("r1", "C3456DE", "LEI", 10)]))
            .await;
        let hook = Receiver::start(Behaviour::Accept).await;
        subscribe(
            &app,
            "lei-health",
            &hook.url,
            &["uk.gatehouse.appointment.*"],
        )
        .await;
        // A hospital outpatient appointment, escorted, on day D (today).
        let start = soon_today(4).await;
        let a = book(&app, json!({"prisonNumber": "C3456DE", "type": "HOSP-OP", "startsAt": start.to_rfc3339(),
            "durationMinutes": 120, "place": {"kind": "external", "location": "St James's University Hospital"}, "clinicalNote": CLINICAL})).await;
        let id = a["id"].as_str().unwrap().to_owned();
        assert_eq!(a["escortNeeded"], true);
        hook.wait_for(1, Duration::from_secs(2)).await;
        // The prison feed posts a court appearance for day D.
        let posted = std::time::Instant::now();
        let (s, out) = app.feed(&json!({"id": "crt-plan", "type": "gatehouse.planned-movement", "occurredAt": at(0), "prisonNumber": "C3456DE",
            "plannedMovement": {"id": "CRT-C3456DE-1", "kind": "court-appearance", "establishment": "LEI",
                                "plannedFor": (start - chrono::Duration::minutes(2)).to_rfc3339(), "description": "Leeds Crown Court"}})).await;
        assert!(s == 200 || s == 201, "{s} {out}");
        let (_, held) = app
            .get_json("lei-health", &format!("/v1/appointments/{id}"))
            .await;
        assert_eq!(held["atRisk"], true, "{held}");
        assert_eq!(held["risks"][0]["reason"], "at-court");
        // lei-health is told the same minute.
        let got = hook.wait_for(2, Duration::from_secs(60)).await;
        let at_risk = events_of(&got, "uk.gatehouse.appointment.at-risk");
        assert_eq!(at_risk.len(), 1, "{got:?}");
        assert!(posted.elapsed() < Duration::from_secs(60));
        assert_eq!(at_risk[0]["data"]["appointmentId"], json!(id));
        assert_eq!(at_risk[0]["data"]["risks"][0]["reason"], "at-court");
        // The wing sees the risk on its unlock list.
        let (_, list) = get_as(
            &app,
            "lei-wing",
            &format!(
                "/v1/establishments/LEI/appointments?date={}",
                start.date_naive()
            ),
            Some("safety"),
        )
        .await;
        assert_eq!(
            list["entries"][0]["appointment"]["risks"][0]["reason"], "at-court",
            "{list}"
        );
        // He leaves for court on day D: the outcome is set to was-not-brought / at-court.
        app.feed(&json!([movement(
            "crt-out",
            "C3456DE",
            0,
            json!({"kind": "court-out", "reason": "SENT_TO_COURT", "establishment": "LEI"})
        )]))
        .await;
        let (_, held) = app
            .get_json("lei-health", &format!("/v1/appointments/{id}"))
            .await;
        assert_eq!(held["outcome"]["outcome"], "was-not-brought", "{held}");
        assert_eq!(held["outcome"]["reason"], "at-court");
        assert_eq!(held["outcome"]["automatic"], true);
        let got = hook.wait_for(3, Duration::from_secs(5)).await;
        assert_eq!(
            events_of(&got, "uk.gatehouse.appointment.attendance-recorded").len(),
            1,
            "{got:?}"
        );
        let f = figures(&app).await;
        assert_eq!(f["wasNotBroughtByReason"]["at-court"], 1, "{f}");
        assert_eq!(f["didNotAttend"], 0);
        always(&app).await;
    }
);

on_both_engines!(
    scenario_5_missed_hospital_appointments,
    |app: common::TestApp| async move {
        app.feed(&json!([reception("r1", "D4567EF", "LEI", 10)]))
            .await;
        let hook = Receiver::start(Behaviour::Accept).await;
        subscribe(
            &app,
            "lei-health",
            &hook.url,
            &["uk.gatehouse.appointment.attendance-recorded"],
        )
        .await;
        let start = soon_today(3).await;
        let a = book(&app, json!({"prisonNumber": "D4567EF", "type": "HOSP-OP", "startsAt": start.to_rfc3339(),
            "durationMinutes": 90, "place": {"kind": "external", "location": "Leeds General Infirmary, Outpatients B"}})).await;
        let id = a["id"].as_str().unwrap().to_owned();
        // The prison plans the escort: two officers.
        let r = app.client.put(app.url(&format!("/v1/appointments/{id}/escort"))).bearer_auth(app.key("lei-wing"))
            .header("Gatehouse-Purpose", "operations")
            .json(&json!({"officers": 2, "vehicle": "cellular-vehicle", "restraint": "handcuffs", "decidedBy": "Duty governor"}))
            .send().await.unwrap();
        assert_eq!(r.status(), 200);
        let before = figures(&app).await;
        // On the day the wing records was-not-brought / no-escort-staff.
        let recorded = std::time::Instant::now();
        let r = app
            .client
            .post(app.url(&format!("/v1/appointments/{id}/attendance")))
            .bearer_auth(app.key("lei-wing"))
            .header("Gatehouse-Purpose", "operations")
            .header(
                "Gatehouse-Staff-Assertion",
                app.assertion("lei-wing", "Officer D Example"),
            )
            .json(&json!({"outcome": "was-not-brought", "reason": "no-escort-staff"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["outcome"]["recordedBy"], "lei-wing (Officer D Example)");
        // lei-health receives attendance-recorded within a second: the health owner is told the same day.
        let got = hook.wait_for(1, Duration::from_secs(1)).await;
        assert_eq!(got.len(), 1, "attendance-recorded within a second");
        assert!(recorded.elapsed() < Duration::from_secs(2));
        let e = got[0].json();
        assert_eq!(e["data"]["outcome"], "was-not-brought");
        assert_eq!(e["data"]["reason"], "no-escort-staff");
        // LEI's figures show the WNB by reason; the DNA rate does not change.
        let after = figures(&app).await;
        assert_eq!(
            after["wasNotBroughtByReason"]["no-escort-staff"], 1,
            "{after}"
        );
        assert_eq!(after["didNotAttend"], before["didNotAttend"]);
        assert_eq!(after["didNotAttendRate"], json!(0.0));
        assert_eq!(after["wasNotBroughtRate"], json!(1.0));
        // The CSV says the same, in separate columns.
        let r = app
            .client
            .get(app.url("/v1/establishments/LEI/attendance?format=csv"))
            .bearer_auth(app.key("lei-wing"))
            .header("Gatehouse-Purpose", "operations")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = r.text().await.unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let total: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
        let col = |name: &str| total[header.iter().position(|h| *h == name).unwrap()];
        assert_eq!(col("wnb_no_escort_staff"), "1");
        assert_eq!(col("did_not_attend"), "0");
        always(&app).await;
    }
);
