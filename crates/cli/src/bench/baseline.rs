//! The ingest benchmark's baseline: plain batched inserts of the rows the
//! estate's items carry, through the same driver (sqlx) and the same
//! connection settings as Gatehouse, with none of Gatehouse's logic.
//!
//! **One row per item**, built from the parsed item before the clock starts:
//!
//! | item | row, into a table with the columns of Gatehouse's table |
//! |---|---|
//! | `gatehouse.person` | `bench_people`: the `people` columns the item fills, plus `nhs_number` (Gatehouse keeps it in `identity_links`) |
//! | `gatehouse.movement` | `bench_movements`: every `movements` column |
//! | `gatehouse.alert` | `bench_alerts`: every `alerts` column |
//! | `gatehouse.planned-movement` | `bench_planned`: every `planned_movements` column |
//!
//! The tables live beside Gatehouse's own (the baseline database is migrated
//! too), with the same column types, the same secondary indexes, an index
//! where Gatehouse has a key, and the same foreign keys to `establishments`.
//! Keys that items legitimately repeat (a person's second person item, an
//! alert's closing item) are plain indexes rather than unique keys, so every
//! item is a plain `INSERT`, never an upsert; there is no foreign key to
//! `people` (its key is not unique here).
//!
//! Each batch of items is one transaction (`BEGIN IMMEDIATE` on SQLite, as
//! Gatehouse's writes), written by one of two methods:
//! - [`Method::MultiRow`]: one multi-row `INSERT … VALUES (…), (…)` per table
//!   per batch (split only past the engine's bind-parameter limit);
//! - [`Method::SingleRow`]: one prepared single-row `INSERT` per item (sqlx
//!   caches the prepared statement on the connection).
//!
//! The benchmark runs both and compares Gatehouse with the faster.

use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_domain::feed::{FeedCommand, FeedItem};
use gatehouse_domain::{Establishment, PlannedStatus};
use gatehouse_store::EngineKind;
use gatehouse_store::prelude::*;

/// How a batch of baseline rows is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    MultiRow,
    SingleRow,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MultiRow => "multi-row",
            Self::SingleRow => "single-row",
        }
    }
}

