//! Identity links written through the identity API.
//!
//! A link is never silently overwritten. Linking the number already linked
//! upgrades its provenance (a PDS trace confirming a number the prison feed
//! carried) and keeps the old link as history; a different number, or a number
//! linked to someone else, is a conflict for review.

use super::audit::record_change;
use super::decode::link_from_row;
use super::engine::{Db, EngineStore, begin_write, now};
use super::feed::emit_event;
use super::notices::lock_person_establishment;
use crate::disclosure::WriteAudit;
use crate::model::*;
use crate::{Result, StoreError, events};
use gatehouse_domain::{NhsNumber, PrisonNumber};
use serde_json::json;

pub(super) async fn link_identity(
    pool: &sqlx::Pool<Db>,
    pn: &PrisonNumber,
    nhs: &NhsNumber,
    method: LinkMethod,
    verification: &str,
    linked_by: &str,
    audit: &WriteAudit,
) -> Result<IdentityLinkRecord> {
    let mut tx = begin_write(pool).await?;
    let establishment = lock_person_establishment(&mut tx, pn.as_str())
        .await?
        .ok_or_else(|| StoreError::NotFound("no person with this prison number".into()))?;
    let taken = sqlx::query("SELECT prison_number FROM identity_links WHERE nhs_number = $1 AND active = $2 AND prison_number <> $3")
        .bind(nhs.as_str())
        .bind(true)
        .bind(pn.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict("this NHS number is linked to another person: the conflict needs review, and nothing was linked".into()));
    }
    let current =
        sqlx::query("SELECT * FROM identity_links WHERE prison_number = $1 AND active = $2")
            .bind(pn.as_str())
            .bind(true)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| link_from_row(&r))
            .transpose()?;
    if let Some(c) = &current {
        if c.nhs_number != *nhs {
            return Err(StoreError::Conflict(
                "a different NHS number is linked to this person; links are never overwritten: unlink it first, with a reason".into(),
            ));
        }
        // The same number, with better provenance: keep the old link as history.
        sqlx::query("UPDATE identity_links SET active = $1, unlinked_at = $2, unlinked_by = $3 WHERE prison_number = $4 AND active = $5")
            .bind(false)
            .bind(now())
            .bind(linked_by)
            .bind(pn.as_str())
            .bind(true)
            .execute(&mut *tx)
            .await?;
    }
    let now = now();
    sqlx::query(
        "INSERT INTO identity_links (prison_number, nhs_number, method, verification, linked_by, linked_at, active) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(pn.as_str())
    .bind(nhs.as_str())
    .bind(method.as_str())
    .bind(verification)
    .bind(linked_by)
    .bind(now)
    .bind(true)
    .execute(&mut *tx)
    .await?;
    emit_event(
        &mut tx,
        pn.as_str(),
        events::IDENTITY_LINKED,
        establishment.as_deref(),
        now,
        now,
        json!({"prisonNumber": pn.as_str(), "method": method.as_str(), "verification": verification}),
    )
    .await?;
    let row = sqlx::query("SELECT * FROM identity_links WHERE prison_number = $1 AND active = $2")
        .bind(pn.as_str())
        .bind(true)
        .fetch_one(&mut *tx)
        .await?;
    record_change(
        &mut tx,
        audit,
        &[format!("identity-link:{}:{verification}", method.as_str())],
    )
    .await?;
    tx.commit().await?;
    link_from_row(&row)
}

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::IdentityStore for EngineStore {
    async fn link_identity(
        &self,
        pn: &PrisonNumber,
        nhs: &NhsNumber,
        method: LinkMethod,
        verification: &str,
        linked_by: &str,
        audit: &WriteAudit,
    ) -> Result<IdentityLinkRecord> {
        link_identity(
            &self.writer,
            pn,
            nhs,
            method,
            verification,
            linked_by,
            audit,
        )
        .await
    }
}
