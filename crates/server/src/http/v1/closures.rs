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
use chrono::{DateTime, Duration, Utc};
use gatehouse_domain::appointment::ClosureKind;
use gatehouse_domain::{EstablishmentCode, ParseError};
use gatehouse_policy::{Action, Resource};
use gatehouse_store::{Actor, ClosureRecord, NewClosure};
use serde::{Deserialize, Serialize};
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

/// A closure, as the prison system posts it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClosureInput {
    /// `lockdown` or `regime-curtailed`.
    pub kind: Option<String>,
    /// RFC 3339.
    pub starts_at: Option<String>,
    /// RFC 3339; open-ended when absent (end it with DELETE).
    pub ends_at: Option<String>,
    /// Operational words only, e.g. "staff shortage" (never about a person).
    pub reason: Option<String>,
}

fn time(field: &str, raw: &str) -> Result<DateTime<Utc>, ParseError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ParseError::new(field, "must be an RFC 3339 date-time"))
}

/// A closure that passed every rule: kind, start, end (open-ended when `None`), reason.
type ParsedClosure = (ClosureKind, DateTime<Utc>, Option<DateTime<Utc>>, String);

impl ClosureInput {
    fn parse(&self, now: DateTime<Utc>) -> Result<ParsedClosure, Vec<ParseError>> {
        let mut errors = Vec::new();
        let kind = self
            .kind
            .as_deref()
            .ok_or_else(|| ParseError::new("kind", "is required"))
            .and_then(ClosureKind::parse)
            .map_err(|e| errors.push(e))
            .ok();
        let starts = self
            .starts_at
            .as_deref()
            .ok_or_else(|| ParseError::new("startsAt", "is required"))
            .and_then(|s| time("startsAt", s))
            .map_err(|e| errors.push(e))
            .ok();
        let ends = self
            .ends_at
            .as_deref()
            .map(|s| time("endsAt", s))
            .transpose()
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        let reason = match self.reason.as_deref().map(str::trim) {
            Some(r)
                if !r.is_empty()
                    && r.chars().count() <= 200
                    && !r.chars().any(char::is_control) =>
            {
                Some(r.to_owned())
            }
            Some(_) => {
                errors.push(ParseError::new(
                    "reason",
                    "must be 1–200 characters of plain text",
                ));
                None
            }
            None => {
                errors.push(ParseError::new("reason", "is required"));
                None
            }
        };
        if let (Some(s), Some(e)) = (starts, ends)
            && e <= s
        {
            errors.push(ParseError::new("endsAt", "must be after startsAt"));
        }
        if let Some(s) = starts
            && s < now - Duration::days(1)
        {
            errors.push(ParseError::new(
                "startsAt",
                "must not be more than a day in the past",
            ));
        }
        match (kind, starts, reason) {
            (Some(k), Some(s), Some(r)) if errors.is_empty() => Ok((k, s, ends, r)),
            _ => Err(errors),
        }
    }
}

fn authorize(state: &AppState, caller: &Caller, code: &EstablishmentCode) -> Result<(), ApiError> {
    crate::access::authorize_establishment(state, caller, Action::ReadAppointments, code)?;
    caller.authorize(state, Action::WriteFeed, &Resource::System("feed"))
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
    let (kind, starts_at, ends_at, reason) = input
        .parse(Utc::now())
        .map_err(|e| super::appointments::invalid("closure", e))?;
    authorize(&state, &caller, &code)?;
    let c = state
        .store
        .record_closure(&NewClosure {
            establishment: code,
            kind,
            starts_at,
            ends_at,
            reason,
            by: Actor {
                consumer: caller.principal.consumer.clone(),
                on_behalf_of: caller.principal.on_behalf_of.clone(),
            },
        })
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
    authorize(&state, &caller, &code)?;
    let by = Actor {
        consumer: caller.principal.consumer.clone(),
        on_behalf_of: caller.principal.on_behalf_of.clone(),
    };
    let c = state.store.end_closure(&id, Utc::now(), &by).await?;
    state.delivery.wake();
    Ok(Json(ClosureView::from(c)))
}
