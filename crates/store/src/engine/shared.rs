// Shared query code: `include!`d by `sqlite.rs` and `postgres.rs`, each of
// which defines `Db`, `LOCK_PERSON` (the engine's way to read and lock a
// person row) and `now()`. SQL here uses `$n` placeholders, which both
// engines accept. Keep engine-specific SQL out of this file.

use crate::events;
use crate::model::*;
use crate::appointments::*;
use crate::page::{Cursor, Page, PageRequest};
use crate::disclosure::WriteAudit;
use crate::{FeedEntry, Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_domain::feed::{FeedCommand, FeedItem};
use gatehouse_domain::movement::MovementReason;
use gatehouse_domain::{
    AlertCode, CellLocation, CustodyState, CustodyStatus, Establishment, EstablishmentCode, Movement, MovementKind, NhsNumber,
    OrgType, PersonDetails, PersonName, PlannedMovement, PlannedMovementKind, PlannedStatus, PrisonAlert, PrisonNumber, Scope,
};
use serde_json::json;
use sqlx::Row;

type Tx<'c> = sqlx::Transaction<'c, Db>;
type DbRow = <Db as sqlx::Database>::Row;

// ---------------------------------------------------------------- decoding

fn col<'r, T>(row: &'r DbRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name).map_err(StoreError::from)
}

fn parsed<T, E: std::fmt::Display>(what: &str, r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| StoreError::corrupt(format!("{what}: {e}")))
}

fn opt_code(row: &DbRow, name: &str) -> Result<Option<EstablishmentCode>> {
    col::<Option<String>>(row, name)?.map(|s| parsed(name, EstablishmentCode::parse(&s))).transpose()
}

