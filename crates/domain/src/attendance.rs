//! Attendance figures: from per-week tallies to the measures managers read.
//!
//! The store keeps one tally per (establishment, week, type, setting, bucket),
//! updated in the same transaction as each appointment change, so the figures
//! for a national year come from a few hundred thousand rows, not millions.
//!
//! *Did not attend* and *was not brought* are separate measures with separate
//! reasons everywhere; there is no "missed" figure that adds them up.

use crate::appointment::{AppointmentType, DnaReason, Outcome, Setting, WnbReason};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Where an appointment stands, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    Outcome(Outcome),
    /// Cancelled by its owner before the day.
    CancelledInAdvance,
    /// Booked, and no outcome recorded (yet).
    NotRecorded,
}

impl PartialOrd for Outcome {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Outcome {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.kind(), self.reason()).cmp(&(other.kind(), other.reason()))
    }
}

impl Bucket {
    /// The stored pair: (`attended` | `did-not-attend` | `was-not-brought` |
    /// `cancelled-by-healthcare` | `rescheduled` | `cancelled` | `not-recorded`, reason).
    pub fn to_pair(self) -> (&'static str, &'static str) {
        match self {
            Self::Outcome(o) => (o.kind().as_str(), o.reason().unwrap_or("")),
            Self::CancelledInAdvance => ("cancelled", ""),
            Self::NotRecorded => ("not-recorded", ""),
        }
    }

    pub fn from_pair(bucket: &str, reason: &str) -> Option<Self> {
        match bucket {
            "cancelled" => Some(Self::CancelledInAdvance),
            "not-recorded" => Some(Self::NotRecorded),
            other => {
                let reason = (!reason.is_empty()).then_some(reason);
                Outcome::parse(other, reason).ok().map(Self::Outcome)
            }
        }
    }
}

/// One stored tally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub establishment: String,
    /// Monday of the week.
    pub week: NaiveDate,
    pub appointment_type: AppointmentType,
    pub setting: Setting,
    pub bucket: Bucket,
    pub appointments: i64,
    /// Booked clinician minutes.
    pub minutes: i64,
}

/// The measures for one slice of appointments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Measures {
    /// Every appointment in the slice, cancelled ones included.
    pub booked: i64,
    pub attended: i64,
    pub did_not_attend: i64,
    pub was_not_brought: i64,
    #[schema(value_type = BTreeMap<String, i64>)]
    pub did_not_attend_by_reason: BTreeMap<DnaReason, i64>,
    #[schema(value_type = BTreeMap<String, i64>)]
    pub was_not_brought_by_reason: BTreeMap<WnbReason, i64>,
    pub cancelled_by_healthcare: i64,
    pub rescheduled: i64,
    pub cancelled_in_advance: i64,
    /// Booked, past or present, with no outcome yet: a data-quality measure.
    pub not_recorded: i64,
    /// attended / (attended + DNA + WNB); absent when nothing was due.
    pub attendance_rate: Option<f64>,
    /// DNA / (attended + DNA + WNB).
    pub did_not_attend_rate: Option<f64>,
    /// WNB / (attended + DNA + WNB).
    pub was_not_brought_rate: Option<f64>,
    /// Clinician hours booked but lost to patients who did not attend.
    pub clinician_hours_lost_did_not_attend: f64,
    /// Clinician hours booked but lost to patients who were not brought.
    pub clinician_hours_lost_was_not_brought: f64,
    /// The minutes behind the hours, summed exactly (so any order of adding gives the same figures).
    #[serde(skip)]
    minutes_lost_did_not_attend: i64,
    #[serde(skip)]
    minutes_lost_was_not_brought: i64,
}

impl Measures {
    fn add_counts(&mut self, bucket: Bucket, n: i64, minutes: i64) {
        self.booked += n;
        match bucket {
            Bucket::Outcome(Outcome::Attended) => self.attended += n,
            Bucket::Outcome(Outcome::DidNotAttend(r)) => {
                self.did_not_attend += n;
                *self.did_not_attend_by_reason.entry(r).or_default() += n;
                self.minutes_lost_did_not_attend += minutes;
            }
            Bucket::Outcome(Outcome::WasNotBrought(r)) => {
                self.was_not_brought += n;
                *self.was_not_brought_by_reason.entry(r).or_default() += n;
                self.minutes_lost_was_not_brought += minutes;
            }
            Bucket::Outcome(Outcome::CancelledByHealthcare) => self.cancelled_by_healthcare += n,
            Bucket::Outcome(Outcome::Rescheduled) => self.rescheduled += n,
            Bucket::CancelledInAdvance => self.cancelled_in_advance += n,
            Bucket::NotRecorded => self.not_recorded += n,
        }
    }

