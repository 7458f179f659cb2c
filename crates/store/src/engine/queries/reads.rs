//! Reads of the shared record: people, movements, alerts, plans and links.

use super::decode::{
    alert_from_row, col, link_from_row, movement_from_row, person_from_row, planned_from_row,
};
use super::delivery::outbox_from_row;
use super::engine::{Db, DbRow, EngineStore};
use crate::model::*;
use crate::page::{Cursor, Page, PageRequest};
use crate::{Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_domain::{EstablishmentCode, NhsNumber, PlannedStatus, PrisonNumber};

pub(super) async fn active_link(
    pool: &sqlx::Pool<Db>,
    pn: &str,
) -> Result<Option<IdentityLinkRecord>> {
    let row = sqlx::query("SELECT * FROM identity_links WHERE prison_number = $1 AND active = $2")
        .bind(pn)
        .bind(true)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(link_from_row).transpose()
}

pub(super) async fn people_from_rows(
    pool: &sqlx::Pool<Db>,
    rows: Vec<DbRow>,
) -> Result<Vec<PersonRecord>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let pn: String = col(row, "prison_number")?;
        out.push(person_from_row(row, active_link(pool, &pn).await?)?);
    }
    Ok(out)
}

pub(super) async fn person(
    pool: &sqlx::Pool<Db>,
    pn: &PrisonNumber,
) -> Result<Option<PersonRecord>> {
    let row = sqlx::query(PERSON_BY_NUMBER)
        .bind(pn.as_str())
        .fetch_optional(pool)
        .await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some(person_from_row(
            &row,
            active_link(pool, pn.as_str()).await?,
        )?)),
    }
}

pub(super) async fn people_by_nhs_number(
    pool: &sqlx::Pool<Db>,
    nhs: &NhsNumber,
) -> Result<Vec<PersonRecord>> {
    let rows = sqlx::query(PEOPLE_BY_NHS)
        .bind(nhs.as_str())
        .bind(true)
        .fetch_all(pool)
        .await?;
    people_from_rows(pool, rows).await
}

pub(super) async fn people_by_name(
    pool: &sqlx::Pool<Db>,
    family: &str,
    given: Option<&str>,
    dob: NaiveDate,
) -> Result<Vec<PersonRecord>> {
    let rows = sqlx::query(PEOPLE_BY_NAME)
        .bind(family.trim().to_uppercase())
        .bind(dob)
        .fetch_all(pool)
        .await?;
    let people = people_from_rows(pool, rows).await?;
    Ok(match given {
        None => people,
        Some(g) => {
            let g = g.trim().to_uppercase();
            people
                .into_iter()
                .filter(|p| {
                    p.details
                        .as_ref()
                        .is_some_and(|d| d.name.given_name.to_uppercase() == g)
                })
                .collect()
        }
    })
}

pub(super) async fn people_at(
    pool: &sqlx::Pool<Db>,
    est: &EstablishmentCode,
    page: &PageRequest,
) -> Result<Page<PersonRecord>> {
    let after = page
        .after
        .as_ref()
        .map(|c| c.key.clone())
        .unwrap_or_default();
    let rows = sqlx::query(PEOPLE_AT)
        .bind(est.as_str())
        .bind(&after)
        .bind(page.limit + 1)
        .fetch_all(pool)
        .await?;
    let mut items = people_from_rows(pool, rows).await?;
    let next = (items.len() as i64 > page.limit).then(|| {
        items.truncate(page.limit as usize);
        Cursor {
            key: items
                .last()
                .map(|p| p.prison_number.as_str().to_owned())
                .unwrap_or_default(),
            seq: 0,
        }
        .encode()
    });
    Ok(Page {
        items,
        next_cursor: next,
    })
}

/// Keyset page over rows ordered newest first by (time, seq).
pub(super) fn page_of<T>(mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> Cursor) -> Page<T> {
    let next = (items.len() as i64 > limit).then(|| {
        items.truncate(limit as usize);
        key(items.last().expect("non-empty after truncate")).encode()
    });
    Page {
        items,
        next_cursor: next,
    }
}

