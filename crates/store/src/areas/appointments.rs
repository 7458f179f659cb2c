//! Healthcare appointments, regime closures and attendance figures.
//!
//! Implemented for each engine in `engine/queries/appointments.rs`.

use crate::{
    Actor, AppointmentChange, AppointmentHistoryEntry, AppointmentRecord, AttendanceUpdate,
    ClosureRecord, EscortUpdate, ImportedAppointment, NewBooking, NewClosure, Result, TallyQuery,
    WriteAudit,
};
use async_trait::async_trait;
use gatehouse_domain::{EstablishmentCode, PrisonNumber};

/// Healthcare appointments, regime closures and attendance figures.
#[async_trait]
pub trait AppointmentStore: Send + Sync {
    /// Books one appointment or a series in one transaction, runs the clash
    /// rules for the person and raises `appointment.booked` (and `at-risk`).
    async fn book_appointments(
        &self,
        booking: &NewBooking,
        audit: &WriteAudit,
    ) -> Result<Vec<AppointmentRecord>>;

    /// The owner's change or cancellation. A stale `expected_version` answers [`StoreError::Stale`].
    async fn change_appointment(
        &self,
        id: &str,
        change: &AppointmentChange,
        audit: &WriteAudit,
    ) -> Result<AppointmentRecord>;

    /// The prison's escort plan for an external appointment.
    async fn plan_escort(
        &self,
        id: &str,
        update: &EscortUpdate,
        audit: &WriteAudit,
    ) -> Result<AppointmentRecord>;

    /// Records (or corrects, keeping history) the attendance outcome.
    async fn record_attendance(
        &self,
        id: &str,
        update: &AttendanceUpdate,
        audit: &WriteAudit,
    ) -> Result<AppointmentRecord>;

    async fn appointment(&self, id: &str) -> Result<Option<AppointmentRecord>>;

    /// A person's appointments ending after `from` (all when `None`), in time order.
    async fn appointments_for(
        &self,
        prison_number: &PrisonNumber,
        from: Option<chrono::DateTime<chrono::Utc>>,
        include_cancelled: bool,
    ) -> Result<Vec<AppointmentRecord>>;

    /// Every appointment at an establishment starting on `day` (UTC), cancelled ones included, in time order.
    async fn appointments_at(
        &self,
        establishment: &EstablishmentCode,
        day: chrono::NaiveDate,
    ) -> Result<Vec<AppointmentRecord>>;

    async fn appointment_history(&self, id: &str) -> Result<Vec<AppointmentHistoryEntry>>;

    /// Records a closure and runs the clash rules for every appointment it overlaps.
    async fn record_closure(
        &self,
        closure: &NewClosure,
        audit: &WriteAudit,
    ) -> Result<ClosureRecord>;

    /// Ends a closure at `at` (clearing the risks it no longer covers).
    async fn end_closure(
        &self,
        id: &str,
        at: chrono::DateTime<chrono::Utc>,
        by: &Actor,
        audit: &WriteAudit,
    ) -> Result<ClosureRecord>;

    async fn closure(&self, id: &str) -> Result<Option<ClosureRecord>>;

    /// Closures at an establishment that have not ended before `after`.
    async fn closures(
        &self,
        establishment: &EstablishmentCode,
        after: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ClosureRecord>>;

    /// The per-week attendance tallies the figures are computed from.
    async fn attendance_tallies(
        &self,
        query: &TallyQuery,
    ) -> Result<Vec<gatehouse_domain::attendance::Tally>>;

    /// The attendance figures for the query, from the per-week cache (stale weeks rebuilt from their tallies).
    async fn attendance_figures(
        &self,
        query: &TallyQuery,
    ) -> Result<gatehouse_domain::attendance::Figures>;

    /// Bulk-loads historical appointments (no events, no clash rules); tallies are kept.
    async fn import_appointments(
        &self,
        rows: &[ImportedAppointment],
        audit: &WriteAudit,
    ) -> Result<u64>;
}
