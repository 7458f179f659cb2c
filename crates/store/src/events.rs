//! The outbox event types that changes to the shared record raise (DESIGN.md §4).
//! Adding an event type is one constant here and one call where the change is made.

pub const PREFIX: &str = "uk.gatehouse.";

pub const PERSON_RECEIVED: &str = "uk.gatehouse.person.received";
pub const PERSON_TRANSFERRED: &str = "uk.gatehouse.person.transferred";
pub const PERSON_RELEASED: &str = "uk.gatehouse.person.released";
pub const PERSON_COURT_OUT: &str = "uk.gatehouse.person.court-out";
pub const PERSON_COURT_RETURNED: &str = "uk.gatehouse.person.court-returned";
pub const PERSON_HOSPITAL_OUT: &str = "uk.gatehouse.person.hospital-out";
pub const PERSON_TEMPORARY_ABSENCE_OUT: &str = "uk.gatehouse.person.temporary-absence-out";
pub const PERSON_CELL_MOVED: &str = "uk.gatehouse.person.cell-moved";
pub const PERSON_DETAILS_CHANGED: &str = "uk.gatehouse.person.details-changed";
pub const ALERT_RAISED: &str = "uk.gatehouse.alert.raised";
pub const ALERT_CLOSED: &str = "uk.gatehouse.alert.closed";
pub const PLANNED_MOVEMENT_SCHEDULED: &str = "uk.gatehouse.planned-movement.scheduled";
pub const PLANNED_MOVEMENT_AMENDED: &str = "uk.gatehouse.planned-movement.amended";
pub const PLANNED_MOVEMENT_CANCELLED: &str = "uk.gatehouse.planned-movement.cancelled";
pub const PLANNED_MOVEMENT_COMPLETED: &str = "uk.gatehouse.planned-movement.completed";
pub const IDENTITY_LINKED: &str = "uk.gatehouse.identity.linked";
pub const MEDICATION_CONTINUITY_CHECK: &str = "uk.gatehouse.person.medication-continuity-check";
pub const MEDICATION_CONTINUITY_CONFIRMED: &str =
    "uk.gatehouse.person.medication-continuity-confirmed";
pub const SAFETY_NOTICE_PUBLISHED: &str = "uk.gatehouse.safety-notice.published";
pub const SAFETY_NOTICE_REVISED: &str = "uk.gatehouse.safety-notice.revised";
pub const SAFETY_NOTICE_WITHDRAWN: &str = "uk.gatehouse.safety-notice.withdrawn";
pub const APPOINTMENT_BOOKED: &str = "uk.gatehouse.appointment.booked";
pub const APPOINTMENT_CHANGED: &str = "uk.gatehouse.appointment.changed";
pub const APPOINTMENT_CANCELLED: &str = "uk.gatehouse.appointment.cancelled";
pub const APPOINTMENT_AT_RISK: &str = "uk.gatehouse.appointment.at-risk";
pub const APPOINTMENT_ATTENDANCE_RECORDED: &str = "uk.gatehouse.appointment.attendance-recorded";

/// Every type above, for catalogues that must cover them all.
pub const ALL: &[&str] = &[
    PERSON_RECEIVED,
    PERSON_TRANSFERRED,
    PERSON_RELEASED,
    PERSON_COURT_OUT,
    PERSON_COURT_RETURNED,
    PERSON_HOSPITAL_OUT,
    PERSON_TEMPORARY_ABSENCE_OUT,
    PERSON_CELL_MOVED,
    PERSON_DETAILS_CHANGED,
    ALERT_RAISED,
    ALERT_CLOSED,
    PLANNED_MOVEMENT_SCHEDULED,
    PLANNED_MOVEMENT_AMENDED,
    PLANNED_MOVEMENT_CANCELLED,
    PLANNED_MOVEMENT_COMPLETED,
    IDENTITY_LINKED,
    MEDICATION_CONTINUITY_CHECK,
    MEDICATION_CONTINUITY_CONFIRMED,
    SAFETY_NOTICE_PUBLISHED,
    SAFETY_NOTICE_REVISED,
    SAFETY_NOTICE_WITHDRAWN,
    APPOINTMENT_BOOKED,
    APPOINTMENT_CHANGED,
    APPOINTMENT_CANCELLED,
    APPOINTMENT_AT_RISK,
    APPOINTMENT_ATTENDANCE_RECORDED,
];

use gatehouse_domain::{MovementKind, movement::MovementReason};

/// The event a movement raises.
pub fn for_movement(kind: MovementKind, reason: MovementReason) -> &'static str {
    match kind {
        MovementKind::Reception if reason == MovementReason::ReturnFromCourt => {
            PERSON_COURT_RETURNED
        }
        MovementKind::Reception => PERSON_RECEIVED,
        MovementKind::TransferOut => PERSON_TRANSFERRED,
        MovementKind::CourtOut => PERSON_COURT_OUT,
        MovementKind::HospitalOut => PERSON_HOSPITAL_OUT,
        MovementKind::TemporaryAbsenceOut => PERSON_TEMPORARY_ABSENCE_OUT,
        MovementKind::Release => PERSON_RELEASED,
        MovementKind::CellMove => PERSON_CELL_MOVED,
    }
}
