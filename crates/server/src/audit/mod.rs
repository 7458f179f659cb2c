//! The disclosure audit, as the server writes it.
//!
//! - [`disclosure`]: the disclosure record: who saw what, why, on what basis, and what was decided.
//! - [`lawful_basis`]: the lawful basis recorded for each purpose of use.
//! - [`writer`]: group commit. Handlers hand records to one writer task, which
//!   appends whatever has queued in one transaction; a request is answered
//!   only once its record is durable.
//! - [`checkpoints`]: the signing key (a file or the environment), the task that signs checkpoints
//!   every N records or T seconds (1 s by default) and at shutdown, the latest note for the
//!   `Gatehouse-Audit-Checkpoint` header, and inclusion and consistency proofs.
//! - [`verify`]: offline verification, with witnessed checkpoints and the cadence rule.

pub mod checkpoints;
pub mod disclosure;
pub mod lawful_basis;
pub mod verify;
pub mod writer;

pub use disclosure::Disclosure;
pub use writer::AuditWriter;
