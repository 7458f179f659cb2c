//! Shared parsing pieces for the domain's vocabularies: the kebab-case code
//! enums and the text, date and time rules every input form uses.

use crate::error::ParseError;
use chrono::{DateTime, NaiveDate, Utc};

/// A closed set of kebab-case codes: `as_str`, `parse` (naming every allowed
/// value in its error) and serde under the same spelling.
macro_rules! kebab_enum {
    ($(#[$m:meta])* $name:ident, $field:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw).ok_or_else(|| {
                    let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    ParseError::new($field, format!("unknown value; expected one of {}", all.join(", ")))
                })
            }
        }
    };
}

pub(crate) use kebab_enum;

/// Trimmed, non-empty, at most `max` characters, no control characters but newlines.
pub(crate) fn text(field: &str, raw: &str, max: usize) -> Result<String, ParseError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(ParseError::new(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(ParseError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ParseError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(t.to_owned())
}

pub(crate) fn timestamp(field: &str, raw: &str) -> Result<DateTime<Utc>, ParseError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ParseError::new(
                field,
                "must be an RFC 3339 date-time, e.g. 2026-11-25T09:00:00Z",
            )
        })
}

pub fn date(field: &str, raw: &str) -> Result<NaiveDate, ParseError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|_| raw.len() == 10)
        .ok_or_else(|| ParseError::new(field, "must be a date, YYYY-MM-DD"))
}
