//! People: one person, search, and their movements, alerts and planned movements.

use super::paging::{PageParams, page_view};
use super::views::{AlertView, MovementView, PageView, PersonView, PlannedMovementView};
use crate::access::{View, disclose, person_access, person_access_pending, person_resource};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use gatehouse_domain::person::parse_date;
use gatehouse_domain::{NhsNumber, ParseError, PrisonNumber};
use gatehouse_policy::{Action, Resource};
use gatehouse_store::PersonRecord;
use serde::Deserialize;
use utoipa::IntoParams;

const PERSON_FIELDS: &[&str] = &[
    "prisonNumber",
    "name",
    "dateOfBirth",
    "custody",
    "identityStatus",
];
const PERSON_FIELDS_WITH_NHS: &[&str] = &[
    "prisonNumber",
    "name",
    "dateOfBirth",
    "custody",
    "identityStatus",
    "nhsNumber",
];

/// The person view the caller may have, and the fields it discloses.
pub(crate) fn person_view(
    state: &AppState,
    caller: &Caller,
    p: &PersonRecord,
) -> (PersonView, &'static [&'static str]) {
    let may_see_identity = caller
        .decide(state, Action::ReadIdentity, &person_resource(p))
        .is_permit();
    let fields = if may_see_identity && p.nhs_link.is_some() {
        PERSON_FIELDS_WITH_NHS
    } else {
        PERSON_FIELDS
    };
    (
        PersonView::build(p, may_see_identity, |code| state.establishment_name(code)),
        fields,
    )
}

/// One person: identity, custody status and location, with what is missing said in words.
#[utoipa::path(get, path = "/v1/people/{prisonNumber}", tag = "people",
    params(("prisonNumber" = String, Path, description = "NOMIS prison number, e.g. A1234BC")),
    responses((status = 200, body = PersonView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn get_person(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(pn): ApiPath<String>,
) -> Result<Json<PersonView>, ApiError> {
    let pn_parsed = PrisonNumber::parse(&pn).map_err(ApiError::bad_field)?;
    let person = state
        .store
        .person(&pn_parsed)
        .await?
        .ok_or_else(ApiError::not_found_person)?;
    // Loaded once: the same record is decided on, disclosed and shown.
    let pending =
        person_access_pending(&state, &caller, person, Action::ReadPerson, "person").await?;
    let (view, fields) = person_view(&state, &caller, &pending.person);
    pending
        .disclosed(
            &state,
            &caller,
            fields.iter().map(|f| (*f).to_owned()).collect(),
        )
        .await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// An NHS number (spaces allowed).
    nhs_number: Option<String>,
    /// A name: the family name, or given and family names ("Jon Smyth"). Needs `birthDate`.
    name: Option<String>,
    /// Date of birth, YYYY-MM-DD. Needs `name`.
    birth_date: Option<String>,
}

/// Finds people by NHS number, or by name and date of birth. Only people the caller may see are listed.
#[utoipa::path(get, path = "/v1/people", tag = "people", params(SearchParams),
    responses((status = 200, body = PageView<PersonView>), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("apiKey" = [])))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchParams>,
) -> Result<Json<PageView<PersonView>>, ApiError> {
    caller.authorize(
        &state,
        Action::SearchPeople,
        &Resource::System("reference-data"),
    )?;
    let found = match (q.nhs_number, q.name, q.birth_date) {
        (Some(nhs), None, None) => {
            let nhs = NhsNumber::parse(&nhs).map_err(ApiError::bad_field)?;
            state.store.people_by_nhs_number(&nhs).await?
        }
        (None, Some(name), Some(dob)) => {
            let dob = parse_date("birthDate", &dob).map_err(ApiError::bad_field)?;
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(ApiError::bad_field(ParseError::new(
                    "name",
                    "must be 1–200 characters",
                )));
            }
            let (given, family) = match name.rsplit_once(' ') {
                Some((g, f)) => (Some(g.trim()), f),
                None => (None, name),
            };
            state.store.people_by_name(family, given, dob).await?
        }
        _ => {
            return Err(ApiError::BadRequest {
                detail: "search by nhsNumber alone, or by name together with birthDate".into(),
                errors: vec![FieldError {
                    field: "query".into(),
                    rule: "give nhsNumber, or name and birthDate".into(),
                }],
            });
        }
    };
    let mut items = Vec::new();
    for p in &found {
        let decision = caller.decide(&state, Action::ReadPerson, &person_resource(p));
        if matches!(decision, gatehouse_policy::Decision::Hidden { .. }) {
            continue; // Out of scope: not listed, as if absent.
        }
        let (view, fields) = person_view(&state, &caller, p);
        disclose(
            &state,
            &caller,
            p,
            "search-result",
            Action::ReadPerson,
            fields,
            &decision,
        )
        .await?;
        if decision.is_permit() {
            items.push(view);
        }
    }
    Ok(Json(PageView {
        items,
        next_cursor: None,
        next: None,
    }))
}

