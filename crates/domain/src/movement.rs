//! Movements: every way a person enters, leaves or moves within custody
//! (DESIGN.md §2), with the HMPPS reason codes.

use crate::error::ParseError;
use crate::establishment::{Establishment, EstablishmentKind};
use crate::ids::{CellLocation, EstablishmentCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kind of a movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MovementKind {
    /// Into a prison: new admission, readmission, return from court or temporary absence, transfer in.
    Reception,
    TransferOut,
    CourtOut,
    HospitalOut,
    TemporaryAbsenceOut,
    Release,
    CellMove,
}

impl MovementKind {
    pub const ALL: [MovementKind; 7] = [
        Self::Reception,
        Self::TransferOut,
        Self::CourtOut,
        Self::HospitalOut,
        Self::TemporaryAbsenceOut,
        Self::Release,
        Self::CellMove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reception => "reception",
            Self::TransferOut => "transfer-out",
            Self::CourtOut => "court-out",
            Self::HospitalOut => "hospital-out",
            Self::TemporaryAbsenceOut => "temporary-absence-out",
            Self::Release => "release",
            Self::CellMove => "cell-move",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                ParseError::new(
                    "kind",
                    format!(
                        "unknown movement kind; expected one of {}",
                        names(Self::ALL.iter().map(|k| k.as_str()))
                    ),
                )
            })
    }

    /// The reasons that may go with this kind; the first is the default.
    pub fn reasons(self) -> &'static [MovementReason] {
        use MovementReason::*;
        match self {
            Self::Reception => &[
                NewAdmission,
                Readmission,
                ReadmissionSwitchBooking,
                Transferred,
                ReturnFromCourt,
                TemporaryAbsenceReturn,
                ReturnFromHospital,
                PostMergeAdmission,
            ],
            Self::TransferOut => &[Transferred],
            Self::CourtOut => &[SentToCourt],
            Self::HospitalOut => &[ReleasedToHospital],
            Self::TemporaryAbsenceOut => &[TemporaryAbsenceRelease],
            Self::Release => &[Released],
            Self::CellMove => &[CellMove],
        }
    }
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

/// HMPPS movement reasons (the `reason` of prisoner received/released events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MovementReason {
    NewAdmission,
    Readmission,
    ReadmissionSwitchBooking,
    Transferred,
    ReturnFromCourt,
    TemporaryAbsenceReturn,
    ReturnFromHospital,
    PostMergeAdmission,
    SentToCourt,
    ReleasedToHospital,
    TemporaryAbsenceRelease,
    Released,
    CellMove,
}

impl MovementReason {
    pub const ALL: [MovementReason; 13] = [
        Self::NewAdmission,
        Self::Readmission,
        Self::ReadmissionSwitchBooking,
        Self::Transferred,
        Self::ReturnFromCourt,
        Self::TemporaryAbsenceReturn,
        Self::ReturnFromHospital,
        Self::PostMergeAdmission,
        Self::SentToCourt,
        Self::ReleasedToHospital,
        Self::TemporaryAbsenceRelease,
        Self::Released,
        Self::CellMove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewAdmission => "NEW_ADMISSION",
            Self::Readmission => "READMISSION",
            Self::ReadmissionSwitchBooking => "READMISSION_SWITCH_BOOKING",
            Self::Transferred => "TRANSFERRED",
            Self::ReturnFromCourt => "RETURN_FROM_COURT",
            Self::TemporaryAbsenceReturn => "TEMPORARY_ABSENCE_RETURN",
            Self::ReturnFromHospital => "RETURN_FROM_HOSPITAL",
            Self::PostMergeAdmission => "POST_MERGE_ADMISSION",
            Self::SentToCourt => "SENT_TO_COURT",
            Self::ReleasedToHospital => "RELEASED_TO_HOSPITAL",
            Self::TemporaryAbsenceRelease => "TEMPORARY_ABSENCE_RELEASE",
            Self::Released => "RELEASED",
            Self::CellMove => "CELL_MOVE",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        // `ADMISSION` is how prison-offender-events names a new admission.
        if raw == "ADMISSION" {
            return Ok(Self::NewAdmission);
        }
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| {
                ParseError::new(
                    "reason",
                    format!(
                        "unknown movement reason; expected one of {}",
                        names(Self::ALL.iter().map(|r| r.as_str()))
                    ),
                )
            })
    }
}

/// One movement of one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Movement {
    pub kind: MovementKind,
    pub reason: MovementReason,
    /// The prison involved: received into, left from, or moved cell within.
    pub establishment: EstablishmentCode,
    /// For a transfer out: the receiving prison, when the feed names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<EstablishmentCode>,
    /// For a reception or cell move: the cell, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<CellLocation>,
    pub occurred_at: DateTime<Utc>,
}

impl Movement {
    /// Checks the rules that tie the parts together; the parts are already parsed.
    pub fn new(
        kind: MovementKind,
        reason: Option<MovementReason>,
        establishment: EstablishmentCode,
        destination: Option<EstablishmentCode>,
        cell: Option<CellLocation>,
        occurred_at: DateTime<Utc>,
    ) -> Result<Self, ParseError> {
        let reason = match reason {
            None => kind.reasons()[0],
            Some(r) if kind.reasons().contains(&r) => r,
            Some(r) => {
                return Err(ParseError::new(
                    "reason",
                    format!(
                        "{} is not a reason for a {} movement; expected one of {}",
                        r.as_str(),
                        kind.as_str(),
                        names(kind.reasons().iter().map(|r| r.as_str()))
                    ),
                ));
            }
        };
        if Establishment::kind_of(&establishment) != EstablishmentKind::Prison {
            return Err(ParseError::new(
                "establishment",
                "must be a prison, not a special place such as CRT or OUT",
            ));
        }
        if let Some(d) = &destination {
            if kind != MovementKind::TransferOut {
                return Err(ParseError::new("destination", "is only for a transfer out"));
            }
            if Establishment::kind_of(d) != EstablishmentKind::Prison {
                return Err(ParseError::new("destination", "must be a prison"));
            }
            if d == &establishment {
                return Err(ParseError::new(
                    "destination",
                    "must differ from the prison being left",
                ));
            }
        }
        if let Some(c) = &cell {
            if !matches!(kind, MovementKind::Reception | MovementKind::CellMove) {
                return Err(ParseError::new(
                    "cell",
                    "is only for a reception or a cell move",
                ));
            }
            if c.establishment() != establishment {
                return Err(ParseError::new(
                    "cell",
                    "must be in the establishment of the movement",
                ));
            }
        }
        if kind == MovementKind::CellMove && cell.is_none() {
            return Err(ParseError::new("cell", "is required for a cell move"));
        }
        Ok(Self {
            kind,
            reason,
            establishment,
            destination,
            cell,
            occurred_at,
        })
    }
}
