//! Event delivery: the outbox, subscriptions, fan-out, claims and cursors.
//!
//! The fan-out turns outbox events into delivery rows, one per matching
//! subscription, under a lock on its cursor (so two instances never fan out the
//! same event twice). Workers claim due deliveries with a lease; on PostgreSQL
//! the claim skips rows another instance has locked (`CLAIM_LOCK`), so each
//! delivery goes to one worker in normal running, and an expired lease (a
//! crashed instance) makes it claimable again: at least once. Only the oldest
//! pending delivery of a person, per subscription, is claimable, so one
//! person's events arrive in order while others flow past a failing one.

use super::audit::record_change;
use super::decode::{col, parsed};
use super::engine::{
    CLAIM_LOCK, Db, DbRow, EngineStore, LOCK_CURSOR, SNAPSHOT, Tx, begin_write, now, outbox_wakeups,
};
use super::notices::json_text;
use super::reads::outbox_after;
use crate::disclosure::WriteAudit;
use crate::model::*;
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};

pub(super) fn outbox_from_row(r: &DbRow) -> Result<OutboxEvent> {
    let data: String = col(r, "data")?;
    Ok(OutboxEvent {
        seq: col(r, "seq")?,
        id: col(r, "id")?,
        event_type: col(r, "type")?,
        subject: col(r, "subject")?,
        subject_seq: col(r, "subject_seq")?,
        establishment: col(r, "establishment")?,
        occurred_at: col(r, "occurred_at")?,
        recorded_at: col(r, "recorded_at")?,
        data: parsed("outbox.data", serde_json::from_str(&data))?,
    })
}

