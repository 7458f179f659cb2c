//! Every change is in the disclosure audit, in the same transaction as the
//! change: no change without its record, no record without its change.
//!
//! - `every_mutating_operation_records_its_change`: walks every mutating
//!   operation in `/openapi.json` (the feed in each body shape it accepts),
//!   sends a valid request, and finds the record of that request (by its
//!   `x-request-id`), naming the person changed. An operation the walk does
//!   not know fails the test, so a new write route must join it.
//! - `a_single_item_feed_write_is_recorded`: the one-object body shape once
//!   stored an item and wrote no record.
//! - `a_crash_between_a_change_and_its_record_leaves_neither`: a fault
//!   injected into the audit append (a trigger that refuses the insert) rolls
//!   the change back too; once the fault is gone the same request succeeds.

mod common;

use common::items::*;
use gatehouse_store::EngineKind;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// How a write's body is sent.
enum Body {
    None,
    Json(Value),
    Ndjson(String),
}

/// What one write must have left in the audit.
struct Expect {
    /// The operation, as `/openapi.json` names it: method and path template.
    method: Method,
    template: &'static str,
    /// The action recorded, and the person it names (none for a change about no one person).
    action: &'static str,
    person: Option<&'static str>,
}

struct Walk<'a> {
    app: &'a common::TestApp,
    covered: BTreeSet<(String, String)>,
}

impl Walk<'_> {
    /// Sends one write as `who`, asserts it succeeded and that its record is
    /// in the audit; returns the answer's body.
    async fn write(
        &mut self,
        who: &str,
        path: &str,
        body: Body,
        headers: &[(&str, String)],
        expect: Expect,
    ) -> Value {
        let app = self.app;
        let mut req = app
            .client
            .request(expect.method.clone(), app.url(path))
            .bearer_auth(app.key(who));
        for (h, v) in headers {
            req = req.header(*h, v);
        }
        req = match body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Ndjson(text) => req
                .header("content-type", "application/x-ndjson")
                .body(text),
        };
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let request_id = r
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = r.text().await.unwrap();
        assert!(
            (200..300).contains(&status),
            "{} {path} as {who}: {status} {text}",
            expect.method
        );
        assert!(!request_id.is_empty(), "every answer names its request");
        let records = records_of(app, &request_id).await;
        let found = records.iter().any(|d| {
            d["action"] == expect.action
                && d["decision"] == "permit"
                && match expect.person {
                    Some(pn) => d["prisonNumber"] == pn,
                    None => true,
                }
        });
        assert!(
            found,
            "{} {} as {who}: no `{}` record{} for request {request_id}; found {records:?}",
            expect.method,
            expect.template,
            expect.action,
            expect
                .person
                .map(|p| format!(" naming {p}"))
                .unwrap_or_default(),
        );
        self.covered.insert((
            expect.method.as_str().to_owned(),
            expect.template.to_owned(),
        ));
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// The records written for one request, parsed.
async fn records_of(app: &common::TestApp, request_id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let rows = app.store.audit_rows(after, 1000).await.unwrap();
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in rows {
            let d: Value = serde_json::from_str(&r.content).unwrap();
            if d["requestId"] == request_id {
                out.push(d);
            }
        }
    }
    out
}

/// Every mutating operation of the OpenAPI document, as (METHOD, template).
async fn mutating_operations(app: &common::TestApp) -> BTreeSet<(String, String)> {
    let doc = app.public_json("/openapi.json").await;
    let mut out = BTreeSet::new();
    for (template, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if matches!(method.as_str(), "post" | "put" | "patch" | "delete") {
                out.insert((method.to_uppercase(), template.clone()));
            }
        }
    }
    out
}

fn expect(
    method: Method,
    template: &'static str,
    action: &'static str,
    person: Option<&'static str>,
) -> Expect {
    Expect {
        method,
        template,
        action,
        person,
    }
}

