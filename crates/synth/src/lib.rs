//! A deterministic synthetic prison estate for Gatehouse demos, tests and
//! benchmarks (DESIGN.md §5). **Every person is synthetic**: names are drawn
//! from lists of common names independently of every other field, dates of
//! birth are random, and NHS numbers come only from the range reserved for
//! testing (below). No real person, ever.
//!
//! The estate is a stream of items in Gatehouse's own prison-feed format
//! (`gatehouse.person`, `gatehouse.movement`, `gatehouse.alert`,
//! `gatehouse.planned-movement`; see `gatehouse_domain::feed::native`), each of
//! which parses with `gatehouse_domain::feed::parse_item(&item, anchor)`.
//!
//! ```
//! use gatehouse_synth::{Estate, EstateConfig};
//! let anchor = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc();
//! let estate = Estate::new(EstateConfig { people: 50, ..EstateConfig::demo(anchor) });
//! for item in estate.items().take(3) {
//!     gatehouse_domain::feed::parse_item(&item, anchor).unwrap();
//! }
//! ```
//!
//! # Determinism
//! The same [`EstateConfig`] gives byte-identical items. Each person has their
//! own ChaCha8 generators, keyed from (seed, person index) and split into
//! streams for identity, timeline, alerts and planned movements, so
//! [`Estate::people`] and [`Estate::items`] agree without generating
//! everything, and any one person can be built alone ([`Estate::person`],
//! [`Estate::person_items`]). Items stream person by person (a person's items
//! in `occurredAt` order); nothing is held for the whole estate.
//!
//! # Identifiers
//! - **Item ids**: `synth-<seed>-<person index>-<n>`, stable and unique.
//! - **Prison numbers**: the fixed scenario people ([`scenario`]) keep theirs
//!   (`A1234BC` …); generated people get `G` + 4 digits + 2 letters from a
//!   fixed permutation of their index (the pair `HJ` is never used, so
//!   `G7890HJ` cannot recur); unique for up to 6.75 million people per letter
//!   block, then the blocks `K`, `L`, `M`, … follow.
//! - **NHS numbers**: only from the test range **999 000 0000 – 999 999 9999**
//!   (prefixes beginning 999, which are never issued to patients), with a
//!   valid Modulus 11 check digit (prefixes with check value 10 are skipped).
//!   999 000 000x – 999 000 999x is kept for the scenario people, the rest
//!   for generated people, unique up to about 908,000 people. See [`nhs`].
//! - **Planned movement ids**: `CRT-`, `TRF-`, `REL-` or `HOS-` + prison number + `-1`.
//! - **Alert ids**: UUIDs (version 4 layout) from the person's generator.
//!
//! # Estate
//! Prisons come from `gatehouse_domain::Establishment::catalogue()`, in the
//! order LEI (HMP Leeds), MDI (HMP Moorland), NHI (HMP New Hall, women), then
//! the rest in catalogue order; the children's establishments (Cookham Wood,
//! Werrington, Wetherby) are left out, which leaves exactly the 120 adult
//! prisons. Each prison has a relative size (LEI 1,100, MDI 1,000, NHI 400,
//! others 400–1,500 closed, 250–600 open, 250–550 women's) that weights where
//! people are first received. People received into a women's prison are
//! female (given names from the female list) and only ever move between
//! women's prisons; likewise men. Names are upper case, as NOMIS holds them.
//! Cells are `<prison>-<wing A–F>-<landing 1–4>-<cell 001–040>`.
//!
//! # Rates (per person; "a year" means per year in custody)
//! | what | rate |
//! |---|---|
//! | age at the anchor | 18–80: 18–20 5%, 21–24 10%, 25–29 15%, 30–39 32%, 40–49 20%, 50–59 11%, 60–69 5%, 70–80 2% |
//! | NHS number | 92% on the first person item; 5% only on a later person item (1–30 days after reception); 3% never |
//! | first reception | `NEW_ADMISSION`; 58% before the history window (up to 6 years, never before age 18), 42% during it |
//! | remand | 45% of those received in the last 180 days, 6% of the rest |
//! | release | 12% of those held since before the window, 30% of those received in it; 30% of those released are readmitted (`READMISSION`) at least a week later, to the prison they left |
//! | cell moves | 4 a year |
//! | court trips | 12 a year on remand, 0.8 sentenced; weekdays, out 07:00–09:00, `RETURN_FROM_COURT` 14:00–20:00 the same day |
//! | transfers | 0.6 a year sentenced, 0.25 on remand; weekdays; `TRANSFERRED` reception at the destination 2–6 hours later, into a new cell |
//! | hospital | 0.4 a year (20% emergencies at any hour); 75% back the same day, 25% admitted for 1–6 days; `RETURN_FROM_HOSPITAL` |
//! | temporary absence | eligible: 60% of people first received in open prisons, 3% elsewhere; 40 a year; 70% day release, 30% 1–3 nights |
//! | ACCT | `HA` newly opened in the last 50 days for 3.5% of those in custody; an ACCT in the history of 9% more (`HA` closed after 3–45 days → `HA1` post-closure for 14–120 days → `HA2`), some still open at the anchor: about 4% of people have `HA` active at the anchor |
//! | self-harm | 10%: `HS` 40% (raised at reception), `HC` 35%, `SH` 25%; a quarter of them with a second code; 10% of codes closed later |
//! | health | `MEP` 1.5%, `MAS` 8% (mostly at reception), `PEEP` 2% (10% at 60+), `HID` 2%, `PGWCP` 2% of women under 45 |
//! | risk to staff | 5%: `XVL` 50%, `RSS` 30%, `XSA` 20%; 20% closed later |
//! | other risk to self | `VU` 3% (35% closed later), `OFR` 0.3% (mostly closed within a month) |
//! | not safety codes | `F1` 3% of men 25+, `VLES` 2.5%, `RCON` 5%, `XER` 0.8%, `CSIP` 2%, `OISFL` 1.5% |
//! | planned (only people in prison at the anchor) | court appearance within 14 days: 55% on remand, 4% sentenced; transfer within 21 days: 2.5%; release within 90 days: 5% of the sentenced; hospital escort within 6 weeks: 3% |
//!
//! Alerts are raised at a random time in custody unless said; a closed alert
//! gives a second item for the same alert id (`active: false`, `activeTo`).
//! Planned movements become known 10 minutes to 3 weeks before the anchor
//! (never before the person's latest movement) and are planned for after it.
//! Nothing is later than the anchor: a trip under way at the anchor shows as
//! its out-movement only (the person is at court, in hospital, in transit …).
//!
//! # Size
//! About 12–14 items per person over a 365-day history (about 11–12 of them
//! movements). With the anchor 2026-03-01T12:00:00Z the demo estate (2,000
//! people) gives exactly 24,078 items (2,092 person, 19,832 movement, 1,784
//! alert, 370 planned movement); the national estate (87,000 people) gives
//! 1,209,808 (more temporary absences, from the open prisons), generated
//! and rendered in about 4 s in a release build. DESIGN.md's "~10 million
//! movements and appointments" counts healthcare appointments, which are not
//! prison-feed items: [`appointments`] generates them, for the store's bulk
//! import. [`Estate::estimated_items`]
//! gives the figure for any configuration, within a few per cent.

