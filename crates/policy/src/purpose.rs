//! Purposes of use (DESIGN.md §2). A request names one in `Gatehouse-Purpose`;
//! without it, the consumer's usual purpose applies.

use gatehouse_domain::{OrgType, ParseError};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    DirectCare,
    Safety,
    Emergency,
    Governance,
    Operations,
}

impl Purpose {
    pub const ALL: [Purpose; 5] = [
        Self::DirectCare,
        Self::Safety,
        Self::Emergency,
        Self::Governance,
        Self::Operations,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectCare => "direct-care",
            Self::Safety => "safety",
            Self::Emergency => "emergency",
            Self::Governance => "governance",
            Self::Operations => "operations",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == raw.trim())
            .ok_or_else(|| {
                ParseError::new(
                    "Gatehouse-Purpose",
                    "must be one of direct-care, safety, emergency, governance, operations",
                )
            })
    }

    /// The purpose a consumer of this kind acts for when it names none.
    pub fn default_for(org: OrgType) -> Self {
        match org {
            OrgType::Health => Self::DirectCare,
            OrgType::Prison | OrgType::Escort => Self::Safety,
            OrgType::Governance => Self::Governance,
        }
    }

    /// HL7 v3 PurposeOfUse code, for FHIR.
    pub fn hl7_code(self) -> &'static str {
        match self {
            Self::DirectCare => "TREAT",
            Self::Safety => "PUBHLTH",
            Self::Emergency => "ETREAT",
            Self::Governance => "HOPERAT",
            Self::Operations => "HOPERAT",
        }
    }
}
