//! The appointments API over HTTP, on both engines: who may do what, clear
//! errors for bad input (never a 500, never a half-written record), versions,
//! corrections with history, closures, unlock lists and figures.

mod common;

use common::items::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn call(
    app: &common::TestApp,
    method: Method,
    who: &str,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(app.key(who));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap_or(Value::Null))
}

fn later(days: i64, hour: u32) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .date_naive()
        .and_hms_opt(hour, 0, 0)
        .unwrap()
        .and_utc()
        .to_rfc3339()
}

fn dentist(pn: &str, at: &str) -> Value {
    json!({"prisonNumber": pn, "type": "MEDE", "startsAt": at, "place": {"kind": "internal", "room": "Dental suite"},
           "clinician": "Dental surgeon", "clinicalNote": "Extraction UL6"})
}

async fn setup(app: &common::TestApp) {
    let (s, _) = app
        .feed(&json!([
            person("p1", "A1234BC", "John", "Smith", "1980-02-03", Some("9434765919")),
            movement("r1", "A1234BC", 10, json!({"kind": "reception", "reason": "NEW_ADMISSION", "establishment": "LEI", "cell": "LEI-B-1-007"})),
            movement("r2", "B2345CD", 10, json!({"kind": "reception", "reason": "NEW_ADMISSION", "establishment": "LEI", "cell": "LEI-A-2-014"})),
            reception("r3", "C3456DE", "MDI", 10),
        ]))
        .await;
    assert_eq!(s, 200);
}

