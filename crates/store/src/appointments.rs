//! Records and inputs for healthcare appointments, regime closures and
//! attendance tallies.

use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_domain::appointment::{
    AppointmentType, Attendance, Booking, Change, ClosureKind, EscortPlan, Outcome, Place, Risk,
};
use gatehouse_domain::{EstablishmentCode, OrgType, PrisonNumber};
use serde::Serialize;

/// Booked, or cancelled by its owner (history kept either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppointmentStatus {
    Booked,
    Cancelled,
}

impl AppointmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Cancelled => "cancelled",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "booked" => Some(Self::Booked),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// Who wrote something: the consumer and, where given, the named staff user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub consumer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
}

impl Actor {
    /// Gatehouse itself, applying a documented rule.
    pub fn rule(name: &str) -> Self {
        Self {
            consumer: "gatehouse".into(),
            on_behalf_of: Some(format!("rule:{name}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEscort {
    pub plan: EscortPlan,
    pub recorded_by: Actor,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordedOutcome {
    pub outcome: Outcome,
    pub recorded_by: Actor,
    pub recorded_at: DateTime<Utc>,
    /// Recorded more than a day after the appointment ended.
    pub late: bool,
    /// Set by a movement rule, not typed by staff.
    pub automatic: bool,
}

/// One appointment as held.
#[derive(Debug, Clone, PartialEq)]
pub struct AppointmentRecord {
    pub id: String,
    /// The series it was booked in, if it repeats.
    pub series_id: Option<String>,
    pub prison_number: PrisonNumber,
    pub establishment: EstablishmentCode,
    pub appointment_type: AppointmentType,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub place: Place,
    /// Health-only.
    pub clinician: Option<String>,
    /// Health-only.
    pub clinical_note: Option<String>,
    /// The consumer that owns (booked) it.
    pub owner: String,
    pub status: AppointmentStatus,
    pub cancellation_reason: Option<String>,
    pub escort: Option<RecordedEscort>,
    pub outcome: Option<RecordedOutcome>,
    /// Open risks, from the clash rules.
    pub risks: Vec<Risk>,
    pub version: i64,
    pub booked_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The time or place changed (or it was booked) within a day of the start.
    pub late_change: bool,
}

/// A booking to store: one appointment, or a series.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub prison_number: PrisonNumber,
    pub booking: Booking,
    pub owner: Actor,
}

/// A change by the owner.
#[derive(Debug, Clone)]
pub struct AppointmentChange {
    pub change: Change,
    pub by: Actor,
}

/// An escort plan recorded by the prison.
#[derive(Debug, Clone)]
pub struct EscortUpdate {
    pub plan: EscortPlan,
    pub expected_version: Option<i64>,
    pub by: Actor,
}

/// Attendance recorded by staff.
#[derive(Debug, Clone)]
pub struct AttendanceUpdate {
    pub attendance: Attendance,
    pub org: OrgType,
    pub by: Actor,
}

/// One line of an appointment's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentHistoryEntry {
    pub version: i64,
    pub at: DateTime<Utc>,
    pub by: Actor,
    /// `booked`, `changed`, `cancelled`, `escort-planned`, `attendance-recorded`,
    /// `attendance-corrected`, `at-risk`, `risk-cleared`.
    pub kind: String,
    /// What changed; health-only fields are kept out of it.
    pub detail: serde_json::Value,
}

/// An establishment-wide closure of the regime (a lockdown, a curtailed day).
#[derive(Debug, Clone)]
pub struct NewClosure {
    pub establishment: EstablishmentCode,
    pub kind: ClosureKind,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Operational words only ("staff shortage", "incident on B wing").
    pub reason: String,
    pub by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosureRecord {
    pub id: String,
    pub establishment: String,
    pub kind: ClosureKind,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub reason: String,
    pub recorded_by: Actor,
    pub recorded_at: DateTime<Utc>,
    /// The appointments it put at risk when recorded.
    pub appointments_at_risk: i64,
}

/// A historical appointment for bulk import (the synthetic year, a migration
/// from another system): stored as it was, with its outcome, and no events.
#[derive(Debug, Clone)]
pub struct ImportedAppointment {
    pub id: String,
    pub prison_number: PrisonNumber,
    pub establishment: EstablishmentCode,
    pub appointment_type: AppointmentType,
    pub starts_at: DateTime<Utc>,
    pub minutes: i64,
    pub place: Place,
    pub owner: String,
    pub cancelled: bool,
    pub outcome: Option<Outcome>,
    /// Who recorded the outcome (a consumer name).
    pub recorded_by: Option<String>,
    pub booked_at: DateTime<Utc>,
}

/// Which tallies to read.
#[derive(Debug, Clone)]
pub struct TallyQuery {
    /// Empty means every establishment.
    pub establishments: Vec<EstablishmentCode>,
    /// Weeks whose Monday is in `from..=to`.
    pub from: NaiveDate,
    pub to: NaiveDate,
}
