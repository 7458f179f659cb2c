use chrono::{DateTime, TimeZone, Utc};
use gatehouse_domain::feed::{FeedCommand, parse_item};
use gatehouse_domain::{CustodyState, CustodyStatus, Movement, NhsNumber};
use gatehouse_synth::{Estate, EstateConfig, nhs, scenario};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn demo() -> Estate {
    Estate::new(EstateConfig::demo(anchor()))
}

#[test]
fn every_demo_item_parses_has_a_unique_id_and_is_not_in_the_future() {
    let estate = demo();
    let now = anchor();
    let mut ids = HashSet::new();
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_at: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut movements: HashMap<String, Vec<Movement>> = HashMap::new();
    let mut planned_ids = HashSet::new();
    for v in estate.items() {
        let item = parse_item(&v, now).unwrap_or_else(|e| panic!("{v}: {}", e.error));
        assert!(
            ids.insert(item.event_id.as_str().to_owned()),
            "duplicate id {v}"
        );
        assert!(item.event_id.as_str().starts_with("synth-42-"));
        assert!(item.occurred_at <= now, "{v}");
        let pn = item.prison_number.as_str().to_owned();
        let prev = last_at.insert(pn.clone(), item.occurred_at);
        assert!(
            prev.is_none_or(|p| p <= item.occurred_at),
            "out of order: {v}"
        );
        *by_type.entry(item.event_type.clone()).or_default() += 1;
        match item.command {
            FeedCommand::RecordMovement(m) => {
                if let Some(c) = &m.cell {
                    assert_eq!(c.establishment(), m.establishment);
                    assert!(("A"..="F").contains(&c.wing()), "{v}");
                    assert!(("1"..="4").contains(&c.landing()), "{v}");
                    let n: u32 = c.cell().parse().unwrap();
                    assert!((1..=40).contains(&n) && c.cell().len() == 3, "{v}");
                }
                movements.entry(pn).or_default().push(m);
            }
            FeedCommand::UpsertPlanned(p) => {
                assert!(p.planned_for > now, "{v}");
                assert!(planned_ids.insert(p.id.clone()), "duplicate plan {v}");
            }
            FeedCommand::UpsertPerson { details, .. } => {
                let dob = details
                    .expect("synthetic person items carry details")
                    .date_of_birth;
                let age = now.date_naive().years_since(dob).unwrap();
                assert!((18..=80).contains(&age), "{v}");
            }
            _ => {}
        }
    }
    for t in [
        "gatehouse.person",
        "gatehouse.movement",
        "gatehouse.alert",
        "gatehouse.planned-movement",
    ] {
        assert!(
            by_type.get(t).copied().unwrap_or(0) > 0,
            "no {t}: {by_type:?}"
        );
    }
    eprintln!("demo: {} items {by_type:?}", ids.len());
    // people() agrees with what the items derive.
    let people: Vec<_> = estate.people().collect();
    assert_eq!(people.len(), movements.len());
    for p in &people {
        let state = CustodyState::derive(&movements[p.prison_number.as_str()]).unwrap();
        assert_eq!(state.status, p.status, "{}", p.prison_number);
        assert_eq!(state.establishment, p.establishment, "{}", p.prison_number);
        assert_eq!(
            state.cell.map(|c| c.as_str().to_owned()),
            p.cell,
            "{}",
            p.prison_number
        );
    }
}

#[test]
fn same_seed_same_items_other_seed_other_items() {
    let a: Vec<Value> = demo().items().take(10_000).collect();
    let b: Vec<Value> = demo().items().take(10_000).collect();
    assert_eq!(a.len(), 10_000);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let other = Estate::new(EstateConfig {
        seed: 7,
        ..EstateConfig::demo(anchor())
    });
    let c: Vec<Value> = other.items().take(10_000).collect();
    let strip = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("id");
        v
    };
    let differing = a
        .iter()
        .zip(&c)
        .filter(|(x, y)| strip(x) != strip(y))
        .count();
    assert!(differing > 5_000, "only {differing} differ");
}

#[test]
fn people_have_unique_prison_numbers_and_test_range_nhs_numbers() {
    let estate = demo();
    let people: Vec<_> = estate.people().collect();
    assert_eq!(people.len(), 2_000);
    let prison_numbers: HashSet<_> = people.iter().map(|p| p.prison_number.clone()).collect();
    assert_eq!(prison_numbers.len(), people.len());
    let mut nhs_numbers = HashSet::new();
    let mut without = 0;
    for p in &people {
        match &p.nhs_number {
            Some(n) => {
                assert!(nhs::is_test_number(n), "{n}");
                assert_eq!(&NhsNumber::parse(n.as_str()).unwrap(), n);
                assert!(nhs_numbers.insert(n.clone()), "duplicate {n}");
            }
            None => without += 1,
        }
        let pn = p.prison_number.as_str().as_bytes();
        assert!(pn[0].is_ascii_uppercase() && pn[1..5].iter().all(u8::is_ascii_digit));
    }
    // About 3% never have one (plus the two scenario people, and a few whose is still to come).
    assert!(
        (30..=110).contains(&without),
        "{without} without an NHS number"
    );
    // Women are held only in the women's prison.
    for p in &people {
        assert_eq!(
            p.sex == gatehouse_synth::Sex::Female,
            p.establishment.as_str() == "NHI",
            "{p:?}"
        );
    }
    // Most are in custody; some released, a few out at court or hospital.
    let in_prison = people
        .iter()
        .filter(|p| p.status == CustodyStatus::InPrison)
        .count();
    let released = people
        .iter()
        .filter(|p| p.status == CustodyStatus::Released)
        .count();
    assert!(
        in_prison > 1_500 && released > 100 && released < 500,
        "{in_prison} {released}"
    );
}

