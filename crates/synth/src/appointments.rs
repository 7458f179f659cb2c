//! A synthetic year of healthcare appointments for the estate (DESIGN.md §2
//! "appointment", "attendance outcome"; §5). **Only the estate's own
//! synthetic people**, by their prison numbers.
//!
//! ```
//! use gatehouse_synth::{Estate, EstateConfig, appointments::AppointmentConfig};
//! let anchor = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc();
//! let estate = Estate::new(EstateConfig { people: 50, ..EstateConfig::demo(anchor) });
//! let rows: usize = estate.appointments(AppointmentConfig::demo()).map(|chunk| chunk.len()).sum();
//! assert!(rows > 300);
//! ```
//!
//! # Where and when
//! Each person's appointments fall while they are in custody at the prison
//! that holds them at that time: the person's own custody timeline (the same
//! one [`Estate::items`](crate::Estate::items) renders) is cut into *stays*,
//! one per prison and episode (reception to transfer out, release, or the
//! anchor), and each stay gets appointments in proportion to its length,
//! clipped to the history window (`history_days` before the anchor) and to
//! [`AppointmentConfig::future_days`] after it for those in custody at the
//! anchor. A stay's days away (at court, in hospital, on temporary absence)
//! still get appointments: they are the ones *not brought* for that reason.
//! Nobody released or in transit at the anchor has a future appointment.
//!
//! # Rates
//! | what | rate |
//! |---|---|
//! | volume | [`AppointmentConfig::per_person_year`] per person-year in custody: **12** for the demo ([`AppointmentConfig::demo`]: 19,875 for its 2,000 people with the anchor 2026-03-01T12:00:00Z), **78** for the national estate ([`AppointmentConfig::national`]: 5,221,786 for its 87,000 people with the same anchor, counting every medication collection and clinic, the benchmark's ≥ 5 million rows); the mix and outcome rates are the same at any volume |
//! | need | per person: half 0.5×, 35% 1×, 15% 2.67× the rate (mean 1×) |
//! | flu vaccine (`MFV`) | on top of the rate: 55% of those in custody in October–December get one, in that season only |
//! | type | `MEDO` 28%, `PHARMACY` 16%, `MEDE` 9%, `MEPS` 9%, `MLTC` 7%, `MSUS` 7%, `HOSP-OP` 4%, `MEOP` 4%, `MPHY` 4%, `MPSY` 3%, `MPOD` 2.5%, `MEXR` 2.5%, `MGUM` 2%, `MEOT` 2% |
//! | setting | `HOSP-OP` always external (a local hospital's outpatients); `MEXR` 30% external (radiology), else the HCU x-ray room; `PHARMACY` 25% in-cell, `MFV` 40% in-cell; the rest internal (`HCU room 1`–`6`, the dental suite for `MEDE`, the pharmacy hatch for `PHARMACY`) |
//! | length | the type's `default_minutes()` (`HOSP-OP` 180, `PHARMACY`/`MFV` 10, `MEPS`/`MPSY`/`MSUS` 45, the rest 20) |
//! | time | weekdays (a weekend day is redrawn up to 3 times: about 2% fall on one), starting 08:30–16:30 on a 5-minute grid and ending by 16:30; `HOSP-OP` 08:30–13:30 |
//! | booked | 0–7 days ahead (`MEDO`, `PHARMACY`), 14–90 (`HOSP-OP`), 3–42 (the rest); never before the stay began, never after the anchor |
//! | future | the next [`AppointmentConfig::future_days`] (14) days: booked, no outcome |
//! | cancelled in advance | 3% internal and in-cell, 5% external (past and future) |
//! | not recorded | 1% of past appointments have no outcome (a data-quality figure) |
//! | away | an appointment starting while the person is at court, in hospital or on temporary absence is was-not-brought `at-court`, `at-hospital` or `other` |
//! | internal and in-cell outcome | attended 80%; did not attend 9% (`refused` 4, `declined-at-door` 2.5, `unwell` 1.8, `other` 0.7); was not brought 8% (`not-unlocked` 2.5, `regime-curtailed` 2, `clash-other-activity` 1.5, `other` 1, `security-decision` 0.6, `at-court` 0.4); cancelled by healthcare 2%; rescheduled 1% |
//! | external outcome | attended 50%; was not brought 38% (`no-escort-staff` 18, `regime-curtailed` 7, `at-court` 4, `transferred` 3.5, `security-decision` 3.5, `other` 2); did not attend 9% (`refused` 7, `unwell` 1.5, `other` 0.5); cancelled by healthcare 2%; rescheduled 1% |
//! | lockdown | one prison, one calendar month ([`Estate::lockdown`]): 45% of its internal and in-cell appointments and 70% of its external ones are was-not-brought `lockdown-or-incident`; the rest follow the tables above |
//! | recorded by | attended, did not attend, cancelled by healthcare, rescheduled: the owner; was not brought: the wing (`<code>-wing`) 70%, the owner 30% |
//!
//! The **lockdown** falls on MDI (HMP Moorland) when the estate has it, else
//! on the estate's last prison, during the calendar month that began four
//! months before the anchor's month (anchor 2026-03-01: November 2025).
//!
//! # Identifiers and owners
//! - **Ids**: `synth-appt-<seed>-<person index>-<n>`, `n` counting the
//!   person's appointments in start order; stable and unique.
//! - **Owner**: the healthcare consumer of the prison, `<code lower>-health`
//!   (`lei-health` and `mdi-health` are the demo's consumers of that name;
//!   the other prisons' owners are names only).
//!
//! # Determinism and streaming
//! The same [`EstateConfig`](crate::EstateConfig) and [`AppointmentConfig`]
//! give the same rows. Each person draws from their own ChaCha8 stream
//! (keyed from seed and person index, like the rest of the estate), reading
//! their timeline only, so [`Estate::appointments`] streams chunks of
//! [`AppointmentConfig::chunk`] rows person by person and holds nothing for
//! the whole estate. [`Estate::estimated_appointments`] gives the total,
//! within a few per cent.
//!
//! The rows are plain data ([`SynthAppointment`]), with the fields of the
//! store's bulk import, so this crate does not depend on the store.

