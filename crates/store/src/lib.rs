//! Gatehouse storage: one [`Store`] trait, two engines.
//!
//! - [`engine::sqlite`]: the embedded default. WAL journal, `BEGIN IMMEDIATE`
//!   for every write, one writer connection and a small read pool, a busy timeout.
//! - [`engine::postgres`]: the scale-out store; several Gatehouse processes
//!   may share one database (per-person row locks serialise writers).
//!
//! Both engines run the same query code (`engine/shared.rs`, compiled once per
//! engine) against per-engine schemas (`migrations/sqlite`, `migrations/postgres`).
//! A state change, its feed-ledger entry and its outbox events are written in
//! one transaction, so nothing is ever half-written.
//!
//! Module map:
//! - [`model`]: the records the store returns and the inputs it takes.
//! - [`error`]: [`StoreError`], split into what the caller got wrong and what broke.
//! - [`page`]: opaque cursors for keyset pagination.
//! - [`appointments`]: appointment records, closures and attendance tallies.
//! - [`disclosure`]: the disclosure record, and [`WriteAudit`], the record every
//!   write method appends in the same transaction as its change.
//! - [`events`]: the catalogue of outbox event types raised by changes.
//! - [`engine`]: the two engines and their shared query code.
//! - [`testing`]: fresh isolated databases on both engines, for tests and benchmarks.

pub mod appointments;
mod audit_link;
pub mod disclosure;
pub mod engine;
pub mod error;
pub mod events;
pub mod model;
pub mod page;
pub mod staff;
pub mod testing;

use async_trait::async_trait;
use gatehouse_domain::feed::FeedItem;
use gatehouse_domain::{Establishment, EstablishmentCode, NhsNumber, PrisonNumber};
use std::sync::Arc;

pub use appointments::*;
pub use disclosure::{Disclosure, WriteAudit};
pub use error::StoreError;
pub use model::*;
pub use page::{Cursor, Page, PageRequest};
pub use staff::*;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Sqlite,
    Postgres,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Everything Gatehouse keeps. Both engines implement it with the same behaviour;
