//! Custody status and current location are derived from movements, never set
//! by hand. The state is a function of the latest movement alone, so events
//! that arrive out of order can never leave an older state in place: whatever
//! order movements arrive in, the newest by `occurredAt` decides.

use crate::establishment::{COURT, HOSPITAL, RELEASED, TRANSIT};
use crate::ids::{CellLocation, EstablishmentCode};
use crate::movement::{Movement, MovementKind};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CustodyStatus {
    InPrison,
    AtCourt,
    AtHospital,
    TemporaryAbsence,
    InTransit,
    Released,
}

impl CustodyStatus {
    pub const ALL: [CustodyStatus; 6] = [
        Self::InPrison,
        Self::AtCourt,
        Self::AtHospital,
        Self::TemporaryAbsence,
        Self::InTransit,
        Self::Released,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InPrison => "in-prison",
            Self::AtCourt => "at-court",
            Self::AtHospital => "at-hospital",
            Self::TemporaryAbsence => "temporary-absence",
            Self::InTransit => "in-transit",
            Self::Released => "released",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// Where a person is, and which prison is responsible for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustodyState {
    pub status: CustodyStatus,
    /// The prison responsible for the person: the one they are in, or the one
    /// they left for court, hospital, temporary absence, transfer or release.
    pub establishment: EstablishmentCode,
    /// Where the person is now: a prison code, or CRT, HOSP, TRN or OUT.
    pub location: EstablishmentCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<CellLocation>,
    /// For a transfer under way: the receiving prison, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<EstablishmentCode>,
    /// When the movement that set this state happened.
    pub since: DateTime<Utc>,
}

fn place(code: &str) -> EstablishmentCode {
    EstablishmentCode::parse(code).expect("special place codes are well-formed")
}

impl CustodyState {
    /// The state a movement leaves a person in.
    pub fn after(m: &Movement) -> Self {
        let (status, location) = match m.kind {
            MovementKind::Reception | MovementKind::CellMove => {
                (CustodyStatus::InPrison, m.establishment.clone())
            }
            MovementKind::TransferOut => (CustodyStatus::InTransit, place(TRANSIT)),
            MovementKind::CourtOut => (CustodyStatus::AtCourt, place(COURT)),
            MovementKind::HospitalOut => (CustodyStatus::AtHospital, place(HOSPITAL)),
            MovementKind::TemporaryAbsenceOut => (CustodyStatus::TemporaryAbsence, place(RELEASED)),
            MovementKind::Release => (CustodyStatus::Released, place(RELEASED)),
        };
        Self {
            status,
            establishment: m.establishment.clone(),
            location,
            cell: m.cell.clone(),
            destination: m.destination.clone(),
            since: m.occurred_at,
        }
    }

    /// The state after a set of movements in any order: the latest by time
    /// wins; of two at the same instant, the one listed later (arrived later).
    pub fn derive<'a>(movements: impl IntoIterator<Item = &'a Movement>) -> Option<Self> {
        let mut latest: Option<&Movement> = None;
        for m in movements {
            if latest.is_none_or(|l| m.occurred_at >= l.occurred_at) {
                latest = Some(m);
            }
        }
        latest.map(Self::after)
    }

    /// Whether a movement at `at` supersedes the state (the out-of-order rule).
    pub fn is_superseded_by(&self, at: DateTime<Utc>) -> bool {
        at >= self.since
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn code(s: &str) -> EstablishmentCode {
        EstablishmentCode::parse(s).unwrap()
    }

    fn mv(kind: MovementKind, est: &str, secs: i64) -> Movement {
        let cell = (kind == MovementKind::CellMove)
            .then(|| CellLocation::parse(&format!("{est}-A-1-001")).unwrap());
        Movement::new(
            kind,
            None,
            code(est),
            None,
            cell,
            Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn court_trip_leaves_person_responsible_to_home_prison() {
        let ms = [
            mv(MovementKind::Reception, "LEI", 0),
            mv(MovementKind::CourtOut, "LEI", 10),
        ];
        let s = CustodyState::derive(&ms).unwrap();
        assert_eq!(s.status, CustodyStatus::AtCourt);
        assert_eq!(s.establishment.as_str(), "LEI");
        assert_eq!(s.location.as_str(), "CRT");
    }

    proptest! {
        /// Out-of-order arrival never changes the outcome: any permutation of
        /// movements with distinct times derives the same state.
        #[test]
        fn derivation_ignores_arrival_order(
            kinds in proptest::collection::vec(0usize..7, 1..12),
            seed in any::<u64>(),
        ) {
            let ests = ["LEI", "MDI", "WMI"];
            let ms: Vec<Movement> = kinds.iter().enumerate()
                .map(|(i, k)| mv(MovementKind::ALL[*k], ests[i % 3], i as i64 * 60))
                .collect();
            let in_order = CustodyState::derive(&ms);
            let mut shuffled = ms.clone();
            // A deterministic shuffle from the seed.
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(CustodyState::derive(&shuffled), in_order);
        }
    }
}
