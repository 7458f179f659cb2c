//! The point-of-need summary: "what must I know about this person right now".
//!
//! It is built from sections ([`Section`]), each asking the agreement for its
//! own action, so a caller gets exactly the sections its agreement allows and
//! each withheld section says so. Items carry source, owner and last-updated,
//! and are ordered by urgency; what is missing or stale is said in words at
//! the top, never left as silence.
//!
//! **Adding a section** (appointments, …): one [`Section`] variant, its key,
//! title and action, and its builder in [`Section::build`].

use super::notices::visible_notices_for;
use super::people::person_view;
use super::views::{CustodyView, IdentityView, markers};
use crate::access::Pending;
use crate::access::person_resource;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::ApiPath;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use gatehouse_domain::provenance::Owner;
use gatehouse_domain::{AlertRelevance, PersonName, PrisonNumber};
use gatehouse_policy::Action;
use gatehouse_store::{PageRequest, PersonRecord, verification};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// Health information older than this is flagged as stale.
pub const HEALTH_STALE_AFTER_DAYS: i64 = 180;

pub mod summary_markers {
    pub const NOT_CONFIRMED: &str = "no health system has confirmed this record";
    pub fn health_stale(days: i64) -> String {
        format!("health data older than {days} days")
    }
    pub const CONTINUITY_NOT_CONFIRMED: &str =
        "medication continuity NOT confirmed: medicines must travel with this person";
}

/// One thing to know, from any section.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SummaryItem {
    /// `continuity-check`, `safety-notice`, `alert`, …
    pub kind: &'static str,
    /// 0 is the most urgent.
    pub urgency: u8,
    pub title: String,
    /// What to do or know, in plain words.
    pub text: String,
    pub source: String,
    pub owner: Owner,
    pub last_updated: DateTime<Utc>,
    pub href: String,
    /// The item in the caller's view (a notice view, an alert, a check).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SectionView {
    pub key: &'static str,
    pub title: &'static str,
    /// `shown` (maybe with no items: see `message`) or `withheld` by the agreement.
    pub status: &'static str,
    pub message: Option<String>,
    pub items: Vec<SummaryItem>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SummaryView {
    pub prison_number: String,
    pub name: Option<PersonName>,
    pub date_of_birth: Option<NaiveDate>,
    pub custody: CustodyView,
    pub identity: IdentityView,
    /// What is missing or stale, in plain words, most serious first. Never empty silence:
    /// an empty list means nothing is missing.
    pub warnings: Vec<String>,
    /// Every item of every section shown, most urgent first.
    pub items: Vec<SummaryItem>,
    pub sections: Vec<SectionView>,
    pub generated_at: DateTime<Utc>,
}

/// The sections, in the order shown.
#[derive(Debug, Clone, Copy)]
pub enum Section {
    MedicationContinuity,
    SafetyNotices,
    SafetyAlerts,
    Appointments,
}

/// The summary's appointments: today's, and the next ones within this many days.
const APPOINTMENTS_AHEAD_DAYS: i64 = 28;
const NEXT_APPOINTMENTS: usize = 5;

impl Section {
    pub const ALL: [Section; 4] = [
        Self::MedicationContinuity,
        Self::SafetyNotices,
        Self::SafetyAlerts,
        Self::Appointments,
    ];

