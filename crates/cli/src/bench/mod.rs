//! `gatehouse bench …`: the benchmarks of DESIGN.md §6. Each measures
//! Gatehouse against a baseline in the same run, on the same machine, in the
//! same process, and prints the figures; none asserts a target.
//!
//! - [`ingest`]: bulk load of the synthetic estate through the real feed path
//!   (parse + `Store::apply_feed`) against plain batched inserts of the same
//!   rows through the same driver (sqlx), on SQLite and PostgreSQL.
//! - [`baseline`]: the baseline's rows, tables and insert methods.
//! - [`delivery`]: prison event in → webhook received, against the same POST sent straight to it.
//! - [`reads`]: read throughput and latency of a person read with auth,
//!   policy and audit on, audit off, and a bare axum JSON endpoint of the
//!   same binary, under a load generator in the same process.
//!
//! - [`attendance`]: the attendance dashboard's figures for the national
//!   synthetic year (≥ 5 million appointments) against the plain SQL
//!   aggregate over the same rows, on SQLite and PostgreSQL.
//!
//! - [`checkpoints`]: the cost of signing an audit checkpoint every second
//!   against a 60 s cadence under the same write load.
//!
//! - [`svix`]: the same events at the same rates through the open-source
//!   Svix server and through Gatehouse, one after the other (`bench/svix.sh`).
//!
//! How to run them, and the figures measured so far: `bench/README.md`.

pub mod attendance;
pub mod baseline;
pub mod checkpoints;
pub mod common;
pub mod delivery;
pub mod ingest;
pub mod reads;
pub mod svix;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Bulk load of the synthetic estate: Gatehouse's feed path against
    /// plain batched inserts of the same rows (target ≥ 50%, DESIGN.md §6).
    Ingest(ingest::IngestArgs),
    /// Read throughput: a person read with auth, policy and audit on, with
    /// audit off, and a bare endpoint (target ≥ 50% of bare's requests/s,
    /// p99 ≤ 10 ms at half that load; DESIGN.md §6).
    Reads(reads::ReadsArgs),
    /// Prison event in → webhook received on loopback: p50 and p99 at a fixed
    /// rate against a direct POST to the same receiver, and the throughput
    /// ceiling (target p99 ≤ 50 ms at 1,000 events/s; DESIGN.md §6).
    Delivery(delivery::DeliveryArgs),
    /// The attendance dashboard's figures for the national synthetic year
    /// (≥ 5 million appointments) against the plain SQL aggregate over the
    /// same rows (target ≤ 2 s on either engine).
    Attendance(attendance::AttendanceArgs),
    /// What signing an audit checkpoint every second costs (CPU, rows,
    /// bytes), against the same write load with a 60 s cadence.
    Checkpoints(checkpoints::CheckpointsArgs),
    /// The same events at the same rates to the same receiver through a
    /// running Svix server and through Gatehouse on SQLite, one after the
    /// other (`bench/svix.sh` builds and starts Svix).
    Svix(svix::SvixArgs),
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => ingest::run(args).await,
        BenchCommand::Reads(args) => reads::run(args).await,
        BenchCommand::Delivery(args) => delivery::run(args).await,
        BenchCommand::Attendance(args) => attendance::run(args).await,
        BenchCommand::Checkpoints(args) => checkpoints::run(args).await,
        BenchCommand::Svix(args) => svix::run(args).await,
    }
}
