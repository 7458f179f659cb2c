//! Establishments, consumers, their keys, client certificates, agreements and staff identity settings.
//!
//! Implemented for each engine in `engine/queries/consumers.rs`.

use crate::{
    ClientCertBinding, Consumer, KeyLookup, NewConsumer, Result, StaffIdentity, StoredKey,
    WriteAudit,
};
use async_trait::async_trait;
use gatehouse_domain::Establishment;

/// Establishments, consumers, their keys, client certificates, agreements and staff identity settings.
#[async_trait]
pub trait ConsumerStore: Send + Sync {
    /// Adds establishments that are not yet known; existing ones keep their names.
    async fn ensure_establishments(&self, list: &[Establishment]) -> Result<()>;

    async fn list_establishments(&self) -> Result<Vec<Establishment>>;

    async fn create_consumer(
        &self,
        new: &NewConsumer,
        key: &StoredKey,
        audit: &WriteAudit,
    ) -> Result<Consumer>;

    async fn add_key(&self, consumer: &str, key: &StoredKey, audit: &WriteAudit) -> Result<()>;

    async fn list_consumers(&self) -> Result<Vec<Consumer>>;

    /// Revokes a consumer and all its keys; false when there is no such active consumer.
    async fn revoke_consumer(&self, name: &str, audit: &WriteAudit) -> Result<bool>;

    /// The consumer holding a live key with this prefix and hash, if any.
    async fn consumer_by_key(&self, prefix: &str, key_hash: &str) -> Result<KeyLookup>;

    /// Binds an active consumer to its TLS client certificate (or, with an
    /// empty binding, unbinds it); false when there is no such active consumer.
    /// A certificate another active consumer holds is a conflict.
    async fn set_client_cert(
        &self,
        consumer: &str,
        binding: &ClientCertBinding,
        audit: &WriteAudit,
    ) -> Result<bool>;

    /// The consumers, active or revoked, bound to a certificate with this
    /// fingerprint or this subject.
    async fn consumers_by_client_cert(
        &self,
        sha256: &str,
        subject: Option<&str>,
    ) -> Result<Vec<String>>;

    /// Replaces a consumer's agreement (already validated by the caller); false if there is no active consumer of that name.
    async fn set_agreement(
        &self,
        consumer: &str,
        agreement: &str,
        text: &str,
        audit: &WriteAudit,
    ) -> Result<bool>;

    /// Sets (or with `None` clears) how a consumer's staff assertions are
    /// verified; false if there is no active consumer of that name.
    async fn set_staff_identity(
        &self,
        consumer: &str,
        identity: Option<&StaffIdentity>,
        audit: &WriteAudit,
    ) -> Result<bool>;
}
