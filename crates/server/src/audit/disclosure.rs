//! A disclosure record: one per request that touches a person, permitted or not.
//!
//! The record's type lives in the store ([`gatehouse_store::Disclosure`]),
//! because a change's record is appended by the store in the change's own
//! transaction; reads, which change nothing, hand theirs to the group-commit
//! [`super::AuditWriter`].

pub use gatehouse_store::Disclosure;
