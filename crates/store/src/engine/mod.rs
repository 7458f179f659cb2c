//! The two engines. Their query code is one module tree, `queries/`, that
//! each engine file declares (`#[path = "queries/mod.rs"] mod queries;`), so
//! it is compiled once for each engine with `Db` bound to that engine's
//! database type and the behaviour cannot drift apart; only connection
//! set-up, transaction start, row locking and the schema differ. What an
//! engine provides to its queries is listed in one place: the `engine`
//! module at the top of `queries/mod.rs`.

pub mod postgres;
pub mod sqlite;
