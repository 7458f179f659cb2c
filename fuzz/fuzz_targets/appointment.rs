//! Appointment inputs from raw bytes, as health and prison systems post them.
//! The first byte picks the form (`byte % 5`): 0 a booking (`BookingInput`),
//! 1 a change (`ChangeInput`), 2 an escort plan (`EscortInput`), 3 an
//! attendance record (`AttendanceInput`), 4 a regime closure (`ClosureInput`);
//! the rest is JSON.
//! Invariants of an accepted input: a booking starts in the window, lasts
//! 5–720 minutes, a hospital outpatient is external, a series has 2–52
//! occurrences all inside the booking window, in order; a change changes
//! something and has a reason; an escort has 1–6 officers; an outcome's
//! reason is of its own kind (a DNA reason is never a WNB reason) and
//! survives its stored form; a closure ends after it starts, began at most a
//! day ago, and gives a reason.
#![no_main]

use gatehouse_domain::appointment::*;
use gatehouse_domain::attendance::Bucket;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    match which % 5 {
        0 => {
            let Ok(input) = serde_json::from_slice::<BookingInput>(json) else {
                return;
            };
            if let Ok(b) = input.parse(now) {
                assert!(b.starts_at >= now);
                assert!((MIN_MINUTES..=MAX_MINUTES).contains(&b.minutes));
                if b.appointment_type == AppointmentType::HospitalOutpatient {
                    assert_eq!(b.place.setting(), Setting::External);
                }
                let all = b.occurrences();
                assert_eq!(all.len() as i64, b.repeat.map_or(1, |r| r.count));
                assert!(all.windows(2).all(|w| w[0] < w[1]));
                assert!(*all.last().unwrap() <= now + chrono::Duration::days(BOOK_AHEAD_DAYS));
            }
        }
        1 => {
            let Ok(input) = serde_json::from_slice::<ChangeInput>(json) else {
                return;
            };
            if let Ok(c) = input.parse(now) {
                assert!(!c.reason.trim().is_empty());
                assert!(
                    c.cancel
                        || c.starts_at.is_some()
                        || c.minutes.is_some()
                        || c.place.is_some()
                        || c.clinician.is_some()
                        || c.clinical_note.is_some()
                );
                assert!(!(c.cancel && (c.starts_at.is_some() || c.place.is_some())));
            }
        }
        2 => {
            let Ok(input) = serde_json::from_slice::<EscortInput>(json) else {
                return;
            };
            if let Ok(e) = input.parse() {
                assert!((1..=MAX_ESCORT_OFFICERS).contains(&e.officers));
            }
        }
        4 => {
            let Ok(input) = serde_json::from_slice::<ClosureInput>(json) else {
                return;
            };
            if let Ok(c) = input.parse(now) {
                assert!(c.ends_at.is_none_or(|e| e > c.starts_at));
                assert!(c.starts_at >= now - chrono::Duration::hours(CLOSURE_BACKDATE_HOURS));
                assert!(!c.reason.trim().is_empty());
            }
        }
        _ => {
            let Ok(input) = serde_json::from_slice::<AttendanceInput>(json) else {
                return;
            };
            if let Ok(a) = input.parse() {
                let o = a.outcome;
                match o {
                    Outcome::DidNotAttend(r) => {
                        assert!(WnbReason::parse(r.as_str()).is_err() || r == DnaReason::Other)
                    }
                    Outcome::WasNotBrought(r) => {
                        assert!(DnaReason::parse(r.as_str()).is_err() || r == WnbReason::Other)
                    }
                    _ => assert!(o.reason().is_none()),
                }
                let (k, r) = Bucket::Outcome(o).to_pair();
                assert_eq!(Bucket::from_pair(k, r), Some(Bucket::Outcome(o)));
            }
        }
    }
});
