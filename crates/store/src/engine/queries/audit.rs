//! The disclosure audit: appends in the caller's transaction, reads, checkpoints.

use super::decode::{col, parsed};
use super::engine::{Db, DbRow, EngineStore, LOCK_AUDIT_HEAD, Tx, begin_write, now};
use super::reads::page_of;
use crate::disclosure::WriteAudit;
use crate::model::*;
use crate::page::{Cursor, Page, PageRequest};
use crate::{Result, StoreError};
use gatehouse_domain::PrisonNumber;

pub(super) fn audit_row_from(row: &DbRow) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: col(row, "seq")?,
        recorded_at: col(row, "recorded_at")?,
        prison_number: col(row, "prison_number")?,
        consumer: col(row, "consumer")?,
        content: col(row, "content")?,
        leaf_hash: col(row, "leaf_hash")?,
        chain: col(row, "chain")?,
    })
}

pub(super) fn head_from(row: &DbRow) -> Result<AuditHead> {
    let frontier: String = col(row, "frontier")?;
    Ok(AuditHead {
        size: col(row, "size")?,
        chain: col(row, "chain")?,
        frontier: parsed("audit_head.frontier", serde_json::from_str(&frontier))?,
    })
}

pub(super) async fn append_audit(
    pool: &sqlx::Pool<Db>,
    records: &[NewDisclosure],
) -> Result<Vec<i64>> {
    if records.is_empty() {
        return Ok(vec![]);
    }
    let mut tx = begin_write(pool).await?;
    let seqs = append_audit_in(&mut tx, records).await?;
    tx.commit().await?;
    Ok(seqs)
}

/// Appends records inside the caller's transaction: a change and its record
/// commit or roll back together.
///
/// Call it last, just before commit. The head row is the append lock (every
/// instance appends in one order), and taking it after the change's own row
/// locks keeps one lock order for every writer (people, then the head), so
/// writers cannot deadlock on it, and it is held only for the commit.
/// Seven parameters a row: 3,500 a statement, far under either engine's limit.
const AUDIT_ROWS_PER_STATEMENT: usize = 500;

pub(super) async fn append_audit_in(
    tx: &mut Tx<'_>,
    records: &[NewDisclosure],
) -> Result<Vec<i64>> {
    if records.is_empty() {
        return Ok(vec![]);
    }
    let head = head_from(&sqlx::query(LOCK_AUDIT_HEAD).fetch_one(&mut **tx).await?)?;
    let mut log = crate::audit_link::Appender::resume(&head).map_err(StoreError::corrupt)?;
    let at = now();
    // Linked in order first, then written many rows to a statement: a feed
    // chunk or an audit group commit is a few statements, not one per record.
    let linked: Vec<_> = records
        .iter()
        .map(|r| (r, log.append(r.content.as_bytes())))
        .collect();
    for part in linked.chunks(AUDIT_ROWS_PER_STATEMENT) {
        let mut qb = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO audit_log (seq, recorded_at, prison_number, consumer, content, leaf_hash, chain) ",
        );
        qb.push_values(part, |mut row, (r, (seq, leaf, chain))| {
            row.push_bind(*seq)
                .push_bind(at)
                .push_bind(&r.prison_number)
                .push_bind(&r.consumer)
                .push_bind(&r.content)
                .push_bind(leaf)
                .push_bind(chain);
        });
        qb.build().execute(&mut **tx).await?;
    }
    let seqs: Vec<i64> = linked.iter().map(|(_, (seq, _, _))| *seq).collect();
    let next = log.head();
    sqlx::query("UPDATE audit_head SET size = $1, chain = $2, frontier = $3 WHERE id = 1")
        .bind(next.size)
        .bind(&next.chain)
        .bind(serde_json::to_string(&next.frontier).expect("hex strings serialise"))
        .execute(&mut **tx)
        .await?;
    Ok(seqs)
}

/// Appends a change's record (if the audit is on), with what it wrote.
pub(super) async fn record_change(
    tx: &mut Tx<'_>,
    audit: &WriteAudit,
    wrote: &[String],
) -> Result<()> {
    if let Some(r) = audit.written(wrote) {
        append_audit_in(tx, &[r]).await?;
    }
    Ok(())
}

pub(super) async fn audit_head(pool: &sqlx::Pool<Db>) -> Result<AuditHead> {
    head_from(
        &sqlx::query("SELECT * FROM audit_head WHERE id = 1")
            .fetch_one(pool)
            .await?,
    )
}

