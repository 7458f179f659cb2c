//! The prison feed: items applied in chunks, with the ledger, the custody
//!! projection, the outbox and the audit records in the same transaction.

use super::appointments::{apply_departure, reassess_person};
use super::audit::append_audit_in;
use super::continuity::{cancel_continuity, journey_has_check, raise_continuity, refresh_incoming};
use super::decode::{alert_from_row, col, parsed, person_from_row, planned_from_row};
use super::engine::{Db, EngineStore, LOCK_PERSON, Tx, begin_write, now};
use super::feed_set::apply_chunk_set;
use crate::disclosure::WriteAudit;
use crate::model::*;
use crate::{FeedBatch, FeedEntry, Result, StoreError, events};
use chrono::{DateTime, Utc};
use gatehouse_domain::feed::{FeedCommand, FeedItem};
use gatehouse_domain::{
    AlertCode, CustodyState, EstablishmentCode, Movement, MovementKind, NhsNumber, PersonDetails,
    PlannedMovement, PlannedMovementKind, PlannedStatus, PrisonAlert,
};
use serde_json::json;

/// How many items of a partial batch share one transaction.
pub(super) const PARTIAL_CHUNK: usize = 500;

/// Applies a batch. Database failures abort with an error; refused items are outcomes.
pub(super) async fn apply_feed(
    pool: &sqlx::Pool<Db>,
    entries: Vec<FeedEntry>,
    mode: BatchMode,
    source: &str,
    audit: &WriteAudit,
) -> Result<Vec<ItemOutcome>> {
    let now = now();
    let mut outcomes = Vec::with_capacity(entries.len());
    match mode {
        BatchMode::Partial => {
            // One transaction per chunk, one savepoint per item: a refused item
            // rolls back to its savepoint and the rest of the chunk stands.
            let mut entries = entries.into_iter().enumerate().peekable();
            while entries.peek().is_some() {
                let chunk: Vec<(usize, FeedEntry)> = entries.by_ref().take(PARTIAL_CHUNK).collect();
                let audits = vec![audit; chunk.len()];
                outcomes.extend(apply_partial_chunk(pool, &chunk, source, now, &audits).await?);
            }
        }
        BatchMode::Atomic => {
            // Refusals at parsing fail the batch before anything is written.
            let any_refused = entries.iter().any(|e| matches!(e, FeedEntry::Refused(_)));
            let mut tx = begin_write(pool).await?;
            let mut failed = any_refused;
            let mut applied = Vec::new();
            for (index, entry) in entries.iter().enumerate() {
                match entry {
                    FeedEntry::Refused(e) => applied.push(ItemOutcome::rejected(
                        index,
                        e.event_id.as_ref(),
                        &e.error.field,
                        e.error.rule.clone(),
                    )),
                    FeedEntry::Parsed(item) if !failed => {
                        match apply_item(&mut tx, item, source, index, now).await? {
                            Ok(o) => applied.push(o),
                            Err(r) => {
                                failed = true;
                                applied.push(r);
                            }
                        }
                    }
                    FeedEntry::Parsed(item) => applied.push(not_applied(index, item)),
                }
            }
            if failed {
                tx.rollback().await?;
                for o in applied.iter_mut() {
                    if o.status != ItemStatus::Rejected {
                        o.status = ItemStatus::NotApplied;
                        o.changes.clear();
                    }
                }
            } else {
                append_audit_in(&mut tx, &feed_records(audit, &applied)).await?;
                tx.commit().await?;
            }
            outcomes = applied;
        }
    }
    Ok(outcomes)
}

