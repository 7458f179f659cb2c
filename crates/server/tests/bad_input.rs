//! Bad input gets a clear 4xx problem and leaves the store unchanged.
//! One table, each row a kind of bad input, run on both engines.

mod common;

use common::items::*;
use serde_json::{Value, json};

/// How a case is sent.
enum Send {
    Json(&'static str, &'static str, Value),
    Raw(&'static str, &'static str, &'static str, Vec<u8>),
    Get(&'static str, String),
    GetWithHeader(&'static str, String, &'static str, &'static str),
    NoKey(&'static str, &'static str),
    BadKey(&'static str),
    Method(&'static str, &'static str),
}

struct Case {
    name: &'static str,
    send: Send,
    status: u16,
    /// A word the problem's detail or errors must contain, so the message is useful.
    mentions: &'static str,
}

fn cases() -> Vec<Case> {
    let feed = "/v1/prison-events";
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let mut wrong_version = hmpps(
        "prisoner-offender-search.prisoner.received",
        "A1234BC",
        1,
        json!({"prisonId": "LEI", "reason": "NEW_ADMISSION"}),
    );
    wrong_version["version"] = json!("one");
    let mut mismatched = hmpps(
        "prisoner-offender-search.prisoner.received",
        "A1234BC",
        1,
        json!({"prisonId": "LEI", "reason": "NEW_ADMISSION"}),
    );
    mismatched["additionalInformation"]["nomsNumber"] = json!("B2345CD");
    let mut bad_pn = hmpps(
        "prisoner-offender-search.prisoner.received",
        "A1234BC",
        1,
        json!({"prisonId": "LEI", "reason": "NEW_ADMISSION"}),
    );
    bad_pn["personReference"]["identifiers"][0]["value"] = json!("12345");
    bad_pn["additionalInformation"]["nomsNumber"] = json!("12345");
    let big = vec![b' '; common::BODY_LIMIT + 10];
    let too_many = Value::Array(
        (0..=common::MAX_BATCH)
            .map(|i| reception(&format!("x{i}"), "A1234BC", "LEI", 1))
            .collect(),
    );
    let long_id = {
        let mut v = reception("x", "A1234BC", "LEI", 1);
        v["id"] = json!("x".repeat(300));
        v
    };
    let mut future_event = reception("f", "A1234BC", "LEI", 1);
    future_event["occurredAt"] = json!(future);
    vec![
        Case {
            name: "malformed JSON",
            send: Send::Raw(
                "prison-feed",
                feed,
                "application/json",
                b"{\"eventType\": ".to_vec(),
            ),
            status: 400,
            mentions: "JSON",
        },
        Case {
            name: "empty body",
            send: Send::Raw("prison-feed", feed, "application/json", b"  ".to_vec()),
            status: 400,
            mentions: "empty",
        },
        Case {
            name: "wrong type for version",
            send: Send::Json("prison-feed", feed, wrong_version),
            status: 422,
            mentions: "version",
        },
        Case {
            name: "array of non-objects",
            send: Send::Json("prison-feed", feed, json!([1, "two"])),
            status: 422,
            mentions: "object",
        },
        Case {
            name: "JSON that is not an object",
            send: Send::Json("prison-feed", feed, json!("hello")),
            status: 400,
            mentions: "object",
        },
        Case {
            name: "invalid prison number",
            send: Send::Json("prison-feed", feed, bad_pn),
            status: 422,
            mentions: "prison number",
        },
        Case {
            name: "invalid NHS number",
            send: Send::Json(
                "prison-feed",
                feed,
                person(
                    "p",
                    "A1234BC",
                    "Ann",
                    "Lee",
                    "1980-01-01",
                    Some("9434765918"),
                ),
            ),
            status: 422,
            mentions: "check digit",
        },
        Case {
            name: "unknown HMPPS event type",
            send: Send::Json(
                "prison-feed",
                feed,
                hmpps(
                    "prisoner-offender-search.prisoner.teleported",
                    "A1234BC",
                    1,
                    json!({}),
                ),
            ),
            status: 422,
            mentions: "eventType",
        },
        Case {
            name: "unknown Gatehouse type",
            send: Send::Json(
                "prison-feed",
                feed,
                json!({"type": "gatehouse.banana", "occurredAt": at(1), "prisonNumber": "A1234BC"}),
            ),
            status: 422,
            mentions: "type",
        },
        Case {
            name: "unknown establishment",
            send: Send::Json("prison-feed", feed, reception("u", "A1234BC", "ZZZ", 1)),
            status: 422,
            mentions: "establishment",
        },
        Case {
            name: "malformed establishment code",
            send: Send::Json("prison-feed", feed, reception("u", "A1234BC", "Leeds", 1)),
            status: 422,
            mentions: "establishment",
        },
        Case {
            name: "future occurredAt",
            send: Send::Json("prison-feed", feed, future_event),
            status: 422,
            mentions: "future",
        },
        Case {
            name: "future date of birth",
            send: Send::Json(
                "prison-feed",
                feed,
                person("p", "A1234BC", "Ann", "Lee", "2999-01-01", None),
            ),
            status: 422,
            mentions: "future",
        },
        Case {
            name: "oversized body",
            send: Send::Raw("prison-feed", feed, "application/json", big),
            status: 413,
            mentions: "large",
        },
        Case {
            name: "too many items in a batch",
            send: Send::Json("prison-feed", feed, too_many),
            status: 413,
            mentions: "at most",
        },
        Case {
            name: "unsupported media type",
            send: Send::Raw("prison-feed", feed, "text/plain", b"hello".to_vec()),
            status: 415,
            mentions: "application/json",
        },
        Case {
            name: "id too long",
            send: Send::Json("prison-feed", feed, long_id),
            status: 422,
            mentions: "id",
        },
        Case {
            name: "personReference and nomsNumber disagree",
            send: Send::Json("prison-feed", feed, mismatched),
            status: 422,
            mentions: "differ",
        },
        Case {
            name: "cell move without a cell",
            send: Send::Json(
                "prison-feed",
                feed,
                movement(
                    "c",
                    "A1234BC",
                    1,
                    json!({"kind": "cell-move", "establishment": "LEI"}),
                ),
            ),
            status: 422,
            mentions: "cell",
        },
        Case {
            name: "cell in another establishment",
            send: Send::Json(
                "prison-feed",
                feed,
                movement(
                    "c",
                    "A1234BC",
                    1,
                    json!({"kind": "reception", "establishment": "LEI", "cell": "MDI-A-1-001"}),
                ),
            ),
            status: 422,
            mentions: "cell",
        },
        Case {
            name: "reason that does not fit the movement",
            send: Send::Json(
                "prison-feed",
                feed,
                movement(
                    "c",
                    "A1234BC",
                    1,
                    json!({"kind": "release", "reason": "SENT_TO_COURT", "establishment": "LEI"}),
                ),
            ),
            status: 422,
            mentions: "reason",
        },
        Case {
            name: "unknown alert code",
            send: Send::Json(
                "prison-feed",
                feed,
                json!({"type": "gatehouse.alert", "occurredAt": at(1), "prisonNumber": "A1234BC", "alert": {"code": "NOPE", "active": true}}),
            ),
            status: 422,
            mentions: "alert code",
        },
        Case {
            name: "duplicate event id with other content",
            send: Send::Json(
                "prison-feed",
                feed,
                reception("seed-1", "A1234BC", "MDI", 30),
            ),
            status: 409,
            mentions: "already used",
        },
        Case {
            name: "atomic batch with a bad item",
            send: Send::Json(
                "prison-feed",
                "/v1/prison-events?atomic=true",
                json!([
                    reception("ok", "B2345CD", "LEI", 1),
                    reception("bad", "B2345CD", "QQQ", 1)
                ]),
            ),
            status: 422,
            mentions: "nothing was stored",
        },
        Case {
            name: "unknown query parameter",
            send: Send::Json(
                "prison-feed",
                "/v1/prison-events?atomik=true",
                reception("q", "B2345CD", "LEI", 1),
            ),
            status: 400,
            mentions: "query",
        },
        Case {
            name: "missing key",
            send: Send::NoKey("POST", feed),
            status: 401,
            mentions: "Bearer",
        },
        Case {
            name: "malformed key",
            send: Send::BadKey(feed),
            status: 401,
            mentions: "key",
        },
        Case {
            name: "revoked key",
            send: Send::Json("revoked", feed, reception("r", "B2345CD", "LEI", 1)),
            status: 401,
            mentions: "revoked",
        },
        Case {
            name: "action not in the agreement",
            send: Send::Json("lei-wing", feed, reception("w", "B2345CD", "LEI", 1)),
            status: 403,
            mentions: "write-feed",
        },
        Case {
            name: "person outside scope",
            send: Send::Get("mdi-health", "/v1/people/A1234BC".into()),
            status: 404,
            mentions: "visible",
        },
        Case {
            name: "person that does not exist",
            send: Send::Get("lei-health", "/v1/people/Z9999ZZ".into()),
            status: 404,
            mentions: "visible",
        },
        Case {
            name: "invalid prison number in path",
            send: Send::Get("lei-health", "/v1/people/not-a-number".into()),
            status: 400,
            mentions: "prison number",
        },
        Case {
            name: "invalid cursor",
            send: Send::Get(
                "lei-health",
                "/v1/people/A1234BC/movements?cursor=%%%".into(),
            ),
            status: 400,
            mentions: "cursor",
        },
        Case {
            name: "forged cursor",
            send: Send::Get(
                "lei-health",
                "/v1/people/A1234BC/movements?cursor=MXxub3QtYS10aW1l".into(),
            ),
            status: 400,
            mentions: "cursor",
        },
        Case {
            name: "limit out of range",
            send: Send::Get(
                "lei-health",
                "/v1/people/A1234BC/movements?limit=100000".into(),
            ),
            status: 400,
            mentions: "limit",
        },
        Case {
            name: "search with no criteria",
            send: Send::Get("lei-health", "/v1/people".into()),
            status: 400,
            mentions: "nhsNumber",
        },
        Case {
            name: "search with a bad birth date",
            send: Send::Get(
                "lei-health",
                "/v1/people?name=Lee&birthDate=03/04/1985".into(),
            ),
            status: 400,
            mentions: "birthDate",
        },
        Case {
            name: "search with a bad NHS number",
            send: Send::Get("lei-health", "/v1/people?nhsNumber=123".into()),
            status: 400,
            mentions: "NHS number",
        },
        Case {
            name: "unknown purpose of use",
            send: Send::GetWithHeader(
                "lei-health",
                "/v1/people/A1234BC".into(),
                "Gatehouse-Purpose",
                "curiosity",
            ),
            status: 400,
            mentions: "Gatehouse-Purpose",
        },
        Case {
            name: "purpose the agreement does not allow",
            send: Send::GetWithHeader(
                "lei-wing",
                "/v1/people/A1234BC".into(),
                "Gatehouse-Purpose",
                "direct-care",
            ),
            status: 403,
            mentions: "purpose",
        },
        Case {
            name: "method not allowed",
            send: Send::Method("DELETE", feed),
            status: 405,
            mentions: "method",
        },
        Case {
            name: "no such route",
            send: Send::Get("lei-health", "/v1/nothing-here".into()),
            status: 404,
            mentions: "nothing",
        },
    ]
}

on_both_engines!(
    every_kind_of_bad_input_gets_a_clear_4xx_and_changes_nothing,
    |app: common::TestApp| async move {
        // A known person at LEI and a known event id, for the scope and duplicate cases.
        let (s, _) = app.feed(&reception("seed-1", "A1234BC", "LEI", 30)).await;
        assert_eq!(s, 201);
        let cases = cases();
        assert!(cases.len() >= 20);
        for case in cases {
            let before = app.counts().await;
            let r = match &case.send {
                Send::Json(who, path, body) => app.post_json(who, path, body).await,
                Send::Raw(who, path, ct, body) => app
                    .client
                    .post(app.url(path))
                    .bearer_auth(app.key(who))
                    .header("content-type", *ct)
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap(),
                Send::Get(who, path) => app.get(who, path).await,
                Send::GetWithHeader(who, path, h, v) => app
                    .client
                    .get(app.url(path))
                    .bearer_auth(app.key(who))
                    .header(*h, *v)
                    .send()
                    .await
                    .unwrap(),
                Send::NoKey(method, path) => app
                    .client
                    .request(method.parse().unwrap(), app.url(path))
                    .send()
                    .await
                    .unwrap(),
                Send::BadKey(path) => app
                    .client
                    .post(app.url(path))
                    .bearer_auth("gh_nothex!_short")
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap(),
                Send::Method(method, path) => app
                    .client
                    .request(method.parse().unwrap(), app.url(path))
                    .bearer_auth(app.key("prison-feed"))
                    .send()
                    .await
                    .unwrap(),
            };
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_eq!(status, case.status, "{}: {body}", case.name);
            assert_eq!(ct, "application/problem+json", "{}", case.name);
            assert_eq!(body["status"], case.status, "{}", case.name);
            assert!(
                body["type"]
                    .as_str()
                    .unwrap()
                    .starts_with("urn:gatehouse:problem:"),
                "{}",
                case.name
            );
            let text = body.to_string().to_lowercase();
            assert!(
                text.contains(&case.mentions.to_lowercase()),
                "{}: the problem should mention '{}': {body}",
                case.name,
                case.mentions
            );
            assert_eq!(
                before,
                app.counts().await,
                "{}: the store changed",
                case.name
            );
        }
    }
);
