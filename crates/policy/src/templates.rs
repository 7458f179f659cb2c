//! Built-in agreement templates. Each grants a set of actions for a set of
//! purposes, to a consumer of one organisation type, within the consumer's
//! establishment scope. The governance work replaces this table with Cedar
//! agreements; the [`Authorizer`](crate::Authorizer) seam stays.

use crate::{Action, Authorizer, Decision, Purpose, Request, Resource};
use gatehouse_domain::OrgType;

pub struct Template {
    pub name: &'static str,
    pub summary: &'static str,
    pub org_type: OrgType,
    pub actions: &'static [Action],
    pub purposes: &'static [Purpose],
}

const READS: &[Action] = &[
    Action::ReadPerson,
    Action::SearchPeople,
    Action::ReadMovements,
    Action::ReadAlerts,
    Action::ReadPlannedMovements,
    Action::ReadIdentity,
    Action::ReadReferenceData,
];

pub const TEMPLATES: &[Template] = &[
    Template {
        name: "prison-wing",
        summary: "Prison wing terminals: the people in the establishment, their location, movements and alerts, for safety.",
        org_type: OrgType::Prison,
        actions: &[
            Action::ReadPerson,
            Action::SearchPeople,
            Action::ReadMovements,
            Action::ReadAlerts,
            Action::ReadPlannedMovements,
            Action::ReadReferenceData,
        ],
        purposes: &[Purpose::Safety, Purpose::Operations],
    },
    Template {
        name: "prison-healthcare",
        summary: "A prison healthcare unit's clinical system: everything shared about its establishment's patients, for direct care.",
        org_type: OrgType::Health,
        actions: READS,
        purposes: &[Purpose::DirectCare, Purpose::Safety, Purpose::Emergency],
    },
    Template {
        name: "escort-contractor",
        summary: "Prisoner escort contractor: people, movements and alerts in every establishment, for safety on journeys.",
        org_type: OrgType::Escort,
        actions: &[
            Action::ReadPerson,
            Action::SearchPeople,
            Action::ReadMovements,
            Action::ReadAlerts,
            Action::ReadPlannedMovements,
            Action::ReadReferenceData,
        ],
        purposes: &[Purpose::Safety, Purpose::Operations],
    },
    Template {
        name: "information-governance",
        summary: "Information-governance lead: reads for audit review.",
        org_type: OrgType::Governance,
        actions: READS,
        purposes: &[Purpose::Governance],
    },
    Template {
        name: "prison-feed",
        summary: "The prison system's feed: writes movements, alerts, people and planned movements; reads them back to confirm.",
        org_type: OrgType::Prison,
        actions: &[
            Action::WriteFeed,
            Action::ReadPerson,
            Action::SearchPeople,
            Action::ReadMovements,
            Action::ReadAlerts,
            Action::ReadPlannedMovements,
            Action::ReadReferenceData,
        ],
        purposes: &[Purpose::Operations, Purpose::Safety],
    },
];

pub fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// Decides from the built-in templates.
#[derive(Debug, Default, Clone)]
pub struct TemplateAuthorizer;

impl Authorizer for TemplateAuthorizer {
    fn knows_agreement(&self, name: &str) -> bool {
        template(name).is_some()
    }

    fn decide(&self, r: &Request<'_>) -> Decision {
        let p = r.principal;
        let Some(t) = template(&p.agreement) else {
            return Decision::Deny {
                policy: "no-agreement".into(),
                reason: "the consumer holds no known agreement".into(),
            };
        };
        let policy = format!("template:{}", t.name);
        // Scope first: a person outside the consumer's establishments does not exist for it.
        if let Resource::Person { establishment } = r.resource {
            let visible = match establishment {
                Some(e) => p.scope.covers(e),
                None => p.scope == gatehouse_domain::Scope::All,
            };
            if !visible {
                return Decision::Hidden {
                    policy: format!("{policy}:scope"),
                };
            }
        }
        if t.org_type != p.org_type {
            return Decision::Deny {
                policy,
                reason: "the agreement is for another kind of organisation".into(),
            };
        }
        if !t.actions.contains(&r.action) {
            return Decision::Deny {
                policy,
                reason: format!("the agreement does not allow {}", r.action.as_str()),
            };
        }
        if !t.purposes.contains(&r.purpose) {
            return Decision::Deny {
                policy,
                reason: format!(
                    "the agreement does not allow the purpose {}",
                    r.purpose.as_str()
                ),
            };
        }
        Decision::Permit { policy }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Principal;
    use gatehouse_domain::{EstablishmentCode, Scope};

    fn principal(agreement: &str, org: OrgType, scope: &str) -> Principal {
        Principal {
            consumer: "c".into(),
            org_type: org,
            agreement: agreement.into(),
            scope: Scope::parse(scope).unwrap(),
            on_behalf_of: None,
        }
    }

    #[test]
    fn scope_hides_people_elsewhere_and_templates_limit_actions() {
        let a = TemplateAuthorizer;
        let wing = principal("prison-wing", OrgType::Prison, "LEI");
        let at = |code: &str| Resource::Person {
            establishment: Some(EstablishmentCode::parse(code).unwrap()),
        };
        let ask = |p: &Principal, action, res: &Resource, purpose| {
            a.decide(&Request {
                principal: p,
                action,
                resource: res,
                purpose,
            })
        };
        assert!(ask(&wing, Action::ReadPerson, &at("LEI"), Purpose::Safety).is_permit());
        assert!(matches!(
            ask(&wing, Action::ReadPerson, &at("MDI"), Purpose::Safety),
            Decision::Hidden { .. }
        ));
        assert!(matches!(
            ask(&wing, Action::ReadIdentity, &at("LEI"), Purpose::Safety),
            Decision::Deny { .. }
        ));
        assert!(matches!(
            ask(&wing, Action::ReadPerson, &at("LEI"), Purpose::DirectCare),
            Decision::Deny { .. }
        ));
        assert!(matches!(
            ask(
                &wing,
                Action::WriteFeed,
                &Resource::Feed,
                Purpose::Operations
            ),
            Decision::Deny { .. }
        ));
        let feed = principal("prison-feed", OrgType::Prison, "*");
        assert!(
            ask(
                &feed,
                Action::WriteFeed,
                &Resource::Feed,
                Purpose::Operations
            )
            .is_permit()
        );
        // A person with no known establishment is visible only to all-estate consumers.
        let nowhere = Resource::Person {
            establishment: None,
        };
        assert!(matches!(
            ask(&wing, Action::ReadPerson, &nowhere, Purpose::Safety),
            Decision::Hidden { .. }
        ));
        assert!(ask(&feed, Action::ReadPerson, &nowhere, Purpose::Safety).is_permit());
    }

    #[test]
    fn every_template_default_purpose_is_allowed() {
        for t in TEMPLATES {
            assert!(
                t.purposes.contains(&Purpose::default_for(t.org_type)),
                "{}",
                t.name
            );
        }
    }
}
