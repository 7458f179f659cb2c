//! Healthcare appointments (DESIGN.md §2): one booking seen by both sides.
//!
//! Healthcare owns an appointment: it books, changes and cancels it. The
//! prison owns what only it can decide: the escort for an external
//! appointment (officers, vehicle, restraint) and, with healthcare, the
//! attendance outcome. The outcome keeps the patient's choice (*did not
//! attend*, [`DnaReason`]) apart from the prison's failure (*was not
//! brought*, [`WnbReason`]): the two are different types, so no figure can
//! merge them by accident.
//!
//! The clash rules ([`assess`]) and the movement rules ([`on_departure`]) are
//! pure functions over facts the store gathers; docs/appointments.md states
//! them in words.

use crate::error::ParseError;
use crate::ids::EstablishmentCode;
use crate::planned::PlannedMovementKind;
use crate::vocab::{kebab_enum, text, timestamp};
use crate::{CustodyStatus, MovementKind, OrgType};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const NOTE_MAX_CHARS: usize = 2000;
pub const PLACE_MAX_CHARS: usize = 120;
pub const REASON_MAX_CHARS: usize = 300;
pub const MIN_MINUTES: i64 = 5;
pub const MAX_MINUTES: i64 = 12 * 60;
/// A series repeats at most this many times (a year of weekly clinics).
pub const MAX_REPEATS: i64 = 52;
/// Bookings are made at most this far ahead.
pub const BOOK_AHEAD_DAYS: i64 = 400;
/// A change within this long before the start is a *late change*, marked on unlock lists.
pub const LATE_CHANGE_HOURS: i64 = 24;
/// Attendance recorded later than this after the end is *late*, and audited as such.
pub const LATE_RECORDING_HOURS: i64 = 24;
/// An escort officer count beyond this is a typing error, not a plan.
pub const MAX_ESCORT_OFFICERS: i64 = 6;

kebab_enum!(
    /// The HMPPS health appointment categories, plus hospital outpatient.
    AppointmentType, "type" {
        Medo => "MEDO",
        Mede => "MEDE",
        Meps => "MEPS",
        Meop => "MEOP",
        Mphy => "MPHY",
        Mltc => "MLTC",
        Mpsy => "MPSY",
        Mpod => "MPOD",
        Mexr => "MEXR",
        Mgum => "MGUM",
        Pharmacy => "PHARMACY",
        Mfv => "MFV",
        Msus => "MSUS",
        Meot => "MEOT",
        HospitalOutpatient => "HOSP-OP",
    }
);

impl AppointmentType {
    pub fn description(self) -> &'static str {
        match self {
            Self::Medo => "GP or nurse triage",
            Self::Mede => "Dentist",
            Self::Meps => "Mental health",
            Self::Meop => "Optician",
            Self::Mphy => "Physiotherapy",
            Self::Mltc => "Long-term conditions",
            Self::Mpsy => "Psychiatry",
            Self::Mpod => "Podiatry",
            Self::Mexr => "X-ray",
            Self::Mgum => "GUM",
            Self::Pharmacy => "Medication collection",
            Self::Mfv => "Flu vaccine",
            Self::Msus => "Substance use",
            Self::Meot => "Other healthcare",
            Self::HospitalOutpatient => "Hospital outpatient",
        }
    }

    /// The length booked when the booking gives none.
    pub fn default_minutes(self) -> i64 {
        match self {
            Self::HospitalOutpatient => 180,
            Self::Pharmacy | Self::Mfv => 10,
            Self::Meps | Self::Mpsy | Self::Msus => 45,
            _ => 20,
        }
    }
}

kebab_enum!(
    /// Where the appointment happens, in the terms analytics group by.
    Setting, "place.kind" {
        Internal => "internal",
        InCell => "in-cell",
        External => "external",
    }
);

/// Where the appointment happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Place {
    /// A room in the prison's healthcare unit.
    Internal { room: String },
    /// The clinician comes to the cell (or the wing).
    InCell,
    /// Outside the prison: needs an escort the prison plans.
    External { location: String },
}

impl Place {
    pub fn setting(&self) -> Setting {
        match self {
            Self::Internal { .. } => Setting::Internal,
            Self::InCell => Setting::InCell,
            Self::External { .. } => Setting::External,
        }
    }

    /// Where, in a few words, for a list.
    pub fn label(&self) -> String {
        match self {
            Self::Internal { room } => format!("Healthcare unit, {room}"),
            Self::InCell => "In cell".to_owned(),
            Self::External { location } => location.clone(),
        }
    }
}

kebab_enum!(
    /// The vehicle an escort uses.
    Vehicle, "escort.vehicle" {
        CellularVehicle => "cellular-vehicle",
        Car => "car",
        Ambulance => "ambulance",
        Taxi => "taxi",
    }
);

kebab_enum!(
    /// The prison's restraint decision for the journey (a security decision, recorded by the prison).
    Restraint, "escort.restraint" {
        None => "none",
        Handcuffs => "handcuffs",
        EscortChain => "escort-chain",
        BodyBelt => "body-belt",
    }
);

/// The escort the prison plans for an external appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscortPlan {
    pub officers: i64,
    pub vehicle: Vehicle,
    pub restraint: Restraint,
    /// Who made the decision (a role or staff name; no personal data of the patient).
    pub decided_by: String,
}

