//! Safety notices and their versions.
//!
//! A notice's writes lock its person's row first (the same lock every feed
//! write takes), so a notice change and a movement for the same person are
//! serialised, and the outbox's per-person sequence stays gapless. Every
//! version is kept; withdrawal is a new version.

use super::audit::record_change;
use super::decode::{col, parsed};
use super::engine::{Db, DbRow, EngineStore, LOCK_PERSON, Tx, begin_write, now};
use super::feed::emit_event;
use crate::disclosure::WriteAudit;
use crate::model::*;
use crate::{Result, StoreError, events};
use chrono::NaiveDate;
use gatehouse_domain::NoticeStatus;
use gatehouse_domain::notice::Author;
use gatehouse_domain::{EstablishmentCode, PrisonNumber};
use serde_json::json;

pub(super) fn notice_from_row(row: &DbRow) -> Result<NoticeRecord> {
    let content: String = col(row, "content")?;
    let author: String = col(row, "author")?;
    let status: String = col(row, "status")?;
    let pn: String = col(row, "prison_number")?;
    Ok(NoticeRecord {
        id: col(row, "id")?,
        prison_number: parsed("safety_notices.prison_number", PrisonNumber::parse(&pn))?,
        version: col(row, "version")?,
        status: parsed("safety_notices.status", NoticeStatus::parse(&status))?,
        content: parsed("safety_notices.content", serde_json::from_str(&content))?,
        author: parsed(
            "safety_notices.author",
            serde_json::from_str::<Author>(&author),
        )?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        updated_by: col(row, "updated_by")?,
    })
}

pub(super) fn notice_version_from_row(row: &DbRow) -> Result<NoticeVersionRecord> {
    let content: String = col(row, "content")?;
    let author: String = col(row, "author")?;
    let status: String = col(row, "status")?;
    Ok(NoticeVersionRecord {
        version: col(row, "version")?,
        status: parsed(
            "safety_notice_versions.status",
            NoticeStatus::parse(&status),
        )?,
        content: parsed(
            "safety_notice_versions.content",
            serde_json::from_str(&content),
        )?,
        author: parsed(
            "safety_notice_versions.author",
            serde_json::from_str::<Author>(&author),
        )?,
        reason: col(row, "reason")?,
        recorded_at: col(row, "recorded_at")?,
        recorded_by: col(row, "recorded_by")?,
    })
}

pub(super) fn json_text<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(StoreError::corrupt)
}

/// What a notice event carries: enough to route and to fetch, nothing a prison
/// subscriber's view would withhold (no instruction, condition or clinical detail).
pub(super) fn notice_event_data(n: &NoticeRecord) -> serde_json::Value {
    json!({
        "noticeId": n.id,
        "version": n.version,
        "status": n.status.as_str(),
        "category": n.content.category.as_str(),
        "audience": n.content.audience.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "disclosureLevel": n.content.disclosure_level.as_str(),
        "href": format!("/v1/safety-notices/{}", n.id),
    })
}

/// Locks the person and returns their current establishment.
pub(super) async fn lock_person_establishment(
    tx: &mut Tx<'_>,
    pn: &str,
) -> Result<Option<Option<String>>> {
    let row = sqlx::query(LOCK_PERSON)
        .bind(pn)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| col::<Option<String>>(&r, "establishment"))
        .transpose()
}