fn person_from_row(row: &DbRow, link: Option<IdentityLinkRecord>) -> Result<PersonRecord> {
    let prison_number = parsed("prison_number", PrisonNumber::parse(&col::<String>(row, "prison_number")?))?;
    let given: Option<String> = col(row, "given_name")?;
    let family: Option<String> = col(row, "family_name")?;
    let dob: Option<NaiveDate> = col(row, "date_of_birth")?;
    let details = match (given, family, dob) {
        (Some(g), Some(f), Some(d)) => Some(PersonDetails { name: PersonName { given_name: g, family_name: f }, date_of_birth: d }),
        _ => None,
    };
    let status: Option<String> = col(row, "custody_status")?;
    let custody = match status {
        None => None,
        Some(s) => Some(CustodyState {
            status: CustodyStatus::parse(&s).ok_or_else(|| StoreError::corrupt(format!("custody_status {s}")))?,
            establishment: opt_code(row, "establishment")?.ok_or_else(|| StoreError::corrupt("establishment missing"))?,
            location: opt_code(row, "location")?.ok_or_else(|| StoreError::corrupt("location missing"))?,
            cell: col::<Option<String>>(row, "cell")?.map(|c| parsed("cell", CellLocation::parse(&c))).transpose()?,
            destination: opt_code(row, "destination")?,
            since: col::<Option<DateTime<Utc>>>(row, "custody_since")?.ok_or_else(|| StoreError::corrupt("custody_since missing"))?,
        }),
    };
    Ok(PersonRecord {
        prison_number,
        details,
        details_as_of: col(row, "details_as_of")?,
        details_source: col(row, "details_source")?,
        custody,
        custody_source: col(row, "custody_source")?,
        nhs_link: link,
        incoming: opt_code(row, "incoming_establishment")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

fn link_from_row(row: &DbRow) -> Result<IdentityLinkRecord> {
    let method: String = col(row, "method")?;
    Ok(IdentityLinkRecord {
        nhs_number: parsed("nhs_number", NhsNumber::parse(&col::<String>(row, "nhs_number")?))?,
        method: LinkMethod::parse(&method).ok_or_else(|| StoreError::corrupt(format!("link method {method}")))?,
        verification: col(row, "verification")?,
        linked_by: col(row, "linked_by")?,
        linked_at: col(row, "linked_at")?,
        active: col(row, "active")?,
        unlinked_at: col(row, "unlinked_at")?,
        unlinked_by: col(row, "unlinked_by")?,
    })
}

fn movement_from_row(row: &DbRow) -> Result<MovementRecord> {
    let kind: String = col(row, "kind")?;
    let reason: String = col(row, "reason")?;
    let movement = Movement {
        kind: parsed("kind", MovementKind::parse(&kind))?,
        reason: parsed("reason", MovementReason::parse(&reason))?,
        establishment: opt_code(row, "establishment")?.ok_or_else(|| StoreError::corrupt("movement establishment"))?,
        destination: opt_code(row, "destination")?,
        cell: col::<Option<String>>(row, "cell")?.map(|c| parsed("cell", CellLocation::parse(&c))).transpose()?,
        occurred_at: col(row, "occurred_at")?,
    };
    Ok(MovementRecord {
        seq: col(row, "seq")?,
        prison_number: parsed("prison_number", PrisonNumber::parse(&col::<String>(row, "prison_number")?))?,
        movement,
        event_id: col(row, "event_id")?,
        source: col(row, "source")?,
        recorded_at: col(row, "recorded_at")?,
    })
}

fn alert_from_row(row: &DbRow) -> Result<AlertRecord> {
    let code: String = col(row, "code")?;
    let alert = PrisonAlert {
        id: col(row, "alert_id")?,
        code: parsed("code", AlertCode::parse(&code))?,
        active: col(row, "active")?,
        active_from: col(row, "active_from")?,
        active_to: col(row, "active_to")?,
    };
    Ok(AlertRecord {
        prison_number: parsed("prison_number", PrisonNumber::parse(&col::<String>(row, "prison_number")?))?,
        alert,
        as_of: col(row, "as_of")?,
        source: col(row, "source")?,
        updated_at: col(row, "updated_at")?,
    })
}

fn planned_from_row(row: &DbRow) -> Result<PlannedRecord> {
    let kind: String = col(row, "kind")?;
    let status: String = col(row, "status")?;
    let planned = PlannedMovement {
        id: col(row, "plan_id")?,
        kind: parsed("kind", PlannedMovementKind::parse(&kind))?,
        establishment: opt_code(row, "establishment")?.ok_or_else(|| StoreError::corrupt("planned establishment"))?,
        destination: opt_code(row, "destination")?,
        planned_for: col(row, "planned_for")?,
        description: col(row, "description")?,
    };
    Ok(PlannedRecord {
        prison_number: parsed("prison_number", PrisonNumber::parse(&col::<String>(row, "prison_number")?))?,
        planned,
        status: PlannedStatus::parse(&status).ok_or_else(|| StoreError::corrupt(format!("planned status {status}")))?,
        fulfilled_by: col(row, "fulfilled_by")?,
        as_of: col(row, "as_of")?,
        source: col(row, "source")?,
        updated_at: col(row, "updated_at")?,
    })
}

fn consumer_from_row(row: &DbRow) -> Result<Consumer> {
    let org: String = col(row, "org_type")?;
    let est: String = col(row, "establishments")?;
    let codes: Vec<String> = parsed("establishments", serde_json::from_str(&est))?;
    let scope = if codes.iter().any(|c| c == "*") {
        Scope::All
    } else {
        Scope::Only(codes.iter().map(|c| parsed("establishments", EstablishmentCode::parse(c))).collect::<Result<_>>()?)
    };
    Ok(Consumer {
        id: col(row, "id")?,
        name: col(row, "name")?,
        org_type: parsed("org_type", OrgType::parse(&org))?,
        agreement: col(row, "agreement")?,
        agreement_text: col(row, "agreement_text")?,
        scope,
        created_at: col(row, "created_at")?,
        revoked_at: col(row, "revoked_at")?,
        client_cert: ClientCertBinding {
            sha256: col(row, "client_cert_sha256")?,
            subject: col(row, "client_cert_subject")?,
            required: col(row, "require_client_cert")?,
        },
        staff_identity: staff_identity_from_row(row)?.map(Box::new),
    })
}

/// A consumer's staff identity settings: present when an issuer is set.
fn staff_identity_from_row(row: &DbRow) -> Result<Option<StaffIdentity>> {
    let Some(issuer) = col::<Option<String>>(row, "staff_issuer")? else {
        return Ok(None);
    };
    Ok(Some(StaffIdentity {
        issuer,
        audience: col::<Option<String>>(row, "staff_audience")?.unwrap_or_default(),
        claim: col::<Option<String>>(row, "staff_claim")?.unwrap_or_else(|| DEFAULT_STAFF_CLAIM.to_owned()),
        jwks: col(row, "staff_jwks")?,
        jwks_url: col(row, "staff_jwks_url")?,
    }))
}

async fn set_staff_identity(pool: &sqlx::Pool<Db>, consumer: &str, identity: Option<&StaffIdentity>, audit: &WriteAudit) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let done = sqlx::query(
        "UPDATE consumers SET staff_issuer = $1, staff_audience = $2, staff_claim = $3, staff_jwks = $4, staff_jwks_url = $5 \
         WHERE name = $6 AND revoked_at IS NULL",
    )
    .bind(identity.map(|i| i.issuer.clone()))
    .bind(identity.map(|i| i.audience.clone()))
    .bind(identity.map(|i| i.claim.clone()))
    .bind(identity.and_then(|i| i.jwks.clone()))
    .bind(identity.and_then(|i| i.jwks_url.clone()))
    .bind(consumer)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() > 0 {
        let what = identity.map_or("cleared".to_owned(), |i| format!("issuer:{}:audience:{}:claim:{}", i.issuer, i.audience, i.claim));
        record_change(&mut tx, audit, &[format!("consumer/{consumer}:staff-identity:{what}")]).await?;
    }
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

// ---------------------------------------------------------------- establishments and consumers

async fn ensure_establishments(pool: &sqlx::Pool<Db>, list: &[Establishment]) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    for e in list {
        sqlx::query("INSERT INTO establishments (code, name, kind) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING")
            .bind(e.code.as_str())
            .bind(&e.name)
            .bind(e.kind.as_str())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn list_establishments(pool: &sqlx::Pool<Db>) -> Result<Vec<Establishment>> {
    let rows = sqlx::query("SELECT code, name FROM establishments ORDER BY code").fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            let code = parsed("code", EstablishmentCode::parse(&col::<String>(r, "code")?))?;
            let kind = Establishment::kind_of(&code);
            Ok(Establishment { code, name: col(r, "name")?, kind })
        })
        .collect()
}

async fn create_consumer(pool: &sqlx::Pool<Db>, new: &NewConsumer, key: &StoredKey, audit: &WriteAudit) -> Result<Consumer> {
    let mut tx = begin_write(pool).await?;
    let exists = sqlx::query("SELECT 1 FROM consumers WHERE name = $1").bind(&new.name).fetch_optional(&mut *tx).await?;
    if exists.is_some() {
        return Err(StoreError::Conflict(format!("a consumer named '{}' already exists", new.name)));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let now = now();
    let scope = serde_json::to_string(&new.scope.to_codes()).expect("codes serialise");
    sqlx::query(
        "INSERT INTO consumers (id, name, org_type, agreement, agreement_text, agreement_updated_at, establishments, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
    )
        .bind(&id)
        .bind(&new.name)
        .bind(new.org_type.as_str())
        .bind(&new.agreement)
        .bind(&new.agreement_text)
        .bind(now)
        .bind(&scope)
        .execute(&mut *tx)
        .await?;
    insert_key(&mut tx, &id, key, now).await?;
    record_change(&mut tx, audit, &[format!("consumer/{}", new.name), format!("api-key/{}", key.prefix)]).await?;
    tx.commit().await?;
    Ok(Consumer {
        id,
        name: new.name.clone(),
        org_type: new.org_type,
        agreement: new.agreement.clone(),
        agreement_text: new.agreement_text.clone(),
        scope: new.scope.clone(),
        created_at: now,
        revoked_at: None,
        client_cert: ClientCertBinding::default(),
        staff_identity: None,
    })
}

async fn insert_key(tx: &mut Tx<'_>, consumer_id: &str, key: &StoredKey, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("INSERT INTO api_keys (prefix, consumer_id, key_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&key.prefix)
        .bind(consumer_id)
        .bind(&key.hash)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn add_key(pool: &sqlx::Pool<Db>, consumer: &str, key: &StoredKey, audit: &WriteAudit) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query("SELECT id FROM consumers WHERE name = $1 AND revoked_at IS NULL").bind(consumer).fetch_optional(&mut *tx).await?;
    let Some(row) = row else {
        return Err(StoreError::NotFound(format!("no active consumer named '{consumer}'")));
    };
    let id: String = col(&row, "id")?;
    insert_key(&mut tx, &id, key, now()).await?;
    record_change(&mut tx, audit, &[format!("consumer/{consumer}"), format!("api-key/{}", key.prefix)]).await?;
    tx.commit().await?;
    Ok(())
}

async fn list_consumers(pool: &sqlx::Pool<Db>) -> Result<Vec<Consumer>> {
    let rows = sqlx::query("SELECT * FROM consumers ORDER BY name").fetch_all(pool).await?;
    rows.iter().map(consumer_from_row).collect()
}

async fn revoke_consumer(pool: &sqlx::Pool<Db>, name: &str, audit: &WriteAudit) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let now = now();
    let row = sqlx::query("UPDATE consumers SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING id")
        .bind(now)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else { return Ok(false) };
    let id: String = col(&row, "id")?;
    sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE consumer_id = $2 AND revoked_at IS NULL").bind(now).bind(&id).execute(&mut *tx).await?;
    record_change(&mut tx, audit, &[format!("consumer/{name}:revoked")]).await?;
    tx.commit().await?;
    Ok(true)
}

async fn consumer_by_key(pool: &sqlx::Pool<Db>, prefix: &str, key_hash: &str) -> Result<KeyLookup> {
    let row = sqlx::query(
        "SELECT c.*, k.key_hash, k.revoked_at AS key_revoked_at FROM api_keys k JOIN consumers c ON c.id = k.consumer_id WHERE k.prefix = $1",
    )
    .bind(prefix)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(KeyLookup::Unknown) };
    let stored: String = col(&row, "key_hash")?;
    // Constant-time comparison: the hash is of a 256-bit secret, but timing should still say nothing.
    let same = stored.len() == key_hash.len() && stored.bytes().zip(key_hash.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
        return Ok(KeyLookup::Unknown);
    }
    let key_revoked: Option<DateTime<Utc>> = col(&row, "key_revoked_at")?;
    let consumer = consumer_from_row(&row)?;
    if key_revoked.is_some() || consumer.revoked_at.is_some() {
        return Ok(KeyLookup::Revoked);
    }
    Ok(KeyLookup::Live(consumer))
}

async fn set_client_cert(pool: &sqlx::Pool<Db>, consumer: &str, binding: &ClientCertBinding, audit: &WriteAudit) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let active = sqlx::query("SELECT 1 FROM consumers WHERE name = $1 AND revoked_at IS NULL").bind(consumer).fetch_optional(&mut *tx).await?;
    if active.is_none() {
        return Ok(false);
    }
    // Checked here, not left to the unique indexes, so the refusal names the holder.
    let holder = sqlx::query(
        "SELECT name FROM consumers WHERE revoked_at IS NULL AND name <> $1 \
         AND (client_cert_sha256 = $2 OR client_cert_subject = $3) LIMIT 1",
    )
    .bind(consumer)
    .bind(&binding.sha256)
    .bind(&binding.subject)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = holder {
        let other: String = col(&row, "name")?;
        return Err(StoreError::Conflict(format!("that client certificate is already bound to consumer '{other}'")));
    }
    let done = sqlx::query(
        "UPDATE consumers SET client_cert_sha256 = $1, client_cert_subject = $2, require_client_cert = $3 \
         WHERE name = $4 AND revoked_at IS NULL",
    )
    .bind(&binding.sha256)
    .bind(&binding.subject)
    .bind(binding.required)
    .bind(consumer)
    .execute(&mut *tx)
    .await?;
    let fingerprint = binding.sha256.as_deref().unwrap_or("none");
    record_change(&mut tx, audit, &[format!("consumer/{consumer}:client-cert:sha256:{fingerprint}:required:{}", binding.required)]).await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

async fn consumers_by_client_cert(pool: &sqlx::Pool<Db>, sha256: &str, subject: Option<&str>) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT name FROM consumers WHERE client_cert_sha256 = $1 OR client_cert_subject = $2 ORDER BY name")
        .bind(sha256)
        .bind(subject)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| col(r, "name")).collect()
}

