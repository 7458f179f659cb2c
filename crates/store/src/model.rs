//! Records the store returns, and the inputs it takes.

use chrono::{DateTime, Utc};
use gatehouse_domain::feed::EventId;
use gatehouse_domain::{
    CustodyState, Movement, NhsNumber, OrgType, PersonDetails, PlannedMovement, PlannedStatus,
    PrisonAlert, PrisonNumber, Scope,
};
use serde::{Deserialize, Serialize};

/// A person as the shared record holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRecord {
    pub prison_number: PrisonNumber,
    /// `None` until a person upsert has given a name and date of birth.
    pub details: Option<PersonDetails>,
    pub details_as_of: Option<DateTime<Utc>>,
    pub details_source: Option<String>,
    /// `None` until a movement has been recorded.
    pub custody: Option<CustodyState>,
    pub custody_source: Option<String>,
    /// The active NHS-number link, if any.
    pub nhs_link: Option<IdentityLinkRecord>,
    /// The prison a planned transfer will take them to, while one is planned.
    pub incoming: Option<gatehouse_domain::EstablishmentCode>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MovementRecord {
    pub seq: i64,
    pub prison_number: PrisonNumber,
    pub movement: Movement,
    pub event_id: String,
    pub source: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub prison_number: PrisonNumber,
    pub alert: PrisonAlert,
    /// `occurredAt` of the event that set this state (the out-of-order rule).
    pub as_of: DateTime<Utc>,
    pub source: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRecord {
    pub prison_number: PrisonNumber,
    pub planned: PlannedMovement,
    pub status: PlannedStatus,
    /// The movement (by sequence) that carried the plan out.
    pub fulfilled_by: Option<i64>,
    pub as_of: DateTime<Utc>,
    pub source: String,
    pub updated_at: DateTime<Utc>,
}

/// How a prison number was linked to an NHS number (DESIGN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkMethod {
    PdsTrace,
    Manual,
    Probabilistic,
    /// Carried in a person upsert on the prison feed (unverified until traced).
    PrisonFeed,
}

impl LinkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PdsTrace => "pds-trace",
            Self::Manual => "manual",
            Self::Probabilistic => "probabilistic",
            Self::PrisonFeed => "prison-feed",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::PdsTrace,
            Self::Manual,
            Self::Probabilistic,
            Self::PrisonFeed,
        ]
        .into_iter()
        .find(|m| m.as_str() == raw)
    }
}

/// UK Core NHSNumberVerificationStatusEngland codes used by Gatehouse.
pub mod verification {
    pub const PRESENT_AND_VERIFIED: &str = "01";
    pub const PRESENT_NOT_TRACED: &str = "02";
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdentityLinkRecord {
    pub nhs_number: NhsNumber,
    pub method: LinkMethod,
    pub verification: String,
    pub linked_by: String,
    pub linked_at: DateTime<Utc>,
    pub active: bool,
    pub unlinked_at: Option<DateTime<Utc>>,
    pub unlinked_by: Option<String>,
}

/// A registered consumer system.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub id: String,
    pub name: String,
    pub org_type: OrgType,
    /// The agreement's name: the template it came from, or `custom`.
    pub agreement: String,
    /// The agreement's Cedar text (empty for a consumer registered before
    /// agreements were held: the template of the same name applies).
    pub agreement_text: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The client certificate the consumer is bound to, if any (mutual TLS).
    pub client_cert: ClientCertBinding,
    // -- Verified staff identity (issue 11, migration 0011).
    /// How to verify the signed staff assertion this consumer sends; `None`:
    /// it cannot name a staff user. (Boxed: most consumers are passed around
    /// on every request, and most of them have none.)
    pub staff_identity: Option<Box<StaffIdentity>>,
}

/// How a consumer is tied to its TLS client certificate. Every part that is
/// set must match the certificate the connection presented.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCertBinding {
    /// SHA-256 of the certificate's DER encoding, 64 lowercase hex digits.
    pub sha256: Option<String>,
    /// The certificate's subject distinguished name, in RFC 4514 form.
    pub subject: Option<String>,
    /// Refuse this consumer's key unless the bound certificate came with it.
    pub required: bool,
}

impl ClientCertBinding {
    /// Whether a certificate is named at all.
    pub fn is_bound(&self) -> bool {
        self.sha256.is_some() || self.subject.is_some()
    }
}

