//! Reads of the shared record: people, their movements, alerts, planned movements and identity links.
//!
//! Implemented for each engine in `engine/queries/reads.rs`.

use crate::{
    AlertRecord, IdentityLinkRecord, MovementRecord, Page, PageRequest, PersonRecord,
    PlannedRecord, Result,
};
use async_trait::async_trait;
use gatehouse_domain::{EstablishmentCode, NhsNumber, PrisonNumber};

/// Reads of the shared record: people, their movements, alerts, planned movements and identity links.
#[async_trait]
pub trait ReadStore: Send + Sync {
    async fn person(&self, prison_number: &PrisonNumber) -> Result<Option<PersonRecord>>;

    async fn people_by_nhs_number(&self, nhs: &NhsNumber) -> Result<Vec<PersonRecord>>;

    async fn people_by_name(
        &self,
        family_name: &str,
        given_name: Option<&str>,
        date_of_birth: chrono::NaiveDate,
    ) -> Result<Vec<PersonRecord>>;

    async fn people_at(
        &self,
        establishment: &EstablishmentCode,
        page: &PageRequest,
    ) -> Result<Page<PersonRecord>>;

    async fn movements(
        &self,
        prison_number: &PrisonNumber,
        page: &PageRequest,
    ) -> Result<Page<MovementRecord>>;

    async fn alerts(
        &self,
        prison_number: &PrisonNumber,
        active_only: bool,
        page: &PageRequest,
    ) -> Result<Page<AlertRecord>>;

    async fn planned_movements(
        &self,
        prison_number: &PrisonNumber,
        include_closed: bool,
    ) -> Result<Vec<PlannedRecord>>;

    async fn identity_links(&self, prison_number: &PrisonNumber)
    -> Result<Vec<IdentityLinkRecord>>;
}
