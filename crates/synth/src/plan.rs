//! One person's plan: identity, custody timeline, alerts and planned
//! movements, as plain data. `items()` renders it to JSON; `people()` and
//! `estimated_items()` read it without rendering.

use crate::names::{self, Sex};
use crate::places::{Cell, court_for};
use crate::scenario::ScenarioPerson;
use crate::{Estate, SynthPerson, nhs, person_rng};
use chrono::{DateTime, Datelike, Days, Duration, Months, NaiveDate, Utc};
use gatehouse_domain::movement::{MovementKind, MovementReason};
use gatehouse_domain::{CustodyStatus, NhsNumber, PlannedMovementKind};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// RNG streams of one person: each part of the plan draws from its own, so
/// reading one part never shifts another.
const IDENTITY: u64 = 0;
const TIMELINE: u64 = 1;
const ALERTS: u64 = 2;
const PLANNED: u64 = 3;

pub(crate) enum Body {
    Person {
        nhs: Option<NhsNumber>,
    },
    Movement {
        kind: MovementKind,
        reason: MovementReason,
        est: u16,
        dest: Option<u16>,
        cell: Option<Cell>,
    },
    Alert {
        id: u128,
        code: &'static str,
        active: bool,
        from: NaiveDate,
        to: Option<NaiveDate>,
    },
    Planned {
        id: String,
        kind: PlannedMovementKind,
        est: u16,
        dest: Option<u16>,
        planned_for: DateTime<Utc>,
        description: String,
    },
}

pub(crate) struct Event {
    pub at: DateTime<Utc>,
    pub body: Body,
}

pub(crate) struct Plan {
    pub person: SynthPerson,
    /// Ordered by time, none later than the anchor.
    pub events: Vec<Event>,
}

/// Which parts of a plan to build.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Identity and timeline: enough for [`SynthPerson`].
    Person,
    /// Everything, for items.
    Full,
}

// ---- rates (documented in the crate docs; keep the two in step) ----

/// Daily chances, in parts per million.
const PPM: u32 = 1_000_000;
/// Court trips: 12 a year on remand, 0.8 a year sentenced, weekdays only (261 a year).
const COURT_REMAND_PER_WEEKDAY: u32 = 45_977;
const COURT_SENTENCED_PER_WEEKDAY: u32 = 3_065;
/// Transfers: 0.6 a year sentenced, 0.25 on remand, weekdays only.
const TRANSFER_SENTENCED_PER_WEEKDAY: u32 = 2_299;
const TRANSFER_REMAND_PER_WEEKDAY: u32 = 958;
/// Cell moves: 4 a year.
const CELL_MOVE_PER_DAY: u32 = 10_959;
/// Hospital escorts out: 0.4 a year.
const HOSPITAL_PER_DAY: u32 = 1_096;
/// Temporary absences: 40 a year for those eligible.
const TEMPORARY_ABSENCE_PER_DAY: u32 = 109_589;

/// Age bands at the anchor: (from, to, per mille).
const AGE_BANDS: [(u32, u32, u32); 8] = [
    (18, 20, 50),
    (21, 24, 100),
    (25, 29, 150),
    (30, 39, 320),
    (40, 49, 200),
    (50, 59, 110),
    (60, 69, 50),
    (70, 80, 20),
];

fn per_mille<R: Rng + ?Sized>(rng: &mut R, p: u32) -> bool {
    rng.random_range(0..1000u32) < p
}

