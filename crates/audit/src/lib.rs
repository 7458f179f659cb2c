//! Gatehouse's tamper-evident disclosure log: the cryptography and the
//! offline verification, with no I/O and no database (the store and the
//! server use it).
//!
//! | module | what |
//! |---|---|
//! | [`merkle`] | RFC 6962 leaf/node hashing, [`Frontier`] (compact range: append in O(log n) memory, root at any size), inclusion and consistency proofs and their checks |
//! | [`chain`] | the hash chain stored beside each record: `chain_i = SHA-256(0x02 \|\| chain_{i-1} \|\| leaf_hash_i)`, `chain_0` = 32 zero bytes |
//! | [`checkpoint`] | signed checkpoints: C2SP tlog-checkpoint body (origin, size, base64 root, RFC 3339 timestamp) in a C2SP signed-note, Ed25519; [`Signer`], [`PublicKey`], parser for outside input |
//! | [`log`] | the writer's side: [`Appender`] gives the leaf hash and chain value to store with each new record and the checkpoint to sign |
//! | [`cadence`] | the checkpoint cadence rule: no record waits longer than the allowance for a signed checkpoint; names the gap |
//! | [`witness`] | a witness's decision: does a new checkpoint extend the held one (else rollback or fork) |
//! | [`verify`] | [`Verifier`]: streams stored records and checkpoints, recomputes everything, and names the first altered, deleted, inserted or reordered record, or the checkpoint that no longer matches |
//!
//! The record's bytes (`content`) are whatever canonical encoding the store
//! chooses; they are hashed exactly as stored. Seqs start at 1; Merkle leaf
//! indexes start at 0 (leaf `seq - 1`).

pub mod cadence;
pub mod chain;
pub mod checkpoint;
pub mod log;
pub mod merkle;
pub mod verify;
pub mod witness;

pub use chain::{CHAIN_START, Chain, chain_hash};
pub use checkpoint::{Checkpoint, CheckpointError, PublicKey, SignedCheckpoint, Signer};
pub use log::{Appended, Appender};
pub use merkle::{
    EMPTY_ROOT, Frontier, Hash, ProofError, consistency_proof, inclusion_proof, leaf_hash,
    node_hash, verify_consistency, verify_inclusion,
};
pub use verify::{Finding, FindingKind, Report, StoredRecord, Verifier};