use crate::plan::{Body, Depth, Plan};
use crate::{Estate, person_rng};
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc, Weekday};
use gatehouse_domain::appointment::{AppointmentType, DnaReason, Outcome, Place, WnbReason};
use gatehouse_domain::{EstablishmentCode, MovementKind, PrisonNumber};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The person's RNG stream for appointments (0–3 are the plan's).
const APPOINTMENTS: u64 = 4;

/// How many appointments, and how they are streamed.
#[derive(Debug, Clone, PartialEq)]
pub struct AppointmentConfig {
    /// Appointments per person-year in custody (the flu vaccine on top).
    pub per_person_year: f64,
    /// Days after the anchor with booked (future) appointments.
    pub future_days: u32,
    /// Rows per chunk of [`Estate::appointments`].
    pub chunk: usize,
}

impl AppointmentConfig {
    /// 12 a person-year: what a prison healthcare unit books.
    pub fn demo() -> Self {
        Self {
            per_person_year: 12.0,
            future_days: 14,
            chunk: 10_000,
        }
    }

    /// 78 a person-year: every medication collection and clinic; with the
    /// national estate, 5,221,786 appointments (anchor 2026-03-01T12:00:00Z).
    pub fn national() -> Self {
        Self {
            per_person_year: 78.0,
            ..Self::demo()
        }
    }
}

/// One synthetic appointment, with the fields of the store's bulk import
/// (`gatehouse_store::ImportedAppointment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthAppointment {
    pub id: String,
    pub prison_number: PrisonNumber,
    pub establishment: EstablishmentCode,
    pub appointment_type: AppointmentType,
    pub starts_at: DateTime<Utc>,
    pub minutes: i64,
    pub place: Place,
    /// The healthcare consumer that booked it: `<code lower>-health`.
    pub owner: String,
    /// Cancelled by its owner before the day (then no outcome).
    pub cancelled: bool,
    pub outcome: Option<Outcome>,
    /// Who recorded the outcome (a consumer name), when there is one.
    pub recorded_by: Option<String>,
    pub booked_at: DateTime<Utc>,
}

/// The estate's lockdown month: one prison, a month of curtailed regime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockdown {
    pub establishment: EstablishmentCode,
    pub from: DateTime<Utc>,
    /// Exclusive.
    pub until: DateTime<Utc>,
}

// ---- rates (documented in the module docs; keep the two in step) ----

const TYPES: [(AppointmentType, u32); 14] = [
    (AppointmentType::Medo, 280),
    (AppointmentType::Pharmacy, 160),
    (AppointmentType::Mede, 90),
    (AppointmentType::Meps, 90),
    (AppointmentType::Mltc, 70),
    (AppointmentType::Msus, 70),
    (AppointmentType::HospitalOutpatient, 40),
    (AppointmentType::Meop, 40),
    (AppointmentType::Mphy, 40),
    (AppointmentType::Mpsy, 30),
    (AppointmentType::Mpod, 25),
    (AppointmentType::Mexr, 25),
    (AppointmentType::Mgum, 20),
    (AppointmentType::Meot, 20),
];

/// Need multipliers: (multiplier × 1000, per mille of people).
const NEED: [(u32, u32); 3] = [(500, 500), (1_000, 350), (2_667, 150)];
const FLU_PER_MILLE: u32 = 550;
const CANCELLED_INTERNAL: u32 = 300;
const CANCELLED_EXTERNAL: u32 = 500;
const NOT_RECORDED: u32 = 100;
const LOCKDOWN_INTERNAL: u32 = 4_500;
const LOCKDOWN_EXTERNAL: u32 = 7_000;
const WNB_BY_WING: u32 = 7_000;

use DnaReason as D;
use Outcome::{Attended, CancelledByHealthcare, DidNotAttend, Rescheduled, WasNotBrought};
use WnbReason as W;

