//! The prison feed, set-based.
//!
//! A partial chunk is applied with a fixed number of statements whatever its
//! size: one read of the ledger, of the establishments named, of the chunk's
//! people (locked, on PostgreSQL, in prison-number order), their alerts, plans
//! and identity links; then the same rules as the item-by-item path
//! (feed.rs), run in memory in item order so an item sees what an earlier one
//! in the chunk did; then one multi-row insert per table and one update per
//! person touched. Every refusal is decided before an item changes anything,
//! so no savepoint is needed.
//!
//! People with booked appointments, active medication notices or open
//! continuity checks need the appointment and continuity rules, which read
//! and write their own rows: a chunk naming any such person goes item by
//! item (feed.rs), as does a chunk whose set-based writes fail unexpectedly.

use super::audit::append_audit_in;
use super::continuity::CONTINUITY_CATEGORIES;
use super::decode::{alert_from_row, col, parsed, person_from_row, planned_from_row};
use super::engine::{Db, LOCK_PEOPLE, Tx, begin_write};
use super::feed::{feed_records_each, referenced_establishments};
use crate::disclosure::WriteAudit;
use crate::model::*;
use crate::{FeedEntry, Result, StoreError, events};
use chrono::{DateTime, Utc};
use gatehouse_domain::feed::{FeedCommand, FeedItem};
use gatehouse_domain::{
    AlertCode, CustodyState, Movement, NhsNumber, PersonDetails, PlannedMovement, PlannedStatus,
    PrisonAlert,
};
use serde_json::json;

/// Bound parameters per statement: under SQLite's 32,766 (and PostgreSQL's 65,535).
pub(super) const MAX_BINDS: usize = 32_000;

/// Rows of `columns` values each that fit in one statement.
pub(super) fn rows_per_statement(columns: usize) -> usize {
    (MAX_BINDS / columns).max(1)
}

/// Adds `IN ($1, $2, …)` for the values to a query being built.
pub(super) fn push_in_list(qb: &mut sqlx::QueryBuilder<Db>, values: &[String]) {
    qb.push(" IN (");
    let mut list = qb.separated(", ");
    for v in values {
        list.push_bind(v.clone());
    }
    list.push_unseparated(")");
}

/// What the chunk knows of one person while its rules run.
pub(super) struct HeldPerson {
    /// A row exists, or an applied item of this chunk creates it.
    exists: bool,
    /// Created by this chunk: inserted before the other writes.
    created: bool,
    details: Option<PersonDetails>,
    details_as_of: Option<DateTime<Utc>>,
    custody: Option<CustodyState>,
    event_seq: i64,
    /// An item for this person stood: its row gets `updated_at`.
    touched: bool,
    details_changed: bool,
    details_as_of_changed: bool,
    custody_changed: bool,
}

pub(super) struct NewMovement {
    pn: String,
    movement: Movement,
    event_id: String,
}

pub(super) struct NewEvent {
    id: String,
    event_type: String,
    subject: String,
    subject_seq: i64,
    establishment: Option<String>,
    occurred_at: DateTime<Utc>,
    data: String,
}

pub(super) struct NewLedger {
    event_id: String,
    content_hash: String,
    event_type: String,
    pn: String,
    occurred_at: DateTime<Utc>,
    outcome: String,
}

/// The chunk's state in memory, and the rows it will write.
pub(super) struct FeedSet<'a> {
    source: &'a str,
    now: DateTime<Utc>,
    known_establishments: std::collections::HashSet<String>,
    ledger: std::collections::HashMap<String, (String, ItemOutcome)>,
    people: std::collections::BTreeMap<String, HeldPerson>,
    /// By (prison number, alert id): the order SQLite reads a person's alerts in.
    alerts: std::collections::BTreeMap<(String, String), AlertRecord>,
    alerts_written: std::collections::BTreeSet<(String, String)>,
    plans: std::collections::HashMap<String, PlannedRecord>,
    plans_written: Vec<String>,
    /// Plans carried out by a movement of this chunk: its seq is known once inserted.
    fulfilled_by_event: std::collections::HashMap<String, String>,
    links_by_person: std::collections::HashMap<String, String>,
    linked_numbers: std::collections::HashSet<String>,
    new_links: Vec<(String, String)>,
    movements: Vec<NewMovement>,
    events: Vec<NewEvent>,
    new_ledger: Vec<NewLedger>,
    refresh_incoming: std::collections::BTreeSet<String>,
}

/// One item's working state: what `Applying` is to the item-by-item path.
pub(super) struct SetItem<'i> {
    item: &'i FeedItem,
    index: usize,
    changes: Vec<String>,
    superseded: bool,
    emitted: usize,
}

impl SetItem<'_> {
    fn refuse(&self, field: &str, rule: impl Into<String>) -> ItemOutcome {
        let mut o = ItemOutcome::rejected(self.index, Some(&self.item.event_id), field, rule);
        o.event_type = Some(self.item.event_type.clone());
        o.prison_number = Some(self.item.prison_number.as_str().to_owned());
        o
    }
}