#[test]
fn scenario_people_are_at_leeds_as_described() {
    let estate = demo();
    let people: Vec<_> = estate.people().take(scenario::PEOPLE.len()).collect();
    for (s, p) in scenario::PEOPLE.iter().zip(&people) {
        assert!(p.scenario);
        assert_eq!(p.prison_number.as_str(), s.prison_number);
        assert_eq!(p.establishment.as_str(), "LEI");
        assert_eq!(p.status, CustodyStatus::InPrison);
        assert_eq!(p.cell.as_deref(), Some(s.cell));
        assert_eq!(p.nhs_number.is_some(), s.has_nhs_number);
    }
    let e = scenario::find("E5678FG").unwrap();
    assert_eq!(e.cell, "LEI-A-2-014");
    let h = &people[7];
    assert_eq!(
        (h.given_name.as_str(), h.family_name.as_str()),
        ("JONATHAN", "SMITH")
    );
    assert_eq!(h.date_of_birth.to_string(), "1985-04-03");
    assert!(h.nhs_number.is_none());
    assert!(people[5].nhs_number.is_none()); // F6789GH

    let alerts = |index: usize| -> Vec<(String, bool)> {
        estate
            .person_items(index)
            .iter()
            .filter(|v| v["type"] == "gatehouse.alert")
            .map(|v| {
                (
                    v["alert"]["code"].as_str().unwrap().to_owned(),
                    v["alert"]["active"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(alerts(0), vec![("HA".to_owned(), true)]);
    let g = alerts(6);
    assert!(g.contains(&("HA".to_owned(), true)) && g.contains(&("HS".to_owned(), true)));
    for index in 0..scenario::PEOPLE.len() {
        let items = estate.person_items(index);
        assert_eq!(items[0]["type"], "gatehouse.person");
        assert_eq!(items[1]["movement"]["reason"], "NEW_ADMISSION");
    }
    // No generated person shares a scenario NHS number.
    let scenario_nhs: HashSet<_> = scenario::PEOPLE
        .iter()
        .filter_map(|s| s.nhs_number())
        .collect();
    assert_eq!(scenario_nhs.len(), 6);
    assert!(
        estate
            .people()
            .skip(8)
            .all(|p| p.nhs_number.is_none_or(|n| !scenario_nhs.contains(&n)))
    );
}

#[test]
fn national_estate_has_120_prisons_and_millions_of_items() {
    let estate = Estate::new(EstateConfig::national(anchor()));
    let prisons = estate.establishments();
    assert_eq!(prisons.len(), 120);
    assert_eq!(prisons[0].code.as_str(), "LEI");
    assert_eq!(prisons[1].code.as_str(), "MDI");
    let codes: HashSet<_> = prisons.iter().map(|p| p.code.clone()).collect();
    assert_eq!(codes.len(), 120);
    assert_eq!(estate.person_count(), 87_000);
    let estimate = estate.estimated_items();
    eprintln!("national estimate: {estimate}");
    assert!(estimate >= 1_000_000, "{estimate}");
    let now = anchor();
    let mut seen = HashSet::new();
    for v in estate.items().take(5_000) {
        let item = parse_item(&v, now).unwrap_or_else(|e| panic!("{v}: {}", e.error));
        assert!(seen.insert(item.event_id));
    }
}

#[test]
fn estimate_is_close_for_the_demo() {
    let estate = Estate::new(EstateConfig {
        people: 400,
        ..EstateConfig::demo(anchor())
    });
    let exact = estate.items().count() as u64;
    assert_eq!(estate.estimated_items(), exact);
}

#[test]
fn odd_configurations_still_give_valid_items() {
    let anchors = [
        Utc.with_ymd_and_hms(2024, 2, 29, 0, 10, 0).unwrap(), // leap day, just after midnight
        Utc.with_ymd_and_hms(2026, 3, 4, 10, 0, 0).unwrap(), // a Wednesday morning: people at court
        Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap()
            + chrono::Duration::nanoseconds(500_000_000),
    ];
    let configs = |anchor| {
        [
            EstateConfig {
                people: 300,
                ..EstateConfig::demo(anchor)
            },
            EstateConfig {
                people: 5,
                ..EstateConfig::demo(anchor)
            },
            EstateConfig {
                people: 0,
                ..EstateConfig::demo(anchor)
            },
            EstateConfig {
                establishments: 1,
                people: 200,
                ..EstateConfig::demo(anchor)
            },
            EstateConfig {
                establishments: 0,
                people: 50,
                history_days: 0,
                ..EstateConfig::demo(anchor)
            },
            EstateConfig {
                establishments: 500,
                people: 300,
                history_days: 30,
                seed: 9,
                ..EstateConfig::demo(anchor)
            },
            EstateConfig {
                establishments: 120,
                people: 300,
                history_days: 3_650,
                ..EstateConfig::demo(anchor)
            },
        ]
    };
    let mut statuses = HashSet::new();
    for anchor in anchors {
        for config in configs(anchor) {
            let estate = Estate::new(config.clone());
            let mut n = 0;
            for v in estate.items() {
                parse_item(&v, anchor).unwrap_or_else(|e| panic!("{config:?} {v}: {}", e.error));
                n += 1;
            }
            assert_eq!(estate.people().count(), config.people);
            assert!(n >= config.people, "{config:?}");
            statuses.extend(estate.people().map(|p| p.status));
        }
    }
    assert!(statuses.contains(&CustodyStatus::AtCourt), "{statuses:?}");
}