fn minutes(m: i64) -> Duration {
    Duration::minutes(m)
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

/// A time on `day` between `from` and `to` minutes after midnight, to the second.
fn time_on<R: Rng + ?Sized>(rng: &mut R, day: NaiveDate, from: u32, to: u32) -> DateTime<Utc> {
    let m = rng.random_range(from..to);
    let s = rng.random_range(0..60u32);
    midnight(day) + Duration::seconds(i64::from(m * 60 + s))
}

fn is_weekday(day: NaiveDate) -> bool {
    day.weekday().num_days_from_monday() < 5
}

fn next_weekday(mut day: NaiveDate) -> NaiveDate {
    while !is_weekday(day) {
        day = day + Days::new(1);
    }
    day
}

fn random_dob<R: Rng + ?Sized>(rng: &mut R, today: NaiveDate) -> NaiveDate {
    let mut x = rng.random_range(0..1000u32);
    let mut age = 80;
    for (lo, hi, w) in AGE_BANDS {
        if x < w {
            age = rng.random_range(lo..=hi);
            break;
        }
        x -= w;
    }
    // Born in the year of life that gives exactly `age` today; the extra day
    // keeps a 29 February birthday from tipping the age over.
    let latest = today
        .checked_sub_months(Months::new(12 * age))
        .expect("dates in range");
    let earliest = today
        .checked_sub_months(Months::new(12 * (age + 1)))
        .expect("dates in range")
        + Days::new(2);
    let span = (latest - earliest).num_days().max(0) as u64;
    earliest + Days::new(rng.random_range(0..=span))
}

/// A UUID (version 4 layout) from the RNG, as the alerts service would issue.
pub(crate) fn uuid_text(v: u128) -> String {
    let v = (v & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The custody timeline while it is being simulated.
struct Sim<'e> {
    estate: &'e Estate,
    events: Vec<Event>,
    est: u16,
    cell: Cell,
    /// The person is back in their prison from this time; no new trip starts before.
    free_from: DateTime<Utc>,
    remand: bool,
    temporary_absence: bool,
    women: bool,
}

impl Sim<'_> {
    fn push(
        &mut self,
        at: DateTime<Utc>,
        kind: MovementKind,
        reason: MovementReason,
        dest: Option<u16>,
        cell: Option<Cell>,
    ) {
        self.events.push(Event {
            at,
            body: Body::Movement {
                kind,
                reason,
                est: self.est,
                dest,
                cell,
            },
        });
    }

    /// A reception into a new cell of `est`.
    fn receive(
        &mut self,
        rng: &mut ChaCha8Rng,
        at: DateTime<Utc>,
        reason: MovementReason,
        est: u16,
    ) {
        self.est = est;
        self.cell = Cell::random(rng);
        let cell = self.cell;
        self.push(at, MovementKind::Reception, reason, None, Some(cell));
        self.free_from = at;
    }

    /// Whether a trip from `start` to `end` fits: after the last one, and
    /// well before the release that ends the episode.
    fn fits(&self, start: DateTime<Utc>, end: DateTime<Utc>, until: Option<DateTime<Utc>>) -> bool {
        start > self.free_from + minutes(30) && until.is_none_or(|u| end + minutes(120) < u)
    }

    /// Day by day from `from` to the day before `until` (a release), or to
    /// the anchor's day: at most one event starts each day.
    fn activity(&mut self, rng: &mut ChaCha8Rng, from: NaiveDate, until: Option<DateTime<Utc>>) {
        let last = match until {
            Some(u) => u.date_naive() - Days::new(1),
            None => self.estate.config.anchor.date_naive(),
        };
        let can_transfer = self.estate.group(self.women).len() > 1;
        let mut day = from;
        while day <= last {
            let weekday = is_weekday(day);
            let court = match (weekday, self.remand) {
                (false, _) => 0,
                (true, true) => COURT_REMAND_PER_WEEKDAY,
                (true, false) => COURT_SENTENCED_PER_WEEKDAY,
            };
            let transfer = match (weekday && can_transfer, self.remand) {
                (false, _) => 0,
                (true, true) => TRANSFER_REMAND_PER_WEEKDAY,
                (true, false) => TRANSFER_SENTENCED_PER_WEEKDAY,
            };
            let ta = if self.temporary_absence {
                TEMPORARY_ABSENCE_PER_DAY
            } else {
                0
            };
            let weights = [court, transfer, CELL_MOVE_PER_DAY, HOSPITAL_PER_DAY, ta];
            let mut x = rng.random_range(0..PPM);
            let mut which = None;
            for (i, w) in weights.into_iter().enumerate() {
                if x < w {
                    which = Some(i);
                    break;
                }
                x -= w;
            }
            match which {
                Some(0) => self.court(rng, day, until),
                Some(1) => self.transfer(rng, day, until),
                Some(2) => self.cell_move(rng, day, until),
                Some(3) => self.hospital(rng, day, until),
                Some(4) => self.temporary_absence(rng, day, until),
                _ => {}
            }
            day = day + Days::new(1);
        }
    }

    fn court(&mut self, rng: &mut ChaCha8Rng, day: NaiveDate, until: Option<DateTime<Utc>>) {
        let out = time_on(rng, day, 7 * 60, 9 * 60);
        let back = time_on(rng, day, 14 * 60, 20 * 60);
        if self.fits(out, back, until) {
            self.push(
                out,
                MovementKind::CourtOut,
                MovementReason::SentToCourt,
                None,
                None,
            );
            let cell = self.cell;
            self.push(
                back,
                MovementKind::Reception,
                MovementReason::ReturnFromCourt,
                None,
                Some(cell),
            );
            self.free_from = back;
        }
    }

    fn transfer(&mut self, rng: &mut ChaCha8Rng, day: NaiveDate, until: Option<DateTime<Utc>>) {
        let out = time_on(rng, day, 7 * 60 + 30, 11 * 60);
        let arrive = out + minutes(rng.random_range(120..360));
        let dest = self.estate.pick_other(rng, self.women, self.est);
        if let Some(dest) = dest.filter(|_| self.fits(out, arrive, until)) {
            self.push(
                out,
                MovementKind::TransferOut,
                MovementReason::Transferred,
                Some(dest),
                None,
            );
            self.receive(rng, arrive, MovementReason::Transferred, dest);
        }
    }

    fn cell_move(&mut self, rng: &mut ChaCha8Rng, day: NaiveDate, until: Option<DateTime<Utc>>) {
        let at = time_on(rng, day, 9 * 60, 17 * 60);
        let cell = self.cell.another(rng);
        if self.fits(at, at, until) {
            self.cell = cell;
            self.push(
                at,
                MovementKind::CellMove,
                MovementReason::CellMove,
                None,
                Some(cell),
            );
            self.free_from = at;
        }
    }

    fn hospital(&mut self, rng: &mut ChaCha8Rng, day: NaiveDate, until: Option<DateTime<Utc>>) {
        let out = if per_mille(rng, 200) {
            time_on(rng, day, 0, 24 * 60) // an emergency, at any hour
        } else {
            time_on(rng, day, 8 * 60, 14 * 60) // an escorted appointment
        };
        let back = if per_mille(rng, 750) {
            out + minutes(rng.random_range(120..480))
        } else {
            let d = day + Days::new(rng.random_range(1..=6));
            time_on(rng, d, 10 * 60, 18 * 60)
        };
        if self.fits(out, back, until) {
            self.push(
                out,
                MovementKind::HospitalOut,
                MovementReason::ReleasedToHospital,
                None,
                None,
            );
            let cell = self.cell;
            self.push(
                back,
                MovementKind::Reception,
                MovementReason::ReturnFromHospital,
                None,
                Some(cell),
            );
            self.free_from = back;
        }
    }

    fn temporary_absence(
        &mut self,
        rng: &mut ChaCha8Rng,
        day: NaiveDate,
        until: Option<DateTime<Utc>>,
    ) {
        let out = time_on(rng, day, 7 * 60, 9 * 60);
        let back = if per_mille(rng, 700) {
            time_on(rng, day, 17 * 60, 20 * 60) // day release
        } else {
            let d = day + Days::new(rng.random_range(1..=3));
            time_on(rng, d, 15 * 60, 19 * 60) // overnight release on temporary licence
        };
        if self.fits(out, back, until) {
            self.push(
                out,
                MovementKind::TemporaryAbsenceOut,
                MovementReason::TemporaryAbsenceRelease,
                None,
                None,
            );
            let cell = self.cell;
            self.push(
                back,
                MovementKind::Reception,
                MovementReason::TemporaryAbsenceReturn,
                None,
                Some(cell),
            );
            self.free_from = back;
        }
    }
}

/// Where the last movement left the person (the rule of
/// `gatehouse_domain::CustodyState::after`).
struct Final {
    status: CustodyStatus,
    est: u16,
    cell: Option<Cell>,
    last_movement: DateTime<Utc>,
}

fn final_state(events: &[Event]) -> Option<Final> {
    events.iter().rev().find_map(|e| match &e.body {
        Body::Movement {
            kind, est, cell, ..
        } => Some(Final {
            status: match kind {
                MovementKind::Reception | MovementKind::CellMove => CustodyStatus::InPrison,
                MovementKind::TransferOut => CustodyStatus::InTransit,
                MovementKind::CourtOut => CustodyStatus::AtCourt,
                MovementKind::HospitalOut => CustodyStatus::AtHospital,
                MovementKind::TemporaryAbsenceOut => CustodyStatus::TemporaryAbsence,
                MovementKind::Release => CustodyStatus::Released,
            },
            est: *est,
            cell: *cell,
            last_movement: e.at,
        }),
        _ => None,
    })
}

fn finish(events: &mut Vec<Event>, anchor: DateTime<Utc>) {
    events.retain(|e| e.at <= anchor);
    events.sort_by_key(|e| e.at); // stable: equal times keep the order they were made in
}

impl Estate {
    /// The plan of a fixed scenario person.
    pub(crate) fn scenario_plan(&self, slot: usize, s: &ScenarioPerson) -> Plan {
        let anchor = self.config.anchor;
        let lei = self.lei.expect("scenario people exist only with LEI");
        let received = anchor - minutes(i64::from(s.received_minutes_before_anchor));
        let cell = Cell::parse(s.cell).expect("scenario cells are well-formed");
        let nhs = s.nhs_number();
        let mut events = vec![
            Event {
                at: received - minutes(15),
                body: Body::Person { nhs: nhs.clone() },
            },
            Event {
                at: received,
                body: Body::Movement {
                    kind: MovementKind::Reception,
                    reason: MovementReason::NewAdmission,
                    est: lei,
                    dest: None,
                    cell: Some(cell),
                },
            },
        ];
        let mut rng = person_rng(self.config.seed, u64::MAX - slot as u64, ALERTS);
        for (code, before) in s.alerts {
            let at = anchor - minutes(i64::from(*before));
            events.push(Event {
                at,
                body: Body::Alert {
                    id: rng.random(),
                    code,
                    active: true,
                    from: at.date_naive(),
                    to: None,
                },
            });
        }
        finish(&mut events, anchor);
        let f = final_state(&events).expect("a scenario person has a reception");
        Plan {
            person: SynthPerson {
                index: slot,
                prison_number: s.prison_number(),
                given_name: s.given_name.to_owned(),
                family_name: s.family_name.to_owned(),
                date_of_birth: NaiveDate::parse_from_str(s.date_of_birth, "%Y-%m-%d")
                    .expect("scenario dates are well-formed"),
                sex: Sex::Male,
                nhs_number: nhs,
                establishment: self.prisons[f.est as usize].establishment.code.clone(),
                status: f.status,
                cell: f
                    .cell
                    .map(|c| c.render(&self.prisons[f.est as usize].establishment.code)),
                scenario: true,
            },
            events,
        }
    }

    /// The plan of generated person `g` (0-based among the generated).
    pub(crate) fn generated_plan(&self, g: u64, depth: Depth) -> Plan {
        let seed = self.config.seed;
        let anchor = self.config.anchor;
        let today = anchor.date_naive();
        let window_start = anchor - Duration::days(i64::from(self.config.history_days));
        let window_day = window_start.date_naive();

        // Identity.
        let mut rng = person_rng(seed, g, IDENTITY);
        let home = self.pick_home(&mut rng);
        let women = self.prisons[home as usize].women;
        let sex = if women { Sex::Female } else { Sex::Male };
        let given_name = names::given_name(sex, &mut rng).to_uppercase();
        let family_name = names::family_name(&mut rng).to_uppercase();
        let date_of_birth = random_dob(&mut rng, today);
        let nhs_draw = rng.random_range(0..1000u32);
        let nhs_number = nhs::estate_number(seed, g);
        // 3% never have one in the prison feed; 5% more get one after reception.
        let (nhs_never, nhs_later) = (nhs_draw < 30, (30..80).contains(&nhs_draw));
        let temporary_absence = per_mille(
            &mut rng,
            if self.prisons[home as usize].open {
                600
            } else {
                30
            },
        );

        // Timeline.
        let mut rng = person_rng(seed, g, TIMELINE);
        let adult_day = date_of_birth
            .checked_add_months(Months::new(12 * 18))
            .expect("dates in range");
        let before_window = self.config.history_days > 0 && per_mille(&mut rng, 580);
        let admit_day = if before_window {
            window_day - Days::new(rng.random_range(1..=6 * 365))
        } else {
            let span = (today - window_day).num_days().max(0) as u64;
            window_day + Days::new(rng.random_range(0..=span))
        }
        .max(adult_day);
        let mut admitted = time_on(&mut rng, admit_day, 13 * 60, 21 * 60);
        if admitted > anchor - minutes(30) {
            admitted = anchor - minutes(rng.random_range(30..240));
        }
        let recent = anchor - admitted < Duration::days(180);
        let remand = per_mille(&mut rng, if recent { 450 } else { 60 });
        let first_activity = (admitted.date_naive() + Days::new(1)).max(window_day);
        // Release: 12% of those held since before the window, 30% of those received in it.
        let release = {
            let wanted = per_mille(&mut rng, if before_window { 120 } else { 300 });
            let from = first_activity + Days::new(7);
            let to = today - Days::new(1);
            let day = (from <= to)
                .then(|| from + Days::new(rng.random_range(0..=(to - from).num_days() as u64)));
            let at = day.map(|d| time_on(&mut rng, d, 8 * 60, 11 * 60 + 30));
            at.filter(|_| wanted)
        };
        // Readmission: 30% of those released, at least a week later.
        let readmission = release.and_then(|r| {
            let wanted = per_mille(&mut rng, 300);
            let from = r.date_naive() + Days::new(7);
            let to = today - Days::new(1);
            let day = (from <= to)
                .then(|| from + Days::new(rng.random_range(0..=(to - from).num_days() as u64)));
            let at = day.map(|d| time_on(&mut rng, d, 13 * 60, 21 * 60));
            at.filter(|_| wanted)
        });

        let mut sim = Sim {
            estate: self,
            events: Vec::with_capacity(32),
            est: home,
            cell: Cell::random(&mut rng),
            free_from: admitted,
            remand,
            temporary_absence,
            women,
        };
        let first_nhs = (!(nhs_never || nhs_later)).then(|| nhs_number.clone());
        sim.events.push(Event {
            at: admitted - minutes(rng.random_range(10..50)),
            body: Body::Person { nhs: first_nhs },
        });
        if nhs_later {
            let d = admitted.date_naive() + Days::new(rng.random_range(1..=30));
            sim.events.push(Event {
                at: time_on(&mut rng, d, 9 * 60, 17 * 60),
                body: Body::Person {
                    nhs: Some(nhs_number.clone()),
                },
            });
        }
        sim.receive(&mut rng, admitted, MovementReason::NewAdmission, home);
        let mut spans = vec![(admitted, release.unwrap_or(anchor))];
        sim.activity(&mut rng, first_activity, release);
        if let Some(r) = release {
            sim.push(
                r,
                MovementKind::Release,
                MovementReason::Released,
                None,
                None,
            );
            if let Some(again) = readmission {
                let est = sim.est;
                sim.remand = per_mille(&mut rng, 450);
                sim.receive(&mut rng, again, MovementReason::Readmission, est);
                spans.push((again, anchor));
                sim.activity(&mut rng, again.date_naive() + Days::new(1), None);
            }
        }
        let remand_at_end = sim.remand;
        let mut events = sim.events;
        finish(&mut events, anchor);
        let f = final_state(&events).expect("every person has a reception");
        let nhs_known = events.iter().rev().find_map(|e| match &e.body {
            Body::Person { nhs: Some(n) } => Some(n.clone()),
            _ => None,
        });
        let current = &self.prisons[f.est as usize].establishment.code;
        let person = SynthPerson {
            index: self.scenario_count + g as usize,
            prison_number: crate::prison_number(g),
            given_name,
            family_name,
            date_of_birth,
            sex,
            nhs_number: nhs_known,
            establishment: current.clone(),
            status: f.status,
            cell: f.cell.map(|c| c.render(current)),
            scenario: false,
        };
        if depth == Depth::Full {
            let age = today.years_since(date_of_birth).unwrap_or(0);
            let mut rng = person_rng(seed, g, ALERTS);
            let in_custody = f.status != CustodyStatus::Released;
            self.alerts(
                &mut rng,
                &mut events,
                &spans,
                in_custody,
                sex,
                age,
                admitted,
            );
            if f.status == CustodyStatus::InPrison {
                let mut rng = person_rng(seed, g, PLANNED);
                self.planned(&mut rng, &mut events, &person, &f, remand_at_end);
            }
            finish(&mut events, anchor);
        }
        Plan { person, events }
    }

    #[allow(clippy::too_many_arguments)]
    fn alerts(
        &self,
        rng: &mut ChaCha8Rng,
        events: &mut Vec<Event>,
        spans: &[(DateTime<Utc>, DateTime<Utc>)],
        in_custody: bool,
        sex: Sex,
        age: u32,
        admitted: DateTime<Utc>,
    ) {
        let anchor = self.config.anchor;
        // A time in custody, uniformly over the custody spans.
        let during = |rng: &mut ChaCha8Rng| {
            let total: i64 = spans
                .iter()
                .map(|(a, b)| (*b - *a).num_seconds().max(1))
                .sum();
            let mut x = rng.random_range(0..total);
            for (a, b) in spans {
                let len = (*b - *a).num_seconds().max(1);
                if x < len {
                    // Moved into office hours that day when that stays in the span.
                    let t = *a + Duration::seconds(x);
                    let office = time_on(rng, t.date_naive(), 8 * 60, 18 * 60);
                    return if (*a..=*b).contains(&office) {
                        office
                    } else {
                        t
                    };
                }
                x -= len;
            }
            spans[0].0
        };
        let at_reception = |rng: &mut ChaCha8Rng| admitted + minutes(rng.random_range(20..120));
        let days = |rng: &mut ChaCha8Rng, from: i64, to: i64| {
            Duration::minutes(rng.random_range(from * 24 * 60..to * 24 * 60))
        };
        let mut add = |rng: &mut ChaCha8Rng,
                       code: &'static str,
                       raised: DateTime<Utc>,
                       closed: Option<DateTime<Utc>>| {
            let id = rng.random();
            let from = raised.date_naive();
            events.push(Event {
                at: raised,
                body: Body::Alert {
                    id,
                    code,
                    active: true,
                    from,
                    to: None,
                },
            });
            if let Some(c) = closed.filter(|c| *c <= anchor) {
                events.push(Event {
                    at: c,
                    body: Body::Alert {
                        id,
                        code,
                        active: false,
                        from,
                        to: Some(c.date_naive()),
                    },
                });
            }
        };

        // ACCT: open now for 3.5% of those in custody; a closed ACCT in the
        // history of 9% (HA closed, then HA1 post-closure, then HA2 closed).
        if in_custody && per_mille(rng, 35) {
            let last_start = spans.last().expect("a span").0;
            let raised = (anchor - days(rng, 0, 50) - minutes(120)).max(last_start + minutes(15));
            add(rng, "HA", raised, None);
        } else if per_mille(rng, 90) {
            let raised = during(rng);
            let closed = raised + days(rng, 3, 45);
            add(rng, "HA", raised, Some(closed));
            if closed <= anchor {
                let post = closed + minutes(1);
                let post_closed = post + days(rng, 14, 120);
                add(rng, "HA1", post, Some(post_closed));
                if post_closed <= anchor {
                    add(rng, "HA2", post_closed + minutes(1), None);
                }
            }
        }
        // Self-harm history: 10% (HS at reception, HC or SH in custody), a
        // quarter of them with a second code; 10% of codes closed later.
        if per_mille(rng, 100) {
            let first = rng.random_range(0..100u32);
            let mut codes = vec![match first {
                0..40 => "HS",
                40..75 => "HC",
                _ => "SH",
            }];
            if per_mille(rng, 250) {
                codes.push(if codes[0] == "HS" { "HC" } else { "HS" });
            }
            for code in codes {
                let raised = if code == "HS" {
                    at_reception(rng)
                } else {
                    during(rng)
                };
                let closed = per_mille(rng, 100).then(|| raised + days(rng, 60, 600));
                add(rng, code, raised, closed);
            }
        }
        // Health: epilepsy 1.5%, asthma 8% (both usually from the reception
        // health screen), PEEP 2% (10% at 60 and over), hidden disability 2%,
        // pregnant with a care plan 2% of women under 45.
        for (code, pm, reception, close_pm, close_from, close_to) in [
            ("MEP", 15, true, 30, 90, 700),
            ("MAS", 80, true, 50, 90, 700),
            (
                "PEEP",
                if age >= 60 { 100 } else { 20 },
                false,
                100,
                30,
                365,
            ),
            ("HID", 20, false, 20, 90, 700),
            (
                "PGWCP",
                if sex == Sex::Female && age < 45 {
                    20
                } else {
                    0
                },
                false,
                700,
                60,
                270,
            ),
        ] {
            if per_mille(rng, pm) {
                let raised = if reception && per_mille(rng, 700) {
                    at_reception(rng) + days(rng, 0, 3)
                } else {
                    during(rng)
                };
                let closed =
                    per_mille(rng, close_pm).then(|| raised + days(rng, close_from, close_to));
                add(rng, code, raised, closed);
            }
        }
        // Risk to staff 5% (XVL, RSS or XSA), poor coper 3%, food refusal 0.3%.
        if per_mille(rng, 50) {
            let code = match rng.random_range(0..10u32) {
                0..5 => "XVL",
                5..8 => "RSS",
                _ => "XSA",
            };
            let raised = during(rng);
            let closed = per_mille(rng, 200).then(|| raised + days(rng, 60, 500));
            add(rng, code, raised, closed);
        }
        for (code, pm, close_pm, close_from, close_to) in [
            ("VU", 30, 350, 30, 300),
            ("OFR", 3, 900, 3, 30),
            // Not safety codes: veteran, little English, conflict with others,
            // escape risk, CSIP, substance-free living.
            (
                "F1",
                if sex == Sex::Male && age >= 25 { 30 } else { 0 },
                0,
                1,
                2,
            ),
            ("VLES", 25, 0, 1, 2),
            ("RCON", 50, 300, 30, 400),
            ("XER", 8, 200, 90, 700),
            ("CSIP", 20, 600, 30, 180),
            ("OISFL", 15, 400, 30, 365),
        ] {
            if per_mille(rng, pm) {
                let raised = during(rng);
                let closed =
                    per_mille(rng, close_pm).then(|| raised + days(rng, close_from, close_to));
                add(rng, code, raised, closed);
            }
        }
    }

    fn planned(
        &self,
        rng: &mut ChaCha8Rng,
        events: &mut Vec<Event>,
        person: &SynthPerson,
        f: &Final,
        remand: bool,
    ) {
        let anchor = self.config.anchor;
        let today = anchor.date_naive();
        let pn = person.prison_number.as_str();
        let code = self.prisons[f.est as usize].code();
        let mut add = |rng: &mut ChaCha8Rng,
                       prefix: &str,
                       kind: PlannedMovementKind,
                       dest: Option<u16>,
                       planned_for: DateTime<Utc>,
                       description: String| {
            let known = anchor - minutes(rng.random_range(10..21 * 24 * 60));
            events.push(Event {
                at: known.max(f.last_movement + minutes(10)),
                body: Body::Planned {
                    id: format!("{prefix}-{pn}-1"),
                    kind,
                    est: f.est,
                    dest,
                    planned_for,
                    description,
                },
            });
        };
        // Court: 55% of those on remand, 4% of the sentenced, within 2 weeks.
        if per_mille(rng, if remand { 550 } else { 40 }) {
            let day = next_weekday(today + Days::new(rng.random_range(1..=14)));
            let slot = [9 * 60 + 30, 10 * 60, 10 * 60 + 30, 11 * 60, 14 * 60]
                [rng.random_range(0..5u32) as usize];
            let at = time_on(rng, day, slot, slot + 1).with_second_zero();
            let court = court_for(code, rng).to_owned();
            add(
                rng,
                "CRT",
                PlannedMovementKind::CourtAppearance,
                None,
                at,
                court,
            );
        }
        // Planned transfer: 2.5%, within 3 weeks, to another prison of the estate.
        if per_mille(rng, 25)
            && let Some(dest) = self.pick_other(rng, person.sex == Sex::Female, f.est)
        {
            let day = next_weekday(today + Days::new(rng.random_range(1..=21)));
            let at = time_on(rng, day, 8 * 60, 9 * 60 + 30);
            let name = self.prisons[dest as usize].establishment.name.clone();
            add(
                rng,
                "TRF",
                PlannedMovementKind::Transfer,
                Some(dest),
                at,
                format!("Transfer to {name}"),
            );
        }
        // Planned release: 5% of the sentenced, within 90 days.
        if !remand && per_mille(rng, 50) {
            let day = next_weekday(today + Days::new(rng.random_range(1..=90)));
            let at = time_on(rng, day, 8 * 60, 10 * 60);
            let what = [
                "Conditional release date",
                "Home detention curfew",
                "Sentence expiry",
                "Parole release",
            ][rng.random_range(0..4u32) as usize];
            add(
                rng,
                "REL",
                PlannedMovementKind::Release,
                None,
                at,
                what.to_owned(),
            );
        }
        // Hospital escort: 3%, within 6 weeks.
        if per_mille(rng, 30) {
            let day = next_weekday(today + Days::new(rng.random_range(1..=42)));
            let at = time_on(rng, day, 8 * 60 + 30, 15 * 60);
            add(
                rng,
                "HOS",
                PlannedMovementKind::HospitalEscort,
                None,
                at,
                "Hospital outpatient appointment, escort booked".to_owned(),
            );
        }
    }
}

trait SecondZero {
    fn with_second_zero(self) -> Self;
}

impl SecondZero for DateTime<Utc> {
    fn with_second_zero(self) -> Self {
        use chrono::Timelike;
        self.with_second(0).expect("second 0 exists")
    }
}
