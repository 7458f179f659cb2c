//! Shared code for Gatehouse's fuzz targets: the invariants each parser must
//! keep (checked on every input, not just "did not panic"), and the
//! structure-aware generator of prison-feed items.
//!
//! The targets in `fuzz_targets/` are thin: each hands its input to a `run_*`
//! function here, which panics (so libFuzzer records a crash) when a parser
//! panics or breaks an invariant.

pub mod cursor;
pub mod feed;
pub mod identifiers;
pub mod structured;

use chrono::{DateTime, TimeZone, Utc};

/// The server clock the feed targets use unless an input says otherwise:
/// the same instant as the domain crate's own feed tests, so the seed items
/// (dated 2026-03-01 morning) are in the past.
pub fn base_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}
