//! Decisions of the shipped templates, and property tests of policy inputs.

use gatehouse_domain::{EstablishmentCode, OrgType, Scope};
use gatehouse_policy::templates::template;
use gatehouse_policy::*;
use proptest::prelude::*;

fn principal(tpl: &str, scope: &str, staff: Option<&str>) -> Principal {
    let t = template(tpl).unwrap();
    Principal {
        consumer: format!("{tpl}-consumer"),
        org_type: t.org_type,
        scope: Scope::parse(scope).unwrap(),
        on_behalf_of: staff.map(str::to_owned),
        agreement: Agreement::template(tpl).unwrap(),
    }
}

fn person(est: &str) -> Resource {
    Resource::person(Some(EstablishmentCode::parse(est).unwrap()))
}

fn decide(
    p: &Principal,
    action: Action,
    r: &Resource,
    purpose: Purpose,
    break_glass: bool,
) -> Decision {
    CedarAuthorizer::new().decide(&Request {
        principal: p,
        action,
        resource: r,
        purpose,
        break_glass,
    })
}

#[test]
fn scope_hides_people_elsewhere_and_agreements_limit_actions() {
    let wing = principal("prison-wing", "LEI", None);
    assert!(
        decide(
            &wing,
            Action::ReadPerson,
            &person("LEI"),
            Purpose::Safety,
            false
        )
        .is_permit()
    );
    assert!(matches!(
        decide(
            &wing,
            Action::ReadPerson,
            &person("MDI"),
            Purpose::Safety,
            false
        ),
        Decision::Hidden { .. }
    ));
    assert!(matches!(
        decide(
            &wing,
            Action::ReadIdentity,
            &person("LEI"),
            Purpose::Safety,
            false
        ),
        Decision::Deny { .. }
    ));
    assert!(matches!(
        decide(
            &wing,
            Action::ReadPerson,
            &person("LEI"),
            Purpose::DirectCare,
            false
        ),
        Decision::Deny { .. }
    ));
    assert!(matches!(
        decide(
            &wing,
            Action::WriteFeed,
            &Resource::System("feed"),
            Purpose::Operations,
            false
        ),
        Decision::Deny { .. }
    ));
    let feed = principal("prison-feed", "*", None);
    let d = decide(
        &feed,
        Action::WriteFeed,
        &Resource::System("feed"),
        Purpose::Operations,
        false,
    );
    assert_eq!(
        d,
        Decision::Permit {
            policies: vec!["prison-feed/feed-write".into()]
        }
    );
}

#[test]
fn break_glass_opens_an_out_of_scope_patient_only_for_a_named_clinician_in_an_emergency() {
    let nurse = principal("prison-healthcare", "MDI", Some("nurse-7"));
    let anon = principal("prison-healthcare", "MDI", None);
    let lei = person("LEI");
    assert!(matches!(
        decide(&nurse, Action::ReadPerson, &lei, Purpose::DirectCare, false),
        Decision::Hidden { .. }
    ));
    assert!(decide(&nurse, Action::ReadPerson, &lei, Purpose::Emergency, true).is_permit());
    assert!(
        !decide(&nurse, Action::ReadPerson, &lei, Purpose::DirectCare, true).is_permit(),
        "break-glass is for emergencies"
    );
    assert!(
        !decide(&anon, Action::ReadPerson, &lei, Purpose::Emergency, true).is_permit(),
        "break-glass needs a named person"
    );
    assert!(
        decide(
            &nurse,
            Action::BreakGlass,
            &Resource::System("break-glass"),
            Purpose::Emergency,
            true
        )
        .is_permit()
    );
    let wing = principal("prison-wing", "LEI", Some("officer-1"));
    assert!(
        !decide(
            &wing,
            Action::BreakGlass,
            &Resource::System("break-glass"),
            Purpose::Emergency,
            true
        )
        .is_permit()
    );
    assert!(matches!(
        decide(
            &wing,
            Action::ReadPerson,
            &person("MDI"),
            Purpose::Emergency,
            true
        ),
        Decision::Hidden { .. }
    ));
}

#[test]
fn condition_wording_needs_consent_and_the_right_audience() {
    let wing = principal("prison-wing", "LEI", None);
    let notice = |level: &str, consent: bool, audience: &[&str]| {
        Resource::Notice(NoticeFacts {
            establishment: Some(EstablishmentCode::parse("LEI").unwrap()),
            disclosure_level: level.into(),
            consent_recorded: consent,
            audience: audience.iter().map(|s| s.to_string()).collect(),
        })
    };
    assert!(
        decide(
            &wing,
            Action::ReadNoticeInstruction,
            &notice("instruction-only", false, &["wing"]),
            Purpose::Safety,
            false
        )
        .is_permit()
    );
    assert!(
        !decide(
            &wing,
            Action::ReadNoticeInstruction,
            &notice("instruction-only", false, &["escort"]),
            Purpose::Safety,
            false
        )
        .is_permit()
    );
    assert!(
        decide(
            &wing,
            Action::ReadNoticeCondition,
            &notice("with-condition", true, &["wing"]),
            Purpose::Safety,
            false
        )
        .is_permit()
    );
    assert!(
        !decide(
            &wing,
            Action::ReadNoticeCondition,
            &notice("with-condition", false, &["wing"]),
            Purpose::Safety,
            false
        )
        .is_permit()
    );
    assert!(
        !decide(
            &wing,
            Action::ReadNoticeClinical,
            &notice("with-condition", true, &["wing"]),
            Purpose::Safety,
            false
        )
        .is_permit()
    );
    let health = principal("prison-healthcare", "LEI", None);
    assert!(
        decide(
            &health,
            Action::ReadNoticeClinical,
            &notice("instruction-only", false, &["wing"]),
            Purpose::DirectCare,
            false
        )
        .is_permit()
    );
}