pub struct PersonRow {
    pub prison_number: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub family_name_key: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub nhs_number: Option<String>,
    pub details_as_of: DateTime<Utc>,
    pub details_source: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct MovementRow {
    pub prison_number: String,
    pub kind: &'static str,
    pub reason: &'static str,
    pub establishment: String,
    pub destination: Option<String>,
    pub cell: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub event_id: String,
    pub source: String,
    pub recorded_at: DateTime<Utc>,
}

pub struct AlertRow {
    pub prison_number: String,
    pub alert_id: String,
    pub code: String,
    pub active: bool,
    pub active_from: Option<NaiveDate>,
    pub active_to: Option<NaiveDate>,
    pub as_of: DateTime<Utc>,
    pub source: String,
    pub updated_at: DateTime<Utc>,
}

pub struct PlannedRow {
    pub plan_id: String,
    pub prison_number: String,
    pub kind: &'static str,
    pub establishment: String,
    pub destination: Option<String>,
    pub planned_for: DateTime<Utc>,
    pub description: Option<String>,
    pub status: &'static str,
    pub as_of: DateTime<Utc>,
    pub source: String,
    pub updated_at: DateTime<Utc>,
}

/// The one row an item gives the baseline.
pub enum Row {
    Person(PersonRow),
    Movement(MovementRow),
    Alert(AlertRow),
    Planned(PlannedRow),
}

impl Row {
    /// The item's row, or `None` for the kinds the synthetic estate never
    /// produces (cancellations, HMPPS `alerts-updated`, acknowledgements).
    pub fn from_item(item: &FeedItem, source: &str, now: DateTime<Utc>) -> Option<Self> {
        let pn = item.prison_number.as_str().to_owned();
        Some(match &item.command {
            FeedCommand::UpsertPerson {
                details,
                nhs_number,
            } => Row::Person(PersonRow {
                prison_number: pn,
                given_name: details.as_ref().map(|d| d.name.given_name.clone()),
                family_name: details.as_ref().map(|d| d.name.family_name.clone()),
                family_name_key: details.as_ref().map(|d| d.name.family_name.to_uppercase()),
                date_of_birth: details.as_ref().map(|d| d.date_of_birth),
                nhs_number: nhs_number.as_ref().map(|n| n.as_str().to_owned()),
                details_as_of: item.occurred_at,
                details_source: source.to_owned(),
                created_at: now,
                updated_at: now,
            }),
            FeedCommand::RecordMovement(m) => Row::Movement(MovementRow {
                prison_number: pn,
                kind: m.kind.as_str(),
                reason: m.reason.as_str(),
                establishment: m.establishment.as_str().to_owned(),
                destination: m.destination.as_ref().map(|d| d.as_str().to_owned()),
                cell: m.cell.as_ref().map(|c| c.as_str().to_owned()),
                occurred_at: m.occurred_at,
                event_id: item.event_id.as_str().to_owned(),
                source: source.to_owned(),
                recorded_at: now,
            }),
            FeedCommand::UpsertAlert(a) => Row::Alert(AlertRow {
                prison_number: pn,
                alert_id: a.id.clone(),
                code: a.code.as_str().to_owned(),
                active: a.active,
                active_from: a.active_from,
                active_to: a.active_to,
                as_of: item.occurred_at,
                source: source.to_owned(),
                updated_at: now,
            }),
            FeedCommand::UpsertPlanned(p) => Row::Planned(PlannedRow {
                plan_id: p.id.clone(),
                prison_number: pn,
                kind: p.kind.as_str(),
                establishment: p.establishment.as_str().to_owned(),
                destination: p.destination.as_ref().map(|d| d.as_str().to_owned()),
                planned_for: p.planned_for,
                description: p.description.clone(),
                status: PlannedStatus::Planned.as_str(),
                as_of: item.occurred_at,
                source: source.to_owned(),
                updated_at: now,
            }),
            FeedCommand::AlertsChanged { .. }
            | FeedCommand::CancelPlanned { .. }
            | FeedCommand::Acknowledge { .. } => return None,
        })
    }
}

/// A baseline database ready to take rows, on either engine.
pub enum Sink {
    Sqlite(sqlite::Baseline),
    Postgres(postgres::Baseline),
}

impl Sink {
    /// Opens a fresh database as Gatehouse's engine does (same connection
    /// settings), migrates it, adds the establishments and the baseline tables.
    pub async fn open(
        engine: EngineKind,
        url: &str,
        establishments: &[Establishment],
    ) -> anyhow::Result<Self> {
        Ok(match engine {
            EngineKind::Sqlite => {
                let store = gatehouse_store::engine::sqlite::SqliteStore::connect(url).await?;
                store.migrate().await?;
                store.ensure_establishments(establishments).await?;
                Self::Sqlite(sqlite::Baseline::create(store.pool().clone()).await?)
            }
            EngineKind::Postgres => {
                let store = gatehouse_store::engine::postgres::PgStore::connect(url).await?;
                store.migrate().await?;
                store.ensure_establishments(establishments).await?;
                Self::Postgres(postgres::Baseline::create(store.pool().clone()).await?)
            }
        })
    }

    /// Writes one batch of rows in one transaction.
    pub async fn write(&self, rows: &[Row], method: Method) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(b) => b.write(rows, method).await,
            Self::Postgres(b) => b.write(rows, method).await,
        }
    }

    /// How many rows the baseline tables hold (a check that all were written).
    pub async fn rows(&self) -> anyhow::Result<i64> {
        match self {
            Self::Sqlite(b) => b.rows().await,
            Self::Postgres(b) => b.rows().await,
        }
    }

    pub async fn close(self) {
        match self {
            Self::Sqlite(b) => b.close().await,
            Self::Postgres(b) => b.close().await,
        }
    }
}

/// Rows per multi-row statement, within every engine's bind-parameter limit
/// (SQLite 32,766, PostgreSQL 65,535).
fn rows_per_statement(columns: usize) -> usize {
    (30_000 / columns).max(1)
}

pub mod sqlite {
    //! The baseline on SQLite: the same writer pool Gatehouse's SQLite engine opens.
    type Db = sqlx::Sqlite;