kebab_enum!(
    /// Did not attend: the patient's choice.
    DnaReason, "reason" {
        Refused => "refused",
        DeclinedAtDoor => "declined-at-door",
        Unwell => "unwell",
        Other => "other",
    }
);

kebab_enum!(
    /// Was not brought: the prison's reason.
    WnbReason, "reason" {
        NoEscortStaff => "no-escort-staff",
        RegimeCurtailed => "regime-curtailed",
        LockdownOrIncident => "lockdown-or-incident",
        ClashOtherActivity => "clash-other-activity",
        AtCourt => "at-court",
        Transferred => "transferred",
        Released => "released",
        AtHospital => "at-hospital",
        SecurityDecision => "security-decision",
        NotUnlocked => "not-unlocked",
        Other => "other",
    }
);

kebab_enum!(
    /// The outcome's kind, without its reason.
    OutcomeKind, "outcome" {
        Attended => "attended",
        DidNotAttend => "did-not-attend",
        WasNotBrought => "was-not-brought",
        CancelledByHealthcare => "cancelled-by-healthcare",
        Rescheduled => "rescheduled",
    }
);

/// What happened at the appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Attended,
    DidNotAttend(DnaReason),
    WasNotBrought(WnbReason),
    CancelledByHealthcare,
    Rescheduled,
}

impl Outcome {
    /// `reason` is required for DNA and WNB and refused for the others.
    pub fn parse(outcome: &str, reason: Option<&str>) -> Result<Self, ParseError> {
        let kind = OutcomeKind::parse(outcome)?;
        let needs = || {
            reason.ok_or_else(|| {
                ParseError::new(
                    "reason",
                    format!("is required when the outcome is {}", kind.as_str()),
                )
            })
        };
        match kind {
            OutcomeKind::DidNotAttend => Ok(Self::DidNotAttend(DnaReason::parse(needs()?)?)),
            OutcomeKind::WasNotBrought => Ok(Self::WasNotBrought(WnbReason::parse(needs()?)?)),
            _ if reason.is_some() => Err(ParseError::new(
                "reason",
                format!(
                    "is only for did-not-attend and was-not-brought, not {}",
                    kind.as_str()
                ),
            )),
            OutcomeKind::Attended => Ok(Self::Attended),
            OutcomeKind::CancelledByHealthcare => Ok(Self::CancelledByHealthcare),
            OutcomeKind::Rescheduled => Ok(Self::Rescheduled),
        }
    }

    pub fn kind(self) -> OutcomeKind {
        match self {
            Self::Attended => OutcomeKind::Attended,
            Self::DidNotAttend(_) => OutcomeKind::DidNotAttend,
            Self::WasNotBrought(_) => OutcomeKind::WasNotBrought,
            Self::CancelledByHealthcare => OutcomeKind::CancelledByHealthcare,
            Self::Rescheduled => OutcomeKind::Rescheduled,
        }
    }

    pub fn reason(self) -> Option<&'static str> {
        match self {
            Self::DidNotAttend(r) => Some(r.as_str()),
            Self::WasNotBrought(r) => Some(r.as_str()),
            _ => None,
        }
    }

    /// Healthcare's own decisions (cancelling on the day, rescheduling) are
    /// recorded by healthcare only; attendance itself by either side.
    pub fn may_be_recorded_by(self, org: OrgType) -> bool {
        match self {
            Self::CancelledByHealthcare | Self::Rescheduled => org == OrgType::Health,
            _ => matches!(org, OrgType::Health | OrgType::Prison),
        }
    }
}

kebab_enum!(
    /// How a series repeats.
    Frequency, "repeat.every" {
        Day => "day",
        Week => "week",
        Fortnight => "fortnight",
        FourWeeks => "4-weeks",
    }
);

impl Frequency {
    pub fn step(self) -> Duration {
        match self {
            Self::Day => Duration::days(1),
            Self::Week => Duration::weeks(1),
            Self::Fortnight => Duration::weeks(2),
            Self::FourWeeks => Duration::weeks(4),
        }
    }
}

/// A series: the same appointment `count` times, `every` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Repeat {
    pub every: Frequency,
    pub count: i64,
}

/// A parsed booking: every rule holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub appointment_type: AppointmentType,
    pub starts_at: DateTime<Utc>,
    pub minutes: i64,
    pub place: Place,
    /// Health-only: never shown to a prison or escort consumer.
    pub clinician: Option<String>,
    /// Health-only: never shown to a prison or escort consumer.
    pub clinical_note: Option<String>,
    pub repeat: Option<Repeat>,
}

impl Booking {
    /// The start of every occurrence, the first included.
    pub fn occurrences(&self) -> Vec<DateTime<Utc>> {
        let n = self.repeat.map_or(1, |r| r.count);
        let step = self.repeat.map_or(Duration::zero(), |r| r.every.step());
        (0..n).map(|i| self.starts_at + step * i as i32).collect()
    }
}