    fn key(self) -> &'static str {
        match self {
            Self::MedicationContinuity => "medication-continuity",
            Self::SafetyNotices => "safety-notices",
            Self::SafetyAlerts => "safety-alerts",
            Self::Appointments => "appointments",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::MedicationContinuity => "Medication continuity checks",
            Self::SafetyNotices => "Safety notices from healthcare",
            Self::SafetyAlerts => "Safety alerts from the prison",
            Self::Appointments => "Healthcare appointments: today and next",
        }
    }

    fn action(self) -> Action {
        match self {
            Self::MedicationContinuity | Self::SafetyNotices => Action::ReadSafetyNotices,
            Self::SafetyAlerts => Action::ReadAlerts,
            Self::Appointments => Action::ReadAppointments,
        }
    }

    fn empty_message(self) -> &'static str {
        match self {
            Self::MedicationContinuity => "no open medication continuity check",
            Self::SafetyNotices => "no active safety notice for you",
            Self::SafetyAlerts => "no active safety alert",
            Self::Appointments => "no healthcare appointment today or in the next 4 weeks",
        }
    }

    async fn build(
        self,
        state: &AppState,
        caller: &Caller,
        pending: &Pending,
        now: DateTime<Utc>,
        fields: &mut Vec<String>,
    ) -> Result<Vec<SummaryItem>, ApiError> {
        let p = &pending.person;
        let pn = p.prison_number.as_str();
        match self {
            Self::MedicationContinuity => {
                let checks = state
                    .store
                    .continuity_checks(&p.prison_number, true)
                    .await?;
                let mut items = Vec::new();
                for c in checks {
                    fields.push(format!("continuity-check/{}", c.id));
                    let journey = match (&c.kind[..], &c.to_establishment) {
                        ("transfer", Some(to)) => format!("transfer to {to}"),
                        ("transfer", None) => "transfer".to_owned(),
                        _ => "release".to_owned(),
                    };
                    let when = if c.planned { "planned for" } else { "happened" };
                    items.push(SummaryItem {
                        kind: "continuity-check",
                        urgency: 0,
                        title: summary_markers::CONTINUITY_NOT_CONFIRMED.to_owned(),
                        text: format!(
                            "{journey} {when} {}: healthcare must confirm the medicines travel with them",
                            c.due_at.format("%Y-%m-%d %H:%M")
                        ),
                        source: "gatehouse:medication-continuity".into(),
                        owner: Owner::Gatehouse,
                        last_updated: c.raised_at,
                        href: format!("/v1/continuity-checks/{}", c.id),
                        detail: json!({"id": c.id, "kind": c.kind, "planned": c.planned, "from": c.from_establishment,
                                       "to": c.to_establishment, "dueAt": c.due_at, "status": c.status}),
                    });
                }
                Ok(items)
            }
            Self::SafetyNotices => {
                let (views, disclosed) = visible_notices_for(state, caller, p, false, now).await?;
                fields.extend(disclosed);
                Ok(views
                    .into_iter()
                    .map(|v| SummaryItem {
                        kind: "safety-notice",
                        urgency: 1 + v.category.urgency(),
                        title: v.category.as_str().replace('-', " "),
                        text: v.instruction.clone(),
                        source: v.source.clone(),
                        owner: Owner::Health,
                        last_updated: v.last_updated,
                        href: v.links.self_.clone(),
                        detail: serde_json::to_value(&v).unwrap_or_default(),
                    })
                    .collect())
            }
            Self::SafetyAlerts => {
                let page = state
                    .store
                    .alerts(
                        &p.prison_number,
                        true,
                        &PageRequest {
                            after: None,
                            limit: 200,
                        },
                    )
                    .await?;
                let mut items = Vec::new();
                for a in page
                    .items
                    .iter()
                    .filter(|a| a.alert.code.is_safety_relevant())
                {
                    fields.push(format!("alert/{}", a.alert.id));
                    let urgency = match a.alert.code.relevance() {
                        AlertRelevance::RiskToSelf => 1,
                        AlertRelevance::RiskToOthers => 2,
                        AlertRelevance::Health => 3,
                        AlertRelevance::Other => 5,
                    };
                    items.push(SummaryItem {
                        kind: "alert",
                        urgency,
                        title: a.alert.code.description().to_owned(),
                        text: format!(
                            "{} ({}) since {}",
                            a.alert.code.description(),
                            a.alert.code.as_str(),
                            a.alert.active_from.map(|d| d.to_string()).unwrap_or_else(|| "a date not given".into())
                        ),
                        source: a.source.clone(),
                        owner: Owner::Prison,
                        last_updated: a.updated_at,
                        href: format!("/v1/people/{pn}/alerts"),
                        detail: json!({"id": a.alert.id, "code": a.alert.code.as_str(), "description": a.alert.code.description(),
                                       "activeFrom": a.alert.active_from}),
                    });
                }
                Ok(items)
            }
            Self::Appointments => appointment_items(state, caller, p, now, fields).await,
        }
    }
}

/// Today's appointments (whatever their state) and the next few booked ones,
/// with escort needs and at-risk reasons in the text.
async fn appointment_items(
    state: &AppState,
    caller: &Caller,
    p: &gatehouse_store::PersonRecord,
    now: DateTime<Utc>,
    fields: &mut Vec<String>,
) -> Result<Vec<SummaryItem>, ApiError> {
    use super::appointments::{AppointmentView, may_see_clinical};
    let today = now.date_naive();
    let midnight = today.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let horizon = now + chrono::Duration::days(APPOINTMENTS_AHEAD_DAYS);
    let clinical = may_see_clinical(state, caller, p);
    let list = state
        .store
        .appointments_for(&p.prison_number, Some(midnight), false)
        .await?;
    let mut items = Vec::new();
    let mut later = 0;
    for a in list.iter().filter(|a| a.starts_at < horizon) {
        let is_today = a.starts_at.date_naive() == today;
        if !is_today {
            if a.outcome.is_some() || later >= NEXT_APPOINTMENTS {
                continue;
            }
            later += 1;
        }
        let v = AppointmentView::build(a, clinical);
        fields.push(v.disclosed());
        let mut text = vec![v.place_label()];
        if v.escort_needed {
            text.push("escort NOT yet planned".to_owned());
        } else if let Some(e) = &v.escort {
            text.push(format!(
                "escort: {} officer{}, {}, restraint {}",
                e.plan.officers,
                if e.plan.officers == 1 { "" } else { "s" },
                e.plan.vehicle.as_str().replace('-', " "),
                e.plan.restraint.as_str().replace('-', " ")
            ));
        }
        for r in &v.risks {
            text.push(format!("AT RISK ({}): {}", r.reason.as_str(), r.detail));
        }
        if let Some(o) = &v.outcome {
            text.push(match &o.reason {
                Some(reason) => format!("{} ({reason})", o.outcome),
                None => o.outcome.clone(),
            });
        }
        if v.late_change {
            text.push("changed within the last day".to_owned());
        }
        let urgency = match (is_today, v.at_risk || v.escort_needed) {
            (true, true) => 1,
            (true, false) => 2,
            (false, true) => 3,
            (false, false) => 4,
        };
        let when = if is_today {
            format!("today {}", v.starts_at.format("%H:%M"))
        } else {
            v.starts_at.format("%a %e %b %H:%M").to_string()
        };
        items.push(SummaryItem {
            kind: "appointment",
            urgency,
            title: format!("{} {when}", v.type_description),
            text: text.join("; "),
            source: format!("health:{}", v.owner),
            owner: Owner::Health,
            last_updated: v.updated_at,
            href: v.links.self_.clone(),
            detail: serde_json::to_value(&v).unwrap_or_default(),
        });
    }
    Ok(items)
}