/// How a consumer's signed staff assertions (JWTs) are verified: whose keys
/// sign them, what issuer and audience they carry, and which claim names the
/// staff user. Keys are public: nothing here is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffIdentity {
    /// The `iss` an assertion must carry.
    pub issuer: String,
    /// The `aud` an assertion must carry (one of, if it carries several).
    pub audience: String,
    /// The claim naming the staff user (`sub` unless the issuer uses another).
    pub claim: String,
    /// A JWKS document (JSON), registered inline.
    pub jwks: Option<String>,
    /// A URL the JWKS is fetched from (and refetched for an unknown key id).
    pub jwks_url: Option<String>,
}

/// The claim naming the staff user when none is configured.
pub const DEFAULT_STAFF_CLAIM: &str = "sub";

#[derive(Debug, Clone)]
pub struct NewConsumer {
    pub name: String,
    pub org_type: OrgType,
    pub agreement: String,
    pub agreement_text: String,
    pub scope: Scope,
}

/// What is kept of an API key: its public prefix and a hash of the whole key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub prefix: String,
    pub hash: String,
}

// One per request, moved straight into the caller: boxing the consumer
// (grown by its certificate binding) would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum KeyLookup {
    Live(Consumer),
    /// The key, or its consumer, was revoked.
    Revoked,
    Unknown,
}

/// How a batch of feed items is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchMode {
    /// Each item on its own: good items are stored, bad ones reported.
    #[default]
    Partial,
    /// All or nothing: one bad item and nothing is stored.
    Atomic,
}

/// What happened to one feed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemStatus {
    /// Stored, and the shared record changed.
    Stored,
    /// Stored in history, but newer information was already held, so the current state did not change.
    Superseded,
    /// Recorded; the item carries no state Gatehouse can use.
    Acknowledged,
    /// Refused: nothing was written.
    Rejected,
    /// Not applied because another item of an atomic batch was refused.
    NotApplied,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemProblem {
    pub field: String,
    pub rule: String,
    /// The item conflicts with what is held (e.g. an event id reused for other content).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conflict: bool,
}

/// The answer for one feed item. A replayed item gets exactly the answer it got the first time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemOutcome {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prison_number: Option<String>,
    pub status: ItemStatus,
    /// What changed, in plain words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<ItemProblem>,
}

impl ItemOutcome {
    /// Marks a refusal as a conflict with held data rather than bad input.
    pub fn as_conflict(mut self) -> Self {
        if let Some(p) = self.problem.as_mut() {
            p.conflict = true;
        }
        self
    }

    pub fn rejected(
        index: usize,
        event_id: Option<&EventId>,
        field: &str,
        rule: impl Into<String>,
    ) -> Self {
        Self {
            index,
            event_id: event_id.map(|e| e.as_str().to_owned()),
            event_type: None,
            prison_number: None,
            status: ItemStatus::Rejected,
            changes: vec![],
            problem: Some(ItemProblem {
                field: field.to_owned(),
                rule: rule.into(),
                conflict: false,
            }),
        }
    }
}

/// An event in the transactional outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub seq: i64,
    pub id: String,
    pub event_type: String,
    pub subject: String,
    pub subject_seq: i64,
    pub establishment: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TableCounts {
    pub people: i64,
    pub movements: i64,
    pub alerts: i64,
    pub planned_movements: i64,
    pub identity_links: i64,
    pub feed_ledger: i64,
    pub outbox: i64,
    pub consumers: i64,
    pub api_keys: i64,
    pub safety_notices: i64,
    pub safety_notice_versions: i64,
    pub appointments: i64,
    pub appointment_history: i64,
}

/// A disclosure record to append to the audit log: its canonical JSON, and
/// the person and consumer it concerns (kept beside it for queries).
#[derive(Debug, Clone)]
pub struct NewDisclosure {
    pub prison_number: Option<String>,
    pub consumer: String,
    pub content: String,
}

/// A stored audit-log row, exactly as held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub recorded_at: DateTime<Utc>,
    pub prison_number: Option<String>,
    pub consumer: String,
    pub content: String,
    /// Hex RFC 6962 leaf hash of `content`.
    pub leaf_hash: String,
    /// Hex hash chain up to and including this record.
    pub chain: String,
}

/// The head of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    pub size: i64,
    pub chain: String,
    /// The Merkle frontier (hex subtree roots, largest first).
    pub frontier: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: i64,
    pub root: String,
    /// The signed checkpoint note.
    pub signed: String,
    pub created_at: DateTime<Utc>,
}

