//! Actions, one per read or write view.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    ReadPerson,
    SearchPeople,
    ReadMovements,
    ReadAlerts,
    ReadPlannedMovements,
    ReadIdentity,
    WriteFeed,
    ReadReferenceData,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Self::ReadPerson,
        Self::SearchPeople,
        Self::ReadMovements,
        Self::ReadAlerts,
        Self::ReadPlannedMovements,
        Self::ReadIdentity,
        Self::WriteFeed,
        Self::ReadReferenceData,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadPerson => "read-person",
            Self::SearchPeople => "search-people",
            Self::ReadMovements => "read-movements",
            Self::ReadAlerts => "read-alerts",
            Self::ReadPlannedMovements => "read-planned-movements",
            Self::ReadIdentity => "read-identity",
            Self::WriteFeed => "write-feed",
            Self::ReadReferenceData => "read-reference-data",
        }
    }
}