pub(super) fn cursor_time(c: &Option<Cursor>) -> Result<(DateTime<Utc>, i64)> {
    match c {
        // Beyond any real time, and written so that it also sorts last as SQLite text.
        None => Ok((
            DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
                .expect("constant")
                .with_timezone(&Utc),
            i64::MAX,
        )),
        Some(c) => {
            let t = DateTime::parse_from_rfc3339(&c.key).map_err(|_| StoreError::BadCursor)?;
            Ok((t.with_timezone(&Utc), c.seq))
        }
    }
}

pub(super) async fn movements(
    pool: &sqlx::Pool<Db>,
    pn: &PrisonNumber,
    page: &PageRequest,
) -> Result<Page<MovementRecord>> {
    let (t, seq) = cursor_time(&page.after)?;
    let rows = sqlx::query(
        "SELECT * FROM movements WHERE prison_number = $1 AND (occurred_at < $2 OR (occurred_at = $2 AND seq < $3)) \
         ORDER BY occurred_at DESC, seq DESC LIMIT $4",
    )
    .bind(pn.as_str())
    .bind(t)
    .bind(seq)
    .bind(page.limit + 1)
    .fetch_all(pool)
    .await?;
    let items = rows
        .iter()
        .map(movement_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(page_of(items, page.limit, |m| Cursor {
        key: m.movement.occurred_at.to_rfc3339(),
        seq: m.seq,
    }))
}

pub(super) async fn alerts(
    pool: &sqlx::Pool<Db>,
    pn: &PrisonNumber,
    active_only: bool,
    page: &PageRequest,
) -> Result<Page<AlertRecord>> {
    // Alerts are few per person: ordered by id for a stable keyset.
    let after = page
        .after
        .as_ref()
        .map(|c| c.key.clone())
        .unwrap_or_default();
    let rows = sqlx::query(
        "SELECT * FROM alerts WHERE prison_number = $1 AND alert_id > $2 AND (active = $3 OR $4) ORDER BY alert_id LIMIT $5",
    )
    .bind(pn.as_str())
    .bind(&after)
    .bind(true)
    .bind(!active_only)
    .bind(page.limit + 1)
    .fetch_all(pool)
    .await?;
    let items = rows
        .iter()
        .map(alert_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(page_of(items, page.limit, |a| Cursor {
        key: a.alert.id.clone(),
        seq: 0,
    }))
}

pub(super) async fn planned_movements(
    pool: &sqlx::Pool<Db>,
    pn: &PrisonNumber,
    include_closed: bool,
) -> Result<Vec<PlannedRecord>> {
    let rows = sqlx::query("SELECT * FROM planned_movements WHERE prison_number = $1 AND (status = $2 OR $3) ORDER BY planned_for, plan_id")
        .bind(pn.as_str())
        .bind(PlannedStatus::Planned.as_str())
        .bind(include_closed)
        .fetch_all(pool)
        .await?;
    rows.iter().map(planned_from_row).collect()
}

pub(super) async fn identity_links(
    pool: &sqlx::Pool<Db>,
    pn: &PrisonNumber,
) -> Result<Vec<IdentityLinkRecord>> {
    let rows = sqlx::query("SELECT * FROM identity_links WHERE prison_number = $1 ORDER BY id")
        .bind(pn.as_str())
        .fetch_all(pool)
        .await?;
    rows.iter().map(link_from_row).collect()
}

pub(super) async fn outbox_after(
    pool: &sqlx::Pool<Db>,
    after: i64,
    limit: i64,
) -> Result<Vec<OutboxEvent>> {
    let rows = sqlx::query("SELECT * FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(outbox_from_row).collect()
}

pub(super) async fn counts(pool: &sqlx::Pool<Db>) -> Result<TableCounts> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM people) AS people, (SELECT COUNT(*) FROM movements) AS movements, \
         (SELECT COUNT(*) FROM alerts) AS alerts, (SELECT COUNT(*) FROM planned_movements) AS planned, \
         (SELECT COUNT(*) FROM identity_links) AS links, (SELECT COUNT(*) FROM feed_ledger) AS ledger, \
         (SELECT COUNT(*) FROM outbox) AS outbox, (SELECT COUNT(*) FROM consumers) AS consumers, (SELECT COUNT(*) FROM api_keys) AS keys, \
         (SELECT COUNT(*) FROM safety_notices) AS notices, (SELECT COUNT(*) FROM safety_notice_versions) AS notice_versions, \
         (SELECT COUNT(*) FROM appointments) AS appointments, (SELECT COUNT(*) FROM appointment_history) AS appointment_history",
    )
    .fetch_one(pool)
    .await?;
    Ok(TableCounts {
        people: col(&row, "people")?,
        movements: col(&row, "movements")?,
        alerts: col(&row, "alerts")?,
        planned_movements: col(&row, "planned")?,
        identity_links: col(&row, "links")?,
        feed_ledger: col(&row, "ledger")?,
        outbox: col(&row, "outbox")?,
        consumers: col(&row, "consumers")?,
        api_keys: col(&row, "keys")?,
        safety_notices: col(&row, "notices")?,
        safety_notice_versions: col(&row, "notice_versions")?,
        appointments: col(&row, "appointments")?,
        appointment_history: col(&row, "appointment_history")?,
    })
}

