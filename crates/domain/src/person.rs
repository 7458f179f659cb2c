//! A person's identifying details, as the prison side holds them.

use crate::error::ParseError;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

/// A name part: 1–100 characters, no control characters, trimmed.
fn name_part(field: &str, raw: &str) -> Result<String, ParseError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(ParseError::new(field, "must not be empty"));
    }
    if t.chars().count() > 100 {
        return Err(ParseError::new(field, "must be at most 100 characters"));
    }
    if t.chars().any(char::is_control) {
        return Err(ParseError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(t.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonName {
    pub given_name: String,
    pub family_name: String,
}

impl PersonName {
    pub fn parse(given: &str, family: &str) -> Result<Self, ParseError> {
        Ok(Self {
            given_name: name_part("givenName", given)?,
            family_name: name_part("familyName", family)?,
        })
    }
}

/// Identifying details of a person held in custody.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonDetails {
    #[serde(flatten)]
    pub name: PersonName,
    pub date_of_birth: NaiveDate,
}

impl PersonDetails {
    /// `today` is passed in so the rule stays pure and testable.
    pub fn parse(
        given: &str,
        family: &str,
        date_of_birth: &str,
        today: NaiveDate,
    ) -> Result<Self, ParseError> {
        let name = PersonName::parse(given, family)?;
        let dob = parse_date("dateOfBirth", date_of_birth)?;
        if dob > today {
            return Err(ParseError::new("dateOfBirth", "must not be in the future"));
        }
        if dob.year() < 1900 {
            return Err(ParseError::new(
                "dateOfBirth",
                "must be on or after 1900-01-01",
            ));
        }
        Ok(Self {
            name,
            date_of_birth: dob,
        })
    }
}

/// An ISO 8601 calendar date (`1985-03-04`).
pub fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, ParseError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ParseError::new(field, "must be a calendar date in the form YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_rules() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert!(PersonDetails::parse("Jon", "Smyth", "1985-03-04", today).is_ok());
        assert_eq!(
            PersonDetails::parse(" ", "Smyth", "1985-03-04", today)
                .unwrap_err()
                .field,
            "givenName"
        );
        assert_eq!(
            PersonDetails::parse("Jon", "Smyth", "2030-01-01", today)
                .unwrap_err()
                .field,
            "dateOfBirth"
        );
        assert_eq!(
            PersonDetails::parse("Jon", "Smyth", "04/03/1985", today)
                .unwrap_err()
                .field,
            "dateOfBirth"
        );
    }
}
