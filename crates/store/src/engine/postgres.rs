//! The PostgreSQL engine: the scale-out store. Several Gatehouse processes may
//! share one database; writes to one person are serialised by a row lock on
//! that person, taken first in every feed transaction.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

type Db = sqlx::Postgres;

const ENGINE: crate::EngineKind = crate::EngineKind::Postgres;
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const LOCK_PERSON: &str = "SELECT * FROM people WHERE prison_number = $1 FOR UPDATE";
const LOCK_AUDIT_HEAD: &str = "SELECT * FROM audit_head WHERE id = 1 FOR UPDATE";
/// Transactions commit out of sequence order: the snapshot says which may still commit.
const SNAPSHOT: Option<&str> = Some(
    "SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint AS xmin, \
     (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint AS xmax",
);
const LOCK_CURSOR: &str = "SELECT * FROM delivery_cursors WHERE name = $1 FOR UPDATE";
/// How a delivery claim locks its rows: on PostgreSQL, rows another instance holds are skipped.
const CLAIM_LOCK: &str = " FOR UPDATE OF d SKIP LOCKED";

fn now() -> chrono::DateTime<chrono::Utc> {
    // PostgreSQL keeps microseconds: round here so a value read back equals the value written.
    let t = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

async fn begin_write(pool: &sqlx::Pool<Db>) -> crate::Result<sqlx::Transaction<'static, Db>> {
    Ok(pool.begin().await?)
}

/// PostgreSQL store: one pool serves reads and writes.
pub struct EngineStore {
    writer: sqlx::Pool<Db>,
    reader: sqlx::Pool<Db>,
}

pub type PgStore = EngineStore;

impl EngineStore {
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| crate::StoreError::Config(format!("bad PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.application_name("gatehouse"))
            .await?;
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
        })
    }

    /// The pool, for tests and benchmarks that must reach the database directly.
    pub fn pool(&self) -> &sqlx::Pool<Db> {
        &self.writer
    }
}

#[path = "queries/mod.rs"]
mod queries;
