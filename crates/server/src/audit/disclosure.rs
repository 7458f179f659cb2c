//! A disclosure record: one per request that touches a person, permitted or not.

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
    pub prison_number: String,
    /// The resource read or written, e.g. `person`, `movements`, `alerts`, `prison-event`.
    pub resource: String,
    /// The action asked for, e.g. `read-person`.
    pub action: String,
    /// The fields the view disclosed (empty when nothing was disclosed).
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
}