    fn finish(&mut self) {
        let due = self.attended + self.did_not_attend + self.was_not_brought;
        let rate = |x: i64| (due > 0).then(|| x as f64 / due as f64);
        self.attendance_rate = rate(self.attended);
        self.did_not_attend_rate = rate(self.did_not_attend);
        self.was_not_brought_rate = rate(self.was_not_brought);
        self.clinician_hours_lost_did_not_attend =
            round1(self.minutes_lost_did_not_attend as f64 / 60.0);
        self.clinician_hours_lost_was_not_brought =
            round1(self.minutes_lost_was_not_brought as f64 / 60.0);
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// One labelled slice.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Slice {
    pub key: String,
    pub measures: Measures,
}

/// The dashboard's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    pub total: Measures,
    pub by_establishment: Vec<Slice>,
    pub by_type: Vec<Slice>,
    /// `internal`, `in-cell`, `external`.
    pub by_setting: Vec<Slice>,
    /// The trend: one slice per week (keyed by its Monday), in order.
    pub by_week: Vec<Slice>,
}

fn slices(map: BTreeMap<String, Measures>) -> Vec<Slice> {
    map.into_iter()
        .map(|(key, mut measures)| {
            measures.finish();
            Slice { key, measures }
        })
        .collect()
}

/// Folds tallies into figures without holding them: the store streams each
/// (establishment, week, type, setting, bucket) count straight in.
#[derive(Debug, Default)]
pub struct FiguresBuilder {
    total: Measures,
    by_establishment: std::collections::HashMap<String, Measures>,
    by_type: BTreeMap<AppointmentType, Measures>,
    by_setting: BTreeMap<Setting, Measures>,
    by_week: BTreeMap<NaiveDate, Measures>,
}

impl FiguresBuilder {
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        establishment: &str,
        week: NaiveDate,
        appointment_type: AppointmentType,
        setting: Setting,
        bucket: Bucket,
        appointments: i64,
        minutes: i64,
    ) {
        let m = |measures: &mut Measures| measures.add_counts(bucket, appointments, minutes);
        m(&mut self.total);
        match self.by_establishment.get_mut(establishment) {
            Some(e) => m(e),
            None => m(self
                .by_establishment
                .entry(establishment.to_owned())
                .or_default()),
        }
        m(self.by_type.entry(appointment_type).or_default());
        m(self.by_setting.entry(setting).or_default());
        m(self.by_week.entry(week).or_default());
    }

    pub fn finish(mut self) -> Figures {
        self.total.finish();
        let by_establishment: BTreeMap<String, Measures> =
            self.by_establishment.into_iter().collect();
        Figures {
            total: self.total,
            by_establishment: slices(by_establishment),
            by_type: slices(
                self.by_type
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v))
                    .collect(),
            ),
            by_setting: slices(
                self.by_setting
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v))
                    .collect(),
            ),
            by_week: slices(
                self.by_week
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            ),
        }
    }
}

impl Figures {
    pub fn from_tallies(tallies: &[Tally]) -> Self {
        let mut b = FiguresBuilder::default();
        for t in tallies {
            b.add(
                &t.establishment,
                t.week,
                t.appointment_type,
                t.setting,
                t.bucket,
                t.appointments,
                t.minutes,
            );
        }
        b.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(bucket: Bucket, n: i64) -> Tally {
        Tally {
            establishment: "LEI".into(),
            week: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            appointment_type: AppointmentType::HospitalOutpatient,
            setting: Setting::External,
            bucket,
            appointments: n,
            minutes: n * 60,
        }
    }

    #[test]
    fn dna_and_wnb_are_counted_apart() {
        let f = Figures::from_tallies(&[
            tally(Bucket::Outcome(Outcome::Attended), 6),
            tally(
                Bucket::Outcome(Outcome::DidNotAttend(DnaReason::Refused)),
                1,
            ),
            tally(
                Bucket::Outcome(Outcome::WasNotBrought(WnbReason::NoEscortStaff)),
                3,
            ),
            tally(Bucket::CancelledInAdvance, 5),
        ]);
        assert_eq!(f.total.booked, 15);
        assert_eq!(f.total.attendance_rate, Some(0.6));
        assert_eq!(f.total.did_not_attend_rate, Some(0.1));
        assert_eq!(f.total.was_not_brought_rate, Some(0.3));
        assert_eq!(
            f.total.was_not_brought_by_reason[&WnbReason::NoEscortStaff],
            3
        );
        assert_eq!(f.total.clinician_hours_lost_was_not_brought, 3.0);
        assert_eq!(f.total.clinician_hours_lost_did_not_attend, 1.0);
    }

    #[test]
    fn buckets_survive_their_stored_form() {
        for b in [
            Bucket::Outcome(Outcome::Attended),
            Bucket::Outcome(Outcome::WasNotBrought(WnbReason::AtCourt)),
            Bucket::Outcome(Outcome::DidNotAttend(DnaReason::Unwell)),
            Bucket::Outcome(Outcome::Rescheduled),
            Bucket::CancelledInAdvance,
            Bucket::NotRecorded,
        ] {
            let (k, r) = b.to_pair();
            assert_eq!(Bucket::from_pair(k, r), Some(b));
        }
    }
}