/// Waits on the pull feed for the first event of `type_suffix` and returns its data.
async fn event_data(app: &common::TestApp, who: &str, type_suffix: &str) -> Value {
    for _ in 0..50 {
        let (_, page) = app.get_json(who, "/v1/events?limit=500").await;
        let found = page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(page["events"].as_array().into_iter().flatten())
            .find(|e| e["type"].as_str().is_some_and(|t| t.ends_with(type_suffix)));
        if let Some(e) = found {
            return e["data"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {type_suffix} event reached {who}");
}

on_both_engines!(
    every_mutating_operation_records_its_change,
    |app: common::TestApp| async move {
        let mut w = Walk {
            app: &app,
            covered: BTreeSet::new(),
        };
        let feed = "/v1/prison-events";
        // The feed, in every body shape it accepts.
        w.write(
            "prison-feed",
            feed,
            Body::Json(reception("w-r1", "A1234BC", "LEI", 48)),
            &[],
            expect(Method::POST, feed, "write-feed", Some("A1234BC")),
        )
        .await;
        w.write(
            "prison-feed",
            feed,
            Body::Json(json!([
                person("w-p2", "B2345CD", "Jane", "Doe", "1990-05-06", None),
                reception("w-r2", "B2345CD", "LEI", 48)
            ])),
            &[],
            expect(Method::POST, feed, "write-feed", Some("B2345CD")),
        )
        .await;
        w.write(
            "prison-feed",
            feed,
            Body::Ndjson(format!(
                "{}\n{}\n",
                reception("w-r3", "C3456DE", "MDI", 48),
                person("w-p3", "C3456DE", "Sam", "Roe", "1975-01-02", None)
            )),
            &[],
            expect(Method::POST, feed, "write-feed", Some("C3456DE")),
        )
        .await;
        w.write("prison-feed", &format!("{feed}?atomic=true"),
            Body::Json(json!([movement("w-m4", "A1234BC", 47, json!({"kind": "cell-move", "reason": "CELL_MOVE", "establishment": "LEI", "cell": "LEI-B-1-008"}))])),
            &[], expect(Method::POST, feed, "write-feed", Some("A1234BC"))).await;

        // Identity link.
        w.write(
            "lei-health",
            "/v1/people/A1234BC/nhs-number",
            Body::Json(json!({"nhsNumber": "9434765919", "method": "manual"})),
            &[],
            expect(
                Method::PUT,
                "/v1/people/{prisonNumber}/nhs-number",
                "write-identity",
                Some("A1234BC"),
            ),
        )
        .await;

        // A safety notice: published, revised, then (after its continuity check) withdrawn.
        let notice = w.write("lei-health", "/v1/people/A1234BC/safety-notices",
            Body::Json(json!({
                "category": "time-critical-medication", "audience": ["wing", "reception", "escort"],
                "instruction": "Medicines at 08:00, 14:00 and 20:00. Must travel with 7 days' supply.",
                "clinicalDetail": "Sodium valproate 500mg TDS.",
                "lawfulBasis": "direct-care", "reviewBy": review_by(), "author": author()})), &[],
            expect(Method::POST, "/v1/people/{prisonNumber}/safety-notices", "write-notice", Some("A1234BC"))).await;
        let notice_id = notice["id"].as_str().unwrap().to_owned();
        w.write("lei-health", &format!("/v1/safety-notices/{notice_id}"),
            Body::Json(json!({
                "category": "time-critical-medication", "audience": ["wing", "reception", "escort"],
                "instruction": "Medicines at 08:00, 14:00 and 20:00. Must travel with 7 days' supply in hand.",
                "clinicalDetail": "Sodium valproate 500mg TDS.",
                "lawfulBasis": "direct-care", "reviewBy": review_by(), "author": author(),
                "reason": "Supply wording made plain"})),
            &[("If-Match", "\"1\"".to_owned())],
            expect(Method::PUT, "/v1/safety-notices/{id}", "write-notice", Some("A1234BC"))).await;
        // A planned transfer opens a continuity check; healthcare confirms it.
        let friday = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
        w.write("prison-feed", feed,
            Body::Json(json!({"id": "w-plan", "type": "gatehouse.planned-movement", "occurredAt": at(0), "prisonNumber": "A1234BC",
                "plannedMovement": {"id": "TRF-W1", "kind": "transfer", "establishment": "LEI", "destination": "MDI", "plannedFor": friday}})),
            &[], expect(Method::POST, feed, "write-feed", Some("A1234BC"))).await;
        let check = event_data(&app, "lei-health", "medication-continuity-check").await;
        let check_id = check["checkId"].as_str().unwrap().to_owned();
        w.write(
            "lei-health",
            &format!("/v1/continuity-checks/{check_id}/confirm"),
            Body::Json(
                json!({"note": "7 days' supply packed; MDI prescriber told", "author": author()}),
            ),
            &[],
            expect(
                Method::POST,
                "/v1/continuity-checks/{id}/confirm",
                "write-notice",
                Some("A1234BC"),
            ),
        )
        .await;
        w.write("lei-health", &format!("/v1/safety-notices/{notice_id}"),
            Body::Json(json!({"reason": "Course finished", "author": {"role": "GP", "registration": {"body": "GMC", "number": "1234567"}}})),
            &[], expect(Method::DELETE, "/v1/safety-notices/{id}", "write-notice", Some("A1234BC"))).await;

        // Appointments: booked, changed, escorted; attendance on one already past.
        let tomorrow = |h: u32| {
            (chrono::Utc::now() + chrono::Duration::days(2))
                .date_naive()
                .and_hms_opt(h, 0, 0)
                .unwrap()
                .and_utc()
                .to_rfc3339()
        };
        let booked = w.write("lei-health", "/v1/appointments",
            Body::Json(json!({"prisonNumber": "B2345CD", "type": "HOSP-OP", "startsAt": tomorrow(10), "place": {"kind": "external", "location": "LGI"}})),
            &[], expect(Method::POST, "/v1/appointments", "book-appointment", Some("B2345CD"))).await;
        let appt = booked["appointments"][0]["id"].as_str().unwrap().to_owned();
        w.write(
            "lei-health",
            &format!("/v1/appointments/{appt}"),
            Body::Json(json!({"startsAt": tomorrow(11), "reason": "clinic moved"})),
            &[],
            expect(
                Method::PATCH,
                "/v1/appointments/{id}",
                "book-appointment",
                Some("B2345CD"),
            ),
        )
        .await;
        w.write(
            "lei-wing",
            &format!("/v1/appointments/{appt}/escort"),
            Body::Json(
                json!({"officers": 2, "vehicle": "car", "restraint": "none", "decidedBy": "SO"}),
            ),
            &[],
            expect(
                Method::PUT,
                "/v1/appointments/{id}/escort",
                "plan-escort",
                Some("B2345CD"),
            ),
        )
        .await;
        let start = chrono::Utc::now() - chrono::Duration::hours(30);
        app.import_past_appointment("w-old-1", "B2345CD", start)
            .await;
        w.write(
            "lei-wing",
            "/v1/appointments/w-old-1/attendance",
            Body::Json(json!({"outcome": "was-not-brought", "reason": "not-unlocked"})),
            &[],
            expect(
                Method::POST,
                "/v1/appointments/{id}/attendance",
                "record-attendance",
                Some("B2345CD"),
            ),
        )
        .await;

        // A regime closure, recorded and ended.
        let closure = w.write("prison-feed", "/v1/establishments/LEI/regime-closures",
            Body::Json(json!({"kind": "lockdown", "startsAt": chrono::Utc::now().to_rfc3339(), "reason": "incident on A wing"})), &[],
            expect(Method::POST, "/v1/establishments/{code}/regime-closures", "write-feed", None)).await;
        let closure_id = closure["id"].as_str().unwrap().to_owned();
        w.write(
            "prison-feed",
            &format!("/v1/regime-closures/{closure_id}"),
            Body::None,
            &[],
            expect(
                Method::DELETE,
                "/v1/regime-closures/{id}",
                "write-feed",
                None,
            ),
        )
        .await;

        // A subscription through its whole life.
        let sub = w.write("lei-health", "/v1/subscriptions",
            Body::Json(json!({"url": "http://127.0.0.1:9/hook", "eventTypes": ["uk.gatehouse.person.*"]})), &[],
            expect(Method::POST, "/v1/subscriptions", "read-events", None)).await;
        let sub_id = sub["id"].as_str().unwrap().to_owned();
        w.write(
            "lei-health",
            &format!("/v1/subscriptions/{sub_id}/enable"),
            Body::None,
            &[],
            expect(
                Method::POST,
                "/v1/subscriptions/{id}/enable",
                "read-events",
                None,
            ),
        )
        .await;
        w.write(
            "lei-health",
            &format!("/v1/subscriptions/{sub_id}/secret"),
            Body::Json(json!({"keepOldForSeconds": 60})),
            &[],
            expect(
                Method::POST,
                "/v1/subscriptions/{id}/secret",
                "read-events",
                None,
            ),
        )
        .await;
        w.write(
            "lei-health",
            &format!("/v1/subscriptions/{sub_id}/replay"),
            Body::Json(
                json!({"fromTime": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339()}),
            ),
            &[],
            expect(
                Method::POST,
                "/v1/subscriptions/{id}/replay",
                "read-events",
                None,
            ),
        )
        .await;
        w.write(
            "lei-health",
            &format!("/v1/subscriptions/{sub_id}"),
            Body::None,
            &[],
            expect(
                Method::DELETE,
                "/v1/subscriptions/{id}",
                "read-events",
                None,
            ),
        )
        .await;

        // Break-glass: the grant is a change, recorded with the read that opened it; then its review.
        let r = app
            .break_glass_read(
                "mdi-health",
                "/v1/people/A1234BC",
                "Collapsed at MDI reception; needs history",
                Some("nurse-7"),
            )
            .await;
        assert_eq!(r.status(), 200);
        let rid = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let records = records_of(&app, &rid).await;
        assert!(
            records
                .iter()
                .any(|d| d["action"] == "break-glass" && d["prisonNumber"] == "A1234BC"),
            "the grant is recorded: {records:?}"
        );
        let (_, queue) = app
            .get_json("ig", "/v1/audit/break-glass?status=unreviewed")
            .await;
        let grant = queue[0]["id"].as_str().unwrap().to_owned();
        w.write(
            "ig",
            &format!("/v1/audit/break-glass/{grant}/review"),
            Body::Json(json!({"outcome": "appropriate", "note": "clinical emergency confirmed"})),
            &[(
                "Gatehouse-Staff-Assertion",
                app.assertion("ig", "ig-lead-1"),
            )],
            expect(
                Method::POST,
                "/v1/audit/break-glass/{id}/review",
                "review-break-glass",
                None,
            ),
        )
        .await;

        // The walk covered every mutating operation the server documents.
        let all = mutating_operations(&app).await;
        let missing: Vec<_> = all.difference(&w.covered).collect();
        assert!(
            missing.is_empty(),
            "writes the walk does not exercise (add them): {missing:?}"
        );
        // And the log still verifies with every change in it.
        gatehouse_server::audit::verify::verify_store(
            app.store.as_ref(),
            gatehouse_server::audit::checkpoints::load_existing_key(&app.audit_key)
                .unwrap()
                .public_key(),
        )
        .await
        .expect("the audit verifies");
    }
);

on_both_engines!(
    a_single_item_feed_write_is_recorded,
    |app: common::TestApp| async move {
        let before = app.store.audit_head().await.unwrap().size;
        let r = app
            .post_json(
                "prison-feed",
                "/v1/prison-events",
                &reception("one-1", "D4567EF", "LEI", 5),
            )
            .await;
        assert_eq!(r.status(), 201);
        let rid = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let records = records_of(&app, &rid).await;
        assert_eq!(records.len(), 1, "one item, one record: {records:?}");
        assert_eq!(records[0]["prisonNumber"], "D4567EF");
        assert_eq!(records[0]["action"], "write-feed");
        assert_eq!(app.store.audit_head().await.unwrap().size, before + 1);
    }
);

/// SQL that makes every insert into the audit log fail, as a crash between
/// the change and its record would; and SQL that removes it.
fn fault(engine: EngineKind) -> (Vec<&'static str>, Vec<&'static str>) {
    match engine {
        EngineKind::Sqlite => (
            vec![
                "CREATE TRIGGER inject_audit_fault BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'injected audit fault'); END",
            ],
            vec!["DROP TRIGGER inject_audit_fault"],
        ),
        EngineKind::Postgres => (
            vec![
                "CREATE FUNCTION inject_audit_fault() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected audit fault'; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER inject_audit_fault BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION inject_audit_fault()",
            ],
            vec![
                "DROP TRIGGER inject_audit_fault ON audit_log",
                "DROP FUNCTION inject_audit_fault()",
            ],
        ),
    }
}

on_both_engines!(
    a_crash_between_a_change_and_its_record_leaves_neither,
    |app: common::TestApp| async move {
        app.feed(&json!([reception("c-r0", "A1234BC", "LEI", 48)]))
            .await;
        let engine = app.store.engine();
        let (inject, heal) = fault(engine);
        for sql in inject {
            gatehouse_store::testing::execute_raw(&app.url, sql).await;
        }
        let counts = app.counts().await;
        let head = app.store.audit_head().await.unwrap();
        let item = movement(
            "c-m1",
            "A1234BC",
            1,
            json!({"kind": "cell-move", "reason": "CELL_MOVE", "establishment": "LEI", "cell": "LEI-C-1-001"}),
        );
        let notice = json!({
            "category": "seizure-risk", "audience": ["wing"],
            "instruction": "If found fitting: time it, recovery position, call Code Blue.",
            "lawfulBasis": "direct-care", "reviewBy": review_by(), "author": author()});
        // Each body shape of the feed, and a notice: the change fails with its record.
        for (path, body) in [
            ("/v1/prison-events", item.clone()),
            ("/v1/prison-events", json!([item.clone()])),
            ("/v1/people/A1234BC/safety-notices", notice.clone()),
        ] {
            let who = if path.contains("notices") {
                "lei-health"
            } else {
                "prison-feed"
            };
            let r = app.post_json(who, path, &body).await;
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            assert!(
                status >= 500,
                "{path}: a failed record fails the change: {status} {text}"
            );
            assert!(
                !text.contains("injected audit fault"),
                "the cause is logged, never shown: {text}"
            );
            assert_eq!(
                app.counts().await,
                counts,
                "{path}: nothing of the change is kept"
            );
            assert_eq!(
                app.store.audit_head().await.unwrap(),
                head,
                "{path}: no record either"
            );
        }
        for sql in heal {
            gatehouse_store::testing::execute_raw(&app.url, sql).await;
        }
        // Nothing was half-written: the same item (same event id) now stores, once, with its record.
        let r = app
            .post_json("prison-feed", "/v1/prison-events", &item)
            .await;
        assert_eq!(
            r.status(),
            201,
            "stored now, not a replay of a half-written attempt"
        );
        let rid = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(records_of(&app, &rid).await.len(), 1);
        let r = app
            .post_json("lei-health", "/v1/people/A1234BC/safety-notices", &notice)
            .await;
        assert_eq!(r.status(), 201);
    }
);
