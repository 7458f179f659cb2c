//! The landing list: everyone on a wing (or one landing of it) with their
//! safety markers, for the officer doing a roll check (SCENARIOS.md 6).

use super::notices::visible_notices_for;
use crate::access::{disclose, person_resource};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::Utc;
use gatehouse_domain::{EstablishmentCode, ParseError, PersonName};
use gatehouse_policy::{Action, Decision};
use gatehouse_store::{Cursor, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RollParams {
    /// One landing of the wing, e.g. `2`.
    landing: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollEntry {
    pub prison_number: String,
    pub name: Option<PersonName>,
    pub cell: String,
    /// Safety-relevant prison alert codes (when the agreement gives alerts).
    pub alerts: Vec<String>,
    /// The categories of the safety notices the caller may see, most urgent first.
    pub notices: Vec<String>,
    /// An open medication-continuity check.
    pub continuity_not_confirmed: bool,
    /// True when any marker is set: look at this person's summary.
    pub marked: bool,
    pub summary: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollView {
    pub establishment: String,
    pub wing: String,
    pub landing: Option<String>,
    pub people: Vec<RollEntry>,
}

fn segment(field: &str, raw: &str) -> Result<String, ApiError> {
    let ok = !raw.is_empty() && raw.len() <= 8 && raw.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then(|| raw.to_ascii_uppercase())
        .ok_or_else(|| ApiError::bad_field(ParseError::new(field, "must be 1–8 letters or digits")))
}

/// Everyone on a wing (or landing) with their safety markers, by cell.
#[utoipa::path(get, path = "/v1/establishments/{code}/wings/{wing}/summary", tag = "people",
    params(("code" = String, Path), ("wing" = String, Path), RollParams),
    responses((status = 200, body = RollView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn wing_summary(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((code, wing)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<RollParams>,
) -> Result<Json<RollView>, ApiError> {
    let code = EstablishmentCode::parse(&code).map_err(ApiError::bad_field)?;
    let wing = segment("wing", &wing)?;
    let landing = q
        .landing
        .as_deref()
        .map(|l| segment("landing", l))
        .transpose()?;
    crate::access::authorize_establishment(&state, &caller, Action::ReadSummary, &code)?;
    let now = Utc::now();
    let mut people = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = state
            .store
            .people_at(
                &code,
                &PageRequest {
                    after: after.clone(),
                    limit: 500,
                },
            )
            .await?;
        for p in &page.items {
            let Some(cell) = p.custody.as_ref().and_then(|c| c.cell.clone()) else {
                continue;
            };
            if cell.wing() != wing || landing.as_ref().is_some_and(|l| cell.landing() != l) {
                continue;
            }
            let resource = person_resource(p);
            let decision = caller.decide(&state, Action::ReadSummary, &resource);
            if !matches!(decision, Decision::Permit { .. }) {
                disclose(
                    &state,
                    &caller,
                    p,
                    "wing-summary",
                    Action::ReadSummary,
                    &[],
                    &decision,
                )
                .await?;
                continue;
            }
            let mut fields = vec![
                "prisonNumber".to_owned(),
                "name".to_owned(),
                "cell".to_owned(),
            ];
            let alerts = if caller
                .decide(&state, Action::ReadAlerts, &resource)
                .is_permit()
            {
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
                let codes: Vec<String> = page
                    .items
                    .iter()
                    .filter(|a| a.alert.code.is_safety_relevant())
                    .map(|a| a.alert.code.as_str().to_owned())
                    .collect();
                fields.push("alerts".into());
                codes
            } else {
                vec![]
            };
            let (notices, continuity) = if caller
                .decide(&state, Action::ReadSafetyNotices, &resource)
                .is_permit()
            {
                let (views, disclosed) =
                    visible_notices_for(&state, &caller, p, false, now).await?;
                fields.extend(disclosed);
                let open = !state
                    .store
                    .continuity_checks(&p.prison_number, true)
                    .await?
                    .is_empty();
                (
                    views
                        .iter()
                        .map(|v| v.category.as_str().to_owned())
                        .collect::<Vec<_>>(),
                    open,
                )
            } else {
                (vec![], false)
            };
            let field_refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            disclose(
                &state,
                &caller,
                p,
                "wing-summary",
                Action::ReadSummary,
                &field_refs,
                &decision,
            )
            .await?;
            people.push(RollEntry {
                prison_number: p.prison_number.as_str().to_owned(),
                name: p.details.as_ref().map(|d| d.name.clone()),
                cell: cell.as_str().to_owned(),
                marked: !alerts.is_empty() || !notices.is_empty() || continuity,
                alerts,
                notices,
                continuity_not_confirmed: continuity,
                summary: format!("/v1/people/{}/summary", p.prison_number.as_str()),
            });
        }
        match page.next_cursor.as_deref().and_then(Cursor::decode) {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    people.sort_by(|a, b| a.cell.cmp(&b.cell));
    Ok(Json(RollView {
        establishment: code.as_str().to_owned(),
        wing,
        landing,
        people,
    }))
}
