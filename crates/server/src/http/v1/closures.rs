//! Regime closures: an establishment-wide lockdown or curtailed regime, posted
//! by the prison system. Recording one runs the clash rules for every
//! appointment it overlaps, so each owner hears before the day.

use super::views::PageView;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, RawBody, json_body};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use gatehouse_domain::EstablishmentCode;
use gatehouse_domain::appointment::{ClosureInput, ClosureKind};
use gatehouse_policy::{Action, Resource};
use gatehouse_store::{Actor, ClosureRecord, NewClosure};
use serde::Serialize;
use utoipa::ToSchema;

/// A closure, as stored.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClosureView {
    pub id: String,
    pub establishment: String,
    pub kind: ClosureKind,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub reason: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    /// The appointments it put at risk when it was recorded.
    pub appointments_at_risk: i64,
    #[serde(rename = "self")]
    pub self_: String,
}

impl From<ClosureRecord> for ClosureView {
    fn from(c: ClosureRecord) -> Self {
        Self {
            self_: format!("/v1/regime-closures/{}", c.id),
            id: c.id,
            establishment: c.establishment,
            kind: c.kind,
            starts_at: c.starts_at,
            ends_at: c.ends_at,
            reason: c.reason,
            recorded_by: c.recorded_by.consumer,
            recorded_at: c.recorded_at,
            appointments_at_risk: c.appointments_at_risk,
        }
    }
}

/// Closures are the prison's to record: the establishment in scope, and the feed's write.
/// Gives the record the change carries into its transaction.
fn authorize(
    state: &AppState,
    caller: &Caller,
    code: &EstablishmentCode,
    what: &str,
) -> Result<gatehouse_store::WriteAudit, ApiError> {
    crate::access::authorize_establishment(state, caller, Action::ReadAppointments, code)?;
    let decision = caller.permit(state, Action::WriteFeed, &Resource::System("feed"))?;
    let field = format!("establishment/{}:{what}", code.as_str());
    Ok(crate::access::system_write(
        state,
        caller,
        "regime-closure",
        Action::WriteFeed,
        &[&field],
        &decision,
    ))
}

/// Records a lockdown or curtailed regime; answers 201 with how many appointments it put at risk.
#[utoipa::path(post, path = "/v1/establishments/{code}/regime-closures", tag = "appointments",
    params(("code" = String, Path)),
    request_body(content = ClosureInput, content_type = "application/json"),
    responses((status = 201, body = ClosureView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let code = EstablishmentCode::parse(&code).map_err(ApiError::bad_field)?;
    let input: ClosureInput = json_body(&body)?;
    let closure = input
        .parse(Utc::now())
        .map_err(|e| super::versioned::invalid("closure", e))?;
    let audit = authorize(&state, &caller, &code, "record-closure")?;
    let c = state
        .store
        .record_closure(
            &NewClosure {
                establishment: code,
                kind: closure.kind,
                starts_at: closure.starts_at,
                ends_at: closure.ends_at,
                reason: closure.reason,
                by: Actor {
                    consumer: caller.principal.consumer.clone(),
                    on_behalf_of: caller.principal.on_behalf_of.clone(),
                },
            },
            &audit,
        )
        .await?;
    state.delivery.wake();
    let loc = HeaderValue::from_str(&format!("/v1/regime-closures/{}", c.id)).ok();
    let mut resp = (StatusCode::CREATED, Json(ClosureView::from(c))).into_response();
    if let Some(loc) = loc {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

/// Closures in force now or later at an establishment.
#[utoipa::path(get, path = "/v1/establishments/{code}/regime-closures", tag = "appointments",
    params(("code" = String, Path)),
    responses((status = 200, body = PageView<ClosureView>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<PageView<ClosureView>>, ApiError> {
    let code = EstablishmentCode::parse(&code).map_err(ApiError::bad_field)?;
    crate::access::authorize_establishment(&state, &caller, Action::ReadAppointments, &code)?;
    let items = state
        .store
        .closures(&code, Utc::now())
        .await?
        .into_iter()
        .map(ClosureView::from)
        .collect();
    Ok(Json(PageView {
        items,
        next_cursor: None,
        next: None,
    }))
}

/// Ends a closure now (its risks clear from appointments after it).
#[utoipa::path(delete, path = "/v1/regime-closures/{id}", tag = "appointments",
    params(("id" = String, Path)),
    responses((status = 200, body = ClosureView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("apiKey" = [])))]
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ClosureView>, ApiError> {
    let not_found = || ApiError::NotFound("no closure with this id is visible to you".into());
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(not_found());
    }
    let c = state.store.closure(&id).await?.ok_or_else(not_found)?;
    let code = EstablishmentCode::parse(&c.establishment).map_err(|_| not_found())?;
    // An establishment outside the caller's scope answers as if the closure were absent.
    if !caller
        .decide(
            &state,
            Action::ReadAppointments,
            &Resource::person(Some(code.clone())),
        )
        .is_permit()
    {
        return Err(not_found());
    }
    let audit = authorize(&state, &caller, &code, "end-closure")?;
    let by = Actor {
        consumer: caller.principal.consumer.clone(),
        on_behalf_of: caller.principal.on_behalf_of.clone(),
    };
    let c = state
        .store
        .end_closure(&id, Utc::now(), &by, &audit)
        .await?;
    state.delivery.wake();
    Ok(Json(ClosureView::from(c)))
}
