//! The unlock and escort list: a day's healthcare appointments at an
//! establishment (or one wing of it), in time order, each with the safety
//! instructions the caller's staff must follow, the escort needs, the risks
//! and late changes (DESIGN.md §1 failure 2: nobody unlocked or escorted the patient).

use super::appointments::{AppointmentView, may_see_clinical, parse_day};
use super::notices::visible_notices_for;
use crate::access::{disclose, person_resource};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::{NaiveDate, Utc};
use gatehouse_domain::{
    Audience, EstablishmentCode, NoticeCategory, ParseError, PersonName, PrisonNumber,
};
use gatehouse_policy::{Action, Decision};
use gatehouse_store::AppointmentRecord;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UnlockParams {
    /// YYYY-MM-DD (default: today).
    date: Option<String>,
    /// One wing, e.g. `B`: people whose cell is on it.
    wing: Option<String>,
}

/// A safety instruction for the staff who unlock or escort the person.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstructionLine {
    pub category: NoticeCategory,
    pub instruction: String,
    pub audience: Vec<Audience>,
    pub notice: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnlockEntry {
    pub appointment: AppointmentView,
    pub name: Option<PersonName>,
    pub cell: Option<String>,
    /// The safety notices the caller may see, most urgent first.
    pub instructions: Vec<InstructionLine>,
    /// Changed or booked within a day of the start.
    pub late_change: bool,
    /// Cancelled: shown struck through so nobody unlocks for nothing.
    pub cancelled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnlockList {
    pub establishment: String,
    pub establishment_name: Option<String>,
    pub date: NaiveDate,
    pub wing: Option<String>,
    pub entries: Vec<UnlockEntry>,
    /// Appointments of people the caller may not see (counted, not shown).
    pub withheld: usize,
}

fn wing_segment(raw: &str) -> Result<String, ApiError> {
    let ok = !raw.is_empty() && raw.len() <= 8 && raw.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then(|| raw.to_ascii_uppercase()).ok_or_else(|| {
        ApiError::bad_field(ParseError::new("wing", "must be 1–8 letters or digits"))
    })
}

/// The list for a caller (the REST handler and the printable page share it).
pub async fn unlock_list_for(
    state: &AppState,
    caller: &Caller,
    code: &EstablishmentCode,
    day: NaiveDate,
    wing: Option<&str>,
) -> Result<UnlockList, ApiError> {
    let wing = wing.map(wing_segment).transpose()?;
    crate::access::authorize_establishment(state, caller, Action::ReadAppointments, code)?;
    let now = Utc::now();
    let appointments = state.store.appointments_at(code, day).await?;
    // One decision, one read of the notices and one disclosure record per
    // person, however many appointments they have that day.
    let mut by_person: Vec<(PrisonNumber, Vec<&AppointmentRecord>)> = Vec::new();
    let mut index: HashMap<PrisonNumber, usize> = HashMap::new();
    for a in &appointments {
        let i = *index.entry(a.prison_number.clone()).or_insert_with(|| {
            by_person.push((a.prison_number.clone(), Vec::new()));
            by_person.len() - 1
        });
        by_person[i].1.push(a);
    }
    let mut entries = Vec::new();
    let mut withheld = 0;
    for (pn, list) in by_person {
        let Some(p) = state.store.person(&pn).await? else {
            continue;
        };
        let cell = p.custody.as_ref().and_then(|c| c.cell.clone());
        if let Some(w) = &wing
            && cell.as_ref().is_none_or(|c| c.wing() != w)
        {
            continue;
        }
        let resource = person_resource(&p);
        let decision = caller.decide(state, Action::ReadAppointments, &resource);
        if !matches!(decision, Decision::Permit { .. }) {
            disclose(
                state,
                caller,
                &p,
                "unlock-list",
                Action::ReadAppointments,
                &[],
                &decision,
            )
            .await?;
            withheld += list.len();
            continue;
        }
        let clinical = may_see_clinical(state, caller, &p);
        let views: Vec<AppointmentView> = list
            .iter()
            .map(|a| AppointmentView::build(a, clinical))
            .collect();
        let mut fields: Vec<String> = views.iter().map(AppointmentView::disclosed).collect();
        fields.extend(["name".to_owned(), "cell".to_owned()]);
        let instructions: Vec<InstructionLine> = if caller
            .decide(state, Action::ReadSafetyNotices, &resource)
            .is_permit()
        {
            let (notices, disclosed) = visible_notices_for(state, caller, &p, false, now).await?;
            fields.extend(disclosed);
            notices
                .into_iter()
                .map(|n| InstructionLine {
                    category: n.category,
                    instruction: n.instruction,
                    audience: n.audience,
                    notice: n.links.self_,
                })
                .collect()
        } else {
            vec![]
        };
        let field_refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        disclose(
            state,
            caller,
            &p,
            "unlock-list",
            Action::ReadAppointments,
            &field_refs,
            &decision,
        )
        .await?;
        for view in views {
            entries.push(UnlockEntry {
                late_change: view.late_change,
                cancelled: view.status == "cancelled",
                appointment: view,
                name: p.details.as_ref().map(|d| d.name.clone()),
                cell: cell.as_ref().map(|c| c.as_str().to_owned()),
                instructions: instructions.clone(),
            });
        }
    }
    // Back into time order (the store's order: start, person, id).
    entries.sort_by(|a, b| {
        (
            a.appointment.starts_at,
            &a.appointment.prison_number,
            &a.appointment.id,
        )
            .cmp(&(
                b.appointment.starts_at,
                &b.appointment.prison_number,
                &b.appointment.id,
            ))
    });
    Ok(UnlockList {
        establishment: code.as_str().to_owned(),
        establishment_name: state.establishment_name(code.as_str()),
        date: day,
        wing,
        entries,
        withheld,
    })
}

/// The unlock and escort list for a day: appointments in time order, each
/// with its safety instructions, escort needs, risks and late changes.
#[utoipa::path(get, path = "/v1/establishments/{code}/appointments", tag = "appointments",
    params(("code" = String, Path), UnlockParams),
    responses((status = 200, body = UnlockList), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn unlock_list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<UnlockParams>,
) -> Result<Json<UnlockList>, ApiError> {
    let code = EstablishmentCode::parse(&code).map_err(ApiError::bad_field)?;
    let day = match q.date.as_deref() {
        Some(d) => parse_day("date", d)?,
        None => Utc::now().date_naive(),
    };
    Ok(Json(
        unlock_list_for(&state, &caller, &code, day, q.wing.as_deref()).await?,
    ))
}