#[test]
fn a_changed_agreement_takes_effect_without_restart() {
    let authorizer = CedarAuthorizer::new();
    let mut p = principal("prison-wing", "LEI", None);
    let r = person("LEI");
    let ask = |p: &Principal| {
        authorizer.decide(&Request {
            principal: p,
            action: Action::ReadMovements,
            resource: &r,
            purpose: Purpose::Safety,
            break_glass: false,
        })
    };
    assert!(ask(&p).is_permit());
    let narrowed = template("prison-wing")
        .unwrap()
        .text
        .replace("Gatehouse::Action::\"read-movements\",", "");
    p.agreement = Agreement::new("prison-wing", &narrowed);
    assert!(
        !ask(&p).is_permit(),
        "the same authorizer applies the new agreement at once"
    );
}

fn arb_scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        Just(Scope::All),
        proptest::sample::subsequence(vec!["LEI", "MDI", "WMI"], 1..3)
            .prop_map(|v| Scope::parse(&v.join(",")).unwrap())
    ]
}

/// One authorizer for every case of the property below, so its memo fills up
/// with earlier cases' answers.
static SHARED: std::sync::LazyLock<CedarAuthorizer> =
    std::sync::LazyLock::new(CedarAuthorizer::new);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A remembered answer is the answer: an authorizer that has answered many
    /// other questions (and this one before) decides exactly as a fresh one.
    #[test]
    fn a_remembered_decision_equals_a_fresh_one(
        tpl in proptest::sample::select(vec!["prison-wing", "prison-healthcare", "escort-contractor", "information-governance", "prison-feed"]),
        scope in arb_scope(),
        est in proptest::option::of(proptest::sample::select(vec!["LEI", "MDI", "WMI", "BWI"])),
        incoming in proptest::option::of(proptest::sample::select(vec!["LEI", "MDI"])),
        action in proptest::sample::select(Action::ALL.to_vec()),
        purpose in proptest::sample::select(Purpose::ALL.to_vec()),
        break_glass in any::<bool>(),
        staff in proptest::option::of("[a-z]{1,8}"),
        consent in any::<bool>(),
        level in proptest::sample::select(vec!["instruction-only", "with-condition"]),
    ) {
        let t = template(tpl).unwrap();
        let p = Principal { consumer: format!("{tpl}-c"), org_type: t.org_type, scope, on_behalf_of: staff, agreement: Agreement::template(tpl).unwrap() };
        let code = est.map(|e| EstablishmentCode::parse(e).unwrap());
        let resource = match action.applies_to() {
            gatehouse_policy::action::Applies::Person => Resource::Person { establishment: code, custody: None, incoming: incoming.map(|e| EstablishmentCode::parse(e).unwrap()) },
            gatehouse_policy::action::Applies::Notice => Resource::Notice(NoticeFacts { establishment: code, disclosure_level: level.into(), consent_recorded: consent, audience: vec!["all-staff".into()] }),
            gatehouse_policy::action::Applies::System => Resource::System("feed"),
        };
        let request = Request { principal: &p, action, resource: &resource, purpose, break_glass };
        let fresh = CedarAuthorizer::new().decide(&request);
        prop_assert_eq!(&SHARED.decide(&request), &fresh);
        prop_assert_eq!(&SHARED.decide(&request), &fresh, "asked again");
        prop_assert!(SHARED.remembered() > 0);
    }

    /// Whatever the inputs, a decision is made (never a panic), a person
    /// outside scope without break-glass is hidden, and only health consumers
    /// ever see clinical detail.
    #[test]
    fn decisions_hold_their_invariants(
        tpl in proptest::sample::select(vec!["prison-wing", "prison-healthcare", "escort-contractor", "information-governance", "prison-feed"]),
        scope in arb_scope(),
        est in proptest::option::of(proptest::sample::select(vec!["LEI", "MDI", "WMI", "BWI"])),
        action in proptest::sample::select(Action::ALL.to_vec()),
        purpose in proptest::sample::select(Purpose::ALL.to_vec()),
        break_glass in any::<bool>(),
        staff in proptest::option::of("[a-z]{1,8}"),
        consumer in "\\PC{0,20}",
    ) {
        let t = template(tpl).unwrap();
        let p = Principal { consumer, org_type: t.org_type, scope: scope.clone(), on_behalf_of: staff, agreement: Agreement::template(tpl).unwrap() };
        let code = est.map(|e| EstablishmentCode::parse(e).unwrap());
        let resource = match action.applies_to() {
            gatehouse_policy::action::Applies::Person => Resource::person(code.clone()),
            gatehouse_policy::action::Applies::Notice => Resource::Notice(NoticeFacts { establishment: code.clone(), disclosure_level: "with-condition".into(), consent_recorded: true, audience: vec!["all-staff".into()] }),
            gatehouse_policy::action::Applies::System => Resource::System("feed"),
        };
        let d = CedarAuthorizer::new().decide(&Request { principal: &p, action, resource: &resource, purpose, break_glass });
        let in_scope = match &code { Some(c) => scope.covers(c), None => scope == Scope::All };
        if matches!(resource, Resource::Person { .. }) && !in_scope && !break_glass {
            prop_assert!(matches!(d, Decision::Hidden { .. }), "{d:?}");
        }
        if action == Action::ReadNoticeClinical && d.is_permit() {
            prop_assert_eq!(t.org_type, OrgType::Health);
        }
        if d.is_permit() {
            prop_assert!(!d.policies().is_empty(), "a permit names its policies");
        }
    }
}
