//! The witness's decision: does a newly shown checkpoint extend the one the
//! witness already holds?
//!
//! A witness (the other organisation, or any subscriber) keeps the last
//! checkpoint it accepted. Shown a new one, already checked to be signed by
//! the pinned key, it answers:
//!
//! - smaller size: **rollback** (records were cut off the end);
//! - same size, other root: **fork** (the log was rewritten);
//! - larger size: the log's RFC 6962 consistency proof from the held size
//!   to the new one must verify against both roots, else **fork** (the
//!   held tree is not a prefix of the new one: something in it changed).
//!
//! A log cannot answer a fork with a valid proof, whatever it does to its
//! database, because the held root is fixed and signed; and it cannot sign
//! a different root for a held size without the key. So a rewrite is
//! caught by every witness holding a checkpoint from before it.

use crate::checkpoint::{Checkpoint, format_timestamp};
use crate::merkle::{Hash, verify_consistency};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::fmt;

/// Why a new checkpoint does not extend the held one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breach {
    /// The log is smaller than a checkpoint it signed before.
    Rollback { held: u64, shown: u64 },
    /// The log at a held size now has another root, or cannot prove that
    /// the held tree is a prefix of the new one.
    Fork { held: u64, shown: u64, why: String },
}

impl Breach {
    /// `"rollback"` or `"fork"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Rollback { .. } => "rollback",
            Self::Fork { .. } => "fork",
        }
    }
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rollback { held, shown } => write!(
                f,
                "ROLLBACK: the log now shows {shown} records but signed a checkpoint for {held} before: records {} to \
                 {held} were removed",
                shown + 1
            ),
            Self::Fork { held, shown, why } => write!(
                f,
                "FORK: the log at size {shown} does not extend the checkpoint held for size {held}: {why}"
            ),
        }
    }
}

/// What a witness needs from the log to check a larger checkpoint.
pub enum Proof<'a> {
    /// The consistency proof the log gave, from the held size to the new one.
    Given(&'a [Hash]),
    /// The log did not give one; the reason, in words.
    Refused(String),
}

/// Does `shown` extend `held`? Both must already be signature-checked.
/// `proof` is only looked at when `shown` is larger.
pub fn check_extends(
    held: &Checkpoint,
    shown: &Checkpoint,
    proof: Proof<'_>,
) -> Result<(), Breach> {
    let (h, s) = (held.size, shown.size);
    if s < h {
        return Err(Breach::Rollback { held: h, shown: s });
    }
    if s == h {
        if held.root == shown.root {
            return Ok(());
        }
        return Err(Breach::Fork {
            held: h,
            shown: s,
            why: format!(
                "two signed roots for the same size: {} (signed {}) and {} (signed {})",
                B64.encode(held.root),
                format_timestamp(&held.timestamp),
                B64.encode(shown.root),
                format_timestamp(&shown.timestamp)
            ),
        });
    }
    match proof {
        Proof::Given(p) if verify_consistency(h, s, &held.root, &shown.root, p) => Ok(()),
        Proof::Given(_) => Err(Breach::Fork {
            held: h,
            shown: s,
            why: "the log's consistency proof does not verify: a record at or below the held size was changed".into(),
        }),
        Proof::Refused(why) => Err(Breach::Fork {
            held: h,
            shown: s,
            why: format!("the log gave no consistency proof ({why})"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{consistency_proof, leaf_hash, root};
    use chrono::Utc;

    fn cp(leaves: &[Hash]) -> Checkpoint {
        Checkpoint {
            origin: "o".into(),
            size: leaves.len() as u64,
            root: root(leaves),
            timestamp: Utc::now(),
        }
    }

    #[test]
    fn the_three_answers() {
        let leaves: Vec<Hash> = (0u32..20).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let held = cp(&leaves[..7]);
        let grown = cp(&leaves);
        let proof = consistency_proof(&leaves, 7, 20).unwrap();
        check_extends(&held, &grown, Proof::Given(&proof)).unwrap();
        check_extends(&held, &held, Proof::Refused("n/a".into())).unwrap();

        let cut = cp(&leaves[..5]);
        let b = check_extends(&held, &cut, Proof::Given(&[])).unwrap_err();
        assert_eq!(b, Breach::Rollback { held: 7, shown: 5 });
        assert!(b.to_string().contains("records 6 to 7 were removed"));

        let mut rewritten = leaves.clone();
        rewritten[3] = leaf_hash(b"edited");
        let same_size = cp(&rewritten[..7]);
        assert_eq!(
            check_extends(&held, &same_size, Proof::Given(&[]))
                .unwrap_err()
                .kind(),
            "fork"
        );
        let bigger = cp(&rewritten);
        let forged = consistency_proof(&rewritten, 7, 20).unwrap();
        let b = check_extends(&held, &bigger, Proof::Given(&forged)).unwrap_err();
        assert_eq!(b.kind(), "fork");
        let b = check_extends(&held, &bigger, Proof::Refused("400".into())).unwrap_err();
        assert!(b.to_string().contains("no consistency proof (400)"));
    }
}