/// The outside shape of a place.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaceInput {
    /// `internal`, `in-cell` or `external`.
    pub kind: Option<String>,
    /// For `internal`: the healthcare unit room.
    pub room: Option<String>,
    /// For `external`: the hospital or clinic address the escort goes to.
    pub location: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepeatInput {
    /// `day`, `week`, `fortnight` or `4-weeks`.
    pub every: Option<String>,
    /// How many appointments in all, 2–52.
    pub count: Option<i64>,
}

/// The outside shape of a booking, as a health system posts it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BookingInput {
    pub prison_number: Option<String>,
    /// An HMPPS health category (`MEDO`, `MEDE`, …) or `HOSP-OP`.
    #[serde(rename = "type")]
    pub appointment_type: Option<String>,
    /// RFC 3339, in the future.
    pub starts_at: Option<String>,
    /// 5–720; defaults by type.
    pub duration_minutes: Option<i64>,
    pub place: Option<PlaceInput>,
    /// Health-only.
    pub clinician: Option<String>,
    /// Health-only.
    pub clinical_note: Option<String>,
    pub repeat: Option<RepeatInput>,
}

/// Collects every broken rule rather than stopping at the first.
struct Errors(Vec<ParseError>);

impl Errors {
    fn take<T>(&mut self, r: Result<T, ParseError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }
}

fn optional_text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, ParseError> {
    raw.map(|t| text(field, t, max)).transpose()
}

fn minutes(raw: i64) -> Result<i64, ParseError> {
    if (MIN_MINUTES..=MAX_MINUTES).contains(&raw) {
        Ok(raw)
    } else {
        Err(ParseError::new(
            "durationMinutes",
            format!("must be between {MIN_MINUTES} and {MAX_MINUTES}"),
        ))
    }
}

/// A start time that may be booked now: not in the past, not too far ahead.
fn future_start(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ParseError> {
    let at = timestamp("startsAt", raw)?;
    if at < now {
        return Err(ParseError::new(
            "startsAt",
            "is in the past; record what happened with attendance instead",
        ));
    }
    if at > now + Duration::days(BOOK_AHEAD_DAYS) {
        return Err(ParseError::new(
            "startsAt",
            format!("must be within {BOOK_AHEAD_DAYS} days"),
        ));
    }
    Ok(at)
}

impl PlaceInput {
    pub fn parse(&self) -> Result<Place, ParseError> {
        let kind = Setting::parse(
            self.kind
                .as_deref()
                .ok_or_else(|| ParseError::new("place.kind", "is required"))?,
        )?;
        let refuse = |field: &str, what: &str| {
            ParseError::new(format!("place.{field}"), format!("is not used for {what}"))
        };
        match kind {
            Setting::Internal => {
                if self.location.is_some() {
                    return Err(refuse("location", "an internal appointment; give room"));
                }
                let room = self.room.as_deref().ok_or_else(|| {
                    ParseError::new("place.room", "is required for an internal appointment")
                })?;
                Ok(Place::Internal {
                    room: text("place.room", room, PLACE_MAX_CHARS)?,
                })
            }
            Setting::InCell => {
                if self.room.is_some() {
                    return Err(refuse("room", "an in-cell appointment"));
                }
                if self.location.is_some() {
                    return Err(refuse("location", "an in-cell appointment"));
                }
                Ok(Place::InCell)
            }
            Setting::External => {
                if self.room.is_some() {
                    return Err(refuse("room", "an external appointment; give location"));
                }
                let location = self.location.as_deref().ok_or_else(|| {
                    ParseError::new("place.location", "is required for an external appointment")
                })?;
                Ok(Place::External {
                    location: text("place.location", location, PLACE_MAX_CHARS)?,
                })
            }
        }
    }
}

fn check_type_and_place(t: AppointmentType, place: &Place) -> Result<(), ParseError> {
    if t == AppointmentType::HospitalOutpatient && place.setting() != Setting::External {
        return Err(ParseError::new(
            "place.kind",
            "must be external for a hospital outpatient (HOSP-OP) appointment",
        ));
    }
    Ok(())
}

impl RepeatInput {
    pub fn parse(&self) -> Result<Repeat, ParseError> {
        let every = Frequency::parse(
            self.every
                .as_deref()
                .ok_or_else(|| ParseError::new("repeat.every", "is required"))?,
        )?;
        let count = self
            .count
            .ok_or_else(|| ParseError::new("repeat.count", "is required"))?;
        if !(2..=MAX_REPEATS).contains(&count) {
            return Err(ParseError::new(
                "repeat.count",
                format!("must be between 2 and {MAX_REPEATS}"),
            ));
        }
        Ok(Repeat { every, count })
    }
}

impl BookingInput {
    /// Checks every rule; returns all the broken ones. The prison number is
    /// parsed by the caller (it decides what an unknown person answers).
    pub fn parse(&self, now: DateTime<Utc>) -> Result<Booking, Vec<ParseError>> {
        let mut e = Errors(Vec::new());
        let appointment_type = e.take(
            self.appointment_type
                .as_deref()
                .ok_or_else(|| ParseError::new("type", "is required"))
                .and_then(AppointmentType::parse),
        );
        let starts_at = e.take(
            self.starts_at
                .as_deref()
                .ok_or_else(|| ParseError::new("startsAt", "is required"))
                .and_then(|s| future_start(s, now)),
        );
        let place = e.take(
            self.place
                .as_ref()
                .ok_or_else(|| ParseError::new("place", "is required"))
                .and_then(PlaceInput::parse),
        );
        let mins = self.duration_minutes.map(minutes).transpose();
        let mins = e.take(mins).flatten();
        let clinician = e
            .take(optional_text(
                "clinician",
                self.clinician.as_deref(),
                PLACE_MAX_CHARS,
            ))
            .flatten();
        let clinical_note = e
            .take(optional_text(
                "clinicalNote",
                self.clinical_note.as_deref(),
                NOTE_MAX_CHARS,
            ))
            .flatten();
        let repeat = e
            .take(self.repeat.as_ref().map(RepeatInput::parse).transpose())
            .flatten();
        if let (Some(t), Some(p)) = (appointment_type, &place) {
            e.take(check_type_and_place(t, p));
        }
        if let (Some(start), Some(r)) = (starts_at, repeat)
            && start + r.every.step() * (r.count - 1) as i32 > now + Duration::days(BOOK_AHEAD_DAYS)
        {
            e.0.push(ParseError::new(
                "repeat.count",
                format!("the series would run past {BOOK_AHEAD_DAYS} days ahead"),
            ));
        }
        match (appointment_type, starts_at, place) {
            (Some(t), Some(s), Some(p)) if e.0.is_empty() => Ok(Booking {
                appointment_type: t,
                starts_at: s,
                minutes: mins.unwrap_or_else(|| t.default_minutes()),
                place: p,
                clinician,
                clinical_note,
                repeat,
            }),
            _ => Err(e.0),
        }
    }
}

/// The outside shape of a change (`PATCH`): absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeInput {
    pub starts_at: Option<String>,
    pub duration_minutes: Option<i64>,
    pub place: Option<PlaceInput>,
    pub clinician: Option<String>,
    pub clinical_note: Option<String>,
    /// `cancelled` cancels the appointment (it stays in history).
    pub status: Option<String>,
    /// Why it changed or was cancelled, in a few operational words (required).
    pub reason: Option<String>,
    /// The version the writer saw; another answers 409 (or send `If-Match`).
    pub version: Option<i64>,
}

