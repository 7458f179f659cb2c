//! Appointments in the store, on both engines: bookings and series, the clash
//! rules, the movement rules, attendance with corrections, closures, and
//! tallies that always agree with the appointments they count.

use chrono::{DateTime, Duration, DurationRound, Utc};
use gatehouse_domain::appointment::*;
use gatehouse_domain::attendance::{Bucket, Figures};
use gatehouse_domain::feed::parse_item;
use gatehouse_domain::{EstablishmentCode, OrgType, PrisonNumber};
use gatehouse_store::testing::fresh_store;
use gatehouse_store::*;
use serde_json::{Value, json};
use std::sync::Arc;

macro_rules! on_both_engines {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let store = fresh_store(EngineKind::Sqlite, stringify!($name)).await;
                ($body)(store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let store = fresh_store(EngineKind::Postgres, stringify!($name)).await;
                ($body)(store).await;
            }
        }
    };
}

/// Midnight (UTC) `days` from today: the store's clock is the real one.
fn day(days: i64) -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::days(1)).unwrap() + Duration::days(days)
}

fn pn(s: &str) -> PrisonNumber {
    PrisonNumber::parse(s).unwrap()
}

fn lei() -> EstablishmentCode {
    EstablishmentCode::parse("LEI").unwrap()
}

async fn feed(store: &Arc<dyn Store>, items: &[Value]) -> Vec<ItemOutcome> {
    let entries = items
        .iter()
        .map(|v| FeedEntry::Parsed(Box::new(parse_item(v, day(30)).unwrap())))
        .collect();
    let out = store
        .apply_feed(entries, BatchMode::Partial, "prison-feed", &common_audit())
        .await
        .unwrap();
    assert!(
        out.iter().all(|o| o.problem.is_none()),
        "feed refused: {out:?}"
    );
    out
}

async fn received(store: &Arc<dyn Store>, who: &str) {
    feed(
        store,
        &[json!({"id": format!("rcv-{who}"), "type": "gatehouse.movement", "occurredAt": day(-10).to_rfc3339(),
            "prisonNumber": who, "movement": {"kind": "reception", "establishment": "LEI", "cell": "LEI-B-4-002"}})],
    )
    .await;
}

fn owner() -> Actor {
    Actor {
        consumer: "lei-health".into(),
        on_behalf_of: Some("nurse.one".into()),
    }
}

fn booking(t: AppointmentType, at: DateTime<Utc>, place: Place) -> Booking {
    Booking {
        appointment_type: t,
        starts_at: at,
        minutes: 60,
        place,
        clinician: Some("Dr Canary".into()),
        clinical_note: Some("CANARY-CLINICAL".into()),
        repeat: None,
    }
}

fn hospital() -> Place {
    Place::External {
        location: "Leeds General Infirmary".into(),
    }
}

async fn book(store: &Arc<dyn Store>, who: &str, b: Booking) -> AppointmentRecord {
    store
        .book_appointments(
            &NewBooking {
                prison_number: pn(who),
                booking: b,
                owner: owner(),
            },
            &common_audit(),
        )
        .await
        .unwrap()
        .remove(0)
}

async fn events_of(store: &Arc<dyn Store>, kind: &str) -> Vec<OutboxEvent> {
    store
        .outbox_after(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == kind)
        .collect()
}

/// The tallies must equal a recount of the appointments themselves.
async fn assert_tallies_agree(store: &Arc<dyn Store>, who: &str) {
    let tallies = store
        .attendance_tallies(&TallyQuery {
            establishments: vec![],
            from: day(-400).date_naive(),
            to: day(400).date_naive(),
        })
        .await
        .unwrap();
    let figures = Figures::from_tallies(&tallies);
    // The cached figures agree, cold (rebuilt from the tallies) and warm (read from the cache).
    let query = TallyQuery {
        establishments: vec![],
        from: day(-400).date_naive(),
        to: day(400).date_naive(),
    };
    for _ in 0..2 {
        assert_eq!(store.attendance_figures(&query).await.unwrap(), figures);
    }
    let all = store.appointments_for(&pn(who), None, true).await.unwrap();
    assert_eq!(figures.total.booked, all.len() as i64, "{tallies:?}");
    let attended = all
        .iter()
        .filter(|a| a.outcome.as_ref().map(|o| o.outcome) == Some(Outcome::Attended))
        .count() as i64;
    assert_eq!(figures.total.attended, attended);
    let wnb = all
        .iter()
        .filter(|a| {
            matches!(
                a.outcome.as_ref().map(|o| o.outcome),
                Some(Outcome::WasNotBrought(_))
            )
        })
        .count() as i64;
    assert_eq!(figures.total.was_not_brought, wnb);
}

