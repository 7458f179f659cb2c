//! Consumers: the registered systems that read from and write to Gatehouse.

use crate::error::ParseError;
use crate::ids::EstablishmentCode;
use serde::Serialize;
use utoipa::ToSchema;

/// The kind of organisation a consumer belongs to (DESIGN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OrgType {
    Prison,
    Health,
    Escort,
    Governance,
}

impl OrgType {
    pub const ALL: [OrgType; 4] = [Self::Prison, Self::Health, Self::Escort, Self::Governance];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prison => "prison",
            Self::Health => "health",
            Self::Escort => "escort",
            Self::Governance => "governance",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == raw)
            .ok_or_else(|| {
                ParseError::new(
                    "orgType",
                    "must be one of prison, health, escort, governance",
                )
            })
    }
}

/// Which establishments' people a consumer may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Every establishment (an escort contractor, the prison feed, governance).
    All,
    Only(Vec<EstablishmentCode>),
}

impl Scope {
    pub fn covers(&self, code: &EstablishmentCode) -> bool {
        match self {
            Self::All => true,
            Self::Only(list) => list.contains(code),
        }
    }

    /// Parses `*` or a comma-separated list of codes.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let raw = raw.trim();
        if raw == "*" {
            return Ok(Self::All);
        }
        let list = raw
            .split(',')
            .map(|c| {
                EstablishmentCode::parse(c.trim())
                    .map_err(|e| ParseError::new("establishments", e.rule))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if list.is_empty() {
            return Err(ParseError::new(
                "establishments",
                "name at least one establishment, or *",
            ));
        }
        Ok(Self::Only(list))
    }

    pub fn to_codes(&self) -> Vec<String> {
        match self {
            Self::All => vec!["*".into()],
            Self::Only(list) => list.iter().map(|c| c.as_str().to_owned()).collect(),
        }
    }
}