/// One chunk of a partial batch (or of several batches grouped: `audits` says
/// whose record each item's is): set-based first (feed_set.rs), item by item
/// when the chunk needs it or the set-based writes failed unexpectedly; the
/// whole chunk again after a deadlock or serialisation failure.
pub(super) async fn apply_partial_chunk(
    pool: &sqlx::Pool<Db>,
    chunk: &[(usize, FeedEntry)],
    source: &str,
    now: DateTime<Utc>,
    audits: &[&WriteAudit],
) -> Result<Vec<ItemOutcome>> {
    let mut attempt = 0;
    let mut set_based = true;
    loop {
        let applied = if set_based {
            match apply_chunk_set(pool, chunk, source, now, audits).await {
                Ok(Some(done)) => Ok(done),
                Ok(None) => {
                    set_based = false;
                    continue;
                }
                Err(e) if is_retryable(&e) => Err(e),
                Err(_) => {
                    set_based = false;
                    continue;
                }
            }
        } else {
            apply_chunk(pool, chunk, source, now, audits).await
        };
        match applied {
            Ok(done) => return Ok(done),
            // Writers on other instances may lock the same people in another order.
            Err(e) if is_retryable(&e) && attempt < 5 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10 << attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Several partial batches from concurrent requests, applied together (group
/// commit): their items in arrival order, cut into chunks as one batch would
/// be, each item recorded under its own request's audit. Only batches of the
/// same source are grouped (the source is written with every row). Returns
/// each batch's outcomes, indexed as in that batch. The effect is that of the
/// batches applied one after another, in the order given.
pub(super) async fn apply_feed_group(
    pool: &sqlx::Pool<Db>,
    batches: Vec<FeedBatch>,
) -> Result<Vec<Vec<ItemOutcome>>> {
    let now = now();
    let mut out: Vec<Vec<ItemOutcome>> = batches
        .iter()
        .map(|b| Vec::with_capacity(b.entries.len()))
        .collect();
    let mut pending: std::collections::VecDeque<(usize, (usize, FeedEntry))> = Default::default();
    let mut audits_of: Vec<WriteAudit> = Vec::with_capacity(batches.len());
    let mut sources: Vec<String> = Vec::with_capacity(batches.len());
    for (b, batch) in batches.into_iter().enumerate() {
        audits_of.push(batch.audit);
        sources.push(batch.source);
        pending.extend(batch.entries.into_iter().enumerate().map(|item| (b, item)));
    }
    // Runs of the same source, each cut into chunks.
    while let Some((first, _)) = pending.front() {
        let source = sources[*first].clone();
        let mut owners = Vec::new();
        let mut chunk: Vec<(usize, FeedEntry)> = Vec::new();
        while chunk.len() < PARTIAL_CHUNK
            && pending.front().is_some_and(|(b, _)| sources[*b] == source)
        {
            let (b, item) = pending.pop_front().expect("front was some");
            owners.push(b);
            chunk.push(item);
        }
        let audits: Vec<&WriteAudit> = owners.iter().map(|b| &audits_of[*b]).collect();
        let done = apply_partial_chunk(pool, &chunk, &source, now, &audits).await?;
        for (b, o) in owners.into_iter().zip(done) {
            out[b].push(o);
        }
    }
    Ok(out)
}

pub(super) async fn apply_chunk(
    pool: &sqlx::Pool<Db>,
    chunk: &[(usize, FeedEntry)],
    source: &str,
    now: DateTime<Utc>,
    audits: &[&WriteAudit],
) -> Result<Vec<ItemOutcome>> {
    let mut outcomes = Vec::with_capacity(chunk.len());
    let mut tx = begin_write(pool).await?;
    for (index, entry) in chunk {
        let item = match entry {
            FeedEntry::Refused(e) => {
                outcomes.push(ItemOutcome::rejected(
                    *index,
                    e.event_id.as_ref(),
                    &e.error.field,
                    e.error.rule.clone(),
                ));
                continue;
            }
            FeedEntry::Parsed(item) => item,
        };
        let mut savepoint = sqlx::Acquire::begin(&mut *tx).await?;
        match apply_item(&mut savepoint, item, source, *index, now).await? {
            Ok(outcome) => {
                savepoint.commit().await?;
                outcomes.push(outcome);
            }
            Err(refused) => {
                savepoint.rollback().await?;
                outcomes.push(refused);
            }
        }
    }
    // The records of the items that stood (their savepoints committed), in the
    // chunk's transaction: an item and its record commit together.
    append_audit_in(&mut tx, &feed_records_each(audits, &outcomes)).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// One record per item that wrote to a person (stored, superseded or
/// acknowledged), naming the event type it wrote.
pub(super) fn feed_records_each(
    audits: &[&WriteAudit],
    outcomes: &[ItemOutcome],
) -> Vec<NewDisclosure> {
    audits
        .iter()
        .zip(outcomes)
        .flat_map(|(audit, o)| feed_records(audit, std::slice::from_ref(o)))
        .collect()
}

/// [`feed_records_each`] with one audit for every item.
pub(super) fn feed_records(audit: &WriteAudit, outcomes: &[ItemOutcome]) -> Vec<NewDisclosure> {
    outcomes
        .iter()
        .filter(|o| {
            matches!(
                o.status,
                ItemStatus::Stored | ItemStatus::Superseded | ItemStatus::Acknowledged
            )
        })
        .filter_map(|o| {
            let pn = o.prison_number.as_deref()?;
            audit.written_for(pn, &[o.event_type.clone().unwrap_or_default()])
        })
        .collect()
}

/// Deadlocks and serialisation failures: the transaction can simply run again.
pub(super) fn is_retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40P01") | Some("40001"))
        }
        _ => false,
    }
}

pub(super) fn not_applied(index: usize, item: &FeedItem) -> ItemOutcome {
    ItemOutcome {
        index,
        event_id: Some(item.event_id.as_str().to_owned()),
        event_type: Some(item.event_type.clone()),
        prison_number: Some(item.prison_number.as_str().to_owned()),
        status: ItemStatus::NotApplied,
        changes: vec![],
        problem: None,
    }
}

/// The working state of one item's application.
pub(super) struct Applying<'a> {
    pub(super) item: &'a FeedItem,
    pub(super) source: &'a str,
    pub(super) index: usize,
    pub(super) now: DateTime<Utc>,
    pub(super) changes: Vec<String>,
    /// Some of what the item said was older than what is held.
    pub(super) superseded: bool,
    /// Outbox events raised: none means the current state did not change.
    pub(super) emitted: std::sync::atomic::AtomicUsize,
}

impl Applying<'_> {
    fn refuse(&self, field: &str, rule: impl Into<String>) -> ItemOutcome {
        let mut o = ItemOutcome::rejected(self.index, Some(&self.item.event_id), field, rule);
        o.event_type = Some(self.item.event_type.clone());
        o.prison_number = Some(self.item.prison_number.as_str().to_owned());
        o
    }
}

