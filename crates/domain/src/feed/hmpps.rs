//! HMPPS domain-event envelopes, as published by the prison service
//! (`eventType`, `version`, `occurredAt`, `additionalInformation`,
//! `personReference`). Most HMPPS events are hints to re-fetch; Gatehouse
//! takes what state they do carry and says plainly when one carries none.

use super::{FeedCommand, object, opt_string, string};
use crate::alert::{AlertCode, PrisonAlert};
use crate::error::ParseError;
use crate::ids::{CellLocation, EstablishmentCode, PrisonNumber};
use crate::movement::{Movement, MovementKind, MovementReason};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The HMPPS event types the feed understands.
pub const EVENT_TYPES: &[&str] = &[
    "prisoner-offender-search.prisoner.received",
    "prisoner-offender-search.prisoner.released",
    "prisoner-offender-search.prisoner.updated",
    "prisoner-offender-search.prisoner.alerts-updated",
    "prison-offender-events.prisoner.received",
    "prison-offender-events.prisoner.released",
    "prison-offender-events.prisoner.cell.move",
    "person.alert.created",
    "person.alert.updated",
    "person.alert.inactive",
    "person.alert.deleted",
];

pub fn parse(
    event_type: &str,
    obj: &Map<String, Value>,
    occurred_at: DateTime<Utc>,
) -> Result<(PrisonNumber, FeedCommand), ParseError> {
    if !EVENT_TYPES.contains(&event_type) {
        let shown: String = event_type.chars().take(80).collect();
        return Err(ParseError::new(
            "eventType",
            format!(
                "'{shown}' is not an event type Gatehouse accepts; accepted HMPPS types: {}",
                EVENT_TYPES.join(", ")
            ),
        ));
    }
    match obj.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(Value::String(s)) if s == "1" => {}
        None => return Err(ParseError::new("version", "is required")),
        Some(_) => {
            return Err(ParseError::new(
                "version",
                "must be 1, the only HMPPS envelope version Gatehouse understands",
            ));
        }
    }
    let info = object(obj, "additionalInformation")?;
    let prison_number = person_reference(obj, info)?;
    let within = |e: ParseError| e.within("additionalInformation");

    let command = match event_type {
        "prisoner-offender-search.prisoner.received" | "prison-offender-events.prisoner.received" => {
            let prison = EstablishmentCode::parse(string(info, "prisonId").map_err(within)?).map_err(|e| within(ParseError::new("prisonId", e.rule)))?;
            let reason = MovementReason::parse(string(info, "reason").map_err(within)?).map_err(within)?;
            let cell = opt_string(info, "cellLocation").map_err(within)?.map(CellLocation::parse).transpose().map_err(within)?;
            let reason = match reason {
                MovementReason::TemporaryAbsenceReturn
                | MovementReason::ReturnFromCourt
                | MovementReason::Transferred
                | MovementReason::NewAdmission
                | MovementReason::Readmission
                | MovementReason::ReadmissionSwitchBooking
                | MovementReason::PostMergeAdmission
                | MovementReason::ReturnFromHospital => reason,
                other => {
                    return Err(within(ParseError::new("reason", format!("{} is not a reason for a reception", other.as_str()))));
                }
            };
            FeedCommand::RecordMovement(Movement::new(MovementKind::Reception, Some(reason), prison, None, cell, occurred_at).map_err(within)?)
        }
        "prisoner-offender-search.prisoner.released" | "prison-offender-events.prisoner.released" => {
            let prison = EstablishmentCode::parse(string(info, "prisonId").map_err(within)?).map_err(|e| within(ParseError::new("prisonId", e.rule)))?;
            let reason = MovementReason::parse(string(info, "reason").map_err(within)?).map_err(within)?;
            let kind = match reason {
                MovementReason::Transferred => MovementKind::TransferOut,
                MovementReason::SentToCourt => MovementKind::CourtOut,
                MovementReason::ReleasedToHospital => MovementKind::HospitalOut,
                MovementReason::TemporaryAbsenceRelease => MovementKind::TemporaryAbsenceOut,
                MovementReason::Released => MovementKind::Release,
                other => {
                    return Err(within(ParseError::new("reason", format!("{} is not a reason for leaving a prison", other.as_str()))));
                }
            };
            let destination = opt_string(info, "toPrisonId").map_err(within)?.map(EstablishmentCode::parse).transpose().map_err(within)?;
            FeedCommand::RecordMovement(Movement::new(kind, Some(reason), prison, destination, None, occurred_at).map_err(within)?)
        }
        "prison-offender-events.prisoner.cell.move" => match opt_string(info, "cellLocation").map_err(within)? {
            Some(raw) => {
                let cell = CellLocation::parse(raw).map_err(within)?;
                let prison = cell.establishment();
                FeedCommand::RecordMovement(
                    Movement::new(MovementKind::CellMove, None, prison, None, Some(cell), occurred_at).map_err(within)?,
                )
            }
            None => FeedCommand::Acknowledge {
                note: "cell move carries only a NOMIS living-unit id, not a cell location; the cell shown is unchanged. \
                       Send cellLocation in additionalInformation, or a gatehouse.movement cell-move."
                    .into(),
            },
        },
        "prisoner-offender-search.prisoner.updated" => FeedCommand::Acknowledge {
            note: "prisoner updated is a re-fetch hint with no state; send a gatehouse.person upsert to change details".into(),
        },
        "prisoner-offender-search.prisoner.alerts-updated" => {
            let codes = |name: &str| -> Result<Vec<AlertCode>, ParseError> {
                match info.get(name) {
                    None | Some(Value::Null) => Ok(vec![]),
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|v| v.as_str().ok_or_else(|| ParseError::new(name, "must be an array of alert codes")).and_then(AlertCode::parse))
                        .collect(),
                    Some(_) => Err(ParseError::new(name, "must be an array of alert codes")),
                }
            };
            let added = codes("alertsAdded").map_err(within)?;
            let removed = codes("alertsRemoved").map_err(within)?;
            if added.iter().any(|a| removed.contains(a)) {
                return Err(within(ParseError::new("alertsRemoved", "a code cannot be both added and removed in one event")));
            }
            FeedCommand::AlertsChanged { added, removed }
        }
        "person.alert.created" | "person.alert.updated" | "person.alert.inactive" | "person.alert.deleted" => {
            let code = AlertCode::parse(string(info, "alertCode").map_err(within)?).map_err(within)?;
            let uuid = string(info, "alertUuid").map_err(within)?;
            let active = matches!(event_type, "person.alert.created" | "person.alert.updated");
            let active_to = (!active).then(|| occurred_at.date_naive());
            let active_from = active.then(|| occurred_at.date_naive());
            FeedCommand::UpsertAlert(PrisonAlert::new(uuid, code, active, active_from, active_to).map_err(within)?)
        }
        _ => unreachable!("checked against EVENT_TYPES above"),
    };
    Ok((prison_number, command))
}

