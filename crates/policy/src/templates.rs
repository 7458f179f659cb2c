//! The shipped agreement templates (Cedar, in `agreements/`). A consumer is
//! registered with a template, or with an agreement file of its own; either is
//! validated against the schema before it is installed.

use gatehouse_domain::OrgType;

pub struct Template {
    pub name: &'static str,
    pub summary: &'static str,
    pub org_type: OrgType,
    /// The Cedar policies.
    pub text: &'static str,
}

pub const TEMPLATES: &[Template] = &[
    Template {
        name: "prison-wing",
        summary: "Prison wing terminals: people, location, movements, alerts and wing instructions, for safety.",
        org_type: OrgType::Prison,
        text: include_str!("../agreements/prison-wing.cedar"),
    },
    Template {
        name: "prison-healthcare",
        summary: "A prison healthcare unit's clinical system: everything shared about its patients, for direct care; break-glass in emergencies.",
        org_type: OrgType::Health,
        text: include_str!("../agreements/prison-healthcare.cedar"),
    },
    Template {
        name: "escort-contractor",
        summary: "Prisoner escort contractor: people, movements, alerts and escort instructions in every establishment it serves.",
        org_type: OrgType::Escort,
        text: include_str!("../agreements/escort-contractor.cedar"),
    },
    Template {
        name: "information-governance",
        summary: "Information-governance lead: the disclosure audit and the break-glass review queue, for governance.",
        org_type: OrgType::Governance,
        text: include_str!("../agreements/information-governance.cedar"),
    },
    Template {
        name: "prison-feed",
        summary: "The prison system's feed: writes movements, alerts, people and planned movements; reads them back.",
        org_type: OrgType::Prison,
        text: include_str!("../agreements/prison-feed.cedar"),
    },
];

pub fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}
