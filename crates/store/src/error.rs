//! Store errors: what broke (never shown to API callers) apart from what the
//! caller got wrong (shown, with the field).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The database failed or is unreachable. Internal: logged, never shown.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A configuration problem (bad URL, bad option).
    #[error("configuration: {0}")]
    Config(String),
    /// The caller asked for something that conflicts with what is stored (e.g. a duplicate name).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller changed something from a version that is no longer current (optimistic concurrency).
    #[error("stale: {0}")]
    Stale(String),
    /// The caller named something that does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller may not do this to this record (e.g. change an appointment it does not own).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The input breaks a rule that depends on what is stored (e.g. recording
    /// attendance before the appointment's day).
    #[error("invalid: {0}")]
    Invalid(gatehouse_domain::ParseError),
    /// A pagination cursor that this store did not give out.
    #[error("the cursor is not valid")]
    BadCursor,
    /// Stored data could not be read back into domain types: a bug or tampering.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}
