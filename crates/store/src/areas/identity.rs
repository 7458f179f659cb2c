//! Identity links written through the identity API.
//!
//! Implemented for each engine in `engine/queries/identity.rs`.

use crate::{IdentityLinkRecord, LinkMethod, Result, WriteAudit};
use async_trait::async_trait;
use gatehouse_domain::{NhsNumber, PrisonNumber};

/// Identity links written through the identity API.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Links (or re-links with better provenance) a person's NHS number; conflicts are refused, never overwritten.
    async fn link_identity(
        &self,
        prison_number: &PrisonNumber,
        nhs: &NhsNumber,
        method: LinkMethod,
        verification: &str,
        linked_by: &str,
        audit: &WriteAudit,
    ) -> Result<IdentityLinkRecord>;
}
