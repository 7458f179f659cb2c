//! Gatehouse's own upserts: the full state that HMPPS events only hint at.
//!
//! ```json
//! {"id": "evt-1", "type": "gatehouse.person", "occurredAt": "2026-03-01T09:00:00Z", "prisonNumber": "A1234BC",
//!  "person": {"givenName": "Jon", "familyName": "Smyth", "dateOfBirth": "1985-03-04", "nhsNumber": "9434765919"}}
//! {"type": "gatehouse.movement", ..., "movement": {"kind": "reception", "reason": "NEW_ADMISSION", "establishment": "LEI", "cell": "LEI-A-2-014"}}
//! {"type": "gatehouse.alert", ..., "alert": {"id": "…", "code": "HA", "active": true, "activeFrom": "2026-02-27"}}
//! {"type": "gatehouse.planned-movement", ..., "plannedMovement": {"id": "CRT-881", "kind": "court-appearance", "establishment": "LEI", "plannedFor": "2026-03-06T09:30:00Z", "description": "Leeds Crown Court"}}
//! {"type": "gatehouse.planned-movement.cancelled", ..., "plannedMovementId": "CRT-881"}
//! ```

use super::{FeedCommand, field, object, opt_string, string, timestamp};
use crate::alert::{AlertCode, PrisonAlert};
use crate::error::ParseError;
use crate::ids::{CellLocation, EstablishmentCode, NhsNumber, PrisonNumber};
use crate::movement::{Movement, MovementKind, MovementReason};
use crate::person::{PersonDetails, parse_date};
use crate::planned::{PlannedMovement, PlannedMovementKind};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub const EVENT_TYPES: &[&str] = &[
    "gatehouse.person",
    "gatehouse.movement",
    "gatehouse.alert",
    "gatehouse.planned-movement",
    "gatehouse.planned-movement.cancelled",
];

pub fn parse(
    event_type: &str,
    obj: &Map<String, Value>,
    occurred_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(PrisonNumber, FeedCommand), ParseError> {
    let prison_number = PrisonNumber::parse(string(obj, "prisonNumber")?)?;
    let command = match event_type {
        "gatehouse.person" => {
            let p = object(obj, "person")?;
            let within = |e: ParseError| e.within("person");
            let nhs_number = opt_string(p, "nhsNumber")
                .map_err(within)?
                .map(NhsNumber::parse)
                .transpose()
                .map_err(within)?;
            let details = if p.contains_key("givenName")
                || p.contains_key("familyName")
                || p.contains_key("dateOfBirth")
            {
                Some(
                    PersonDetails::parse(
                        string(p, "givenName").map_err(within)?,
                        string(p, "familyName").map_err(within)?,
                        string(p, "dateOfBirth").map_err(within)?,
                        now.date_naive(),
                    )
                    .map_err(within)?,
                )
            } else {
                None
            };
            if details.is_none() && nhs_number.is_none() {
                return Err(ParseError::new(
                    "person",
                    "must carry givenName, familyName and dateOfBirth, or an nhsNumber",
                ));
            }
            FeedCommand::UpsertPerson {
                details,
                nhs_number,
            }
        }
        "gatehouse.movement" => {
            let m = object(obj, "movement")?;
            let within = |e: ParseError| e.within("movement");
            let kind = MovementKind::parse(string(m, "kind").map_err(within)?).map_err(within)?;
            let reason = opt_string(m, "reason")
                .map_err(within)?
                .map(MovementReason::parse)
                .transpose()
                .map_err(within)?;
            let establishment =
                EstablishmentCode::parse(string(m, "establishment").map_err(within)?)
                    .map_err(within)?;
            let destination = opt_string(m, "destination")
                .map_err(within)?
                .map(|d| {
                    EstablishmentCode::parse(d).map_err(|e| ParseError::new("destination", e.rule))
                })
                .transpose()
                .map_err(within)?;
            let cell = opt_string(m, "cell")
                .map_err(within)?
                .map(CellLocation::parse)
                .transpose()
                .map_err(within)?;
            FeedCommand::RecordMovement(
                Movement::new(kind, reason, establishment, destination, cell, occurred_at)
                    .map_err(within)?,
            )
        }
        "gatehouse.alert" => {
            let a = object(obj, "alert")?;
            let within = |e: ParseError| e.within("alert");
            let code = AlertCode::parse(string(a, "code").map_err(within)?)
                .map_err(|e| ParseError::new("code", e.rule))
                .map_err(within)?;
            let id = match opt_string(a, "id").map_err(within)? {
                Some(id) => id.to_owned(),
                None => format!("code:{}", code.as_str()),
            };
            let active = match field(a, "active").map_err(within)? {
                Value::Bool(b) => *b,
                _ => return Err(within(ParseError::new("active", "must be true or false"))),
            };
            let date = |name: &str| {
                opt_string(a, name)
                    .map_err(within)?
                    .map(|d| parse_date(name, d).map_err(within))
                    .transpose()
            };
            let active_from = date("activeFrom")?;
            let active_to = date("activeTo")?;
            if active_from.is_some_and(|d| d > now.date_naive()) {
                return Err(within(ParseError::new(
                    "activeFrom",
                    "must not be in the future",
                )));
            }
            FeedCommand::UpsertAlert(
                PrisonAlert::new(&id, code, active, active_from, active_to)
                    .map_err(|e| {
                        ParseError::new(
                            if e.field == "alertUuid" {
                                "id"
                            } else {
                                &e.field
                            },
                            e.rule,
                        )
                    })
                    .map_err(within)?,
            )
        }
        "gatehouse.planned-movement" => {
            let p = object(obj, "plannedMovement")?;
            let within = |e: ParseError| e.within("plannedMovement");
            let kind =
                PlannedMovementKind::parse(string(p, "kind").map_err(within)?).map_err(within)?;
            let establishment =
                EstablishmentCode::parse(string(p, "establishment").map_err(within)?)
                    .map_err(within)?;
            let destination = opt_string(p, "destination")
                .map_err(within)?
                .map(|d| {
                    EstablishmentCode::parse(d).map_err(|e| ParseError::new("destination", e.rule))
                })
                .transpose()
                .map_err(within)?;
            let planned_for = timestamp(p, "plannedFor").map_err(within)?;
            let description = opt_string(p, "description")
                .map_err(within)?
                .map(str::to_owned);
            let id = string(p, "id").map_err(within)?;
            FeedCommand::UpsertPlanned(
                PlannedMovement::new(
                    id,
                    kind,
                    establishment,
                    destination,
                    planned_for,
                    description,
                )
                .map_err(within)?,
            )
        }
        "gatehouse.planned-movement.cancelled" => {
            let id = string(obj, "plannedMovementId")?;
            if id.is_empty() || id.len() > 100 {
                return Err(ParseError::new(
                    "plannedMovementId",
                    "must be 1–100 characters",
                ));
            }
            FeedCommand::CancelPlanned { id: id.to_owned() }
        }
        _ => {
            let shown: String = event_type.chars().take(80).collect();
            return Err(ParseError::new(
                "type",
                format!(
                    "'{shown}' is not an event type Gatehouse accepts; Gatehouse types: {}",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
    };
    Ok((prison_number, command))
}
