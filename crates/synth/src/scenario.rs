//! The fixed scenario people: the named people of `SCENARIOS.md`, present in
//! every estate that includes HMP Leeds (`LEI`), with fixed prison numbers,
//! names, dates of birth, cells and alerts. Names and dates are synthetic.
//!
//! Each gets a `gatehouse.person` item, a reception (`NEW_ADMISSION`) into
//! their cell at LEI, and the alerts listed, and nothing else: no random
//! movements and no planned movements, so the acceptance scenarios start
//! from a known state. Those with an NHS number take it from the scenario
//! block of the test range ([`crate::nhs::scenario_number`]).
//!
//! | prison number | name | born | NHS number | cell | alerts | scenario |
//! |---|---|---|---|---|---|---|
//! | A1234BC | DANIEL HARRIS | 1990-07-12 | yes | LEI-B-1-007 | HA (ACCT open) | 1 risk at the point of care, 2 appointments |
//! | B2345CD | MARK THOMPSON | 1978-11-02 | yes | LEI-C-3-021 | — | 3 transfer without medication |
//! | C3456DE | RYAN COLLINS | 1996-02-19 | yes | LEI-D-1-033 | — | 4 unannounced movement |
//! | D4567EF | PETER WALSH | 1965-09-30 | yes | LEI-B-4-002 | — | 5 missed hospital appointments |
//! | E5678FG | CRAIG EVANS | 1988-05-21 | yes | LEI-A-2-014 | — | 6 seizure risk on the wing |
//! | F6789GH | LIAM O'CONNOR | 2001-01-15 | **none** | LEI-F-1-009 | — | 7 community record missing (received 3 hours before the anchor) |
//! | G7890HJ | STEVEN HUGHES | 1983-12-08 | yes | LEI-E-2-025 | HA, HS | 8 self-harm history on escort |
//! | H8901JK | JONATHAN SMITH | 1985-04-03 | **none** | LEI-C-2-011 | — | 9 no shared identifier |

use gatehouse_domain::{NhsNumber, PrisonNumber};

/// One fixed scenario person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioPerson {
    pub prison_number: &'static str,
    /// Upper case, as NOMIS holds names.
    pub given_name: &'static str,
    pub family_name: &'static str,
    /// `YYYY-MM-DD`.
    pub date_of_birth: &'static str,
    /// Whether the person has an NHS number in the prison feed.
    pub has_nhs_number: bool,
    pub establishment: &'static str,
    pub cell: &'static str,
    /// How long before the estate's anchor the reception happened, in minutes.
    pub received_minutes_before_anchor: u32,
    /// Active alerts: code and how many minutes before the anchor each was raised.
    pub alerts: &'static [(&'static str, u32)],
    /// Which acceptance scenario the person is for.
    pub scenario: &'static str,
}

const DAY: u32 = 24 * 60;

/// All scenario people, in a fixed order (the order of their items).
pub const PEOPLE: [ScenarioPerson; 8] = [
    ScenarioPerson {
        prison_number: "A1234BC",
        given_name: "DANIEL",
        family_name: "HARRIS",
        date_of_birth: "1990-07-12",
        has_nhs_number: true,
        establishment: "LEI",
        cell: "LEI-B-1-007",
        received_minutes_before_anchor: 120 * DAY + 5 * 60,
        alerts: &[("HA", 6 * DAY + 3 * 60)],
        scenario: "1 risk invisible at the point of care; 2 double entry of appointments",
    },
    ScenarioPerson {
        prison_number: "B2345CD",
        given_name: "MARK",
        family_name: "THOMPSON",
        date_of_birth: "1978-11-02",
        has_nhs_number: true,
        establishment: "LEI",
        cell: "LEI-C-3-021",
        received_minutes_before_anchor: 300 * DAY + 2 * 60,
        alerts: &[],
        scenario: "3 transfer without medication",
    },
    ScenarioPerson {
        prison_number: "C3456DE",
        given_name: "RYAN",
        family_name: "COLLINS",
        date_of_birth: "1996-02-19",
        has_nhs_number: true,
        establishment: "LEI",
        cell: "LEI-D-1-033",
        received_minutes_before_anchor: 45 * DAY + 4 * 60,
        alerts: &[],
        scenario: "4 unannounced movement",
    },
    ScenarioPerson {
        prison_number: "D4567EF",
        given_name: "PETER",
        family_name: "WALSH",
        date_of_birth: "1965-09-30",
        has_nhs_number: true,
        establishment: "LEI",
        cell: "LEI-B-4-002",
        received_minutes_before_anchor: 400 * DAY + 6 * 60,
        alerts: &[],
        scenario: "5 missed hospital appointments",
    },
    ScenarioPerson {
        prison_number: "E5678FG",
        given_name: "CRAIG",
        family_name: "EVANS",
        date_of_birth: "1988-05-21",
        has_nhs_number: true,
        establishment: "LEI",
        cell: "LEI-A-2-014",
        received_minutes_before_anchor: 210 * DAY + 3 * 60,
        alerts: &[],
        scenario: "6 wing staff unaware of seizure risk",
    },
    ScenarioPerson {
        prison_number: "F6789GH",
        given_name: "LIAM",
        family_name: "O'CONNOR",
        date_of_birth: "2001-01-15",
        has_nhs_number: false,
        establishment: "LEI",
        cell: "LEI-F-1-009",
        received_minutes_before_anchor: 3 * 60,
        alerts: &[],
        scenario: "7 community record silently missing",
    },
    ScenarioPerson {
        prison_number: "G7890HJ",
        given_name: "STEVEN",
        family_name: "HUGHES",
        date_of_birth: "1983-12-08",
        has_nhs_number: true,
        establishment: "LEI",
        cell: "LEI-E-2-025",
        received_minutes_before_anchor: 200 * DAY + 5 * 60,
        alerts: &[("HS", 200 * DAY + 4 * 60), ("HA", 3 * DAY + 2 * 60)],
        scenario: "8 self-harm history lost on escort",
    },
    ScenarioPerson {
        prison_number: "H8901JK",
        given_name: "JONATHAN",
        family_name: "SMITH",
        date_of_birth: "1985-04-03",
        has_nhs_number: false,
        establishment: "LEI",
        cell: "LEI-C-2-011",
        received_minutes_before_anchor: 30 * DAY + 3 * 60,
        alerts: &[],
        scenario: "9 no shared identifier",
    },
];

impl ScenarioPerson {
    /// The person's position in [`PEOPLE`].
    pub fn slot(&self) -> usize {
        PEOPLE
            .iter()
            .position(|p| p.prison_number == self.prison_number)
            .expect("a scenario person is in PEOPLE")
    }

    pub fn prison_number(&self) -> PrisonNumber {
        PrisonNumber::parse(self.prison_number).expect("scenario prison numbers are well-formed")
    }

    /// The person's NHS number (from the scenario block of the test range), if any.
    pub fn nhs_number(&self) -> Option<NhsNumber> {
        self.has_nhs_number
            .then(|| crate::nhs::scenario_number(self.slot()))
    }
}

/// The scenario person with this prison number, if any.
pub fn find(prison_number: &str) -> Option<&'static ScenarioPerson> {
    PEOPLE.iter().find(|p| p.prison_number == prison_number)
}

/// Whether a prison number belongs to a scenario person.
pub fn is_scenario(prison_number: &str) -> bool {
    find(prison_number).is_some()
}
