//! Healthcare appointments, regime closures and attendance figures.
//!
//! Every write locks the person row first (the same lock the prison feed
//! takes), so a booking and a court date for the same person never interleave:
//! the clash rules always see both. Each write re-runs the clash rules for the
//! person (`reassess_person`) and keeps `attendance_tallies` in step, in the
//! same transaction, so the figures are never out of date and nothing is
//! half-written.

use super::audit::record_change;
use super::decode::{col, opt_code, parsed, planned_from_row};
use super::engine::{Db, DbRow, EngineStore, LOCK_PERSON, Tx, begin_write, now};
use super::feed::emit_event;
use super::notices::json_text;
use crate::appointments::*;
use crate::disclosure::WriteAudit;
use crate::{Result, StoreError, events};
use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_domain::attendance::{Bucket, FiguresBuilder, Tally};
use gatehouse_domain::{CustodyStatus, EstablishmentCode, Movement, PlannedStatus, PrisonNumber};
use serde_json::json;

use gatehouse_domain::appointment::{
    self as appt, AppointmentType, ClosureFact, ClosureKind, CustodyFact, DepartureEffect,
    EscortPlan, Facts, Outcome, Place, PlanFact, Risk, RiskReason, Setting, Slot,
};

pub(super) fn actor_text(a: &Actor) -> Result<String> {
    json_text(a)
}

pub(super) fn actor_from(raw: Option<String>) -> Result<Option<Actor>> {
    raw.map(|t| {
        let v: serde_json::Value = parsed("actor", serde_json::from_str(&t))?;
        Ok(Actor {
            consumer: v["consumer"].as_str().unwrap_or_default().to_owned(),
            on_behalf_of: v["onBehalfOf"].as_str().map(str::to_owned),
        })
    })
    .transpose()
}

pub(super) fn place_from_row(r: &DbRow) -> Result<Place> {
    let setting: String = col(r, "setting")?;
    Ok(
        match parsed("appointments.setting", Setting::parse(&setting))? {
            Setting::Internal => Place::Internal {
                room: col::<Option<String>>(r, "room")?.unwrap_or_default(),
            },
            Setting::InCell => Place::InCell,
            Setting::External => Place::External {
                location: col::<Option<String>>(r, "location")?.unwrap_or_default(),
            },
        },
    )
}

pub(super) fn place_columns(p: &Place) -> (Option<&str>, Option<&str>) {
    match p {
        Place::Internal { room } => (Some(room.as_str()), None),
        Place::InCell => (None, None),
        Place::External { location } => (None, Some(location.as_str())),
    }
}

pub(super) fn appointment_from_row(r: &DbRow, risks: Vec<Risk>) -> Result<AppointmentRecord> {
    let pn: String = col(r, "prison_number")?;
    let est: String = col(r, "establishment")?;
    let t: String = col(r, "type")?;
    let status: String = col(r, "status")?;
    let escort: Option<String> = col(r, "escort")?;
    let escort = match escort {
        Some(text) => {
            let plan: EscortPlan = parsed("appointments.escort", serde_json::from_str(&text))?;
            Some(RecordedEscort {
                plan,
                recorded_by: actor_from(col(r, "escort_by")?)?
                    .ok_or_else(|| StoreError::corrupt("escort without its author"))?,
                recorded_at: col::<Option<DateTime<Utc>>>(r, "escort_at")?
                    .ok_or_else(|| StoreError::corrupt("escort without its time"))?,
            })
        }
        None => None,
    };
    let outcome: Option<String> = col(r, "outcome")?;
    let outcome = match outcome {
        Some(kind) => {
            let reason: Option<String> = col(r, "outcome_reason")?;
            Some(RecordedOutcome {
                outcome: parsed(
                    "appointments.outcome",
                    Outcome::parse(&kind, reason.as_deref()),
                )?,
                recorded_by: actor_from(col(r, "outcome_by")?)?
                    .ok_or_else(|| StoreError::corrupt("outcome without its author"))?,
                recorded_at: col::<Option<DateTime<Utc>>>(r, "outcome_at")?
                    .ok_or_else(|| StoreError::corrupt("outcome without its time"))?,
                late: col(r, "outcome_late")?,
                automatic: col(r, "outcome_automatic")?,
            })
        }
        None => None,
    };
    let starts_at: DateTime<Utc> = col(r, "starts_at")?;
    let changed: DateTime<Utc> = col(r, "schedule_changed_at")?;
    Ok(AppointmentRecord {
        id: col(r, "id")?,
        series_id: col(r, "series_id")?,
        prison_number: parsed("appointments.prison_number", PrisonNumber::parse(&pn))?,
        establishment: parsed("appointments.establishment", EstablishmentCode::parse(&est))?,
        appointment_type: parsed("appointments.type", AppointmentType::parse(&t))?,
        starts_at,
        ends_at: col(r, "ends_at")?,
        place: place_from_row(r)?,
        clinician: col(r, "clinician")?,
        clinical_note: col(r, "clinical_note")?,
        owner: col(r, "owner")?,
        status: AppointmentStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt(format!("appointment status {status}")))?,
        cancellation_reason: col(r, "cancellation_reason")?,
        escort,
        outcome,
        risks,
        version: col(r, "version")?,
        booked_at: col(r, "booked_at")?,
        updated_at: col(r, "updated_at")?,
        late_change: appt::is_late_change(changed, starts_at),
    })
}

pub(super) fn risk_from_row(r: &DbRow) -> Result<Risk> {
    let reason: String = col(r, "reason")?;
    Ok(Risk {
        reason: parsed("appointment_risks.reason", RiskReason::parse(&reason))?,
        source: col(r, "source")?,
        detail: col(r, "detail")?,
    })
}

pub(super) async fn open_risks<'e, E: sqlx::Executor<'e, Database = Db>>(
    exec: E,
    id: &str,
) -> Result<Vec<Risk>> {
    let rows = sqlx::query("SELECT * FROM appointment_risks WHERE appointment_id = $1 AND cleared_at IS NULL ORDER BY reason, source")
        .bind(id)
        .fetch_all(exec)
        .await?;
    rows.iter().map(risk_from_row).collect()
}

pub(super) async fn load_appointment_tx(
    tx: &mut Tx<'_>,
    id: &str,
) -> Result<Option<AppointmentRecord>> {
    let Some(row) = sqlx::query("SELECT * FROM appointments WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(None);
    };
    let risks = open_risks(&mut **tx, id).await?;
    Ok(Some(appointment_from_row(&row, risks)?))
}

pub(super) async fn appointments_with_risks(
    pool: &sqlx::Pool<Db>,
    rows: Vec<DbRow>,
) -> Result<Vec<AppointmentRecord>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: String = col(r, "id")?;
        out.push(appointment_from_row(r, open_risks(pool, &id).await?)?);
    }
    Ok(out)
}

