//! Medication continuity checks.
//!
//! Raised inside the prison-feed transaction that schedules a planned transfer
//! or release, or records an actual one, when the person has an active notice
//! whose medicines must travel (`time-critical-medication`,
//! `medication-continuity`): so the check and its event commit with the change,
//! and healthcare hears before the day. A plan's check is not raised again when
//! the movement carries the plan out; a cancelled plan cancels its open check.

use super::audit::record_change;
use super::decode::{col, parsed};
use super::engine::{Db, DbRow, EngineStore, Tx, begin_write, now};
use super::feed::{Applying, emit, emit_event};
use super::notices::{json_text, lock_person_establishment};
use crate::disclosure::WriteAudit;
use crate::model::*;
use crate::{Result, StoreError, events};
use chrono::{DateTime, Utc};
use gatehouse_domain::{EstablishmentCode, PrisonNumber};
use serde_json::json;

pub(super) const CONTINUITY_CATEGORIES: [&str; 2] =
    ["time-critical-medication", "medication-continuity"];

pub(super) fn continuity_from_row(r: &DbRow) -> Result<ContinuityCheck> {
    let pn: String = col(r, "prison_number")?;
    let categories: String = col(r, "categories")?;
    let confirmation: Option<String> = col(r, "confirmation")?;
    Ok(ContinuityCheck {
        id: col(r, "id")?,
        prison_number: parsed("continuity_checks.prison_number", PrisonNumber::parse(&pn))?,
        kind: col(r, "kind")?,
        trigger_ref: col(r, "trigger_ref")?,
        planned: col(r, "planned")?,
        from_establishment: col(r, "from_establishment")?,
        to_establishment: col(r, "to_establishment")?,
        due_at: col(r, "due_at")?,
        categories: parsed(
            "continuity_checks.categories",
            serde_json::from_str(&categories),
        )?,
        status: col(r, "status")?,
        raised_at: col(r, "raised_at")?,
        closed_at: col(r, "closed_at")?,
        closed_by: col(r, "closed_by")?,
        confirmation: confirmation
            .map(|c| parsed("continuity_checks.confirmation", serde_json::from_str(&c)))
            .transpose()?,
    })
}

pub(super) fn continuity_event_data(c: &ContinuityCheck) -> serde_json::Value {
    let mut establishments = vec![c.from_establishment.clone()];
    establishments.extend(c.to_establishment.clone());
    json!({
        "checkId": c.id, "prisonNumber": c.prison_number.as_str(), "kind": c.kind, "planned": c.planned,
        "from": c.from_establishment, "to": c.to_establishment, "dueAt": c.due_at, "status": c.status,
        "categories": c.categories, "establishments": establishments,
        "href": format!("/v1/continuity-checks/{}", c.id),
    })
}

/// Opens a check if the person has an active notice whose medicines must travel.
#[allow(clippy::too_many_arguments)]
pub(super) async fn raise_continuity(
    tx: &mut Tx<'_>,
    a: &mut Applying<'_>,
    kind: &str,
    trigger_ref: &str,
    planned: bool,
    from: &EstablishmentCode,
    to: Option<&EstablishmentCode>,
    due_at: DateTime<Utc>,
) -> Result<()> {
    let pn = a.item.prison_number.as_str();
    let rows = sqlx::query("SELECT DISTINCT category FROM safety_notices WHERE prison_number = $1 AND status = 'active' AND category IN ($2, $3)")
        .bind(pn)
        .bind(CONTINUITY_CATEGORIES[0])
        .bind(CONTINUITY_CATEGORIES[1])
        .fetch_all(&mut **tx)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut categories: Vec<String> = rows
        .iter()
        .map(|r| col(r, "category"))
        .collect::<Result<_>>()?;
    categories.sort();
    let check = ContinuityCheck {
        id: uuid::Uuid::now_v7().to_string(),
        prison_number: a.item.prison_number.clone(),
        kind: kind.to_owned(),
        trigger_ref: trigger_ref.to_owned(),
        planned,
        from_establishment: from.as_str().to_owned(),
        to_establishment: to.map(|t| t.as_str().to_owned()),
        due_at,
        categories,
        status: "open".into(),
        raised_at: a.now,
        closed_at: None,
        closed_by: None,
        confirmation: None,
    };
    let inserted = sqlx::query(
        "INSERT INTO continuity_checks (id, prison_number, kind, trigger_ref, planned, from_establishment, to_establishment, due_at, categories, status, raised_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10) ON CONFLICT (prison_number, trigger_ref) DO NOTHING",
    )
    .bind(&check.id)
    .bind(pn)
    .bind(kind)
    .bind(trigger_ref)
    .bind(planned)
    .bind(&check.from_establishment)
    .bind(&check.to_establishment)
    .bind(due_at)
    .bind(json_text(&check.categories)?)
    .bind(a.now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        a.changes.push(format!(
            "medication continuity check opened for this {kind}"
        ));
        emit(
            tx,
            a,
            events::MEDICATION_CONTINUITY_CHECK,
            Some(from),
            continuity_event_data(&check),
        )
        .await?;
    }
    Ok(())
}