on_both_engines!(
    a_series_books_every_occurrence_and_raises_events,
    |store: Arc<dyn Store>| async move {
        received(&store, "A1234BC").await;
        let mut b = booking(
            AppointmentType::Mede,
            day(2) + Duration::hours(10),
            Place::Internal {
                room: "Dental suite".into(),
            },
        );
        b.repeat = Some(Repeat {
            every: Frequency::Week,
            count: 3,
        });
        let booked = store
            .book_appointments(
                &NewBooking {
                    prison_number: pn("A1234BC"),
                    booking: b,
                    owner: owner(),
                },
                &common_audit(),
            )
            .await
            .unwrap();
        assert_eq!(booked.len(), 3);
        assert!(
            booked
                .iter()
                .all(|a| a.series_id == booked[0].series_id && a.series_id.is_some())
        );
        assert_eq!(
            booked[2].starts_at - booked[0].starts_at,
            Duration::weeks(2)
        );
        assert_eq!(booked[0].establishment.as_str(), "LEI");
        assert_eq!(
            events_of(&store, "uk.gatehouse.appointment.booked")
                .await
                .len(),
            3
        );
        // Events never carry the health-only fields.
        for e in store.outbox_after(0, 1000).await.unwrap() {
            assert!(!e.data.to_string().contains("CANARY"), "{}", e.data);
        }
        assert_tallies_agree(&store, "A1234BC").await;
    }
);

on_both_engines!(
    a_court_date_puts_the_appointment_at_risk_and_leaving_records_wnb,
    |store: Arc<dyn Store>| async move {
        received(&store, "C3456DE").await;
        // Day D is today (so the departure can happen now); the appointment later today, or tomorrow just after midnight.
        let start = (Utc::now() + Duration::minutes(30))
            .duration_trunc(Duration::minutes(5))
            .unwrap();
        let a = book(
            &store,
            "C3456DE",
            booking(AppointmentType::HospitalOutpatient, start, hospital()),
        )
        .await;
        assert!(a.risks.is_empty());
        // The day it leaves: now, or (just before midnight) the start of the appointment's day.
        let now = Utc::now();
        let leave = if now.date_naive() == start.date_naive() {
            now
        } else {
            start.duration_trunc(Duration::days(1)).unwrap()
        };
        let court_at = leave;
        let out = feed(&store, &[json!({"id": "crt-1", "type": "gatehouse.planned-movement", "occurredAt": Utc::now().to_rfc3339(),
        "prisonNumber": "C3456DE", "plannedMovement": {"id": "CRT-C3456DE-1", "kind": "court-appearance", "establishment": "LEI",
        "plannedFor": court_at.to_rfc3339(), "description": "Leeds Crown Court"}})]).await;
        assert!(
            out[0].changes.iter().any(|c| c.contains("at risk")),
            "{out:?}"
        );
        let held = store.appointment(&a.id).await.unwrap().unwrap();
        assert_eq!(held.risks.len(), 1);
        assert_eq!(held.risks[0].reason, RiskReason::AtCourt);
        let at_risk = events_of(&store, "uk.gatehouse.appointment.at-risk").await;
        assert_eq!(at_risk.len(), 1);
        assert_eq!(at_risk[0].data["appointmentId"], json!(a.id));
        assert_eq!(at_risk[0].data["owner"], json!("lei-health"));

        // Leaves for court (same UTC day as the appointment, before it).
        feed(&store, &[json!({"id": "crt-out", "type": "gatehouse.movement", "occurredAt": leave.to_rfc3339(),
        "prisonNumber": "C3456DE", "movement": {"kind": "court-out", "establishment": "LEI"}})]).await;
        let held = store.appointment(&a.id).await.unwrap().unwrap();
        let outcome = held.outcome.expect("outcome set by the movement rule");
        assert_eq!(outcome.outcome, Outcome::WasNotBrought(WnbReason::AtCourt));
        assert!(outcome.automatic);
        assert!(held.risks.is_empty());
        assert_eq!(
            events_of(&store, "uk.gatehouse.appointment.attendance-recorded")
                .await
                .len(),
            1
        );
        assert_tallies_agree(&store, "C3456DE").await;
    }
);

