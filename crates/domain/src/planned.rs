//! Planned movements: movements known in advance (a court date, a planned
//! transfer or release, a hospital escort). They are posted, amended and
//! cancelled through the prison feed, and replaced by the real movement when
//! it happens. Clash and medication-continuity rules run on them, so
//! healthcare hears before the day.

use crate::error::ParseError;
use crate::establishment::{Establishment, EstablishmentKind};
use crate::ids::EstablishmentCode;
use crate::movement::{Movement, MovementKind};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PlannedMovementKind {
    CourtAppearance,
    Transfer,
    Release,
    HospitalEscort,
}

impl PlannedMovementKind {
    pub const ALL: [Self; 4] = [
        Self::CourtAppearance,
        Self::Transfer,
        Self::Release,
        Self::HospitalEscort,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CourtAppearance => "court-appearance",
            Self::Transfer => "transfer",
            Self::Release => "release",
            Self::HospitalEscort => "hospital-escort",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw).ok_or_else(|| {
            ParseError::new("kind", "unknown planned movement kind; expected one of court-appearance, transfer, release, hospital-escort")
        })
    }

    /// The real movement kind that carries out this plan.
    pub fn fulfilled_by(self) -> MovementKind {
        match self {
            Self::CourtAppearance => MovementKind::CourtOut,
            Self::Transfer => MovementKind::TransferOut,
            Self::Release => MovementKind::Release,
            Self::HospitalEscort => MovementKind::HospitalOut,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PlannedStatus {
    Planned,
    Cancelled,
    /// The real movement has happened and replaced the plan.
    Completed,
}

impl PlannedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Planned, Self::Cancelled, Self::Completed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// How far from the planned time a real movement may happen and still be the
/// one that carries out the plan (court lists and escorts slip by hours, and a
/// Friday transfer can go on the Saturday).
pub const FULFILMENT_WINDOW: Duration = Duration::hours(36);

/// A movement planned for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedMovement {
    /// The prison system's own key for the plan; amendments and cancellation use it.
    pub id: String,
    pub kind: PlannedMovementKind,
    /// The prison the person leaves from.
    pub establishment: EstablishmentCode,
    /// For a transfer: the receiving prison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<EstablishmentCode>,
    pub planned_for: DateTime<Utc>,
    /// A short operational description (e.g. "Leeds Crown Court"); never clinical detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl PlannedMovement {
    pub fn new(
        id: &str,
        kind: PlannedMovementKind,
        establishment: EstablishmentCode,
        destination: Option<EstablishmentCode>,
        planned_for: DateTime<Utc>,
        description: Option<String>,
    ) -> Result<Self, ParseError> {
        if id.is_empty() || id.len() > 100 || id.chars().any(char::is_control) {
            return Err(ParseError::new(
                "id",
                "must be 1–100 characters with no control characters",
            ));
        }
        if Establishment::kind_of(&establishment) != EstablishmentKind::Prison {
            return Err(ParseError::new("establishment", "must be a prison"));
        }
        match (kind, &destination) {
            (PlannedMovementKind::Transfer, None) => {
                return Err(ParseError::new(
                    "destination",
                    "is required for a planned transfer",
                ));
            }
            (PlannedMovementKind::Transfer, Some(d))
                if Establishment::kind_of(d) != EstablishmentKind::Prison
                    || d == &establishment =>
            {
                return Err(ParseError::new("destination", "must be another prison"));
            }
            (PlannedMovementKind::Transfer, Some(_)) => {}
            (_, Some(_)) => {
                return Err(ParseError::new(
                    "destination",
                    "is only for a planned transfer",
                ));
            }
            (_, None) => {}
        }
        if let Some(d) = &description {
            if d.chars().count() > 200 || d.chars().any(char::is_control) {
                return Err(ParseError::new(
                    "description",
                    "must be at most 200 characters with no control characters",
                ));
            }
        }
        Ok(Self {
            id: id.to_owned(),
            kind,
            establishment,
            destination,
            planned_for,
            description,
        })
    }

    /// Whether a real movement carries out this plan: the matching kind, from
    /// the same prison, within [`FULFILMENT_WINDOW`] of the planned time.
    pub fn is_fulfilled_by(&self, m: &Movement) -> bool {
        m.kind == self.kind.fulfilled_by()
            && m.establishment == self.establishment
            && (m.occurred_at - self.planned_for).abs() <= FULFILMENT_WINDOW
    }
}
