//! Clinical detail never reaches a prison consumer (issue 3, test b).
//!
//! Notices about a patient carry unique canary strings wherever prison staff
//! must not look: the clinical detail, a condition without consent, a
//! healthcare-only notice, a withdrawn notice. Every non-health consumer, with
//! every purpose and with the glass broken, calls every endpoint in the
//! OpenAPI document (and every registered extra), sends writes carrying the
//! canaries, and follows every link it is given. No canary may appear in any
//! body, header or error, nor in the logs. A health consumer, as a control,
//! does find the canary, so the crawl is shown able to see one.
//!
//! Later capabilities join by registering parameters, queries and entry
//! points in `fixtures` (see `common/crawl.rs`); nothing here is copied.

mod common;

use common::crawl::{CrawlCaller, Fixtures, crawl, endpoints};
use common::items::*;
use common::logs::{log_buffer, log_text};
use reqwest::Method;
use serde_json::{Value, json};

const CLINICAL: &str = "CANARY-clinical-detail-5e1d";
const CONDITION_WITHOUT_CONSENT: &str = "CANARY-condition-no-consent-77ab";
const HEALTHCARE_ONLY: &str = "CANARY-healthcare-only-c4f0";
const WITHDRAWN: &str = "CANARY-withdrawn-93e2";
const ALL: &[&str] = &[
    CLINICAL,
    CONDITION_WITHOUT_CONSENT,
    HEALTHCARE_ONLY,
    WITHDRAWN,
];

fn review_by() -> String {
    (chrono::Utc::now() + chrono::Duration::days(60))
        .date_naive()
        .to_string()
}

/// The notices, each hiding a canary where prison staff must never see it.
fn notices() -> Vec<Value> {
    vec![
        // Shared with all staff, condition named with consent; the clinical detail stays with health.
        json!({
            "category": "seizure-risk", "audience": ["all-staff"],
            "instruction": "If found fitting: time it, recovery position, call Code Blue.",
            "disclosureLevel": "with-condition", "condition": "epilepsy",
            "consent": {"kind": "patient-consent", "recordedOn": "2026-11-01", "recordedBy": "Nurse A Example"},
            "clinicalDetail": format!("Levetiracetam 750mg BD. {CLINICAL}"),
            "lawfulBasis": "direct-care", "reviewBy": review_by(), "author": author()
        }),
        // Instruction only: the condition is recorded but not consented for sharing.
        json!({
            "category": "time-critical-medication", "audience": ["wing", "escort", "reception"],
            "instruction": "Must be brought to the healthcare unit for medicine at 08:00 and 20:00, even in lockdown.",
            "condition": CONDITION_WITHOUT_CONSENT,
            "clinicalDetail": format!("Parkinson's regime. {CLINICAL}"),
            "lawfulBasis": "direct-care", "reviewBy": review_by(), "author": author()
        }),
        // For healthcare only: not even its instruction leaves health.
        json!({
            "category": "mental-health-crisis-plan", "audience": ["healthcare-only"],
            "instruction": format!("Crisis plan held in the clinical record. {HEALTHCARE_ONLY}"),
            "lawfulBasis": "direct-care", "reviewBy": review_by(), "author": author()
        }),
    ]
}