pub mod appointments;
pub mod names;
pub mod nhs;
pub mod scenario;

mod places;
mod plan;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use gatehouse_domain::{CustodyStatus, Establishment, EstablishmentCode, NhsNumber, PrisonNumber};
use plan::{Body, Depth, Plan};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

pub use names::Sex;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstateConfig {
    pub seed: u64,
    /// How many prisons (1–120), taken in estate order (LEI, MDI, NHI, …).
    pub establishments: usize,
    /// How many people in all, the scenario people included (they come
    /// first, when LEI is in the estate; fewer than 8 people keeps only the first few).
    pub people: usize,
    /// How many days of movement history before the anchor.
    pub history_days: u32,
    /// "Now" for the estate: nothing happens after it; plans are for after it.
    pub anchor: DateTime<Utc>,
}

impl EstateConfig {
    /// The demo estate: LEI, MDI and NHI, 2,000 people, a year of history, seed 42.
    pub fn demo(anchor: DateTime<Utc>) -> Self {
        Self {
            seed: 42,
            establishments: 3,
            people: 2_000,
            history_days: 365,
            anchor,
        }
    }

    /// The national estate: the 120 adult prisons, 87,000 people, a year of history, seed 42.
    pub fn national(anchor: DateTime<Utc>) -> Self {
        Self {
            seed: 42,
            establishments: 120,
            people: 87_000,
            history_days: 365,
            anchor,
        }
    }
}

