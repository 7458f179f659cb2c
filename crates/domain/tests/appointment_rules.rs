//! Property tests of the appointment parsers and the clash rules.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gatehouse_domain::appointment::*;
use gatehouse_domain::attendance::Bucket;
use gatehouse_domain::planned::PlannedMovementKind;
use gatehouse_domain::{EstablishmentCode, MovementKind};
use proptest::prelude::*;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap()
}

fn slot(id: &str, start_min: i64, len: i64, setting: Setting) -> Slot {
    let s = base() + Duration::minutes(start_min);
    Slot {
        id: id.into(),
        establishment: EstablishmentCode::parse("LEI").unwrap(),
        starts_at: s,
        ends_at: s + Duration::minutes(len),
        setting,
    }
}

fn setting() -> impl Strategy<Value = Setting> {
    prop::sample::select(Setting::ALL.to_vec())
}

proptest! {
    /// Any outcome and reason pair either parses to an outcome whose reason is
    /// of its own kind, or is refused naming `outcome` or `reason`.
    #[test]
    fn outcomes_parse_or_name_the_field(kind in "[a-z-]{0,24}", reason in proptest::option::of("[a-z-]{0,24}")) {
        match Outcome::parse(&kind, reason.as_deref()) {
            Ok(o) => {
                prop_assert_eq!(o.kind().as_str(), kind.as_str());
                prop_assert_eq!(o.reason(), reason.as_deref());
                let (k, r) = Bucket::Outcome(o).to_pair();
                prop_assert_eq!(Bucket::from_pair(k, r), Some(Bucket::Outcome(o)));
            }
            Err(e) => prop_assert!(e.field == "outcome" || e.field == "reason"),
        }
    }

    /// Every known pair round-trips.
    #[test]
    fn known_outcomes_round_trip(i in 0usize..DnaReason::ALL.len(), j in 0usize..WnbReason::ALL.len()) {
        let dna = Outcome::DidNotAttend(DnaReason::ALL[i]);
        let wnb = Outcome::WasNotBrought(WnbReason::ALL[j]);
        prop_assert_eq!(Outcome::parse("did-not-attend", dna.reason()).unwrap(), dna);
        prop_assert_eq!(Outcome::parse("was-not-brought", wnb.reason()).unwrap(), wnb);
    }

    /// Two appointments clash exactly when their times overlap, and the clash is symmetric.
    #[test]
    fn clashes_are_overlaps(a_start in 0i64..600, a_len in 5i64..240, b_start in 0i64..600, b_len in 5i64..240, sa in setting(), sb in setting()) {
        let now = base() - Duration::days(1);
        let a = slot("a", a_start, a_len, sa);
        let b = slot("b", b_start, b_len, sb);
        let overlap = a.starts_at < b.ends_at && b.starts_at < a.ends_at;
        let ra = assess(&a, &Facts { others: vec![a.clone(), b.clone()], ..Default::default() }, now);
        let rb = assess(&b, &Facts { others: vec![a.clone(), b.clone()], ..Default::default() }, now);
        prop_assert_eq!(ra.iter().any(|r| r.reason == RiskReason::ClashOtherActivity), overlap);
        prop_assert_eq!(rb.iter().any(|r| r.reason == RiskReason::ClashOtherActivity), overlap);
    }

    /// A court date puts an appointment at risk exactly when it is the same day;
    /// the rules are deterministic and give each risk once.
    #[test]
    fn court_is_a_same_day_rule(start in 0i64..(3 * 1440), court in 0i64..(3 * 1440), s in setting()) {
        let now = base() - Duration::days(1);
        let a = slot("a", start, 30, s);
        let plan = PlanFact { id: "c".into(), kind: PlannedMovementKind::CourtAppearance, at: base() + Duration::minutes(court), destination: None, description: None };
        let facts = Facts { plans: vec![plan.clone(), plan], ..Default::default() };
        let risks = assess(&a, &facts, now);
        let same_day = a.starts_at.date_naive() == (base() + Duration::minutes(court)).date_naive();
        prop_assert_eq!(risks.iter().filter(|r| r.reason == RiskReason::AtCourt).count(), usize::from(same_day));
        prop_assert_eq!(assess(&a, &facts, now), risks);
    }

    /// A departure never records an outcome for an appointment that started before it,
    /// and a court trip never cancels.
    #[test]
    fn departures_touch_only_what_follows(start in 0i64..(3 * 1440), left in 0i64..(3 * 1440), s in setting(), k in 0usize..4) {
        let kind = [MovementKind::CourtOut, MovementKind::TransferOut, MovementKind::Release, MovementKind::HospitalOut][k];
        let a = slot("a", start, 30, s);
        let effect = on_departure(kind, base() + Duration::minutes(left), &a);
        if start < left {
            prop_assert_eq!(effect, DepartureEffect::None);
        }
        if kind == MovementKind::CourtOut {
            prop_assert!(!matches!(effect, DepartureEffect::Cancel(_)));
        }
    }
}

#[test]
fn a_closure_reports_every_broken_rule() {
    let now = base() + Duration::days(3);
    let bad = ClosureInput {
        kind: Some("siege".into()),
        starts_at: Some((base()).to_rfc3339()),
        ends_at: Some((base() - Duration::hours(1)).to_rfc3339()),
        reason: Some("  ".into()),
    };
    let fields: Vec<String> = bad
        .parse(now)
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["kind", "reason", "endsAt", "startsAt"]);
    let good = ClosureInput {
        kind: Some("lockdown".into()),
        starts_at: Some(now.to_rfc3339()),
        ends_at: None,
        reason: Some("incident".into()),
    };
    assert_eq!(good.parse(now).unwrap().kind, ClosureKind::Lockdown);
}