on_both_engines!(
    bad_bookings_are_refused_whole_and_nothing_is_written,
    |app: common::TestApp| async move {
        setup(&app).await;
        let before = app.counts().await;
        let (s, v) = call(&app, Method::POST, "lei-health", "/v1/appointments",
        Some(json!({"prisonNumber": "not-a-number", "type": "NOPE", "startsAt": "yesterday", "place": {"kind": "moon"}, "repeat": {"every": "week", "count": 400}})), &[]).await;
        assert_eq!(s, 400, "{v}");
        let fields: Vec<&str> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        for f in [
            "prisonNumber",
            "type",
            "startsAt",
            "place.kind",
            "repeat.count",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        let (s, _) = call(
            &app,
            Method::POST,
            "lei-health",
            "/v1/appointments",
            Some(json!({"prisonNumber": "A1234BC", "unknown": 1})),
            &[],
        )
        .await;
        assert_eq!(s, 400);
        // A prison consumer may not book: healthcare owns appointments.
        let (s, _) = call(
            &app,
            Method::POST,
            "lei-wing",
            "/v1/appointments",
            Some(dentist("A1234BC", &later(2, 10))),
            &[],
        )
        .await;
        assert_eq!(s, 403);
        // Another prison's healthcare cannot see the person at all.
        let (s, _) = call(
            &app,
            Method::POST,
            "mdi-health",
            "/v1/appointments",
            Some(dentist("A1234BC", &later(2, 10))),
            &[],
        )
        .await;
        assert_eq!(s, 404);
        // Someone not in custody here has nowhere to be seen.
        let (s, _) = call(
            &app,
            Method::POST,
            "lei-health",
            "/v1/appointments",
            Some(dentist("Z9999ZZ", &later(2, 10))),
            &[],
        )
        .await;
        assert_eq!(s, 404);
        let after = app.counts().await;
        assert_eq!(after.outbox, before.outbox);
        assert_eq!(
            (after.appointments, after.appointment_history),
            (before.appointments, before.appointment_history)
        );
    }
);

on_both_engines!(
    the_owner_changes_with_versions_and_the_prison_sees_no_clinical_field,
    |app: common::TestApp| async move {
        setup(&app).await;
        let (s, booked) = call(
            &app,
            Method::POST,
            "lei-health",
            "/v1/appointments",
            Some(dentist("A1234BC", &later(3, 10))),
            &[],
        )
        .await;
        assert_eq!(s, 201, "{booked}");
        let a = &booked["appointments"][0];
        let id = a["id"].as_str().unwrap();
        assert_eq!(a["clinicalNote"], "Extraction UL6");
        assert_eq!(a["owner"], "lei-health");
        // The wing sees the booking, never the health-only fields.
        let (s, wing) = call(
            &app,
            Method::GET,
            "lei-wing",
            &format!("/v1/appointments/{id}"),
            None,
            &[("Gatehouse-Purpose", "safety")],
        )
        .await;
        assert_eq!(s, 200);
        assert!(
            wing.get("clinicalNote").is_none() && wing.get("clinician").is_none(),
            "{wing}"
        );
        // The wing may not change it.
        let (s, _) = call(
            &app,
            Method::PATCH,
            "lei-wing",
            &format!("/v1/appointments/{id}"),
            Some(json!({"startsAt": later(4, 10), "reason": "x"})),
            &[],
        )
        .await;
        assert_eq!(s, 403);
        // A change from a stale version is refused; from the current one it is stored.
        let (s, _) = call(
            &app,
            Method::PATCH,
            "lei-health",
            &format!("/v1/appointments/{id}"),
            Some(json!({"startsAt": later(4, 11), "reason": "clinic moved"})),
            &[("If-Match", "\"7\"")],
        )
        .await;
        assert_eq!(s, 412);
        let (s, changed) = call(
            &app,
            Method::PATCH,
            "lei-health",
            &format!("/v1/appointments/{id}"),
            Some(json!({"startsAt": later(4, 11), "reason": "clinic moved"})),
            &[("If-Match", "\"1\"")],
        )
        .await;
        assert_eq!(s, 200, "{changed}");
        assert_eq!(changed["version"], 2);
        // A change that changes nothing, and a cancel that also moves, are refused.
        let (s, _) = call(
            &app,
            Method::PATCH,
            "lei-health",
            &format!("/v1/appointments/{id}"),
            Some(json!({"reason": "nothing"})),
            &[],
        )
        .await;
        assert_eq!(s, 400);
        let (s, _) = call(
            &app,
            Method::PATCH,
            "lei-health",
            &format!("/v1/appointments/{id}"),
            Some(json!({"status": "cancelled", "startsAt": later(5, 9), "reason": "x"})),
            &[],
        )
        .await;
        assert_eq!(s, 400);
        // Escorts are for external appointments only.
        let (s, _) = call(
            &app,
            Method::PUT,
            "lei-wing",
            &format!("/v1/appointments/{id}/escort"),
            Some(json!({"officers": 2, "vehicle": "car", "restraint": "none", "decidedBy": "SO"})),
            &[],
        )
        .await;
        assert_eq!(s, 422);
        // Attendance cannot be recorded before the day.
        let (s, v) = call(
            &app,
            Method::POST,
            "lei-wing",
            &format!("/v1/appointments/{id}/attendance"),
            Some(json!({"outcome": "attended"})),
            &[],
        )
        .await;
        assert_eq!(s, 422, "{v}");
        // Cancelled by its owner; the history keeps every step and no health-only field.
        let (s, _) = call(
            &app,
            Method::PATCH,
            "lei-health",
            &format!("/v1/appointments/{id}"),
            Some(json!({"status": "cancelled", "reason": "dentist on leave"})),
            &[],
        )
        .await;
        assert_eq!(s, 200);
        let (s, h) = call(
            &app,
            Method::GET,
            "lei-wing",
            &format!("/v1/appointments/{id}/history"),
            None,
            &[("Gatehouse-Purpose", "safety")],
        )
        .await;
        assert_eq!(s, 200);
        let kinds: Vec<&str> = h["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["booked", "changed", "cancelled"]);
        assert!(!h.to_string().contains("Extraction"), "{h}");
        // The person's list hides cancelled ones unless asked.
        let (_, list) = call(
            &app,
            Method::GET,
            "lei-wing",
            "/v1/people/A1234BC/appointments",
            None,
            &[("Gatehouse-Purpose", "safety")],
        )
        .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0);
        let (_, list) = call(
            &app,
            Method::GET,
            "lei-wing",
            "/v1/people/A1234BC/appointments?include=cancelled",
            None,
            &[("Gatehouse-Purpose", "safety")],
        )
        .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
    }
);

on_both_engines!(
    attendance_rules_by_side_with_corrections,
    |app: common::TestApp| async move {
        setup(&app).await;
        let start = (chrono::Utc::now() + chrono::Duration::minutes(2)).to_rfc3339();
        let mut body = dentist("B2345CD", &start);
        body["type"] = json!("MEDO");
        let (s, booked) = call(
            &app,
            Method::POST,
            "lei-health",
            "/v1/appointments",
            Some(body),
            &[],
        )
        .await;
        assert_eq!(s, 201);
        let id = booked["appointments"][0]["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/appointments/{id}/attendance");
        // A DNA reason is not a WNB reason, and the reverse.
        let (s, v) = call(
            &app,
            Method::POST,
            "lei-wing",
            &path,
            Some(json!({"outcome": "did-not-attend", "reason": "no-escort-staff"})),
            &[],
        )
        .await;
        assert_eq!(s, 400, "{v}");
        let (s, _) = call(
            &app,
            Method::POST,
            "lei-wing",
            &path,
            Some(json!({"outcome": "was-not-brought", "reason": "refused"})),
            &[],
        )
        .await;
        assert_eq!(s, 400);
        // Rescheduling is healthcare's decision.
        let (s, _) = call(
            &app,
            Method::POST,
            "lei-wing",
            &path,
            Some(json!({"outcome": "rescheduled"})),
            &[],
        )
        .await;
        assert_eq!(s, 403);
        // The escort contractor does not record attendance.
        let (s, _) = call(
            &app,
            Method::POST,
            "escort",
            &path,
            Some(json!({"outcome": "attended"})),
            &[],
        )
        .await;
        assert_eq!(s, 403);
        let (s, v) = call(
            &app,
            Method::POST,
            "lei-wing",
            &path,
            Some(json!({"outcome": "did-not-attend", "reason": "refused"})),
            &[],
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["outcome"]["late"], false);
        // Correcting needs a reason; with one, the first record stays in history.
        let (s, _) = call(
            &app,
            Method::POST,
            "lei-health",
            &path,
            Some(json!({"outcome": "attended"})),
            &[],
        )
        .await;
        assert_eq!(s, 422);
        let (s, v) = call(
            &app,
            Method::POST,
            "lei-health",
            &path,
            Some(json!({"outcome": "attended", "correctionReason": "seen on the wing after all"})),
            &[],
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["outcome"]["outcome"], "attended");
        let (_, h) = call(
            &app,
            Method::GET,
            "lei-health",
            &format!("/v1/appointments/{id}/history"),
            None,
            &[],
        )
        .await;
        let last = h["items"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["kind"], "attendance-corrected");
        assert_eq!(last["detail"]["previous"]["outcome"], "did-not-attend");
        // The figures moved with the correction.
        let (_, f) = call(
            &app,
            Method::GET,
            "lei-health",
            "/v1/establishments/LEI/attendance",
            None,
            &[("Gatehouse-Purpose", "operations")],
        )
        .await;
        assert_eq!(f["figures"]["total"]["attended"], 1, "{f}");
        assert_eq!(f["figures"]["total"]["didNotAttend"], 0);
    }
);

on_both_engines!(
    unlock_lists_carry_instructions_risks_and_late_changes,
    |app: common::TestApp| async move {
        setup(&app).await;
        let r = app
        .post_json("lei-health", "/v1/people/B2345CD/safety-notices", &json!({"category": "seizure-risk", "instruction": "Look through the door at every roll check.",
            "audience": ["wing", "escort"], "lawfulBasis": "vital-interests",
            "reviewBy": (chrono::Utc::now() + chrono::Duration::days(60)).date_naive().to_string(),
            "author": {"role": "Registered nurse", "registration": {"body": "NMC", "number": "12A3456E"}}}))
        .await;
        assert_eq!(r.status(), 201);
        // Booked within a day of the start: a late change.
        let soon = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
        let (s, booked) = call(&app, Method::POST, "lei-health", "/v1/appointments",
        Some(json!({"prisonNumber": "B2345CD", "type": "HOSP-OP", "startsAt": soon, "place": {"kind": "external", "location": "LGI"}})), &[]).await;
        assert_eq!(s, 201);
        let a = &booked["appointments"][0];
        assert_eq!(a["lateChange"], true);
        let day = &a["startsAt"].as_str().unwrap()[..10];
        for (who, purpose) in [("lei-wing", "safety"), ("escort", "safety")] {
            let (s, list) = call(
                &app,
                Method::GET,
                who,
                &format!("/v1/establishments/LEI/appointments?date={day}"),
                None,
                &[("Gatehouse-Purpose", purpose)],
            )
            .await;
            assert_eq!(s, 200, "{who} {list}");
            let e = &list["entries"][0];
            assert_eq!(e["lateChange"], true);
            assert_eq!(e["appointment"]["escortNeeded"], true);
            assert!(
                e["instructions"][0]["instruction"]
                    .as_str()
                    .unwrap()
                    .contains("roll check"),
                "{who} {e}"
            );
        }
        // A wing filter: B2345CD is on wing A.
        let (_, list) = call(
            &app,
            Method::GET,
            "lei-wing",
            &format!("/v1/establishments/LEI/appointments?date={day}&wing=b"),
            None,
            &[("Gatehouse-Purpose", "safety")],
        )
        .await;
        assert_eq!(list["entries"].as_array().unwrap().len(), 0);
        let (s, _) = call(
            &app,
            Method::GET,
            "lei-wing",
            "/v1/establishments/LEI/appointments?date=tomorrow",
            None,
            &[],
        )
        .await;
        assert_eq!(s, 400);
        let (s, _) = call(
            &app,
            Method::GET,
            "mdi-health",
            &format!("/v1/establishments/LEI/appointments?date={day}"),
            None,
            &[],
        )
        .await;
        assert_eq!(s, 404);
        // A lockdown over it: at risk, and the owner can see why.
        let (s, c) = call(&app, Method::POST, "prison-feed", "/v1/establishments/LEI/regime-closures",
        Some(json!({"kind": "lockdown", "startsAt": chrono::Utc::now().to_rfc3339(), "reason": "incident on A wing"})), &[]).await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(c["appointmentsAtRisk"], 1);
        let (_, held) = call(
            &app,
            Method::GET,
            "lei-health",
            &format!("/v1/appointments/{}", a["id"].as_str().unwrap()),
            None,
            &[],
        )
        .await;
        assert_eq!(held["risks"][0]["reason"], "lockdown-or-incident", "{held}");
        // Only the prison system records closures; ending one clears its risks.
        let (s, _) = call(&app, Method::POST, "lei-wing", "/v1/establishments/LEI/regime-closures",
        Some(json!({"kind": "lockdown", "startsAt": chrono::Utc::now().to_rfc3339(), "reason": "x"})), &[]).await;
        assert_eq!(s, 403);
        let (s, _) = call(
            &app,
            Method::DELETE,
            "prison-feed",
            c["self"].as_str().unwrap(),
            None,
            &[],
        )
        .await;
        assert_eq!(s, 200);
        let (_, held) = call(
            &app,
            Method::GET,
            "lei-health",
            &format!("/v1/appointments/{}", a["id"].as_str().unwrap()),
            None,
            &[],
        )
        .await;
        assert_eq!(held["atRisk"], false, "{held}");
        // The summary carries today's appointment with its escort need.
        let (_, summary) = call(
            &app,
            Method::GET,
            "lei-wing",
            "/v1/people/B2345CD/summary",
            None,
            &[("Gatehouse-Purpose", "safety")],
        )
        .await;
        let section = summary["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == "appointments")
            .unwrap()
            .clone();
        assert_eq!(section["status"], "shown");
        assert!(
            section["items"][0]["text"]
                .as_str()
                .unwrap()
                .contains("escort NOT yet planned"),
            "{section}"
        );
    }
);

on_both_engines!(
    figures_are_counts_for_those_the_agreement_covers,
    |app: common::TestApp| async move {
        setup(&app).await;
        let (s, _) = call(
            &app,
            Method::GET,
            "escort",
            "/v1/establishments/LEI/attendance",
            None,
            &[],
        )
        .await;
        assert_eq!(s, 403);
        let (s, _) = call(
            &app,
            Method::GET,
            "lei-health",
            "/v1/establishments/MDI/attendance",
            None,
            &[],
        )
        .await;
        assert!(s == 403 || s == 404, "{s}");
        let (s, v) = call(&app, Method::GET, "lei-health", "/v1/attendance", None, &[]).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["establishments"], json!(["LEI"]));
        let (s, v) = call(
            &app,
            Method::GET,
            "ig",
            "/v1/attendance?from=2026-01-01&to=2026-12-31",
            None,
            &[("Gatehouse-Purpose", "governance")],
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert!(v["establishments"].as_array().unwrap().len() > 100);
        for bad in [
            "from=2026-13-01",
            "from=2026-05-01&to=2026-04-01",
            "from=2019-01-01&to=2026-01-01",
            "format=xml",
        ] {
            let (s, _) = call(
                &app,
                Method::GET,
                "lei-health",
                &format!("/v1/attendance?{bad}"),
                None,
                &[],
            )
            .await;
            assert_eq!(s, 400, "{bad}");
        }
    }
);

on_both_engines!(
    late_attendance_is_allowed_and_audited_as_late,
    |app: common::TestApp| async move {
        setup(&app).await;
        // An appointment three days ago with no outcome (as a migration from another system would leave it).
        let start = chrono::Utc::now() - chrono::Duration::days(3);
        app.import_past_appointment("old-1", "A1234BC", start).await;
        let assertion = app.assertion("lei-wing", "Officer E Example");
        let (s, v) = call(
            &app,
            Method::POST,
            "lei-wing",
            "/v1/appointments/old-1/attendance",
            Some(json!({"outcome": "was-not-brought", "reason": "not-unlocked"})),
            &[("Gatehouse-Staff-Assertion", &assertion)],
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["outcome"]["late"], true);
        let audit = app
            .store
            .audit_for_person(
                &gatehouse_domain::PrisonNumber::parse("A1234BC").unwrap(),
                &gatehouse_store::PageRequest {
                    after: None,
                    limit: 100,
                },
            )
            .await
            .unwrap();
        assert!(
            audit.items.iter().any(|r| r.consumer == "lei-wing"
                && r.content
                    .contains("appointment/old-1:attendance-recorded-late")),
            "the late record is in the disclosure audit"
        );
    }
);
