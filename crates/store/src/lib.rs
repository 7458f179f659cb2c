//! Gatehouse storage: one [`Store`] (a trait per area), two engines.
//!
//! - [`engine::sqlite`]: the embedded default. WAL journal, `BEGIN IMMEDIATE`
//!   for every write, one writer connection and a small read pool, a busy timeout.
//! - [`engine::postgres`]: the scale-out store; several Gatehouse processes
//!   may share one database (per-person row locks serialise writers).
//!
//! Both engines run the same query code (`engine/queries/`, compiled once per
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
//! - [`areas`]: the store's operations, one trait per area; [`Store`] is all of them.
//! - [`engine`]: the two engines and their shared query code, one file per area.
//! - [`testing`]: fresh isolated databases on both engines, for tests and benchmarks.

pub mod appointments;
pub mod areas;
mod audit_link;
pub mod disclosure;
pub mod engine;
pub mod error;
pub mod events;
pub mod model;
pub mod page;
pub mod staff;
pub mod testing;

use gatehouse_domain::feed::FeedItem;
use std::sync::Arc;

pub use appointments::*;
pub use areas::*;
pub use disclosure::{Disclosure, WriteAudit};
pub use error::StoreError;
pub use model::*;
pub use page::{Cursor, Page, PageRequest};
pub use staff::*;

/// The store's traits, for `use gatehouse_store::prelude::*;`: calling a
/// method of [`Store`] needs its area's trait in scope.
pub mod prelude {
    pub use crate::areas::{
        AppointmentStore, AuditStore, BreakGlassStore, ConsumerStore, ContinuityStore,
        DeliveryStore, FeedStore, IdentityStore, LifecycleStore, NoticeStore, ReadStore, Store,
    };
    pub use crate::staff::StaffStore;
}

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

/// One feed item as the store receives it: parsed, or refused at parsing.
#[derive(Debug, Clone)]
pub enum FeedEntry {
    Parsed(Box<FeedItem>),
    Refused(gatehouse_domain::feed::ItemError),
}

/// One request's partial batch, to be applied with others' in one
/// transaction (group commit): its items, the consumer that sent them (the
/// rows' source) and its audit record.
#[derive(Debug, Clone)]
pub struct FeedBatch {
    pub entries: Vec<FeedEntry>,
    pub source: String,
    pub audit: WriteAudit,
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