/// Where an appointment counts in the tallies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct TallyKey {
    establishment: String,
    week: NaiveDate,
    appointment_type: &'static str,
    setting: &'static str,
    bucket: &'static str,
    reason: &'static str,
}

pub(super) fn bucket_of(status: AppointmentStatus, outcome: Option<Outcome>) -> Bucket {
    match (status, outcome) {
        (_, Some(o)) => Bucket::Outcome(o),
        (AppointmentStatus::Cancelled, None) => Bucket::CancelledInAdvance,
        (AppointmentStatus::Booked, None) => Bucket::NotRecorded,
    }
}

pub(super) fn tally_key(
    est: &str,
    starts_at: DateTime<Utc>,
    t: AppointmentType,
    setting: Setting,
    bucket: Bucket,
) -> TallyKey {
    let (bucket, reason) = bucket.to_pair();
    TallyKey {
        establishment: est.to_owned(),
        week: appt::week_of(starts_at.date_naive()),
        appointment_type: t.as_str(),
        setting: setting.as_str(),
        bucket,
        reason,
    }
}

pub(super) fn key_of(a: &AppointmentRecord) -> TallyKey {
    tally_key(
        a.establishment.as_str(),
        a.starts_at,
        a.appointment_type,
        a.place.setting(),
        bucket_of(a.status, a.outcome.as_ref().map(|o| o.outcome)),
    )
}

pub(super) fn minutes_of(a: &AppointmentRecord) -> i64 {
    (a.ends_at - a.starts_at).num_minutes()
}

pub(super) const TALLY_ADD: &str = "INSERT INTO attendance_tallies (establishment, week, type, setting, bucket, reason, appointments, minutes) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (establishment, week, type, setting, bucket, reason) DO UPDATE SET \
     appointments = attendance_tallies.appointments + excluded.appointments, minutes = attendance_tallies.minutes + excluded.minutes";

