//! Prison alerts: prison-owned flags with NOMIS codes. The code catalogue is
//! the NOMIS reference data (data/alert-codes.csv); the safety relevance of
//! each code to healthcare and to staff is Gatehouse's own rule (DESIGN.md §2).

use crate::error::ParseError;
use chrono::NaiveDate;
use serde::{Serialize, Serializer};
use std::collections::HashMap;
use std::sync::LazyLock;
use utoipa::ToSchema;

struct CatalogueEntry {
    alert_type: String,
    description: String,
}

static CATALOGUE: LazyLock<HashMap<String, CatalogueEntry>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for line in include_str!("../data/alert-codes.csv").lines().skip(1) {
        // alert_type,alert_code,"description" — descriptions are quoted and may hold commas.
        let mut it = line.splitn(3, ',');
        let (Some(t), Some(code), Some(desc)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        map.insert(
            code.to_owned(),
            CatalogueEntry {
                alert_type: t.to_owned(),
                description: desc.trim_matches('"').replace("\"\"", "\""),
            },
        );
    }
    map
});

/// How an alert matters to safety.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AlertRelevance {
    /// Risk to self: ACCT, self-harm, poor coper, food refusal, adult at risk.
    RiskToSelf,
    /// A health matter staff must know: epilepsy, asthma, PEEP, pregnancy, communicable disease, medical hold.
    Health,
    /// Risk to staff or others.
    RiskToOthers,
    /// Not a safety matter for healthcare or the point-of-need summary.
    Other,
}

/// A NOMIS alert code known to the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ToSchema)]
#[schema(value_type = String, example = "HA")]
pub struct AlertCode(String);

impl Serialize for AlertCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl AlertCode {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if CATALOGUE.contains_key(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            let shown: String = raw.chars().take(16).collect();
            Err(ParseError::new(
                "alertCode",
                format!("'{shown}' is not a NOMIS alert code known to Gatehouse"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn description(&self) -> &str {
        CATALOGUE
            .get(&self.0)
            .map(|e| e.description.as_str())
            .unwrap_or_default()
    }

    pub fn alert_type(&self) -> &str {
        CATALOGUE
            .get(&self.0)
            .map(|e| e.alert_type.as_str())
            .unwrap_or_default()
    }

    pub fn relevance(&self) -> AlertRelevance {
        match self.0.as_str() {
            "HA" | "HA1" | "HA2" | "HC" | "HS" | "SH" | "VU" | "OFR" | "AAR" => {
                AlertRelevance::RiskToSelf
            }
            "MEP" | "MAS" | "PEEP" | "HID" | "PGWCP" | "RCDR" | "TM" => AlertRelevance::Health,
            "RSS" | "SA" | "XSA" | "XVL" | "XCA" | "XHT" | "RNO121" => AlertRelevance::RiskToOthers,
            _ => AlertRelevance::Other,
        }
    }

    pub fn is_safety_relevant(&self) -> bool {
        self.relevance() != AlertRelevance::Other
    }
}

/// A prison alert on a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrisonAlert {
    /// The alert's id in the prison system (the alerts service UUID), or one
    /// Gatehouse derives from the code when the feed carries none.
    pub id: String,
    pub code: AlertCode,
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_from: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_to: Option<NaiveDate>,
}

impl PrisonAlert {
    pub fn new(
        id: &str,
        code: AlertCode,
        active: bool,
        active_from: Option<NaiveDate>,
        active_to: Option<NaiveDate>,
    ) -> Result<Self, ParseError> {
        if id.is_empty() || id.len() > 100 || id.chars().any(char::is_control) {
            return Err(ParseError::new(
                "alertUuid",
                "must be 1–100 characters with no control characters",
            ));
        }
        if let (Some(f), Some(t)) = (active_from, active_to) {
            if t < f {
                return Err(ParseError::new("activeTo", "must not be before activeFrom"));
            }
        }
        Ok(Self {
            id: id.to_owned(),
            code,
            active,
            active_from,
            active_to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_loads_and_classifies_the_safety_codes() {
        for code in [
            "HA", "HA1", "HA2", "HC", "HS", "SH", "MEP", "MAS", "PEEP", "HID", "PGWCP", "OFR",
            "RCDR", "TM", "VU", "AAR", "RSS", "SA", "XSA", "XVL", "XCA", "XHT", "RNO121",
        ] {
            let c =
                AlertCode::parse(code).unwrap_or_else(|_| panic!("{code} missing from catalogue"));
            assert!(c.is_safety_relevant(), "{code}");
            assert!(!c.description().is_empty());
        }
        assert_eq!(
            AlertCode::parse("HA").unwrap().description(),
            "ACCT Open (HMPS)"
        );
        assert!(AlertCode::parse("NOPE").is_err());
        assert!(CATALOGUE.len() > 200);
    }
}
