//! Invariants of `gatehouse_domain::feed::parse_item`.
//!
//! For every JSON value:
//! - parsing never panics and gives the same answer twice;
//! - the answer does not depend on the order of keys in any object (the
//!   content hash is over canonical JSON, and no rule may read key order);
//! - an accepted item is internally consistent: its id, hash, source, type,
//!   time and prison number agree with the input, and the command it carries
//!   obeys the domain rules (rebuilding it through the domain constructors
//!   gives the same value back);
//! - a refused item names a field.

use chrono::{DateTime, Datelike, Utc};
use gatehouse_domain::establishment::{Establishment, EstablishmentKind};
use gatehouse_domain::feed::{
    CLOCK_SKEW_ALLOWANCE, FeedCommand, FeedItem, FeedSource, ItemError, canonical, hmpps, native,
    parse_item,
};
use gatehouse_domain::{
    AlertCode, Movement, MovementKind, PersonDetails, PlannedMovement, PrisonNumber,
};
use serde_json::{Map, Value};

/// Raw bytes from outside: what the server would do with a request body.
/// A JSON array is treated as a batch, each element parsed as one item.
pub fn run_bytes(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let now = crate::base_now();
    match &value {
        Value::Array(items) => {
            for item in items {
                let _ = check(item, now);
            }
        }
        _ => {
            let _ = check(&value, now);
        }
    }
}

/// Parses `value` at `now` and checks every invariant; panics on a breach.
pub fn check(value: &Value, now: DateTime<Utc>) -> Result<FeedItem, ItemError> {
    let result = parse_item(value, now);

    let again = parse_item(value, now);
    assert_eq!(result, again, "parse_item is not deterministic");

    let reordered = reverse_keys(value);
    let other = parse_item(&reordered, now);
    match (&result, &other) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "result depends on key order"),
        (Err(a), Err(b)) => assert_eq!(a.error, b.error, "error depends on key order"),
        _ => panic!("acceptance depends on key order: {result:?} vs {other:?}"),
    }

    match &result {
        Ok(item) => check_item(value, now, item),
        Err(e) => {
            assert!(!e.error.field.is_empty(), "error names no field: {e:?}");
            assert!(!e.error.rule.is_empty(), "error gives no rule: {e:?}");
        }
    }
    result
}

/// The same JSON with the keys of every object in reverse order. (Where
/// serde_json keeps keys sorted this changes nothing, which is fine.)
fn reverse_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map.iter().rev() {
                out.insert(k.clone(), reverse_keys(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(reverse_keys).collect()),
        other => other.clone(),
    }
}

fn check_item(value: &Value, now: DateTime<Utc>, item: &FeedItem) {
    let obj = value.as_object().expect("an accepted item is an object");

    // Content hash: SHA-256 hex of the canonical JSON.
    assert_eq!(item.content_hash, canonical::sha256_hex(value));
    assert_eq!(item.content_hash.len(), 64);
    assert!(
        item.content_hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "content hash is not lowercase hex: {}",
        item.content_hash
    );

    // Event id: the item's own id, else the content hash.
    match obj.get("id") {
        Some(Value::String(id)) => {
            assert_eq!(item.event_id.as_str(), id);
            assert!(!id.is_empty() && id.len() <= 200 && !id.chars().any(char::is_control));
        }
        None | Some(Value::Null) => {
            assert_eq!(
                item.event_id.as_str(),
                format!("sha256:{}", item.content_hash)
            );
        }
        Some(other) => panic!("accepted a non-string id {other}"),
    }

    // Source and type follow the key that named the type.
    match item.source {
        FeedSource::Hmpps => {
            assert_eq!(obj.get("eventType").and_then(Value::as_str), Some(item.event_type.as_str()));
            assert!(!obj.contains_key("type"));
            assert!(hmpps::EVENT_TYPES.contains(&item.event_type.as_str()));
        }
        FeedSource::Gatehouse => {
            assert_eq!(obj.get("type").and_then(Value::as_str), Some(item.event_type.as_str()));
            assert!(!obj.contains_key("eventType"));
            assert!(native::EVENT_TYPES.contains(&item.event_type.as_str()));
        }
    }

    // Time: never beyond the skew allowance.
    assert!(
        item.occurred_at <= now + CLOCK_SKEW_ALLOWANCE,
        "accepted an item from the future: {} at now {now}",
        item.occurred_at
    );

    // Prison number: valid and canonical.
    assert_eq!(
        PrisonNumber::parse(item.prison_number.as_str()).as_ref(),
        Ok(&item.prison_number)
    );

    check_command(item, now);
}

