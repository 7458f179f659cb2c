//! A hash chain over the log's records, stored beside each record.
//!
//! `chain_0` is 32 zero bytes; `chain_i = SHA-256(0x02 || chain_{i-1} || leaf_hash_i)`.
//!
//! The Merkle root proves the log as a whole against a signed checkpoint;
//! the chain is what lets a verifier name the *first* record whose stored
//! content, leaf hash or chain disagrees, and tell apart the shapes of
//! tampering (see [`crate::verify`]): each stored chain value commits to its
//! predecessor, so a verifier can ask "which row does this row say came
//! before it?".
//!
//! The `0x02` prefix keeps chain values apart from leaf (`0x00`) and node
//! (`0x01`) hashes of the Merkle tree.

use crate::merkle::Hash;

/// Domain-separation prefix of a chain hash.
pub const CHAIN_PREFIX: u8 = 0x02;

/// The chain value before the first record.
pub const CHAIN_START: Hash = [0u8; 32];

/// `SHA-256(0x02 || prev || leaf)`.
#[inline]
pub fn chain_hash(prev: &Hash, leaf: &Hash) -> Hash {
    crate::merkle::hash_prefixed_pair(CHAIN_PREFIX, prev, leaf)
}

/// A running chain: the head and how many records it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chain {
    head: Hash,
    len: u64,
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

impl Chain {
    /// The chain before any record (`head == CHAIN_START`).
    pub fn new() -> Self {
        Self {
            head: CHAIN_START,
            len: 0,
        }
    }

    /// Resumes a chain whose head after `len` records is `head`.
    pub fn resume(head: Hash, len: u64) -> Self {
        Self { head, len }
    }

    /// Extends the chain by one record's leaf hash; returns the new head,
    /// the value to store beside that record.
    #[inline]
    pub fn push(&mut self, leaf: &Hash) -> Hash {
        self.head = chain_hash(&self.head, leaf);
        self.len += 1;
        self.head
    }

    /// The current head (`CHAIN_START` when empty).
    pub fn head(&self) -> Hash {
        self.head
    }

    /// Number of records chained.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True before the first record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;
    use sha2::{Digest, Sha256};

    #[test]
    fn chain_is_prefixed_sha256() {
        let l = leaf_hash(b"record");
        let mut input = vec![0x02];
        input.extend_from_slice(&CHAIN_START);
        input.extend_from_slice(&l);
        let want: Hash = Sha256::digest(&input).into();
        let mut c = Chain::new();
        assert!(c.is_empty());
        assert_eq!(c.push(&l), want);
        assert_eq!(c.head(), want);
        assert_eq!(c.len(), 1);
        assert_eq!(chain_hash(&CHAIN_START, &l), want);
    }

    #[test]
    fn chain_depends_on_order() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut x = Chain::new();
        x.push(&a);
        x.push(&b);
        let mut y = Chain::new();
        y.push(&b);
        y.push(&a);
        assert_ne!(x.head(), y.head());
        let mut z = Chain::resume(chain_hash(&CHAIN_START, &a), 1);
        z.push(&b);
        assert_eq!(z, x);
    }
}