/// A parsed change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Change {
    pub starts_at: Option<DateTime<Utc>>,
    pub minutes: Option<i64>,
    pub place: Option<Place>,
    pub clinician: Option<String>,
    pub clinical_note: Option<String>,
    pub cancel: bool,
    pub reason: String,
    pub expected_version: Option<i64>,
}

impl ChangeInput {
    pub fn parse(&self, now: DateTime<Utc>) -> Result<Change, Vec<ParseError>> {
        let mut e = Errors(Vec::new());
        let starts_at = e
            .take(
                self.starts_at
                    .as_deref()
                    .map(|s| future_start(s, now))
                    .transpose(),
            )
            .flatten();
        let mins = e
            .take(self.duration_minutes.map(minutes).transpose())
            .flatten();
        let place = e
            .take(self.place.as_ref().map(PlaceInput::parse).transpose())
            .flatten();
        let clinician = e
            .take(optional_text(
                "clinician",
                self.clinician.as_deref(),
                PLACE_MAX_CHARS,
            ))
            .flatten();
        let clinical_note = e
            .take(optional_text(
                "clinicalNote",
                self.clinical_note.as_deref(),
                NOTE_MAX_CHARS,
            ))
            .flatten();
        let cancel = match self.status.as_deref() {
            None => false,
            Some("cancelled") => true,
            Some(_) => {
                e.0.push(ParseError::new("status", "may only be set to cancelled"));
                false
            }
        };
        let reason = e.take(
            self.reason
                .as_deref()
                .ok_or_else(|| {
                    ParseError::new("reason", "is required: say why the appointment changed")
                })
                .and_then(|r| text("reason", r, REASON_MAX_CHARS)),
        );
        let changes_something = starts_at.is_some()
            || mins.is_some()
            || place.is_some()
            || clinician.is_some()
            || clinical_note.is_some()
            || cancel;
        if e.0.is_empty() && !changes_something {
            e.0.push(ParseError::new(
                "",
                "changes nothing: give at least one field to change",
            ));
        }
        if cancel && (starts_at.is_some() || place.is_some() || mins.is_some()) {
            e.0.push(ParseError::new(
                "status",
                "a cancellation cannot also move the appointment",
            ));
        }
        if e.0.is_empty() {
            Ok(Change {
                starts_at,
                minutes: mins,
                place,
                clinician,
                clinical_note,
                cancel,
                reason: reason.expect("checked"),
                expected_version: self.version,
            })
        } else {
            Err(e.0)
        }
    }
}

/// The outside shape of an escort plan, as the prison records it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscortInput {
    pub officers: Option<i64>,
    pub vehicle: Option<String>,
    pub restraint: Option<String>,
    pub decided_by: Option<String>,
}

