//! The store's operations, one trait per area. A new operation goes in the
//! trait of its area, and each engine implements it in the file of the same
//! name under `engine/queries/`, so its room is obvious from its name:
//!
//! | area | trait | engine code |
//! |---|---|---|
//! | The store itself: which engine, its schema, whether it answers, and row counts. | [`LifecycleStore`] | `engine/queries/lifecycle.rs` |
//! | Establishments, consumers, their keys, client certificates, agreements and staff identity settings. | [`ConsumerStore`] | `engine/queries/consumers.rs` |
//! | The prison feed: items applied in batches, with ledger, projection, outbox and audit in one transaction. | [`FeedStore`] | `engine/queries/feed.rs` |
//! | Reads of the shared record: people, their movements, alerts, planned movements and identity links. | [`ReadStore`] | `engine/queries/reads.rs` |
//! | The disclosure audit: the hash-chained log, its Merkle frontier and signed checkpoints. | [`AuditStore`] | `engine/queries/audit.rs` |
//! | Break-glass grants and their reviews. | [`BreakGlassStore`] | `engine/queries/break_glass.rs` |
//! | Safety notices and their versions. | [`NoticeStore`] | `engine/queries/notices.rs` |
//! | Event delivery: the outbox, subscriptions, fan-out, claims, finishes and cursors. | [`DeliveryStore`] | `engine/queries/delivery.rs` |
//! | Medication continuity checks raised by movements. | [`ContinuityStore`] | `engine/queries/continuity.rs` |
//! | Identity links written through the identity API. | [`IdentityStore`] | `engine/queries/identity.rs` |
//! | Healthcare appointments, regime closures and attendance figures. | [`AppointmentStore`] | `engine/queries/appointments.rs` |
//! | Staff accounts, sessions and sign-ins. | [`crate::StaffStore`] | `engine/queries/staff.rs` |
//!
//! [`Store`] is every area at once: what the server holds (`Arc<dyn Store>`).
//! Callers bring the area traits they use into scope, most simply with
//! `use gatehouse_store::prelude::*;`.

pub mod appointments;
pub mod audit;
pub mod break_glass;
pub mod consumers;
pub mod continuity;
pub mod delivery;
pub mod feed;
pub mod identity;
pub mod lifecycle;
pub mod notices;
pub mod reads;

pub use appointments::AppointmentStore;
pub use audit::AuditStore;
pub use break_glass::BreakGlassStore;
pub use consumers::ConsumerStore;
pub use continuity::ContinuityStore;
pub use delivery::DeliveryStore;
pub use feed::FeedStore;
pub use identity::IdentityStore;
pub use lifecycle::LifecycleStore;
pub use notices::NoticeStore;
pub use reads::ReadStore;

/// Everything Gatehouse keeps. Both engines implement it with the same behaviour;
/// the store test suite runs against each.
///
/// Every method that changes what is kept takes a [`crate::WriteAudit`]: the
/// disclosure record of the change, appended to the audit log in the same
/// transaction, so no change is ever without its record, nor a record without
/// its change.
pub trait Store:
    LifecycleStore
    + ConsumerStore
    + FeedStore
    + ReadStore
    + AuditStore
    + BreakGlassStore
    + NoticeStore
    + DeliveryStore
    + ContinuityStore
    + IdentityStore
    + AppointmentStore
    + crate::StaffStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: LifecycleStore
        + ConsumerStore
        + FeedStore
        + ReadStore
        + AuditStore
        + BreakGlassStore
        + NoticeStore
        + DeliveryStore
        + ContinuityStore
        + IdentityStore
        + AppointmentStore
        + crate::StaffStore
        + Send
        + Sync
        + 'static
{
}
