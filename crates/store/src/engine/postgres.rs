//! The PostgreSQL engine: the scale-out store. Several Gatehouse processes may
//! share one database; writes to one person are serialised by a row lock on
//! that person, taken first in every feed transaction.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

type Db = sqlx::Postgres;

const ENGINE: crate::EngineKind = crate::EngineKind::Postgres;
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const LOCK_PERSON: &str = "SELECT * FROM people WHERE prison_number = $1 FOR UPDATE";
/// Appended to a read of a feed chunk's people: locks them, always in
/// prison-number order, so two writers of overlapping chunks cannot deadlock.
const LOCK_PEOPLE: &str = " ORDER BY prison_number FOR UPDATE";
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

/// The channel the `outbox_notify` trigger (migration 0013) notifies at
/// every commit that added outbox events.
const OUTBOX_CHANNEL: &str = "gatehouse_outbox";

/// Wake-ups for this instance's dispatcher whenever any instance commits an
/// outbox event. The listener has its own connection; sqlx's `PgListener`
/// reconnects by itself, and since notifications sent while it was away are
/// lost, a reconnect is itself a wake-up (the dispatcher then looks).
async fn outbox_wakeups(
    pool: &sqlx::Pool<Db>,
) -> crate::Result<Option<tokio::sync::mpsc::Receiver<()>>> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(OUTBOX_CHANNEL).await?;
    let (wake, wakeups) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            if let Err(e) = listener.try_recv().await {
                tracing::warn!(error = %e, "outbox listener lost its connection; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            // Full: a wake-up is already pending, which is as good.
            if let Err(tokio::sync::mpsc::error::TrySendError::Closed(())) = wake.try_send(()) {
                return;
            }
        }
    });
    Ok(Some(wakeups))
}

#[path = "queries/mod.rs"]
mod queries;
