//! Attendance figures: counts, never people. Attendance rate, DNA by reason
//! and WNB by reason (never merged), by establishment, type, setting and
//! week, and clinician hours lost; as JSON or CSV.
//!
//! Each establishment is authorised on its own (`read-attendance-figures`):
//! a caller asking for all gets the ones its agreement covers, and is told
//! which.

use super::appointments::parse_day;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate, Utc};
use gatehouse_domain::appointment::{DnaReason, WnbReason, week_of};
use gatehouse_domain::attendance::{Figures, Measures};
use gatehouse_domain::{EstablishmentCode, ParseError};
use gatehouse_policy::{Action, Resource};
use gatehouse_store::TallyQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The longest range one request may ask for.
const MAX_RANGE_DAYS: i64 = 3 * 366;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FiguresParams {
    /// YYYY-MM-DD; default a year before `to`. Weeks are counted whole, from their Monday.
    from: Option<String>,
    /// YYYY-MM-DD; default today.
    to: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttendanceReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The establishments counted (those the caller's agreement covers).
    pub establishments: Vec<String>,
    pub figures: Figures,
    pub generated_at: chrono::DateTime<Utc>,
}

struct Range {
    from: NaiveDate,
    to: NaiveDate,
}

fn range(q: &FiguresParams) -> Result<Range, ApiError> {
    let to = match q.to.as_deref() {
        Some(d) => parse_day("to", d)?,
        None => Utc::now().date_naive(),
    };
    let from = match q.from.as_deref() {
        Some(d) => parse_day("from", d)?,
        None => to - Duration::days(365),
    };
    if from > to {
        return Err(ApiError::bad_field(ParseError::new(
            "from",
            "must not be after `to`",
        )));
    }
    if (to - from).num_days() > MAX_RANGE_DAYS {
        return Err(ApiError::bad_field(ParseError::new(
            "from",
            format!("the range may be at most {MAX_RANGE_DAYS} days"),
        )));
    }
    Ok(Range { from, to })
}

fn may_read(state: &AppState, caller: &Caller, code: &EstablishmentCode) -> bool {
    caller
        .decide(
            state,
            Action::ReadAttendanceFigures,
            &Resource::person(Some(code.clone())),
        )
        .is_permit()
}

/// The figures for one establishment, or for every establishment the caller may see (`None`).
pub async fn figures_for(
    state: &AppState,
    caller: &Caller,
    establishment: Option<&EstablishmentCode>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<AttendanceReport, ApiError> {
    let establishments: Vec<EstablishmentCode> = match establishment {
        Some(code) => {
            crate::access::authorize_establishment(
                state,
                caller,
                Action::ReadAttendanceFigures,
                code,
            )?;
            vec![code.clone()]
        }
        None => {
            let all = state.store.list_establishments().await?;
            let visible: Vec<EstablishmentCode> = all
                .into_iter()
                .filter(|e| e.kind == gatehouse_domain::EstablishmentKind::Prison)
                .map(|e| e.code)
                .filter(|c| may_read(state, caller, c))
                .collect();
            if visible.is_empty() {
                return Err(ApiError::Forbidden(
                    "your agreement gives attendance figures for no establishment".into(),
                ));
            }
            visible
        }
    };
    let figures = state
        .store
        .attendance_figures(&TallyQuery {
            establishments: establishments.clone(),
            from: week_of(from),
            to,
        })
        .await?;
    Ok(AttendanceReport {
        from: week_of(from),
        to,
        establishments: establishments
            .iter()
            .map(|e| e.as_str().to_owned())
            .collect(),
        figures,
        generated_at: Utc::now(),
    })
}

fn rate(r: Option<f64>) -> String {
    r.map(|x| format!("{x:.4}")).unwrap_or_default()
}

fn csv_row(out: &mut String, dimension: &str, key: &str, m: &Measures) {
    let mut cells = vec![
        dimension.to_owned(),
        key.to_owned(),
        m.booked.to_string(),
        m.attended.to_string(),
        m.did_not_attend.to_string(),
        m.was_not_brought.to_string(),
        m.cancelled_by_healthcare.to_string(),
        m.rescheduled.to_string(),
        m.cancelled_in_advance.to_string(),
        m.not_recorded.to_string(),
        rate(m.attendance_rate),
        rate(m.did_not_attend_rate),
        rate(m.was_not_brought_rate),
        format!("{:.1}", m.clinician_hours_lost_did_not_attend),
        format!("{:.1}", m.clinician_hours_lost_was_not_brought),
    ];
    for r in DnaReason::ALL {
        cells.push(
            m.did_not_attend_by_reason
                .get(r)
                .copied()
                .unwrap_or(0)
                .to_string(),
        );
    }
    for r in WnbReason::ALL {
        cells.push(
            m.was_not_brought_by_reason
                .get(r)
                .copied()
                .unwrap_or(0)
                .to_string(),
        );
    }
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

/// The report as CSV (RFC 4180): one row per slice, DNA and WNB in separate columns.
pub fn to_csv(report: &AttendanceReport) -> String {
    let mut header = vec![
        "dimension",
        "key",
        "booked",
        "attended",
        "did_not_attend",
        "was_not_brought",
        "cancelled_by_healthcare",
        "rescheduled",
        "cancelled_in_advance",
        "not_recorded",
        "attendance_rate",
        "did_not_attend_rate",
        "was_not_brought_rate",
        "clinician_hours_lost_did_not_attend",
        "clinician_hours_lost_was_not_brought",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    header.extend(
        DnaReason::ALL
            .iter()
            .map(|r| format!("dna_{}", r.as_str().replace('-', "_"))),
    );
    header.extend(
        WnbReason::ALL
            .iter()
            .map(|r| format!("wnb_{}", r.as_str().replace('-', "_"))),
    );
    let mut out = header.join(",");
    out.push_str("\r\n");
    let f = &report.figures;
    csv_row(
        &mut out,
        "total",
        &format!("{}..{}", report.from, report.to),
        &f.total,
    );
    for (dimension, slices) in [
        ("establishment", &f.by_establishment),
        ("type", &f.by_type),
        ("setting", &f.by_setting),
        ("week", &f.by_week),
    ] {
        for s in slices {
            csv_row(&mut out, dimension, &s.key, &s.measures);
        }
    }
    out
}

fn answer(report: AttendanceReport, format: Option<&str>) -> Result<Response, ApiError> {
    match format {
        None | Some("json") => Ok(Json(report).into_response()),
        Some("csv") => {
            let name = format!(
                "attendance-{}-{}-{}.csv",
                if report.establishments.len() == 1 {
                    report.establishments[0].as_str()
                } else {
                    "all"
                },
                report.from,
                report.to
            );
            let mut resp = to_csv(&report).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(resp)
        }
        Some(_) => Err(ApiError::bad_field(ParseError::new(
            "format",
            "must be json or csv",
        ))),
    }
}

/// One establishment's attendance figures.
#[utoipa::path(get, path = "/v1/establishments/{code}/attendance", tag = "appointments",
    params(("code" = String, Path), FiguresParams),
    responses((status = 200, body = AttendanceReport, content_type = "application/json"), (status = 200, body = String, content_type = "text/csv"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn for_establishment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<FiguresParams>,
) -> Result<Response, ApiError> {
    let code = EstablishmentCode::parse(&code).map_err(ApiError::bad_field)?;
    let r = range(&q)?;
    answer(
        figures_for(&state, &caller, Some(&code), r.from, r.to).await?,
        q.format.as_deref(),
    )
}

/// Attendance figures across every establishment the caller's agreement covers.
#[utoipa::path(get, path = "/v1/attendance", tag = "appointments",
    params(FiguresParams),
    responses((status = 200, body = AttendanceReport, content_type = "application/json"), (status = 200, body = String, content_type = "text/csv"), (status = 400, body = Problem), (status = 403, body = Problem)),
    security(("apiKey" = [])))]
pub async fn across_establishments(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<FiguresParams>,
) -> Result<Response, ApiError> {
    let r = range(&q)?;
    answer(
        figures_for(&state, &caller, None, r.from, r.to).await?,
        q.format.as_deref(),
    )
}