/// The prison number: from `personReference.identifiers[type=NOMS]`, else
/// `additionalInformation.nomsNumber`. When both are given they must agree.
fn person_reference(
    obj: &Map<String, Value>,
    info: &Map<String, Value>,
) -> Result<PrisonNumber, ParseError> {
    let from_ref = match obj.get("personReference") {
        None | Some(Value::Null) => None,
        Some(Value::Object(r)) => {
            let ids = r
                .get("identifiers")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    ParseError::new("personReference.identifiers", "must be an array")
                })?;
            let mut noms = None;
            for id in ids {
                let id = id.as_object().ok_or_else(|| {
                    ParseError::new("personReference.identifiers", "items must be objects")
                })?;
                if id.get("type").and_then(Value::as_str) == Some("NOMS") {
                    let v =
                        string(id, "value").map_err(|e| e.within("personReference.identifiers"))?;
                    noms = Some(
                        PrisonNumber::parse(v)
                            .map_err(|e| e.within("personReference.identifiers"))?,
                    );
                }
            }
            noms
        }
        Some(_) => return Err(ParseError::new("personReference", "must be an object")),
    };
    let from_info = opt_string(info, "nomsNumber")
        .map_err(|e| e.within("additionalInformation"))?
        .map(|s| PrisonNumber::parse(s).map_err(|e| e.within("additionalInformation")))
        .transpose()?;
    match (from_ref, from_info) {
        (Some(a), Some(b)) if a != b => Err(ParseError::new(
            "personReference",
            "the NOMS identifier and additionalInformation.nomsNumber differ",
        )),
        (Some(a), _) | (None, Some(a)) => Ok(a),
        (None, None) => Err(ParseError::new(
            "personReference",
            "a NOMS identifier (or additionalInformation.nomsNumber) is required",
        )),
    }
}