/// the store test suite runs against each.
///
/// Every method that changes what is kept takes a [`WriteAudit`]: the
/// disclosure record of the change, appended to the audit log in the same
/// transaction, so no change is ever without its record, nor a record without
/// its change.
#[async_trait]
pub trait Store: StaffStore + Send + Sync + 'static {
    fn engine(&self) -> EngineKind;

    /// Applies the engine's versioned migrations (idempotent).
    async fn migrate(&self) -> Result<()>;

    /// A cheap round trip, for `/health/ready`.
    async fn ping(&self) -> Result<()>;

    /// Adds establishments that are not yet known; existing ones keep their names.
    async fn ensure_establishments(&self, list: &[Establishment]) -> Result<()>;
    async fn list_establishments(&self) -> Result<Vec<Establishment>>;

    // Consumers and their keys.
    async fn create_consumer(
        &self,
        new: &NewConsumer,
        key: &StoredKey,
        audit: &WriteAudit,
    ) -> Result<Consumer>;
    async fn add_key(&self, consumer: &str, key: &StoredKey, audit: &WriteAudit) -> Result<()>;
    async fn list_consumers(&self) -> Result<Vec<Consumer>>;
    /// Revokes a consumer and all its keys; false when there is no such active consumer.
    async fn revoke_consumer(&self, name: &str, audit: &WriteAudit) -> Result<bool>;
    /// The consumer holding a live key with this prefix and hash, if any.
    async fn consumer_by_key(&self, prefix: &str, key_hash: &str) -> Result<KeyLookup>;
    /// Binds an active consumer to its TLS client certificate (or, with an
    /// empty binding, unbinds it); false when there is no such active consumer.
    /// A certificate another active consumer holds is a conflict.
    async fn set_client_cert(
        &self,
        consumer: &str,
        binding: &ClientCertBinding,
        audit: &WriteAudit,
    ) -> Result<bool>;
    /// The consumers, active or revoked, bound to a certificate with this
    /// fingerprint or this subject.
    async fn consumers_by_client_cert(
        &self,
        sha256: &str,
        subject: Option<&str>,
    ) -> Result<Vec<String>>;

    /// Applies prison-feed items. In [`BatchMode::Partial`] each item is its own
    /// transaction and bad items are reported beside the stored ones; in
    /// [`BatchMode::Atomic`] all items share one transaction and any bad item
    /// leaves the store unchanged.
    async fn apply_feed(
        &self,
        items: Vec<FeedEntry>,
        mode: BatchMode,
        source: &str,
        audit: &WriteAudit,
    ) -> Result<Vec<ItemOutcome>>;

    // Reads.
    async fn person(&self, prison_number: &PrisonNumber) -> Result<Option<PersonRecord>>;
    async fn people_by_nhs_number(&self, nhs: &NhsNumber) -> Result<Vec<PersonRecord>>;
    async fn people_by_name(
        &self,
        family_name: &str,
        given_name: Option<&str>,
        date_of_birth: chrono::NaiveDate,
    ) -> Result<Vec<PersonRecord>>;
    async fn people_at(
        &self,
        establishment: &EstablishmentCode,
        page: &PageRequest,
    ) -> Result<Page<PersonRecord>>;
    async fn movements(
        &self,
        prison_number: &PrisonNumber,
        page: &PageRequest,
    ) -> Result<Page<MovementRecord>>;
    async fn alerts(
        &self,
        prison_number: &PrisonNumber,
        active_only: bool,
        page: &PageRequest,
    ) -> Result<Page<AlertRecord>>;
    async fn planned_movements(
        &self,
        prison_number: &PrisonNumber,
        include_closed: bool,
    ) -> Result<Vec<PlannedRecord>>;
    async fn identity_links(&self, prison_number: &PrisonNumber)
    -> Result<Vec<IdentityLinkRecord>>;
    async fn outbox_after(&self, after_seq: i64, limit: i64) -> Result<Vec<OutboxEvent>>;

    /// Replaces a consumer's agreement (already validated by the caller); false if there is no active consumer of that name.
    async fn set_agreement(
        &self,
        consumer: &str,
        agreement: &str,
        text: &str,
        audit: &WriteAudit,
    ) -> Result<bool>;
    /// Sets (or with `None` clears) how a consumer's staff assertions are
    /// verified; false if there is no active consumer of that name.
    async fn set_staff_identity(
        &self,
        consumer: &str,
        identity: Option<&StaffIdentity>,
        audit: &WriteAudit,
    ) -> Result<bool>;

    // The disclosure audit.
    /// Appends records in one transaction, extending the hash chain and Merkle frontier; returns their sequence numbers.
    async fn append_audit(&self, records: &[NewDisclosure]) -> Result<Vec<i64>>;
    async fn audit_head(&self) -> Result<AuditHead>;
    /// Rows with `seq > after`, in sequence order (storage order as read).
    async fn audit_rows(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>>;
    async fn audit_row(&self, seq: i64) -> Result<Option<AuditRow>>;
    /// A person's disclosure records, newest first.
    async fn audit_for_person(
        &self,
        prison_number: &PrisonNumber,
        page: &PageRequest,
    ) -> Result<Page<AuditRow>>;
    /// The leaf hashes (hex) of records 1..=size, in order.
    async fn audit_leaf_hashes(&self, size: i64) -> Result<Vec<String>>;
    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<()>;
    async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>>;
    /// The checkpoint with the largest size, if any (the checkpointer asks this every round: one row, not all).
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;
    /// The checkpoint signed for exactly this size, if any.
    async fn checkpoint_at(&self, size: i64) -> Result<Option<StoredCheckpoint>>;
    /// Checkpoints with `after < size <= upto`, by size (verification streams them beside the records).
    async fn checkpoints_between(&self, after: i64, upto: i64) -> Result<Vec<StoredCheckpoint>>;

    // Break-glass.
    /// Joins the open grant for this consumer, staff user and person, or opens a new one lasting `window`.
    async fn break_glass_use(
        &self,
        consumer: &str,
        staff_user: &str,
        prison_number: &str,
        reason: &str,
        window: chrono::Duration,
        audit: &WriteAudit,
    ) -> Result<BreakGlassRecord>;
    async fn break_glass_list(&self, status: Option<&str>) -> Result<Vec<BreakGlassRecord>>;
    async fn break_glass_review(
        &self,
        id: &str,
        reviewer: &str,
        outcome: &str,
        note: Option<&str>,
        audit: &WriteAudit,
    ) -> Result<BreakGlassRecord>;

    // Safety notices.
    /// Publishes version 1 of a notice about a person, with its outbox event.
    async fn publish_notice(
        &self,
        prison_number: &PrisonNumber,
        version: &NewNoticeVersion,
        audit: &WriteAudit,
    ) -> Result<NoticeRecord>;
    /// Stores a new version. `expected` is the version the writer saw: another answers [`StoreError::Stale`].
    async fn revise_notice(
        &self,
        id: &str,
        expected: Option<i64>,
        version: &NewNoticeVersion,
        audit: &WriteAudit,
    ) -> Result<NoticeRecord>;
    /// Withdraws a notice: a new version with status `withdrawn`; history is kept.
    async fn withdraw_notice(
        &self,
        id: &str,
        expected: Option<i64>,
        withdrawal: &NoticeWithdrawal,
        audit: &WriteAudit,
    ) -> Result<NoticeRecord>;
    async fn notice(&self, id: &str) -> Result<Option<NoticeRecord>>;
    /// A person's notices, oldest first.
    async fn notices_for(
        &self,
        prison_number: &PrisonNumber,
        include_withdrawn: bool,
    ) -> Result<Vec<NoticeRecord>>;
    /// Every version of a notice, oldest first.
    async fn notice_versions(&self, id: &str) -> Result<Vec<NoticeVersionRecord>>;
    /// Active notices about people at an establishment whose review date is before `before`.
    async fn notices_due_for_review(
        &self,
        establishment: &EstablishmentCode,
        before: chrono::NaiveDate,
    ) -> Result<Vec<NoticeRecord>>;

    // Event delivery.
    async fn create_subscription(
        &self,
        new: &NewSubscription,
        audit: &WriteAudit,
    ) -> Result<SubscriptionRecord>;
    /// A subscription that is not deleted.
    async fn subscription(&self, id: &str) -> Result<Option<SubscriptionRecord>>;
    /// Subscriptions that are not deleted, of one consumer or of all.
    async fn subscriptions(&self, consumer: Option<&str>) -> Result<Vec<SubscriptionRecord>>;
    /// Enables, disables or deletes; re-enabling makes waiting deliveries due now.
    async fn set_subscription_status(
        &self,
        id: &str,
        status: SubscriptionStatus,
        reason: Option<&str>,
        audit: &WriteAudit,
    ) -> Result<bool>;
    async fn set_subscription_secrets(
        &self,
        id: &str,
        secrets: &[WebhookSecret],
        audit: &WriteAudit,
    ) -> Result<bool>;
    /// Turns up to `limit` outbox events past the fan-out cursor into deliveries,
    /// one per subscription `plan` chooses; returns the events consumed.
    /// The deliveries are due at `now` (the delivery clock's).
    async fn fan_out(
        &self,
        limit: i64,
        now: chrono::DateTime<chrono::Utc>,
        plan: DeliveryPlan<'_>,
    ) -> Result<usize>;
    /// Makes the events from `from_seq` (up to the fan-out cursor) due again for one subscription.
    async fn replay(
        &self,
        subscription: &str,
        from_seq: i64,
        now: chrono::DateTime<chrono::Utc>,
        plan: DeliveryPlan<'_>,
        audit: &WriteAudit,
    ) -> Result<usize>;
    async fn outbox_event(&self, id: &str) -> Result<Option<OutboxEvent>>;
    /// The first outbox sequence recorded at or after `at`.
    async fn outbox_seq_at(&self, at: chrono::DateTime<chrono::Utc>) -> Result<i64>;
    /// Leases due deliveries to `owner`: per person and subscription, the
    /// oldest pending, or a later one once every earlier pending delivery has
    /// been tried and was fanned out before `hold_from` (the bounded hold).
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
        hold_from: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>>;
    async fn finish_delivery(
        &self,
        subscription: &str,
        seq: i64,
        at: chrono::DateTime<chrono::Utc>,
        result: &AttemptResult,
    ) -> Result<()>;
    async fn deliveries(
        &self,
        subscription: &str,
        status: Option<DeliveryStatus>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>>;
    /// The outbox is final up to here: no transaction can still add an earlier event.
    /// Readers of the outbox (pull feed, NATS) read no further.
    async fn outbox_safe_seq(&self) -> Result<i64>;
    /// A named cursor over the outbox (e.g. the NATS publisher's).
    async fn cursor(&self, name: &str) -> Result<i64>;
    async fn set_cursor(&self, name: &str, seq: i64) -> Result<()>;

    // Medication continuity.
    async fn continuity_checks(
        &self,
        prison_number: &PrisonNumber,
        open_only: bool,
    ) -> Result<Vec<ContinuityCheck>>;
    async fn continuity_check(&self, id: &str) -> Result<Option<ContinuityCheck>>;
    /// Confirms an open check and raises its event; a closed one is a conflict.
    async fn confirm_continuity(
        &self,
        id: &str,
        confirmation: &ContinuityConfirmation,
        audit: &WriteAudit,
    ) -> Result<ContinuityCheck>;

    /// Links (or re-links with better provenance) a person's NHS number; conflicts are refused, never overwritten.
    async fn link_identity(
        &self,
        prison_number: &PrisonNumber,
        nhs: &NhsNumber,
        method: LinkMethod,
        verification: &str,
        linked_by: &str,
        audit: &WriteAudit,
    ) -> Result<IdentityLinkRecord>;

    // Healthcare appointments.
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

    /// Row counts of every table that holds person data: tests use it to
    /// prove that refused input left the store unchanged.
    async fn counts(&self) -> Result<TableCounts>;
}

/// One feed item as the store receives it: parsed, or refused at parsing.
#[derive(Debug, Clone)]
pub enum FeedEntry {
    Parsed(Box<FeedItem>),
    Refused(gatehouse_domain::feed::ItemError),
}

/// Opens a store from a URL: `sqlite://path` (or `sqlite::memory:`) or `postgres://…`.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(engine::sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(engine::postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::Config(format!(
            "unsupported database URL scheme (expected sqlite:// or postgres://): {}",
            url.split(':').next().unwrap_or_default()
        )))
    }
}
