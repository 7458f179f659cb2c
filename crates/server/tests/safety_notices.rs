//! Safety notices over HTTP, on both engines: publish, read in each
//! consumer's view, revise with optimistic concurrency, withdraw without
//! deleting, the review list, their outbox events and their disclosure records.

mod common;

use common::items::*;
use serde_json::{Value, json};

/// A string that must never reach a prison consumer.
const CANARY: &str = "CANARY-clinical-7f3a9c";

async fn seed(app: &common::TestApp) {
    let (s, _) = app
        .feed(&json!([
            reception("r1", "A1234BC", "LEI", 10),
            reception("r2", "B2345CD", "MDI", 10)
        ]))
        .await;
    assert_eq!(s, 200);
}

fn notice(audience: &[&str]) -> Value {
    json!({
        "category": "seizure-risk",
        "instruction": "If found fitting: time it, recovery position, call Code Blue. Do not restrain.",
        "audience": audience,
        "condition": "epilepsy",
        "clinicalDetail": format!("Levetiracetam 500mg BD. {CANARY}"),
        "lawfulBasis": "direct-care",
        "reviewBy": review_by(),
        "author": {"role": "Registered nurse", "registration": {"body": "NMC", "number": "12A3456E"}}
    })
}

fn with_consent(mut n: Value) -> Value {
    n["disclosureLevel"] = json!("with-condition");
    n["consent"] = json!({"kind": "patient-consent", "recordedOn": "2026-11-01", "recordedBy": "Nurse A Example"});
    n
}

async fn send(
    app: &common::TestApp,
    method: reqwest::Method,
    who: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(app.key(who));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn publish(app: &common::TestApp, body: &Value) -> Value {
    let (s, h, v) = send(
        app,
        reqwest::Method::POST,
        "lei-health",
        "/v1/people/A1234BC/safety-notices",
        Some(body),
        &[],
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(h["location"], v["links"]["self"].as_str().unwrap());
    assert_eq!(h["etag"], "\"1\"");
    v
}

on_both_engines!(
    a_wing_officer_sees_the_instruction_and_never_the_clinical_detail,
    |app: common::TestApp| async move {
        seed(&app).await;
        let n = publish(&app, &notice(&["wing", "escort"])).await;
        assert_eq!(n["view"], "clinical");
        assert_eq!(n["clinicalDetail"].as_str().unwrap().contains(CANARY), true);

        let (s, list) = app
            .get_json("lei-wing", "/v1/people/A1234BC/safety-notices")
            .await;
        assert_eq!(s, 200);
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        let seen = &items[0];
        assert_eq!(seen["view"], "instruction");
        assert!(seen["instruction"].as_str().unwrap().contains("Code Blue"));
        assert!(
            seen.get("condition").is_none(),
            "instruction-only hides the condition"
        );
        assert!(seen.get("clinicalDetail").is_none());
        assert!(seen.get("consent").is_none());
        assert!(!list.to_string().contains(CANARY));
        assert!(!list.to_string().contains("Levetiracetam"));
        assert!(!list.to_string().contains("epilepsy"));

        // The same notice by id, as the escort contractor: instruction only.
        let path = n["links"]["self"].as_str().unwrap();
        let (s, v) = app.get_json("escort", path).await;
        assert_eq!(s, 200);
        assert_eq!(v["view"], "instruction");
        assert!(!v.to_string().contains(CANARY));
        // History is clinical: 403 for prison consumers, readable by health.
        let (s, _) = app.get_json("lei-wing", &format!("{path}/versions")).await;
        assert_eq!(s, 403);
        let (s, h) = app
            .get_json("lei-health", &format!("{path}/versions"))
            .await;
        assert_eq!(s, 200);
        assert_eq!(h.as_array().unwrap().len(), 1);
        // Out of scope: another prison's health unit does not know it exists.
        let (s, _) = app.get_json("mdi-health", path).await;
        assert_eq!(s, 404);
    }
);

on_both_engines!(
    the_condition_is_named_only_with_consent_and_only_to_its_audience,
    |app: common::TestApp| async move {
        seed(&app).await;
        publish(&app, &with_consent(notice(&["escort"]))).await;
        // The wing is not the audience: it sees no notice at all.
        let (_, list) = app
            .get_json("lei-wing", "/v1/people/A1234BC/safety-notices")
            .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0);
        // The escort is, with consent recorded: instruction and condition, never the clinical detail.
        let r = app
            .client
            .get(app.url("/v1/people/A1234BC/safety-notices"))
            .bearer_auth(app.key("escort"))
            .header("Gatehouse-Purpose", "safety")
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        let seen = &v["items"][0];
        assert_eq!(seen["view"], "condition");
        assert_eq!(seen["condition"], "epilepsy");
        assert!(seen.get("clinicalDetail").is_none());
        assert!(!v.to_string().contains(CANARY));
        // For operations (not safety) the agreement gives the instruction alone.
        let r = app
            .client
            .get(app.url("/v1/people/A1234BC/safety-notices"))
            .bearer_auth(app.key("escort"))
            .header("Gatehouse-Purpose", "operations")
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["items"][0]["view"], "instruction");
        assert!(v["items"][0].get("condition").is_none());
    }
);