/// Outcomes of internal and in-cell appointments, per 10,000.
const INTERNAL: [(Outcome, u32); 13] = [
    (Attended, 8_000),
    (DidNotAttend(D::Refused), 400),
    (DidNotAttend(D::DeclinedAtDoor), 250),
    (DidNotAttend(D::Unwell), 180),
    (DidNotAttend(D::Other), 70),
    (WasNotBrought(W::NotUnlocked), 250),
    (WasNotBrought(W::RegimeCurtailed), 200),
    (WasNotBrought(W::ClashOtherActivity), 150),
    (WasNotBrought(W::Other), 100),
    (WasNotBrought(W::SecurityDecision), 60),
    (WasNotBrought(W::AtCourt), 40),
    (CancelledByHealthcare, 200),
    (Rescheduled, 100),
];

/// Outcomes of external appointments, per 10,000.
const EXTERNAL: [(Outcome, u32); 12] = [
    (Attended, 5_000),
    (WasNotBrought(W::NoEscortStaff), 1_800),
    (WasNotBrought(W::RegimeCurtailed), 700),
    (WasNotBrought(W::AtCourt), 400),
    (WasNotBrought(W::Transferred), 350),
    (WasNotBrought(W::SecurityDecision), 350),
    (WasNotBrought(W::Other), 200),
    (DidNotAttend(D::Refused), 700),
    (DidNotAttend(D::Unwell), 150),
    (DidNotAttend(D::Other), 50),
    (CancelledByHealthcare, 200),
    (Rescheduled, 100),
];

/// Hospitals for outpatient appointments: local ones for the demo prisons,
/// three neighbours in this list chosen by the code for the rest.
const HOSPITALS: &[&str] = &[
    "St James's University Hospital, Leeds",
    "Leeds General Infirmary",
    "Doncaster Royal Infirmary",
    "Scunthorpe General Hospital",
    "Pinderfields Hospital, Wakefield",
    "Northern General Hospital, Sheffield",
    "Hull Royal Infirmary",
    "York Hospital",
    "James Cook University Hospital, Middlesbrough",
    "Royal Victoria Infirmary, Newcastle",
    "Cumberland Infirmary, Carlisle",
    "Royal Preston Hospital",
    "Aintree University Hospital, Liverpool",
    "Manchester Royal Infirmary",
    "Royal Stoke University Hospital",
    "Queen Elizabeth Hospital, Birmingham",
    "Leicester Royal Infirmary",
    "Queen's Medical Centre, Nottingham",
    "Lincoln County Hospital",
    "Peterborough City Hospital",
    "Addenbrooke's Hospital, Cambridge",
    "Norfolk and Norwich University Hospital",
    "John Radcliffe Hospital, Oxford",
    "Royal Berkshire Hospital, Reading",
    "Royal London Hospital",
    "St Thomas' Hospital, London",
    "Croydon University Hospital",
    "Maidstone Hospital",
    "Royal Sussex County Hospital, Brighton",
    "Royal Surrey County Hospital, Guildford",
    "Queen Alexandra Hospital, Portsmouth",
    "Southmead Hospital, Bristol",
    "Gloucestershire Royal Hospital",
    "Royal Devon and Exeter Hospital",
    "University Hospital of Wales, Cardiff",
    "Morriston Hospital, Swansea",
];

fn hospital<R: Rng + ?Sized>(code: &str, rng: &mut R) -> &'static str {
    let local: &[&str] = match code {
        "LEI" => &HOSPITALS[0..2],
        "MDI" => &HOSPITALS[2..4],
        "NHI" => &HOSPITALS[4..5],
        _ => {
            let start = (crate::mix(code.bytes().fold(11u64, |h, b| h * 31 + u64::from(b)))
                % HOSPITALS.len() as u64) as usize;
            let k = rng.random_range(0..3u32) as usize;
            return HOSPITALS[(start + k) % HOSPITALS.len()];
        }
    };
    local[rng.random_range(0..local.len() as u32) as usize]
}

fn draw<T: Copy, R: Rng + ?Sized>(rng: &mut R, table: &[(T, u32)], total: u32) -> T {
    let mut x = rng.random_range(0..total);
    for (v, w) in table {
        if x < *w {
            return *v;
        }
        x -= w;
    }
    table[0].0
}

fn chance<R: Rng + ?Sized>(rng: &mut R, per_10k: u32) -> bool {
    rng.random_range(0..10_000u32) < per_10k
}

/// Why a person is out of the prison for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Away {
    Court,
    Hospital,
    TemporaryAbsence,
}

/// One episode in one prison: reception to transfer out, release, or past the anchor.
#[derive(Debug)]
struct Stay {
    est: u16,
    /// When the stay began (before any clipping).
    began: DateTime<Utc>,
    from: DateTime<Utc>,
    /// Exclusive.
    until: DateTime<Utc>,
    away: Vec<(DateTime<Utc>, DateTime<Utc>, Away)>,
}