pub(super) type SetApplied = std::result::Result<ItemStatus, ItemOutcome>;

/// Applies a partial chunk set-based. `Ok(None)`: the chunk needs the
/// item-by-item path (nothing was written, the transaction rolled back).
pub(super) async fn apply_chunk_set(
    pool: &sqlx::Pool<Db>,
    chunk: &[(usize, FeedEntry)],
    source: &str,
    now: DateTime<Utc>,
    audits: &[&WriteAudit],
) -> Result<Option<Vec<ItemOutcome>>> {
    let items: Vec<&FeedItem> = chunk
        .iter()
        .filter_map(|(_, e)| match e {
            FeedEntry::Parsed(item) => Some(&**item),
            FeedEntry::Refused(_) => None,
        })
        .collect();
    let mut tx = begin_write(pool).await?;
    let Some(mut set) = FeedSet::load(&mut tx, &items, source, now).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let mut outcomes = Vec::with_capacity(chunk.len());
    for (index, entry) in chunk {
        match entry {
            FeedEntry::Refused(e) => outcomes.push(ItemOutcome::rejected(
                *index,
                e.event_id.as_ref(),
                &e.error.field,
                e.error.rule.clone(),
            )),
            FeedEntry::Parsed(item) => outcomes.push(set.apply(item, *index)?),
        }
    }
    set.write(&mut tx).await?;
    append_audit_in(&mut tx, &feed_records_each(audits, &outcomes)).await?;
    tx.commit().await?;
    Ok(Some(outcomes))
}

impl<'a> FeedSet<'a> {
    /// The chunk's reads: a fixed number of statements. `None` when a person
    /// of the chunk needs the item-by-item path.
    async fn load(
        tx: &mut Tx<'_>,
        items: &[&FeedItem],
        source: &'a str,
        now: DateTime<Utc>,
    ) -> Result<Option<Self>> {
        let mut set = FeedSet {
            source,
            now,
            known_establishments: Default::default(),
            ledger: Default::default(),
            people: Default::default(),
            alerts: Default::default(),
            alerts_written: Default::default(),
            plans: Default::default(),
            plans_written: vec![],
            fulfilled_by_event: Default::default(),
            links_by_person: Default::default(),
            linked_numbers: Default::default(),
            new_links: vec![],
            movements: vec![],
            events: vec![],
            new_ledger: vec![],
            refresh_incoming: Default::default(),
        };
        if items.is_empty() {
            return Ok(Some(set));
        }
        let mut event_ids: Vec<String> = items
            .iter()
            .map(|i| i.event_id.as_str().to_owned())
            .collect();
        event_ids.sort();
        event_ids.dedup();
        let mut qb = sqlx::QueryBuilder::<Db>::new(
            "SELECT event_id, content_hash, outcome FROM feed_ledger WHERE event_id",
        );
        push_in_list(&mut qb, &event_ids);
        for row in qb.build().fetch_all(&mut **tx).await? {
            let text: String = col(&row, "outcome")?;
            let outcome: ItemOutcome = parsed("feed_ledger.outcome", serde_json::from_str(&text))?;
            set.ledger.insert(
                col(&row, "event_id")?,
                (col(&row, "content_hash")?, outcome),
            );
        }

        let mut codes: Vec<String> = items
            .iter()
            .flat_map(|i| referenced_establishments(&i.command))
            .map(|(_, c)| c.as_str().to_owned())
            .collect();
        codes.sort();
        codes.dedup();
        if !codes.is_empty() {
            let mut qb =
                sqlx::QueryBuilder::<Db>::new("SELECT code FROM establishments WHERE code");
            push_in_list(&mut qb, &codes);
            for row in qb.build().fetch_all(&mut **tx).await? {
                set.known_establishments.insert(col(&row, "code")?);
            }
        }

        // Acknowledgements touch no person.
        let mut pns: Vec<String> = items
            .iter()
            .filter(|i| !matches!(i.command, FeedCommand::Acknowledge { .. }))
            .map(|i| i.prison_number.as_str().to_owned())
            .collect();
        pns.sort();
        pns.dedup();
        if pns.is_empty() {
            return Ok(Some(set));
        }
        let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT * FROM people WHERE prison_number");
        push_in_list(&mut qb, &pns);
        qb.push(LOCK_PEOPLE);
        for row in qb.build().fetch_all(&mut **tx).await? {
            let record = person_from_row(&row, None)?;
            let event_seq: i64 = col(&row, "event_seq")?;
            set.people.insert(
                record.prison_number.as_str().to_owned(),
                HeldPerson::held(record, event_seq),
            );
        }
        for pn in &pns {
            set.people
                .entry(pn.clone())
                .or_insert_with(HeldPerson::absent);
        }

        // Read after the lock: a booking or notice for these people waits for it.
        let mut qb = sqlx::QueryBuilder::<Db>::new(
            "SELECT prison_number FROM appointments WHERE status = 'booked' AND outcome IS NULL AND prison_number",
        );
        push_in_list(&mut qb, &pns);
        qb.push(" UNION SELECT prison_number FROM safety_notices WHERE status = 'active' AND category IN (");
        qb.push_bind(CONTINUITY_CATEGORIES[0])
            .push(", ")
            .push_bind(CONTINUITY_CATEGORIES[1])
            .push(") AND prison_number");
        push_in_list(&mut qb, &pns);
        qb.push(" UNION SELECT prison_number FROM continuity_checks WHERE status = 'open' AND prison_number");
        push_in_list(&mut qb, &pns);
        if !qb.build().fetch_all(&mut **tx).await?.is_empty() {
            return Ok(None);
        }

        let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT * FROM alerts WHERE prison_number");
        push_in_list(&mut qb, &pns);
        for row in qb.build().fetch_all(&mut **tx).await? {
            let a = alert_from_row(&row)?;
            set.alerts
                .insert((a.prison_number.as_str().to_owned(), a.alert.id.clone()), a);
        }

        let mut plan_ids: Vec<String> = items
            .iter()
            .filter_map(|i| match &i.command {
                FeedCommand::UpsertPlanned(p) => Some(p.id.clone()),
                FeedCommand::CancelPlanned { id } => Some(id.clone()),
                _ => None,
            })
            .collect();
        plan_ids.sort();
        plan_ids.dedup();
        let mut qb =
            sqlx::QueryBuilder::<Db>::new("SELECT * FROM planned_movements WHERE prison_number");
        push_in_list(&mut qb, &pns);
        if !plan_ids.is_empty() {
            qb.push(" OR plan_id");
            push_in_list(&mut qb, &plan_ids);
        }
        for row in qb.build().fetch_all(&mut **tx).await? {
            let p = planned_from_row(&row)?;
            set.plans.insert(p.planned.id.clone(), p);
        }

        let mut numbers: Vec<String> = items
            .iter()
            .filter_map(|i| match &i.command {
                FeedCommand::UpsertPerson {
                    nhs_number: Some(n),
                    ..
                } => Some(n.as_str().to_owned()),
                _ => None,
            })
            .collect();
        if !numbers.is_empty() {
            numbers.sort();
            numbers.dedup();
            let mut qb = sqlx::QueryBuilder::<Db>::new(
                "SELECT prison_number, nhs_number FROM identity_links WHERE active = ",
            );
            qb.push_bind(true).push(" AND (prison_number");
            push_in_list(&mut qb, &pns);
            qb.push(" OR nhs_number");
            push_in_list(&mut qb, &numbers);
            qb.push(")");
            for row in qb.build().fetch_all(&mut **tx).await? {
                let nhs: String = col(&row, "nhs_number")?;
                set.linked_numbers.insert(nhs.clone());
                set.links_by_person.insert(col(&row, "prison_number")?, nhs);
            }
        }
        Ok(Some(set))
    }

