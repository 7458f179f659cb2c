//! The writer's side: what to store beside each new record, and the
//! checkpoint to sign.

use crate::chain::Chain;
use crate::checkpoint::Checkpoint;
use crate::merkle::{Frontier, Hash, leaf_hash};
use chrono::{DateTime, Utc};

/// The values to store beside a newly appended record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// 1 for the first record.
    pub seq: i64,
    pub leaf_hash: Hash,
    pub chain: Hash,
}

/// Appends records to the log in memory: the Merkle frontier and the chain
/// head. A store keeps one, appends each record's canonical bytes in seq
/// order, writes the returned values with the record, and signs
/// [`Appender::checkpoint`] every N records or T seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Appender {
    frontier: Frontier,
    chain: Chain,
}

impl Appender {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes from a persisted frontier and the chain value stored with
    /// the last record. Returns `None` if the frontier is malformed.
    pub fn resume(size: u64, frontier_nodes: Vec<Hash>, chain_head: Hash) -> Option<Self> {
        let frontier = Frontier::from_parts(size, frontier_nodes)?;
        Some(Self {
            frontier,
            chain: Chain::resume(chain_head, size),
        })
    }

    /// Appends a record's canonical bytes.
    pub fn append(&mut self, content: &[u8]) -> Appended {
        let leaf = leaf_hash(content);
        let chain = self.chain.push(&leaf);
        self.frontier.push(leaf);
        Appended {
            seq: self.frontier.size() as i64,
            leaf_hash: leaf,
            chain,
        }
    }

    /// Number of records.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The Merkle root of all records so far.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The chain value of the last record (`CHAIN_START` when empty).
    pub fn chain_head(&self) -> Hash {
        self.chain.head()
    }

    /// The frontier, to persist with [`Frontier::nodes`].
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// The checkpoint for the current size, to sign.
    pub fn checkpoint(&self, origin: &str, timestamp: DateTime<Utc>) -> Checkpoint {
        Checkpoint {
            origin: origin.to_owned(),
            size: self.size(),
            root: self.root(),
            timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{CHAIN_START, chain_hash};

    #[test]
    fn append_and_resume() {
        let mut a = Appender::new();
        assert_eq!(a.chain_head(), CHAIN_START);
        let r1 = a.append(b"one");
        assert_eq!(r1.seq, 1);
        assert_eq!(r1.leaf_hash, leaf_hash(b"one"));
        assert_eq!(r1.chain, chain_hash(&CHAIN_START, &r1.leaf_hash));
        a.append(b"two");
        a.append(b"three");
        let mut b =
            Appender::resume(a.size(), a.frontier().nodes().to_vec(), a.chain_head()).unwrap();
        let x = a.append(b"four");
        let y = b.append(b"four");
        assert_eq!(x, y);
        assert_eq!(a, b);
        assert_eq!(
            a.checkpoint("o", Utc::now()).root,
            crate::merkle::root(&[
                leaf_hash(b"one"),
                leaf_hash(b"two"),
                leaf_hash(b"three"),
                leaf_hash(b"four")
            ])
        );
        assert!(Appender::resume(3, vec![], CHAIN_START).is_none());
    }
}