impl Stay {
    fn away_at(&self, t: DateTime<Utc>) -> Option<Away> {
        self.away
            .iter()
            .find(|(a, b, _)| (*a..*b).contains(&t))
            .map(|(_, _, w)| *w)
    }
}

/// The stays of a plan, clipped to `window_start..horizon`.
fn stays(
    plan: &Plan,
    window_start: DateTime<Utc>,
    anchor: DateTime<Utc>,
    horizon: DateTime<Utc>,
) -> Vec<Stay> {
    let mut out = Vec::new();
    let mut current: Option<Stay> = None;
    let mut gone: Option<(DateTime<Utc>, Away)> = None;
    for e in &plan.events {
        let Body::Movement { kind, est, .. } = &e.body else {
            continue;
        };
        match kind {
            MovementKind::Reception => match &mut current {
                Some(stay) if stay.est == *est => {
                    if let Some((t, why)) = gone.take() {
                        stay.away.push((t, e.at, why));
                    }
                }
                _ => {
                    out.extend(current.take());
                    gone = None;
                    current = Some(Stay {
                        est: *est,
                        began: e.at,
                        from: e.at,
                        until: horizon,
                        away: Vec::new(),
                    });
                }
            },
            MovementKind::CellMove => {}
            MovementKind::CourtOut => gone = Some((e.at, Away::Court)),
            MovementKind::HospitalOut => gone = Some((e.at, Away::Hospital)),
            MovementKind::TemporaryAbsenceOut => gone = Some((e.at, Away::TemporaryAbsence)),
            MovementKind::TransferOut | MovementKind::Release => {
                if let Some(mut stay) = current.take() {
                    stay.until = e.at;
                    out.push(stay);
                }
                gone = None;
            }
        }
    }
    if let Some(mut stay) = current {
        // Away at the anchor: back within a day (court, leave) or three (hospital).
        if let Some((t, why)) = gone {
            let back = anchor + Duration::days(if why == Away::Hospital { 3 } else { 1 });
            stay.away.push((t, back, why));
        }
        out.push(stay);
    }
    out.retain_mut(|s| {
        s.from = s.from.max(window_start);
        s.until = s.until.min(horizon);
        s.until > s.from
    });
    out
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The first day of the month `months` before `day`'s month.
fn month_start(day: NaiveDate, months: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(day.year(), day.month(), 1)
        .expect("the first exists")
        .checked_sub_months(Months::new(months))
        .expect("dates in range")
}

impl Estate {
    /// The estate's lockdown month (see the [module docs](self)).
    pub fn lockdown(&self) -> Lockdown {
        let est = self
            .prisons
            .iter()
            .position(|p| p.code() == "MDI")
            .unwrap_or(self.prisons.len() - 1);
        let from = month_start(self.config.anchor.date_naive(), 4);
        let until = from.checked_add_months(Months::new(1)).expect("in range");
        Lockdown {
            establishment: self.prisons[est].establishment.code.clone(),
            from: midnight(from),
            until: midnight(until),
        }
    }

    /// Every appointment, in chunks of `config.chunk` rows (the last may be
    /// shorter), person by person, each person's in start order.
    pub fn appointments(&self, config: AppointmentConfig) -> AppointmentChunks<'_> {
        AppointmentChunks {
            estate: self,
            lockdown: self.lockdown(),
            config,
            next_person: 0,
            buffer: Vec::new(),
        }
    }

    /// About how many rows [`Estate::appointments`] yields: exact up to 512
    /// people, else extrapolated from an even sample of 512.
    pub fn estimated_appointments(&self, config: &AppointmentConfig) -> u64 {
        let lockdown = self.lockdown();
        let people = self.person_count() as u64;
        let sample = people.min(512);
        let counted: u64 = (0..sample)
            .map(|k| {
                let p = (k * people / sample) as usize;
                self.person_appointments_with(p, config, &lockdown).len() as u64
            })
            .sum();
        (counted * people).checked_div(sample).unwrap_or(0)
    }

    /// The appointments of person `index`, in start order.
    pub fn person_appointments(
        &self,
        index: usize,
        config: &AppointmentConfig,
    ) -> Vec<SynthAppointment> {
        self.person_appointments_with(index, config, &self.lockdown())
    }

    fn person_appointments_with(
        &self,
        index: usize,
        config: &AppointmentConfig,
        lockdown: &Lockdown,
    ) -> Vec<SynthAppointment> {
        let seed = self.config.seed;
        let anchor = self.config.anchor;
        let window_start = anchor - Duration::days(i64::from(self.config.history_days));
        let horizon = anchor + Duration::days(i64::from(config.future_days));
        let plan = self.plan(index, Depth::Person);
        let key = if index < self.scenario_count {
            u64::MAX - index as u64
        } else {
            (index - self.scenario_count) as u64
        };
        let mut rng = person_rng(seed, key, APPOINTMENTS);
        let need = f64::from(draw(&mut rng, &NEED, 1_000)) / 1_000.0;
        let stays = stays(&plan, window_start, anchor, horizon);

        // (stay, start, type) of every appointment.
        let mut planned: Vec<(usize, DateTime<Utc>, AppointmentType)> = Vec::new();
        for (s, stay) in stays.iter().enumerate() {
            let days = (stay.until - stay.from).num_seconds() as f64 / 86_400.0;
            let expected = config.per_person_year * need * days / 365.25;
            let mut n = expected.floor() as u64;
            if rng.random::<f64>() < expected - expected.floor() {
                n += 1;
            }
            for _ in 0..n {
                let kind = draw(&mut rng, &TYPES, 1_000);
                if let Some(at) = start_in(&mut rng, stay.from, stay.until, kind) {
                    planned.push((s, at, kind));
                }
            }
        }
        // The flu vaccine: once a season, for 55% of those in custody in it.
        let first = window_start.date_naive().year();
        for year in first..=horizon.date_naive().year() {
            let season = (
                midnight(NaiveDate::from_ymd_opt(year, 10, 1).expect("a date")),
                midnight(NaiveDate::from_ymd_opt(year + 1, 1, 1).expect("a date")),
            );
            let parts: Vec<(usize, DateTime<Utc>, DateTime<Utc>)> = stays
                .iter()
                .enumerate()
                .map(|(s, st)| (s, st.from.max(season.0), st.until.min(season.1)))
                .filter(|(_, a, b)| b > a)
                .collect();
            if parts.is_empty() || !chance(&mut rng, FLU_PER_MILLE * 10) {
                continue;
            }
            let total: i64 = parts.iter().map(|(_, a, b)| (*b - *a).num_seconds()).sum();
            let mut x = rng.random_range(0..total.max(1));
            for (s, a, b) in parts {
                let len = (b - a).num_seconds();
                if x < len {
                    if let Some(at) = start_in(&mut rng, a, b, AppointmentType::Mfv) {
                        planned.push((s, at, AppointmentType::Mfv));
                    }
                    break;
                }
                x -= len;
            }
        }
        planned.sort_by_key(|(_, at, _)| *at);

        let pn = &plan.person.prison_number;
        planned
            .into_iter()
            .enumerate()
            .map(|(n, (s, starts_at, kind))| {
                let stay = &stays[s];
                let code = &self.prisons[stay.est as usize].establishment.code;
                let owner = format!("{}-health", code.as_str().to_lowercase());
                let minutes = kind.default_minutes();
                let place = place(&mut rng, code.as_str(), kind);
                let external = matches!(place, Place::External { .. });
                let lead = match kind {
                    AppointmentType::Medo | AppointmentType::Pharmacy => {
                        rng.random_range(0..7 * 24 * 60)
                    }
                    AppointmentType::HospitalOutpatient => {
                        rng.random_range(14 * 24 * 60..90 * 24 * 60)
                    }
                    _ => rng.random_range(3 * 24 * 60..42 * 24 * 60),
                };
                let booked_at = (starts_at - Duration::minutes(lead))
                    .max(stay.began)
                    .min(starts_at - Duration::minutes(10))
                    .min(anchor - Duration::minutes(1));
                let cancelled = chance(
                    &mut rng,
                    if external {
                        CANCELLED_EXTERNAL
                    } else {
                        CANCELLED_INTERNAL
                    },
                );
                let past = starts_at + Duration::minutes(minutes) <= anchor;
                let outcome = if cancelled || !past || chance(&mut rng, NOT_RECORDED) {
                    None
                } else if code == &lockdown.establishment
                    && (lockdown.from..lockdown.until).contains(&starts_at)
                    && chance(
                        &mut rng,
                        if external {
                            LOCKDOWN_EXTERNAL
                        } else {
                            LOCKDOWN_INTERNAL
                        },
                    )
                {
                    Some(WasNotBrought(W::LockdownOrIncident))
                } else if let Some(why) = stay.away_at(starts_at) {
                    Some(WasNotBrought(match why {
                        Away::Court => W::AtCourt,
                        Away::Hospital => W::AtHospital,
                        Away::TemporaryAbsence => W::Other,
                    }))
                } else if external {
                    Some(draw(&mut rng, &EXTERNAL, 10_000))
                } else {
                    Some(draw(&mut rng, &INTERNAL, 10_000))
                };
                let recorded_by = outcome.map(|o| match o {
                    WasNotBrought(_) if chance(&mut rng, WNB_BY_WING) => {
                        format!("{}-wing", code.as_str().to_lowercase())
                    }
                    _ => owner.clone(),
                });
                SynthAppointment {
                    id: format!("synth-appt-{seed}-{index}-{n}"),
                    prison_number: pn.clone(),
                    establishment: code.clone(),
                    appointment_type: kind,
                    starts_at,
                    minutes,
                    place,
                    owner,
                    cancelled,
                    outcome,
                    recorded_by,
                    booked_at,
                }
            })
            .collect()
    }
}