pub(super) async fn insert_notice_version(
    tx: &mut Tx<'_>,
    n: &NoticeRecord,
    reason: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO safety_notice_versions (notice_id, version, status, content, author, reason, recorded_at, recorded_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&n.id)
    .bind(n.version)
    .bind(n.status.as_str())
    .bind(json_text(&n.content)?)
    .bind(json_text(&n.author)?)
    .bind(reason)
    .bind(n.updated_at)
    .bind(&n.updated_by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn publish_notice(
    pool: &sqlx::Pool<Db>,
    pn: &PrisonNumber,
    v: &NewNoticeVersion,
    audit: &WriteAudit,
) -> Result<NoticeRecord> {
    let mut tx = begin_write(pool).await?;
    let establishment = lock_person_establishment(&mut tx, pn.as_str())
        .await?
        .ok_or_else(|| StoreError::NotFound("no person with this prison number".into()))?;
    let now = now();
    let n = NoticeRecord {
        id: uuid::Uuid::now_v7().to_string(),
        prison_number: pn.clone(),
        version: 1,
        status: NoticeStatus::Active,
        content: v.content.clone(),
        author: v.author.clone(),
        created_at: now,
        updated_at: now,
        updated_by: v.consumer.clone(),
    };
    sqlx::query(
        "INSERT INTO safety_notices (id, prison_number, version, status, category, review_by, content, author, created_at, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)",
    )
    .bind(&n.id)
    .bind(pn.as_str())
    .bind(n.version)
    .bind(n.status.as_str())
    .bind(n.content.category.as_str())
    .bind(n.content.review_by)
    .bind(json_text(&n.content)?)
    .bind(json_text(&n.author)?)
    .bind(now)
    .bind(&n.updated_by)
    .execute(&mut *tx)
    .await?;
    insert_notice_version(&mut tx, &n, v.reason.as_deref()).await?;
    emit_event(
        &mut tx,
        pn.as_str(),
        events::SAFETY_NOTICE_PUBLISHED,
        establishment.as_deref(),
        now,
        now,
        notice_event_data(&n),
    )
    .await?;
    record_change(
        &mut tx,
        audit,
        &[format!("safety-notice/{}@v{}", n.id, n.version)],
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// Loads the notice for a change: locks its person, then checks the version the writer saw.
pub(super) async fn notice_for_change(
    tx: &mut Tx<'_>,
    id: &str,
    expected: Option<i64>,
) -> Result<(NoticeRecord, Option<String>)> {
    let pn: Option<String> = sqlx::query("SELECT prison_number FROM safety_notices WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| col(&r, "prison_number"))
        .transpose()?;
    let pn = pn.ok_or_else(|| StoreError::NotFound("no safety notice with this id".into()))?;
    let establishment = lock_person_establishment(tx, &pn).await?.flatten();
    let row = sqlx::query("SELECT * FROM safety_notices WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let n = notice_from_row(&row)?;
    if n.status == NoticeStatus::Withdrawn {
        return Err(StoreError::Conflict(
            "the notice has been withdrawn; publish a new one".into(),
        ));
    }
    if let Some(expected) = expected
        && expected != n.version
    {
        return Err(StoreError::Stale(format!(
            "the notice is at version {}, not {expected}: read it again and reapply your change",
            n.version
        )));
    }
    Ok((n, establishment))
}

pub(super) async fn store_new_version(
    tx: &mut Tx<'_>,
    n: &NoticeRecord,
    reason: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE safety_notices SET version = $2, status = $3, category = $4, review_by = $5, content = $6, author = $7, \
         updated_at = $8, updated_by = $9 WHERE id = $1",
    )
    .bind(&n.id)
    .bind(n.version)
    .bind(n.status.as_str())
    .bind(n.content.category.as_str())
    .bind(n.content.review_by)
    .bind(json_text(&n.content)?)
    .bind(json_text(&n.author)?)
    .bind(n.updated_at)
    .bind(&n.updated_by)
    .execute(&mut **tx)
    .await?;
    insert_notice_version(tx, n, reason).await
}

pub(super) async fn revise_notice(
    pool: &sqlx::Pool<Db>,
    id: &str,
    expected: Option<i64>,
    v: &NewNoticeVersion,
    audit: &WriteAudit,
) -> Result<NoticeRecord> {
    let mut tx = begin_write(pool).await?;
    let (mut n, establishment) = notice_for_change(&mut tx, id, expected).await?;
    let now = now();
    n.version += 1;
    n.content = v.content.clone();
    n.author = v.author.clone();
    n.updated_at = now;
    n.updated_by = v.consumer.clone();
    store_new_version(&mut tx, &n, v.reason.as_deref()).await?;
    emit_event(
        &mut tx,
        n.prison_number.as_str(),
        events::SAFETY_NOTICE_REVISED,
        establishment.as_deref(),
        now,
        now,
        notice_event_data(&n),
    )
    .await?;
    record_change(
        &mut tx,
        audit,
        &[format!("safety-notice/{}@v{}", n.id, n.version)],
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

pub(super) async fn withdraw_notice(
    pool: &sqlx::Pool<Db>,
    id: &str,
    expected: Option<i64>,
    w: &NoticeWithdrawal,
    audit: &WriteAudit,
) -> Result<NoticeRecord> {
    let mut tx = begin_write(pool).await?;
    let (mut n, establishment) = notice_for_change(&mut tx, id, expected).await?;
    let now = now();
    n.version += 1;
    n.status = NoticeStatus::Withdrawn;
    n.author = w.author.clone();
    n.updated_at = now;
    n.updated_by = w.consumer.clone();
    store_new_version(&mut tx, &n, Some(&w.reason)).await?;
    emit_event(
        &mut tx,
        n.prison_number.as_str(),
        events::SAFETY_NOTICE_WITHDRAWN,
        establishment.as_deref(),
        now,
        now,
        notice_event_data(&n),
    )
    .await?;
    record_change(
        &mut tx,
        audit,
        &[format!("safety-notice/{}@v{}:withdrawn", n.id, n.version)],
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

pub(super) async fn notice(pool: &sqlx::Pool<Db>, id: &str) -> Result<Option<NoticeRecord>> {
    sqlx::query("SELECT * FROM safety_notices WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(|r| notice_from_row(&r))
        .transpose()
}

pub(super) async fn notices_for(
    pool: &sqlx::Pool<Db>,
    pn: &PrisonNumber,
    include_withdrawn: bool,
) -> Result<Vec<NoticeRecord>> {
    let rows = sqlx::query(
        "SELECT * FROM safety_notices WHERE prison_number = $1 AND (status = 'active' OR $2) ORDER BY created_at, id",
    )
    .bind(pn.as_str())
    .bind(include_withdrawn)
    .fetch_all(pool)
    .await?;
    rows.iter().map(notice_from_row).collect()
}

pub(super) async fn notice_versions(
    pool: &sqlx::Pool<Db>,
    id: &str,
) -> Result<Vec<NoticeVersionRecord>> {
    let rows =
        sqlx::query("SELECT * FROM safety_notice_versions WHERE notice_id = $1 ORDER BY version")
            .bind(id)
            .fetch_all(pool)
            .await?;
    rows.iter().map(notice_version_from_row).collect()
}

pub(super) async fn notices_due_for_review(
    pool: &sqlx::Pool<Db>,
    est: &EstablishmentCode,
    before: NaiveDate,
) -> Result<Vec<NoticeRecord>> {
    let rows = sqlx::query(
        "SELECT n.* FROM safety_notices n JOIN people p ON p.prison_number = n.prison_number \
         WHERE p.establishment = $1 AND n.status = 'active' AND n.review_by < $2 ORDER BY n.review_by, n.id LIMIT 1000",
    )
    .bind(est.as_str())
    .bind(before)
    .fetch_all(pool)
    .await?;
    rows.iter().map(notice_from_row).collect()
}

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::NoticeStore for EngineStore {
    async fn publish_notice(
        &self,
        pn: &PrisonNumber,
        v: &NewNoticeVersion,
        audit: &WriteAudit,
    ) -> Result<NoticeRecord> {
        publish_notice(&self.writer, pn, v, audit).await
    }
    async fn revise_notice(
        &self,
        id: &str,
        expected: Option<i64>,
        v: &NewNoticeVersion,
        audit: &WriteAudit,
    ) -> Result<NoticeRecord> {
        revise_notice(&self.writer, id, expected, v, audit).await
    }
    async fn withdraw_notice(
        &self,
        id: &str,
        expected: Option<i64>,
        w: &NoticeWithdrawal,
        audit: &WriteAudit,
    ) -> Result<NoticeRecord> {
        withdraw_notice(&self.writer, id, expected, w, audit).await
    }
    async fn notice(&self, id: &str) -> Result<Option<NoticeRecord>> {
        notice(&self.reader, id).await
    }
    async fn notices_for(
        &self,
        pn: &PrisonNumber,
        include_withdrawn: bool,
    ) -> Result<Vec<NoticeRecord>> {
        notices_for(&self.reader, pn, include_withdrawn).await
    }
    async fn notice_versions(&self, id: &str) -> Result<Vec<NoticeVersionRecord>> {
        notice_versions(&self.reader, id).await
    }
    async fn notices_due_for_review(
        &self,
        est: &EstablishmentCode,
        before: NaiveDate,
    ) -> Result<Vec<NoticeRecord>> {
        notices_due_for_review(&self.reader, est, before).await
    }
}
