// Shared query code: `include!`d by `sqlite.rs` and `postgres.rs`, each of
// which defines `Db`, `LOCK_PERSON` (the engine's way to read and lock a
// person row) and `now()`. SQL here uses `$n` placeholders, which both
// engines accept. Keep engine-specific SQL out of this file.

use crate::events;
use crate::model::*;
use crate::appointments::*;
use crate::page::{Cursor, Page, PageRequest};
use crate::disclosure::WriteAudit;
use crate::{FeedEntry, Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_domain::feed::{FeedCommand, FeedItem};
use gatehouse_domain::movement::MovementReason;
use gatehouse_domain::{
    AlertCode, CellLocation, CustodyState, CustodyStatus, Establishment, EstablishmentCode, Movement, MovementKind, NhsNumber,
    OrgType, PersonDetails, PersonName, PlannedMovement, PlannedMovementKind, PlannedStatus, PrisonAlert, PrisonNumber, Scope,
};
use serde_json::json;
use sqlx::Row;

type Tx<'c> = sqlx::Transaction<'c, Db>;
type DbRow = <Db as sqlx::Database>::Row;

include!("queries/decode.rs");
include!("queries/consumers.rs");
include!("queries/feed.rs");
include!("queries/feed_set.rs");
include!("queries/reads.rs");
include!("queries/governance.rs");
include!("queries/notices.rs");
include!("queries/delivery.rs");
include!("queries/continuity.rs");
include!("queries/identity.rs");
include!("queries/appointments.rs");

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::Store for EngineStore {
    fn engine(&self) -> crate::EngineKind {
        ENGINE
    }
    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }
    async fn ensure_establishments(&self, list: &[Establishment]) -> Result<()> {
        ensure_establishments(&self.writer, list).await
    }
    async fn list_establishments(&self) -> Result<Vec<Establishment>> {
        list_establishments(&self.reader).await
    }
    async fn create_consumer(&self, new: &NewConsumer, key: &StoredKey, audit: &WriteAudit) -> Result<Consumer> {
        create_consumer(&self.writer, new, key, audit).await
    }
    async fn add_key(&self, consumer: &str, key: &StoredKey, audit: &WriteAudit) -> Result<()> {
        add_key(&self.writer, consumer, key, audit).await
    }
    async fn list_consumers(&self) -> Result<Vec<Consumer>> {
        list_consumers(&self.reader).await
    }
    async fn revoke_consumer(&self, name: &str, audit: &WriteAudit) -> Result<bool> {
        revoke_consumer(&self.writer, name, audit).await
    }
    async fn consumer_by_key(&self, prefix: &str, key_hash: &str) -> Result<KeyLookup> {
        consumer_by_key(&self.reader, prefix, key_hash).await
    }
    async fn set_client_cert(&self, consumer: &str, binding: &ClientCertBinding, audit: &WriteAudit) -> Result<bool> {
        set_client_cert(&self.writer, consumer, binding, audit).await
    }
    async fn consumers_by_client_cert(&self, sha256: &str, subject: Option<&str>) -> Result<Vec<String>> {
        consumers_by_client_cert(&self.reader, sha256, subject).await
    }
    async fn apply_feed(&self, items: Vec<FeedEntry>, mode: BatchMode, source: &str, audit: &WriteAudit) -> Result<Vec<ItemOutcome>> {
        apply_feed(&self.writer, items, mode, source, audit).await
    }
    async fn person(&self, pn: &PrisonNumber) -> Result<Option<PersonRecord>> {
        person(&self.reader, pn).await
    }
    async fn people_by_nhs_number(&self, nhs: &NhsNumber) -> Result<Vec<PersonRecord>> {
        people_by_nhs_number(&self.reader, nhs).await
    }
    async fn people_by_name(&self, family: &str, given: Option<&str>, dob: NaiveDate) -> Result<Vec<PersonRecord>> {
        people_by_name(&self.reader, family, given, dob).await
    }
    async fn people_at(&self, est: &EstablishmentCode, page: &PageRequest) -> Result<Page<PersonRecord>> {
        people_at(&self.reader, est, page).await
    }
    async fn movements(&self, pn: &PrisonNumber, page: &PageRequest) -> Result<Page<MovementRecord>> {
        movements(&self.reader, pn, page).await
    }
    async fn alerts(&self, pn: &PrisonNumber, active_only: bool, page: &PageRequest) -> Result<Page<AlertRecord>> {
        alerts(&self.reader, pn, active_only, page).await
    }
    async fn planned_movements(&self, pn: &PrisonNumber, include_closed: bool) -> Result<Vec<PlannedRecord>> {
        planned_movements(&self.reader, pn, include_closed).await
    }
    async fn identity_links(&self, pn: &PrisonNumber) -> Result<Vec<IdentityLinkRecord>> {
        identity_links(&self.reader, pn).await
    }
    async fn outbox_after(&self, after: i64, limit: i64) -> Result<Vec<OutboxEvent>> {
        outbox_after(&self.reader, after, limit).await
    }
    async fn set_agreement(&self, consumer: &str, agreement: &str, text: &str, audit: &WriteAudit) -> Result<bool> {
        set_agreement(&self.writer, consumer, agreement, text, audit).await
    }
    async fn set_staff_identity(&self, consumer: &str, identity: Option<&StaffIdentity>, audit: &WriteAudit) -> Result<bool> {
        set_staff_identity(&self.writer, consumer, identity, audit).await
    }
    async fn append_audit(&self, records: &[NewDisclosure]) -> Result<Vec<i64>> {
        append_audit(&self.writer, records).await
    }
    async fn audit_head(&self) -> Result<AuditHead> {
        audit_head(&self.reader).await
    }
    async fn audit_rows(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
        audit_rows(&self.reader, after, limit).await
    }
    async fn audit_row(&self, seq: i64) -> Result<Option<AuditRow>> {
        audit_row(&self.reader, seq).await
    }
    async fn audit_for_person(&self, pn: &PrisonNumber, page: &PageRequest) -> Result<Page<AuditRow>> {
        audit_for_person(&self.reader, pn, page).await
    }
    async fn audit_leaf_hashes(&self, size: i64) -> Result<Vec<String>> {
        audit_leaf_hashes(&self.reader, size).await
    }
    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<()> {
        save_checkpoint(&self.writer, checkpoint).await
    }
    async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>> {
        checkpoints(&self.reader).await
    }
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        latest_checkpoint(&self.reader).await
    }
    async fn checkpoint_at(&self, size: i64) -> Result<Option<StoredCheckpoint>> {
        checkpoint_at(&self.reader, size).await
    }
    async fn checkpoints_between(&self, after: i64, upto: i64) -> Result<Vec<StoredCheckpoint>> {
        checkpoints_between(&self.reader, after, upto).await
    }
    async fn break_glass_use(&self, consumer: &str, staff: &str, pn: &str, reason: &str, window: chrono::Duration, audit: &WriteAudit) -> Result<BreakGlassRecord> {
        break_glass_use(&self.writer, consumer, staff, pn, reason, window, audit).await
    }
    async fn break_glass_list(&self, status: Option<&str>) -> Result<Vec<BreakGlassRecord>> {
        break_glass_list(&self.reader, status).await
    }
    async fn break_glass_review(&self, id: &str, reviewer: &str, outcome: &str, note: Option<&str>, audit: &WriteAudit) -> Result<BreakGlassRecord> {
        break_glass_review(&self.writer, id, reviewer, outcome, note, audit).await
    }
    async fn publish_notice(&self, pn: &PrisonNumber, v: &NewNoticeVersion, audit: &WriteAudit) -> Result<NoticeRecord> {
        publish_notice(&self.writer, pn, v, audit).await
    }
    async fn revise_notice(&self, id: &str, expected: Option<i64>, v: &NewNoticeVersion, audit: &WriteAudit) -> Result<NoticeRecord> {
        revise_notice(&self.writer, id, expected, v, audit).await
    }
    async fn withdraw_notice(&self, id: &str, expected: Option<i64>, w: &NoticeWithdrawal, audit: &WriteAudit) -> Result<NoticeRecord> {
        withdraw_notice(&self.writer, id, expected, w, audit).await
    }
    async fn notice(&self, id: &str) -> Result<Option<NoticeRecord>> {
        notice(&self.reader, id).await
    }
    async fn notices_for(&self, pn: &PrisonNumber, include_withdrawn: bool) -> Result<Vec<NoticeRecord>> {
        notices_for(&self.reader, pn, include_withdrawn).await
    }
    async fn notice_versions(&self, id: &str) -> Result<Vec<NoticeVersionRecord>> {
        notice_versions(&self.reader, id).await
    }
    async fn notices_due_for_review(&self, est: &EstablishmentCode, before: NaiveDate) -> Result<Vec<NoticeRecord>> {
        notices_due_for_review(&self.reader, est, before).await
    }
    async fn create_subscription(&self, new: &NewSubscription, audit: &WriteAudit) -> Result<SubscriptionRecord> {
        create_subscription(&self.writer, new, audit).await
    }
    async fn subscription(&self, id: &str) -> Result<Option<SubscriptionRecord>> {
        subscription(&self.writer, id).await
    }
    async fn subscriptions(&self, consumer: Option<&str>) -> Result<Vec<SubscriptionRecord>> {
        subscriptions(&self.reader, consumer).await
    }
    async fn set_subscription_status(&self, id: &str, status: SubscriptionStatus, reason: Option<&str>, audit: &WriteAudit) -> Result<bool> {
        set_subscription_status(&self.writer, id, status, reason, audit).await
    }
    async fn set_subscription_secrets(&self, id: &str, secrets: &[WebhookSecret], audit: &WriteAudit) -> Result<bool> {
        set_subscription_secrets(&self.writer, id, secrets, audit).await
    }
    async fn fan_out(&self, limit: i64, now: DateTime<Utc>, plan: DeliveryPlan<'_>) -> Result<usize> {
        fan_out(&self.writer, limit, now, plan).await
    }
    async fn replay(&self, subscription: &str, from_seq: i64, now: DateTime<Utc>, plan: DeliveryPlan<'_>, audit: &WriteAudit) -> Result<usize> {
        replay(&self.writer, subscription, from_seq, now, plan, audit).await
    }
    async fn outbox_event(&self, id: &str) -> Result<Option<OutboxEvent>> {
        outbox_event(&self.reader, id).await
    }
    async fn outbox_seq_at(&self, at: DateTime<Utc>) -> Result<i64> {
        outbox_seq_at(&self.reader, at).await
    }
    async fn claim_deliveries(&self, owner: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<ClaimedDelivery>> {
        claim_deliveries(&self.writer, owner, now, lease_until, limit).await
    }
    async fn finish_delivery(&self, subscription: &str, seq: i64, at: DateTime<Utc>, result: &AttemptResult) -> Result<()> {
        finish_delivery(&self.writer, subscription, seq, at, result).await
    }
    async fn deliveries(&self, subscription: &str, status: Option<DeliveryStatus>, limit: i64) -> Result<Vec<DeliveryRecord>> {
        deliveries(&self.reader, subscription, status, limit).await
    }
    async fn outbox_safe_seq(&self) -> Result<i64> {
        outbox_safe_seq(&self.writer).await
    }
    async fn cursor(&self, name: &str) -> Result<i64> {
        cursor(&self.writer, name).await
    }
    async fn set_cursor(&self, name: &str, seq: i64) -> Result<()> {
        set_cursor(&self.writer, name, seq).await
    }
    async fn continuity_checks(&self, pn: &PrisonNumber, open_only: bool) -> Result<Vec<ContinuityCheck>> {
        continuity_checks(&self.reader, pn, open_only).await
    }
    async fn continuity_check(&self, id: &str) -> Result<Option<ContinuityCheck>> {
        continuity_check(&self.reader, id).await
    }
    async fn confirm_continuity(&self, id: &str, confirmation: &ContinuityConfirmation, audit: &WriteAudit) -> Result<ContinuityCheck> {
        confirm_continuity(&self.writer, id, confirmation, audit).await
    }
    async fn link_identity(&self, pn: &PrisonNumber, nhs: &NhsNumber, method: LinkMethod, verification: &str, linked_by: &str, audit: &WriteAudit) -> Result<IdentityLinkRecord> {
        link_identity(&self.writer, pn, nhs, method, verification, linked_by, audit).await
    }
    async fn book_appointments(&self, booking: &NewBooking, audit: &WriteAudit) -> Result<Vec<AppointmentRecord>> {
        book_appointments(&self.writer, booking, audit).await
    }
    async fn change_appointment(&self, id: &str, change: &AppointmentChange, audit: &WriteAudit) -> Result<AppointmentRecord> {
        change_appointment(&self.writer, id, change, audit).await
    }
    async fn plan_escort(&self, id: &str, update: &EscortUpdate, audit: &WriteAudit) -> Result<AppointmentRecord> {
        plan_escort(&self.writer, id, update, audit).await
    }
    async fn record_attendance(&self, id: &str, update: &AttendanceUpdate, audit: &WriteAudit) -> Result<AppointmentRecord> {
        record_attendance(&self.writer, id, update, audit).await
    }
    async fn appointment(&self, id: &str) -> Result<Option<AppointmentRecord>> {
        appointment(&self.reader, id).await
    }
    async fn appointments_for(&self, pn: &PrisonNumber, from: Option<DateTime<Utc>>, include_cancelled: bool) -> Result<Vec<AppointmentRecord>> {
        appointments_for(&self.reader, pn, from, include_cancelled).await
    }
    async fn appointments_at(&self, est: &EstablishmentCode, day: NaiveDate) -> Result<Vec<AppointmentRecord>> {
        appointments_at(&self.reader, est, day).await
    }
    async fn appointment_history(&self, id: &str) -> Result<Vec<AppointmentHistoryEntry>> {
        appointment_history(&self.reader, id).await
    }
    async fn record_closure(&self, closure: &NewClosure, audit: &WriteAudit) -> Result<ClosureRecord> {
        record_closure(&self.writer, closure, audit).await
    }
    async fn end_closure(&self, id: &str, at: DateTime<Utc>, by: &Actor, audit: &WriteAudit) -> Result<ClosureRecord> {
        end_closure(&self.writer, id, at, by, audit).await
    }
    async fn closure(&self, id: &str) -> Result<Option<ClosureRecord>> {
        sqlx::query("SELECT * FROM regime_closures WHERE id = $1").bind(id).fetch_optional(&self.reader).await?.map(|r| closure_from_row(&r)).transpose()
    }
    async fn closures(&self, est: &EstablishmentCode, after: DateTime<Utc>) -> Result<Vec<ClosureRecord>> {
        closures(&self.reader, est, after).await
    }
    async fn attendance_tallies(&self, query: &TallyQuery) -> Result<Vec<gatehouse_domain::attendance::Tally>> {
        attendance_tallies(&self.reader, query).await
    }
    async fn attendance_figures(&self, query: &TallyQuery) -> Result<gatehouse_domain::attendance::Figures> {
        attendance_figures(&self.reader, &self.writer, query).await
    }
    async fn import_appointments(&self, rows: &[ImportedAppointment], audit: &WriteAudit) -> Result<u64> {
        import_appointments(&self.writer, rows, audit).await
    }
    async fn counts(&self) -> Result<TableCounts> {
        counts(&self.reader).await
    }
}