/// Movements, newest first.
#[utoipa::path(get, path = "/v1/people/{prisonNumber}/movements", tag = "people",
    params(("prisonNumber" = String, Path), PageParams),
    responses((status = 200, body = PageView<MovementView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn movements(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(pn): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<PageView<MovementView>>, ApiError> {
    let request = page.to_request()?;
    let p = person_access(
        &state,
        &caller,
        &pn,
        Action::ReadMovements,
        View::new("movements", &["movements"]),
    )
    .await?
    .person;
    let found = state.store.movements(&p.prison_number, &request).await?;
    Ok(Json(page_view(
        found,
        |m| MovementView::from(m),
        &format!("/v1/people/{pn}/movements"),
        request.limit,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// `active` (default) or `all`.
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// Prison alerts, with their safety relevance.
#[utoipa::path(get, path = "/v1/people/{prisonNumber}/alerts", tag = "people",
    params(("prisonNumber" = String, Path), AlertParams),
    responses((status = 200, body = PageView<AlertView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn alerts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(pn): ApiPath<String>,
    ApiQuery(q): ApiQuery<AlertParams>,
) -> Result<Json<PageView<AlertView>>, ApiError> {
    let active_only = match q.status.as_deref() {
        None | Some("active") => true,
        Some("all") => false,
        Some(_) => {
            return Err(ApiError::bad_field(ParseError::new(
                "status",
                "must be active or all",
            )));
        }
    };
    let request = PageParams {
        cursor: q.cursor,
        limit: q.limit,
    }
    .to_request()?;
    let p = person_access(
        &state,
        &caller,
        &pn,
        Action::ReadAlerts,
        View::new("alerts", &["alerts"]),
    )
    .await?
    .person;
    let found = state
        .store
        .alerts(&p.prison_number, active_only, &request)
        .await?;
    let base = format!(
        "/v1/people/{pn}/alerts?status={}",
        if active_only { "active" } else { "all" }
    );
    Ok(Json(page_view(
        found,
        |a| AlertView::from(a),
        &base,
        request.limit,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlannedParams {
    /// `planned` (default) or `all` (with cancelled and completed).
    status: Option<String>,
}

/// Planned movements: court dates, planned transfers and releases, hospital escorts.
#[utoipa::path(get, path = "/v1/people/{prisonNumber}/planned-movements", tag = "people",
    params(("prisonNumber" = String, Path), PlannedParams),
    responses((status = 200, body = PageView<PlannedMovementView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn planned_movements(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(pn): ApiPath<String>,
    ApiQuery(q): ApiQuery<PlannedParams>,
) -> Result<Json<PageView<PlannedMovementView>>, ApiError> {
    let include_closed = match q.status.as_deref() {
        None | Some("planned") => false,
        Some("all") => true,
        Some(_) => {
            return Err(ApiError::bad_field(ParseError::new(
                "status",
                "must be planned or all",
            )));
        }
    };
    let p = person_access(
        &state,
        &caller,
        &pn,
        Action::ReadPlannedMovements,
        View::new("planned-movements", &["plannedMovements"]),
    )
    .await?
    .person;
    let items = state
        .store
        .planned_movements(&p.prison_number, include_closed)
        .await?;
    Ok(Json(PageView {
        items: items.iter().map(PlannedMovementView::from).collect(),
        next_cursor: None,
        next: None,
    }))
}