pub(super) async fn tally_add(
    tx: &mut Tx<'_>,
    k: &TallyKey,
    appointments: i64,
    minutes: i64,
) -> Result<()> {
    sqlx::query(TALLY_ADD)
        .bind(&k.establishment)
        .bind(k.week)
        .bind(k.appointment_type)
        .bind(k.setting)
        .bind(k.bucket)
        .bind(k.reason)
        .bind(appointments)
        .bind(minutes)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks a prison-week's cached figures stale (and makes sure its cache row exists).
pub(super) async fn invalidate_week(
    tx: &mut Tx<'_>,
    establishment: &str,
    week: NaiveDate,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO attendance_week_cache (establishment, week, gen, data) VALUES ($1, $2, 1, NULL) \
         ON CONFLICT (establishment, week) DO UPDATE SET gen = attendance_week_cache.gen + 1, data = NULL",
    )
    .bind(establishment)
    .bind(week)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves one appointment from its old tally to its new one.
pub(super) async fn tally_move(
    tx: &mut Tx<'_>,
    old: Option<(&TallyKey, i64)>,
    new: Option<(&TallyKey, i64)>,
) -> Result<()> {
    if old == new {
        return Ok(());
    }
    if let Some((k, m)) = old {
        tally_add(tx, k, -1, -m).await?;
        invalidate_week(tx, &k.establishment, k.week).await?;
    }
    if let Some((k, m)) = new
        && old.is_none_or(|(o, _)| {
            (o.establishment.as_str(), o.week) != (k.establishment.as_str(), k.week)
        })
    {
        tally_add(tx, k, 1, m).await?;
        invalidate_week(tx, &k.establishment, k.week).await?;
    } else if let Some((k, m)) = new {
        tally_add(tx, k, 1, m).await?;
    }
    Ok(())
}

pub(super) async fn add_history(
    tx: &mut Tx<'_>,
    id: &str,
    version: i64,
    at: DateTime<Utc>,
    by: &Actor,
    kind: &str,
    detail: serde_json::Value,
) -> Result<()> {
    let n: i64 = col(
        &sqlx::query("SELECT COALESCE(MAX(n), 0) + 1 AS n FROM appointment_history WHERE appointment_id = $1").bind(id).fetch_one(&mut **tx).await?,
        "n",
    )?;
    sqlx::query("INSERT INTO appointment_history (appointment_id, n, version, at, by_consumer, by_user, kind, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(id)
        .bind(n)
        .bind(version)
        .bind(at)
        .bind(&by.consumer)
        .bind(&by.on_behalf_of)
        .bind(kind)
        .bind(detail.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What an appointment event carries: enough to route, list and fetch. Never
/// the health-only fields (clinician, clinical note), so no subscriber's view
/// has anything to withhold.
pub(super) fn appointment_event_data(a: &AppointmentRecord) -> serde_json::Value {
    json!({
        "appointmentId": a.id, "prisonNumber": a.prison_number.as_str(), "establishment": a.establishment.as_str(),
        "type": a.appointment_type.as_str(), "startsAt": a.starts_at, "endsAt": a.ends_at, "setting": a.place.setting().as_str(),
        "status": a.status.as_str(), "owner": a.owner, "version": a.version,
        "outcome": a.outcome.as_ref().map(|o| o.outcome.kind().as_str()),
        "reason": a.outcome.as_ref().and_then(|o| o.outcome.reason()),
        "risks": a.risks, "lateChange": a.late_change,
        "href": format!("/v1/appointments/{}", a.id),
    })
}

pub(super) async fn emit_appointment(
    tx: &mut Tx<'_>,
    a: &AppointmentRecord,
    event_type: &str,
    now: DateTime<Utc>,
    extra: Option<(&str, serde_json::Value)>,
) -> Result<()> {
    let mut data = appointment_event_data(a);
    if let Some((k, v)) = extra {
        data[k] = v;
    }
    emit_event(
        tx,
        a.prison_number.as_str(),
        event_type,
        Some(a.establishment.as_str()),
        now,
        now,
        data,
    )
    .await
}

pub(super) fn slot_of(a: &AppointmentRecord) -> Slot {
    Slot {
        id: a.id.clone(),
        establishment: a.establishment.clone(),
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        setting: a.place.setting(),
    }
}

pub(super) fn closure_from_row(r: &DbRow) -> Result<ClosureRecord> {
    let kind: String = col(r, "kind")?;
    Ok(ClosureRecord {
        id: col(r, "id")?,
        establishment: col(r, "establishment")?,
        kind: parsed("regime_closures.kind", ClosureKind::parse(&kind))?,
        starts_at: col(r, "starts_at")?,
        ends_at: col(r, "ends_at")?,
        reason: col(r, "reason")?,
        recorded_by: actor_from(col(r, "recorded_by")?)?
            .ok_or_else(|| StoreError::corrupt("closure without its author"))?,
        recorded_at: col(r, "recorded_at")?,
        appointments_at_risk: col(r, "at_risk")?,
    })
}

/// Runs the clash rules over the person's open future appointments and
/// records what changed: new risks raise `appointment.at-risk` (the owner
/// hears at once); risks whose fact is gone are cleared. Returns how many
/// appointments gained a risk.
pub(super) async fn reassess_person(
    tx: &mut Tx<'_>,
    pn: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    let rows = sqlx::query("SELECT * FROM appointments WHERE prison_number = $1 AND status = 'booked' AND outcome IS NULL AND ends_at > $2 ORDER BY starts_at, id")
        .bind(pn)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut open = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: String = col(r, "id")?;
        let risks = open_risks(&mut **tx, &id).await?;
        open.push(appointment_from_row(r, risks)?);
    }
    let person =
        sqlx::query("SELECT custody_status, establishment FROM people WHERE prison_number = $1")
            .bind(pn)
            .fetch_one(&mut **tx)
            .await?;
    let status: Option<String> = col(&person, "custody_status")?;
    let custody = match (
        status.as_deref().and_then(CustodyStatus::parse),
        opt_code(&person, "establishment")?,
    ) {
        (Some(status), Some(establishment)) => Some(CustodyFact {
            status,
            establishment,
        }),
        _ => None,
    };
    let plans =
        sqlx::query("SELECT * FROM planned_movements WHERE prison_number = $1 AND status = $2")
            .bind(pn)
            .bind(PlannedStatus::Planned.as_str())
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| {
                planned_from_row(r).map(|p| PlanFact {
                    id: p.planned.id,
                    kind: p.planned.kind,
                    at: p.planned.planned_for,
                    destination: p.planned.destination,
                    description: p.planned.description,
                })
            })
            .collect::<Result<Vec<_>>>()?;
    let slots: Vec<Slot> = open.iter().map(slot_of).collect();
    let last_end = slots.iter().map(|s| s.ends_at).max().unwrap_or(now);
    let mut closures_by_est: std::collections::HashMap<String, Vec<ClosureFact>> =
        Default::default();
    for est in open
        .iter()
        .map(|a| a.establishment.as_str().to_owned())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let rows = sqlx::query("SELECT * FROM regime_closures WHERE establishment = $1 AND starts_at < $2 AND (ends_at IS NULL OR ends_at > $3)")
            .bind(&est)
            .bind(last_end)
            .bind(now)
            .fetch_all(&mut **tx)
            .await?;
        let facts = rows
            .iter()
            .map(|r| {
                closure_from_row(r).map(|c| ClosureFact {
                    id: c.id,
                    kind: c.kind,
                    starts_at: c.starts_at,
                    ends_at: c.ends_at,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        closures_by_est.insert(est, facts);
    }
    let mut newly_at_risk = 0;
    for a in &open {
        let facts = Facts {
            custody: custody.clone(),
            plans: plans.clone(),
            others: slots.clone(),
            closures: closures_by_est
                .get(a.establishment.as_str())
                .cloned()
                .unwrap_or_default(),
        };
        let wanted = appt::assess(&slot_of(a), &facts, now);
        let same = |x: &Risk, y: &Risk| x.reason == y.reason && x.source == y.source;
        let raised: Vec<&Risk> = wanted
            .iter()
            .filter(|w| !a.risks.iter().any(|h| same(h, w)))
            .collect();
        let cleared: Vec<&Risk> = a
            .risks
            .iter()
            .filter(|h| !wanted.iter().any(|w| same(h, w)))
            .collect();
        if raised.is_empty() && cleared.is_empty() {
            continue;
        }
        for r in &raised {
            sqlx::query("INSERT INTO appointment_risks (id, appointment_id, reason, source, detail, raised_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(&a.id)
                .bind(r.reason.as_str())
                .bind(&r.source)
                .bind(&r.detail)
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        for r in &cleared {
            sqlx::query("UPDATE appointment_risks SET cleared_at = $1 WHERE appointment_id = $2 AND reason = $3 AND source = $4 AND cleared_at IS NULL")
                .bind(now)
                .bind(&a.id)
                .bind(r.reason.as_str())
                .bind(&r.source)
                .execute(&mut **tx)
                .await?;
        }
        let rule = Actor::rule("clash");
        let mut current = a.clone();
        current.risks = wanted.clone();
        if !raised.is_empty() {
            newly_at_risk += 1;
            add_history(
                tx,
                &a.id,
                a.version,
                now,
                &rule,
                "at-risk",
                json!({"raised": raised}),
            )
            .await?;
            emit_appointment(
                tx,
                &current,
                events::APPOINTMENT_AT_RISK,
                now,
                Some(("raised", json!(raised))),
            )
            .await?;
        }
        if !cleared.is_empty() {
            add_history(
                tx,
                &a.id,
                a.version,
                now,
                &rule,
                "risk-cleared",
                json!({"cleared": cleared}),
            )
            .await?;
            emit_appointment(
                tx,
                &current,
                events::APPOINTMENT_CHANGED,
                now,
                Some(("risksCleared", json!(cleared))),
            )
            .await?;
        }
    }
    Ok(newly_at_risk)
}

/// Clears the open risks of an appointment that is over (cancelled or its outcome recorded).
pub(super) async fn clear_risks(tx: &mut Tx<'_>, id: &str, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE appointment_risks SET cleared_at = $1 WHERE appointment_id = $2 AND cleared_at IS NULL").bind(now).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// The movement rules: a departure records the same day's appointments as
/// was-not-brought, and a transfer or release cancels later ones at the
/// prison left behind (their owners told by the events).
pub(super) async fn apply_departure(
    tx: &mut Tx<'_>,
    pn: &str,
    m: &Movement,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let mut changes = Vec::new();
    let rows = sqlx::query("SELECT * FROM appointments WHERE prison_number = $1 AND establishment = $2 AND status = 'booked' AND outcome IS NULL AND starts_at >= $3 ORDER BY starts_at")
        .bind(pn)
        .bind(m.establishment.as_str())
        .bind(m.occurred_at)
        .fetch_all(&mut **tx)
        .await?;
    let rule = Actor::rule(&format!("departure:{}", m.kind.as_str()));
    for r in &rows {
        let id: String = col(r, "id")?;
        let before = appointment_from_row(r, vec![])?;
        match appt::on_departure(m.kind, m.occurred_at, &slot_of(&before)) {
            DepartureEffect::NotBrought(reason) => {
                let outcome = Outcome::WasNotBrought(reason);
                sqlx::query(
                    "UPDATE appointments SET outcome = $1, outcome_reason = $2, outcome_by = $3, outcome_at = $4, outcome_late = $5, outcome_automatic = $6, \
                     version = version + 1, updated_at = $4 WHERE id = $7",
                )
                .bind(outcome.kind().as_str())
                .bind(outcome.reason())
                .bind(actor_text(&rule)?)
                .bind(now)
                .bind(false)
                .bind(true)
                .bind(&id)
                .execute(&mut **tx)
                .await?;
                clear_risks(tx, &id, now).await?;
                let after = load_appointment_tx(tx, &id)
                    .await?
                    .ok_or_else(|| StoreError::corrupt("appointment vanished"))?;
                tally_move(
                    tx,
                    Some((&key_of(&before), minutes_of(&before))),
                    Some((&key_of(&after), minutes_of(&after))),
                )
                .await?;
                add_history(tx, &id, after.version, now, &rule, "attendance-recorded", json!({"outcome": outcome.kind().as_str(), "reason": reason.as_str(), "automatic": true})).await?;
                emit_appointment(
                    tx,
                    &after,
                    events::APPOINTMENT_ATTENDANCE_RECORDED,
                    now,
                    Some(("automatic", json!(true))),
                )
                .await?;
                changes.push(format!(
                    "appointment {id} recorded as was-not-brought ({})",
                    reason.as_str()
                ));
            }
            DepartureEffect::Cancel(reason) => {
                let why = format!("person {}", reason.as_str());
                sqlx::query("UPDATE appointments SET status = 'cancelled', cancellation_reason = $1, version = version + 1, updated_at = $2 WHERE id = $3")
                    .bind(&why)
                    .bind(now)
                    .bind(&id)
                    .execute(&mut **tx)
                    .await?;
                clear_risks(tx, &id, now).await?;
                let after = load_appointment_tx(tx, &id)
                    .await?
                    .ok_or_else(|| StoreError::corrupt("appointment vanished"))?;
                tally_move(
                    tx,
                    Some((&key_of(&before), minutes_of(&before))),
                    Some((&key_of(&after), minutes_of(&after))),
                )
                .await?;
                add_history(
                    tx,
                    &id,
                    after.version,
                    now,
                    &rule,
                    "cancelled",
                    json!({"reason": why, "automatic": true}),
                )
                .await?;
                emit_appointment(
                    tx,
                    &after,
                    events::APPOINTMENT_CANCELLED,
                    now,
                    Some(("automatic", json!(true))),
                )
                .await?;
                changes.push(format!("appointment {id} cancelled ({why})"));
            }
            DepartureEffect::None => {}
        }
    }
    Ok(changes)
}

/// Locks the person (the feed's lock) and answers their custody establishment.
pub(super) async fn lock_for_appointments(
    tx: &mut Tx<'_>,
    pn: &str,
) -> Result<(Option<String>, Option<String>)> {
    let row = sqlx::query(LOCK_PERSON)
        .bind(pn)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound("no person with this prison number".into()))?;
    Ok((col(&row, "establishment")?, col(&row, "custody_status")?))
}

pub(super) async fn person_of_appointment(tx: &mut Tx<'_>, id: &str) -> Result<String> {
    let row = sqlx::query("SELECT prison_number FROM appointments WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound("no appointment with this id".into()))?;
    col(&row, "prison_number")
}

pub(super) async fn book_appointments(
    pool: &sqlx::Pool<Db>,
    nb: &NewBooking,
    audit: &WriteAudit,
) -> Result<Vec<AppointmentRecord>> {
    let mut tx = begin_write(pool).await?;
    let pn = nb.prison_number.as_str();
    let (establishment, status) = lock_for_appointments(&mut tx, pn).await?;
    let establishment = match (establishment, status.as_deref()) {
        (Some(e), Some(s)) if s != CustodyStatus::Released.as_str() => e,
        _ => return Err(StoreError::Conflict("this person is not in custody at a prison, so there is nowhere to book the appointment".into())),
    };
    let now = now();
    let b = &nb.booking;
    let series = b.repeat.map(|_| uuid::Uuid::now_v7().to_string());
    let (room, location) = place_columns(&b.place);
    let mut ids = Vec::new();
    for start in b.occurrences() {
        let id = uuid::Uuid::now_v7().to_string();
        let end = start + chrono::Duration::minutes(b.minutes);
        sqlx::query(
            "INSERT INTO appointments (id, series_id, prison_number, establishment, type, starts_at, ends_at, minutes, day, week, setting, room, location, \
             clinician, clinical_note, owner, owner_user, status, version, booked_at, updated_at, schedule_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'booked', 1, $18, $18, $18)",
        )
        .bind(&id)
        .bind(&series)
        .bind(pn)
        .bind(&establishment)
        .bind(b.appointment_type.as_str())
        .bind(start)
        .bind(end)
        .bind(b.minutes)
        .bind(start.date_naive())
        .bind(appt::week_of(start.date_naive()))
        .bind(b.place.setting().as_str())
        .bind(room)
        .bind(location)
        .bind(&b.clinician)
        .bind(&b.clinical_note)
        .bind(&nb.owner.consumer)
        .bind(&nb.owner.on_behalf_of)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let rec = load_appointment_tx(&mut tx, &id)
            .await?
            .ok_or_else(|| StoreError::corrupt("appointment vanished"))?;
        tally_move(&mut tx, None, Some((&key_of(&rec), minutes_of(&rec)))).await?;
        add_history(&mut tx, &id, 1, now, &nb.owner, "booked", json!({"type": rec.appointment_type.as_str(), "startsAt": rec.starts_at, "endsAt": rec.ends_at, "place": rec.place, "series": series})).await?;
        emit_appointment(&mut tx, &rec, events::APPOINTMENT_BOOKED, now, None).await?;
        ids.push(id);
    }
    reassess_person(&mut tx, pn, now).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        out.push(
            load_appointment_tx(&mut tx, id)
                .await?
                .ok_or_else(|| StoreError::corrupt("appointment vanished"))?,
        );
    }
    record_change(
        &mut tx,
        audit,
        &out.iter()
            .map(|a| format!("appointment/{}@v{}:booked", a.id, a.version))
            .collect::<Vec<_>>(),
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

pub(super) fn check_version(current: i64, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != current => Err(StoreError::Stale(format!(
            "the appointment is at version {current}, not {v}: read it again"
        ))),
        _ => Ok(()),
    }
}

pub(super) async fn change_appointment(
    pool: &sqlx::Pool<Db>,
    id: &str,
    ch: &AppointmentChange,
    audit: &WriteAudit,
) -> Result<AppointmentRecord> {
    let mut tx = begin_write(pool).await?;
    let pn = person_of_appointment(&mut tx, id).await?;
    lock_for_appointments(&mut tx, &pn).await?;
    let before = load_appointment_tx(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound("no appointment with this id".into()))?;
    if before.owner != ch.by.consumer {
        return Err(StoreError::Forbidden(format!(
            "only its owner ({}) may change this appointment",
            before.owner
        )));
    }
    check_version(before.version, ch.change.expected_version)?;
    if before.status == AppointmentStatus::Cancelled {
        return Err(StoreError::Conflict("the appointment is cancelled".into()));
    }
    if before.outcome.is_some() {
        return Err(StoreError::Conflict(
            "attendance is already recorded; correct the attendance instead".into(),
        ));
    }
    let now = now();
    let c = &ch.change;
    let detail;
    if c.cancel {
        sqlx::query("UPDATE appointments SET status = 'cancelled', cancellation_reason = $1, version = version + 1, updated_at = $2 WHERE id = $3")
            .bind(&c.reason)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        clear_risks(&mut tx, id, now).await?;
        detail = json!({"reason": c.reason});
    } else {
        let start = c.starts_at.unwrap_or(before.starts_at);
        let minutes = c.minutes.unwrap_or_else(|| minutes_of(&before));
        let place = c.place.clone().unwrap_or_else(|| before.place.clone());
        if before.appointment_type == AppointmentType::HospitalOutpatient
            && place.setting() != Setting::External
        {
            return Err(StoreError::Invalid(gatehouse_domain::ParseError::new(
                "place.kind",
                "must be external for a hospital outpatient (HOSP-OP) appointment",
            )));
        }
        let (room, location) = place_columns(&place);
        let moved =
            start != before.starts_at || minutes != minutes_of(&before) || place != before.place;
        sqlx::query(
            "UPDATE appointments SET starts_at = $1, ends_at = $2, minutes = $3, day = $4, week = $5, setting = $6, room = $7, location = $8, \
             clinician = COALESCE($9, clinician), clinical_note = COALESCE($10, clinical_note), version = version + 1, updated_at = $11, \
             schedule_changed_at = CASE WHEN $12 THEN $11 ELSE schedule_changed_at END WHERE id = $13",
        )
        .bind(start)
        .bind(start + chrono::Duration::minutes(minutes))
        .bind(minutes)
        .bind(start.date_naive())
        .bind(appt::week_of(start.date_naive()))
        .bind(place.setting().as_str())
        .bind(room)
        .bind(location)
        .bind(&c.clinician)
        .bind(&c.clinical_note)
        .bind(now)
        .bind(moved)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        // Health-only fields are named, never quoted, in the shared history.
        let mut changed = Vec::new();
        if start != before.starts_at {
            changed.push("startsAt");
        }
        if minutes != minutes_of(&before) {
            changed.push("durationMinutes");
        }
        if place != before.place {
            changed.push("place");
        }
        if c.clinician.is_some() {
            changed.push("clinician");
        }
        if c.clinical_note.is_some() {
            changed.push("clinicalNote");
        }
        detail = json!({"changed": changed, "reason": c.reason, "startsAt": start, "place": place, "previousStartsAt": before.starts_at});
    }
    let after = load_appointment_tx(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::corrupt("appointment vanished"))?;
    tally_move(
        &mut tx,
        Some((&key_of(&before), minutes_of(&before))),
        Some((&key_of(&after), minutes_of(&after))),
    )
    .await?;
    let (kind, event) = if c.cancel {
        ("cancelled", events::APPOINTMENT_CANCELLED)
    } else {
        ("changed", events::APPOINTMENT_CHANGED)
    };
    add_history(&mut tx, id, after.version, now, &ch.by, kind, detail).await?;
    emit_appointment(
        &mut tx,
        &after,
        event,
        now,
        Some(("reason", json!(c.reason))),
    )
    .await?;
    reassess_person(&mut tx, &pn, now).await?;
    let after = load_appointment_tx(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::corrupt("appointment vanished"))?;
    record_change(
        &mut tx,
        audit,
        &[format!("appointment/{id}@v{}:{kind}", after.version)],
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn plan_escort(
    pool: &sqlx::Pool<Db>,
    id: &str,
    up: &EscortUpdate,
    audit: &WriteAudit,
) -> Result<AppointmentRecord> {
    let mut tx = begin_write(pool).await?;
    let pn = person_of_appointment(&mut tx, id).await?;
    lock_for_appointments(&mut tx, &pn).await?;
    let before = load_appointment_tx(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound("no appointment with this id".into()))?;
    check_version(before.version, up.expected_version)?;
    if before.place.setting() != Setting::External {
        return Err(StoreError::Invalid(gatehouse_domain::ParseError::new(
            "officers",
            "only an external appointment needs an escort",
        )));
    }
    if before.status == AppointmentStatus::Cancelled {
        return Err(StoreError::Conflict("the appointment is cancelled".into()));
    }
    let now = now();
    sqlx::query("UPDATE appointments SET escort = $1, escort_by = $2, escort_at = $3, version = version + 1, updated_at = $3 WHERE id = $4")
        .bind(json_text(&up.plan)?)
        .bind(actor_text(&up.by)?)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let after = load_appointment_tx(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::corrupt("appointment vanished"))?;
    add_history(
        &mut tx,
        id,
        after.version,
        now,
        &up.by,
        "escort-planned",
        json!({"escort": up.plan}),
    )
    .await?;
    emit_appointment(
        &mut tx,
        &after,
        events::APPOINTMENT_CHANGED,
        now,
        Some(("escort", json!(up.plan))),
    )
    .await?;
    record_change(
        &mut tx,
        audit,
        &[format!(
            "appointment/{id}@v{}:escort-planned",
            after.version
        )],
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn record_attendance(
    pool: &sqlx::Pool<Db>,
    id: &str,
    up: &AttendanceUpdate,
    audit: &WriteAudit,
) -> Result<AppointmentRecord> {
    let mut tx = begin_write(pool).await?;
    let pn = person_of_appointment(&mut tx, id).await?;
    lock_for_appointments(&mut tx, &pn).await?;
    let before = load_appointment_tx(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound("no appointment with this id".into()))?;
    let now = now();
    let outcome = up.attendance.outcome;
    if !outcome.may_be_recorded_by(up.org) {
        return Err(StoreError::Forbidden(format!(
            "{} is healthcare's decision, recorded by healthcare",
            outcome.kind().as_str()
        )));
    }
    if before.status == AppointmentStatus::Cancelled {
        return Err(StoreError::Conflict(
            "the appointment was cancelled in advance; there is no attendance to record".into(),
        ));
    }
    appt::attendance_window(before.starts_at, now).map_err(StoreError::Invalid)?;
    let correcting = before.outcome.is_some();
    if correcting && up.attendance.correction_reason.is_none() {
        return Err(StoreError::Invalid(gatehouse_domain::ParseError::new(
            "correctionReason",
            "is required: an outcome is already recorded, and a correction must say why",
        )));
    }
    if before
        .outcome
        .as_ref()
        .is_some_and(|o| o.outcome == outcome)
    {
        return Ok(before);
    }
    let late = appt::is_late_recording(before.ends_at, now);
    sqlx::query(
        "UPDATE appointments SET outcome = $1, outcome_reason = $2, outcome_by = $3, outcome_at = $4, outcome_late = $5, outcome_automatic = $6, \
         version = version + 1, updated_at = $4 WHERE id = $7",
    )
    .bind(outcome.kind().as_str())
    .bind(outcome.reason())
    .bind(actor_text(&up.by)?)
    .bind(now)
    .bind(late)
    .bind(false)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    clear_risks(&mut tx, id, now).await?;
    let after = load_appointment_tx(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::corrupt("appointment vanished"))?;
    tally_move(
        &mut tx,
        Some((&key_of(&before), minutes_of(&before))),
        Some((&key_of(&after), minutes_of(&after))),
    )
    .await?;
    let kind = if correcting {
        "attendance-corrected"
    } else {
        "attendance-recorded"
    };
    let mut detail =
        json!({"outcome": outcome.kind().as_str(), "reason": outcome.reason(), "late": late});
    if let Some(prev) = &before.outcome {
        detail["previous"] = json!({"outcome": prev.outcome.kind().as_str(), "reason": prev.outcome.reason(), "recordedBy": prev.recorded_by, "recordedAt": prev.recorded_at});
        detail["correctionReason"] = json!(up.attendance.correction_reason);
    }
    add_history(&mut tx, id, after.version, now, &up.by, kind, detail).await?;
    emit_appointment(
        &mut tx,
        &after,
        events::APPOINTMENT_ATTENDANCE_RECORDED,
        now,
        Some(("correction", json!(correcting))),
    )
    .await?;
    record_change(
        &mut tx,
        audit,
        &[format!("appointment/{id}@v{}:{kind}", after.version)]
            .into_iter()
            .chain(late.then(|| format!("appointment/{id}:attendance-recorded-late")))
            .collect::<Vec<_>>(),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn appointment(
    pool: &sqlx::Pool<Db>,
    id: &str,
) -> Result<Option<AppointmentRecord>> {
    let Some(row) = sqlx::query("SELECT * FROM appointments WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(appointment_from_row(
        &row,
        open_risks(pool, id).await?,
    )?))
}

pub(super) async fn appointments_for(
    pool: &sqlx::Pool<Db>,
    pn: &PrisonNumber,
    from: Option<DateTime<Utc>>,
    include_cancelled: bool,
) -> Result<Vec<AppointmentRecord>> {
    let rows = sqlx::query(
        "SELECT * FROM appointments WHERE prison_number = $1 AND ($2 IS NULL OR ends_at > $2) AND (status = 'booked' OR $3) ORDER BY starts_at, id LIMIT 1000",
    )
    .bind(pn.as_str())
    .bind(from)
    .bind(include_cancelled)
    .fetch_all(pool)
    .await?;
    appointments_with_risks(pool, rows).await
}

pub(super) async fn appointments_at(
    pool: &sqlx::Pool<Db>,
    est: &EstablishmentCode,
    day: NaiveDate,
) -> Result<Vec<AppointmentRecord>> {
    let rows = sqlx::query("SELECT * FROM appointments WHERE establishment = $1 AND day = $2 ORDER BY starts_at, prison_number, id")
        .bind(est.as_str())
        .bind(day)
        .fetch_all(pool)
        .await?;
    appointments_with_risks(pool, rows).await
}

pub(super) async fn appointment_history(
    pool: &sqlx::Pool<Db>,
    id: &str,
) -> Result<Vec<AppointmentHistoryEntry>> {
    let rows =
        sqlx::query("SELECT * FROM appointment_history WHERE appointment_id = $1 ORDER BY n")
            .bind(id)
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| {
            let detail: String = col(r, "detail")?;
            Ok(AppointmentHistoryEntry {
                version: col(r, "version")?,
                at: col(r, "at")?,
                by: Actor {
                    consumer: col(r, "by_consumer")?,
                    on_behalf_of: col(r, "by_user")?,
                },
                kind: col(r, "kind")?,
                detail: parsed("appointment_history.detail", serde_json::from_str(&detail))?,
            })
        })
        .collect()
}

/// The people with open appointments a closure's window touches, in a fixed order (so two closures lock people alike).
pub(super) async fn people_touched(
    tx: &mut Tx<'_>,
    est: &str,
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT DISTINCT prison_number FROM appointments WHERE establishment = $1 AND status = 'booked' AND outcome IS NULL \
         AND ends_at > $2 AND ends_at > $3 AND ($4 IS NULL OR starts_at < $4) ORDER BY prison_number",
    )
    .bind(est)
    .bind(from)
    .bind(now)
    .bind(until)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|r| col(r, "prison_number")).collect()
}

pub(super) async fn record_closure(
    pool: &sqlx::Pool<Db>,
    c: &NewClosure,
    audit: &WriteAudit,
) -> Result<ClosureRecord> {
    let mut tx = begin_write(pool).await?;
    let now = now();
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query("INSERT INTO regime_closures (id, establishment, kind, starts_at, ends_at, reason, recorded_by, recorded_at, at_risk) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)")
        .bind(&id)
        .bind(c.establishment.as_str())
        .bind(c.kind.as_str())
        .bind(c.starts_at)
        .bind(c.ends_at)
        .bind(&c.reason)
        .bind(actor_text(&c.by)?)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let mut at_risk = 0i64;
    for pn in people_touched(
        &mut tx,
        c.establishment.as_str(),
        c.starts_at,
        c.ends_at,
        now,
    )
    .await?
    {
        sqlx::query(LOCK_PERSON)
            .bind(&pn)
            .fetch_one(&mut *tx)
            .await?;
        at_risk += reassess_person(&mut tx, &pn, now).await? as i64;
    }
    sqlx::query("UPDATE regime_closures SET at_risk = $1 WHERE id = $2")
        .bind(at_risk)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query("SELECT * FROM regime_closures WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
    record_change(
        &mut tx,
        audit,
        &[format!("regime-closure/{id}:recorded:{at_risk}-at-risk")],
    )
    .await?;
    tx.commit().await?;
    closure_from_row(&row)
}

pub(super) async fn end_closure(
    pool: &sqlx::Pool<Db>,
    id: &str,
    at: DateTime<Utc>,
    _by: &Actor,
    audit: &WriteAudit,
) -> Result<ClosureRecord> {
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query("SELECT * FROM regime_closures WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound("no closure with this id".into()))?;
    let before = closure_from_row(&row)?;
    if before.ends_at.is_some_and(|e| e <= at) {
        return Err(StoreError::Conflict("the closure has already ended".into()));
    }
    let at = at.max(before.starts_at);
    sqlx::query("UPDATE regime_closures SET ends_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let now = now();
    for pn in people_touched(
        &mut tx,
        &before.establishment,
        before.starts_at,
        before.ends_at,
        now,
    )
    .await?
    {
        sqlx::query(LOCK_PERSON)
            .bind(&pn)
            .fetch_one(&mut *tx)
            .await?;
        reassess_person(&mut tx, &pn, now).await?;
    }
    let row = sqlx::query("SELECT * FROM regime_closures WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    record_change(&mut tx, audit, &[format!("regime-closure/{id}:ended")]).await?;
    tx.commit().await?;
    closure_from_row(&row)
}

pub(super) async fn closures(
    pool: &sqlx::Pool<Db>,
    est: &EstablishmentCode,
    after: DateTime<Utc>,
) -> Result<Vec<ClosureRecord>> {
    let rows = sqlx::query("SELECT * FROM regime_closures WHERE establishment = $1 AND (ends_at IS NULL OR ends_at > $2) ORDER BY starts_at, id")
        .bind(est.as_str())
        .bind(after)
        .fetch_all(pool)
        .await?;
    rows.iter().map(closure_from_row).collect()
}

pub(super) async fn attendance_tallies(
    pool: &sqlx::Pool<Db>,
    q: &TallyQuery,
) -> Result<Vec<Tally>> {
    let mut sql = sqlx::QueryBuilder::<Db>::new(
        "SELECT establishment, week, type, setting, bucket, reason, appointments, minutes FROM attendance_tallies WHERE appointments <> 0 AND week >= ",
    );
    sql.push_bind(q.from).push(" AND week <= ").push_bind(q.to);
    if !q.establishments.is_empty() {
        sql.push(" AND establishment IN (");
        let mut list = sql.separated(", ");
        for e in &q.establishments {
            list.push_bind(e.as_str().to_owned());
        }
        list.push_unseparated(")");
    }
    let rows = sql.build().fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            let t: String = col(r, "type")?;
            let s: String = col(r, "setting")?;
            let b: String = col(r, "bucket")?;
            let reason: String = col(r, "reason")?;
            Ok(Tally {
                establishment: col(r, "establishment")?,
                week: col(r, "week")?,
                appointment_type: parsed("attendance_tallies.type", AppointmentType::parse(&t))?,
                setting: parsed("attendance_tallies.setting", Setting::parse(&s))?,
                bucket: Bucket::from_pair(&b, &reason)
                    .ok_or_else(|| StoreError::corrupt(format!("tally bucket {b}/{reason}")))?,
                appointments: col(r, "appointments")?,
                minutes: col(r, "minutes")?,
            })
        })
        .collect()
}

/// Rows per multi-row INSERT: 21 binds each stays under both engines' parameter limits.
pub(super) const IMPORT_CHUNK: usize = 1000;

pub(super) async fn import_appointments(
    pool: &sqlx::Pool<Db>,
    rows: &[ImportedAppointment],
    audit: &WriteAudit,
) -> Result<u64> {
    let mut tx = begin_write(pool).await?;
    let now = now();
    let mut tallies: std::collections::HashMap<TallyKey, (i64, i64)> = Default::default();
    let mut stored = 0u64;
    for chunk in rows.chunks(IMPORT_CHUNK) {
        let mut people: Vec<&str> = chunk.iter().map(|r| r.prison_number.as_str()).collect();
        people.sort_unstable();
        people.dedup();
        let mut p = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO people (prison_number, created_at, updated_at) ",
        );
        p.push_values(&people, |mut b, pn| {
            b.push_bind(*pn).push_bind(now).push_bind(now);
        });
        p.push(" ON CONFLICT (prison_number) DO NOTHING");
        p.build().execute(&mut *tx).await?;

        let mut q = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO appointments (id, prison_number, establishment, type, starts_at, ends_at, minutes, day, week, setting, room, location, \
             owner, status, outcome, outcome_reason, outcome_by, outcome_at, version, booked_at, updated_at, schedule_changed_at) ",
        );
        q.push_values(chunk, |mut b, r| {
            let (room, location) = place_columns(&r.place);
            let ends = r.starts_at + chrono::Duration::minutes(r.minutes);
            let by = r
                .recorded_by
                .as_ref()
                .map(|c| json!({"consumer": c}).to_string());
            b.push_bind(&r.id)
                .push_bind(r.prison_number.as_str())
                .push_bind(r.establishment.as_str())
                .push_bind(r.appointment_type.as_str())
                .push_bind(r.starts_at)
                .push_bind(ends)
                .push_bind(r.minutes)
                .push_bind(r.starts_at.date_naive())
                .push_bind(appt::week_of(r.starts_at.date_naive()))
                .push_bind(r.place.setting().as_str())
                .push_bind(room.map(str::to_owned))
                .push_bind(location.map(str::to_owned))
                .push_bind(&r.owner)
                .push_bind(if r.cancelled { "cancelled" } else { "booked" })
                .push_bind(r.outcome.map(|o| o.kind().as_str()))
                .push_bind(r.outcome.and_then(|o| o.reason()))
                .push_bind(by)
                .push_bind(r.outcome.map(|_| ends))
                .push_bind(1i64)
                .push_bind(r.booked_at)
                .push_bind(now)
                .push_bind(r.booked_at);
        });
        q.push(" ON CONFLICT (id) DO NOTHING");
        let done = q.build().execute(&mut *tx).await?.rows_affected();
        if done != chunk.len() as u64 {
            return Err(StoreError::Conflict(
                "some appointment ids are already stored; an import is all or nothing".into(),
            ));
        }
        stored += done;
        for r in chunk {
            let status = if r.cancelled {
                AppointmentStatus::Cancelled
            } else {
                AppointmentStatus::Booked
            };
            let k = tally_key(
                r.establishment.as_str(),
                r.starts_at,
                r.appointment_type,
                r.place.setting(),
                bucket_of(status, r.outcome),
            );
            let e = tallies.entry(k).or_default();
            e.0 += 1;
            e.1 += r.minutes;
        }
    }
    let mut weeks = std::collections::BTreeSet::new();
    for (k, (n, m)) in &tallies {
        tally_add(&mut tx, k, *n, *m).await?;
        weeks.insert((k.establishment.as_str(), k.week));
    }
    for (est, week) in weeks {
        invalidate_week(&mut tx, est, week).await?;
    }
    record_change(&mut tx, audit, &[format!("appointments-import:{stored}")]).await?;
    tx.commit().await?;
    Ok(stored)
}

/// One prison-week's tallies packed into one value: `TYPE|setting|bucket|reason|n|minutes` joined by `;`.
pub(super) fn pack_week(rows: &[(String, String, String, String, i64, i64)]) -> String {
    rows.iter()
        .map(|(t, s, b, r, n, m)| format!("{t}|{s}|{b}|{r}|{n}|{m}"))
        .collect::<Vec<_>>()
        .join(";")
}

pub(super) fn unpack_week_into(
    builder: &mut FiguresBuilder,
    est: &str,
    week: NaiveDate,
    data: &str,
) -> Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    for entry in data.split(';') {
        let mut f = entry.split('|');
        let (Some(t), Some(s), Some(b), Some(r), Some(n), Some(m)) =
            (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            return Err(StoreError::corrupt("attendance week cache entry"));
        };
        let n: i64 = n.parse().map_err(StoreError::corrupt)?;
        if n == 0 {
            continue;
        }
        builder.add(
            est,
            week,
            parsed("attendance cache type", AppointmentType::parse(t))?,
            parsed("attendance cache setting", Setting::parse(s))?,
            Bucket::from_pair(b, r)
                .ok_or_else(|| StoreError::corrupt(format!("attendance cache bucket {b}/{r}")))?,
            n,
            m.parse().map_err(StoreError::corrupt)?,
        );
    }
    Ok(())
}

/// The dashboard's figures: one cached row per prison-week; a stale week is
/// rebuilt from its tallies and written back unless it changed meanwhile.
pub(super) async fn attendance_figures(
    reader: &sqlx::Pool<Db>,
    writer: &sqlx::Pool<Db>,
    q: &TallyQuery,
) -> Result<gatehouse_domain::attendance::Figures> {
    let mut sql = sqlx::QueryBuilder::<Db>::new(
        "SELECT establishment, week, gen, data FROM attendance_week_cache WHERE week >= ",
    );
    sql.push_bind(q.from).push(" AND week <= ").push_bind(q.to);
    if !q.establishments.is_empty() {
        sql.push(" AND establishment IN (");
        let mut list = sql.separated(", ");
        for e in &q.establishments {
            list.push_bind(e.as_str().to_owned());
        }
        list.push_unseparated(")");
    }
    let rows = sql.build().fetch_all(reader).await?;
    let mut builder = FiguresBuilder::default();
    let mut rebuilt = Vec::new();
    for r in &rows {
        let est: String = col(r, "establishment")?;
        let week: NaiveDate = col(r, "week")?;
        match col::<Option<String>>(r, "data")? {
            Some(data) => unpack_week_into(&mut builder, &est, week, &data)?,
            None => {
                let generation: i64 = col(r, "gen")?;
                let tallies = sqlx::query(
                    "SELECT type, setting, bucket, reason, appointments, minutes FROM attendance_tallies \
                     WHERE establishment = $1 AND week = $2 AND appointments <> 0 ORDER BY type, setting, bucket, reason",
                )
                .bind(&est)
                .bind(week)
                .fetch_all(reader)
                .await?;
                let packed: Vec<(String, String, String, String, i64, i64)> = tallies
                    .iter()
                    .map(|t| {
                        Ok((
                            col(t, "type")?,
                            col(t, "setting")?,
                            col(t, "bucket")?,
                            col(t, "reason")?,
                            col(t, "appointments")?,
                            col(t, "minutes")?,
                        ))
                    })
                    .collect::<Result<_>>()?;
                let data = pack_week(&packed);
                unpack_week_into(&mut builder, &est, week, &data)?;
                rebuilt.push((est, week, generation, data));
            }
        }
    }
    if !rebuilt.is_empty() {
        // Best effort, and never a wait behind a long write: a busy writer only
        // means the next reader rebuilds these weeks again.
        let begun =
            tokio::time::timeout(std::time::Duration::from_millis(250), begin_write(writer)).await;
        if let Ok(Ok(mut tx)) = begun {
            let mut ok = true;
            for (est, week, generation, data) in &rebuilt {
                ok &= sqlx::query("UPDATE attendance_week_cache SET data = $1 WHERE establishment = $2 AND week = $3 AND gen = $4")
                    .bind(data)
                    .bind(est)
                    .bind(*week)
                    .bind(*generation)
                    .execute(&mut *tx)
                    .await
                    .is_ok();
            }
            if ok {
                let _ = tx.commit().await;
            }
        }
    }
    Ok(builder.finish())
}

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::AppointmentStore for EngineStore {
    async fn book_appointments(
        &self,
        booking: &NewBooking,
        audit: &WriteAudit,
    ) -> Result<Vec<AppointmentRecord>> {
        book_appointments(&self.writer, booking, audit).await
    }
    async fn change_appointment(
        &self,
        id: &str,
        change: &AppointmentChange,
        audit: &WriteAudit,
    ) -> Result<AppointmentRecord> {
        change_appointment(&self.writer, id, change, audit).await
    }
    async fn plan_escort(
        &self,
        id: &str,
        update: &EscortUpdate,
        audit: &WriteAudit,
    ) -> Result<AppointmentRecord> {
        plan_escort(&self.writer, id, update, audit).await
    }
    async fn record_attendance(
        &self,
        id: &str,
        update: &AttendanceUpdate,
        audit: &WriteAudit,
    ) -> Result<AppointmentRecord> {
        record_attendance(&self.writer, id, update, audit).await
    }
    async fn appointment(&self, id: &str) -> Result<Option<AppointmentRecord>> {
        appointment(&self.reader, id).await
    }
    async fn appointments_for(
        &self,
        pn: &PrisonNumber,
        from: Option<DateTime<Utc>>,
        include_cancelled: bool,
    ) -> Result<Vec<AppointmentRecord>> {
        appointments_for(&self.reader, pn, from, include_cancelled).await
    }
    async fn appointments_at(
        &self,
        est: &EstablishmentCode,
        day: NaiveDate,
    ) -> Result<Vec<AppointmentRecord>> {
        appointments_at(&self.reader, est, day).await
    }
    async fn appointment_history(&self, id: &str) -> Result<Vec<AppointmentHistoryEntry>> {
        appointment_history(&self.reader, id).await
    }
    async fn record_closure(
        &self,
        closure: &NewClosure,
        audit: &WriteAudit,
    ) -> Result<ClosureRecord> {
        record_closure(&self.writer, closure, audit).await
    }
    async fn end_closure(
        &self,
        id: &str,
        at: DateTime<Utc>,
        by: &Actor,
        audit: &WriteAudit,
    ) -> Result<ClosureRecord> {
        end_closure(&self.writer, id, at, by, audit).await
    }
    async fn closure(&self, id: &str) -> Result<Option<ClosureRecord>> {
        sqlx::query("SELECT * FROM regime_closures WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| closure_from_row(&r))
            .transpose()
    }
    async fn closures(
        &self,
        est: &EstablishmentCode,
        after: DateTime<Utc>,
    ) -> Result<Vec<ClosureRecord>> {
        closures(&self.reader, est, after).await
    }
    async fn attendance_tallies(
        &self,
        query: &TallyQuery,
    ) -> Result<Vec<gatehouse_domain::attendance::Tally>> {
        attendance_tallies(&self.reader, query).await
    }
    async fn attendance_figures(
        &self,
        query: &TallyQuery,
    ) -> Result<gatehouse_domain::attendance::Figures> {
        attendance_figures(&self.reader, &self.writer, query).await
    }
    async fn import_appointments(
        &self,
        rows: &[ImportedAppointment],
        audit: &WriteAudit,
    ) -> Result<u64> {
        import_appointments(&self.writer, rows, audit).await
    }
}