impl EscortInput {
    pub fn parse(&self) -> Result<EscortPlan, Vec<ParseError>> {
        let mut e = Errors(Vec::new());
        let officers = e.take(match self.officers {
            None => Err(ParseError::new("officers", "is required")),
            Some(n) if (1..=MAX_ESCORT_OFFICERS).contains(&n) => Ok(n),
            Some(_) => Err(ParseError::new(
                "officers",
                format!("must be between 1 and {MAX_ESCORT_OFFICERS}"),
            )),
        });
        let vehicle = e.take(
            self.vehicle
                .as_deref()
                .ok_or_else(|| ParseError::new("vehicle", "is required"))
                .and_then(|v| {
                    Vehicle::parse(v).map_err(|err| ParseError::new("vehicle", err.rule))
                }),
        );
        let restraint = e.take(
            self.restraint
                .as_deref()
                .ok_or_else(|| {
                    ParseError::new(
                        "restraint",
                        "is required: record the decision, even if it is none",
                    )
                })
                .and_then(|v| {
                    Restraint::parse(v).map_err(|err| ParseError::new("restraint", err.rule))
                }),
        );
        let decided_by = e.take(
            self.decided_by
                .as_deref()
                .ok_or_else(|| ParseError::new("decidedBy", "is required"))
                .and_then(|d| text("decidedBy", d, PLACE_MAX_CHARS)),
        );
        match (officers, vehicle, restraint, decided_by) {
            (Some(officers), Some(vehicle), Some(restraint), Some(decided_by)) => Ok(EscortPlan {
                officers,
                vehicle,
                restraint,
                decided_by,
            }),
            _ => Err(e.0),
        }
    }
}

/// The outside shape of an attendance record.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttendanceInput {
    /// `attended`, `did-not-attend`, `was-not-brought`, `cancelled-by-healthcare` or `rescheduled`.
    pub outcome: Option<String>,
    /// For did-not-attend: `refused`, `declined-at-door`, `unwell`, `other`.
    /// For was-not-brought: `no-escort-staff`, `regime-curtailed`, `lockdown-or-incident`,
    /// `clash-other-activity`, `at-court`, `transferred`, `released`, `at-hospital`,
    /// `security-decision`, `not-unlocked`, `other`.
    pub reason: Option<String>,
    /// Required when an outcome is already recorded: why it is being corrected.
    pub correction_reason: Option<String>,
}

/// A parsed attendance record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendance {
    pub outcome: Outcome,
    pub correction_reason: Option<String>,
}

impl AttendanceInput {
    pub fn parse(&self) -> Result<Attendance, Vec<ParseError>> {
        let outcome = self
            .outcome
            .as_deref()
            .ok_or_else(|| ParseError::new("outcome", "is required"))
            .and_then(|o| Outcome::parse(o, self.reason.as_deref()));
        let correction = optional_text(
            "correctionReason",
            self.correction_reason.as_deref(),
            REASON_MAX_CHARS,
        );
        match (outcome, correction) {
            (Ok(outcome), Ok(correction_reason)) => Ok(Attendance {
                outcome,
                correction_reason,
            }),
            (a, b) => Err([a.err(), b.err()].into_iter().flatten().collect()),
        }
    }
}

/// Whether attendance may be recorded at `now`: from the start of the
/// appointment's day (a WNB can be known in the morning), never before.
pub fn attendance_window(starts_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ParseError> {
    if now.date_naive() < starts_at.date_naive() {
        return Err(ParseError::new(
            "outcome",
            "the appointment's day has not begun; change or cancel the booking instead",
        ));
    }
    Ok(())
}

/// Recording more than a day after the end is allowed, and marked late.
pub fn is_late_recording(ends_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now > ends_at + Duration::hours(LATE_RECORDING_HOURS)
}

/// A booking or change made within a day of the start is marked on unlock lists.
pub fn is_late_change(changed_at: DateTime<Utc>, starts_at: DateTime<Utc>) -> bool {
    changed_at > starts_at - Duration::hours(LATE_CHANGE_HOURS)
}

/// Monday of the ISO week holding `day`: analytics group by it.
pub fn week_of(day: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    day - Duration::days(day.weekday().num_days_from_monday() as i64)
}

// ------------------------------------------------------------ clash rules

kebab_enum!(
    /// Why an appointment is at risk. Each names the was-not-brought reason it
    /// would become if nothing is done.
    RiskReason, "reason" {
        AtCourt => "at-court",
        Transferred => "transferred",
        Released => "released",
        AtHospital => "at-hospital",
        ClashOtherActivity => "clash-other-activity",
        LockdownOrIncident => "lockdown-or-incident",
        RegimeCurtailed => "regime-curtailed",
    }
);

impl RiskReason {
    pub fn likely_outcome(self) -> WnbReason {
        match self {
            Self::AtCourt => WnbReason::AtCourt,
            Self::Transferred => WnbReason::Transferred,
            Self::Released => WnbReason::Released,
            Self::AtHospital => WnbReason::AtHospital,
            Self::ClashOtherActivity => WnbReason::ClashOtherActivity,
            Self::LockdownOrIncident => WnbReason::LockdownOrIncident,
            Self::RegimeCurtailed => WnbReason::RegimeCurtailed,
        }
    }
}

kebab_enum!(
    /// An establishment-wide closure of the regime.
    ClosureKind, "kind" {
        Lockdown => "lockdown",
        RegimeCurtailed => "regime-curtailed",
    }
);

/// The outside shape of a regime closure, as the prison system posts it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClosureInput {
    /// `lockdown` or `regime-curtailed`.
    pub kind: Option<String>,
    /// RFC 3339.
    pub starts_at: Option<String>,
    /// RFC 3339; open-ended when absent (end it with DELETE).
    pub ends_at: Option<String>,
    /// Operational words only, e.g. "staff shortage" (never about a person).
    pub reason: Option<String>,
}