/// A start in `from..until` on a weekday (mostly), in clinic hours; `None`
/// when the draws keep missing a short stay.
fn start_in(
    rng: &mut ChaCha8Rng,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    kind: AppointmentType,
) -> Option<DateTime<Utc>> {
    let (first, last) = match kind {
        AppointmentType::HospitalOutpatient => (8 * 60 + 30, 13 * 60 + 30),
        _ => (
            8 * 60 + 30,
            (16 * 60 + 30 - kind.default_minutes() as u32).max(8 * 60 + 30),
        ),
    };
    let span = (until - from).num_seconds().max(1);
    for _ in 0..4 {
        let mut day = (from + Duration::seconds(rng.random_range(0..span))).date_naive();
        for _ in 0..3 {
            if !is_weekend(day) {
                break;
            }
            day = (from + Duration::seconds(rng.random_range(0..span))).date_naive();
        }
        let slot = first + 5 * rng.random_range(0..=(last - first) / 5);
        let at = midnight(day) + Duration::minutes(i64::from(slot));
        if (from..until).contains(&at) {
            return Some(at);
        }
    }
    None
}

fn place(rng: &mut ChaCha8Rng, code: &str, kind: AppointmentType) -> Place {
    let room = |rng: &mut ChaCha8Rng| Place::Internal {
        room: format!("HCU room {}", rng.random_range(1..=6u32)),
    };
    match kind {
        AppointmentType::HospitalOutpatient => Place::External {
            location: format!("Outpatients, {}", hospital(code, rng)),
        },
        AppointmentType::Mexr if chance(rng, 3_000) => Place::External {
            location: format!("Radiology, {}", hospital(code, rng)),
        },
        AppointmentType::Mexr => Place::Internal {
            room: "HCU x-ray room".into(),
        },
        AppointmentType::Pharmacy if chance(rng, 2_500) => Place::InCell,
        AppointmentType::Pharmacy => Place::Internal {
            room: "HCU pharmacy hatch".into(),
        },
        AppointmentType::Mfv if chance(rng, 4_000) => Place::InCell,
        AppointmentType::Mede => Place::Internal {
            room: "HCU dental suite".into(),
        },
        _ => room(rng),
    }
}

