//! The query code of one engine. `engine/sqlite.rs` and `engine/postgres.rs`
//! each declare this module tree, so it is compiled once per engine with
//! [`engine`] bound to that engine's provisions; the behaviour cannot drift
//! apart, and only connection set-up, transaction start, row locking and the
//! schema differ. SQL here uses `$n` placeholders, which both engines accept:
//! keep engine-specific SQL in the engine files, named in [`engine`].
//!
//! One file per area of [`crate::Store`]: the functions that run the area's
//! statements, and at the end the area trait's implementation for the
//! engine's `EngineStore`, delegating to them (writes on the writer pool,
//! reads on the reader pool).

/// What each engine file provides to its query code: the one list of
/// engine-specific items, imported explicitly by the files that use them.
mod engine {
    pub(super) use super::super::{
        CLAIM_LOCK, Db, ENGINE, EngineStore, LOCK_AUDIT_HEAD, LOCK_CURSOR, LOCK_PEOPLE,
        LOCK_PERSON, MIGRATOR, SNAPSHOT, begin_write, now, outbox_wakeups,
    };

    /// A write transaction on this engine.
    pub(super) type Tx<'c> = sqlx::Transaction<'c, Db>;
    /// A row as this engine's driver returns it.
    pub(super) type DbRow = <Db as sqlx::Database>::Row;
}

mod appointments;
mod audit;
mod break_glass;
mod consumers;
mod continuity;
mod decode;
mod delivery;
mod feed;
mod feed_set;
mod identity;
mod lifecycle;
mod notices;
mod reads;
mod staff;