/// A parsed closure: every rule holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub kind: ClosureKind,
    pub starts_at: DateTime<Utc>,
    /// Open-ended when `None`.
    pub ends_at: Option<DateTime<Utc>>,
    pub reason: String,
}

/// A closure may be recorded at most this long after it began.
pub const CLOSURE_BACKDATE_HOURS: i64 = 24;

impl ClosureInput {
    /// Checks every rule; returns all the broken ones.
    pub fn parse(&self, now: DateTime<Utc>) -> Result<Closure, Vec<ParseError>> {
        let mut e = Errors(Vec::new());
        let kind = e.take(
            self.kind
                .as_deref()
                .ok_or_else(|| ParseError::new("kind", "is required"))
                .and_then(ClosureKind::parse),
        );
        let starts_at = e.take(
            self.starts_at
                .as_deref()
                .ok_or_else(|| ParseError::new("startsAt", "is required"))
                .and_then(|s| timestamp("startsAt", s)),
        );
        let ends_at = e
            .take(
                self.ends_at
                    .as_deref()
                    .map(|s| timestamp("endsAt", s))
                    .transpose(),
            )
            .flatten();
        let reason = e.take(
            self.reason
                .as_deref()
                .ok_or_else(|| ParseError::new("reason", "is required"))
                .and_then(|r| text("reason", r, 200)),
        );
        if let (Some(s), Some(end)) = (starts_at, ends_at)
            && end <= s
        {
            e.0.push(ParseError::new("endsAt", "must be after startsAt"));
        }
        if let Some(s) = starts_at
            && s < now - Duration::hours(CLOSURE_BACKDATE_HOURS)
        {
            e.0.push(ParseError::new(
                "startsAt",
                "must not be more than a day in the past",
            ));
        }
        match (kind, starts_at, reason) {
            (Some(kind), Some(starts_at), Some(reason)) if e.0.is_empty() => Ok(Closure {
                kind,
                starts_at,
                ends_at,
                reason,
            }),
            _ => Err(e.0),
        }
    }
}

/// The appointment the rules look at.
#[derive(Debug, Clone)]
pub struct Slot {
    pub id: String,
    pub establishment: EstablishmentCode,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub setting: Setting,
}

impl Slot {
    fn overlaps(&self, from: DateTime<Utc>, until: Option<DateTime<Utc>>) -> bool {
        self.ends_at > from && until.is_none_or(|u| u > self.starts_at)
    }
}

/// A planned movement still planned.
#[derive(Debug, Clone)]
pub struct PlanFact {
    pub id: String,
    pub kind: PlannedMovementKind,
    pub at: DateTime<Utc>,
    pub destination: Option<EstablishmentCode>,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ClosureFact {
    pub id: String,
    pub kind: ClosureKind,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct CustodyFact {
    pub status: CustodyStatus,
    pub establishment: EstablishmentCode,
}

/// Everything known about the person and their establishment that can put an appointment at risk.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub custody: Option<CustodyFact>,
    pub plans: Vec<PlanFact>,
    /// The person's other booked appointments.
    pub others: Vec<Slot>,
    /// Closures at the appointment's establishment.
    pub closures: Vec<ClosureFact>,
}

/// One reason an appointment is at risk, and the fact that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Risk {
    pub reason: RiskReason,
    /// The fact: `plan:<id>`, `appointment:<id>`, `closure:<id>` or `custody`.
    pub source: String,
    /// Plain words for staff; never clinical.
    pub detail: String,
}

fn same_day(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    a.date_naive() == b.date_naive()
}