/// One person of the estate as the items leave them at the anchor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SynthPerson {
    /// Position in the estate (scenario people first).
    pub index: usize,
    pub prison_number: PrisonNumber,
    /// Upper case, as NOMIS holds names.
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    /// The NHS number the feed has given by the anchor, if any.
    pub nhs_number: Option<NhsNumber>,
    /// The prison responsible at the anchor: the one the person is in, or
    /// left for court, hospital, temporary absence, transfer or release.
    pub establishment: EstablishmentCode,
    /// Custody status at the anchor, as derived from the person's movements.
    pub status: CustodyStatus,
    /// The cell, when the latest movement named one (in prison).
    pub cell: Option<String>,
    /// Whether this is one of the fixed [`scenario`] people.
    pub scenario: bool,
}

/// A synthetic estate: prisons and people, generated on demand.
#[derive(Debug, Clone)]
pub struct Estate {
    config: EstateConfig,
    prisons: Vec<places::Prison>,
    /// Cumulative weights over all prisons, for where people are first received.
    home_weights: Vec<u64>,
    /// (prison index, cumulative weight) of the men's and the women's prisons.
    men: Vec<(u16, u64)>,
    women: Vec<(u16, u64)>,
    lei: Option<u16>,
    scenario_count: usize,
    generated: usize,
}

impl Estate {
    pub fn new(config: EstateConfig) -> Self {
        let all = places::adult_prisons();
        let n = config.establishments.clamp(1, all.len());
        let prisons: Vec<places::Prison> = all.into_iter().take(n).collect();
        let mut total = 0;
        let home_weights = prisons
            .iter()
            .map(|p| {
                total += p.weight;
                total
            })
            .collect();
        let group = |women: bool| {
            let mut total = 0;
            prisons
                .iter()
                .enumerate()
                .filter(|(_, p)| p.women == women)
                .map(|(i, p)| {
                    total += p.weight;
                    (i as u16, total)
                })
                .collect::<Vec<_>>()
        };
        let (men, women) = (group(false), group(true));
        let lei = prisons
            .iter()
            .position(|p| p.code() == "LEI")
            .map(|i| i as u16);
        let scenario_count = if lei.is_some() {
            scenario::PEOPLE.len().min(config.people)
        } else {
            0
        };
        let generated = config.people.saturating_sub(scenario_count);
        Self {
            config,
            prisons,
            home_weights,
            men,
            women,
            lei,
            scenario_count,
            generated,
        }
    }

    pub fn config(&self) -> &EstateConfig {
        &self.config
    }

    /// The prisons in use, in estate order.
    pub fn establishments(&self) -> Vec<Establishment> {
        self.prisons
            .iter()
            .map(|p| p.establishment.clone())
            .collect()
    }

    /// How many people the estate holds (scenario people included).
    pub fn person_count(&self) -> usize {
        self.scenario_count + self.generated
    }

