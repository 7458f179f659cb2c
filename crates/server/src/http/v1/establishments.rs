//! Establishments and who is held there.

use super::paging::{PageParams, page_view};
use super::people::person_view;
use super::views::{PageView, PersonView};
use crate::access::{disclose, person_resource};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use gatehouse_domain::{Establishment, EstablishmentCode};
use gatehouse_policy::{Action, Resource};

/// Every establishment Gatehouse knows: prisons and the special places CRT, HOSP, OUT, TRN.
#[utoipa::path(get, path = "/v1/establishments", tag = "reference data",
    responses((status = 200, body = Vec<Establishment>), (status = 401, body = Problem)), security(("apiKey" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Establishment>>, ApiError> {
    caller.authorize(
        &state,
        Action::ReadReferenceData,
        &Resource::System("reference-data"),
    )?;
    Ok(Json(state.store.list_establishments().await?))
}

/// The people an establishment is responsible for, by prison number.
#[utoipa::path(get, path = "/v1/establishments/{code}/people", tag = "reference data",
    params(("code" = String, Path, description = "Establishment code, e.g. LEI"), PageParams),
    responses((status = 200, body = PageView<PersonView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn people(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<PageView<PersonView>>, ApiError> {
    let code = EstablishmentCode::parse(&code).map_err(ApiError::bad_field)?;
    let request = page.to_request()?;
    let here = Resource::person(Some(code.clone()));
    caller
        .authorize(&state, Action::ReadPerson, &here)
        .map_err(|e| match e {
            ApiError::NotFound(_) => {
                ApiError::NotFound("no establishment with this code is visible to you".into())
            }
            other => other,
        })?;
    if state.establishment_name(code.as_str()).is_none() {
        return Err(ApiError::NotFound(
            "no establishment with this code is visible to you".into(),
        ));
    }
    let found = state.store.people_at(&code, &request).await?;
    for p in &found.items {
        let decision = caller.decide(&state, Action::ReadPerson, &person_resource(p));
        let (_, fields) = person_view(&state, &caller, p);
        disclose(
            &state,
            &caller,
            p,
            "establishment-roll",
            Action::ReadPerson,
            fields,
            &decision,
        )
        .await?;
    }
    let base = format!("/v1/establishments/{}/people", code.as_str());
    Ok(Json(page_view(
        found,
        |p| person_view(&state, &caller, p).0,
        &base,
        request.limit,
    )))
}