on_both_engines!(
    a_cancelled_plan_clears_the_risk,
    |store: Arc<dyn Store>| async move {
        received(&store, "B2345CD").await;
        let a = book(
            &store,
            "B2345CD",
            booking(
                AppointmentType::Medo,
                day(5) + Duration::hours(10),
                Place::InCell,
            ),
        )
        .await;
        feed(&store, &[json!({"id": "rel-1", "type": "gatehouse.planned-movement", "occurredAt": Utc::now().to_rfc3339(),
        "prisonNumber": "B2345CD", "plannedMovement": {"id": "REL-1", "kind": "release", "establishment": "LEI", "plannedFor": (day(3) + Duration::hours(9)).to_rfc3339()}})]).await;
        assert_eq!(
            store.appointment(&a.id).await.unwrap().unwrap().risks[0].reason,
            RiskReason::Released
        );
        feed(&store, &[json!({"id": "rel-1-x", "type": "gatehouse.planned-movement.cancelled", "occurredAt": Utc::now().to_rfc3339(),
        "prisonNumber": "B2345CD", "plannedMovementId": "REL-1"})]).await;
        assert!(
            store
                .appointment(&a.id)
                .await
                .unwrap()
                .unwrap()
                .risks
                .is_empty()
        );
        let history = store.appointment_history(&a.id).await.unwrap();
        let kinds: Vec<&str> = history.iter().map(|h| h.kind.as_str()).collect();
        assert_eq!(kinds, ["booked", "at-risk", "risk-cleared"]);
    }
);

on_both_engines!(
    overlapping_bookings_and_a_lockdown_are_clashes,
    |store: Arc<dyn Store>| async move {
        received(&store, "D4567EF").await;
        let at = day(3) + Duration::hours(10);
        let a = book(
            &store,
            "D4567EF",
            booking(
                AppointmentType::Medo,
                at,
                Place::Internal {
                    room: "HCU 1".into(),
                },
            ),
        )
        .await;
        let b = book(
            &store,
            "D4567EF",
            booking(
                AppointmentType::Mede,
                at + Duration::minutes(30),
                Place::Internal {
                    room: "HCU 2".into(),
                },
            ),
        )
        .await;
        assert_eq!(b.risks[0].reason, RiskReason::ClashOtherActivity);
        assert_eq!(
            store.appointment(&a.id).await.unwrap().unwrap().risks[0].reason,
            RiskReason::ClashOtherActivity
        );
        let closure = store
            .record_closure(
                &NewClosure {
                    establishment: lei(),
                    kind: ClosureKind::Lockdown,
                    starts_at: day(3),
                    ends_at: Some(day(4)),
                    reason: "incident".into(),
                    by: Actor {
                        consumer: "prison-feed".into(),
                        on_behalf_of: None,
                    },
                },
                &common_audit(),
            )
            .await
            .unwrap();
        assert_eq!(closure.appointments_at_risk, 2);
        let held = store.appointment(&a.id).await.unwrap().unwrap();
        assert!(
            held.risks
                .iter()
                .any(|r| r.reason == RiskReason::LockdownOrIncident)
        );
        // Ending the closure before the day clears its risk.
        store
            .end_closure(
                &closure.id,
                day(3),
                &Actor {
                    consumer: "prison-feed".into(),
                    on_behalf_of: None,
                },
                &common_audit(),
            )
            .await
            .unwrap();
        let held = store.appointment(&a.id).await.unwrap().unwrap();
        assert!(
            !held
                .risks
                .iter()
                .any(|r| r.reason == RiskReason::LockdownOrIncident),
            "{:?}",
            held.risks
        );
        // Cancelling one clears the other's clash.
        store
            .change_appointment(
                &b.id,
                &AppointmentChange {
                    change: Change {
                        cancel: true,
                        reason: "clinic closed".into(),
                        ..Default::default()
                    },
                    by: owner(),
                },
                &common_audit(),
            )
            .await
            .unwrap();
        assert!(
            store
                .appointment(&a.id)
                .await
                .unwrap()
                .unwrap()
                .risks
                .is_empty()
        );
        assert_tallies_agree(&store, "D4567EF").await;
    }
);