    /// Every item, person by person; each person's in `occurredAt` order.
    /// Streams: nothing is built for more than one person at a time.
    pub fn items(&self) -> impl Iterator<Item = Value> + '_ {
        (0..self.person_count()).flat_map(move |p| self.person_items(p))
    }

    /// Every person, as [`Estate::items`] leaves them at the anchor.
    pub fn people(&self) -> impl Iterator<Item = SynthPerson> + '_ {
        (0..self.person_count()).map(move |p| self.person(p))
    }

    /// Person `index` (0-based, scenario people first). Panics past [`Estate::person_count`].
    pub fn person(&self, index: usize) -> SynthPerson {
        self.plan(index, Depth::Person).person
    }

    /// The items of person `index`, in `occurredAt` order.
    pub fn person_items(&self, index: usize) -> Vec<Value> {
        let plan = self.plan(index, Depth::Full);
        self.render(index, &plan)
    }

    /// About how many items [`Estate::items`] yields: exact up to 512
    /// generated people, else extrapolated from an even sample of 512.
    pub fn estimated_items(&self) -> u64 {
        let scenario: u64 = (0..self.scenario_count)
            .map(|p| self.plan(p, Depth::Full).events.len() as u64)
            .sum();
        let generated = self.generated as u64;
        let sample = generated.min(512);
        let counted: u64 = (0..sample)
            .map(|k| {
                let g = k * generated / sample;
                self.generated_plan(g, Depth::Full).events.len() as u64
            })
            .sum();
        scenario + (counted * generated).checked_div(sample).unwrap_or(0)
    }

    fn plan(&self, index: usize, depth: Depth) -> Plan {
        assert!(
            index < self.person_count(),
            "person {index} is not in the estate"
        );
        if index < self.scenario_count {
            self.scenario_plan(index, &scenario::PEOPLE[index])
        } else {
            self.generated_plan((index - self.scenario_count) as u64, depth)
        }
    }

    fn code(&self, est: u16) -> &EstablishmentCode {
        &self.prisons[est as usize].establishment.code
    }

    fn render(&self, index: usize, plan: &Plan) -> Vec<Value> {
        let person = &plan.person;
        let pn = person.prison_number.as_str();
        plan.events
            .iter()
            .enumerate()
            .map(|(k, e)| {
                let (kind, key, body) = match &e.body {
                    Body::Person { nhs } => {
                        let mut p = Map::new();
                        p.insert("givenName".into(), json!(person.given_name));
                        p.insert("familyName".into(), json!(person.family_name));
                        p.insert(
                            "dateOfBirth".into(),
                            json!(person.date_of_birth.format("%Y-%m-%d").to_string()),
                        );
                        if let Some(n) = nhs {
                            p.insert("nhsNumber".into(), json!(n.as_str()));
                        }
                        ("gatehouse.person", "person", Value::Object(p))
                    }
                    Body::Movement {
                        kind,
                        reason,
                        est,
                        dest,
                        cell,
                    } => {
                        let code = self.code(*est);
                        let mut m = Map::new();
                        m.insert("kind".into(), json!(kind.as_str()));
                        m.insert("reason".into(), json!(reason.as_str()));
                        m.insert("establishment".into(), json!(code.as_str()));
                        if let Some(d) = dest {
                            m.insert("destination".into(), json!(self.code(*d).as_str()));
                        }
                        if let Some(c) = cell {
                            m.insert("cell".into(), json!(c.render(code)));
                        }
                        ("gatehouse.movement", "movement", Value::Object(m))
                    }
                    Body::Alert {
                        id,
                        code,
                        active,
                        from,
                        to,
                    } => {
                        let mut a = Map::new();
                        a.insert("id".into(), json!(plan::uuid_text(*id)));
                        a.insert("code".into(), json!(code));
                        a.insert("active".into(), json!(active));
                        a.insert(
                            "activeFrom".into(),
                            json!(from.format("%Y-%m-%d").to_string()),
                        );
                        if let Some(t) = to {
                            a.insert("activeTo".into(), json!(t.format("%Y-%m-%d").to_string()));
                        }
                        ("gatehouse.alert", "alert", Value::Object(a))
                    }
                    Body::Planned {
                        id,
                        kind,
                        est,
                        dest,
                        planned_for,
                        description,
                    } => {
                        let mut p = Map::new();
                        p.insert("id".into(), json!(id));
                        p.insert("kind".into(), json!(kind.as_str()));
                        p.insert("establishment".into(), json!(self.code(*est).as_str()));
                        if let Some(d) = dest {
                            p.insert("destination".into(), json!(self.code(*d).as_str()));
                        }
                        p.insert("plannedFor".into(), json!(timestamp(*planned_for)));
                        p.insert("description".into(), json!(description));
                        (
                            "gatehouse.planned-movement",
                            "plannedMovement",
                            Value::Object(p),
                        )
                    }
                };
                let mut item = Map::new();
                item.insert(
                    "id".into(),
                    json!(format!("synth-{}-{index}-{k}", self.config.seed)),
                );
                item.insert("type".into(), json!(kind));
                item.insert("occurredAt".into(), json!(timestamp(e.at)));
                item.insert("prisonNumber".into(), json!(pn));
                item.insert(key.into(), body);
                Value::Object(item)
            })
            .collect()
    }

    /// The men's or the women's prisons, with cumulative weights.
    pub(crate) fn group(&self, women: bool) -> &[(u16, u64)] {
        if women { &self.women } else { &self.men }
    }

    /// Where a person is first received, weighted by prison size.
    pub(crate) fn pick_home<R: Rng + ?Sized>(&self, rng: &mut R) -> u16 {
        let total = *self.home_weights.last().expect("an estate has a prison");
        let x = rng.random_range(0..total);
        self.home_weights.partition_point(|c| *c <= x) as u16
    }

    /// Another prison of the same group (men's or women's), weighted by size.
    pub(crate) fn pick_other<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        women: bool,
        current: u16,
    ) -> Option<u16> {
        let group = self.group(women);
        if group.len() < 2 {
            return None;
        }
        let total = group.last().expect("not empty").1;
        for _ in 0..16 {
            let x = rng.random_range(0..total);
            let (i, _) = group[group.partition_point(|(_, c)| *c <= x)];
            if i != current {
                return Some(i);
            }
        }
        group.iter().map(|(i, _)| *i).find(|i| *i != current)
    }
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// SplitMix64's finaliser: a good 64-bit mix.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator of one stream of one person: ChaCha8 keyed from (seed, index).
pub(crate) fn person_rng(seed: u64, index: u64, stream: u64) -> ChaCha8Rng {
    let mut state = mix(seed) ^ mix(index.wrapping_mul(0xd6e8_feb8_6659_fd93) ^ 0x5eed);
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        state = mix(state);
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(stream);
    rng
}