/// The clash rules (docs/appointments.md). Only appointments not yet over are assessed.
pub fn assess(slot: &Slot, facts: &Facts, now: DateTime<Utc>) -> Vec<Risk> {
    let mut risks = Vec::new();
    if slot.ends_at <= now {
        return risks;
    }
    let day = slot.starts_at.format("%a %e %b").to_string();
    for p in &facts.plans {
        let plan_day = p.at.date_naive();
        let slot_day = slot.starts_at.date_naive();
        let source = format!("plan:{}", p.id);
        let risk = match p.kind {
            // Court takes the whole day: the person leaves early and returns late.
            PlannedMovementKind::CourtAppearance if plan_day == slot_day => Some((
                RiskReason::AtCourt,
                format!("court appearance planned on {day}"),
            )),
            // A hospital escort the same day clashes with anything in the prison;
            // for an external appointment it is most likely the escort for it.
            PlannedMovementKind::HospitalEscort
                if plan_day == slot_day && slot.setting != Setting::External =>
            {
                Some((
                    RiskReason::AtHospital,
                    format!("hospital escort planned on {day}"),
                ))
            }
            // Leaving before (or on) the day: the appointment cannot happen here.
            PlannedMovementKind::Transfer
                if plan_day <= slot_day && p.destination.as_ref() != Some(&slot.establishment) =>
            {
                let to = p
                    .destination
                    .as_ref()
                    .map_or("another prison".to_owned(), |d| d.as_str().to_owned());
                Some((
                    RiskReason::Transferred,
                    format!("transfer to {to} planned on {}", p.at.format("%a %e %b")),
                ))
            }
            PlannedMovementKind::Release if plan_day <= slot_day => Some((
                RiskReason::Released,
                format!("release planned on {}", p.at.format("%a %e %b")),
            )),
            _ => None,
        };
        if let Some((reason, detail)) = risk {
            risks.push(Risk {
                reason,
                source,
                detail,
            });
        }
    }
    if let Some(c) = &facts.custody {
        let risk = match c.status {
            CustodyStatus::AtHospital => {
                Some((RiskReason::AtHospital, "in hospital now".to_owned()))
            }
            CustodyStatus::AtCourt if same_day(now, slot.starts_at) => {
                Some((RiskReason::AtCourt, "at court now".to_owned()))
            }
            CustodyStatus::Released => Some((RiskReason::Released, "released".to_owned())),
            CustodyStatus::InTransit => Some((
                RiskReason::Transferred,
                "in transit to another prison".to_owned(),
            )),
            _ if c.establishment != slot.establishment => Some((
                RiskReason::Transferred,
                format!("now held at {}", c.establishment.as_str()),
            )),
            _ => None,
        };
        if let Some((reason, detail)) = risk {
            risks.push(Risk {
                reason,
                source: "custody".into(),
                detail,
            });
        }
    }
    for o in &facts.others {
        if o.id != slot.id && slot.overlaps(o.starts_at, Some(o.ends_at)) {
            risks.push(Risk {
                reason: RiskReason::ClashOtherActivity,
                source: format!("appointment:{}", o.id),
                detail: format!("another appointment at {}", o.starts_at.format("%H:%M")),
            });
        }
    }
    // A closure keeps people behind their doors: an in-cell appointment can still happen.
    if slot.setting != Setting::InCell {
        for c in &facts.closures {
            if slot.overlaps(c.starts_at, c.ends_at) {
                let reason = match c.kind {
                    ClosureKind::Lockdown => RiskReason::LockdownOrIncident,
                    ClosureKind::RegimeCurtailed => RiskReason::RegimeCurtailed,
                };
                risks.push(Risk {
                    reason,
                    source: format!("closure:{}", c.id),
                    detail: format!(
                        "{} at {}",
                        c.kind.as_str().replace('-', " "),
                        slot.establishment.as_str()
                    ),
                });
            }
        }
    }
    risks.sort();
    risks.dedup();
    risks
}

/// What a real departure does to one of the person's open appointments at the
/// establishment they leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepartureEffect {
    /// The same day, not yet started: recorded as was-not-brought with this reason.
    NotBrought(WnbReason),
    /// A later day, and the person will not be back: cancelled, and the owner told.
    Cancel(WnbReason),
    /// Nothing to do now (the clash rules mark it at risk while the absence lasts).
    None,
}

