//! The checkpoint cadence rule: no record waits longer than `allowance`
//! for a signed checkpoint that covers it.
//!
//! A record that no signed checkpoint covers can be changed, or dropped from
//! the end, by anyone who can write the database, and nothing catches it.
//! The server signs a checkpoint at least every cadence (1 s by default)
//! while records arrive, and once more at shutdown, so that window stays
//! short. This rule checks afterwards that it did:
//!
//! - **between checkpoints**: the first record after each checkpoint (the
//!   one that waited longest) must be covered by the next checkpoint
//!   signed no later than `allowance` after the record was stored;
//! - **at the end**: records after the last checkpoint must be younger
//!   than `allowance` when the log is verified.
//!
//! Only the first record of each gap needs checking: records are stored in
//! time order (give or take clock skew between instances, which the
//! allowance absorbs), so it is the oldest. The rule needs every checkpoint
//! the server signed, because a missing one is exactly what it looks for;
//! it does not need the records' contents.
//!
//! Feed it records and checkpoints in seq/size order, interleaved as they
//! come ([`Cadence::checkpoint`] for each checkpoint before the records past
//! its size), then [`Cadence::finish`].

use crate::verify::{Finding, FindingKind};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Checks the cadence rule while records and checkpoints stream past.
#[derive(Debug)]
pub struct Cadence {
    allowance: chrono::Duration,
    /// Checkpoint sizes and signing times not yet reached, ascending.
    pending: std::collections::VecDeque<(u64, DateTime<Utc>)>,
    /// The first record after the last checkpoint reached: seq and when stored.
    oldest_uncovered: Option<(u64, DateTime<Utc>)>,
    /// Size of the last checkpoint reached.
    covered: u64,
}

impl Cadence {
    /// `allowance` is the cadence plus the slack a busy server may need
    /// (the checkpointer's polling and the signing transaction).
    pub fn new(allowance: Duration) -> Self {
        Self {
            allowance: chrono::Duration::from_std(allowance).unwrap_or(chrono::Duration::MAX),
            pending: Default::default(),
            oldest_uncovered: None,
            covered: 0,
        }
    }

    /// A checkpoint the log signed (signature already checked), in size
    /// order. Give it before the records after its size.
    pub fn checkpoint(&mut self, size: u64, signed_at: DateTime<Utc>) {
        self.pending.push_back((size, signed_at));
    }

    /// The next record, in seq order, with the time it was stored.
    pub fn record(&mut self, seq: u64, stored_at: DateTime<Utc>) -> Result<(), Finding> {
        self.reach(seq.saturating_sub(1))?;
        if self.oldest_uncovered.is_none() && seq > self.covered {
            self.oldest_uncovered = Some((seq, stored_at));
        }
        self.reach(seq)
    }

    /// Ends the check at `now` for a log of `size` records.
    pub fn finish(mut self, size: u64, now: DateTime<Utc>) -> Result<(), Finding> {
        self.reach(size)?;
        if let Some((first, at)) = self.oldest_uncovered {
            let waited = now - at;
            if waited > self.allowance {
                return Err(Finding {
                    kind: FindingKind::CheckpointGap,
                    seq: first as i64,
                    detail: format!(
                        "records {first} to {size} are covered by no signed checkpoint, and record {first} was stored \
                         at {} ({} ago), longer ago than the cadence allows ({}): a checkpoint was due by {}",
                        at.to_rfc3339(),
                        human(waited),
                        human(self.allowance),
                        (at + self.allowance).to_rfc3339()
                    ),
                });
            }
        }
        Ok(())
    }

    /// Passes every checkpoint with size <= `size`.
    fn reach(&mut self, size: u64) -> Result<(), Finding> {
        while let Some(&(cp_size, signed_at)) = self.pending.front() {
            if cp_size > size {
                break;
            }
            self.pending.pop_front();
            if cp_size <= self.covered {
                continue; // a repeat, or one for an empty log
            }
            if let Some((first, at)) = self.oldest_uncovered.take() {
                let waited = signed_at - at;
                if waited > self.allowance {
                    return Err(Finding {
                        kind: FindingKind::CheckpointGap,
                        seq: first as i64,
                        detail: format!(
                            "records {first} to {cp_size} waited {} for a signed checkpoint (record {first} stored at \
                             {}, the checkpoint for size {cp_size} signed at {}), longer than the cadence allows ({}): \
                             a checkpoint was due by {}",
                            human(waited),
                            at.to_rfc3339(),
                            signed_at.to_rfc3339(),
                            human(self.allowance),
                            (at + self.allowance).to_rfc3339()
                        ),
                    });
                }
            }
            self.covered = cp_size;
        }
        Ok(())
    }
}

fn human(d: chrono::Duration) -> String {
    let ms = d.num_milliseconds();
    if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} s", ms / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn run(records: &[(u64, i64)], cps: &[(u64, i64)], now: i64) -> Result<(), Finding> {
        let mut c = Cadence::new(Duration::from_secs(3));
        let mut cps = cps.iter().peekable();
        let mut size = 0;
        for &(seq, at) in records {
            while let Some(&&(s, when)) = cps.peek() {
                if s >= seq {
                    break;
                }
                c.checkpoint(s, t(when));
                cps.next();
            }
            // Checkpoints at this record's size are given before it, too.
            while let Some(&&(s, when)) = cps.peek() {
                if s != seq {
                    break;
                }
                c.checkpoint(s, t(when));
                cps.next();
            }
            c.record(seq, t(at))?;
            size = seq;
        }
        for &(s, when) in cps {
            c.checkpoint(s, t(when));
        }
        c.finish(size, t(now))
    }

    #[test]
    fn checkpoints_in_time_pass() {
        let records = [(1, 0), (2, 0), (3, 1), (4, 5), (5, 6)];
        run(&records, &[(3, 2), (5, 7)], 100).unwrap();
        // A young unanchored tail is fine.
        run(&records, &[(3, 2)], 7).unwrap();
    }

    #[test]
    fn a_late_checkpoint_names_the_gap() {
        let records = [(1, 0), (2, 0), (3, 10), (4, 11)];
        let f = run(&records, &[(2, 1), (4, 20)], 30).unwrap_err();
        assert_eq!((f.kind, f.seq), (FindingKind::CheckpointGap, 3));
        assert!(
            f.detail.contains("records 3 to 4 waited 10 s"),
            "{}",
            f.detail
        );
    }

    #[test]
    fn a_missing_checkpoint_names_the_gap() {
        // Records 3 and 4 were stored 10 s apart and one checkpoint covers both: one was due between.
        let records = [(1, 0), (2, 0), (3, 10), (4, 20)];
        let f = run(&records, &[(2, 1), (4, 21)], 30).unwrap_err();
        assert_eq!((f.kind, f.seq), (FindingKind::CheckpointGap, 3));
    }

    #[test]
    fn an_old_unanchored_tail_names_the_gap() {
        let records = [(1, 0), (2, 0), (3, 10)];
        let f = run(&records, &[(2, 1)], 60).unwrap_err();
        assert_eq!((f.kind, f.seq), (FindingKind::CheckpointGap, 3));
        assert!(
            f.detail
                .contains("records 3 to 3 are covered by no signed checkpoint"),
            "{}",
            f.detail
        );
        // No checkpoint at all.
        let f = run(&records, &[], 60).unwrap_err();
        assert_eq!(f.seq, 1);
    }
}