// ---------------------------------------------------------------- the prison feed

/// How many items of a partial batch share one transaction.
const PARTIAL_CHUNK: usize = 500;

/// Applies a batch. Database failures abort with an error; refused items are outcomes.
async fn apply_feed(pool: &sqlx::Pool<Db>, entries: Vec<FeedEntry>, mode: BatchMode, source: &str, audit: &WriteAudit) -> Result<Vec<ItemOutcome>> {
    let now = now();
    let mut outcomes = Vec::with_capacity(entries.len());
    match mode {
        BatchMode::Partial => {
            // One transaction per chunk, one savepoint per item: a refused item
            // rolls back to its savepoint and the rest of the chunk stands.
            let mut entries = entries.into_iter().enumerate().peekable();
            while entries.peek().is_some() {
                let chunk: Vec<(usize, FeedEntry)> = entries.by_ref().take(PARTIAL_CHUNK).collect();
                let mut attempt = 0;
                loop {
                    match apply_chunk(pool, &chunk, source, now, audit).await {
                        Ok(done) => {
                            outcomes.extend(done);
                            break;
                        }
                        // Writers on other instances may lock the same people in another order.
                        Err(e) if is_retryable(&e) && attempt < 5 => {
                            attempt += 1;
                            tokio::time::sleep(std::time::Duration::from_millis(10 << attempt)).await;
                        }
                        Err(e) => return Err(e),
                    }
                }
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
                    FeedEntry::Refused(e) => applied.push(ItemOutcome::rejected(index, e.event_id.as_ref(), &e.error.field, e.error.rule.clone())),
                    FeedEntry::Parsed(item) if !failed => match apply_item(&mut tx, item, source, index, now).await? {
                        Ok(o) => applied.push(o),
                        Err(r) => {
                            failed = true;
                            applied.push(r);
                        }
                    },
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

async fn apply_chunk(pool: &sqlx::Pool<Db>, chunk: &[(usize, FeedEntry)], source: &str, now: DateTime<Utc>, audit: &WriteAudit) -> Result<Vec<ItemOutcome>> {
    let mut outcomes = Vec::with_capacity(chunk.len());
    let mut tx = begin_write(pool).await?;
    for (index, entry) in chunk {
        let item = match entry {
            FeedEntry::Refused(e) => {
                outcomes.push(ItemOutcome::rejected(*index, e.event_id.as_ref(), &e.error.field, e.error.rule.clone()));
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
    append_audit_in(&mut tx, &feed_records(audit, &outcomes)).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// One record per item that wrote to a person (stored, superseded or
/// acknowledged), naming the event type it wrote.
fn feed_records(audit: &WriteAudit, outcomes: &[ItemOutcome]) -> Vec<NewDisclosure> {
    outcomes
        .iter()
        .filter(|o| matches!(o.status, ItemStatus::Stored | ItemStatus::Superseded | ItemStatus::Acknowledged))
        .filter_map(|o| {
            let pn = o.prison_number.as_deref()?;
            audit.written_for(pn, &[o.event_type.clone().unwrap_or_default()])
        })
        .collect()
}

/// Deadlocks and serialisation failures: the transaction can simply run again.
fn is_retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => matches!(db.code().as_deref(), Some("40P01") | Some("40001")),
        _ => false,
    }
}

fn not_applied(index: usize, item: &FeedItem) -> ItemOutcome {
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
struct Applying<'a> {
    item: &'a FeedItem,
    source: &'a str,
    index: usize,
    now: DateTime<Utc>,
    changes: Vec<String>,
    /// Some of what the item said was older than what is held.
    superseded: bool,
    /// Outbox events raised: none means the current state did not change.
    emitted: std::sync::atomic::AtomicUsize,
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
async fn apply_item(tx: &mut Tx<'_>, item: &FeedItem, source: &str, index: usize, now: DateTime<Utc>) -> Result<Result<ItemOutcome, ItemOutcome>> {
    let mut a = Applying { item, source, index, now, changes: vec![], superseded: false, emitted: Default::default() };
    let pn = item.prison_number.as_str();

    // Idempotency: a replay gets the first answer; a reused id with other content is refused.
    let prior = sqlx::query("SELECT content_hash, outcome FROM feed_ledger WHERE event_id = $1")
        .bind(item.event_id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = prior {
        let hash: String = col(&row, "content_hash")?;
        if hash != item.content_hash {
            return Ok(Err(a.refuse("id", "this event id was already used for an item with different content").as_conflict()));
        }
        let text: String = col(&row, "outcome")?;
        let mut first: ItemOutcome = parsed("feed_ledger.outcome", serde_json::from_str(&text))?;
        first.index = index;
        return Ok(Ok(first));
    }

    for (field, code) in referenced_establishments(&item.command) {
        let known = sqlx::query("SELECT 1 FROM establishments WHERE code = $1").bind(code.as_str()).fetch_optional(&mut **tx).await?;
        if known.is_none() {
            return Ok(Err(a.refuse(field, format!("'{}' is not an establishment known to Gatehouse", code.as_str()))));
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
            let row = sqlx::query(LOCK_PERSON).bind(pn).fetch_one(&mut **tx).await?;
            let person = person_from_row(&row, None)?;
            let r = match command {
                FeedCommand::UpsertPerson { details, nhs_number } => upsert_person(tx, &mut a, &person, details.as_ref(), nhs_number.as_ref()).await?,
                FeedCommand::RecordMovement(m) => record_movement(tx, &mut a, &person, m).await?,
                FeedCommand::UpsertAlert(alert) => upsert_alert(tx, &mut a, &person, alert).await?,
                FeedCommand::AlertsChanged { added, removed } => alerts_changed(tx, &mut a, &person, added, removed).await?,
                FeedCommand::UpsertPlanned(p) => upsert_planned(tx, &mut a, &person, p).await?,
                FeedCommand::CancelPlanned { id } => cancel_planned(tx, &mut a, &person, id).await?,
                FeedCommand::Acknowledge { .. } => unreachable!("handled above"),
            };
            if r.is_ok() {
                sqlx::query("UPDATE people SET updated_at = $1 WHERE prison_number = $2").bind(now).bind(pn).execute(&mut **tx).await?;
            }
            r
        }
    };
    let status = match result {
        Err(refused) => return Ok(Err(refused)),
        Ok(s) if s == ItemStatus::Stored && a.superseded && a.emitted.load(std::sync::atomic::Ordering::Relaxed) == 0 => ItemStatus::Superseded,
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

fn referenced_establishments(c: &FeedCommand) -> Vec<(&'static str, &EstablishmentCode)> {
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
async fn emit(tx: &mut Tx<'_>, a: &Applying<'_>, event_type: &str, establishment: Option<&EstablishmentCode>, data: serde_json::Value) -> Result<()> {
    a.emitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    emit_event(tx, a.item.prison_number.as_str(), event_type, establishment.map(|e| e.as_str()), a.item.occurred_at, a.now, data).await
}

/// Appends an outbox event in the caller's transaction: the one way every change raises an event.
async fn emit_event(
    tx: &mut Tx<'_>,
    pn: &str,
    event_type: &str,
    establishment: Option<&str>,
    occurred_at: DateTime<Utc>,
    now: DateTime<Utc>,
    data: serde_json::Value,
) -> Result<()> {
    let row = sqlx::query("UPDATE people SET event_seq = event_seq + 1 WHERE prison_number = $1 RETURNING event_seq")
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

type Applied = std::result::Result<ItemStatus, ItemOutcome>;

async fn upsert_person(
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
        let current = sqlx::query("SELECT nhs_number FROM identity_links WHERE prison_number = $1 AND active = $2")
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
                let taken = sqlx::query("SELECT 1 FROM identity_links WHERE nhs_number = $1 AND active = $2")
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
                a.changes.push("NHS number linked (from the prison feed; not yet traced)".into());
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
            a.changes.push(if person.details.is_some() { "details updated".into() } else { "person created".to_string() });
            emit(tx, a, events::PERSON_DETAILS_CHANGED, home.as_ref(), json!({"prisonNumber": pn})).await?;
        } else {
            sqlx::query("UPDATE people SET details_as_of = $1 WHERE prison_number = $2").bind(at).bind(pn).execute(&mut **tx).await?;
        }
    }
    Ok(Ok(ItemStatus::Stored))
}

async fn record_movement(tx: &mut Tx<'_>, a: &mut Applying<'_>, person: &PersonRecord, m: &Movement) -> Result<Applied> {
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

    let newest = person.custody.as_ref().is_none_or(|c| c.is_superseded_by(m.occurred_at));
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
        a.changes.push(format!("custody status now {} at {}", state.status.as_str(), state.location.as_str()));
        let mut data = json!({"prisonNumber": pn, "movement": m, "custody": state});
        if let Some(prev) = &person.custody {
            data["previousEstablishment"] = json!(prev.establishment);
        }
        emit(tx, a, events::for_movement(m.kind, m.reason), Some(&state.establishment), data).await?;
    } else {
        a.superseded = true;
        a.changes.push("kept in history only: a later movement is already held, so custody status is unchanged".into());
    }

    // A real movement replaces the plan it carries out.
    let plans = sqlx::query("SELECT * FROM planned_movements WHERE prison_number = $1 AND status = $2")
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
            a.changes.push(format!("planned {} {} completed by this movement", plan.planned.kind.as_str(), plan.planned.id));
            emit(tx, a, events::PLANNED_MOVEMENT_COMPLETED, Some(&plan.planned.establishment), json!({"prisonNumber": pn, "plannedMovementId": plan.planned.id})).await?;
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
        raise_continuity(tx, a, kind, &event_id, false, &m.establishment, m.destination.as_ref(), m.occurred_at).await?;
    }
    // Only a departure can strand an appointment: cell moves and receptions skip the query.
    let departs = matches!(m.kind, MovementKind::CourtOut | MovementKind::TransferOut | MovementKind::Release | MovementKind::HospitalOut);
    if newest && departs {
        let changes = apply_departure(tx, pn, m, a.now).await?;
        a.changes.extend(changes);
    }
    note_risks(tx, a, pn).await?;
    Ok(Ok(ItemStatus::Stored))
}

/// Runs the appointment clash rules after a change to the person's movements or plans.
async fn note_risks(tx: &mut Tx<'_>, a: &mut Applying<'_>, pn: &str) -> Result<()> {
    let risky = reassess_person(tx, pn, a.now).await?;
    if risky > 0 {
        a.changes.push(format!("{risky} appointment(s) now at risk"));
    }
    Ok(())
}

async fn load_alert(tx: &mut Tx<'_>, pn: &str, id: &str) -> Result<Option<AlertRecord>> {
    let row = sqlx::query("SELECT * FROM alerts WHERE prison_number = $1 AND alert_id = $2").bind(pn).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(alert_from_row).transpose()
}

async fn write_alert(tx: &mut Tx<'_>, a: &mut Applying<'_>, person: &PersonRecord, alert: &PrisonAlert, prior: Option<&AlertRecord>) -> Result<()> {
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
        a.changes.push(format!("alert {} raised", alert.code.as_str()));
        emit(tx, a, events::ALERT_RAISED, home, data).await?;
    } else if !alert.active && was_active {
        a.changes.push(format!("alert {} closed", alert.code.as_str()));
        emit(tx, a, events::ALERT_CLOSED, home, data).await?;
    } else if prior.map(|p| &p.alert) != Some(alert) {
        a.changes.push(format!("alert {} updated", alert.code.as_str()));
    }
    Ok(())
}

async fn upsert_alert(tx: &mut Tx<'_>, a: &mut Applying<'_>, person: &PersonRecord, alert: &PrisonAlert) -> Result<Applied> {
    let prior = load_alert(tx, a.item.prison_number.as_str(), &alert.id).await?;
    if let Some(p) = &prior {
        if p.as_of > a.item.occurred_at {
            a.superseded = true;
            return Ok(Ok(ItemStatus::Stored));
        }
        if p.alert.code != alert.code {
            return Ok(Err(a.refuse("alertCode", "differs from the code this alert id already has; an alert's code never changes")));
        }
    }
    write_alert(tx, a, person, alert, prior.as_ref()).await?;
    Ok(Ok(ItemStatus::Stored))
}

async fn alerts_changed(tx: &mut Tx<'_>, a: &mut Applying<'_>, person: &PersonRecord, added: &[AlertCode], removed: &[AlertCode]) -> Result<Applied> {
    let pn = a.item.prison_number.as_str();
    let at = a.item.occurred_at;
    let rows = sqlx::query("SELECT * FROM alerts WHERE prison_number = $1").bind(pn).fetch_all(&mut **tx).await?;
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
        let alert = PrisonAlert { id: id.clone(), code: code.clone(), active: true, active_from: Some(at.date_naive()), active_to: None };
        write_alert(tx, a, person, &alert, prior).await?;
    }
    for code in removed {
        for h in held.iter().filter(|h| &h.alert.code == code && h.alert.active) {
            if h.as_of > at {
                a.superseded = true;
                continue;
            }
            let alert = PrisonAlert { active: false, active_to: Some(at.date_naive()), ..h.alert.clone() };
            write_alert(tx, a, person, &alert, Some(h)).await?;
        }
    }
    Ok(Ok(ItemStatus::Stored))
}

async fn load_plan(tx: &mut Tx<'_>, id: &str) -> Result<Option<PlannedRecord>> {
    let row = sqlx::query("SELECT * FROM planned_movements WHERE plan_id = $1").bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(planned_from_row).transpose()
}

async fn upsert_planned(tx: &mut Tx<'_>, a: &mut Applying<'_>, _person: &PersonRecord, p: &PlannedMovement) -> Result<Applied> {
    let pn = a.item.prison_number.as_str();
    let prior = load_plan(tx, &p.id).await?;
    if let Some(prior) = &prior {
        if prior.prison_number != a.item.prison_number {
            return Ok(Err(a.refuse("plannedMovement.id", "is already used by a planned movement of another person")));
        }
        if prior.as_of > a.item.occurred_at {
            a.superseded = true;
            return Ok(Ok(ItemStatus::Stored));
        }
        if prior.status == PlannedStatus::Completed {
            return Ok(Err(a.refuse("plannedMovement.id", "this planned movement has already been carried out; post a new one")));
        }
        if prior.planned.kind != p.kind {
            return Ok(Err(a.refuse("plannedMovement.kind", "differs from the kind of the planned movement with this id")));
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
    let (verb, event) = if prior.is_some() { ("amended", events::PLANNED_MOVEMENT_AMENDED) } else { ("scheduled", events::PLANNED_MOVEMENT_SCHEDULED) };
    a.changes.push(format!("planned {} {} {verb}", p.kind.as_str(), p.id));
    emit(tx, a, event, Some(&p.establishment), json!({"prisonNumber": pn, "plannedMovement": p})).await?;
    match p.kind {
        PlannedMovementKind::Transfer => raise_continuity(tx, a, "transfer", &p.id, true, &p.establishment, p.destination.as_ref(), p.planned_for).await?,
        PlannedMovementKind::Release => raise_continuity(tx, a, "release", &p.id, true, &p.establishment, None, p.planned_for).await?,
        _ => {}
    }
    refresh_incoming(tx, pn).await?;
    note_risks(tx, a, pn).await?;
    Ok(Ok(ItemStatus::Stored))
}

async fn cancel_planned(tx: &mut Tx<'_>, a: &mut Applying<'_>, _person: &PersonRecord, id: &str) -> Result<Applied> {
    let pn = a.item.prison_number.as_str();
    let Some(prior) = load_plan(tx, id).await?.filter(|p| p.prison_number == a.item.prison_number) else {
        return Ok(Err(a.refuse("plannedMovementId", "no planned movement with this id is held for this person")));
    };
    if prior.as_of > a.item.occurred_at {
        a.superseded = true;
        return Ok(Ok(ItemStatus::Stored));
    }
    match prior.status {
        PlannedStatus::Completed => return Ok(Err(a.refuse("plannedMovementId", "this planned movement has already been carried out"))),
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
    a.changes.push(format!("planned {} {id} cancelled", prior.planned.kind.as_str()));
    emit(tx, a, events::PLANNED_MOVEMENT_CANCELLED, Some(&prior.planned.establishment), json!({"prisonNumber": pn, "plannedMovementId": id})).await?;
    cancel_continuity(tx, pn, id, a.now).await?;
    refresh_incoming(tx, pn).await?;
    note_risks(tx, a, pn).await?;
    Ok(Ok(ItemStatus::Stored))
}

// ---------------------------------------------------------------- reads

async fn active_link(pool: &sqlx::Pool<Db>, pn: &str) -> Result<Option<IdentityLinkRecord>> {
    let row = sqlx::query("SELECT * FROM identity_links WHERE prison_number = $1 AND active = $2").bind(pn).bind(true).fetch_optional(pool).await?;
    row.as_ref().map(link_from_row).transpose()
}

async fn people_from_rows(pool: &sqlx::Pool<Db>, rows: Vec<DbRow>) -> Result<Vec<PersonRecord>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let pn: String = col(row, "prison_number")?;
        out.push(person_from_row(row, active_link(pool, &pn).await?)?);
    }
    Ok(out)
}

async fn person(pool: &sqlx::Pool<Db>, pn: &PrisonNumber) -> Result<Option<PersonRecord>> {
    let row = sqlx::query(PERSON_BY_NUMBER).bind(pn.as_str()).fetch_optional(pool).await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some(person_from_row(&row, active_link(pool, pn.as_str()).await?)?)),
    }
}

async fn people_by_nhs_number(pool: &sqlx::Pool<Db>, nhs: &NhsNumber) -> Result<Vec<PersonRecord>> {
    let rows = sqlx::query(PEOPLE_BY_NHS).bind(nhs.as_str()).bind(true).fetch_all(pool).await?;
    people_from_rows(pool, rows).await
}

async fn people_by_name(pool: &sqlx::Pool<Db>, family: &str, given: Option<&str>, dob: NaiveDate) -> Result<Vec<PersonRecord>> {
    let rows = sqlx::query(PEOPLE_BY_NAME).bind(family.trim().to_uppercase()).bind(dob).fetch_all(pool).await?;
    let people = people_from_rows(pool, rows).await?;
    Ok(match given {
        None => people,
        Some(g) => {
            let g = g.trim().to_uppercase();
            people.into_iter().filter(|p| p.details.as_ref().is_some_and(|d| d.name.given_name.to_uppercase() == g)).collect()
        }
    })
}

async fn people_at(pool: &sqlx::Pool<Db>, est: &EstablishmentCode, page: &PageRequest) -> Result<Page<PersonRecord>> {
    let after = page.after.as_ref().map(|c| c.key.clone()).unwrap_or_default();
    let rows = sqlx::query(PEOPLE_AT).bind(est.as_str()).bind(&after).bind(page.limit + 1).fetch_all(pool).await?;
    let mut items = people_from_rows(pool, rows).await?;
    let next = (items.len() as i64 > page.limit).then(|| {
        items.truncate(page.limit as usize);
        Cursor { key: items.last().map(|p| p.prison_number.as_str().to_owned()).unwrap_or_default(), seq: 0 }.encode()
    });
    Ok(Page { items, next_cursor: next })
}

/// Keyset page over rows ordered newest first by (time, seq).
fn page_of<T>(mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> Cursor) -> Page<T> {
    let next = (items.len() as i64 > limit).then(|| {
        items.truncate(limit as usize);
        key(items.last().expect("non-empty after truncate")).encode()
    });
    Page { items, next_cursor: next }
}

fn cursor_time(c: &Option<Cursor>) -> Result<(DateTime<Utc>, i64)> {
    match c {
        // Beyond any real time, and written so that it also sorts last as SQLite text.
        None => Ok((DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z").expect("constant").with_timezone(&Utc), i64::MAX)),
        Some(c) => {
            let t = DateTime::parse_from_rfc3339(&c.key).map_err(|_| StoreError::BadCursor)?;
            Ok((t.with_timezone(&Utc), c.seq))
        }
    }
}

async fn movements(pool: &sqlx::Pool<Db>, pn: &PrisonNumber, page: &PageRequest) -> Result<Page<MovementRecord>> {
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
    let items = rows.iter().map(movement_from_row).collect::<Result<Vec<_>>>()?;
    Ok(page_of(items, page.limit, |m| Cursor { key: m.movement.occurred_at.to_rfc3339(), seq: m.seq }))
}

async fn alerts(pool: &sqlx::Pool<Db>, pn: &PrisonNumber, active_only: bool, page: &PageRequest) -> Result<Page<AlertRecord>> {
    // Alerts are few per person: ordered by id for a stable keyset.
    let after = page.after.as_ref().map(|c| c.key.clone()).unwrap_or_default();
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
    let items = rows.iter().map(alert_from_row).collect::<Result<Vec<_>>>()?;
    Ok(page_of(items, page.limit, |a| Cursor { key: a.alert.id.clone(), seq: 0 }))
}

async fn planned_movements(pool: &sqlx::Pool<Db>, pn: &PrisonNumber, include_closed: bool) -> Result<Vec<PlannedRecord>> {
    let rows = sqlx::query("SELECT * FROM planned_movements WHERE prison_number = $1 AND (status = $2 OR $3) ORDER BY planned_for, plan_id")
        .bind(pn.as_str())
        .bind(PlannedStatus::Planned.as_str())
        .bind(include_closed)
        .fetch_all(pool)
        .await?;
    rows.iter().map(planned_from_row).collect()
}

async fn identity_links(pool: &sqlx::Pool<Db>, pn: &PrisonNumber) -> Result<Vec<IdentityLinkRecord>> {
    let rows = sqlx::query("SELECT * FROM identity_links WHERE prison_number = $1 ORDER BY id").bind(pn.as_str()).fetch_all(pool).await?;
    rows.iter().map(link_from_row).collect()
}

async fn outbox_after(pool: &sqlx::Pool<Db>, after: i64, limit: i64) -> Result<Vec<OutboxEvent>> {
    let rows = sqlx::query("SELECT * FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2").bind(after).bind(limit).fetch_all(pool).await?;
    rows.iter().map(outbox_from_row).collect()
}

async fn counts(pool: &sqlx::Pool<Db>) -> Result<TableCounts> {
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

const PERSON_BY_NUMBER: &str = "SELECT * FROM people WHERE prison_number = $1";
const PEOPLE_BY_NHS: &str =
    "SELECT p.* FROM people p JOIN identity_links l ON l.prison_number = p.prison_number WHERE l.nhs_number = $1 AND l.active = $2 ORDER BY p.prison_number";
const PEOPLE_BY_NAME: &str = "SELECT * FROM people WHERE family_name_key = $1 AND date_of_birth = $2 ORDER BY prison_number LIMIT 50";
const PEOPLE_AT: &str = "SELECT * FROM people WHERE establishment = $1 AND prison_number > $2 ORDER BY prison_number LIMIT $3";

// ---------------------------------------------------------------- governance

async fn set_agreement(pool: &sqlx::Pool<Db>, consumer: &str, agreement: &str, text: &str, audit: &WriteAudit) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let done = sqlx::query("UPDATE consumers SET agreement = $1, agreement_text = $2, agreement_updated_at = $3 WHERE name = $4 AND revoked_at IS NULL")
        .bind(agreement)
        .bind(text)
        .bind(now())
        .bind(consumer)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 1 {
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
        record_change(&mut tx, audit, &[format!("consumer/{consumer}:agreement/{agreement}@sha256:{digest}")]).await?;
    }
    tx.commit().await?;
    Ok(done == 1)
}

fn audit_row_from(row: &DbRow) -> Result<AuditRow> {
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

fn head_from(row: &DbRow) -> Result<AuditHead> {
    let frontier: String = col(row, "frontier")?;
    Ok(AuditHead { size: col(row, "size")?, chain: col(row, "chain")?, frontier: parsed("audit_head.frontier", serde_json::from_str(&frontier))? })
}

async fn append_audit(pool: &sqlx::Pool<Db>, records: &[NewDisclosure]) -> Result<Vec<i64>> {
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
async fn append_audit_in(tx: &mut Tx<'_>, records: &[NewDisclosure]) -> Result<Vec<i64>> {
    if records.is_empty() {
        return Ok(vec![]);
    }
    let head = head_from(&sqlx::query(LOCK_AUDIT_HEAD).fetch_one(&mut **tx).await?)?;
    let mut log = crate::audit_link::Appender::resume(&head).map_err(StoreError::corrupt)?;
    let at = now();
    let mut seqs = Vec::with_capacity(records.len());
    for r in records {
        let (seq, leaf, chain) = log.append(r.content.as_bytes());
        sqlx::query("INSERT INTO audit_log (seq, recorded_at, prison_number, consumer, content, leaf_hash, chain) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(seq)
            .bind(at)
            .bind(&r.prison_number)
            .bind(&r.consumer)
            .bind(&r.content)
            .bind(&leaf)
            .bind(&chain)
            .execute(&mut **tx)
            .await?;
        seqs.push(seq);
    }
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
async fn record_change(tx: &mut Tx<'_>, audit: &WriteAudit, wrote: &[String]) -> Result<()> {
    if let Some(r) = audit.written(wrote) {
        append_audit_in(tx, &[r]).await?;
    }
    Ok(())
}

async fn audit_head(pool: &sqlx::Pool<Db>) -> Result<AuditHead> {
    head_from(&sqlx::query("SELECT * FROM audit_head WHERE id = 1").fetch_one(pool).await?)
}

async fn audit_rows(pool: &sqlx::Pool<Db>, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
    let rows = sqlx::query("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2").bind(after).bind(limit).fetch_all(pool).await?;
    rows.iter().map(audit_row_from).collect()
}

async fn audit_row(pool: &sqlx::Pool<Db>, seq: i64) -> Result<Option<AuditRow>> {
    let row = sqlx::query("SELECT * FROM audit_log WHERE seq = $1").bind(seq).fetch_optional(pool).await?;
    row.as_ref().map(audit_row_from).transpose()
}

async fn audit_for_person(pool: &sqlx::Pool<Db>, pn: &PrisonNumber, page: &PageRequest) -> Result<Page<AuditRow>> {
    let before = page.after.as_ref().map(|c| c.seq).unwrap_or(i64::MAX);
    let rows = sqlx::query("SELECT * FROM audit_log WHERE prison_number = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3")
        .bind(pn.as_str())
        .bind(before)
        .bind(page.limit + 1)
        .fetch_all(pool)
        .await?;
    let items = rows.iter().map(audit_row_from).collect::<Result<Vec<_>>>()?;
    Ok(page_of(items, page.limit, |r| Cursor { key: String::new(), seq: r.seq }))
}

async fn audit_leaf_hashes(pool: &sqlx::Pool<Db>, size: i64) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT leaf_hash FROM audit_log WHERE seq <= $1 ORDER BY seq").bind(size).fetch_all(pool).await?;
    rows.iter().map(|r| col(r, "leaf_hash")).collect()
}

async fn save_checkpoint(pool: &sqlx::Pool<Db>, c: &StoredCheckpoint) -> Result<()> {
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

fn checkpoint_from(r: &DbRow) -> Result<StoredCheckpoint> {
    Ok(StoredCheckpoint { size: col(r, "size")?, root: col(r, "root")?, signed: col(r, "signed")?, created_at: col(r, "created_at")? })
}

async fn checkpoints(pool: &sqlx::Pool<Db>) -> Result<Vec<StoredCheckpoint>> {
    let rows = sqlx::query("SELECT * FROM audit_checkpoints ORDER BY size").fetch_all(pool).await?;
    rows.iter().map(checkpoint_from).collect()
}

async fn latest_checkpoint(pool: &sqlx::Pool<Db>) -> Result<Option<StoredCheckpoint>> {
    let row = sqlx::query("SELECT * FROM audit_checkpoints ORDER BY size DESC LIMIT 1").fetch_optional(pool).await?;
    row.as_ref().map(checkpoint_from).transpose()
}

async fn checkpoint_at(pool: &sqlx::Pool<Db>, size: i64) -> Result<Option<StoredCheckpoint>> {
    let row = sqlx::query("SELECT * FROM audit_checkpoints WHERE size = $1").bind(size).fetch_optional(pool).await?;
    row.as_ref().map(checkpoint_from).transpose()
}

async fn checkpoints_between(pool: &sqlx::Pool<Db>, after: i64, upto: i64) -> Result<Vec<StoredCheckpoint>> {
    let rows = sqlx::query("SELECT * FROM audit_checkpoints WHERE size > $1 AND size <= $2 ORDER BY size").bind(after).bind(upto).fetch_all(pool).await?;
    rows.iter().map(checkpoint_from).collect()
}

fn break_glass_from(row: &DbRow) -> Result<BreakGlassRecord> {
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

async fn break_glass_use(pool: &sqlx::Pool<Db>, consumer: &str, staff: &str, pn: &str, reason: &str, window: chrono::Duration, audit: &WriteAudit) -> Result<BreakGlassRecord> {
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
            sqlx::query("UPDATE break_glass SET uses = uses + 1 WHERE id = $1").bind(&id).execute(&mut *tx).await?;
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
    let row = sqlx::query("SELECT * FROM break_glass WHERE id = $1").bind(&id).fetch_one(&mut *tx).await?;
    record_change(&mut tx, audit, &[format!("break-glass/{id}")]).await?;
    tx.commit().await?;
    break_glass_from(&row)
}

async fn break_glass_list(pool: &sqlx::Pool<Db>, status: Option<&str>) -> Result<Vec<BreakGlassRecord>> {
    let rows = sqlx::query("SELECT * FROM break_glass WHERE (status = $1 OR $2) ORDER BY started_at DESC LIMIT 500")
        .bind(status.unwrap_or(""))
        .bind(status.is_none())
        .fetch_all(pool)
        .await?;
    rows.iter().map(break_glass_from).collect()
}

async fn break_glass_review(pool: &sqlx::Pool<Db>, id: &str, reviewer: &str, outcome: &str, note: Option<&str>, audit: &WriteAudit) -> Result<BreakGlassRecord> {
    let mut tx = begin_write(pool).await?;
    let Some(row) = sqlx::query("SELECT * FROM break_glass WHERE id = $1").bind(id).fetch_optional(&mut *tx).await? else {
        return Err(StoreError::NotFound("no break-glass use with this id".into()));
    };
    if col::<String>(&row, "status")? == "reviewed" {
        return Err(StoreError::Conflict("this break-glass use has already been reviewed".into()));
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
    let row = sqlx::query("SELECT * FROM break_glass WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
    record_change(&mut tx, audit, &[format!("break-glass/{id}:reviewed:{outcome}")]).await?;
    tx.commit().await?;
    break_glass_from(&row)
}

include!("notices.rs");
include!("delivery.rs");
include!("continuity.rs");
include!("identity.rs");
include!("appointments.rs");

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::Store for EngineStore {
    fn engine(&self) -> crate::EngineKind {
        ENGINE
    }
    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }
    async fn ensure_establishments(&self, list: &[Establishment]) -> Result<()> {
        ensure_establishments(&self.writer, list).await
    }
    async fn list_establishments(&self) -> Result<Vec<Establishment>> {
        list_establishments(&self.reader).await
    }
    async fn create_consumer(&self, new: &NewConsumer, key: &StoredKey, audit: &WriteAudit) -> Result<Consumer> {
        create_consumer(&self.writer, new, key, audit).await
    }
    async fn add_key(&self, consumer: &str, key: &StoredKey, audit: &WriteAudit) -> Result<()> {
        add_key(&self.writer, consumer, key, audit).await
    }
    async fn list_consumers(&self) -> Result<Vec<Consumer>> {
        list_consumers(&self.reader).await
    }
    async fn revoke_consumer(&self, name: &str, audit: &WriteAudit) -> Result<bool> {
        revoke_consumer(&self.writer, name, audit).await
    }
    async fn consumer_by_key(&self, prefix: &str, key_hash: &str) -> Result<KeyLookup> {
        consumer_by_key(&self.reader, prefix, key_hash).await
    }
    async fn set_client_cert(&self, consumer: &str, binding: &ClientCertBinding, audit: &WriteAudit) -> Result<bool> {
        set_client_cert(&self.writer, consumer, binding, audit).await
    }
    async fn consumers_by_client_cert(&self, sha256: &str, subject: Option<&str>) -> Result<Vec<String>> {
        consumers_by_client_cert(&self.reader, sha256, subject).await
    }
    async fn apply_feed(&self, items: Vec<FeedEntry>, mode: BatchMode, source: &str, audit: &WriteAudit) -> Result<Vec<ItemOutcome>> {
        apply_feed(&self.writer, items, mode, source, audit).await
    }
    async fn person(&self, pn: &PrisonNumber) -> Result<Option<PersonRecord>> {
        person(&self.reader, pn).await
    }
    async fn people_by_nhs_number(&self, nhs: &NhsNumber) -> Result<Vec<PersonRecord>> {
        people_by_nhs_number(&self.reader, nhs).await
    }
    async fn people_by_name(&self, family: &str, given: Option<&str>, dob: NaiveDate) -> Result<Vec<PersonRecord>> {
        people_by_name(&self.reader, family, given, dob).await
    }
    async fn people_at(&self, est: &EstablishmentCode, page: &PageRequest) -> Result<Page<PersonRecord>> {
        people_at(&self.reader, est, page).await
    }
    async fn movements(&self, pn: &PrisonNumber, page: &PageRequest) -> Result<Page<MovementRecord>> {
        movements(&self.reader, pn, page).await
    }
    async fn alerts(&self, pn: &PrisonNumber, active_only: bool, page: &PageRequest) -> Result<Page<AlertRecord>> {
        alerts(&self.reader, pn, active_only, page).await
    }
    async fn planned_movements(&self, pn: &PrisonNumber, include_closed: bool) -> Result<Vec<PlannedRecord>> {
        planned_movements(&self.reader, pn, include_closed).await
    }
    async fn identity_links(&self, pn: &PrisonNumber) -> Result<Vec<IdentityLinkRecord>> {
        identity_links(&self.reader, pn).await
    }
    async fn outbox_after(&self, after: i64, limit: i64) -> Result<Vec<OutboxEvent>> {
        outbox_after(&self.reader, after, limit).await
    }
    async fn set_agreement(&self, consumer: &str, agreement: &str, text: &str, audit: &WriteAudit) -> Result<bool> {
        set_agreement(&self.writer, consumer, agreement, text, audit).await
    }
    async fn set_staff_identity(&self, consumer: &str, identity: Option<&StaffIdentity>, audit: &WriteAudit) -> Result<bool> {
        set_staff_identity(&self.writer, consumer, identity, audit).await
    }
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
    async fn audit_for_person(&self, pn: &PrisonNumber, page: &PageRequest) -> Result<Page<AuditRow>> {
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
    async fn break_glass_use(&self, consumer: &str, staff: &str, pn: &str, reason: &str, window: chrono::Duration, audit: &WriteAudit) -> Result<BreakGlassRecord> {
        break_glass_use(&self.writer, consumer, staff, pn, reason, window, audit).await
    }
    async fn break_glass_list(&self, status: Option<&str>) -> Result<Vec<BreakGlassRecord>> {
        break_glass_list(&self.reader, status).await
    }
    async fn break_glass_review(&self, id: &str, reviewer: &str, outcome: &str, note: Option<&str>, audit: &WriteAudit) -> Result<BreakGlassRecord> {
        break_glass_review(&self.writer, id, reviewer, outcome, note, audit).await
    }
    async fn publish_notice(&self, pn: &PrisonNumber, v: &NewNoticeVersion, audit: &WriteAudit) -> Result<NoticeRecord> {
        publish_notice(&self.writer, pn, v, audit).await
    }
    async fn revise_notice(&self, id: &str, expected: Option<i64>, v: &NewNoticeVersion, audit: &WriteAudit) -> Result<NoticeRecord> {
        revise_notice(&self.writer, id, expected, v, audit).await
    }
    async fn withdraw_notice(&self, id: &str, expected: Option<i64>, w: &NoticeWithdrawal, audit: &WriteAudit) -> Result<NoticeRecord> {
        withdraw_notice(&self.writer, id, expected, w, audit).await
    }
    async fn notice(&self, id: &str) -> Result<Option<NoticeRecord>> {
        notice(&self.reader, id).await
    }
    async fn notices_for(&self, pn: &PrisonNumber, include_withdrawn: bool) -> Result<Vec<NoticeRecord>> {
        notices_for(&self.reader, pn, include_withdrawn).await
    }
    async fn notice_versions(&self, id: &str) -> Result<Vec<NoticeVersionRecord>> {
        notice_versions(&self.reader, id).await
    }
    async fn notices_due_for_review(&self, est: &EstablishmentCode, before: NaiveDate) -> Result<Vec<NoticeRecord>> {
        notices_due_for_review(&self.reader, est, before).await
    }
    async fn create_subscription(&self, new: &NewSubscription, audit: &WriteAudit) -> Result<SubscriptionRecord> {
        create_subscription(&self.writer, new, audit).await
    }
    async fn subscription(&self, id: &str) -> Result<Option<SubscriptionRecord>> {
        subscription(&self.writer, id).await
    }
    async fn subscriptions(&self, consumer: Option<&str>) -> Result<Vec<SubscriptionRecord>> {
        subscriptions(&self.reader, consumer).await
    }
    async fn set_subscription_status(&self, id: &str, status: SubscriptionStatus, reason: Option<&str>, audit: &WriteAudit) -> Result<bool> {
        set_subscription_status(&self.writer, id, status, reason, audit).await
    }
    async fn set_subscription_secrets(&self, id: &str, secrets: &[WebhookSecret], audit: &WriteAudit) -> Result<bool> {
        set_subscription_secrets(&self.writer, id, secrets, audit).await
    }
    async fn fan_out(&self, limit: i64, now: DateTime<Utc>, plan: DeliveryPlan<'_>) -> Result<usize> {
        fan_out(&self.writer, limit, now, plan).await
    }
    async fn replay(&self, subscription: &str, from_seq: i64, now: DateTime<Utc>, plan: DeliveryPlan<'_>, audit: &WriteAudit) -> Result<usize> {
        replay(&self.writer, subscription, from_seq, now, plan, audit).await
    }
    async fn outbox_event(&self, id: &str) -> Result<Option<OutboxEvent>> {
        outbox_event(&self.reader, id).await
    }
    async fn outbox_seq_at(&self, at: DateTime<Utc>) -> Result<i64> {
        outbox_seq_at(&self.reader, at).await
    }
    async fn claim_deliveries(&self, owner: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<ClaimedDelivery>> {
        claim_deliveries(&self.writer, owner, now, lease_until, limit).await
    }
    async fn finish_delivery(&self, subscription: &str, seq: i64, at: DateTime<Utc>, result: &AttemptResult) -> Result<()> {
        finish_delivery(&self.writer, subscription, seq, at, result).await
    }
    async fn deliveries(&self, subscription: &str, status: Option<DeliveryStatus>, limit: i64) -> Result<Vec<DeliveryRecord>> {
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
    async fn continuity_checks(&self, pn: &PrisonNumber, open_only: bool) -> Result<Vec<ContinuityCheck>> {
        continuity_checks(&self.reader, pn, open_only).await
    }
    async fn continuity_check(&self, id: &str) -> Result<Option<ContinuityCheck>> {
        continuity_check(&self.reader, id).await
    }
    async fn confirm_continuity(&self, id: &str, confirmation: &ContinuityConfirmation, audit: &WriteAudit) -> Result<ContinuityCheck> {
        confirm_continuity(&self.writer, id, confirmation, audit).await
    }
    async fn link_identity(&self, pn: &PrisonNumber, nhs: &NhsNumber, method: LinkMethod, verification: &str, linked_by: &str, audit: &WriteAudit) -> Result<IdentityLinkRecord> {
        link_identity(&self.writer, pn, nhs, method, verification, linked_by, audit).await
    }
    async fn book_appointments(&self, booking: &NewBooking, audit: &WriteAudit) -> Result<Vec<AppointmentRecord>> {
        book_appointments(&self.writer, booking, audit).await
    }
    async fn change_appointment(&self, id: &str, change: &AppointmentChange, audit: &WriteAudit) -> Result<AppointmentRecord> {
        change_appointment(&self.writer, id, change, audit).await
    }
    async fn plan_escort(&self, id: &str, update: &EscortUpdate, audit: &WriteAudit) -> Result<AppointmentRecord> {
        plan_escort(&self.writer, id, update, audit).await
    }
    async fn record_attendance(&self, id: &str, update: &AttendanceUpdate, audit: &WriteAudit) -> Result<AppointmentRecord> {
        record_attendance(&self.writer, id, update, audit).await
    }
    async fn appointment(&self, id: &str) -> Result<Option<AppointmentRecord>> {
        appointment(&self.reader, id).await
    }
    async fn appointments_for(&self, pn: &PrisonNumber, from: Option<DateTime<Utc>>, include_cancelled: bool) -> Result<Vec<AppointmentRecord>> {
        appointments_for(&self.reader, pn, from, include_cancelled).await
    }
    async fn appointments_at(&self, est: &EstablishmentCode, day: NaiveDate) -> Result<Vec<AppointmentRecord>> {
        appointments_at(&self.reader, est, day).await
    }
    async fn appointment_history(&self, id: &str) -> Result<Vec<AppointmentHistoryEntry>> {
        appointment_history(&self.reader, id).await
    }
    async fn record_closure(&self, closure: &NewClosure, audit: &WriteAudit) -> Result<ClosureRecord> {
        record_closure(&self.writer, closure, audit).await
    }
    async fn end_closure(&self, id: &str, at: DateTime<Utc>, by: &Actor, audit: &WriteAudit) -> Result<ClosureRecord> {
        end_closure(&self.writer, id, at, by, audit).await
    }
    async fn closure(&self, id: &str) -> Result<Option<ClosureRecord>> {
        sqlx::query("SELECT * FROM regime_closures WHERE id = $1").bind(id).fetch_optional(&self.reader).await?.map(|r| closure_from_row(&r)).transpose()
    }
    async fn closures(&self, est: &EstablishmentCode, after: DateTime<Utc>) -> Result<Vec<ClosureRecord>> {
        closures(&self.reader, est, after).await
    }
    async fn attendance_tallies(&self, query: &TallyQuery) -> Result<Vec<gatehouse_domain::attendance::Tally>> {
        attendance_tallies(&self.reader, query).await
    }
    async fn attendance_figures(&self, query: &TallyQuery) -> Result<gatehouse_domain::attendance::Figures> {
        attendance_figures(&self.reader, &self.writer, query).await
    }
    async fn import_appointments(&self, rows: &[ImportedAppointment], audit: &WriteAudit) -> Result<u64> {
        import_appointments(&self.writer, rows, audit).await
    }
    async fn counts(&self) -> Result<TableCounts> {
        counts(&self.reader).await
    }
}