on_both_engines!(
    only_health_consumers_in_scope_publish_and_bad_notices_change_nothing,
    |app: common::TestApp| async move {
        seed(&app).await;
        let before = app.counts().await;
        let path = "/v1/people/A1234BC/safety-notices";
        let (s, _, v) = send(
            &app,
            reqwest::Method::POST,
            "lei-wing",
            path,
            Some(&notice(&["wing"])),
            &[],
        )
        .await;
        assert_eq!(s, 403, "{v}");
        let (s, _, _) = send(
            &app,
            reqwest::Method::POST,
            "mdi-health",
            path,
            Some(&notice(&["wing"])),
            &[],
        )
        .await;
        assert_eq!(s, 404);
        // Every broken rule at once.
        let mut bad = notice(&["wing"]);
        bad["instruction"] = json!("Has epilepsy");
        bad["disclosureLevel"] = json!("with-condition");
        bad["reviewBy"] = json!("2020-01-01");
        bad["author"]["registration"]["number"] = json!("x");
        let (s, h, v) = send(
            &app,
            reqwest::Method::POST,
            "lei-health",
            path,
            Some(&bad),
            &[],
        )
        .await;
        assert_eq!(s, 400);
        assert_eq!(h["content-type"], "application/problem+json");
        let fields: Vec<&str> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        for f in ["consent", "reviewBy", "author.registration.number"] {
            assert!(fields.contains(&f), "{f} not in {fields:?}");
        }
        let (s, _, _) = send(
            &app,
            reqwest::Method::POST,
            "lei-health",
            path,
            Some(&json!({"category": "seizure-risk", "surprise": 1})),
            &[],
        )
        .await;
        assert_eq!(s, 400);
        let r = app
            .client
            .post(app.url(path))
            .bearer_auth(app.key("lei-health"))
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415);
        let after = app.counts().await;
        assert_eq!(before.safety_notices, after.safety_notices);
        assert_eq!(before.safety_notice_versions, after.safety_notice_versions);
        assert_eq!(before.outbox, after.outbox);
    }
);

on_both_engines!(
    revisions_are_versioned_and_withdrawal_keeps_the_history,
    |app: common::TestApp| async move {
        seed(&app).await;
        let n = publish(&app, &notice(&["wing"])).await;
        let path = n["links"]["self"].as_str().unwrap().to_owned();
        let mut revised = notice(&["wing", "reception"]);
        revised["instruction"] =
            json!("If found fitting: time it, recovery position, call Code Blue. Lower bunk.");
        // A revision must say why.
        let (s, _, _) = send(
            &app,
            reqwest::Method::PUT,
            "lei-health",
            &path,
            Some(&revised),
            &[],
        )
        .await;
        assert_eq!(s, 400);
        revised["reason"] = json!("Lower bunk advised after review");
        let (s, h, v) = send(
            &app,
            reqwest::Method::PUT,
            "lei-health",
            &path,
            Some(&revised),
            &[("If-Match", "\"1\"")],
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["version"], 2);
        assert_eq!(h["etag"], "\"2\"");
        // A writer who read version 1 is refused: someone else changed it.
        let (s, _, v) = send(
            &app,
            reqwest::Method::PUT,
            "lei-health",
            &path,
            Some(&revised),
            &[("If-Match", "\"1\"")],
        )
        .await;
        assert_eq!(s, 412, "{v}");
        // The wing cannot change it.
        let (s, _, _) = send(
            &app,
            reqwest::Method::PUT,
            "lei-wing",
            &path,
            Some(&revised),
            &[],
        )
        .await;
        assert_eq!(s, 403);
        // Withdraw: a new version; the prison view loses it, health keeps the history.
        let withdrawal = json!({"reason": "Diagnosis revised by neurology", "author": {"role": "GP", "registration": {"body": "GMC", "number": "1234567"}}});
        let (s, _, v) = send(
            &app,
            reqwest::Method::DELETE,
            "lei-health",
            &path,
            Some(&withdrawal),
            &[],
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "withdrawn");
        assert_eq!(v["version"], 3);
        let (_, list) = app
            .get_json("lei-wing", "/v1/people/A1234BC/safety-notices")
            .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0);
        let (s, _) = app.get_json("lei-wing", &path).await;
        assert_eq!(s, 404);
        let (_, list) = app
            .get_json(
                "lei-health",
                "/v1/people/A1234BC/safety-notices?include=withdrawn",
            )
            .await;
        assert_eq!(list["items"][0]["status"], "withdrawn");
        let (_, history) = app
            .get_json("lei-health", &format!("{path}/versions"))
            .await;
        let history = history.as_array().unwrap();
        assert_eq!(history.len(), 3);
        assert_eq!(history[1]["reason"], "Lower bunk advised after review");
        assert_eq!(history[2]["status"], "withdrawn");
        assert_eq!(history[2]["author"]["registration"]["body"], "GMC");
        // A withdrawn notice is not revised: a new one is published.
        let (s, _, _) = send(
            &app,
            reqwest::Method::PUT,
            "lei-health",
            &path,
            Some(&revised),
            &[],
        )
        .await;
        assert_eq!(s, 409);
        // Unknown and malformed ids are 404s, not errors.
        for p in [
            "/v1/safety-notices/00000000-0000-0000-0000-000000000000",
            "/v1/safety-notices/'%20OR%201=1",
        ] {
            let (s, _) = app.get_json("lei-health", p).await;
            assert_eq!(s, 404, "{p}");
        }
    }
);

