//! Proof that no prison-kind agreement template can permit `read-notice-clinical`.
//!
//! Two independent arguments, both mechanical:
//! 1. Structure: no permit policy of a non-health template has an action scope
//!    that includes `read-notice-clinical` (no `action` wildcard either).
//! 2. Exhaustion: every request over the schema's finite attribute space is
//!    evaluated with the baseline joined, and none is allowed. The policies
//!    compare strings only with literal constants, so each string attribute
//!    ranges over the constants the policies mention plus one value they do
//!    not ("other"), which stands for every unmentioned value; likewise a set
//!    attribute ranges over the subsets of the mentioned constants, with and
//!    without one unmentioned member.
//!
//! (The solver-based `cedar-policy-symcc` route needs a cvc5 1.3.1 executable,
//! which this machine cannot get: Debian ships 1.0.3 and PyPI only the library.)

use cedar_policy::{ActionConstraint, Effect, PolicySet};
use gatehouse_domain::{EstablishmentCode, OrgType, Scope};
use gatehouse_policy::templates::TEMPLATES;
use gatehouse_policy::*;
use std::str::FromStr;

fn non_health_templates() -> impl Iterator<Item = &'static gatehouse_policy::templates::Template> {
    TEMPLATES.iter().filter(|t| t.org_type != OrgType::Health)
}

#[test]
fn no_prison_kind_template_has_a_permit_that_names_clinical_detail() {
    for t in non_health_templates() {
        let set = PolicySet::from_str(t.text).unwrap();
        for p in set.policies() {
            if p.effect() != Effect::Permit {
                continue;
            }
            let scope = p.action_constraint();
            let names_clinical = match &scope {
                ActionConstraint::Any => true,
                ActionConstraint::Eq(a) => a.to_string().contains("read-notice-clinical"),
                ActionConstraint::In(list) => list
                    .iter()
                    .any(|a| a.to_string().contains("read-notice-clinical")),
            };
            assert!(
                !names_clinical,
                "{}: policy {:?} may permit read-notice-clinical",
                t.name,
                p.annotation("id")
            );
        }
    }
}

fn subsets(items: &[&str]) -> Vec<Vec<String>> {
    (0..1u32 << items.len())
        .map(|mask| {
            items
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, s)| s.to_string())
                .collect()
        })
        .collect()
}

#[test]
fn exhaustively_no_non_health_consumer_reads_clinical_detail() {
    let authorizer = CedarAuthorizer::new();
    // The audience values the policies mention, plus one they do not (standing for reception, kitchen, healthcare-only…).
    let audiences = subsets(&["all-staff", "wing", "escort", "kitchen"]);
    let establishments = [Some("LEI"), Some("MDI"), None];
    let scopes = [Scope::All, Scope::parse("LEI").unwrap()];
    let mut evaluated = 0u64;
    let mut health_allowed = 0u64;
    for t in TEMPLATES {
        let agreement = Agreement::template(t.name).unwrap();
        for org in OrgType::ALL {
            for scope in &scopes {
                for staff in [None, Some("nurse-1".to_string())] {
                    let principal = Principal {
                        consumer: "c".into(),
                        org_type: org,
                        scope: scope.clone(),
                        on_behalf_of: staff.clone(),
                        agreement: agreement.clone(),
                    };
                    for est in establishments {
                        for level in ["instruction-only", "with-condition", "other"] {
                            for consent in [false, true] {
                                for audience in &audiences {
                                    let resource = Resource::Notice(NoticeFacts {
                                        establishment: est
                                            .map(|e| EstablishmentCode::parse(e).unwrap()),
                                        disclosure_level: level.into(),
                                        consent_recorded: consent,
                                        audience: audience.clone(),
                                    });
                                    for purpose in Purpose::ALL {
                                        for break_glass in [false, true] {
                                            let d = authorizer.decide(&Request {
                                                principal: &principal,
                                                action: Action::ReadNoticeClinical,
                                                resource: &resource,
                                                purpose,
                                                break_glass,
                                            });
                                            evaluated += 1;
                                            if org != OrgType::Health {
                                                assert!(
                                                    !d.is_permit(),
                                                    "{} with org {org:?} permitted clinical detail: {d:?}",
                                                    t.name
                                                );
                                            } else if d.is_permit() {
                                                health_allowed += 1;
                                                assert_eq!(
                                                    t.org_type,
                                                    OrgType::Health,
                                                    "only the health template grants clinical detail, even to a health consumer"
                                                );
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(
        health_allowed > 0,
        "the health template must still grant clinical detail to its own consumers"
    );
    eprintln!(
        "evaluated {evaluated} requests; {health_allowed} permits, all to health consumers under the health template"
    );
}
