//! The attendance dashboard (`/attendance`) and its CSV (`/attendance.csv`):
//! the figures of `GET /v1/establishments/{code}/attendance`, read through
//! the same function under the staff member's principal (so the same
//! agreement decides, and the same audit records), drawn as server-rendered
//! SVG ([`super::charts`]) with a data table under each chart.
//!
//! *Did not attend* and *was not brought* are shown apart everywhere: in the
//! headline figures, the trend, the reasons and the hours lost.

use super::charts::{self, Chart, pct};
use super::pages::caller_of;
use super::session::Signed;
use super::{Chrome, WebError, encode, fmt, query, render};
use crate::http::v1::attendance::{AttendanceReport, figures_for, to_csv};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate, Utc};
use gatehouse_domain::EstablishmentCode;
use gatehouse_domain::appointment::AppointmentType;
use gatehouse_domain::attendance::Slice;
use gatehouse_policy::Purpose;

/// The longest period one dashboard reads: the figures come from weekly
/// tallies, so this bounds the work, not the detail.
const MAX_DAYS: i64 = 3 * 366;
/// The default period: the last year, so the trend shows a season.
const DEFAULT_DAYS: i64 = 364;

/// What the filter form asked for, checked.
struct Filter {
    from: NaiveDate,
    to: NaiveDate,
    establishment: Option<EstablishmentCode>,
}

impl Filter {
    fn parse(q: &super::FormData, today: NaiveDate) -> Result<Self, WebError> {
        let date = |key: &str, default: NaiveDate| match q.get(key) {
            None => Ok(default),
            Some(raw) => gatehouse_domain::parse_day(key, raw).map_err(|_| {
                WebError::bad_request(format!(
                    "The {key} date must be a real date written like 2026-01-31."
                ))
            }),
        };
        let to = date("to", today)?;
        let from = date("from", to - Duration::days(DEFAULT_DAYS))?;
        if from > to {
            return Err(WebError::bad_request(
                "The from date must be on or before the to date.",
            ));
        }
        if (to - from).num_days() > MAX_DAYS {
            return Err(WebError::bad_request(
                "Choose a period of at most three years.",
            ));
        }
        let establishment = match q.get("establishment") {
            None | Some("all") => None,
            Some(raw) => Some(EstablishmentCode::parse(&raw.to_ascii_uppercase()).map_err(
                |_| {
                    WebError::bad_request("Choose an establishment from the list, or all of yours.")
                },
            )?),
        };
        Ok(Self {
            from,
            to,
            establishment,
        })
    }

    /// The same filter as a query string, for the CSV link.
    fn query(&self) -> String {
        let mut q = format!("from={}&to={}", self.from, self.to);
        if let Some(e) = &self.establishment {
            q.push_str(&format!("&establishment={}", encode(e.as_str())));
        }
        q
    }
}

/// One headline figure.
struct Headline {
    label: &'static str,
    value: String,
    /// `data-kind` on the card: `did-not-attend` and `was-not-brought` are styled apart.
    kind: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    title: &'static str,
    chrome: Chrome,
    from: String,
    to: String,
    period: String,
    /// (code, name, selected) for the establishment select.
    establishments: Vec<(String, String, bool)>,
    covering: String,
    csv_href: String,
    headlines: Vec<Headline>,
    /// One chart; a list so the page draws it with the same include as the others.
    trend: Vec<Chart>,
    reasons: Vec<Chart>,
    groups: Vec<Chart>,
    hours: Vec<Chart>,
}

fn establishment_label(state: &AppState, code: &str) -> String {
    match state.establishment_name(code) {
        Some(name) => format!("{name} ({code})"),
        None => code.to_owned(),
    }
}

fn type_label(code: &str) -> String {
    match AppointmentType::parse(code) {
        Ok(t) => format!("{} ({code})", t.description()),
        Err(_) => code.to_owned(),
    }
}

fn setting_label(key: &str) -> String {
    match key {
        "internal" => "Healthcare unit".to_owned(),
        "in-cell" => "In cell".to_owned(),
        "external" => "External (escorted)".to_owned(),
        other => super::pages::label(other),
    }
}

fn labels(slices: &[Slice], f: impl Fn(&str) -> String) -> Vec<String> {
    slices.iter().map(|s| f(&s.key)).collect()
}

/// The establishments the user may choose: theirs, or every prison for a national role.
fn choices(
    state: &AppState,
    signed: &Signed,
    chosen: Option<&EstablishmentCode>,
) -> Vec<(String, String, bool)> {
    let codes = signed.user().establishments.to_codes();
    let mut codes: Vec<String> = if codes.iter().any(|c| c == "*") {
        state.establishment_names.keys().cloned().collect()
    } else {
        codes
    };
    codes.sort();
    codes
        .into_iter()
        .map(|c| {
            let on = chosen.is_some_and(|e| e.as_str() == c);
            (c.clone(), establishment_label(state, &c), on)
        })
        .collect()
}

async fn report(
    state: &AppState,
    signed: &Signed,
    filter: &Filter,
) -> Result<AttendanceReport, WebError> {
    let mut caller = caller_of(signed)?;
    // Counts read to run the service are for `operations` (the agreements grant
    // figures for it); a governance lead keeps reading for `governance`.
    if caller.purpose != Purpose::Governance {
        caller.purpose = Purpose::Operations;
    }
    Ok(figures_for(
        state,
        &caller,
        filter.establishment.as_ref(),
        filter.from,
        filter.to,
    )
    .await?)
}

