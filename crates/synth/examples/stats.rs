//! Prints what an estate holds: item counts by type, movements by kind and
//! reason, alert prevalence, custody status at the anchor.
//!
//! `cargo run -p gatehouse-synth --example stats [--release] -- [demo|national] [anchor]`

use gatehouse_synth::{Estate, EstateConfig};
use std::collections::{BTreeMap, HashMap, HashSet};

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "demo".into());
    let anchor = args
        .next()
        .map(|a| {
            chrono::DateTime::parse_from_rfc3339(&a)
                .expect("an RFC 3339 anchor")
                .to_utc()
        })
        .unwrap_or_else(|| "2026-03-01T12:00:00Z".parse().unwrap());
    let config = match which.as_str() {
        "national" => EstateConfig::national(anchor),
        _ => EstateConfig::demo(anchor),
    };
    let estate = Estate::new(config);
    let started = std::time::Instant::now();
    println!("estimated items: {}", estate.estimated_items());
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut moves: BTreeMap<String, u64> = BTreeMap::new();
    let mut planned: BTreeMap<String, u64> = BTreeMap::new();
    // alert id -> (code, person, active at the end)
    let mut alerts: HashMap<String, (String, String, bool)> = HashMap::new();
    let mut total = 0u64;
    for v in estate.items() {
        total += 1;
        let t = v["type"].as_str().unwrap().to_owned();
        match t.as_str() {
            "gatehouse.movement" => {
                let m = &v["movement"];
                *moves
                    .entry(format!(
                        "{} {}",
                        m["kind"].as_str().unwrap(),
                        m["reason"].as_str().unwrap()
                    ))
                    .or_default() += 1;
            }
            "gatehouse.alert" => {
                let a = &v["alert"];
                alerts.insert(
                    a["id"].as_str().unwrap().to_owned(),
                    (
                        a["code"].as_str().unwrap().to_owned(),
                        v["prisonNumber"].as_str().unwrap().to_owned(),
                        a["active"].as_bool().unwrap(),
                    ),
                );
            }
            "gatehouse.planned-movement" => {
                *planned
                    .entry(v["plannedMovement"]["kind"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
            _ => {}
        }
        *by_type.entry(t).or_default() += 1;
    }
    let people = estate.person_count() as f64;
    println!(
        "items: {total} in {:.1?} ({:.1} per person)",
        started.elapsed(),
        total as f64 / people
    );
    for (t, n) in &by_type {
        println!("  {t}: {n}");
    }
    println!("movements:");
    for (m, n) in &moves {
        println!("  {m}: {n} ({:.2} per person)", *n as f64 / people);
    }
    println!("planned movements:");
    for (k, n) in &planned {
        println!("  {k}: {n}");
    }
    let mut status: BTreeMap<&str, u64> = BTreeMap::new();
    let mut no_nhs = 0;
    for p in estate.people() {
        *status.entry(p.status.as_str()).or_default() += 1;
        no_nhs += u64::from(p.nhs_number.is_none());
    }
    println!("status at the anchor:");
    for (s, n) in &status {
        println!("  {s}: {n} ({:.1}%)", *n as f64 * 100.0 / people);
    }
    println!(
        "no NHS number at the anchor: {no_nhs} ({:.1}%)",
        no_nhs as f64 * 100.0 / people
    );
    let mut ever: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    let mut active: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for (code, person, is_active) in alerts.values() {
        ever.entry(code.clone()).or_default().insert(person.clone());
        if *is_active {
            active
                .entry(code.clone())
                .or_default()
                .insert(person.clone());
        }
    }
    println!("alerts (people with the code ever / active at the anchor):");
    for (code, who) in &ever {
        let a = active.get(code).map_or(0, HashSet::len);
        println!(
            "  {code}: {:.1}% / {:.1}%",
            who.len() as f64 * 100.0 / people,
            a as f64 * 100.0 / people
        );
    }
}