    /// One item, by the rules of `apply_item`, against the chunk's state.
    fn apply(&mut self, item: &FeedItem, index: usize) -> Result<ItemOutcome> {
        let mut a = SetItem {
            item,
            index,
            changes: vec![],
            superseded: false,
            emitted: 0,
        };
        let pn = item.prison_number.as_str();
        if let Some((hash, first)) = self.ledger.get(item.event_id.as_str()) {
            if *hash != item.content_hash {
                return Ok(a
                    .refuse(
                        "id",
                        "this event id was already used for an item with different content",
                    )
                    .as_conflict());
            }
            let mut first = first.clone();
            first.index = index;
            return Ok(first);
        }
        for (field, code) in referenced_establishments(&item.command) {
            if !self.known_establishments.contains(code.as_str()) {
                return Ok(a.refuse(
                    field,
                    format!(
                        "'{}' is not an establishment known to Gatehouse",
                        code.as_str()
                    ),
                ));
            }
        }
        let result = match &item.command {
            FeedCommand::Acknowledge { note } => {
                a.changes.push(note.clone());
                Ok(ItemStatus::Acknowledged)
            }
            command => {
                let r = match command {
                    FeedCommand::UpsertPerson {
                        details,
                        nhs_number,
                    } => self.upsert_person(&mut a, details.as_ref(), nhs_number.as_ref()),
                    FeedCommand::RecordMovement(m) => Ok(self.record_movement(&mut a, m)),
                    FeedCommand::UpsertAlert(alert) => self.upsert_alert(&mut a, alert),
                    FeedCommand::AlertsChanged { added, removed } => {
                        Ok(self.alerts_changed(&mut a, added, removed))
                    }
                    FeedCommand::UpsertPlanned(p) => self.upsert_planned(&mut a, p),
                    FeedCommand::CancelPlanned { id } => self.cancel_planned(&mut a, id),
                    FeedCommand::Acknowledge { .. } => unreachable!("handled above"),
                };
                if r.is_ok() {
                    let person = self.person(pn);
                    if !person.exists {
                        person.exists = true;
                        person.created = true;
                    }
                    person.touched = true;
                }
                r
            }
        };
        let status = match result {
            Err(refused) => return Ok(refused),
            Ok(s) if s == ItemStatus::Stored && a.superseded && a.emitted == 0 => {
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
        self.new_ledger.push(NewLedger {
            event_id: item.event_id.as_str().to_owned(),
            content_hash: item.content_hash.clone(),
            event_type: item.event_type.clone(),
            pn: pn.to_owned(),
            occurred_at: item.occurred_at,
            outcome: serde_json::to_string(&outcome).expect("outcome serialises"),
        });
        self.ledger.insert(
            item.event_id.as_str().to_owned(),
            (item.content_hash.clone(), outcome.clone()),
        );
        Ok(outcome)
    }

    fn person(&mut self, pn: &str) -> &mut HeldPerson {
        self.people
            .get_mut(pn)
            .expect("every person of the chunk was read")
    }

    /// The person's establishment when the item began: where its events belong.
    fn home(&self, pn: &str) -> Option<String> {
        self.people
            .get(pn)
            .and_then(|p| p.custody.as_ref())
            .map(|c| c.establishment.as_str().to_owned())
    }

    fn emit(
        &mut self,
        a: &mut SetItem<'_>,
        event_type: &str,
        establishment: Option<String>,
        data: serde_json::Value,
    ) {
        a.emitted += 1;
        let pn = a.item.prison_number.as_str();
        let person = self.person(pn);
        person.event_seq += 1;
        let subject_seq = person.event_seq;
        self.events.push(NewEvent {
            id: uuid::Uuid::now_v7().to_string(),
            event_type: event_type.to_owned(),
            subject: pn.to_owned(),
            subject_seq,
            establishment,
            occurred_at: a.item.occurred_at,
            data: data.to_string(),
        });
    }

    fn upsert_person(
        &mut self,
        a: &mut SetItem<'_>,
        details: Option<&PersonDetails>,
        nhs: Option<&NhsNumber>,
    ) -> SetApplied {
        let pn = a.item.prison_number.as_str().to_owned();
        let at = a.item.occurred_at;
        let home = self.home(&pn);
        if let Some(nhs) = nhs {
            match self.links_by_person.get(&pn) {
                Some(current) if current == nhs.as_str() => {}
                Some(_) => {
                    return Err(a
                        .refuse(
                            "person.nhsNumber",
                            "differs from the NHS number already linked to this person; links are never overwritten silently: change them through the identity API",
                        )
                        .as_conflict());
                }
                None => {
                    if self.linked_numbers.contains(nhs.as_str()) {
                        return Err(a.refuse("person.nhsNumber", "is already linked to another person; the conflict needs review through the identity API").as_conflict());
                    }
                    self.links_by_person
                        .insert(pn.clone(), nhs.as_str().to_owned());
                    self.linked_numbers.insert(nhs.as_str().to_owned());
                    self.new_links.push((pn.clone(), nhs.as_str().to_owned()));
                    a.changes
                        .push("NHS number linked (from the prison feed; not yet traced)".into());
                    self.emit(a, events::IDENTITY_LINKED, home.clone(), json!({"prisonNumber": pn, "method": "prison-feed", "verification": verification::PRESENT_NOT_TRACED}));
                }
            }
        }
        if let Some(d) = details {
            let person = self.person(&pn);
            if person.details_as_of.is_some_and(|held| held > at) {
                a.superseded = true;
            } else if person.details.as_ref() != Some(d) {
                let existed = person.details.is_some();
                person.details = Some(d.clone());
                person.details_as_of = Some(at);
                person.details_changed = true;
                a.changes.push(if existed {
                    "details updated".into()
                } else {
                    "person created".to_string()
                });
                self.emit(
                    a,
                    events::PERSON_DETAILS_CHANGED,
                    home,
                    json!({"prisonNumber": pn}),
                );
            } else {
                person.details_as_of = Some(at);
                person.details_as_of_changed = true;
            }
        }
        Ok(ItemStatus::Stored)
    }

    fn record_movement(&mut self, a: &mut SetItem<'_>, m: &Movement) -> ItemStatus {
        let pn = a.item.prison_number.as_str().to_owned();
        self.movements.push(NewMovement {
            pn: pn.clone(),
            movement: m.clone(),
            event_id: a.item.event_id.as_str().to_owned(),
        });
        a.changes.push(format!("{} recorded", m.kind.as_str()));
        let person = self.person(&pn);
        let prior = person.custody.clone();
        let newest = prior
            .as_ref()
            .is_none_or(|c| c.is_superseded_by(m.occurred_at));
        if newest {
            let state = CustodyState::after(m);
            person.custody = Some(state.clone());
            person.custody_changed = true;
            a.changes.push(format!(
                "custody status now {} at {}",
                state.status.as_str(),
                state.location.as_str()
            ));
            let mut data = json!({"prisonNumber": pn, "movement": m, "custody": state});
            if let Some(prev) = &prior {
                data["previousEstablishment"] = json!(prev.establishment);
            }
            self.emit(
                a,
                events::for_movement(m.kind, m.reason),
                Some(state.establishment.as_str().to_owned()),
                data,
            );
        } else {
            a.superseded = true;
            a.changes.push("kept in history only: a later movement is already held, so custody status is unchanged".into());
        }
        // A real movement replaces the plan it carries out: the person's open
        // plans, in the order the index on (person, planned_for) gives.
        let mut open: Vec<&PlannedRecord> = self
            .plans
            .values()
            .filter(|p| {
                p.prison_number.as_str() == pn
                    && p.status == PlannedStatus::Planned
                    && p.planned.is_fulfilled_by(m)
            })
            .collect();
        open.sort_by(|x, y| {
            (x.planned.planned_for, &x.planned.id).cmp(&(y.planned.planned_for, &y.planned.id))
        });
        let fulfilled: Vec<String> = open.iter().map(|p| p.planned.id.clone()).collect();
        for id in &fulfilled {
            let plan = self.plans.get_mut(id).expect("read above");
            plan.status = PlannedStatus::Completed;
            plan.updated_at = self.now;
            let (kind, establishment) = (
                plan.planned.kind,
                plan.planned.establishment.as_str().to_owned(),
            );
            self.fulfilled_by_event
                .insert(id.clone(), a.item.event_id.as_str().to_owned());
            self.plans_written.push(id.clone());
            a.changes.push(format!(
                "planned {} {} completed by this movement",
                kind.as_str(),
                id
            ));
            self.emit(
                a,
                events::PLANNED_MOVEMENT_COMPLETED,
                Some(establishment),
                json!({"prisonNumber": pn, "plannedMovementId": id}),
            );
        }
        if !fulfilled.is_empty() {
            self.refresh_incoming.insert(pn);
        }
        // Continuity checks, departures and appointment risks: no-ops for the
        // people this path takes (see the head of this file).
        ItemStatus::Stored
    }

    fn write_alert(
        &mut self,
        a: &mut SetItem<'_>,
        home: Option<String>,
        alert: &PrisonAlert,
        prior: Option<&AlertRecord>,
    ) {
        let pn = a.item.prison_number.as_str().to_owned();
        let key = (pn.clone(), alert.id.clone());
        self.alerts.insert(
            key.clone(),
            AlertRecord {
                prison_number: a.item.prison_number.clone(),
                alert: alert.clone(),
                as_of: a.item.occurred_at,
                source: self.source.to_owned(),
                updated_at: self.now,
            },
        );
        self.alerts_written.insert(key);
        let was_active = prior.is_some_and(|p| p.alert.active);
        let data =
            json!({"prisonNumber": pn, "alert": alert, "description": alert.code.description()});
        if alert.active && !was_active {
            a.changes
                .push(format!("alert {} raised", alert.code.as_str()));
            self.emit(a, events::ALERT_RAISED, home, data);
        } else if !alert.active && was_active {
            a.changes
                .push(format!("alert {} closed", alert.code.as_str()));
            self.emit(a, events::ALERT_CLOSED, home, data);
        } else if prior.map(|p| &p.alert) != Some(alert) {
            a.changes
                .push(format!("alert {} updated", alert.code.as_str()));
        }
    }

    fn upsert_alert(&mut self, a: &mut SetItem<'_>, alert: &PrisonAlert) -> SetApplied {
        let pn = a.item.prison_number.as_str().to_owned();
        let prior = self.alerts.get(&(pn.clone(), alert.id.clone())).cloned();
        if let Some(p) = &prior {
            if p.as_of > a.item.occurred_at {
                a.superseded = true;
                return Ok(ItemStatus::Stored);
            }
            if p.alert.code != alert.code {
                return Err(a.refuse("alertCode", "differs from the code this alert id already has; an alert's code never changes"));
            }
        }
        let home = self.home(&pn);
        self.write_alert(a, home, alert, prior.as_ref());
        Ok(ItemStatus::Stored)
    }

    fn alerts_changed(
        &mut self,
        a: &mut SetItem<'_>,
        added: &[AlertCode],
        removed: &[AlertCode],
    ) -> ItemStatus {
        let pn = a.item.prison_number.as_str().to_owned();
        let at = a.item.occurred_at;
        let home = self.home(&pn);
        // The alerts as held when the item began, as the item-by-item path reads them once.
        let held: Vec<AlertRecord> = self
            .alerts
            .range((pn.clone(), String::new())..)
            .take_while(|((p, _), _)| *p == pn)
            .map(|(_, r)| r.clone())
            .collect();
        for code in added {
            let same_code: Vec<&AlertRecord> =
                held.iter().filter(|h| &h.alert.code == code).collect();
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
            self.write_alert(a, home.clone(), &alert, prior);
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
                self.write_alert(a, home.clone(), &alert, Some(h));
            }
        }
        ItemStatus::Stored
    }

    fn upsert_planned(&mut self, a: &mut SetItem<'_>, p: &PlannedMovement) -> SetApplied {
        let pn = a.item.prison_number.as_str().to_owned();
        let prior = self.plans.get(&p.id);
        if let Some(prior) = prior {
            if prior.prison_number != a.item.prison_number {
                return Err(a.refuse(
                    "plannedMovement.id",
                    "is already used by a planned movement of another person",
                ));
            }
            if prior.as_of > a.item.occurred_at {
                a.superseded = true;
                return Ok(ItemStatus::Stored);
            }
            if prior.status == PlannedStatus::Completed {
                return Err(a.refuse(
                    "plannedMovement.id",
                    "this planned movement has already been carried out; post a new one",
                ));
            }
            if prior.planned.kind != p.kind {
                return Err(a.refuse(
                    "plannedMovement.kind",
                    "differs from the kind of the planned movement with this id",
                ));
            }
        }
        let existed = prior.is_some();
        let fulfilled_by = prior.and_then(|p| p.fulfilled_by);
        self.plans.insert(
            p.id.clone(),
            PlannedRecord {
                prison_number: a.item.prison_number.clone(),
                planned: p.clone(),
                status: PlannedStatus::Planned,
                fulfilled_by,
                as_of: a.item.occurred_at,
                source: self.source.to_owned(),
                updated_at: self.now,
            },
        );
        self.plans_written.push(p.id.clone());
        let (verb, event) = if existed {
            ("amended", events::PLANNED_MOVEMENT_AMENDED)
        } else {
            ("scheduled", events::PLANNED_MOVEMENT_SCHEDULED)
        };
        a.changes
            .push(format!("planned {} {} {verb}", p.kind.as_str(), p.id));
        self.emit(
            a,
            event,
            Some(p.establishment.as_str().to_owned()),
            json!({"prisonNumber": pn, "plannedMovement": p}),
        );
        self.refresh_incoming.insert(pn);
        Ok(ItemStatus::Stored)
    }

    fn cancel_planned(&mut self, a: &mut SetItem<'_>, id: &str) -> SetApplied {
        let pn = a.item.prison_number.as_str().to_owned();
        let Some(prior) = self
            .plans
            .get(id)
            .filter(|p| p.prison_number == a.item.prison_number)
        else {
            return Err(a.refuse(
                "plannedMovementId",
                "no planned movement with this id is held for this person",
            ));
        };
        if prior.as_of > a.item.occurred_at {
            a.superseded = true;
            return Ok(ItemStatus::Stored);
        }
        match prior.status {
            PlannedStatus::Completed => {
                return Err(a.refuse(
                    "plannedMovementId",
                    "this planned movement has already been carried out",
                ));
            }
            PlannedStatus::Cancelled => return Ok(ItemStatus::Stored),
            PlannedStatus::Planned => {}
        }
        let plan = self.plans.get_mut(id).expect("found above");
        plan.status = PlannedStatus::Cancelled;
        plan.as_of = a.item.occurred_at;
        plan.source = self.source.to_owned();
        plan.updated_at = self.now;
        let (kind, establishment) = (
            plan.planned.kind,
            plan.planned.establishment.as_str().to_owned(),
        );
        self.plans_written.push(id.to_owned());
        a.changes
            .push(format!("planned {} {id} cancelled", kind.as_str()));
        self.emit(
            a,
            events::PLANNED_MOVEMENT_CANCELLED,
            Some(establishment),
            json!({"prisonNumber": pn, "plannedMovementId": id}),
        );
        self.refresh_incoming.insert(pn);
        Ok(ItemStatus::Stored)
    }

    /// The chunk's writes: one multi-row statement per table (split at the
    /// bound-parameter limit), one update per person touched.
    async fn write(self, tx: &mut Tx<'_>) -> Result<()> {
        let (now, source) = (self.now, self.source);
        let created: Vec<&String> = self
            .people
            .iter()
            .filter(|(_, p)| p.created)
            .map(|(pn, _)| pn)
            .collect();
        for part in created.chunks(rows_per_statement(3)) {
            let mut qb = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO people (prison_number, created_at, updated_at) ",
            );
            qb.push_values(part, |mut b, pn| {
                b.push_bind((*pn).clone()).push_bind(now).push_bind(now);
            });
            qb.push(" ON CONFLICT (prison_number) DO NOTHING");
            let inserted = qb.build().execute(&mut **tx).await?.rows_affected();
            if inserted != part.len() as u64 {
                // Another writer created one of them since the chunk was read.
                return Err(StoreError::Conflict(
                    "a person of the chunk was created concurrently".into(),
                ));
            }
        }

        let mut movement_seq = std::collections::HashMap::new();
        for part in self.movements.chunks(rows_per_statement(10)) {
            let mut qb = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO movements (prison_number, kind, reason, establishment, destination, cell, occurred_at, event_id, source, recorded_at) ",
            );
            qb.push_values(part, |mut b, r| {
                let m = &r.movement;
                b.push_bind(r.pn.clone())
                    .push_bind(m.kind.as_str())
                    .push_bind(m.reason.as_str())
                    .push_bind(m.establishment.as_str().to_owned())
                    .push_bind(m.destination.as_ref().map(|d| d.as_str().to_owned()))
                    .push_bind(m.cell.as_ref().map(|c| c.as_str().to_owned()))
                    .push_bind(m.occurred_at)
                    .push_bind(r.event_id.clone())
                    .push_bind(source.to_owned())
                    .push_bind(now);
            });
            qb.push(" RETURNING seq, event_id");
            for row in qb.build().fetch_all(&mut **tx).await? {
                movement_seq.insert(col::<String>(&row, "event_id")?, col::<i64>(&row, "seq")?);
            }
        }

