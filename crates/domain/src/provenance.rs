//! Every item Gatehouse shows carries where it came from, who owns it and
//! when it last changed (DESIGN.md §1: a missing or stale item is never silence).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Who owns a piece of information: the prison side or the health side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Owner {
    Prison,
    Health,
    Gatehouse,
}

/// Source, owner and last-updated time of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// The system or feed the item came from, e.g. `prison-feed` or `hmpps:prisoner-offender-search`.
    pub source: String,
    pub owner: Owner,
    pub last_updated: DateTime<Utc>,
}
