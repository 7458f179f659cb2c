//! Event delivery: the outbox, subscriptions, fan-out, claims, finishes and cursors.
//!
//! Implemented for each engine in `engine/queries/delivery.rs`.

use crate::{
    AttemptResult, ClaimedDelivery, DeliveryPlan, DeliveryRecord, DeliveryStatus, FinishedAttempt,
    NewSubscription, OutboxEvent, Result, SubscriptionRecord, SubscriptionStatus, WebhookSecret,
    WriteAudit,
};
use async_trait::async_trait;

/// Event delivery: the outbox, subscriptions, fan-out, claims, finishes and cursors.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    async fn outbox_after(&self, after_seq: i64, limit: i64) -> Result<Vec<OutboxEvent>>;

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

    /// Records many attempts' outcomes in one transaction: the successes in
    /// one statement, each subscription's health once.
    async fn finish_deliveries(&self, done: &[FinishedAttempt]) -> Result<()>;

    /// A wake-up whenever any instance commits outbox events (PostgreSQL
    /// `LISTEN/NOTIFY`), so a scaled-out dispatcher need not wait for its
    /// poll; `None` where one process holds the database (SQLite) and wakes
    /// its own dispatcher.
    async fn outbox_wakeups(&self) -> Result<Option<tokio::sync::mpsc::Receiver<()>>>;

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
}