pub(super) async fn audit_rows(
    pool: &sqlx::Pool<Db>,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    let rows = sqlx::query("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(audit_row_from).collect()
}

pub(super) async fn audit_row(pool: &sqlx::Pool<Db>, seq: i64) -> Result<Option<AuditRow>> {
    let row = sqlx::query("SELECT * FROM audit_log WHERE seq = $1")
        .bind(seq)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(audit_row_from).transpose()
}

pub(super) async fn audit_for_person(
    pool: &sqlx::Pool<Db>,
    pn: &PrisonNumber,
    page: &PageRequest,
) -> Result<Page<AuditRow>> {
    let before = page.after.as_ref().map(|c| c.seq).unwrap_or(i64::MAX);
    let rows = sqlx::query(
        "SELECT * FROM audit_log WHERE prison_number = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
    )
    .bind(pn.as_str())
    .bind(before)
    .bind(page.limit + 1)
    .fetch_all(pool)
    .await?;
    let items = rows
        .iter()
        .map(audit_row_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(page_of(items, page.limit, |r| Cursor {
        key: String::new(),
        seq: r.seq,
    }))
}

pub(super) async fn audit_leaf_hashes(pool: &sqlx::Pool<Db>, size: i64) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT leaf_hash FROM audit_log WHERE seq <= $1 ORDER BY seq")
        .bind(size)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| col(r, "leaf_hash")).collect()
}

pub(super) async fn save_checkpoint(pool: &sqlx::Pool<Db>, c: &StoredCheckpoint) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    sqlx::query("INSERT INTO audit_checkpoints (size, root, signed, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING")
        .bind(c.size)
        .bind(&c.root)
        .bind(&c.signed)
        .bind(c.created_at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) fn checkpoint_from(r: &DbRow) -> Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: col(r, "size")?,
        root: col(r, "root")?,
        signed: col(r, "signed")?,
        created_at: col(r, "created_at")?,
    })
}

pub(super) async fn checkpoints(pool: &sqlx::Pool<Db>) -> Result<Vec<StoredCheckpoint>> {
    let rows = sqlx::query("SELECT * FROM audit_checkpoints ORDER BY size")
        .fetch_all(pool)
        .await?;
    rows.iter().map(checkpoint_from).collect()
}

pub(super) async fn latest_checkpoint(pool: &sqlx::Pool<Db>) -> Result<Option<StoredCheckpoint>> {
    let row = sqlx::query("SELECT * FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(checkpoint_from).transpose()
}

pub(super) async fn checkpoint_at(
    pool: &sqlx::Pool<Db>,
    size: i64,
) -> Result<Option<StoredCheckpoint>> {
    let row = sqlx::query("SELECT * FROM audit_checkpoints WHERE size = $1")
        .bind(size)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(checkpoint_from).transpose()
}

pub(super) async fn checkpoints_between(
    pool: &sqlx::Pool<Db>,
    after: i64,
    upto: i64,
) -> Result<Vec<StoredCheckpoint>> {
    let rows =
        sqlx::query("SELECT * FROM audit_checkpoints WHERE size > $1 AND size <= $2 ORDER BY size")
            .bind(after)
            .bind(upto)
            .fetch_all(pool)
            .await?;
    rows.iter().map(checkpoint_from).collect()
}

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::AuditStore for EngineStore {
    async fn append_audit(&self, records: &[NewDisclosure]) -> Result<Vec<i64>> {
        append_audit(&self.writer, records).await
    }
    async fn audit_head(&self) -> Result<AuditHead> {
        audit_head(&self.reader).await
    }
    async fn audit_rows(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
        audit_rows(&self.reader, after, limit).await
    }
    async fn audit_row(&self, seq: i64) -> Result<Option<AuditRow>> {
        audit_row(&self.reader, seq).await
    }
    async fn audit_for_person(
        &self,
        pn: &PrisonNumber,
        page: &PageRequest,
    ) -> Result<Page<AuditRow>> {
        audit_for_person(&self.reader, pn, page).await
    }
    async fn audit_leaf_hashes(&self, size: i64) -> Result<Vec<String>> {
        audit_leaf_hashes(&self.reader, size).await
    }
    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<()> {
        save_checkpoint(&self.writer, checkpoint).await
    }
    async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>> {
        checkpoints(&self.reader).await
    }
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        latest_checkpoint(&self.reader).await
    }
    async fn checkpoint_at(&self, size: i64) -> Result<Option<StoredCheckpoint>> {
        checkpoint_at(&self.reader, size).await
    }
    async fn checkpoints_between(&self, after: i64, upto: i64) -> Result<Vec<StoredCheckpoint>> {
        checkpoints_between(&self.reader, after, upto).await
    }
}