fn check_command(item: &FeedItem, now: DateTime<Utc>) {
    let today = now.date_naive();
    match &item.command {
        FeedCommand::UpsertPerson {
            details,
            nhs_number,
        } => {
            assert!(
                details.is_some() || nhs_number.is_some(),
                "a person upsert that carries nothing"
            );
            if let Some(n) = nhs_number {
                crate::identifiers::assert_valid_nhs(n);
            }
            if let Some(d) = details {
                assert_person_rules(d, today);
            }
        }
        FeedCommand::RecordMovement(m) => {
            assert_movement_rules(m);
            assert_eq!(m.occurred_at, item.occurred_at);
        }
        FeedCommand::UpsertAlert(a) => {
            assert_eq!(AlertCode::parse(a.code.as_str()).as_ref(), Ok(&a.code));
            assert!(!a.id.is_empty() && a.id.len() <= 100 && !a.id.chars().any(char::is_control));
            if let (Some(f), Some(t)) = (a.active_from, a.active_to) {
                assert!(t >= f, "alert active to {t} before active from {f}");
            }
            if item.source == FeedSource::Gatehouse {
                if let Some(f) = a.active_from {
                    assert!(f <= today, "alert active from the future: {f}");
                }
            }
        }
        FeedCommand::AlertsChanged { added, removed } => {
            for c in added.iter().chain(removed) {
                assert_eq!(AlertCode::parse(c.as_str()).as_ref(), Ok(c));
            }
            assert!(
                !added.iter().any(|a| removed.contains(a)),
                "a code both added and removed"
            );
        }
        FeedCommand::UpsertPlanned(p) => {
            let rebuilt = PlannedMovement::new(
                &p.id,
                p.kind,
                p.establishment.clone(),
                p.destination.clone(),
                p.planned_for,
                p.description.clone(),
            );
            assert_eq!(rebuilt.as_ref(), Ok(p), "planned movement does not rebuild");
            assert_eq!(
                Establishment::kind_of(&p.establishment),
                EstablishmentKind::Prison
            );
        }
        FeedCommand::CancelPlanned { id } => {
            assert!(!id.is_empty() && id.len() <= 100);
        }
        FeedCommand::Acknowledge { note } => {
            assert!(!note.is_empty());
        }
    }
}

pub fn assert_person_rules(d: &PersonDetails, today: chrono::NaiveDate) {
    for part in [&d.name.given_name, &d.name.family_name] {
        assert_eq!(part.trim(), part.as_str(), "name part not trimmed: {part:?}");
        assert!(!part.is_empty());
        assert!(part.chars().count() <= 100);
        assert!(!part.chars().any(char::is_control));
    }
    assert!(d.date_of_birth <= today, "born in the future: {}", d.date_of_birth);
    assert!(d.date_of_birth.year() >= 1900, "born before 1900: {}", d.date_of_birth);
    let again = PersonDetails::parse(
        &d.name.given_name,
        &d.name.family_name,
        &d.date_of_birth.format("%Y-%m-%d").to_string(),
        today,
    );
    assert_eq!(again.as_ref(), Ok(d), "person details do not re-parse");
}

fn assert_movement_rules(m: &Movement) {
    assert!(
        m.kind.reasons().contains(&m.reason),
        "{:?} is not a reason for {:?}",
        m.reason,
        m.kind
    );
    assert_eq!(
        Establishment::kind_of(&m.establishment),
        EstablishmentKind::Prison,
        "a movement at a special place"
    );
    if let Some(d) = &m.destination {
        assert_eq!(m.kind, MovementKind::TransferOut);
        assert_eq!(Establishment::kind_of(d), EstablishmentKind::Prison);
        assert_ne!(d, &m.establishment);
    }
    if let Some(c) = &m.cell {
        assert!(matches!(m.kind, MovementKind::Reception | MovementKind::CellMove));
        assert_eq!(c.establishment(), m.establishment);
        crate::identifiers::assert_valid_cell(c);
    }
    if m.kind == MovementKind::CellMove {
        assert!(m.cell.is_some(), "a cell move with no cell");
    }
    let rebuilt = Movement::new(
        m.kind,
        Some(m.reason),
        m.establishment.clone(),
        m.destination.clone(),
        m.cell.clone(),
        m.occurred_at,
    );
    assert_eq!(rebuilt.as_ref(), Ok(m), "movement does not rebuild");
}