/// Applies one item inside `tx`. `Ok(Err(outcome))` means refused: the caller rolls back.
pub(super) async fn apply_item(
    tx: &mut Tx<'_>,
    item: &FeedItem,
    source: &str,
    index: usize,
    now: DateTime<Utc>,
) -> Result<Result<ItemOutcome, ItemOutcome>> {
    let mut a = Applying {
        item,
        source,
        index,
        now,
        changes: vec![],
        superseded: false,
        emitted: Default::default(),
    };
    let pn = item.prison_number.as_str();

    // Idempotency: a replay gets the first answer; a reused id with other content is refused.
    let prior = sqlx::query("SELECT content_hash, outcome FROM feed_ledger WHERE event_id = $1")
        .bind(item.event_id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = prior {
        let hash: String = col(&row, "content_hash")?;
        if hash != item.content_hash {
            return Ok(Err(a
                .refuse(
                    "id",
                    "this event id was already used for an item with different content",
                )
                .as_conflict()));
        }
        let text: String = col(&row, "outcome")?;
        let mut first: ItemOutcome = parsed("feed_ledger.outcome", serde_json::from_str(&text))?;
        first.index = index;
        return Ok(Ok(first));
    }

    for (field, code) in referenced_establishments(&item.command) {
        let known = sqlx::query("SELECT 1 FROM establishments WHERE code = $1")
            .bind(code.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        if known.is_none() {
            return Ok(Err(a.refuse(
                field,
                format!(
                    "'{}' is not an establishment known to Gatehouse",
                    code.as_str()
                ),
            )));
        }
    }

    let result = match &item.command {
        FeedCommand::Acknowledge { note } => {
            a.changes.push(note.clone());
            Ok(ItemStatus::Acknowledged)
        }
        command => {
            sqlx::query("INSERT INTO people (prison_number, created_at, updated_at) VALUES ($1, $2, $2) ON CONFLICT (prison_number) DO NOTHING")
                .bind(pn)
                .bind(now)
                .execute(&mut **tx)
                .await?;
            let row = sqlx::query(LOCK_PERSON)
                .bind(pn)
                .fetch_one(&mut **tx)
                .await?;
            let person = person_from_row(&row, None)?;
            let r = match command {
                FeedCommand::UpsertPerson {
                    details,
                    nhs_number,
                } => {
                    upsert_person(tx, &mut a, &person, details.as_ref(), nhs_number.as_ref())
                        .await?
                }
                FeedCommand::RecordMovement(m) => record_movement(tx, &mut a, &person, m).await?,
                FeedCommand::UpsertAlert(alert) => upsert_alert(tx, &mut a, &person, alert).await?,
                FeedCommand::AlertsChanged { added, removed } => {
                    alerts_changed(tx, &mut a, &person, added, removed).await?
                }
                FeedCommand::UpsertPlanned(p) => upsert_planned(tx, &mut a, &person, p).await?,
                FeedCommand::CancelPlanned { id } => {
                    cancel_planned(tx, &mut a, &person, id).await?
                }
                FeedCommand::Acknowledge { .. } => unreachable!("handled above"),
            };
            if r.is_ok() {
                sqlx::query("UPDATE people SET updated_at = $1 WHERE prison_number = $2")
                    .bind(now)
                    .bind(pn)
                    .execute(&mut **tx)
                    .await?;
            }
            r
        }
    };
    let status = match result {
        Err(refused) => return Ok(Err(refused)),
        Ok(s)
            if s == ItemStatus::Stored
                && a.superseded
                && a.emitted.load(std::sync::atomic::Ordering::Relaxed) == 0 =>
        {
            ItemStatus::Superseded
        }
        Ok(s) => s,
    };
    let outcome = ItemOutcome {
        index,
        event_id: Some(item.event_id.as_str().to_owned()),
        event_type: Some(item.event_type.clone()),
        prison_number: Some(pn.to_owned()),
        status,
        changes: a.changes,
        problem: None,
    };
    sqlx::query(
        "INSERT INTO feed_ledger (event_id, content_hash, event_type, prison_number, occurred_at, received_at, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(item.event_id.as_str())
    .bind(&item.content_hash)
    .bind(&item.event_type)
    .bind(pn)
    .bind(item.occurred_at)
    .bind(now)
    .bind(serde_json::to_string(&outcome).expect("outcome serialises"))
    .execute(&mut **tx)
    .await?;
    Ok(Ok(outcome))
}

pub(super) fn referenced_establishments(
    c: &FeedCommand,
) -> Vec<(&'static str, &EstablishmentCode)> {
    let mut v = Vec::new();
    match c {
        FeedCommand::RecordMovement(m) => {
            v.push(("movement.establishment", &m.establishment));
            if let Some(d) = &m.destination {
                v.push(("movement.destination", d));
            }
        }
        FeedCommand::UpsertPlanned(p) => {
            v.push(("plannedMovement.establishment", &p.establishment));
            if let Some(d) = &p.destination {
                v.push(("plannedMovement.destination", d));
            }
        }
        _ => {}
    }
    v
}

/// Appends an outbox event for the person, with the next per-person sequence number.
pub(super) async fn emit(
    tx: &mut Tx<'_>,
    a: &Applying<'_>,
    event_type: &str,
    establishment: Option<&EstablishmentCode>,
    data: serde_json::Value,
) -> Result<()> {
    a.emitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    emit_event(
        tx,
        a.item.prison_number.as_str(),
        event_type,
        establishment.map(|e| e.as_str()),
        a.item.occurred_at,
        a.now,
        data,
    )
    .await
}

/// Appends an outbox event in the caller's transaction: the one way every change raises an event.
pub(super) async fn emit_event(
    tx: &mut Tx<'_>,
    pn: &str,
    event_type: &str,
    establishment: Option<&str>,
    occurred_at: DateTime<Utc>,
    now: DateTime<Utc>,
    data: serde_json::Value,
) -> Result<()> {
    let row = sqlx::query(
        "UPDATE people SET event_seq = event_seq + 1 WHERE prison_number = $1 RETURNING event_seq",
    )
    .bind(pn)
    .fetch_one(&mut **tx)
    .await?;
    let subject_seq: i64 = col(&row, "event_seq")?;
    sqlx::query(
        "INSERT INTO outbox (id, type, subject, subject_seq, establishment, occurred_at, recorded_at, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(event_type)
    .bind(pn)
    .bind(subject_seq)
    .bind(establishment)
    .bind(occurred_at)
    .bind(now)
    .bind(data.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) type Applied = std::result::Result<ItemStatus, ItemOutcome>;

pub(super) async fn upsert_person(
    tx: &mut Tx<'_>,
    a: &mut Applying<'_>,
    person: &PersonRecord,
    details: Option<&PersonDetails>,
    nhs: Option<&NhsNumber>,
) -> Result<Applied> {
    let pn = a.item.prison_number.as_str();
    let at = a.item.occurred_at;
    let home = person.custody.as_ref().map(|c| c.establishment.clone());
    if let Some(nhs) = nhs {
        let current = sqlx::query(
            "SELECT nhs_number FROM identity_links WHERE prison_number = $1 AND active = $2",
        )
        .bind(pn)
        .bind(true)
        .fetch_optional(&mut **tx)
        .await?;
        match current {
            Some(row) if col::<String>(&row, "nhs_number")? == nhs.as_str() => {}
            Some(_) => {
                return Ok(Err(a
                    .refuse(
                        "person.nhsNumber",
                        "differs from the NHS number already linked to this person; links are never overwritten silently: change them through the identity API",
                    )
                    .as_conflict()));
            }
            None => {
                let taken = sqlx::query(
                    "SELECT 1 FROM identity_links WHERE nhs_number = $1 AND active = $2",
                )
                .bind(nhs.as_str())
                .bind(true)
                .fetch_optional(&mut **tx)
                .await?;
                if taken.is_some() {
                    return Ok(Err(a.refuse("person.nhsNumber", "is already linked to another person; the conflict needs review through the identity API").as_conflict()));
                }
                sqlx::query(
                    "INSERT INTO identity_links (prison_number, nhs_number, method, verification, linked_by, linked_at, active) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(pn)
                .bind(nhs.as_str())
                .bind(LinkMethod::PrisonFeed.as_str())
                .bind(verification::PRESENT_NOT_TRACED)
                .bind(a.source)
                .bind(a.now)
                .bind(true)
                .execute(&mut **tx)
                .await?;
                a.changes
                    .push("NHS number linked (from the prison feed; not yet traced)".into());
                emit(tx, a, events::IDENTITY_LINKED, home.as_ref(), json!({"prisonNumber": pn, "method": "prison-feed", "verification": verification::PRESENT_NOT_TRACED})).await?;
            }
        }
    }
    if let Some(d) = details {
        if person.details_as_of.is_some_and(|held| held > at) {
            a.superseded = true;
        } else if person.details.as_ref() != Some(d) {
            sqlx::query(
                "UPDATE people SET given_name = $1, family_name = $2, family_name_key = $3, date_of_birth = $4, details_as_of = $5, details_source = $6 \
                 WHERE prison_number = $7",
            )
            .bind(&d.name.given_name)
            .bind(&d.name.family_name)
            .bind(d.name.family_name.to_uppercase())
            .bind(d.date_of_birth)
            .bind(at)
            .bind(a.source)
            .bind(pn)
            .execute(&mut **tx)
            .await?;
            a.changes.push(if person.details.is_some() {
                "details updated".into()
            } else {
                "person created".to_string()
            });
            emit(
                tx,
                a,
                events::PERSON_DETAILS_CHANGED,
                home.as_ref(),
                json!({"prisonNumber": pn}),
            )
            .await?;
        } else {
            sqlx::query("UPDATE people SET details_as_of = $1 WHERE prison_number = $2")
                .bind(at)
                .bind(pn)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(Ok(ItemStatus::Stored))
}

pub(super) async fn record_movement(
    tx: &mut Tx<'_>,
    a: &mut Applying<'_>,
    person: &PersonRecord,
    m: &Movement,
) -> Result<Applied> {
    let pn = a.item.prison_number.as_str();
    let row = sqlx::query(
        "INSERT INTO movements (prison_number, kind, reason, establishment, destination, cell, occurred_at, event_id, source, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq",
    )
    .bind(pn)
    .bind(m.kind.as_str())
    .bind(m.reason.as_str())
    .bind(m.establishment.as_str())
    .bind(m.destination.as_ref().map(|d| d.as_str()))
    .bind(m.cell.as_ref().map(|c| c.as_str()))
    .bind(m.occurred_at)
    .bind(a.item.event_id.as_str())
    .bind(a.source)
    .bind(a.now)
    .fetch_one(&mut **tx)
    .await?;
    let seq: i64 = col(&row, "seq")?;
    a.changes.push(format!("{} recorded", m.kind.as_str()));

    let newest = person
        .custody
        .as_ref()
        .is_none_or(|c| c.is_superseded_by(m.occurred_at));
    if newest {
        let state = CustodyState::after(m);
        sqlx::query(
            "UPDATE people SET custody_status = $1, establishment = $2, location = $3, cell = $4, destination = $5, custody_since = $6, custody_source = $7 \
             WHERE prison_number = $8",
        )
        .bind(state.status.as_str())
        .bind(state.establishment.as_str())
        .bind(state.location.as_str())
        .bind(state.cell.as_ref().map(|c| c.as_str()))
        .bind(state.destination.as_ref().map(|d| d.as_str()))
        .bind(state.since)
        .bind(a.source)
        .bind(pn)
        .execute(&mut **tx)
        .await?;
        a.changes.push(format!(
            "custody status now {} at {}",
            state.status.as_str(),
            state.location.as_str()
        ));
        let mut data = json!({"prisonNumber": pn, "movement": m, "custody": state});
        if let Some(prev) = &person.custody {
            data["previousEstablishment"] = json!(prev.establishment);
        }
        emit(
            tx,
            a,
            events::for_movement(m.kind, m.reason),
            Some(&state.establishment),
            data,
        )
        .await?;
    } else {
        a.superseded = true;
        a.changes.push("kept in history only: a later movement is already held, so custody status is unchanged".into());
    }

    // A real movement replaces the plan it carries out.
    let plans =
        sqlx::query("SELECT * FROM planned_movements WHERE prison_number = $1 AND status = $2")
            .bind(pn)
            .bind(PlannedStatus::Planned.as_str())
            .fetch_all(&mut **tx)
            .await?;
    let mut fulfilled = Vec::new();
    for row in &plans {
        let plan = planned_from_row(row)?;
        if plan.planned.is_fulfilled_by(m) {
            fulfilled.push(plan.planned.id.clone());
            sqlx::query("UPDATE planned_movements SET status = $1, fulfilled_by = $2, updated_at = $3 WHERE plan_id = $4")
                .bind(PlannedStatus::Completed.as_str())
                .bind(seq)
                .bind(a.now)
                .bind(&plan.planned.id)
                .execute(&mut **tx)
                .await?;
            a.changes.push(format!(
                "planned {} {} completed by this movement",
                plan.planned.kind.as_str(),
                plan.planned.id
            ));
            emit(
                tx,
                a,
                events::PLANNED_MOVEMENT_COMPLETED,
                Some(&plan.planned.establishment),
                json!({"prisonNumber": pn, "plannedMovementId": plan.planned.id}),
            )
            .await?;
        }
    }
    if !fulfilled.is_empty() {
        refresh_incoming(tx, pn).await?;
    }
    // An unplanned transfer or release still needs its medicines to travel.
    let kind = match m.kind {
        MovementKind::TransferOut => Some("transfer"),
        MovementKind::Release => Some("release"),
        _ => None,
    };
    if let Some(kind) = kind
        && newest
        && !journey_has_check(tx, pn, &fulfilled, kind, m.destination.as_ref(), a.now).await?
    {
        let event_id = a.item.event_id.as_str().to_owned();
        raise_continuity(
            tx,
            a,
            kind,
            &event_id,
            false,
            &m.establishment,
            m.destination.as_ref(),
            m.occurred_at,
        )
        .await?;
    }
    // Only a departure can strand an appointment: cell moves and receptions skip the query.
    let departs = matches!(
        m.kind,
        MovementKind::CourtOut
            | MovementKind::TransferOut
            | MovementKind::Release
            | MovementKind::HospitalOut
    );
    if newest && departs {
        let changes = apply_departure(tx, pn, m, a.now).await?;
        a.changes.extend(changes);
    }
    note_risks(tx, a, pn).await?;
    Ok(Ok(ItemStatus::Stored))
}

/// Runs the appointment clash rules after a change to the person's movements or plans.
pub(super) async fn note_risks(tx: &mut Tx<'_>, a: &mut Applying<'_>, pn: &str) -> Result<()> {
    let risky = reassess_person(tx, pn, a.now).await?;
    if risky > 0 {
        a.changes
            .push(format!("{risky} appointment(s) now at risk"));
    }
    Ok(())
}

pub(super) async fn load_alert(tx: &mut Tx<'_>, pn: &str, id: &str) -> Result<Option<AlertRecord>> {
    let row = sqlx::query("SELECT * FROM alerts WHERE prison_number = $1 AND alert_id = $2")
        .bind(pn)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(alert_from_row).transpose()
}

pub(super) async fn write_alert(
    tx: &mut Tx<'_>,
    a: &mut Applying<'_>,
    person: &PersonRecord,
    alert: &PrisonAlert,
    prior: Option<&AlertRecord>,
) -> Result<()> {
    let pn = a.item.prison_number.as_str();
    sqlx::query(
        "INSERT INTO alerts (prison_number, alert_id, code, active, active_from, active_to, as_of, source, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (prison_number, alert_id) DO UPDATE SET code = excluded.code, active = excluded.active, \
         active_from = excluded.active_from, active_to = excluded.active_to, as_of = excluded.as_of, source = excluded.source, updated_at = excluded.updated_at",
    )
    .bind(pn)
    .bind(&alert.id)
    .bind(alert.code.as_str())
    .bind(alert.active)
    .bind(alert.active_from)
    .bind(alert.active_to)
    .bind(a.item.occurred_at)
    .bind(a.source)
    .bind(a.now)
    .execute(&mut **tx)
    .await?;
    let was_active = prior.is_some_and(|p| p.alert.active);
    let home = person.custody.as_ref().map(|c| &c.establishment);
    let data = json!({"prisonNumber": pn, "alert": alert, "description": alert.code.description()});
    if alert.active && !was_active {
        a.changes
            .push(format!("alert {} raised", alert.code.as_str()));
        emit(tx, a, events::ALERT_RAISED, home, data).await?;
    } else if !alert.active && was_active {
        a.changes
            .push(format!("alert {} closed", alert.code.as_str()));
        emit(tx, a, events::ALERT_CLOSED, home, data).await?;
    } else if prior.map(|p| &p.alert) != Some(alert) {
        a.changes
            .push(format!("alert {} updated", alert.code.as_str()));
    }
    Ok(())
}

pub(super) async fn upsert_alert(
    tx: &mut Tx<'_>,
    a: &mut Applying<'_>,
    person: &PersonRecord,
    alert: &PrisonAlert,
) -> Result<Applied> {
    let prior = load_alert(tx, a.item.prison_number.as_str(), &alert.id).await?;
    if let Some(p) = &prior {
        if p.as_of > a.item.occurred_at {
            a.superseded = true;
            return Ok(Ok(ItemStatus::Stored));
        }
        if p.alert.code != alert.code {
            return Ok(Err(a.refuse(
                "alertCode",
                "differs from the code this alert id already has; an alert's code never changes",
            )));
        }
    }
    write_alert(tx, a, person, alert, prior.as_ref()).await?;
    Ok(Ok(ItemStatus::Stored))
}

pub(super) async fn alerts_changed(
    tx: &mut Tx<'_>,
    a: &mut Applying<'_>,
    person: &PersonRecord,
    added: &[AlertCode],
    removed: &[AlertCode],
) -> Result<Applied> {
    let pn = a.item.prison_number.as_str();
    let at = a.item.occurred_at;
    let rows = sqlx::query("SELECT * FROM alerts WHERE prison_number = $1")
        .bind(pn)
        .fetch_all(&mut **tx)
        .await?;
    let held: Vec<AlertRecord> = rows.iter().map(alert_from_row).collect::<Result<_>>()?;
    for code in added {
        let same_code: Vec<&AlertRecord> = held.iter().filter(|h| &h.alert.code == code).collect();
        if same_code.iter().any(|h| h.alert.active) {
            continue;
        }
        if same_code.iter().any(|h| h.as_of > at) {
            a.superseded = true;
            continue;
        }
        let id = format!("code:{}", code.as_str());
        let prior = held.iter().find(|h| h.alert.id == id);
        let alert = PrisonAlert {
            id: id.clone(),
            code: code.clone(),
            active: true,
            active_from: Some(at.date_naive()),
            active_to: None,
        };
        write_alert(tx, a, person, &alert, prior).await?;
    }
    for code in removed {
        for h in held
            .iter()
            .filter(|h| &h.alert.code == code && h.alert.active)
        {
            if h.as_of > at {
                a.superseded = true;
                continue;
            }
            let alert = PrisonAlert {
                active: false,
                active_to: Some(at.date_naive()),
                ..h.alert.clone()
            };
            write_alert(tx, a, person, &alert, Some(h)).await?;
        }
    }
    Ok(Ok(ItemStatus::Stored))
}

pub(super) async fn load_plan(tx: &mut Tx<'_>, id: &str) -> Result<Option<PlannedRecord>> {
    let row = sqlx::query("SELECT * FROM planned_movements WHERE plan_id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(planned_from_row).transpose()
}

pub(super) async fn upsert_planned(
    tx: &mut Tx<'_>,
    a: &mut Applying<'_>,
    _person: &PersonRecord,
    p: &PlannedMovement,
) -> Result<Applied> {
    let pn = a.item.prison_number.as_str();
    let prior = load_plan(tx, &p.id).await?;
    if let Some(prior) = &prior {
        if prior.prison_number != a.item.prison_number {
            return Ok(Err(a.refuse(
                "plannedMovement.id",
                "is already used by a planned movement of another person",
            )));
        }
        if prior.as_of > a.item.occurred_at {
            a.superseded = true;
            return Ok(Ok(ItemStatus::Stored));
        }
        if prior.status == PlannedStatus::Completed {
            return Ok(Err(a.refuse(
                "plannedMovement.id",
                "this planned movement has already been carried out; post a new one",
            )));
        }
        if prior.planned.kind != p.kind {
            return Ok(Err(a.refuse(
                "plannedMovement.kind",
                "differs from the kind of the planned movement with this id",
            )));
        }
    }
    sqlx::query(
        "INSERT INTO planned_movements (plan_id, prison_number, kind, establishment, destination, planned_for, description, status, as_of, source, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (plan_id) DO UPDATE SET establishment = excluded.establishment, destination = excluded.destination, \
         planned_for = excluded.planned_for, description = excluded.description, status = excluded.status, as_of = excluded.as_of, \
         source = excluded.source, updated_at = excluded.updated_at",
    )
    .bind(&p.id)
    .bind(pn)
    .bind(p.kind.as_str())
    .bind(p.establishment.as_str())
    .bind(p.destination.as_ref().map(|d| d.as_str()))
    .bind(p.planned_for)
    .bind(&p.description)
    .bind(PlannedStatus::Planned.as_str())
    .bind(a.item.occurred_at)
    .bind(a.source)
    .bind(a.now)
    .execute(&mut **tx)
    .await?;
    let (verb, event) = if prior.is_some() {
        ("amended", events::PLANNED_MOVEMENT_AMENDED)
    } else {
        ("scheduled", events::PLANNED_MOVEMENT_SCHEDULED)
    };
    a.changes
        .push(format!("planned {} {} {verb}", p.kind.as_str(), p.id));
    emit(
        tx,
        a,
        event,
        Some(&p.establishment),
        json!({"prisonNumber": pn, "plannedMovement": p}),
    )
    .await?;
    match p.kind {
        PlannedMovementKind::Transfer => {
            raise_continuity(
                tx,
                a,
                "transfer",
                &p.id,
                true,
                &p.establishment,
                p.destination.as_ref(),
                p.planned_for,
            )
            .await?
        }
        PlannedMovementKind::Release => {
            raise_continuity(
                tx,
                a,
                "release",
                &p.id,
                true,
                &p.establishment,
                None,
                p.planned_for,
            )
            .await?
        }
        _ => {}
    }
    refresh_incoming(tx, pn).await?;
    note_risks(tx, a, pn).await?;
    Ok(Ok(ItemStatus::Stored))
}

pub(super) async fn cancel_planned(
    tx: &mut Tx<'_>,
    a: &mut Applying<'_>,
    _person: &PersonRecord,
    id: &str,
) -> Result<Applied> {
    let pn = a.item.prison_number.as_str();
    let Some(prior) = load_plan(tx, id)
        .await?
        .filter(|p| p.prison_number == a.item.prison_number)
    else {
        return Ok(Err(a.refuse(
            "plannedMovementId",
            "no planned movement with this id is held for this person",
        )));
    };
    if prior.as_of > a.item.occurred_at {
        a.superseded = true;
        return Ok(Ok(ItemStatus::Stored));
    }
    match prior.status {
        PlannedStatus::Completed => {
            return Ok(Err(a.refuse(
                "plannedMovementId",
                "this planned movement has already been carried out",
            )));
        }
        PlannedStatus::Cancelled => return Ok(Ok(ItemStatus::Stored)),
        PlannedStatus::Planned => {}
    }
    sqlx::query("UPDATE planned_movements SET status = $1, as_of = $2, source = $3, updated_at = $4 WHERE plan_id = $5")
        .bind(PlannedStatus::Cancelled.as_str())
        .bind(a.item.occurred_at)
        .bind(a.source)
        .bind(a.now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    a.changes.push(format!(
        "planned {} {id} cancelled",
        prior.planned.kind.as_str()
    ));
    emit(
        tx,
        a,
        events::PLANNED_MOVEMENT_CANCELLED,
        Some(&prior.planned.establishment),
        json!({"prisonNumber": pn, "plannedMovementId": id}),
    )
    .await?;
    cancel_continuity(tx, pn, id, a.now).await?;
    refresh_incoming(tx, pn).await?;
    note_risks(tx, a, pn).await?;
    Ok(Ok(ItemStatus::Stored))
}

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::FeedStore for EngineStore {
    async fn apply_feed(
        &self,
        items: Vec<FeedEntry>,
        mode: BatchMode,
        source: &str,
        audit: &WriteAudit,
    ) -> Result<Vec<ItemOutcome>> {
        apply_feed(&self.writer, items, mode, source, audit).await
    }
    async fn apply_feed_group(&self, batches: Vec<FeedBatch>) -> Result<Vec<Vec<ItemOutcome>>> {
        apply_feed_group(&self.writer, batches).await
    }
}