/// Builds the summary for the caller, recording one disclosure of everything it shows.
pub async fn build(state: &AppState, caller: &Caller, raw: &str) -> Result<SummaryView, ApiError> {
    let pn = PrisonNumber::parse(raw).map_err(ApiError::bad_field)?;
    let person = state
        .store
        .person(&pn)
        .await?
        .ok_or_else(ApiError::not_found_person)?;
    let pending =
        crate::access::person_access_pending(state, caller, person, Action::ReadSummary, "summary")
            .await?;
    let now = Utc::now();
    let (person_view, person_fields) = person_view(state, caller, &pending.person);
    let mut fields: Vec<String> = person_fields.iter().map(|f| (*f).to_owned()).collect();
    let resource = person_resource(&pending.person);
    let mut sections = Vec::new();
    let mut items = Vec::new();
    for s in Section::ALL {
        if !caller.decide(state, s.action(), &resource).is_permit() {
            sections.push(SectionView {
                key: s.key(),
                title: s.title(),
                status: "withheld",
                message: Some("withheld by your agreement".into()),
                items: vec![],
            });
            continue;
        }
        let mut built = s.build(state, caller, &pending, now, &mut fields).await?;
        built.sort_by_key(|i| i.urgency);
        items.extend(built.iter().cloned());
        sections.push(SectionView {
            key: s.key(),
            title: s.title(),
            status: "shown",
            message: built.is_empty().then(|| s.empty_message().to_owned()),
            items: built,
        });
    }
    items.sort_by_key(|i| i.urgency);
    let warnings = warnings(state, &pending.person, &items, now).await?;
    let person = pending.disclosed(state, caller, fields).await?;
    let _ = person;
    Ok(SummaryView {
        prison_number: person_view.prison_number,
        name: person_view.name,
        date_of_birth: person_view.date_of_birth,
        custody: person_view.custody,
        identity: person_view.identity,
        warnings,
        items,
        sections,
        generated_at: now,
    })
}

/// What is missing or stale, most serious first.
async fn warnings(
    state: &AppState,
    p: &PersonRecord,
    items: &[SummaryItem],
    now: DateTime<Utc>,
) -> Result<Vec<String>, ApiError> {
    let mut w = Vec::new();
    if items.iter().any(|i| i.kind == "continuity-check") {
        w.push(summary_markers::CONTINUITY_NOT_CONFIRMED.to_owned());
    }
    if p.custody.is_none() {
        w.push(markers::NO_MOVEMENT.to_owned());
    }
    if p.nhs_link.is_none() {
        w.push(markers::NOT_LINKED.to_owned());
    }
    let confirmed = p
        .nhs_link
        .as_ref()
        .is_some_and(|l| l.verification == verification::PRESENT_AND_VERIFIED);
    if !confirmed {
        w.push(summary_markers::NOT_CONFIRMED.to_owned());
    }
    // Stale health data: the newest health-owned item is old. (Counted over
    // every notice, whatever the caller's view, without disclosing any.)
    let newest = state
        .store
        .notices_for(&p.prison_number, true)
        .await?
        .iter()
        .map(|n| n.updated_at)
        .max();
    if let Some(t) = newest
        && now - t > Duration::days(HEALTH_STALE_AFTER_DAYS)
    {
        w.push(summary_markers::health_stale(HEALTH_STALE_AFTER_DAYS));
    }
    if p.details.is_none() {
        w.push(markers::NO_DETAILS.to_owned());
    }
    Ok(w)
}

/// The point-of-need summary: custody and location, open medication checks,
/// safety notices in your view, safety alerts, identity status, and what is missing.
#[utoipa::path(get, path = "/v1/people/{prisonNumber}/summary", tag = "people",
    params(("prisonNumber" = String, Path)),
    responses((status = 200, body = SummaryView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn get_summary(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(pn): ApiPath<String>,
) -> Result<Json<SummaryView>, ApiError> {
    Ok(Json(build(&state, &caller, &pn).await?))
}
