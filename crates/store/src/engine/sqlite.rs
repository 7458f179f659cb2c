//! The SQLite engine: the embedded default.
//!
//! SQLite allows one writer at a time. Rather than let connections fight for
//! the lock, Gatehouse keeps one writer connection (every write transaction
//! starts with `BEGIN IMMEDIATE`, so it takes the lock up front and never
//! fails half-way on a lock upgrade) and a small pool of readers that WAL lets
//! run beside it.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

type Db = sqlx::Sqlite;

const ENGINE: crate::EngineKind = crate::EngineKind::Sqlite;
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The single writer serialises all writes, so a plain read inside the write
/// transaction is already exclusive.
const LOCK_PERSON: &str = "SELECT * FROM people WHERE prison_number = $1";
/// A feed chunk's people need no lock: `BEGIN IMMEDIATE` already holds the one writer.
const LOCK_PEOPLE: &str = "";
const LOCK_AUDIT_HEAD: &str = "SELECT * FROM audit_head WHERE id = 1";
/// One writer: commits are in outbox-sequence order, so a gap is never filled later.
const SNAPSHOT: Option<&str> = None;
const LOCK_CURSOR: &str = "SELECT * FROM delivery_cursors WHERE name = $1";
/// How a delivery claim locks its rows: on PostgreSQL, rows another instance holds are skipped.
const CLAIM_LOCK: &str = "";

const READERS: u32 = 4;

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

async fn begin_write(pool: &sqlx::Pool<Db>) -> crate::Result<sqlx::Transaction<'static, Db>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// SQLite store: one writer connection, a pool of readers.
pub struct EngineStore {
    writer: sqlx::Pool<Db>,
    reader: sqlx::Pool<Db>,
}

pub type SqliteStore = EngineStore;

impl EngineStore {
    /// `sqlite://path/to/file.db` (created if missing) or `sqlite::memory:`.
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| crate::StoreError::Config(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut writer_options = SqlitePoolOptions::new().max_connections(1);
        if in_memory {
            // The database lives only as long as its one connection: never let the pool close it.
            writer_options = writer_options
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let writer = writer_options.connect_with(options.clone()).await?;
        // An in-memory database exists only inside its connection: readers must share the writer.
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READERS)
                .connect_with(options.read_only(true))
                .await?
        };
        Ok(Self { writer, reader })
    }

    /// The writer pool, for tests and benchmarks that must reach the database directly.
    pub fn pool(&self) -> &sqlx::Pool<Db> {
        &self.writer
    }
}

/// One process holds a SQLite database: its writes wake its own dispatcher
/// directly, and there is no other instance to hear from.
async fn outbox_wakeups(
    _pool: &sqlx::Pool<Db>,
) -> crate::Result<Option<tokio::sync::mpsc::Receiver<()>>> {
    Ok(None)
}

#[path = "queries/mod.rs"]
mod queries;
