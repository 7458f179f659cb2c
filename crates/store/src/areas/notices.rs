//! Safety notices and their versions.
//!
//! Implemented for each engine in `engine/queries/notices.rs`.

use crate::{
    NewNoticeVersion, NoticeRecord, NoticeVersionRecord, NoticeWithdrawal, Result, WriteAudit,
};
use async_trait::async_trait;
use gatehouse_domain::{EstablishmentCode, PrisonNumber};

/// Safety notices and their versions.
#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Publishes version 1 of a notice about a person, with its outbox event.
    async fn publish_notice(
        &self,
        prison_number: &PrisonNumber,
        version: &NewNoticeVersion,
        audit: &WriteAudit,
    ) -> Result<NoticeRecord>;

    /// Stores a new version. `expected` is the version the writer saw: another answers [`StoreError::Stale`].
    async fn revise_notice(
        &self,
        id: &str,
        expected: Option<i64>,
        version: &NewNoticeVersion,
        audit: &WriteAudit,
    ) -> Result<NoticeRecord>;

    /// Withdraws a notice: a new version with status `withdrawn`; history is kept.
    async fn withdraw_notice(
        &self,
        id: &str,
        expected: Option<i64>,
        withdrawal: &NoticeWithdrawal,
        audit: &WriteAudit,
    ) -> Result<NoticeRecord>;

    async fn notice(&self, id: &str) -> Result<Option<NoticeRecord>>;

    /// A person's notices, oldest first.
    async fn notices_for(
        &self,
        prison_number: &PrisonNumber,
        include_withdrawn: bool,
    ) -> Result<Vec<NoticeRecord>>;

    /// Every version of a notice, oldest first.
    async fn notice_versions(&self, id: &str) -> Result<Vec<NoticeVersionRecord>>;

    /// Active notices about people at an establishment whose review date is before `before`.
    async fn notices_due_for_review(
        &self,
        establishment: &EstablishmentCode,
        before: chrono::NaiveDate,
    ) -> Result<Vec<NoticeRecord>>;
}