/// `GET /attendance?from=&to=&establishment=`: the dashboard.
pub async fn dashboard(
    State(state): State<AppState>,
    signed: Signed,
    uri: Uri,
) -> Result<Response, WebError> {
    let filter = Filter::parse(&query(&uri), Utc::now().date_naive())?;
    let report = report(&state, &signed, &filter).await?;
    let f = &report.figures;
    let t = &f.total;
    let headlines = vec![
        Headline {
            label: "Appointments booked",
            value: t.booked.to_string(),
            kind: "booked",
        },
        Headline {
            label: "Attendance rate",
            value: pct(t.attendance_rate),
            kind: "attended",
        },
        Headline {
            label: "Did not attend (patient's choice)",
            value: format!("{} ({})", pct(t.did_not_attend_rate), t.did_not_attend),
            kind: "did-not-attend",
        },
        Headline {
            label: "Was not brought (prison's reason)",
            value: format!("{} ({})", pct(t.was_not_brought_rate), t.was_not_brought),
            kind: "was-not-brought",
        },
        Headline {
            label: "Clinician hours lost: did not attend",
            value: format!("{:.1}", t.clinician_hours_lost_did_not_attend),
            kind: "did-not-attend",
        },
        Headline {
            label: "Clinician hours lost: was not brought",
            value: format!("{:.1}", t.clinician_hours_lost_was_not_brought),
            kind: "was-not-brought",
        },
        Headline {
            label: "Past appointments with no outcome recorded",
            value: t.not_recorded.to_string(),
            kind: "not-recorded",
        },
    ];
    let est_labels = labels(&f.by_establishment, |k| establishment_label(&state, k));
    let setting_labels = labels(&f.by_setting, setting_label);
    let type_labels = labels(&f.by_type, type_label);
    let groups = vec![
        charts::rates_by(
            "chart-by-establishment",
            "Rates by establishment",
            &f.by_establishment,
            &est_labels,
        ),
        charts::rates_by(
            "chart-by-setting",
            "Rates by setting: healthcare unit, in cell, external",
            &f.by_setting,
            &setting_labels,
        ),
        charts::rates_by(
            "chart-by-type",
            "Rates by appointment type",
            &f.by_type,
            &type_labels,
        ),
    ];
    let hours = vec![
        charts::hours_lost_by(
            "chart-hours-by-establishment",
            "Clinician hours lost, by establishment",
            &f.by_establishment,
            &est_labels,
        ),
        charts::hours_lost_by(
            "chart-hours-by-setting",
            "Clinician hours lost, by setting",
            &f.by_setting,
            &setting_labels,
        ),
    ];
    let covering = if report.establishments.is_empty() {
        "No establishments".to_owned()
    } else {
        report
            .establishments
            .iter()
            .map(|c| establishment_label(&state, c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let page = DashboardPage {
        title: "Healthcare attendance",
        chrome: signed.chrome(),
        from: filter.from.to_string(),
        to: filter.to.to_string(),
        period: format!("{} to {}", fmt::date(report.from), fmt::date(report.to)),
        establishments: choices(&state, &signed, filter.establishment.as_ref()),
        covering,
        csv_href: format!("/attendance.csv?{}", filter.query()),
        headlines,
        trend: vec![charts::trend(f)],
        reasons: vec![charts::dna_reasons(t), charts::wnb_reasons(t)],
        groups,
        hours,
    };
    Ok(render(&page)?.into_response())
}

/// `GET /attendance.csv?from=&to=&establishment=`: the same CSV as the REST
/// export, for a signed-in browser (which holds no API key).
pub async fn csv(
    State(state): State<AppState>,
    signed: Signed,
    uri: Uri,
) -> Result<Response, WebError> {
    let filter = Filter::parse(&query(&uri), Utc::now().date_naive())?;
    let report = report(&state, &signed, &filter).await?;
    let mut resp = to_csv(&report).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let name = format!(
        "attachment; filename=\"attendance-{}-{}-{}.csv\"",
        filter.establishment.as_ref().map_or("all", |e| e.as_str()),
        filter.from,
        filter.to
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<Filter, WebError> {
        Filter::parse(
            &super::super::FormData::parse(q),
            NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        )
    }

    #[test]
    fn the_filter_defaults_to_the_last_year_and_refuses_nonsense() {
        let f = parse("").unwrap();
        assert_eq!(f.to.to_string(), "2026-06-30");
        assert_eq!(f.from.to_string(), "2025-07-01");
        assert!(f.establishment.is_none());
        let f = parse("from=2026-01-01&to=2026-03-31&establishment=lei").unwrap();
        assert_eq!(f.establishment.unwrap().as_str(), "LEI");
        for bad in [
            "from=2026-13-01",
            "to=yesterday",
            "from=2026-05-01&to=2026-04-01",
            "from=2010-01-01&to=2026-01-01",
            "establishment=%3Cscript%3E",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse("from=2026-01-01&to=2026-02-01&establishment=all")
                .unwrap()
                .query(),
            "from=2026-01-01&to=2026-02-01"
        );
    }
}