on_both_engines!(
    attendance_corrections_keep_history_and_tallies,
    |store: Arc<dyn Store>| async move {
        received(&store, "D4567EF").await;
        // Today, so attendance may be recorded.
        let start = (Utc::now() + Duration::minutes(5))
            .duration_trunc(Duration::minutes(5))
            .unwrap();
        let a = book(
            &store,
            "D4567EF",
            booking(AppointmentType::HospitalOutpatient, start, hospital()),
        )
        .await;
        let wing = Actor {
            consumer: "lei-wing".into(),
            on_behalf_of: Some("officer.one".into()),
        };
        // Only the owner changes the booking.
        let err = store
            .change_appointment(
                &a.id,
                &AppointmentChange {
                    change: Change {
                        cancel: true,
                        reason: "x".into(),
                        ..Default::default()
                    },
                    by: wing.clone(),
                },
                &common_audit(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Forbidden(_)), "{err:?}");
        // The prison plans the escort.
        let escorted = store
            .plan_escort(
                &a.id,
                &EscortUpdate {
                    plan: EscortPlan {
                        officers: 2,
                        vehicle: Vehicle::CellularVehicle,
                        restraint: Restraint::Handcuffs,
                        decided_by: "OSG manager".into(),
                    },
                    expected_version: Some(1),
                    by: wing.clone(),
                },
                &common_audit(),
            )
            .await
            .unwrap();
        assert_eq!(escorted.escort.as_ref().unwrap().plan.officers, 2);
        assert_eq!(escorted.version, 2);
        // A prison may not record healthcare's own decisions.
        let err = store
            .record_attendance(
                &a.id,
                &AttendanceUpdate {
                    attendance: Attendance {
                        outcome: Outcome::Rescheduled,
                        correction_reason: None,
                    },
                    org: OrgType::Prison,
                    by: wing.clone(),
                },
                &common_audit(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Forbidden(_)), "{err:?}");
        let wnb = Attendance {
            outcome: Outcome::WasNotBrought(WnbReason::NoEscortStaff),
            correction_reason: None,
        };
        let rec = store
            .record_attendance(
                &a.id,
                &AttendanceUpdate {
                    attendance: wnb,
                    org: OrgType::Prison,
                    by: wing.clone(),
                },
                &common_audit(),
            )
            .await
            .unwrap();
        assert_eq!(rec.outcome.as_ref().unwrap().recorded_by, wing);
        assert!(!rec.outcome.as_ref().unwrap().late);
        assert_tallies_agree(&store, "D4567EF").await;
        // A correction needs a reason, and keeps the first record in history.
        let dna = Attendance {
            outcome: Outcome::DidNotAttend(DnaReason::Refused),
            correction_reason: None,
        };
        let err = store
            .record_attendance(
                &a.id,
                &AttendanceUpdate {
                    attendance: dna.clone(),
                    org: OrgType::Health,
                    by: owner(),
                },
                &common_audit(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        let dna = Attendance {
            correction_reason: Some("patient refused at the gate".into()),
            ..dna
        };
        store
            .record_attendance(
                &a.id,
                &AttendanceUpdate {
                    attendance: dna,
                    org: OrgType::Health,
                    by: owner(),
                },
                &common_audit(),
            )
            .await
            .unwrap();
        let history = store.appointment_history(&a.id).await.unwrap();
        let last = history.last().unwrap();
        assert_eq!(last.kind, "attendance-corrected");
        assert_eq!(last.detail["previous"]["reason"], json!("no-escort-staff"));
        assert_tallies_agree(&store, "D4567EF").await;
        let tallies = store
            .attendance_tallies(&TallyQuery {
                establishments: vec![lei()],
                from: day(-7).date_naive(),
                to: day(7).date_naive(),
            })
            .await
            .unwrap();
        assert!(
            tallies
                .iter()
                .all(|t| t.bucket
                    != Bucket::Outcome(Outcome::WasNotBrought(WnbReason::NoEscortStaff)))
        );
        // Nothing health-only in the shared history.
        for h in &history {
            assert!(!h.detail.to_string().contains("CANARY"), "{:?}", h.detail);
        }
    }
);

on_both_engines!(
    attendance_cannot_be_recorded_before_the_day,
    |store: Arc<dyn Store>| async move {
        received(&store, "E5678FG").await;
        let a = book(
            &store,
            "E5678FG",
            booking(
                AppointmentType::Medo,
                day(3) + Duration::hours(9),
                Place::InCell,
            ),
        )
        .await;
        let err = store
            .record_attendance(
                &a.id,
                &AttendanceUpdate {
                    attendance: Attendance {
                        outcome: Outcome::Attended,
                        correction_reason: None,
                    },
                    org: OrgType::Health,
                    by: owner(),
                },
                &common_audit(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert!(
            store
                .appointment(&a.id)
                .await
                .unwrap()
                .unwrap()
                .outcome
                .is_none()
        );
    }
);

on_both_engines!(a_release_cancels_later_appointments, |store: Arc<
    dyn Store,
>| async move {
    received(&store, "F6789GH").await;
    let a = book(
        &store,
        "F6789GH",
        booking(
            AppointmentType::Mltc,
            day(4) + Duration::hours(9),
            Place::Internal {
                room: "HCU 3".into(),
            },
        ),
    )
    .await;
    feed(
        &store,
        &[
            json!({"id": "rel", "type": "gatehouse.movement", "occurredAt": Utc::now().to_rfc3339(),
        "prisonNumber": "F6789GH", "movement": {"kind": "release", "establishment": "LEI"}}),
        ],
    )
    .await;
    let held = store.appointment(&a.id).await.unwrap().unwrap();
    assert_eq!(held.status, AppointmentStatus::Cancelled);
    assert_eq!(
        events_of(&store, "uk.gatehouse.appointment.cancelled")
            .await
            .len(),
        1
    );
    // Nowhere to book now.
    let err = store
        .book_appointments(
            &NewBooking {
                prison_number: pn("F6789GH"),
                booking: booking(AppointmentType::Medo, day(5), Place::InCell),
                owner: owner(),
            },
            &common_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_tallies_agree(&store, "F6789GH").await;
});

on_both_engines!(import_is_all_or_nothing_and_counted, |store: Arc<
    dyn Store,
>| async move {
    let row = |id: &str, outcome: Option<Outcome>| ImportedAppointment {
        id: id.into(),
        prison_number: pn("G1234AA"),
        establishment: lei(),
        appointment_type: AppointmentType::Medo,
        starts_at: day(-20) + Duration::hours(10),
        minutes: 20,
        place: Place::InCell,
        owner: "lei-health".into(),
        cancelled: false,
        outcome,
        recorded_by: Some("lei-health".into()),
        booked_at: day(-30),
    };
    let rows = vec![
        row("i1", Some(Outcome::Attended)),
        row(
            "i2",
            Some(Outcome::WasNotBrought(WnbReason::LockdownOrIncident)),
        ),
        row("i3", None),
    ];
    assert_eq!(
        store
            .import_appointments(&rows, &common_audit())
            .await
            .unwrap(),
        3
    );
    // A repeated id refuses the whole batch.
    let again = vec![row("i4", None), row("i1", None)];
    assert!(matches!(
        store.import_appointments(&again, &common_audit()).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.appointment("i4").await.unwrap().is_none());
    assert_tallies_agree(&store, "G1234AA").await;
});

on_both_engines!(
    a_hospital_stay_and_a_planned_transfer_put_appointments_at_risk,
    |store: Arc<dyn Store>| async move {
        received(&store, "H8901JK").await;
        let a = book(
            &store,
            "H8901JK",
            booking(
                AppointmentType::Mphy,
                day(3) + Duration::hours(10),
                Place::Internal { room: "Gym".into() },
            ),
        )
        .await;
        assert!(a.risks.is_empty());
        // Admitted to hospital: at risk while the stay lasts.
        feed(&store, &[json!({"id": "hos-out", "type": "gatehouse.movement", "occurredAt": Utc::now().to_rfc3339(),
        "prisonNumber": "H8901JK", "movement": {"kind": "hospital-out", "establishment": "LEI"}})]).await;
        let held = store.appointment(&a.id).await.unwrap().unwrap();
        assert_eq!(held.risks.len(), 1, "{:?}", held.risks);
        assert_eq!(
            (held.risks[0].reason, held.risks[0].source.as_str()),
            (RiskReason::AtHospital, "custody")
        );
        // Back from hospital: the risk clears.
        feed(&store, &[json!({"id": "hos-back", "type": "gatehouse.movement", "occurredAt": (Utc::now() + Duration::seconds(1)).to_rfc3339(),
        "prisonNumber": "H8901JK", "movement": {"kind": "reception", "reason": "RETURN_FROM_HOSPITAL", "establishment": "LEI", "cell": "LEI-B-4-002"}})]).await;
        assert!(
            store
                .appointment(&a.id)
                .await
                .unwrap()
                .unwrap()
                .risks
                .is_empty()
        );
        // A transfer planned before the day, to another prison.
        feed(&store, &[json!({"id": "trf", "type": "gatehouse.planned-movement", "occurredAt": (Utc::now() + Duration::seconds(2)).to_rfc3339(),
        "prisonNumber": "H8901JK", "plannedMovement": {"id": "TRF-H8901JK-1", "kind": "transfer", "establishment": "LEI", "destination": "MDI",
        "plannedFor": (day(2) + Duration::hours(9)).to_rfc3339()}})]).await;
        let held = store.appointment(&a.id).await.unwrap().unwrap();
        assert_eq!(
            held.risks[0].reason,
            RiskReason::Transferred,
            "{:?}",
            held.risks
        );
        assert_eq!(held.risks[0].source, "plan:TRF-H8901JK-1");
        assert_eq!(
            events_of(&store, "uk.gatehouse.appointment.at-risk")
                .await
                .len(),
            2
        );
    }
);

on_both_engines!(
    attendance_recorded_over_a_day_late_is_marked_late,
    |store: Arc<dyn Store>| async move {
        received(&store, "G1234AA").await;
        let past = ImportedAppointment {
            id: "late-1".into(),
            prison_number: pn("G1234AA"),
            establishment: lei(),
            appointment_type: AppointmentType::Medo,
            starts_at: day(-3) + Duration::hours(10),
            minutes: 20,
            place: Place::InCell,
            owner: "lei-health".into(),
            cancelled: false,
            outcome: None,
            recorded_by: None,
            booked_at: day(-10),
        };
        store
            .import_appointments(&[past], &common_audit())
            .await
            .unwrap();
        let rec = store
            .record_attendance(
                "late-1",
                &AttendanceUpdate {
                    attendance: Attendance {
                        outcome: Outcome::Attended,
                        correction_reason: None,
                    },
                    org: OrgType::Health,
                    by: owner(),
                },
                &common_audit(),
            )
            .await
            .unwrap();
        assert!(rec.outcome.unwrap().late);
        assert_tallies_agree(&store, "G1234AA").await;
    }
);

/// The record a store write carries: these tests act as the operator would.
fn common_audit() -> gatehouse_store::WriteAudit {
    gatehouse_store::WriteAudit::system("store-test", "test", "test", vec![])
}
