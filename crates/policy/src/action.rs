//! Actions, one per read or write view. Each is a Cedar action of the same
//! name in `agreements/schema.cedarschema`.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    // About a person.
    SeePerson,
    ReadPerson,
    ReadSummary,
    ReadMovements,
    ReadAlerts,
    ReadPlannedMovements,
    ReadIdentity,
    WriteIdentity,
    ReadDisclosures,
    ReadSafetyNotices,
    ReadAppointments,
    BookAppointment,
    RecordAttendance,
    WriteNotice,
    PlanEscort,
    ReadAppointmentClinical,
    ReadAttendanceFigures,
    // About a safety notice.
    ReadNoticeInstruction,
    ReadNoticeCondition,
    ReadNoticeClinical,
    // About the system.
    WriteFeed,
    ReadReferenceData,
    SearchPeople,
    ReadAudit,
    ReviewBreakGlass,
    ReadEvents,
    BreakGlass,
}

/// What kind of resource an action applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Person,
    Notice,
    System,
}

impl Action {
    pub const ALL: [Action; 27] = [
        Self::SeePerson,
        Self::ReadPerson,
        Self::ReadSummary,
        Self::ReadMovements,
        Self::ReadAlerts,
        Self::ReadPlannedMovements,
        Self::ReadIdentity,
        Self::WriteIdentity,
        Self::ReadDisclosures,
        Self::ReadSafetyNotices,
        Self::ReadAppointments,
        Self::BookAppointment,
        Self::RecordAttendance,
        Self::WriteNotice,
        Self::PlanEscort,
        Self::ReadAppointmentClinical,
        Self::ReadAttendanceFigures,
        Self::ReadNoticeInstruction,
        Self::ReadNoticeCondition,
        Self::ReadNoticeClinical,
        Self::WriteFeed,
        Self::ReadReferenceData,
        Self::SearchPeople,
        Self::ReadAudit,
        Self::ReviewBreakGlass,
        Self::ReadEvents,
        Self::BreakGlass,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SeePerson => "see-person",
            Self::ReadPerson => "read-person",
            Self::ReadSummary => "read-summary",
            Self::ReadMovements => "read-movements",
            Self::ReadAlerts => "read-alerts",
            Self::ReadPlannedMovements => "read-planned-movements",
            Self::ReadIdentity => "read-identity",
            Self::WriteIdentity => "write-identity",
            Self::ReadDisclosures => "read-disclosures",
            Self::ReadSafetyNotices => "read-safety-notices",
            Self::ReadAppointments => "read-appointments",
            Self::BookAppointment => "book-appointment",
            Self::RecordAttendance => "record-attendance",
            Self::WriteNotice => "write-notice",
            Self::PlanEscort => "plan-escort",
            Self::ReadAppointmentClinical => "read-appointment-clinical",
            Self::ReadAttendanceFigures => "read-attendance-figures",
            Self::ReadNoticeInstruction => "read-notice-instruction",
            Self::ReadNoticeCondition => "read-notice-condition",
            Self::ReadNoticeClinical => "read-notice-clinical",
            Self::WriteFeed => "write-feed",
            Self::ReadReferenceData => "read-reference-data",
            Self::SearchPeople => "search-people",
            Self::ReadAudit => "read-audit",
            Self::ReviewBreakGlass => "review-break-glass",
            Self::ReadEvents => "read-events",
            Self::BreakGlass => "break-glass",
        }
    }

    pub fn applies_to(self) -> Applies {
        match self {
            Self::ReadNoticeInstruction | Self::ReadNoticeCondition | Self::ReadNoticeClinical => {
                Applies::Notice
            }
            Self::WriteFeed
            | Self::ReadReferenceData
            | Self::SearchPeople
            | Self::ReadAudit
            | Self::ReviewBreakGlass
            | Self::ReadEvents
            | Self::BreakGlass => Applies::System,
            _ => Applies::Person,
        }
    }
}
