//! Invariants of the identifier and detail parsers of `gatehouse-domain`.
//!
//! Input format (so seeds stay readable text): the first byte picks the
//! parser (`byte % 8`, so the digits `'0'`–`'7'` pick 0–7), the rest is the
//! text, read as UTF-8 with invalid bytes replaced.
//!
//! | pick | parser |
//! | --- | --- |
//! | 0 | `PrisonNumber::parse` |
//! | 1 | `NhsNumber::parse` |
//! | 2 | `EstablishmentCode::parse` |
//! | 3 | `CellLocation::parse` |
//! | 4 | `AlertCode::parse` |
//! | 5 | `person::parse_date` |
//! | 6 | `PersonDetails::parse`: text is `given\nfamily\ndateOfBirth[\ntoday]` |
//! | 7 | every single-string parser above, on the same text |
//!
//! Each accepted value must re-parse from its `as_str()` (or canonical
//! form) to the same value; an NHS number's check digit must be valid.

use chrono::{Datelike, NaiveDate};
use gatehouse_domain::person::parse_date;
use gatehouse_domain::{
    AlertCode, CellLocation, EstablishmentCode, NhsNumber, PersonDetails, PrisonNumber,
};

pub fn run(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match pick % 8 {
        0 => prison_number(&text),
        1 => nhs_number(&text),
        2 => establishment(&text),
        3 => cell(&text),
        4 => alert_code(&text),
        5 => date(&text),
        6 => person(&text),
        _ => {
            prison_number(&text);
            nhs_number(&text);
            establishment(&text);
            cell(&text);
            alert_code(&text);
            date(&text);
        }
    }
}

fn prison_number(raw: &str) {
    let Ok(p) = PrisonNumber::parse(raw) else {
        return;
    };
    assert_eq!(p.as_str(), raw, "prison number changed its text");
    let b = p.as_str().as_bytes();
    assert!(
        b.len() == 7
            && b[0].is_ascii_uppercase()
            && b[1..5].iter().all(u8::is_ascii_digit)
            && b[5..].iter().all(u8::is_ascii_uppercase),
        "accepted a malformed prison number {raw:?}"
    );
    assert_eq!(PrisonNumber::parse(p.as_str()).as_ref(), Ok(&p));
}

fn nhs_number(raw: &str) {
    let Ok(n) = NhsNumber::parse(raw) else {
        return;
    };
    assert_eq!(
        n.as_str(),
        raw.replace(' ', ""),
        "NHS number is not the input without its spaces"
    );
    assert_valid_nhs(&n);
}

/// An NHS number is 10 ASCII digits whose tenth is the Modulus 11 check digit
/// of the first nine, and it re-parses from both its forms.
pub fn assert_valid_nhs(n: &NhsNumber) {
    let s = n.as_str();
    assert!(
        s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit()),
        "NHS number {s:?} is not 10 digits"
    );
    let d: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
    // Modulus 11, computed here independently of the domain code.
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * (10 - i as u32))
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => panic!("accepted NHS number {s} whose check value is 10"),
        c => c as u8,
    };
    assert_eq!(d[9], check, "NHS number {s} has a wrong check digit");
    let mut nine = [0u8; 9];
    nine.copy_from_slice(&d[..9]);
    assert_eq!(NhsNumber::check_digit(&nine), Some(check));
    assert_eq!(NhsNumber::parse(s).as_ref(), Ok(n));
    assert_eq!(NhsNumber::parse(&n.display()).as_ref(), Ok(n));
    let prefix: u32 = s[..9].parse().unwrap();
    assert_eq!(NhsNumber::from_prefix(prefix).as_ref(), Some(n));
}

fn establishment(raw: &str) {
    let Ok(e) = EstablishmentCode::parse(raw) else {
        return;
    };
    assert_eq!(e.as_str(), raw);
    assert_eq!(EstablishmentCode::parse(e.as_str()).as_ref(), Ok(&e));
}

fn cell(raw: &str) {
    let Ok(c) = CellLocation::parse(raw) else {
        return;
    };
    assert_eq!(c.as_str(), raw);
    assert_valid_cell(&c);
}

/// A cell re-parses, and its four parts put back together give it again.
pub fn assert_valid_cell(c: &CellLocation) {
    assert_eq!(CellLocation::parse(c.as_str()).as_ref(), Ok(c));
    let est = c.establishment();
    assert_eq!(EstablishmentCode::parse(est.as_str()).as_ref(), Ok(&est));
    let joined = format!("{}-{}-{}-{}", est.as_str(), c.wing(), c.landing(), c.cell());
    assert_eq!(joined, c.as_str(), "cell parts do not rebuild the cell");
    for part in [c.wing(), c.landing(), c.cell()] {
        assert!(!part.is_empty());
    }
}

fn alert_code(raw: &str) {
    let Ok(a) = AlertCode::parse(raw) else {
        return;
    };
    assert_eq!(a.as_str(), raw);
    assert_eq!(AlertCode::parse(a.as_str()).as_ref(), Ok(&a));
    let _ = (a.description(), a.alert_type(), a.relevance(), a.is_safety_relevant());
}

fn date(raw: &str) {
    let Ok(d) = parse_date("date", raw) else {
        return;
    };
    let canonical = d.format("%Y-%m-%d").to_string();
    assert_eq!(
        parse_date("date", &canonical),
        Ok(d),
        "date {raw:?} read as {d} does not re-parse from {canonical:?}"
    );
}

fn person(text: &str) {
    let mut lines = text.splitn(4, '\n');
    let given = lines.next().unwrap_or_default();
    let family = lines.next().unwrap_or_default();
    let dob = lines.next().unwrap_or_default();
    // "today" defaults to the feed tests' date; an input may give its own.
    let today = lines
        .next()
        .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
    let Ok(d) = PersonDetails::parse(given, family, dob, today) else {
        return;
    };
    assert_eq!(d.name.given_name, given.trim());
    assert_eq!(d.name.family_name, family.trim());
    assert!(d.date_of_birth.year() >= 1900);
    crate::feed::assert_person_rules(&d, today);
}