/// The movement rules (docs/appointments.md).
pub fn on_departure(
    kind: MovementKind,
    departed_at: DateTime<Utc>,
    slot: &Slot,
) -> DepartureEffect {
    let reason = match kind {
        MovementKind::CourtOut => WnbReason::AtCourt,
        MovementKind::TransferOut => WnbReason::Transferred,
        MovementKind::Release => WnbReason::Released,
        // The hospital trip may be this very appointment.
        MovementKind::HospitalOut if slot.setting != Setting::External => WnbReason::AtHospital,
        _ => return DepartureEffect::None,
    };
    if slot.starts_at < departed_at {
        // Before they left: whatever happened is for staff to record.
        return DepartureEffect::None;
    }
    if same_day(slot.starts_at, departed_at) {
        return DepartureEffect::NotBrought(reason);
    }
    match kind {
        MovementKind::TransferOut | MovementKind::Release => DepartureEffect::Cancel(reason),
        _ => DepartureEffect::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn lei() -> EstablishmentCode {
        EstablishmentCode::parse("LEI").unwrap()
    }
    fn slot(start: &str, setting: Setting) -> Slot {
        let s = t(start);
        Slot {
            id: "a1".into(),
            establishment: lei(),
            starts_at: s,
            ends_at: s + Duration::minutes(30),
            setting,
        }
    }

    #[test]
    fn outcome_reasons_belong_to_their_kind() {
        assert_eq!(
            Outcome::parse("was-not-brought", Some("no-escort-staff")).unwrap(),
            Outcome::WasNotBrought(WnbReason::NoEscortStaff)
        );
        assert_eq!(
            Outcome::parse("did-not-attend", Some("refused")).unwrap(),
            Outcome::DidNotAttend(DnaReason::Refused)
        );
        // A prison reason is not a patient's choice.
        assert!(Outcome::parse("did-not-attend", Some("no-escort-staff")).is_err());
        assert!(Outcome::parse("was-not-brought", Some("refused")).is_err());
        assert!(Outcome::parse("was-not-brought", None).is_err());
        assert!(Outcome::parse("attended", Some("refused")).is_err());
        assert!(!Outcome::Rescheduled.may_be_recorded_by(OrgType::Prison));
        assert!(Outcome::WasNotBrought(WnbReason::Other).may_be_recorded_by(OrgType::Prison));
        assert!(!Outcome::Attended.may_be_recorded_by(OrgType::Escort));
    }

    #[test]
    fn booking_reports_every_broken_rule() {
        let now = t("2026-11-25T09:00:00Z");
        let input = BookingInput {
            appointment_type: Some("HOSP-OP".into()),
            starts_at: Some("2026-11-24T09:00:00Z".into()),
            duration_minutes: Some(1),
            place: Some(PlaceInput {
                kind: Some("internal".into()),
                room: Some("HCU 1".into()),
                location: None,
            }),
            repeat: Some(RepeatInput {
                every: Some("week".into()),
                count: Some(99),
            }),
            ..Default::default()
        };
        let errors = input.parse(now).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["startsAt", "durationMinutes", "repeat.count", "place.kind"]
        );
    }

    #[test]
    fn a_series_books_each_occurrence() {
        let now = t("2026-11-25T09:00:00Z");
        let input = BookingInput {
            appointment_type: Some("MEDE".into()),
            starts_at: Some("2026-11-26T10:00:00Z".into()),
            place: Some(PlaceInput {
                kind: Some("internal".into()),
                room: Some("Dental suite".into()),
                location: None,
            }),
            repeat: Some(RepeatInput {
                every: Some("week".into()),
                count: Some(3),
            }),
            ..Default::default()
        };
        let b = input.parse(now).unwrap();
        assert_eq!(b.minutes, 20);
        assert_eq!(
            b.occurrences(),
            vec![
                t("2026-11-26T10:00:00Z"),
                t("2026-12-03T10:00:00Z"),
                t("2026-12-10T10:00:00Z")
            ]
        );
    }

    #[test]
    fn court_on_the_day_puts_the_appointment_at_risk() {
        let s = slot("2026-12-01T10:00:00Z", Setting::External);
        let facts = Facts {
            plans: vec![PlanFact {
                id: "c1".into(),
                kind: PlannedMovementKind::CourtAppearance,
                at: t("2026-12-01T08:00:00Z"),
                destination: None,
                description: None,
            }],
            ..Default::default()
        };
        let risks = assess(&s, &facts, t("2026-11-25T09:00:00Z"));
        assert_eq!(risks.len(), 1);
        assert_eq!(risks[0].reason, RiskReason::AtCourt);
        assert_eq!(risks[0].source, "plan:c1");
        // The day before is no clash.
        let other_day = slot("2026-11-30T10:00:00Z", Setting::External);
        assert!(assess(&other_day, &facts, t("2026-11-25T09:00:00Z")).is_empty());
    }

    #[test]
    fn a_lockdown_spares_in_cell_appointments() {
        let facts = Facts {
            closures: vec![ClosureFact {
                id: "x".into(),
                kind: ClosureKind::Lockdown,
                starts_at: t("2026-12-01T06:00:00Z"),
                ends_at: None,
            }],
            ..Default::default()
        };
        let now = t("2026-11-25T09:00:00Z");
        assert_eq!(
            assess(
                &slot("2026-12-01T10:00:00Z", Setting::Internal),
                &facts,
                now
            )[0]
            .reason,
            RiskReason::LockdownOrIncident
        );
        assert!(assess(&slot("2026-12-01T10:00:00Z", Setting::InCell), &facts, now).is_empty());
        assert!(
            assess(
                &slot("2026-11-30T10:00:00Z", Setting::Internal),
                &facts,
                now
            )
            .is_empty()
        );
    }

    #[test]
    fn overlapping_appointments_clash_and_a_past_one_is_not_assessed() {
        let a = slot("2026-12-01T10:00:00Z", Setting::Internal);
        let mut b = slot("2026-12-01T10:15:00Z", Setting::Internal);
        b.id = "b".into();
        let facts = Facts {
            others: vec![b],
            ..Default::default()
        };
        assert_eq!(
            assess(&a, &facts, t("2026-11-25T09:00:00Z"))[0].reason,
            RiskReason::ClashOtherActivity
        );
        assert!(assess(&a, &facts, t("2026-12-02T09:00:00Z")).is_empty());
    }

    #[test]
    fn leaving_for_court_means_not_brought_the_same_day_only() {
        let s = slot("2026-12-01T10:00:00Z", Setting::External);
        assert_eq!(
            on_departure(MovementKind::CourtOut, t("2026-12-01T08:00:00Z"), &s),
            DepartureEffect::NotBrought(WnbReason::AtCourt)
        );
        assert_eq!(
            on_departure(MovementKind::CourtOut, t("2026-11-30T08:00:00Z"), &s),
            DepartureEffect::None
        );
        assert_eq!(
            on_departure(MovementKind::Release, t("2026-11-30T08:00:00Z"), &s),
            DepartureEffect::Cancel(WnbReason::Released)
        );
        // Going to hospital on the day of a hospital appointment is the appointment.
        assert_eq!(
            on_departure(MovementKind::HospitalOut, t("2026-12-01T08:00:00Z"), &s),
            DepartureEffect::None
        );
        // An appointment before the departure is for staff to record.
        assert_eq!(
            on_departure(MovementKind::CourtOut, t("2026-12-01T11:00:00Z"), &s),
            DepartureEffect::None
        );
    }
}