on_both_engines!(
    notices_raise_events_without_clinical_content_and_are_audited,
    |app: common::TestApp| async move {
        seed(&app).await;
        let n = publish(&app, &with_consent(notice(&["wing"]))).await;
        let path = n["links"]["self"].as_str().unwrap().to_owned();
        let withdrawal = json!({"reason": "No longer needed", "author": {"role": "GP", "registration": {"body": "GMC", "number": "1234567"}}});
        let (s, _, _) = send(
            &app,
            reqwest::Method::DELETE,
            "lei-health",
            &path,
            Some(&withdrawal),
            &[],
        )
        .await;
        assert_eq!(s, 200);
        let events = app.store.outbox_after(0, 100).await.unwrap();
        let types: Vec<&str> = events
            .iter()
            .map(|e| e.event_type.as_str())
            .filter(|t| t.contains("safety-notice"))
            .collect();
        assert_eq!(
            types,
            vec![
                "uk.gatehouse.safety-notice.published",
                "uk.gatehouse.safety-notice.withdrawn"
            ]
        );
        for e in &events {
            let data = e.data.to_string();
            assert!(
                !data.contains(CANARY) && !data.contains("epilepsy") && !data.contains("Code Blue"),
                "{data}"
            );
        }
        // Reads are disclosures: the governance lead sees the wing's read, with the view it got.
        app.get("lei-wing", "/v1/people/A1234BC/safety-notices")
            .await;
        let (s, d) = app.get_json("ig", "/v1/people/A1234BC/disclosures").await;
        assert_eq!(s, 200);
        let text = d.to_string();
        assert!(text.contains("safety-notices"), "{text}");
        assert!(text.contains("write-notice"), "{text}");
    }
);

on_both_engines!(
    overdue_reviews_are_listed_for_healthcare_only,
    |app: common::TestApp| async move {
        seed(&app).await;
        // Published earlier with a review date now past (straight to the store: the API refuses past dates).
        let input: gatehouse_domain::notice::NoticeInput =
            serde_json::from_value(notice(&["wing"])).unwrap();
        let mut v = input.parse(chrono::Utc::now()).unwrap();
        v.content.review_by = chrono::Utc::now().date_naive() - chrono::Duration::days(3);
        let pn = gatehouse_domain::PrisonNumber::parse("A1234BC").unwrap();
        let stored = app
            .store
            .publish_notice(
                &pn,
                &gatehouse_store::NewNoticeVersion {
                    content: v.content,
                    author: v.author,
                    reason: None,
                    consumer: "lei-health".into(),
                },
                &gatehouse_store::WriteAudit::system("test", "test", "test", vec![]),
            )
            .await
            .unwrap();
        publish(&app, &notice(&["wing"])).await; // Not overdue.
        let (s, v) = app
            .get_json(
                "lei-health",
                "/v1/establishments/LEI/safety-notices/overdue",
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["id"], stored.id.as_str());
        assert_eq!(items[0]["reviewOverdue"], true);
        let (s, _) = app
            .get_json("lei-wing", "/v1/establishments/LEI/safety-notices/overdue")
            .await;
        assert_eq!(s, 403);
        let (s, _) = app
            .get_json(
                "mdi-health",
                "/v1/establishments/LEI/safety-notices/overdue",
            )
            .await;
        assert_eq!(s, 404);
    }
);