pub(super) const PERSON_BY_NUMBER: &str = "SELECT * FROM people WHERE prison_number = $1";
pub(super) const PEOPLE_BY_NHS: &str = "SELECT p.* FROM people p JOIN identity_links l ON l.prison_number = p.prison_number WHERE l.nhs_number = $1 AND l.active = $2 ORDER BY p.prison_number";
pub(super) const PEOPLE_BY_NAME: &str = "SELECT * FROM people WHERE family_name_key = $1 AND date_of_birth = $2 ORDER BY prison_number LIMIT 50";
pub(super) const PEOPLE_AT: &str = "SELECT * FROM people WHERE establishment = $1 AND prison_number > $2 ORDER BY prison_number LIMIT $3";

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::ReadStore for EngineStore {
    async fn person(&self, pn: &PrisonNumber) -> Result<Option<PersonRecord>> {
        person(&self.reader, pn).await
    }
    async fn people_by_nhs_number(&self, nhs: &NhsNumber) -> Result<Vec<PersonRecord>> {
        people_by_nhs_number(&self.reader, nhs).await
    }
    async fn people_by_name(
        &self,
        family: &str,
        given: Option<&str>,
        dob: NaiveDate,
    ) -> Result<Vec<PersonRecord>> {
        people_by_name(&self.reader, family, given, dob).await
    }
    async fn people_at(
        &self,
        est: &EstablishmentCode,
        page: &PageRequest,
    ) -> Result<Page<PersonRecord>> {
        people_at(&self.reader, est, page).await
    }
    async fn movements(
        &self,
        pn: &PrisonNumber,
        page: &PageRequest,
    ) -> Result<Page<MovementRecord>> {
        movements(&self.reader, pn, page).await
    }
    async fn alerts(
        &self,
        pn: &PrisonNumber,
        active_only: bool,
        page: &PageRequest,
    ) -> Result<Page<AlertRecord>> {
        alerts(&self.reader, pn, active_only, page).await
    }
    async fn planned_movements(
        &self,
        pn: &PrisonNumber,
        include_closed: bool,
    ) -> Result<Vec<PlannedRecord>> {
        planned_movements(&self.reader, pn, include_closed).await
    }
    async fn identity_links(&self, pn: &PrisonNumber) -> Result<Vec<IdentityLinkRecord>> {
        identity_links(&self.reader, pn).await
    }
}
