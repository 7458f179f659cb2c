//! The prison feed: what `POST /v1/prison-events` accepts, parsed into
//! commands. Two input shapes are understood:
//! - HMPPS domain-event envelopes exactly as the prison service publishes
//!   them ([`hmpps`]), and
//! - Gatehouse's own upserts for people, movements, alerts and planned
//!   movements ([`native`]), which carry the full state HMPPS events only hint at.
//!
//! Every item gets a stable [`EventId`]: the `id` it carries, or else a hash
//! of its canonical content, so a replayed event is recognised either way.

pub mod canonical;
pub mod hmpps;
pub mod native;

use crate::alert::{AlertCode, PrisonAlert};
use crate::error::ParseError;
use crate::ids::{NhsNumber, PrisonNumber};
use crate::movement::Movement;
use crate::person::PersonDetails;
use crate::planned::PlannedMovement;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// How far in the future an `occurredAt` may lie before it is refused: room
/// for clock skew between systems, and no more.
pub const CLOCK_SKEW_ALLOWANCE: Duration = Duration::minutes(5);

/// The stable id of a feed item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[schema(value_type = String)]
pub struct EventId(String);

impl EventId {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.is_empty() || raw.len() > 200 || raw.chars().any(char::is_control) {
            return Err(ParseError::new(
                "id",
                "must be 1–200 characters with no control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    fn from_hash(hash: &str) -> Self {
        Self(format!("sha256:{hash}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which family of input an item came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FeedSource {
    Hmpps,
    Gatehouse,
}

/// What an item asks Gatehouse to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedCommand {
    /// Create or update a person's details; an NHS number here is recorded as
    /// an identity link from the prison feed (never overwriting another).
    UpsertPerson {
        details: Option<PersonDetails>,
        nhs_number: Option<NhsNumber>,
    },
    RecordMovement(Movement),
    UpsertAlert(PrisonAlert),
    /// `alerts-updated`: codes added and removed, without alert ids.
    AlertsChanged {
        added: Vec<AlertCode>,
        removed: Vec<AlertCode>,
    },
    UpsertPlanned(PlannedMovement),
    CancelPlanned {
        id: String,
    },
    /// A hint that carries no state Gatehouse can use; recorded, changes nothing.
    Acknowledge {
        note: String,
    },
}

impl FeedCommand {
    pub fn name(&self) -> &'static str {
        match self {
            Self::UpsertPerson { .. } => "person",
            Self::RecordMovement(_) => "movement",
            Self::UpsertAlert(_) => "alert",
            Self::AlertsChanged { .. } => "alerts-changed",
            Self::UpsertPlanned(_) => "planned-movement",
            Self::CancelPlanned { .. } => "planned-movement-cancelled",
            Self::Acknowledge { .. } => "acknowledged",
        }
    }
}

/// One parsed feed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    pub event_id: EventId,
    pub event_type: String,
    pub source: FeedSource,
    pub occurred_at: DateTime<Utc>,
    pub prison_number: PrisonNumber,
    /// SHA-256 of the item's canonical JSON: the same id with other content is a conflict.
    pub content_hash: String,
    pub command: FeedCommand,
}

/// Why an item was refused, with whatever could be read of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    pub event_id: Option<EventId>,
    pub error: ParseError,
}

/// Parses one item of the feed. `now` is the server's clock, passed in so the
/// future-date rule is pure.
pub fn parse_item(value: &Value, now: DateTime<Utc>) -> Result<FeedItem, ItemError> {
    let content_hash = canonical::sha256_hex(value);
    let fail = |event_id: Option<EventId>| {
        move |error: ParseError| ItemError {
            event_id: event_id.clone(),
            error,
        }
    };
    let Some(obj) = value.as_object() else {
        return Err(fail(None)(ParseError::new(
            "(item)",
            "must be a JSON object",
        )));
    };
    let event_id = match obj.get("id") {
        None | Some(Value::Null) => EventId::from_hash(&content_hash),
        Some(Value::String(s)) => EventId::parse(s).map_err(fail(None))?,
        Some(_) => return Err(fail(None)(ParseError::new("id", "must be a string"))),
    };
    let fail = fail(Some(event_id.clone()));
    // HMPPS envelopes name their type `eventType`; Gatehouse's own use `type`.
    let (source, event_type) = match (obj.get("eventType"), obj.get("type")) {
        (Some(Value::String(t)), None) => (FeedSource::Hmpps, t.clone()),
        (None, Some(Value::String(t))) => (FeedSource::Gatehouse, t.clone()),
        (Some(_), Some(_)) => {
            return Err(fail(ParseError::new(
                "eventType",
                "give either eventType (HMPPS) or type (Gatehouse), not both",
            )));
        }
        (Some(_), None) => return Err(fail(ParseError::new("eventType", "must be a string"))),
        (None, Some(_)) => return Err(fail(ParseError::new("type", "must be a string"))),
        (None, None) => {
            return Err(fail(ParseError::new(
                "eventType",
                "is required (or type, for Gatehouse's own upserts)",
            )));
        }
    };
    let occurred_at = timestamp(obj, "occurredAt").map_err(fail.clone())?;
    if occurred_at > now + CLOCK_SKEW_ALLOWANCE {
        return Err(fail(ParseError::new(
            "occurredAt",
            "is in the future; an event must describe something that has happened",
        )));
    }
    let (prison_number, command) = match source {
        FeedSource::Hmpps => hmpps::parse(&event_type, obj, occurred_at),
        FeedSource::Gatehouse => native::parse(&event_type, obj, occurred_at, now),
    }
    .map_err(fail)?;
    Ok(FeedItem {
        event_id,
        event_type,
        source,
        occurred_at,
        prison_number,
        content_hash,
        command,
    })
}

// Small readers shared by both shapes. Each names the field it reads.

pub(crate) fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a Value, ParseError> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(ParseError::new(name, "is required")),
        Some(v) => Ok(v),
    }
}

pub(crate) fn string<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, ParseError> {
    field(obj, name)?
        .as_str()
        .ok_or_else(|| ParseError::new(name, "must be a string"))
}

pub(crate) fn opt_string<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ParseError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ParseError::new(name, "must be a string")),
    }
}

pub(crate) fn object<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a Map<String, Value>, ParseError> {
    field(obj, name)?
        .as_object()
        .ok_or_else(|| ParseError::new(name, "must be an object"))
}

pub(crate) fn timestamp(obj: &Map<String, Value>, name: &str) -> Result<DateTime<Utc>, ParseError> {
    let raw = string(obj, name)?;
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ParseError::new(
                name,
                "must be an RFC 3339 date-time with an offset, like 2026-03-01T09:30:00Z",
            )
        })
}

#[cfg(test)]
mod tests;