        let mut plan_ids = self.plans_written.clone();
        plan_ids.sort();
        plan_ids.dedup();
        let mut plans = Vec::with_capacity(plan_ids.len());
        for id in &plan_ids {
            let mut plan = self.plans[id].clone();
            if let Some(event_id) = self.fulfilled_by_event.get(id) {
                plan.fulfilled_by = Some(*movement_seq.get(event_id).ok_or_else(|| {
                    StoreError::corrupt("a fulfilling movement was not inserted")
                })?);
            }
            plans.push(plan);
        }
        for part in plans.chunks(rows_per_statement(12)) {
            let mut qb = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO planned_movements (plan_id, prison_number, kind, establishment, destination, planned_for, description, status, fulfilled_by, as_of, source, updated_at) ",
            );
            qb.push_values(part, |mut b, r| {
                let p = &r.planned;
                b.push_bind(p.id.clone())
                    .push_bind(r.prison_number.as_str().to_owned())
                    .push_bind(p.kind.as_str())
                    .push_bind(p.establishment.as_str().to_owned())
                    .push_bind(p.destination.as_ref().map(|d| d.as_str().to_owned()))
                    .push_bind(p.planned_for)
                    .push_bind(p.description.clone())
                    .push_bind(r.status.as_str())
                    .push_bind(r.fulfilled_by)
                    .push_bind(r.as_of)
                    .push_bind(r.source.clone())
                    .push_bind(r.updated_at);
            });
            qb.push(
                " ON CONFLICT (plan_id) DO UPDATE SET establishment = excluded.establishment, destination = excluded.destination, \
                 planned_for = excluded.planned_for, description = excluded.description, status = excluded.status, fulfilled_by = excluded.fulfilled_by, \
                 as_of = excluded.as_of, source = excluded.source, updated_at = excluded.updated_at",
            );
            qb.build().execute(&mut **tx).await?;
        }

        let alerts: Vec<&AlertRecord> = self
            .alerts_written
            .iter()
            .map(|k| &self.alerts[k])
            .collect();
        for part in alerts.chunks(rows_per_statement(9)) {
            let mut qb = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO alerts (prison_number, alert_id, code, active, active_from, active_to, as_of, source, updated_at) ",
            );
            qb.push_values(part, |mut b, r| {
                b.push_bind(r.prison_number.as_str().to_owned())
                    .push_bind(r.alert.id.clone())
                    .push_bind(r.alert.code.as_str().to_owned())
                    .push_bind(r.alert.active)
                    .push_bind(r.alert.active_from)
                    .push_bind(r.alert.active_to)
                    .push_bind(r.as_of)
                    .push_bind(r.source.clone())
                    .push_bind(r.updated_at);
            });
            qb.push(
                " ON CONFLICT (prison_number, alert_id) DO UPDATE SET code = excluded.code, active = excluded.active, \
                 active_from = excluded.active_from, active_to = excluded.active_to, as_of = excluded.as_of, source = excluded.source, updated_at = excluded.updated_at",
            );
            qb.build().execute(&mut **tx).await?;
        }

        for part in self.new_links.chunks(rows_per_statement(7)) {
            let mut qb = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO identity_links (prison_number, nhs_number, method, verification, linked_by, linked_at, active) ",
            );
            qb.push_values(part, |mut b, (pn, nhs)| {
                b.push_bind(pn.clone())
                    .push_bind(nhs.clone())
                    .push_bind(LinkMethod::PrisonFeed.as_str())
                    .push_bind(verification::PRESENT_NOT_TRACED)
                    .push_bind(source.to_owned())
                    .push_bind(now)
                    .push_bind(true);
            });
            qb.build().execute(&mut **tx).await?;
        }

        // One update per shape of change (which column groups it sets), each
        // `UPDATE … FROM (VALUES …)`: a few statements for the chunk's people,
        // not one per person. Each shape sets exactly what the item-by-item
        // path would.
        let mut shapes: std::collections::BTreeMap<
            (bool, bool, bool),
            Vec<(&String, &HeldPerson)>,
        > = Default::default();
        for (pn, p) in self.people.iter().filter(|(_, p)| p.touched) {
            let shape = (
                p.details_changed,
                p.details_changed || p.details_as_of_changed,
                p.custody_changed,
            );
            shapes.entry(shape).or_default().push((pn, p));
        }
        for ((details, as_of, custody), people) in shapes {
            let mut set = vec!["updated_at", "event_seq"];
            if details {
                set.extend([
                    "given_name",
                    "family_name",
                    "family_name_key",
                    "date_of_birth",
                    "details_source",
                ]);
            }
            if as_of {
                set.push("details_as_of");
            }
            if custody {
                set.extend([
                    "custody_status",
                    "establishment",
                    "location",
                    "cell",
                    "destination",
                    "custody_since",
                    "custody_source",
                ]);
            }
            // VALUES columns are named column1, column2, … on both engines;
            // column1 is the prison number.
            let assignments: Vec<String> = set
                .iter()
                .enumerate()
                .map(|(k, c)| format!("{c} = v.column{}", k + 2))
                .collect();
            for part in people.chunks(rows_per_statement(set.len() + 1)) {
                let mut qb = sqlx::QueryBuilder::<Db>::new("UPDATE people SET ");
                qb.push(assignments.join(", "));
                qb.push(" FROM (");
                qb.push_values(part, |mut b, (pn, p)| {
                    b.push_bind((*pn).clone())
                        .push_bind(now)
                        .push_bind(p.event_seq);
                    if details {
                        let d = p.details.as_ref().expect("changed details are held");
                        b.push_bind(d.name.given_name.clone())
                            .push_bind(d.name.family_name.clone())
                            .push_bind(d.name.family_name.to_uppercase())
                            .push_bind(d.date_of_birth)
                            .push_bind(source.to_owned());
                    }
                    if as_of {
                        b.push_bind(p.details_as_of);
                    }
                    if custody {
                        let c = p.custody.as_ref().expect("changed custody is held");
                        b.push_bind(c.status.as_str())
                            .push_bind(c.establishment.as_str().to_owned())
                            .push_bind(c.location.as_str().to_owned())
                            .push_bind(c.cell.as_ref().map(|c| c.as_str().to_owned()))
                            .push_bind(c.destination.as_ref().map(|d| d.as_str().to_owned()))
                            .push_bind(c.since)
                            .push_bind(source.to_owned());
                    }
                });
                qb.push(") AS v WHERE people.prison_number = v.column1");
                qb.build().execute(&mut **tx).await?;
            }
        }

        if !self.refresh_incoming.is_empty() {
            let pns: Vec<String> = self.refresh_incoming.iter().cloned().collect();
            let mut qb = sqlx::QueryBuilder::<Db>::new(
                "UPDATE people SET incoming_establishment = (SELECT p.destination FROM planned_movements p WHERE p.prison_number = people.prison_number \
                 AND p.status = 'planned' AND p.kind = 'transfer' AND p.destination IS NOT NULL ORDER BY p.planned_for LIMIT 1) WHERE prison_number",
            );
            push_in_list(&mut qb, &pns);
            qb.build().execute(&mut **tx).await?;
        }

        for part in self.events.chunks(rows_per_statement(8)) {
            let mut qb = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO outbox (id, type, subject, subject_seq, establishment, occurred_at, recorded_at, data) ",
            );
            qb.push_values(part, |mut b, e| {
                b.push_bind(e.id.clone())
                    .push_bind(e.event_type.clone())
                    .push_bind(e.subject.clone())
                    .push_bind(e.subject_seq)
                    .push_bind(e.establishment.clone())
                    .push_bind(e.occurred_at)
                    .push_bind(now)
                    .push_bind(e.data.clone());
            });
            qb.build().execute(&mut **tx).await?;
        }

        for part in self.new_ledger.chunks(rows_per_statement(7)) {
            let mut qb = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO feed_ledger (event_id, content_hash, event_type, prison_number, occurred_at, received_at, outcome) ",
            );
            qb.push_values(part, |mut b, l| {
                b.push_bind(l.event_id.clone())
                    .push_bind(l.content_hash.clone())
                    .push_bind(l.event_type.clone())
                    .push_bind(l.pn.clone())
                    .push_bind(l.occurred_at)
                    .push_bind(now)
                    .push_bind(l.outcome.clone());
            });
            qb.build().execute(&mut **tx).await?;
        }
        Ok(())
    }
}

impl HeldPerson {
    fn held(record: PersonRecord, event_seq: i64) -> Self {
        HeldPerson {
            exists: true,
            created: false,
            details: record.details,
            details_as_of: record.details_as_of,
            custody: record.custody,
            event_seq,
            touched: false,
            details_changed: false,
            details_as_of_changed: false,
            custody_changed: false,
        }
    }

    fn absent() -> Self {
        HeldPerson {
            exists: false,
            created: false,
            details: None,
            details_as_of: None,
            custody: None,
            event_seq: 0,
            touched: false,
            details_changed: false,
            details_as_of_changed: false,
            custody_changed: false,
        }
    }
}