async fn send(app: &common::TestApp, method: Method, who: &str, path: &str, body: &Value) -> Value {
    let r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(app.key(who))
        .json(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

/// The record to crawl: two people, four notices (one withdrawn), a break-glass grant.
async fn fixtures(app: &common::TestApp) -> Fixtures {
    let (s, _) = app
        .feed(&json!([
            person("p1", "A1234BC", "John", "Smith", "1980-02-03", Some("9434765919")),
            reception("r1", "A1234BC", "LEI", 10),
            reception("r2", "B2345CD", "MDI", 10),
            {"id": "a1", "type": "gatehouse.alert", "occurredAt": at(5), "prisonNumber": "A1234BC",
             "alert": {"id": "al-1", "code": "HA", "active": true, "activeFrom": "2026-11-01"}},
        ]))
        .await;
    assert_eq!(s, 200);
    let mut ids = Vec::new();
    for n in notices() {
        let v = send(
            app,
            Method::POST,
            "lei-health",
            "/v1/people/A1234BC/safety-notices",
            &n,
        )
        .await;
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    // A withdrawn notice: its last instruction is history, for health only.
    let mut w = notices()[1].clone();
    w["instruction"] = json!(format!("Old regime, since replaced. {WITHDRAWN}"));
    w["condition"] = json!("parkinsonism");
    let v = send(
        app,
        Method::POST,
        "lei-health",
        "/v1/people/A1234BC/safety-notices",
        &w,
    )
    .await;
    let withdrawn = v["id"].as_str().unwrap().to_owned();
    send(
        app,
        Method::DELETE,
        "lei-health",
        &format!("/v1/safety-notices/{withdrawn}"),
        &json!({"reason": "Regime replaced", "author": author()}),
    )
    .await;
    ids.push(withdrawn);
    // A planned transfer opens a medication-continuity check (notice 2 is
    // time-critical); healthcare confirms it with a note prison staff must not read.
    let (s, _) = app
        .feed(&json!({"id": "plan-1", "type": "gatehouse.planned-movement", "occurredAt": at(1), "prisonNumber": "A1234BC",
            "plannedMovement": {"id": "TRF-CANARY", "kind": "transfer", "establishment": "LEI", "destination": "MDI",
                                "plannedFor": (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339()}}))
        .await;
    assert!(s == 200 || s == 201);
    let check = app
        .store
        .continuity_checks(
            &gatehouse_domain::PrisonNumber::parse("A1234BC").unwrap(),
            true,
        )
        .await
        .unwrap();
    let check = check[0].id.clone();
    send(
        app,
        Method::POST,
        "lei-health",
        &format!("/v1/continuity-checks/{check}/confirm"),
        &json!({"note": format!("Supply packed. {CLINICAL}"), "author": author()}),
    )
    .await;
    // A break-glass grant, so the review endpoints have something to act on.
    let r = app
        .break_glass_read(
            "mdi-health",
            "/v1/people/A1234BC",
            "collapsed on transfer, unresponsive",
            Some("Dr B Example"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (_, queue) = app.get_json("ig", "/v1/audit/break-glass").await;
    let grant = queue[0]["id"].as_str().unwrap().to_owned();

    // An external appointment today whose clinician and clinical note are
    // health-only; the prison plans its escort and a lockdown puts it at risk.
    let start = (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    let booked = send(
        app,
        Method::POST,
        "lei-health",
        "/v1/appointments",
        &json!({"prisonNumber": "A1234BC", "type": "HOSP-OP", "startsAt": start, "durationMinutes": 120,
                "place": {"kind": "external", "location": "Leeds General Infirmary"},
                "clinician": format!("Dr {HEALTHCARE_ONLY}"), "clinicalNote": format!("Review of {CLINICAL}")}),
    )
    .await;
    assert!(
        booked.to_string().contains(CLINICAL),
        "the owner sees its own clinical note"
    );
    let appointment = booked["appointments"][0]["id"].as_str().unwrap().to_owned();
    let appointment_day = booked["appointments"][0]["startsAt"].as_str().unwrap()[..10].to_owned();
    send(
        app,
        Method::PUT,
        "lei-wing",
        &format!("/v1/appointments/{appointment}/escort"),
        &json!({"officers": 2, "vehicle": "cellular-vehicle", "restraint": "handcuffs", "decidedBy": "Duty governor"}),
    )
    .await;
    let closure = send(
        app,
        Method::POST,
        "prison-feed",
        "/v1/establishments/LEI/regime-closures",
        &json!({"kind": "lockdown", "startsAt": chrono::Utc::now().to_rfc3339(), "reason": "incident"}),
    )
    .await;
    let closure = closure["id"].as_str().unwrap().to_owned();

    let mut fx = Fixtures::default();
    for t in [
        "/v1/appointments/{id}",
        "/v1/appointments/{id}/escort",
        "/v1/appointments/{id}/attendance",
        "/v1/appointments/{id}/history",
    ] {
        fx.params.insert(format!("{t}#id"), appointment.clone());
    }
    fx.params
        .insert("/v1/regime-closures/{id}#id".into(), closure);
    fx.queries.insert(
        "/v1/establishments/{code}/appointments",
        vec![
            format!("date={appointment_day}"),
            format!("date={appointment_day}&wing=A"),
        ],
    );
    fx.queries.insert(
        "/v1/people/{prisonNumber}/appointments",
        vec!["include=cancelled".into()],
    );
    fx.queries.insert(
        "/v1/establishments/{code}/attendance",
        vec!["format=csv".into()],
    );
    fx.queries
        .insert("/v1/attendance", vec!["format=csv".into()]);
    for (k, v) in [
        ("prisonNumber", "A1234BC"),
        ("code", "LEI"),
        ("record", "1"),
        ("wing", "A"),
    ] {
        fx.params.insert(k.into(), v.into());
    }
    fx.params.insert("id".into(), ids[0].clone());
    fx.params
        .insert("/v1/audit/break-glass/{id}/review#id".into(), grant);
    fx.params
        .insert("/v1/continuity-checks/{id}#id".into(), check.clone());
    fx.params
        .insert("/v1/continuity-checks/{id}/confirm#id".into(), check);
    fx.queries.insert(
        "/v1/people",
        vec![
            "nhsNumber=9434765919".into(),
            "name=John%20Smith&birthDate=1980-02-03".into(),
        ],
    );
    fx.queries.insert(
        "/v1/people/{prisonNumber}/safety-notices",
        vec!["include=withdrawn".into()],
    );
    fx.queries.insert(
        "/v1/people/{prisonNumber}/alerts",
        vec!["status=all".into()],
    );
    fx.queries
        .insert("/v1/audit/break-glass", vec!["status=unreviewed".into()]);
    // Every notice by id, whether or not the caller is given a link to it.
    for id in &ids {
        for m in [Method::GET, Method::PUT, Method::DELETE] {
            fx.extra.push((m, format!("/v1/safety-notices/{id}")));
        }
        fx.extra
            .push((Method::GET, format!("/v1/safety-notices/{id}/versions")));
    }
    // Writes carry every canary: an error must never echo what it was sent.
    let mut canary_notice = notices()[0].clone();
    canary_notice["instruction"] = json!(format!("{HEALTHCARE_ONLY} {WITHDRAWN}"));
    canary_notice["condition"] = json!(CONDITION_WITHOUT_CONSENT);
    canary_notice["reason"] = json!(CLINICAL);
    let canary_booking = json!({"prisonNumber": "A1234BC", "type": "MEDO", "startsAt": chrono::Utc::now().to_rfc3339(),
        "place": {"kind": "internal", "room": HEALTHCARE_ONLY}, "clinicalNote": CLINICAL, "reason": WITHDRAWN});
    fx.bodies = vec![json!({}), canary_notice, canary_booking];
    fx
}

/// Every non-health consumer, with every purpose, and with the glass broken.
fn prison_side_callers(app: &common::TestApp) -> Vec<CrawlCaller> {
    let mut callers = Vec::new();
    for (name, template, _) in common::CONSUMERS {
        if *template == "prison-healthcare" {
            continue;
        }
        let variants: Vec<Vec<(&'static str, String)>> = vec![
            vec![],
            vec![("Gatehouse-Purpose", "safety".into())],
            vec![("Gatehouse-Purpose", "operations".into())],
            vec![("Gatehouse-Purpose", "direct-care".into())],
            vec![("Gatehouse-Purpose", "governance".into())],
            vec![
                ("Gatehouse-Purpose", "emergency".into()),
                ("Gatehouse-Break-Glass", "officer collapsed nearby".into()),
                (
                    "Gatehouse-Staff-Assertion",
                    app.assertion(name, "Officer C Example"),
                ),
            ],
        ];
        for headers in variants {
            callers.push(CrawlCaller {
                consumer: name,
                key: app.key(name).to_owned(),
                headers,
            });
        }
    }
    callers
}

on_both_engines!(
    clinical_detail_never_reaches_a_prison_consumer,
    |app: common::TestApp| async move {
        log_buffer();
        let fx = fixtures(&app).await;
        let openapi = app.public_json("/openapi.json").await;
        let start = endpoints(&openapi, &fx);
        assert!(
            start.len() > 30,
            "the crawl covers the API: {}",
            start.len()
        );

        let mut requests = 0;
        let mut statuses = std::collections::BTreeMap::new();
        let mut leaks = Vec::new();
        let mut server_errors = Vec::new();
        for caller in prison_side_callers(&app) {
            let r = crawl(&app.client, &app.base, &caller, &start, &fx, ALL, 2_000).await;
            requests += r.requests;
            for (s, n) in &r.statuses {
                *statuses.entry(*s).or_insert(0) += n;
            }
            leaks.extend(r.leaks);
            server_errors.extend(r.server_errors);
            // The crawl did reach the notices: prison staff get the instructions they need.
            if caller.consumer == "lei-wing"
                && caller.headers.len() == 1
                && caller.headers[0].1 == "safety"
            {
                assert!(
                    r.statuses.get(&200).copied().unwrap_or(0) > 10,
                    "{:?}",
                    r.statuses
                );
            }
        }
        eprintln!(
            "crawl: {requests} requests over {} endpoints, statuses {statuses:?}",
            start.len()
        );
        assert!(
            server_errors.is_empty(),
            "server errors: {server_errors:#?}"
        );
        assert!(
            leaks.is_empty(),
            "canaries reached prison consumers: {leaks:#?}"
        );
        assert!(requests > 500, "the crawl made {requests} requests");

        // The wing does see what it must: the instructions, and the condition given with consent.
        let r = app
            .client
            .get(app.url("/v1/people/A1234BC/safety-notices"))
            .bearer_auth(app.key("lei-wing"))
            .header("Gatehouse-Purpose", "safety")
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        let text = v.to_string();
        assert!(
            text.contains("call Code Blue") && text.contains("even in lockdown"),
            "{text}"
        );
        assert!(text.contains("epilepsy"));

        // The control: the same crawl as the patient's health unit finds the canaries.
        let control = CrawlCaller {
            consumer: "lei-health",
            key: app.key("lei-health").to_owned(),
            headers: vec![],
        };
        let r = crawl(&app.client, &app.base, &control, &start, &fx, ALL, 2_000).await;
        assert!(
            !r.leaks.is_empty(),
            "the control found no canary: the crawl cannot see"
        );

        let logs = log_text();
        for c in ALL {
            assert!(!logs.contains(c), "canary {c} reached the logs");
        }
    }
);
