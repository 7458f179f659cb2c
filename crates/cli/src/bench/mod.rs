//! `gatehouse bench …`: the benchmarks of DESIGN.md §6. Each measures
//! Gatehouse against a baseline in the same run, on the same machine, in the
//! same process, and prints the figures; none asserts a target.
//!
//! - [`ingest`]: bulk load of the synthetic estate through the real feed path
//!   (parse + `Store::apply_feed`) against plain batched inserts of the same
//!   rows through the same driver (sqlx), on SQLite and PostgreSQL.
//! - [`baseline`]: the baseline's rows, tables and insert methods.
//!
//! How to run them, and the figures measured so far: `bench/README.md`.

pub mod baseline;
pub mod ingest;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Bulk load of the synthetic estate: Gatehouse's feed path against
    /// plain batched inserts of the same rows (target ≥ 50%, DESIGN.md §6).
    Ingest(ingest::IngestArgs),
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => ingest::run(args).await,
    }
}
