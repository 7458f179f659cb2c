//! Establishments, consumers, their keys, client certificates, agreements
//! and staff identity settings.

use super::audit::record_change;
use super::decode::{col, consumer_from_row, parsed};
use super::engine::{Db, EngineStore, Tx, begin_write, now};
use crate::disclosure::WriteAudit;
use crate::model::*;
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use gatehouse_domain::{Establishment, EstablishmentCode};

pub(super) async fn set_staff_identity(
    pool: &sqlx::Pool<Db>,
    consumer: &str,
    identity: Option<&StaffIdentity>,
    audit: &WriteAudit,
) -> Result<bool> {
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
        let what = identity.map_or("cleared".to_owned(), |i| {
            format!(
                "issuer:{}:audience:{}:claim:{}",
                i.issuer, i.audience, i.claim
            )
        });
        record_change(
            &mut tx,
            audit,
            &[format!("consumer/{consumer}:staff-identity:{what}")],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

// ---------------------------------------------------------------- establishments and consumers

pub(super) async fn ensure_establishments(
    pool: &sqlx::Pool<Db>,
    list: &[Establishment],
) -> Result<()> {
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

pub(super) async fn list_establishments(pool: &sqlx::Pool<Db>) -> Result<Vec<Establishment>> {
    let rows = sqlx::query("SELECT code, name FROM establishments ORDER BY code")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let code = parsed("code", EstablishmentCode::parse(&col::<String>(r, "code")?))?;
            let kind = Establishment::kind_of(&code);
            Ok(Establishment {
                code,
                name: col(r, "name")?,
                kind,
            })
        })
        .collect()
}

pub(super) async fn create_consumer(
    pool: &sqlx::Pool<Db>,
    new: &NewConsumer,
    key: &StoredKey,
    audit: &WriteAudit,
) -> Result<Consumer> {
    let mut tx = begin_write(pool).await?;
    let exists = sqlx::query("SELECT 1 FROM consumers WHERE name = $1")
        .bind(&new.name)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(StoreError::Conflict(format!(
            "a consumer named '{}' already exists",
            new.name
        )));
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
    record_change(
        &mut tx,
        audit,
        &[
            format!("consumer/{}", new.name),
            format!("api-key/{}", key.prefix),
        ],
    )
    .await?;
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

pub(super) async fn insert_key(
    tx: &mut Tx<'_>,
    consumer_id: &str,
    key: &StoredKey,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_keys (prefix, consumer_id, key_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&key.prefix)
    .bind(consumer_id)
    .bind(&key.hash)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn add_key(
    pool: &sqlx::Pool<Db>,
    consumer: &str,
    key: &StoredKey,
    audit: &WriteAudit,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query("SELECT id FROM consumers WHERE name = $1 AND revoked_at IS NULL")
        .bind(consumer)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Err(StoreError::NotFound(format!(
            "no active consumer named '{consumer}'"
        )));
    };
    let id: String = col(&row, "id")?;
    insert_key(&mut tx, &id, key, now()).await?;
    record_change(
        &mut tx,
        audit,
        &[
            format!("consumer/{consumer}"),
            format!("api-key/{}", key.prefix),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn list_consumers(pool: &sqlx::Pool<Db>) -> Result<Vec<Consumer>> {
    let rows = sqlx::query("SELECT * FROM consumers ORDER BY name")
        .fetch_all(pool)
        .await?;
    rows.iter().map(consumer_from_row).collect()
}

pub(super) async fn revoke_consumer(
    pool: &sqlx::Pool<Db>,
    name: &str,
    audit: &WriteAudit,
) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let now = now();
    let row = sqlx::query(
        "UPDATE consumers SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING id",
    )
    .bind(now)
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let id: String = col(&row, "id")?;
    sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE consumer_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    record_change(&mut tx, audit, &[format!("consumer/{name}:revoked")]).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn consumer_by_key(
    pool: &sqlx::Pool<Db>,
    prefix: &str,
    key_hash: &str,
) -> Result<KeyLookup> {
    let row = sqlx::query(
        "SELECT c.*, k.key_hash, k.revoked_at AS key_revoked_at FROM api_keys k JOIN consumers c ON c.id = k.consumer_id WHERE k.prefix = $1",
    )
    .bind(prefix)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(KeyLookup::Unknown);
    };
    let stored: String = col(&row, "key_hash")?;
    // Constant-time comparison: the hash is of a 256-bit secret, but timing should still say nothing.
    let same = stored.len() == key_hash.len()
        && stored
            .bytes()
            .zip(key_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
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

pub(super) async fn set_client_cert(
    pool: &sqlx::Pool<Db>,
    consumer: &str,
    binding: &ClientCertBinding,
    audit: &WriteAudit,
) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let active = sqlx::query("SELECT 1 FROM consumers WHERE name = $1 AND revoked_at IS NULL")
        .bind(consumer)
        .fetch_optional(&mut *tx)
        .await?;
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
        return Err(StoreError::Conflict(format!(
            "that client certificate is already bound to consumer '{other}'"
        )));
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
    record_change(
        &mut tx,
        audit,
        &[format!(
            "consumer/{consumer}:client-cert:sha256:{fingerprint}:required:{}",
            binding.required
        )],
    )
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn consumers_by_client_cert(
    pool: &sqlx::Pool<Db>,
    sha256: &str,
    subject: Option<&str>,
) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT name FROM consumers WHERE client_cert_sha256 = $1 OR client_cert_subject = $2 ORDER BY name")
        .bind(sha256)
        .bind(subject)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| col(r, "name")).collect()
}

pub(super) async fn set_agreement(
    pool: &sqlx::Pool<Db>,
    consumer: &str,
    agreement: &str,
    text: &str,
    audit: &WriteAudit,
) -> Result<bool> {
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
        record_change(
            &mut tx,
            audit,
            &[format!(
                "consumer/{consumer}:agreement/{agreement}@sha256:{digest}"
            )],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done == 1)
}

// ---------------------------------------------------------------- the trait, for this engine

#[async_trait::async_trait]
impl crate::ConsumerStore for EngineStore {
    async fn ensure_establishments(&self, list: &[Establishment]) -> Result<()> {
        ensure_establishments(&self.writer, list).await
    }
    async fn list_establishments(&self) -> Result<Vec<Establishment>> {
        list_establishments(&self.reader).await
    }
    async fn create_consumer(
        &self,
        new: &NewConsumer,
        key: &StoredKey,
        audit: &WriteAudit,
    ) -> Result<Consumer> {
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
    async fn set_client_cert(
        &self,
        consumer: &str,
        binding: &ClientCertBinding,
        audit: &WriteAudit,
    ) -> Result<bool> {
        set_client_cert(&self.writer, consumer, binding, audit).await
    }
    async fn consumers_by_client_cert(
        &self,
        sha256: &str,
        subject: Option<&str>,
    ) -> Result<Vec<String>> {
        consumers_by_client_cert(&self.reader, sha256, subject).await
    }
    async fn set_agreement(
        &self,
        consumer: &str,
        agreement: &str,
        text: &str,
        audit: &WriteAudit,
    ) -> Result<bool> {
        set_agreement(&self.writer, consumer, agreement, text, audit).await
    }
    async fn set_staff_identity(
        &self,
        consumer: &str,
        identity: Option<&StaffIdentity>,
        audit: &WriteAudit,
    ) -> Result<bool> {
        set_staff_identity(&self.writer, consumer, identity, audit).await
    }
}