/// Chunks of [`Estate::appointments`].
pub struct AppointmentChunks<'e> {
    estate: &'e Estate,
    lockdown: Lockdown,
    config: AppointmentConfig,
    next_person: usize,
    buffer: Vec<SynthAppointment>,
}

impl Iterator for AppointmentChunks<'_> {
    type Item = Vec<SynthAppointment>;

    fn next(&mut self) -> Option<Self::Item> {
        let chunk = self.config.chunk.max(1);
        while self.buffer.len() < chunk && self.next_person < self.estate.person_count() {
            let rows = self.estate.person_appointments_with(
                self.next_person,
                &self.config,
                &self.lockdown,
            );
            self.buffer.extend(rows);
            self.next_person += 1;
        }
        if self.buffer.is_empty() {
            return None;
        }
        if self.buffer.len() <= chunk {
            return Some(std::mem::take(&mut self.buffer));
        }
        let rest = self.buffer.split_off(chunk);
        Some(std::mem::replace(&mut self.buffer, rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EstateConfig;
    use chrono::Timelike;
    use gatehouse_domain::appointment::Setting;
    use std::collections::{HashMap, HashSet};
    use std::sync::OnceLock;

    fn anchor() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn demo() -> &'static (Estate, Vec<SynthAppointment>) {
        static DEMO: OnceLock<(Estate, Vec<SynthAppointment>)> = OnceLock::new();
        DEMO.get_or_init(|| {
            let estate = Estate::new(EstateConfig::demo(anchor()));
            let rows = estate
                .appointments(AppointmentConfig::demo())
                .flatten()
                .collect();
            (estate, rows)
        })
    }

    fn share(rows: &[&SynthAppointment], f: impl Fn(&SynthAppointment) -> bool) -> f64 {
        rows.iter().filter(|a| f(a)).count() as f64 / rows.len().max(1) as f64
    }

    fn in_lockdown(a: &SynthAppointment, l: &Lockdown) -> bool {
        a.establishment == l.establishment && (l.from..l.until).contains(&a.starts_at)
    }

    #[test]
    fn the_same_config_gives_the_same_rows_in_any_chunking() {
        let small = EstateConfig {
            people: 300,
            ..EstateConfig::demo(anchor())
        };
        let a: Vec<_> = Estate::new(small.clone())
            .appointments(AppointmentConfig::demo())
            .flatten()
            .collect();
        let estate = Estate::new(small);
        let chunks: Vec<_> = estate
            .appointments(AppointmentConfig {
                chunk: 7,
                ..AppointmentConfig::demo()
            })
            .collect();
        assert!(chunks[..chunks.len() - 1].iter().all(|c| c.len() == 7));
        let b: Vec<_> = chunks.into_iter().flatten().collect();
        assert_eq!(a, b);
        let one: Vec<_> = (0..300)
            .flat_map(|p| estate.person_appointments(p, &AppointmentConfig::demo()))
            .collect();
        assert_eq!(a, one);
        let ids: HashSet<_> = a.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), a.len());
        assert!(a[0].id.starts_with("synth-appt-42-0-"), "{}", a[0].id);
    }

    #[test]
    fn volume_is_about_twelve_a_person_year() {
        let (estate, rows) = demo();
        assert!((18_000..26_000).contains(&rows.len()), "{}", rows.len());
        let est = estate.estimated_appointments(&AppointmentConfig::demo()) as f64;
        let n = rows.len() as f64;
        assert!((est - n).abs() / n < 0.05, "estimated {est}, generated {n}");
    }

    #[test]
    fn only_the_estates_own_people_and_prisons() {
        let (estate, rows) = demo();
        let people: HashSet<PrisonNumber> = estate.people().map(|p| p.prison_number).collect();
        let prisons: HashSet<EstablishmentCode> = estate
            .establishments()
            .into_iter()
            .map(|e| e.code)
            .collect();
        for a in rows {
            assert!(people.contains(&a.prison_number), "{}", a.prison_number);
            assert!(prisons.contains(&a.establishment), "{}", a.establishment);
            assert_eq!(
                a.owner,
                format!("{}-health", a.establishment.as_str().to_lowercase())
            );
        }
    }

    /// Where the person's own feed items put them at `t`: the prison of the
    /// last reception, until a transfer out or release.
    fn held_at(items: &[serde_json::Value], t: DateTime<Utc>) -> Option<String> {
        let mut at = None;
        for item in items {
            let when = DateTime::parse_from_rfc3339(item["occurredAt"].as_str().unwrap())
                .unwrap()
                .to_utc();
            if when > t {
                break;
            }
            let m = &item["movement"];
            match m["kind"].as_str() {
                Some("reception") => at = m["establishment"].as_str().map(str::to_owned),
                Some("transfer-out" | "release") => at = None,
                _ => {}
            }
        }
        at
    }

    #[test]
    fn appointments_fall_in_custody_at_the_prison_holding_the_person() {
        let (estate, _) = demo();
        let config = AppointmentConfig::demo();
        let start = anchor() - Duration::days(365);
        let end = anchor() + Duration::days(14);
        for p in (0..estate.person_count()).step_by(5) {
            let items = estate.person_items(p);
            for a in estate.person_appointments(p, &config) {
                assert!((start..end).contains(&a.starts_at), "{a:?}");
                assert_eq!(
                    held_at(&items, a.starts_at).as_deref(),
                    Some(a.establishment.as_str()),
                    "person {p}: {a:?}"
                );
                assert!(
                    a.booked_at <= a.starts_at && a.booked_at < anchor(),
                    "{a:?}"
                );
            }
        }
    }

    #[test]
    fn types_settings_and_times() {
        let (_, rows) = demo();
        let mut by_type: HashMap<AppointmentType, usize> = HashMap::new();
        for a in rows {
            *by_type.entry(a.appointment_type).or_default() += 1;
            let setting = a.place.setting();
            match a.appointment_type {
                AppointmentType::HospitalOutpatient => assert_eq!(setting, Setting::External),
                AppointmentType::Mexr | AppointmentType::Mfv | AppointmentType::Pharmacy => {}
                _ => assert_eq!(setting, Setting::Internal, "{a:?}"),
            }
            if a.appointment_type == AppointmentType::Mfv {
                assert!(a.starts_at.month() >= 10, "{a:?}");
            }
            assert_eq!(a.minutes, a.appointment_type.default_minutes());
            let m = a.starts_at.hour() * 60 + a.starts_at.minute();
            assert!((8 * 60 + 30..=16 * 60 + 30).contains(&m), "{a:?}");
            assert!(m + a.minutes as u32 <= 16 * 60 + 30, "{a:?}");
        }
        assert_eq!(by_type.len(), AppointmentType::ALL.len(), "{by_type:?}");
        let most = by_type.iter().max_by_key(|(_, n)| **n).unwrap().0;
        assert_eq!(*most, AppointmentType::Medo);
        let all: Vec<&SynthAppointment> = rows.iter().collect();
        let weekend = share(&all, |a| is_weekend(a.starts_at.date_naive()));
        assert!(weekend < 0.04, "{weekend}");
        let external = share(&all, |a| a.place.setting() == Setting::External);
        assert!((0.035..0.06).contains(&external), "{external}");
        let in_cell = share(&all, |a| a.place.setting() == Setting::InCell);
        assert!((0.03..0.07).contains(&in_cell), "{in_cell}");
    }

    #[test]
    fn future_appointments_are_booked_without_an_outcome() {
        let (_, rows) = demo();
        let future: Vec<_> = rows.iter().filter(|a| a.starts_at > anchor()).collect();
        assert!(future.len() > 400, "{}", future.len());
        for a in &future {
            assert_eq!(a.outcome, None);
            assert_eq!(a.recorded_by, None);
        }
        for a in rows {
            assert!(!(a.cancelled && a.outcome.is_some()));
            assert_eq!(a.outcome.is_some(), a.recorded_by.is_some());
        }
        let past: Vec<_> = rows
            .iter()
            .filter(|a| a.starts_at < anchor() - Duration::hours(12))
            .collect();
        let not_recorded = share(&past, |a| !a.cancelled && a.outcome.is_none());
        assert!((0.005..0.02).contains(&not_recorded), "{not_recorded}");
    }

    fn recorded(
        rows: &[SynthAppointment],
        f: impl Fn(&SynthAppointment) -> bool,
    ) -> Vec<&SynthAppointment> {
        rows.iter()
            .filter(|a| a.outcome.is_some() && f(a))
            .collect()
    }

    fn is_dna(a: &SynthAppointment) -> bool {
        matches!(a.outcome, Some(DidNotAttend(_)))
    }
    fn is_wnb(a: &SynthAppointment) -> bool {
        matches!(a.outcome, Some(WasNotBrought(_)))
    }

    #[test]
    fn internal_outcomes_keep_dna_and_wnb_apart_at_their_rates() {
        let (estate, rows) = demo();
        let l = estate.lockdown();
        let internal = recorded(rows, |a| {
            a.place.setting() != Setting::External && !in_lockdown(a, &l)
        });
        assert!(internal.len() > 10_000);
        let attended = share(&internal, |a| a.outcome == Some(Attended));
        let dna = share(&internal, is_dna);
        let wnb = share(&internal, is_wnb);
        assert!((0.77..0.83).contains(&attended), "attended {attended}");
        assert!((0.075..0.105).contains(&dna), "dna {dna}");
        assert!((0.065..0.10).contains(&wnb), "wnb {wnb}");
        let dna_reason = |r: DnaReason| share(&internal, |a| a.outcome == Some(DidNotAttend(r)));
        assert!(dna_reason(D::Refused) > dna_reason(D::DeclinedAtDoor));
        assert!(dna_reason(D::DeclinedAtDoor) > dna_reason(D::Unwell));
        assert!(dna_reason(D::Unwell) > dna_reason(D::Other));
        // Recorded by: the wing only for was-not-brought, the owner otherwise.
        for a in &internal {
            let by = a.recorded_by.as_deref().unwrap();
            if !is_wnb(a) {
                assert_eq!(by, a.owner);
            }
        }
        let by_wing = share(
            &internal
                .iter()
                .copied()
                .filter(|a| is_wnb(a))
                .collect::<Vec<_>>(),
            |a| a.recorded_by.as_deref().unwrap().ends_with("-wing"),
        );
        assert!((0.6..0.8).contains(&by_wing), "{by_wing}");
    }

    #[test]
    fn external_appointments_are_missed_about_half_the_time_mostly_not_brought() {
        let (estate, rows) = demo();
        let l = estate.lockdown();
        let external = recorded(rows, |a| {
            a.place.setting() == Setting::External && !in_lockdown(a, &l)
        });
        assert!(external.len() > 500, "{}", external.len());
        let missed = share(&external, |a| is_dna(a) || is_wnb(a));
        assert!((0.4..0.56).contains(&missed), "missed {missed}");
        assert!(share(&external, is_wnb) > 3.0 * share(&external, is_dna));
        let mut reasons: HashMap<WnbReason, usize> = HashMap::new();
        for a in &external {
            if let Some(WasNotBrought(r)) = a.outcome {
                *reasons.entry(r).or_default() += 1;
            }
        }
        let top = reasons.iter().max_by_key(|(_, n)| **n).unwrap().0;
        assert_eq!(*top, W::NoEscortStaff);
        let all_external: Vec<_> = rows
            .iter()
            .filter(|a| a.place.setting() == Setting::External)
            .collect();
        let cancelled = share(&all_external, |a| a.cancelled);
        assert!((0.03..0.08).contains(&cancelled), "{cancelled}");
    }

    #[test]
    fn the_lockdown_month_shows() {
        let (estate, rows) = demo();
        let l = estate.lockdown();
        assert_eq!(l.establishment.as_str(), "MDI");
        assert_eq!(l.from.to_rfc3339(), "2025-11-01T00:00:00+00:00");
        assert_eq!(l.until.to_rfc3339(), "2025-12-01T00:00:00+00:00");
        let lockdown_wnb =
            |a: &SynthAppointment| a.outcome == Some(WasNotBrought(W::LockdownOrIncident));
        let during = recorded(rows, |a| in_lockdown(a, &l));
        let rest_mdi = recorded(rows, |a| {
            a.establishment == l.establishment && !in_lockdown(a, &l)
        });
        let rest_estate = recorded(rows, |a| a.establishment != l.establishment);
        assert!(during.len() > 300, "{}", during.len());
        assert!(share(&during, lockdown_wnb) > 0.35);
        assert_eq!(share(&rest_mdi, lockdown_wnb), 0.0);
        assert_eq!(share(&rest_estate, lockdown_wnb), 0.0);
        let attended = |a: &SynthAppointment| a.outcome == Some(Attended);
        assert!(
            share(&during, attended) < 0.55,
            "{}",
            share(&during, attended)
        );
        assert!(share(&rest_mdi, attended) > 0.7);
    }
}
