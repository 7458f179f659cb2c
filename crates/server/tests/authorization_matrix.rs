//! The authorisation matrix, generated from the shipped templates: every
//! person endpoint × every consumer kind × a person in and out of scope ×
//! every purpose (and none) answers what the consumer's agreement decides:
//! permit → 200, hidden → 404, deny → 403. Run on both engines.

mod common;

use common::items::*;
use gatehouse_domain::{CustodyStatus, EstablishmentCode, Scope};
use gatehouse_policy::templates::template;
use gatehouse_policy::{
    Action, Agreement, Authorizer, CedarAuthorizer, Decision, Principal, Purpose, Request, Resource,
};
use serde_json::json;

const ENDPOINTS: &[(&str, Action)] = &[
    ("", Action::ReadPerson),
    ("/movements", Action::ReadMovements),
    ("/alerts", Action::ReadAlerts),
    ("/planned-movements", Action::ReadPlannedMovements),
    ("/disclosures", Action::ReadDisclosures),
    ("/safety-notices", Action::ReadSafetyNotices),
    ("/summary", Action::ReadSummary),
];

on_both_engines!(
    every_endpoint_consumer_scope_and_purpose_answers_as_the_agreement_decides,
    |app: common::TestApp| async move {
        let (s, _) = app
            .feed(&json!([
                reception("r1", "A1234BC", "LEI", 10),
                reception("r2", "B2345CD", "MDI", 10)
            ]))
            .await;
        assert_eq!(s, 200);
        let oracle = CedarAuthorizer::new();
        let people = [("A1234BC", "LEI"), ("B2345CD", "MDI")];
        let mut checked = 0;
        for (name, tpl, est) in common::CONSUMERS.iter().filter(|(n, _, _)| *n != "revoked") {
            let t = template(tpl).unwrap();
            let principal = Principal {
                consumer: (*name).into(),
                org_type: t.org_type,
                scope: Scope::parse(est).unwrap(),
                on_behalf_of: None,
                agreement: Agreement::template(tpl).unwrap(),
            };
            for (pn, home) in people {
                let resource = Resource::Person {
                    incoming: None,
                    establishment: Some(EstablishmentCode::parse(home).unwrap()),
                    custody: Some(CustodyStatus::InPrison),
                };
                for (suffix, action) in ENDPOINTS {
                    for purpose in std::iter::once(None).chain(Purpose::ALL.into_iter().map(Some)) {
                        let effective = purpose.unwrap_or(Purpose::default_for(t.org_type));
                        let expected = match oracle.decide(&Request {
                            principal: &principal,
                            action: *action,
                            resource: &resource,
                            purpose: effective,
                            break_glass: false,
                        }) {
                            Decision::Permit { .. } => 200,
                            Decision::Hidden { .. } => 404,
                            Decision::Deny { .. } => 403,
                        };
                        let mut req = app
                            .client
                            .get(app.url(&format!("/v1/people/{pn}{suffix}")))
                            .bearer_auth(app.key(name));
                        if let Some(p) = purpose {
                            req = req.header("Gatehouse-Purpose", p.as_str());
                        }
                        let status = req.send().await.unwrap().status().as_u16();
                        assert_eq!(
                            status,
                            expected,
                            "{name} {pn}{suffix} purpose {:?}",
                            purpose.map(|p| p.as_str())
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 6 * 2 * ENDPOINTS.len() * 6);
        // Hand-written anchors, so the matrix is not only the oracle agreeing with itself.
        assert_eq!(
            app.get("lei-wing", "/v1/people/B2345CD").await.status(),
            404
        );
        assert_eq!(
            app.get("lei-wing", "/v1/people/A1234BC").await.status(),
            200
        );
        assert_eq!(
            app.get("lei-wing", "/v1/people/A1234BC/disclosures")
                .await
                .status(),
            403
        );
        assert_eq!(
            app.get("mdi-health", "/v1/people/B2345CD/movements")
                .await
                .status(),
            200
        );
        assert_eq!(
            app.get("ig", "/v1/people/B2345CD/disclosures")
                .await
                .status(),
            200
        );
        assert_eq!(
            app.get("escort", "/v1/people/B2345CD/alerts")
                .await
                .status(),
            200
        );
        assert_eq!(
            app.get("prison-feed", "/v1/people/A1234BC/disclosures")
                .await
                .status(),
            403
        );
    }
);
