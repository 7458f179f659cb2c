//! The two engines. Their query code is one file, `shared.rs`, compiled once
//! for each engine with `Db` bound to that engine's database type, so the
//! behaviour cannot drift apart; only connection set-up, transaction start,
//! row locking and the schema differ.

pub mod postgres;
pub mod sqlite;
