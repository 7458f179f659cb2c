//! The disclosure record, and the record a change carries into its own transaction.
//!
//! A disclosure record says who saw or changed what about a person, why, on
//! what basis, and what the agreement decided. Reads hand theirs to the
//! server's group-commit writer. A *change* cannot: a record written in a
//! transaction of its own could survive a change that rolled back, or be lost
//! after a change that committed. So every write method of the store takes a
//! [`WriteAudit`] and appends its record in the same transaction as the
//! change: no change without its record, no record without its change.

use crate::model::NewDisclosure;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What is written to the audit log (as canonical JSON) for one disclosure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Disclosure {
    /// Format version of this record.
    pub v: u32,
    pub at: DateTime<Utc>,
    pub request_id: String,
    pub consumer: String,
    pub org_type: String,
    /// The named staff user acting through the consumer, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff_user: Option<String>,
    /// The person read or changed; absent for a change about no one person
    /// (a subscription, a consumer, an agreement, an establishment's closure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prison_number: Option<String>,
    /// The resource read or written, e.g. `person`, `movements`, `alerts`, `prison-event`.
    pub resource: String,
    /// The action asked for, e.g. `read-person`.
    pub action: String,
    /// The fields the view disclosed, or what the change wrote (empty when nothing was).
    pub fields: Vec<String>,
    pub purpose: String,
    pub lawful_basis: String,
    /// The break-glass reason and grant, when the glass was broken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_glass_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_glass_id: Option<String>,
    /// `permit`, `deny` or `hidden`.
    pub decision: String,
    /// The ids of the policies that decided.
    pub policies: Vec<String>,
}

impl Disclosure {
    /// The canonical JSON of the record: keys sorted, no spaces, so the hash is stable.
    pub fn canonical(&self) -> String {
        let value = serde_json::to_value(self).expect("a disclosure serialises");
        let mut out = String::new();
        gatehouse_domain::feed::canonical::write(&value, &mut out);
        out
    }

    /// The row the audit log stores for this record.
    pub fn to_new(&self) -> NewDisclosure {
        NewDisclosure {
            prison_number: self.prison_number.clone(),
            consumer: self.consumer.clone(),
            content: self.canonical(),
        }
    }
}

/// The disclosure record a change must write with itself.
///
/// The caller (the server, deciding with the consumer's agreement, or the
/// operator's command line) fills in everything it knows before the write;
/// the store adds what only the change knows: which person each item of a
/// feed batch touched, and what was written (a version, a late outcome).
#[derive(Debug, Clone)]
#[must_use = "a change's record must be passed to the store write that makes the change"]
pub struct WriteAudit {
    record: Option<Disclosure>,
}

impl WriteAudit {
    /// The record of a permitted change, as decided.
    pub fn new(record: Disclosure) -> Self {
        Self {
            record: Some(record),
        }
    }

    /// No record: only for a benchmark's baseline with the audit switched off
    /// (`ServerConfig::audit = false`), never in service.
    pub fn off() -> Self {
        Self { record: None }
    }

    /// A change made by the operator or by Gatehouse itself, not through an
    /// agreement: the command line (`gatehouse consumer add`, `import`), the
    /// demo loader, the delivery worker disabling a failing subscription.
    pub fn system(actor: &str, resource: &str, action: &str, fields: Vec<String>) -> Self {
        Self::new(Disclosure {
            v: 1,
            at: Utc::now(),
            request_id: String::new(),
            consumer: actor.to_owned(),
            org_type: "system".to_owned(),
            staff_user: None,
            prison_number: None,
            resource: resource.to_owned(),
            action: action.to_owned(),
            fields,
            purpose: "operations".to_owned(),
            lawful_basis:
                "the operator's administration of the service (no personal data disclosed)"
                    .to_owned(),
            break_glass_reason: None,
            break_glass_id: None,
            decision: "permit".to_owned(),
            policies: vec![],
        })
    }

    /// The record as decided, with what the change wrote added to its fields.
    pub(crate) fn written(&self, wrote: &[String]) -> Option<NewDisclosure> {
        let mut d = self.record.clone()?;
        d.fields.extend(wrote.iter().cloned());
        Some(d.to_new())
    }

    /// The record of a change to `prison_number` that the caller could not name
    /// in advance (one item of a feed batch), with what that item wrote.
    pub(crate) fn written_for(
        &self,
        prison_number: &str,
        wrote: &[String],
    ) -> Option<NewDisclosure> {
        let mut d = self.record.clone()?;
        d.prison_number = Some(prison_number.to_owned());
        d.fields.extend(wrote.iter().cloned());
        Some(d.to_new())
    }
}