/// Letters of the blocks of generated prison numbers, in order.
const BLOCK_LETTERS: &[u8] = b"GKLMNPRSTVWXYZ";
/// Numbers per block: 10,000 digit runs × 675 letter pairs (676 less `HJ`).
const BLOCK: u64 = 10_000 * 675;

/// The prison number of generated person `g`: a fixed permutation of the
/// block (coprime step, offset), so consecutive people look unrelated.
pub(crate) fn prison_number(g: u64) -> PrisonNumber {
    let block = (g / BLOCK) as usize;
    let letter = BLOCK_LETTERS[block.min(BLOCK_LETTERS.len() - 1)];
    let p = ((g % BLOCK) * 1_234_567 + 2_718_281) % BLOCK;
    let digits = p % 10_000;
    let mut pair = p / 10_000;
    const HJ: u64 = 7 * 26 + 9;
    if pair >= HJ {
        pair += 1;
    }
    let raw = format!(
        "{}{digits:04}{}{}",
        char::from(letter),
        char::from(b'A' + (pair / 26) as u8),
        char::from(b'A' + (pair % 26) as u8)
    );
    PrisonNumber::parse(&raw).expect("generated prison numbers are well-formed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prison_numbers_are_unique_and_never_a_scenario_number() {
        let mut seen = std::collections::HashSet::new();
        for g in 0..200_000 {
            let n = prison_number(g);
            assert!(!scenario::is_scenario(n.as_str()), "{n}");
            assert!(seen.insert(n));
        }
        // The permutation step is coprime with the block, so the whole block is covered once.
        fn gcd(a: u64, b: u64) -> u64 {
            if b == 0 { a } else { gcd(b, a % b) }
        }
        assert_eq!(gcd(1_234_567, BLOCK), 1);
    }

    #[test]
    fn uuid_layout() {
        let u = plan::uuid_text(u128::MAX);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
    }
}
