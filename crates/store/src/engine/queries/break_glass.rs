//! Break-glass grants and their reviews.

use super::audit::record_change;
use super::decode::col;
use super::engine::{Db, DbRow, EngineStore, begin_write, now};
use crate::disclosure::WriteAudit;
use crate::model::*;
use crate::{Result, StoreError};

pub(super) fn break_glass_from(row: &DbRow) -> Result<BreakGlassRecord> {
    Ok(BreakGlassRecord {
        id: col(row, "id")?,
        consumer: col(row, "consumer")?,
        staff_user: col(row, "staff_user")?,
        prison_number: col(row, "prison_number")?,
        reason: col(row, "reason")?,
        started_at: col(row, "started_at")?,
        expires_at: col(row, "expires_at")?,
        uses: col(row, "uses")?,
        status: col(row, "status")?,
        reviewed_by: col(row, "reviewed_by")?,
        reviewed_at: col(row, "reviewed_at")?,
        outcome: col(row, "outcome")?,
        note: col(row, "note")?,
    })
}

pub(super) async fn break_glass_use(
    pool: &sqlx::Pool<Db>,
    consumer: &str,
    staff: &str,
    pn: &str,
    reason: &str,
    window: chrono::Duration,
    audit: &WriteAudit,
) -> Result<BreakGlassRecord> {
    let mut tx = begin_write(pool).await?;
    let at = now();
    let open = sqlx::query(
        "SELECT * FROM break_glass WHERE consumer = $1 AND staff_user = $2 AND prison_number = $3 AND expires_at > $4 ORDER BY started_at DESC LIMIT 1",
    )
    .bind(consumer)
    .bind(staff)
    .bind(pn)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await?;
    let id = match open {
        Some(row) => {
            let id: String = col(&row, "id")?;
            sqlx::query("UPDATE break_glass SET uses = uses + 1 WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            id
        }
        None => {
            let id = uuid::Uuid::now_v7().to_string();
            sqlx::query(
                "INSERT INTO break_glass (id, consumer, staff_user, prison_number, reason, started_at, expires_at, uses, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&id)
            .bind(consumer)
            .bind(staff)
            .bind(pn)
            .bind(reason)
            .bind(at)
            .bind(at + window)
            .bind(1i64)
            .bind("unreviewed")
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    let row = sqlx::query("SELECT * FROM break_glass WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
    record_change(&mut tx, audit, &[format!("break-glass/{id}")]).await?;
    tx.commit().await?;
    break_glass_from(&row)
}

pub(super) async fn break_glass_list(
    pool: &sqlx::Pool<Db>,
    status: Option<&str>,
) -> Result<Vec<BreakGlassRecord>> {
    let rows = sqlx::query(
        "SELECT * FROM break_glass WHERE (status = $1 OR $2) ORDER BY started_at DESC LIMIT 500",
    )
    .bind(status.unwrap_or(""))
    .bind(status.is_none())
    .fetch_all(pool)
    .await?;
    rows.iter().map(break_glass_from).collect()
}

pub(super) async fn break_glass_review(
    pool: &sqlx::Pool<Db>,
    id: &str,
    reviewer: &str,
    outcome: &str,
    note: Option<&str>,
    audit: &WriteAudit,
) -> Result<BreakGlassRecord> {
    let mut tx = begin_write(pool).await?;
    let Some(row) = sqlx::query("SELECT * FROM break_glass WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Err(StoreError::NotFound(
            "no break-glass use with this id".into(),
        ));
    };
    if col::<String>(&row, "status")? == "reviewed" {
        return Err(StoreError::Conflict(
            "this break-glass use has already been reviewed".into(),
        ));
    }
    sqlx::query("UPDATE break_glass SET status = $1, reviewed_by = $2, reviewed_at = $3, outcome = $4, note = $5 WHERE id = $6")
        .bind("reviewed")
        .bind(reviewer)
        .bind(now())
        .bind(outcome)
        .bind(note)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query("SELECT * FROM break_glass WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    record_change(
        &mut tx,
        audit,
        &[format!("break-glass/{id}:reviewed:{outcome}")],
    )
    .await?;
    tx.commit().await?;
    break_glass_from(&row)
}

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::BreakGlassStore for EngineStore {
    async fn break_glass_use(
        &self,
        consumer: &str,
        staff: &str,
        pn: &str,
        reason: &str,
        window: chrono::Duration,
        audit: &WriteAudit,
    ) -> Result<BreakGlassRecord> {
        break_glass_use(&self.writer, consumer, staff, pn, reason, window, audit).await
    }
    async fn break_glass_list(&self, status: Option<&str>) -> Result<Vec<BreakGlassRecord>> {
        break_glass_list(&self.reader, status).await
    }
    async fn break_glass_review(
        &self,
        id: &str,
        reviewer: &str,
        outcome: &str,
        note: Option<&str>,
        audit: &WriteAudit,
    ) -> Result<BreakGlassRecord> {
        break_glass_review(&self.writer, id, reviewer, outcome, note, audit).await
    }
}