pub(super) fn subscription_from_row(r: &DbRow) -> Result<SubscriptionRecord> {
    let types: String = col(r, "event_types")?;
    let ests: String = col(r, "establishments")?;
    let secrets: String = col(r, "secrets")?;
    let status: String = col(r, "status")?;
    Ok(SubscriptionRecord {
        id: col(r, "id")?,
        consumer: col(r, "consumer")?,
        url: col(r, "url")?,
        event_types: parsed("subscriptions.event_types", serde_json::from_str(&types))?,
        establishments: parsed("subscriptions.establishments", serde_json::from_str(&ests))?,
        secrets: parsed("subscriptions.secrets", serde_json::from_str(&secrets))?,
        status: SubscriptionStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt("subscriptions.status"))?,
        status_reason: col(r, "status_reason")?,
        failing_since: col(r, "failing_since")?,
        last_success_at: col(r, "last_success_at")?,
        created_at: col(r, "created_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

pub(super) async fn create_subscription(
    pool: &sqlx::Pool<Db>,
    new: &NewSubscription,
    audit: &WriteAudit,
) -> Result<SubscriptionRecord> {
    let now = now();
    let id = uuid::Uuid::now_v7().to_string();
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO subscriptions (id, consumer, url, event_types, establishments, secrets, status, created_at, updated_at, start_seq) \
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7, (SELECT COALESCE(MAX(seq), 0) FROM outbox))",
    )
    .bind(&id)
    .bind(&new.consumer)
    .bind(&new.url)
    .bind(json_text(&new.event_types)?)
    .bind(json_text(&new.establishments)?)
    .bind(json_text(&vec![new.secret.clone()])?)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query("SELECT * FROM subscriptions WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
    record_change(&mut tx, audit, &[format!("subscription/{id}")]).await?;
    tx.commit().await?;
    subscription_from_row(&row)
}

pub(super) async fn subscription(
    pool: &sqlx::Pool<Db>,
    id: &str,
) -> Result<Option<SubscriptionRecord>> {
    sqlx::query("SELECT * FROM subscriptions WHERE id = $1 AND status <> 'deleted'")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(|r| subscription_from_row(&r))
        .transpose()
}

pub(super) async fn subscriptions(
    pool: &sqlx::Pool<Db>,
    consumer: Option<&str>,
) -> Result<Vec<SubscriptionRecord>> {
    let rows = sqlx::query(
        "SELECT * FROM subscriptions WHERE status <> 'deleted' AND ($1 IS NULL OR consumer = $1) ORDER BY created_at, id",
    )
    .bind(consumer)
    .fetch_all(pool)
    .await?;
    rows.iter().map(subscription_from_row).collect()
}

pub(super) async fn set_subscription_status(
    pool: &sqlx::Pool<Db>,
    id: &str,
    status: SubscriptionStatus,
    reason: Option<&str>,
    audit: &WriteAudit,
) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let done = sqlx::query(
        "UPDATE subscriptions SET status = $2, status_reason = $3, updated_at = $4, \
         failing_since = CASE WHEN $2 = 'active' THEN NULL ELSE failing_since END \
         WHERE id = $1 AND status <> 'deleted'",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(reason)
    .bind(now())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if status == SubscriptionStatus::Active {
        // Re-enabled: what waited is due now.
        sqlx::query("UPDATE deliveries SET next_attempt_at = $2 WHERE subscription_id = $1 AND status = 'pending'")
            .bind(id)
            .bind(now())
            .execute(&mut *tx)
            .await?;
    }
    if done == 1 {
        record_change(
            &mut tx,
            audit,
            &[format!("subscription/{id}:{}", status.as_str())],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done == 1)
}

pub(super) async fn set_subscription_secrets(
    pool: &sqlx::Pool<Db>,
    id: &str,
    secrets: &[WebhookSecret],
    audit: &WriteAudit,
) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let done = sqlx::query("UPDATE subscriptions SET secrets = $2, updated_at = $3 WHERE id = $1 AND status <> 'deleted'")
        .bind(id)
        .bind(json_text(&secrets)?)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 1 {
        record_change(
            &mut tx,
            audit,
            &[format!("subscription/{id}:secrets/{}", secrets.len())],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done == 1)
}

/// Seven parameters a row: 3,500 a statement, far under either engine's limit.
const FANOUT_ROWS_PER_STATEMENT: usize = 500;

pub(super) async fn fan_out(
    pool: &sqlx::Pool<Db>,
    limit: i64,
    now: DateTime<Utc>,
    plan: DeliveryPlan<'_>,
) -> Result<usize> {
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query(LOCK_CURSOR)
        .bind("fanout")
        .fetch_one(&mut *tx)
        .await?;
    let cursor: i64 = col(&row, "seq")?;
    let gap_at: Option<i64> = col(&row, "gap_at")?;
    let horizon: Option<i64> = col(&row, "horizon")?;
    // The oldest transaction still running, seen *before* the outbox is read:
    // if it is past the horizon, every writer that could fill the gap had
    // committed before the read below, so the read shows its event. (Taken
    // after the read, a writer committing in between would be missed.)
    let xmin_before_read = match (gap_at, SNAPSHOT) {
        (Some(_), Some(sql)) => Some(col::<i64>(
            &sqlx::query(sql).fetch_one(&mut *tx).await?,
            "xmin",
        )?),
        _ => None,
    };
    let rows = sqlx::query("SELECT * FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(cursor)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    // Each subscription with the last outbox sequence written before it: it is
    // owed only what comes after (a replay asks for more).
    let subs: Vec<(SubscriptionRecord, i64)> =
        sqlx::query("SELECT * FROM subscriptions WHERE status <> 'deleted'")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((subscription_from_row(r)?, col::<i64>(r, "start_seq")?)))
            .collect::<Result<_>>()?;
    let every: Vec<SubscriptionRecord> = subs.iter().map(|(s, _)| s.clone()).collect();
    let mut last = cursor;
    let mut processed = 0;
    // Where the cursor now waits for a gap to fill, and until which transaction horizon.
    let mut waiting: Option<(i64, i64)> = None;
    // (subscription, outbox seq, subject) of each delivery the round makes.
    let mut owed: Vec<(String, i64, String)> = Vec::new();
    for r in &rows {
        let e = outbox_from_row(r)?;
        let expected = last + 1;
        if e.seq > expected {
            match gap_state(&mut tx, expected, gap_at, horizon, xmin_before_read).await? {
                Gap::Hole => {}
                Gap::Wait { horizon } => {
                    waiting = Some((expected, horizon));
                    break;
                }
            }
        }
        let chosen = if subs.iter().all(|(_, start)| e.seq > *start) {
            plan(&every, &e)
        } else {
            let owed: Vec<SubscriptionRecord> = subs
                .iter()
                .filter(|(_, start)| e.seq > *start)
                .map(|(s, _)| s.clone())
                .collect();
            plan(&owed, &e)
        };
        for sub in chosen {
            owed.push((sub, e.seq, e.subject.clone()));
        }
        last = e.seq;
        processed += 1;
    }
    // The round's deliveries, many rows to a statement.
    for part in owed.chunks(FANOUT_ROWS_PER_STATEMENT) {
        let mut qb = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO deliveries (subscription_id, outbox_seq, subject, status, attempts, next_attempt_at, created_at) ",
        );
        qb.push_values(part, |mut row, (sub, seq, subject)| {
            row.push_bind(sub.as_str())
                .push_bind(*seq)
                .push_bind(subject.as_str())
                .push_bind("pending")
                .push_bind(0_i64)
                .push_bind(now)
                .push_bind(now);
        });
        qb.push(" ON CONFLICT (subscription_id, outbox_seq) DO NOTHING");
        qb.build().execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE delivery_cursors SET seq = $2, gap_at = $3, horizon = $4 WHERE name = $1")
        .bind("fanout")
        .bind(last)
        .bind(waiting.map(|w| w.0))
        .bind(waiting.map(|w| w.1))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(processed)
}

/// What a gap in the outbox sequence is.
pub(super) enum Gap {
    /// Nothing can fill it any more (a rolled-back transaction's number): pass it.
    Hole,
    /// A transaction still in progress may yet commit into it: wait.
    Wait { horizon: i64 },
}

/// Decides a gap at `expected`. With one writer (SQLite) commits are in
/// sequence order, so a gap is always a hole. On PostgreSQL a gap first seen
/// records the xmax of a snapshot taken *after* the outbox read that showed
/// the gap (every writer holding a number in the gap had its transaction id by
/// then: an outbox insert always follows the `people` update that gives the
/// transaction its id). Once the oldest transaction still running, seen
/// *before* a later read (`xmin_before_read`), is past that horizon, every
/// transaction that could fill the gap committed or rolled back before the
/// read, so a gap the read still shows is a hole.
pub(super) async fn gap_state(
    tx: &mut Tx<'_>,
    expected: i64,
    gap_at: Option<i64>,
    horizon: Option<i64>,
    xmin_before_read: Option<i64>,
) -> Result<Gap> {
    let Some(snapshot_sql) = SNAPSHOT else {
        return Ok(Gap::Hole);
    };
    match (gap_at, horizon, xmin_before_read) {
        (Some(at), Some(h), Some(xmin)) if at == expected && xmin >= h => Ok(Gap::Hole),
        (Some(at), Some(h), _) if at == expected => Ok(Gap::Wait { horizon: h }),
        _ => {
            let snap = sqlx::query(snapshot_sql).fetch_one(&mut **tx).await?;
            Ok(Gap::Wait {
                horizon: col(&snap, "xmax")?,
            })
        }
    }
}

/// How far the outbox is final: events up to here are fanned out and will never
/// be joined by an earlier one. The pull feed and NATS read no further.
pub(super) async fn outbox_safe_seq(pool: &sqlx::Pool<Db>) -> Result<i64> {
    cursor(pool, "fanout").await
}

/// A replayed delivery: owed again from the start, whatever became of it.
/// (The fan-out writes new deliveries many to a statement, in `fan_out`.)
pub(super) async fn replay_delivery(
    tx: &mut Tx<'_>,
    sub: &str,
    e: &OutboxEvent,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO deliveries (subscription_id, outbox_seq, subject, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, 'pending', 0, $4, $4) ON CONFLICT (subscription_id, outbox_seq) DO UPDATE SET \
         status = 'pending', attempts = 0, next_attempt_at = $4, lease_owner = NULL, lease_until = NULL",
    )
    .bind(sub)
    .bind(e.seq)
    .bind(&e.subject)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn replay(
    pool: &sqlx::Pool<Db>,
    subscription: &str,
    from_seq: i64,
    now: DateTime<Utc>,
    plan: DeliveryPlan<'_>,
    audit: &WriteAudit,
) -> Result<usize> {
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query("SELECT * FROM subscriptions WHERE id = $1 AND status <> 'deleted'")
        .bind(subscription)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound("no subscription with this id".into()))?;
    let subs = vec![subscription_from_row(&row)?];
    // Only what the fan-out has already passed: later events will come anyway.
    let cursor: i64 = col(
        &sqlx::query(LOCK_CURSOR)
            .bind("fanout")
            .fetch_one(&mut *tx)
            .await?,
        "seq",
    )?;
    let rows =
        sqlx::query("SELECT * FROM outbox WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT 100000")
            .bind(from_seq)
            .bind(cursor)
            .fetch_all(&mut *tx)
            .await?;
    let mut n = 0;
    for r in &rows {
        let e = outbox_from_row(r)?;
        if plan(&subs, &e).iter().any(|s| s == subscription) {
            replay_delivery(&mut tx, subscription, &e, now).await?;
            n += 1;
        }
    }
    record_change(
        &mut tx,
        audit,
        &[format!(
            "subscription/{subscription}:replay-from/{from_seq}:{n}-events"
        )],
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

pub(super) async fn outbox_event(pool: &sqlx::Pool<Db>, id: &str) -> Result<Option<OutboxEvent>> {
    sqlx::query("SELECT * FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(|r| outbox_from_row(&r))
        .transpose()
}

pub(super) async fn outbox_seq_at(pool: &sqlx::Pool<Db>, at: DateTime<Utc>) -> Result<i64> {
    let row = sqlx::query("SELECT MIN(seq) AS seq FROM outbox WHERE recorded_at >= $1")
        .bind(at)
        .fetch_one(pool)
        .await?;
    let seq: Option<i64> = col(&row, "seq")?;
    match seq {
        Some(s) => Ok(s),
        None => {
            let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM outbox")
                .fetch_one(pool)
                .await?;
            Ok(col::<i64>(&row, "seq")? + 1)
        }
    }
}

pub(super) async fn claim_deliveries(
    pool: &sqlx::Pool<Db>,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    hold_from: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ClaimedDelivery>> {
    let mut tx = begin_write(pool).await?;
    // An earlier pending delivery of the same person holds this one back while
    // it is untried or in flight (attempts = 0), or failing but fanned out
    // after `hold_from`: so a person's order holds for at most the hold, and
    // then later events flow past a failing one, which keeps its own schedule.
    let sql = format!(
        "SELECT d.subscription_id, d.outbox_seq, d.attempts FROM deliveries d \
         JOIN subscriptions s ON s.id = d.subscription_id AND s.status = 'active' \
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until < $1) \
         AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.subscription_id = d.subscription_id AND e.subject = d.subject \
                         AND e.status = 'pending' AND e.outbox_seq < d.outbox_seq \
                         AND (e.attempts = 0 OR e.created_at > $3)) \
         ORDER BY d.outbox_seq LIMIT $2{CLAIM_LOCK}"
    );
    // Built from constants only: no input reaches the text.
    let due = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(limit)
        .bind(hold_from)
        .fetch_all(&mut *tx)
        .await?;
    if due.is_empty() {
        return Ok(vec![]);
    }
    let mut picked = Vec::with_capacity(due.len());
    for r in &due {
        picked.push((
            col::<String>(r, "subscription_id")?,
            col::<i64>(r, "outbox_seq")?,
            col::<i64>(r, "attempts")?,
        ));
    }
    // One statement leases the round, one reads its events.
    let mut lease = sqlx::QueryBuilder::<Db>::new("UPDATE deliveries SET lease_owner = ");
    lease
        .push_bind(owner)
        .push(", lease_until = ")
        .push_bind(lease_until);
    lease.push(" WHERE (subscription_id, outbox_seq) IN (VALUES ");
    for (i, (sub, seq, _)) in picked.iter().enumerate() {
        lease
            .push(if i == 0 { "(" } else { ", (" })
            .push_bind(sub.as_str())
            .push(", ")
            .push_bind(*seq)
            .push(")");
    }
    lease.push(")");
    lease.build().execute(&mut *tx).await?;
    let mut seqs: Vec<i64> = picked.iter().map(|p| p.1).collect();
    seqs.sort_unstable();
    seqs.dedup();
    let mut read = sqlx::QueryBuilder::<Db>::new("SELECT * FROM outbox WHERE seq IN (");
    let mut list = read.separated(", ");
    for seq in &seqs {
        list.push_bind(*seq);
    }
    list.push_unseparated(")");
    let mut events = std::collections::HashMap::with_capacity(seqs.len());
    for r in read.build().fetch_all(&mut *tx).await? {
        let e = outbox_from_row(&r)?;
        events.insert(e.seq, e);
    }
    // And the round's subscriptions, once each (the claim only took active ones).
    let mut ids: Vec<&str> = picked.iter().map(|p| p.0.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut read = sqlx::QueryBuilder::<Db>::new("SELECT * FROM subscriptions WHERE id IN (");
    let mut list = read.separated(", ");
    for id in &ids {
        list.push_bind(*id);
    }
    list.push_unseparated(")");
    let mut subs = std::collections::HashMap::with_capacity(ids.len());
    for r in read.build().fetch_all(&mut *tx).await? {
        let s = subscription_from_row(&r)?;
        subs.insert(s.id.clone(), s);
    }
    tx.commit().await?;
    picked
        .into_iter()
        .map(|(subscription_id, seq, attempts)| {
            let event = events
                .get(&seq)
                .cloned()
                .ok_or_else(|| StoreError::corrupt("deliveries.outbox_seq"))?;
            let subscription = subs
                .get(&subscription_id)
                .cloned()
                .ok_or_else(|| StoreError::corrupt("deliveries.subscription_id"))?;
            Ok(ClaimedDelivery {
                subscription_id,
                subscription,
                attempts,
                event,
            })
        })
        .collect()
}

pub(super) async fn finish_delivery(
    pool: &sqlx::Pool<Db>,
    subscription: &str,
    seq: i64,
    at: DateTime<Utc>,
    result: &AttemptResult,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    finish_one(&mut tx, subscription, seq, at, result).await?;
    tx.commit().await?;
    Ok(())
}

/// Successes per statement: four parameters each, far under either engine's limit.
const FINISH_CHUNK: usize = 200;

/// Many outcomes, one transaction. Successes (nearly all of them) are one
/// `UPDATE … FROM (VALUES …)` per chunk and one update per subscription;
/// failures, rare, go one by one as in [`finish_delivery`]. Subscriptions are
/// updated in id order, so two instances finishing at once cannot deadlock on them.
pub(super) async fn finish_deliveries(
    pool: &sqlx::Pool<Db>,
    done: &[FinishedAttempt],
) -> Result<()> {
    if done.is_empty() {
        return Ok(());
    }
    let mut delivered: Vec<(&FinishedAttempt, u16)> = done
        .iter()
        .filter_map(|f| match f.result {
            AttemptResult::Delivered { status } => Some((f, status)),
            _ => None,
        })
        .collect();
    delivered.sort_by(|a, b| {
        (a.0.subscription_id.as_str(), a.0.seq).cmp(&(b.0.subscription_id.as_str(), b.0.seq))
    });
    let mut tx = begin_write(pool).await?;
    for part in delivered.chunks(FINISH_CHUNK) {
        let mut qb = sqlx::QueryBuilder::<Db>::new(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = v.column3, \
             last_status = v.column4, last_error = NULL, lease_owner = NULL, lease_until = NULL FROM (VALUES ",
        );
        for (i, (f, status)) in part.iter().enumerate() {
            qb.push(if i == 0 { "(" } else { ", (" })
                .push_bind(f.subscription_id.as_str())
                .push(", ")
                .push_bind(f.seq)
                .push(", ")
                .push_bind(f.at)
                .push(", ")
                .push_bind(i64::from(*status))
                .push(")");
        }
        qb.push(") AS v WHERE deliveries.subscription_id = v.column1 AND deliveries.outbox_seq = v.column2");
        qb.build().execute(&mut *tx).await?;
    }
    // Each subscription's health once: its latest success.
    let mut last_success: std::collections::BTreeMap<&str, DateTime<Utc>> = Default::default();
    for (f, _) in &delivered {
        let at = last_success
            .entry(f.subscription_id.as_str())
            .or_insert(f.at);
        *at = (*at).max(f.at);
    }
    for (sub, at) in last_success {
        sqlx::query(
            "UPDATE subscriptions SET failing_since = NULL, last_success_at = $2 WHERE id = $1",
        )
        .bind(sub)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    let mut failed: Vec<&FinishedAttempt> = done
        .iter()
        .filter(|f| !matches!(f.result, AttemptResult::Delivered { .. }))
        .collect();
    failed.sort_by(|a, b| {
        (a.subscription_id.as_str(), a.seq).cmp(&(b.subscription_id.as_str(), b.seq))
    });
    for f in failed {
        finish_one(&mut tx, &f.subscription_id, f.seq, f.at, &f.result).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One outcome, in the caller's transaction.
async fn finish_one(
    tx: &mut Tx<'_>,
    subscription: &str,
    seq: i64,
    at: DateTime<Utc>,
    result: &AttemptResult,
) -> Result<()> {
    match result {
        AttemptResult::Delivered { status } => {
            sqlx::query(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $3, last_status = $4, \
                 last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE subscription_id = $1 AND outbox_seq = $2",
            )
            .bind(subscription)
            .bind(seq)
            .bind(at)
            .bind(i64::from(*status))
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "UPDATE subscriptions SET failing_since = NULL, last_success_at = $2 WHERE id = $1",
            )
            .bind(subscription)
            .bind(at)
            .execute(&mut **tx)
            .await?;
        }
        AttemptResult::Retry {
            status,
            error,
            next,
        } => {
            sqlx::query(
                "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $3, last_status = $4, last_error = $5, \
                 lease_owner = NULL, lease_until = NULL WHERE subscription_id = $1 AND outbox_seq = $2 AND status = 'pending'",
            )
            .bind(subscription)
            .bind(seq)
            .bind(next)
            .bind(status.map(i64::from))
            .bind(error)
            .execute(&mut **tx)
            .await?;
            failing(tx, subscription, at).await?;
        }
        AttemptResult::Dead { status, error } => {
            sqlx::query(
                "UPDATE deliveries SET status = 'dead', attempts = attempts + 1, last_status = $3, last_error = $4, \
                 lease_owner = NULL, lease_until = NULL WHERE subscription_id = $1 AND outbox_seq = $2 AND status = 'pending'",
            )
            .bind(subscription)
            .bind(seq)
            .bind(status.map(i64::from))
            .bind(error)
            .execute(&mut **tx)
            .await?;
            failing(tx, subscription, at).await?;
        }
    }
    Ok(())
}

pub(super) async fn failing(tx: &mut Tx<'_>, subscription: &str, at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE subscriptions SET failing_since = COALESCE(failing_since, $2) WHERE id = $1",
    )
    .bind(subscription)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn deliveries(
    pool: &sqlx::Pool<Db>,
    subscription: &str,
    status: Option<DeliveryStatus>,
    limit: i64,
) -> Result<Vec<DeliveryRecord>> {
    let rows = sqlx::query(
        "SELECT d.status AS d_status, d.attempts, d.next_attempt_at, d.last_error, d.last_status, d.created_at AS d_created_at, \
         d.delivered_at, d.subscription_id, o.* FROM deliveries d JOIN outbox o ON o.seq = d.outbox_seq \
         WHERE d.subscription_id = $1 AND ($2 IS NULL OR d.status = $2) ORDER BY d.outbox_seq LIMIT $3",
    )
    .bind(subscription)
    .bind(status.map(|s| s.as_str()))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let status: String = col(r, "d_status")?;
            Ok(DeliveryRecord {
                subscription_id: col(r, "subscription_id")?,
                status: DeliveryStatus::parse(&status)
                    .ok_or_else(|| StoreError::corrupt("deliveries.status"))?,
                attempts: col(r, "attempts")?,
                next_attempt_at: col(r, "next_attempt_at")?,
                last_error: col(r, "last_error")?,
                last_status: col(r, "last_status")?,
                created_at: col(r, "d_created_at")?,
                delivered_at: col(r, "delivered_at")?,
                event: outbox_from_row(r)?,
            })
        })
        .collect()
}

pub(super) async fn cursor(pool: &sqlx::Pool<Db>, name: &str) -> Result<i64> {
    let row = sqlx::query("SELECT seq FROM delivery_cursors WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.map(|r| col(&r, "seq"))
        .transpose()
        .map(|s| s.unwrap_or(0))
}

pub(super) async fn set_cursor(pool: &sqlx::Pool<Db>, name: &str, seq: i64) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    sqlx::query("INSERT INTO delivery_cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = $2")
        .bind(name)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::DeliveryStore for EngineStore {
    async fn outbox_after(&self, after: i64, limit: i64) -> Result<Vec<OutboxEvent>> {
        outbox_after(&self.reader, after, limit).await
    }
    async fn create_subscription(
        &self,
        new: &NewSubscription,
        audit: &WriteAudit,
    ) -> Result<SubscriptionRecord> {
        create_subscription(&self.writer, new, audit).await
    }
    async fn subscription(&self, id: &str) -> Result<Option<SubscriptionRecord>> {
        subscription(&self.writer, id).await
    }
    async fn subscriptions(&self, consumer: Option<&str>) -> Result<Vec<SubscriptionRecord>> {
        subscriptions(&self.reader, consumer).await
    }
    async fn set_subscription_status(
        &self,
        id: &str,
        status: SubscriptionStatus,
        reason: Option<&str>,
        audit: &WriteAudit,
    ) -> Result<bool> {
        set_subscription_status(&self.writer, id, status, reason, audit).await
    }
    async fn set_subscription_secrets(
        &self,
        id: &str,
        secrets: &[WebhookSecret],
        audit: &WriteAudit,
    ) -> Result<bool> {
        set_subscription_secrets(&self.writer, id, secrets, audit).await
    }
    async fn fan_out(
        &self,
        limit: i64,
        now: DateTime<Utc>,
        plan: DeliveryPlan<'_>,
    ) -> Result<usize> {
        fan_out(&self.writer, limit, now, plan).await
    }
    async fn replay(
        &self,
        subscription: &str,
        from_seq: i64,
        now: DateTime<Utc>,
        plan: DeliveryPlan<'_>,
        audit: &WriteAudit,
    ) -> Result<usize> {
        replay(&self.writer, subscription, from_seq, now, plan, audit).await
    }
    async fn outbox_event(&self, id: &str) -> Result<Option<OutboxEvent>> {
        outbox_event(&self.reader, id).await
    }
    async fn outbox_seq_at(&self, at: DateTime<Utc>) -> Result<i64> {
        outbox_seq_at(&self.reader, at).await
    }
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        hold_from: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>> {
        claim_deliveries(&self.writer, owner, now, lease_until, hold_from, limit).await
    }
    async fn finish_delivery(
        &self,
        subscription: &str,
        seq: i64,
        at: DateTime<Utc>,
        result: &AttemptResult,
    ) -> Result<()> {
        finish_delivery(&self.writer, subscription, seq, at, result).await
    }
    async fn finish_deliveries(&self, done: &[FinishedAttempt]) -> Result<()> {
        finish_deliveries(&self.writer, done).await
    }
    async fn outbox_wakeups(&self) -> Result<Option<tokio::sync::mpsc::Receiver<()>>> {
        outbox_wakeups(&self.writer).await
    }
    async fn deliveries(
        &self,
        subscription: &str,
        status: Option<DeliveryStatus>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>> {
        deliveries(&self.reader, subscription, status, limit).await
    }
    async fn outbox_safe_seq(&self) -> Result<i64> {
        outbox_safe_seq(&self.writer).await
    }
    async fn cursor(&self, name: &str) -> Result<i64> {
        cursor(&self.writer, name).await
    }
    async fn set_cursor(&self, name: &str, seq: i64) -> Result<()> {
        set_cursor(&self.writer, name, seq).await
    }
}
