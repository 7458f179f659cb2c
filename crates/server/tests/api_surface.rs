//! The public surface: health, metrics, OpenAPI and docs without a key;
//! everything else with one; and no personal data in the logs.

mod common;

use common::items::*;
use common::logs::log_buffer;
use serde_json::{Value, json};

on_both_engines!(
    health_metrics_openapi_and_docs_need_no_key,
    |app: common::TestApp| async move {
        let live: Value = app.public_json("/health/live").await;
        assert_eq!(live["status"], "ok");
        let ready: Value = app.public_json("/health/ready").await;
        assert_eq!(ready["status"], "ok");
        assert!(ready["database"] == "sqlite" || ready["database"] == "postgres");

        let doc: Value = app.public_json("/openapi.json").await;
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        for path in [
            "/v1/people/{prisonNumber}",
            "/v1/people",
            "/v1/prison-events",
            "/v1/people/{prisonNumber}/movements",
        ] {
            assert!(
                doc["paths"][path].is_object(),
                "{path} missing from OpenAPI"
            );
        }

        let docs = app.public_text("/docs").await;
        assert!(docs.contains("/openapi.json"));
        for external in ["src=\"http", "href=\"http", "@import", "cdn"] {
            assert!(
                !docs.to_lowercase().contains(external),
                "the docs page must make no external requests ({external})"
            );
        }

        app.get("lei-health", "/v1/establishments").await;
        let metrics = app.public_text("/metrics").await;
        assert!(
            metrics.contains("gatehouse_http_requests_total"),
            "{metrics}"
        );
        assert!(metrics.contains("route=\"/v1/establishments\""));
    }
);

on_both_engines!(
    every_documented_api_route_refuses_a_request_without_a_key,
    |app: common::TestApp| async move {
        let doc: Value = app.public_json("/openapi.json").await;
        let public = ["/health/live", "/health/ready", "/metrics"];
        let mut checked = 0;
        for (path, ops) in doc["paths"].as_object().unwrap() {
            if public.contains(&path.as_str()) {
                continue;
            }
            let concrete = path
                .replace("{prisonNumber}", "A1234BC")
                .replace("{code}", "LEI");
            for method in ops.as_object().unwrap().keys() {
                let r = app
                    .client
                    .request(method.to_uppercase().parse().unwrap(), app.url(&concrete))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 401, "{method} {path}");
                checked += 1;
            }
        }
        assert!(checked >= 8, "{checked}");
    }
);

on_both_engines!(
    establishments_list_and_roll_respect_scope,
    |app: common::TestApp| async move {
        let (s, list) = app.get_json("lei-wing", "/v1/establishments").await;
        assert_eq!(s, 200);
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|e| e["code"] == "LEI" && e["name"] == "HMP Leeds")
        );
        app.feed(&json!([
            reception("a", "A1234BC", "LEI", 5),
            reception("b", "B2345CD", "MDI", 5)
        ]))
        .await;
        let (s, roll) = app
            .get_json("lei-wing", "/v1/establishments/LEI/people")
            .await;
        assert_eq!(s, 200);
        let pns: Vec<&str> = roll["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["prisonNumber"].as_str().unwrap())
            .collect();
        assert_eq!(pns, ["A1234BC"]);
        assert_eq!(
            app.get("lei-wing", "/v1/establishments/MDI/people")
                .await
                .status(),
            404
        );
        assert_eq!(
            app.get("escort", "/v1/establishments/MDI/people")
                .await
                .status(),
            200
        );
    }
);

on_both_engines!(
    no_personal_data_reaches_the_logs,
    |app: common::TestApp| async move {
        let logs = log_buffer();
        let canaries = ["Q9876ZZ", "9434765919", "Canaryname", "Zebedee"];
        app.feed(&person(
            "p",
            "Q9876ZZ",
            "Zebedee",
            "Canaryname",
            "1981-05-06",
            Some("9434765919"),
        ))
        .await;
        app.feed(&reception("r", "Q9876ZZ", "LEI", 3)).await;
        app.get("lei-health", "/v1/people/Q9876ZZ").await;
        app.get("lei-health", "/v1/people?nhsNumber=9434765919")
            .await;
        app.get(
            "lei-health",
            "/v1/people?name=Zebedee%20Canaryname&birthDate=1981-05-06",
        )
        .await;
        app.get("mdi-health", "/v1/people/Q9876ZZ").await;
        app.feed(&person(
            "p2",
            "Q9876ZZ",
            "Zebedee",
            "Canaryname",
            "2999-05-06",
            None,
        ))
        .await;
        let text = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
        assert!(
            text.contains("/v1/people/{prisonNumber}"),
            "requests are logged by route template"
        );
        for c in canaries {
            assert!(!text.contains(c), "personal data '{c}' reached the logs");
        }
    }
);