/// Cancels the open check a cancelled plan raised.
pub(super) async fn cancel_continuity(
    tx: &mut Tx<'_>,
    pn: &str,
    plan_id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE continuity_checks SET status = 'cancelled', closed_at = $3 WHERE prison_number = $1 AND trigger_ref = $2 AND status = 'open'")
        .bind(pn)
        .bind(plan_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// True when the journey already has its check: one of the plans this movement
/// carried out raised one, or a check for the same kind of journey (and
/// destination) was opened or confirmed in the last week (a plan carried out
/// early, outside the fulfilment window).
pub(super) async fn journey_has_check(
    tx: &mut Tx<'_>,
    pn: &str,
    plan_ids: &[String],
    kind: &str,
    to: Option<&EstablishmentCode>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let recent = sqlx::query(
        "SELECT 1 AS one FROM continuity_checks WHERE prison_number = $1 AND kind = $2 AND status IN ('open', 'confirmed') \
         AND raised_at >= $3 AND ($4 IS NULL OR to_establishment = $4)",
    )
    .bind(pn)
    .bind(kind)
    .bind(now - chrono::Duration::days(7))
    .bind(to.map(|t| t.as_str()))
    .fetch_optional(&mut **tx)
    .await?;
    if recent.is_some() {
        return Ok(true);
    }
    for id in plan_ids {
        let row = sqlx::query(
            "SELECT 1 AS one FROM continuity_checks WHERE prison_number = $1 AND trigger_ref = $2",
        )
        .bind(pn)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        if row.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The destination of the person's next planned transfer, for the receiving unit's access.
pub(super) async fn refresh_incoming(tx: &mut Tx<'_>, pn: &str) -> Result<()> {
    sqlx::query(
        "UPDATE people SET incoming_establishment = (SELECT destination FROM planned_movements WHERE prison_number = $1 \
         AND status = 'planned' AND kind = 'transfer' AND destination IS NOT NULL ORDER BY planned_for LIMIT 1) WHERE prison_number = $1",
    )
    .bind(pn)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn continuity_checks(
    pool: &sqlx::Pool<Db>,
    pn: &PrisonNumber,
    open_only: bool,
) -> Result<Vec<ContinuityCheck>> {
    let rows = sqlx::query("SELECT * FROM continuity_checks WHERE prison_number = $1 AND (status = 'open' OR NOT $2) ORDER BY due_at, id")
        .bind(pn.as_str())
        .bind(open_only)
        .fetch_all(pool)
        .await?;
    rows.iter().map(continuity_from_row).collect()
}

pub(super) async fn continuity_check(
    pool: &sqlx::Pool<Db>,
    id: &str,
) -> Result<Option<ContinuityCheck>> {
    sqlx::query("SELECT * FROM continuity_checks WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(|r| continuity_from_row(&r))
        .transpose()
}

pub(super) async fn confirm_continuity(
    pool: &sqlx::Pool<Db>,
    id: &str,
    c: &ContinuityConfirmation,
    audit: &WriteAudit,
) -> Result<ContinuityCheck> {
    let mut tx = begin_write(pool).await?;
    let pn: String = col(
        &sqlx::query("SELECT prison_number FROM continuity_checks WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound("no continuity check with this id".into()))?,
        "prison_number",
    )?;
    let establishment = lock_person_establishment(&mut tx, &pn).await?.flatten();
    let current = continuity_from_row(
        &sqlx::query("SELECT * FROM continuity_checks WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?,
    )?;
    if current.status != "open" {
        return Err(StoreError::Conflict(format!(
            "the check is already {}",
            current.status
        )));
    }
    let now = now();
    let confirmation = json!({"note": c.note, "author": c.author});
    sqlx::query("UPDATE continuity_checks SET status = 'confirmed', closed_at = $2, closed_by = $3, confirmation = $4 WHERE id = $1")
        .bind(id)
        .bind(now)
        .bind(&c.consumer)
        .bind(confirmation.to_string())
        .execute(&mut *tx)
        .await?;
    let check = continuity_from_row(
        &sqlx::query("SELECT * FROM continuity_checks WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?,
    )?;
    emit_event(
        &mut tx,
        &pn,
        events::MEDICATION_CONTINUITY_CONFIRMED,
        establishment.as_deref(),
        now,
        now,
        continuity_event_data(&check),
    )
    .await?;
    record_change(
        &mut tx,
        audit,
        &[format!("continuity-check/{id}:confirmed")],
    )
    .await?;
    tx.commit().await?;
    Ok(check)
}

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::ContinuityStore for EngineStore {
    async fn continuity_checks(
        &self,
        pn: &PrisonNumber,
        open_only: bool,
    ) -> Result<Vec<ContinuityCheck>> {
        continuity_checks(&self.reader, pn, open_only).await
    }
    async fn continuity_check(&self, id: &str) -> Result<Option<ContinuityCheck>> {
        continuity_check(&self.reader, id).await
    }
    async fn confirm_continuity(
        &self,
        id: &str,
        confirmation: &ContinuityConfirmation,
        audit: &WriteAudit,
    ) -> Result<ContinuityCheck> {
        confirm_continuity(&self.writer, id, confirmation, audit).await
    }
}
