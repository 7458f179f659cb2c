use super::*;
use chrono::TimeZone;
use serde_json::json;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn received() -> Value {
    json!({
        "eventType": "prisoner-offender-search.prisoner.received",
        "version": 1,
        "description": "A prisoner has been received into a prison with reason: admission on new charges",
        "detailUrl": "https://prisoner-search.example/prisoner/A1234BC",
        "occurredAt": "2026-03-01T09:52:18.8241261+01:00",
        "additionalInformation": {"nomsNumber": "A1234BC", "prisonId": "LEI", "reason": "NEW_ADMISSION"},
        "personReference": {"identifiers": [{"type": "NOMS", "value": "A1234BC"}]}
    })
}

#[test]
fn hmpps_received_becomes_a_reception() {
    let item = parse_item(&received(), now()).unwrap();
    assert_eq!(item.source, FeedSource::Hmpps);
    assert_eq!(item.prison_number.as_str(), "A1234BC");
    assert!(item.event_id.as_str().starts_with("sha256:"));
    match item.command {
        FeedCommand::RecordMovement(m) => {
            assert_eq!(m.kind, crate::MovementKind::Reception);
            assert_eq!(m.establishment.as_str(), "LEI");
            assert_eq!(
                m.occurred_at,
                Utc.with_ymd_and_hms(2026, 3, 1, 8, 52, 18).unwrap()
                    + chrono::Duration::nanoseconds(824_126_100)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn content_hash_ignores_key_order() {
    let a = received();
    let b: Value = serde_json::from_str(&serde_json::to_string_pretty(&a).unwrap()).unwrap();
    assert_eq!(
        parse_item(&a, now()).unwrap().event_id,
        parse_item(&b, now()).unwrap().event_id
    );
}

#[test]
fn released_reasons_map_to_movement_kinds() {
    for (reason, kind) in [
        ("TRANSFERRED", crate::MovementKind::TransferOut),
        ("SENT_TO_COURT", crate::MovementKind::CourtOut),
        ("RELEASED_TO_HOSPITAL", crate::MovementKind::HospitalOut),
        (
            "TEMPORARY_ABSENCE_RELEASE",
            crate::MovementKind::TemporaryAbsenceOut,
        ),
        ("RELEASED", crate::MovementKind::Release),
    ] {
        let mut v = received();
        v["eventType"] = json!("prisoner-offender-search.prisoner.released");
        v["additionalInformation"]["reason"] = json!(reason);
        match parse_item(&v, now()).unwrap().command {
            FeedCommand::RecordMovement(m) => assert_eq!(m.kind, kind),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn alert_events() {
    let v = json!({
        "eventType": "person.alert.created", "version": 1, "occurredAt": "2026-03-01T10:00:00Z",
        "additionalInformation": {"alertUuid": "6a0783ee-024e-4201-8e1f-3ead5fd2492a", "alertCode": "HA", "source": "DPS"},
        "personReference": {"identifiers": [{"type": "NOMS", "value": "A1234BC"}]}
    });
    match parse_item(&v, now()).unwrap().command {
        FeedCommand::UpsertAlert(a) => {
            assert!(a.active);
            assert_eq!(a.code.as_str(), "HA");
        }
        other => panic!("{other:?}"),
    }
    let v = json!({
        "eventType": "prisoner-offender-search.prisoner.alerts-updated", "version": 1, "occurredAt": "2026-03-01T10:00:00Z",
        "additionalInformation": {"nomsNumber": "A1234BC", "bookingId": 1, "alertsAdded": ["HA"], "alertsRemoved": ["MEP"]},
        "personReference": {"identifiers": [{"type": "NOMS", "value": "A1234BC"}]}
    });
    assert!(matches!(
        parse_item(&v, now()).unwrap().command,
        FeedCommand::AlertsChanged { .. }
    ));
}

#[test]
fn errors_name_the_field() {
    let cases: Vec<(Value, &str)> = vec![
        (json!([]), "(item)"),
        (json!({"version": 1}), "eventType"),
        (
            json!({"eventType": "nope.nope", "version": 1, "occurredAt": "2026-03-01T10:00:00Z"}),
            "eventType",
        ),
        (
            {
                let mut v = received();
                v["occurredAt"] = json!("yesterday");
                v
            },
            "occurredAt",
        ),
        (
            {
                let mut v = received();
                v["occurredAt"] = json!("2027-01-01T00:00:00Z");
                v
            },
            "occurredAt",
        ),
        (
            {
                let mut v = received();
                v["version"] = json!(2);
                v
            },
            "version",
        ),
        (
            {
                let mut v = received();
                v["additionalInformation"]["prisonId"] = json!("leeds");
                v
            },
            "additionalInformation.prisonId",
        ),
        (
            {
                let mut v = received();
                v["additionalInformation"]["reason"] = json!("SENT_TO_COURT");
                v
            },
            "additionalInformation.reason",
        ),
        (
            {
                let mut v = received();
                v["personReference"]["identifiers"][0]["value"] = json!("B2345CD");
                v
            },
            "personReference",
        ),
        (
            {
                let mut v = received();
                v["additionalInformation"]["nomsNumber"] = json!("XX");
                v["personReference"] = Value::Null;
                v
            },
            "additionalInformation.prisonNumber",
        ),
        (
            json!({"type": "gatehouse.person", "occurredAt": "2026-03-01T10:00:00Z", "prisonNumber": "A1234BC", "person": {"nhsNumber": "9434765918"}}),
            "person.nhsNumber",
        ),
        (
            json!({"type": "gatehouse.movement", "occurredAt": "2026-03-01T10:00:00Z", "prisonNumber": "A1234BC", "movement": {"kind": "cell-move", "establishment": "LEI"}}),
            "movement.cell",
        ),
        (
            json!({"type": "gatehouse.alert", "occurredAt": "2026-03-01T10:00:00Z", "prisonNumber": "A1234BC", "alert": {"code": "ZZZZ", "active": true}}),
            "alert.code",
        ),
        (
            json!({"type": "gatehouse.planned-movement", "occurredAt": "2026-03-01T10:00:00Z", "prisonNumber": "A1234BC", "plannedMovement": {"id": "T1", "kind": "transfer", "establishment": "LEI", "plannedFor": "2026-03-06T09:00:00Z"}}),
            "plannedMovement.destination",
        ),
    ];
    for (v, field) in cases {
        let e = parse_item(&v, now()).unwrap_err();
        assert_eq!(e.error.field, field, "{v}: {}", e.error);
    }
}

#[test]
fn native_items_parse() {
    let items = [
        json!({"id": "p1", "type": "gatehouse.person", "occurredAt": "2026-03-01T09:00:00Z", "prisonNumber": "A1234BC",
               "person": {"givenName": "Jon", "familyName": "Smyth", "dateOfBirth": "1985-03-04", "nhsNumber": "943 476 5919"}}),
        json!({"id": "m1", "type": "gatehouse.movement", "occurredAt": "2026-03-01T09:00:00Z", "prisonNumber": "A1234BC",
               "movement": {"kind": "reception", "reason": "NEW_ADMISSION", "establishment": "LEI", "cell": "LEI-A-2-014"}}),
        json!({"id": "m2", "type": "gatehouse.movement", "occurredAt": "2026-03-01T09:00:00Z", "prisonNumber": "A1234BC",
               "movement": {"kind": "transfer-out", "establishment": "LEI", "destination": "MDI"}}),
        json!({"id": "a1", "type": "gatehouse.alert", "occurredAt": "2026-03-01T09:00:00Z", "prisonNumber": "A1234BC",
               "alert": {"code": "HA", "active": true, "activeFrom": "2026-02-27"}}),
        json!({"id": "pm1", "type": "gatehouse.planned-movement", "occurredAt": "2026-03-01T09:00:00Z", "prisonNumber": "A1234BC",
               "plannedMovement": {"id": "CRT-1", "kind": "court-appearance", "establishment": "LEI", "plannedFor": "2026-03-06T09:30:00Z"}}),
        json!({"id": "pm2", "type": "gatehouse.planned-movement.cancelled", "occurredAt": "2026-03-01T09:00:00Z", "prisonNumber": "A1234BC", "plannedMovementId": "CRT-1"}),
    ];
    for v in items {
        let item = parse_item(&v, now()).unwrap_or_else(|e| panic!("{v}: {}", e.error));
        assert_eq!(item.event_id.as_str(), v["id"].as_str().unwrap());
    }
}

fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("A1234BC"),
            Just("LEI"),
            Just("HA"),
            Just("2026-03-01T10:00:00Z"),
            Just("reception"),
            Just("NEW_ADMISSION")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("eventType"),
            Just("type"),
            Just("version"),
            Just("occurredAt"),
            Just("additionalInformation"),
            Just("personReference"),
            Just("identifiers"),
            Just("value"),
            Just("prisonId"),
            Just("reason"),
            Just("nomsNumber"),
            Just("prisonNumber"),
            Just("movement"),
            Just("kind"),
            Just("establishment"),
            Just("alert"),
            Just("code"),
            Just("id"),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys.prop_map(String::from), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_json(v in arb_json()) {
        let _ = parse_item(&v, now());
    }

    #[test]
    fn parse_never_panics_on_mutated_envelopes(field in 0usize..5, s in "\\PC{0,30}") {
        let mut v = received();
        let keys = ["eventType", "occurredAt", "version", "additionalInformation", "personReference"];
        v[keys[field]] = Value::String(s);
        let _ = parse_item(&v, now());
    }
}