    async fn begin(pool: &sqlx::Pool<Db>) -> sqlx::Result<sqlx::Transaction<'static, Db>> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    const DDL: &[&str] = &[
        "CREATE TABLE bench_people (
            prison_number TEXT NOT NULL, given_name TEXT, family_name TEXT, family_name_key TEXT,
            date_of_birth TEXT, nhs_number TEXT, details_as_of TEXT, details_source TEXT,
            custody_status TEXT, establishment TEXT REFERENCES establishments(code), location TEXT,
            cell TEXT, destination TEXT, custody_since TEXT, custody_source TEXT,
            event_seq INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX bench_people_by_number ON bench_people(prison_number)",
        "CREATE INDEX bench_people_by_establishment ON bench_people(establishment, prison_number)",
        "CREATE INDEX bench_people_by_name ON bench_people(family_name_key, date_of_birth)",
        "CREATE TABLE bench_movements (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, prison_number TEXT NOT NULL, kind TEXT NOT NULL,
            reason TEXT NOT NULL, establishment TEXT NOT NULL REFERENCES establishments(code),
            destination TEXT REFERENCES establishments(code), cell TEXT, occurred_at TEXT NOT NULL,
            event_id TEXT NOT NULL, source TEXT NOT NULL, recorded_at TEXT NOT NULL)",
        "CREATE INDEX bench_movements_by_person ON bench_movements(prison_number, occurred_at, seq)",
        "CREATE TABLE bench_alerts (
            prison_number TEXT NOT NULL, alert_id TEXT NOT NULL, code TEXT NOT NULL,
            active INTEGER NOT NULL, active_from TEXT, active_to TEXT, as_of TEXT NOT NULL,
            source TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX bench_alerts_by_id ON bench_alerts(prison_number, alert_id)",
        "CREATE TABLE bench_planned (
            plan_id TEXT NOT NULL, prison_number TEXT NOT NULL, kind TEXT NOT NULL,
            establishment TEXT NOT NULL REFERENCES establishments(code),
            destination TEXT REFERENCES establishments(code), planned_for TEXT NOT NULL,
            description TEXT, status TEXT NOT NULL, fulfilled_by INTEGER, as_of TEXT NOT NULL,
            source TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX bench_planned_by_id ON bench_planned(plan_id)",
        "CREATE INDEX bench_planned_by_person ON bench_planned(prison_number, planned_for)",
    ];

    include!("baseline_engine.rs");
}

pub mod postgres {
    //! The baseline on PostgreSQL: the same pool Gatehouse's PostgreSQL engine opens.
    type Db = sqlx::Postgres;

    async fn begin(pool: &sqlx::Pool<Db>) -> sqlx::Result<sqlx::Transaction<'static, Db>> {
        pool.begin().await
    }

    const DDL: &[&str] = &[
        "CREATE TABLE bench_people (
            prison_number TEXT NOT NULL, given_name TEXT, family_name TEXT, family_name_key TEXT,
            date_of_birth DATE, nhs_number TEXT, details_as_of TIMESTAMPTZ, details_source TEXT,
            custody_status TEXT, establishment TEXT REFERENCES establishments(code), location TEXT,
            cell TEXT, destination TEXT, custody_since TIMESTAMPTZ, custody_source TEXT,
            event_seq BIGINT NOT NULL DEFAULT 0, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)",
        "CREATE INDEX bench_people_by_number ON bench_people(prison_number)",
        "CREATE INDEX bench_people_by_establishment ON bench_people(establishment, prison_number)",
        "CREATE INDEX bench_people_by_name ON bench_people(family_name_key, date_of_birth)",
        "CREATE TABLE bench_movements (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, prison_number TEXT NOT NULL,
            kind TEXT NOT NULL, reason TEXT NOT NULL,
            establishment TEXT NOT NULL REFERENCES establishments(code),
            destination TEXT REFERENCES establishments(code), cell TEXT,
            occurred_at TIMESTAMPTZ NOT NULL, event_id TEXT NOT NULL, source TEXT NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL)",
        "CREATE INDEX bench_movements_by_person ON bench_movements(prison_number, occurred_at, seq)",
        "CREATE TABLE bench_alerts (
            prison_number TEXT NOT NULL, alert_id TEXT NOT NULL, code TEXT NOT NULL,
            active BOOLEAN NOT NULL, active_from DATE, active_to DATE, as_of TIMESTAMPTZ NOT NULL,
            source TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL)",
        "CREATE INDEX bench_alerts_by_id ON bench_alerts(prison_number, alert_id)",
        "CREATE TABLE bench_planned (
            plan_id TEXT NOT NULL, prison_number TEXT NOT NULL, kind TEXT NOT NULL,
            establishment TEXT NOT NULL REFERENCES establishments(code),
            destination TEXT REFERENCES establishments(code), planned_for TIMESTAMPTZ NOT NULL,
            description TEXT, status TEXT NOT NULL, fulfilled_by BIGINT, as_of TIMESTAMPTZ NOT NULL,
            source TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL)",
        "CREATE INDEX bench_planned_by_id ON bench_planned(plan_id)",
        "CREATE INDEX bench_planned_by_person ON bench_planned(prison_number, planned_for)",
    ];

    include!("baseline_engine.rs");
}