/// A break-glass grant: opened by the first emergency access to a person by
/// a named staff user, joined by later ones until it expires, then reviewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassRecord {
    pub id: String,
    pub consumer: String,
    pub staff_user: String,
    pub prison_number: String,
    pub reason: String,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub uses: i64,
    /// `unreviewed` or `reviewed`.
    pub status: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    /// `appropriate`, `inappropriate` or `needs-follow-up`.
    pub outcome: Option<String>,
    pub note: Option<String>,
}

/// A version of a safety notice to store: its content, author and reason, and
/// the consumer (health system) that sent it.
#[derive(Debug, Clone)]
pub struct NewNoticeVersion {
    pub content: gatehouse_domain::NoticeContent,
    pub author: gatehouse_domain::notice::Author,
    pub reason: Option<String>,
    pub consumer: String,
}

/// A withdrawal: a new version whose status is `withdrawn`; nothing is deleted.
#[derive(Debug, Clone)]
pub struct NoticeWithdrawal {
    pub author: gatehouse_domain::notice::Author,
    pub reason: String,
    pub consumer: String,
}

/// A safety notice as it stands: its current version.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeRecord {
    pub id: String,
    pub prison_number: PrisonNumber,
    pub version: i64,
    pub status: gatehouse_domain::NoticeStatus,
    pub content: gatehouse_domain::NoticeContent,
    pub author: gatehouse_domain::notice::Author,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The consumer that wrote the current version.
    pub updated_by: String,
}

/// One version in a notice's history.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeVersionRecord {
    pub version: i64,
    pub status: gatehouse_domain::NoticeStatus,
    pub content: gatehouse_domain::NoticeContent,
    pub author: gatehouse_domain::notice::Author,
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
}

/// A webhook signing secret. While a secret is rotated, the old one stays
/// valid until `expires_at`, and deliveries are signed with both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecret {
    pub id: String,
    /// `whsec_<base64>` (Standard Webhooks).
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub consumer: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub establishments: Vec<String>,
    pub secret: WebhookSecret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionStatus {
    Active,
    /// Stopped after failing for too long (or by its owner); pending deliveries wait.
    Disabled,
    Deleted,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Deleted => "deleted",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Disabled, Self::Deleted]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionRecord {
    pub id: String,
    pub consumer: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub establishments: Vec<String>,
    pub secrets: Vec<WebhookSecret>,
    pub status: SubscriptionStatus,
    pub status_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A delivery claimed by one worker until `lease_until`.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub subscription_id: String,
    /// The subscription as it stood when the delivery was claimed (read in the
    /// claim's transaction, so the attempt needs no read of its own).
    pub subscription: SubscriptionRecord,
    /// Attempts made before this one.
    pub attempts: i64,
    pub event: OutboxEvent,
}

/// How one claimed delivery ended, to be written with others in one transaction.
#[derive(Debug, Clone)]
pub struct FinishedAttempt {
    pub subscription_id: String,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub result: AttemptResult,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum AttemptResult {
    Delivered {
        status: u16,
    },
    /// Failed; try again at `next`.
    Retry {
        status: Option<u16>,
        error: String,
        next: DateTime<Utc>,
    },
    /// Failed for the last time: a dead letter.
    Dead {
        status: Option<u16>,
        error: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Dead]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub subscription_id: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub last_status: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub event: OutboxEvent,
}

/// Chooses, for one outbox event, the subscriptions it goes to (by id).
pub type DeliveryPlan<'a> =
    &'a (dyn Fn(&[SubscriptionRecord], &OutboxEvent) -> Vec<String> + Send + Sync);

/// A medication-continuity check: a transfer or release (planned or actual) of
/// a person whose medicines must travel with them. Open until a health
/// consumer confirms it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuityCheck {
    pub id: String,
    pub prison_number: PrisonNumber,
    /// `transfer` or `release`.
    pub kind: String,
    pub trigger_ref: String,
    /// Raised by a plan, before departure (else by the movement itself).
    pub planned: bool,
    pub from_establishment: String,
    pub to_establishment: Option<String>,
    pub due_at: DateTime<Utc>,
    /// The notice categories that require it (`time-critical-medication`, `medication-continuity`).
    pub categories: Vec<String>,
    /// `open`, `confirmed` or `cancelled`.
    pub status: String,
    pub raised_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub confirmation: Option<serde_json::Value>,
}

/// A health consumer's confirmation that the medicines are arranged.
#[derive(Debug, Clone)]
pub struct ContinuityConfirmation {
    pub note: String,
    pub author: gatehouse_domain::notice::Author,
    pub consumer: String,
}
