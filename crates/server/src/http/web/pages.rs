//! The pages: find a person, the person page and its live safety section,
//! the wing roll, the escort handover sheet, and the staff list.
//!
//! Every read of a person goes through [`crate::access`] with the staff
//! member's principal ([`super::principal`]), exactly as `/v1` does: the
//! person page records the same disclosures as `GET /v1/people/{pn}`,
//! `…/alerts` and `…/safety-notices`.
//!
//! The live safety section is polled (`/people/{pn}/live?v=<version>`, every
//! second). A poll whose answer would be unchanged discloses nothing new and
//! answers 204 without a record; a changed section is recorded with exactly
//! what it shows, and a refusal is recorded as on any other read.

use super::appointment_lines::{self, AppointmentLine};
use super::principal::{caller_for, caller_under};
use super::session::{Signed, current, role_label};
use super::{Chrome, WebError, encode, fmt, query, render};
use crate::access::{View, person_access, person_resource, record};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::v1::notices::{NoticeLevel, NoticeView, disclosed_fields, notice_level};
use crate::http::v1::people::person_view;
use crate::http::v1::summary::{self, SummaryView};
use crate::http::v1::views::{CustodyView, PersonView, markers};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_domain::{AlertRelevance, Audience, CustodyStatus, EstablishmentCode, PrisonNumber};
use gatehouse_policy::{Action, Decision, Resource};
use gatehouse_store::{AlertRecord, NoticeRecord, PageRequest, PersonRecord, StaffRole};
use sha2::{Digest, Sha256};

// ------------------------------------------------------------------ shared helpers

/// The caller for a signed-in user, or a 403 page for a role that reads no person data.
pub fn caller_of(signed: &Signed) -> Result<Caller, WebError> {
    caller_for(signed.user(), &signed.request_id).ok_or_else(|| {
        WebError::forbidden("Your role manages staff accounts and does not read people's records.")
    })
}

pub fn parse_pn(raw: &str) -> Result<PrisonNumber, WebError> {
    PrisonNumber::parse(raw.trim()).map_err(|_| {
        WebError::bad_request("Enter a prison number in the right format, like A1234BC.")
    })
}

/// "seizure-risk" → "Seizure risk".
pub fn label(kebab: &str) -> String {
    let words = kebab.replace('-', " ");
    let mut c = words.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

pub fn audience_label(a: Audience) -> &'static str {
    match a {
        Audience::AllStaff => "All staff",
        Audience::Wing => "Wing staff",
        Audience::Reception => "Reception",
        Audience::Escort => "Escort staff",
        Audience::Kitchen => "Kitchen",
        Audience::HealthcareOnly => "Healthcare only",
    }
}

fn custody_label(s: CustodyStatus) -> &'static str {
    match s {
        CustodyStatus::InPrison => "In prison",
        CustodyStatus::AtCourt => "At court",
        CustodyStatus::AtHospital => "At hospital",
        CustodyStatus::TemporaryAbsence => "Temporary absence",
        CustodyStatus::InTransit => "In transit",
        CustodyStatus::Released => "Released",
    }
}

fn full_name(v: &PersonView) -> String {
    v.name
        .as_ref()
        .map(|n| format!("{} {}", n.given_name, n.family_name))
        .unwrap_or_else(|| "Name not yet received".to_owned())
}

fn person_name(p: &PersonRecord) -> String {
    p.details
        .as_ref()
        .map(|d| format!("{} {}", d.name.given_name, d.name.family_name))
        .unwrap_or_else(|| "Name not yet received".to_owned())
}

/// A row of a summary list.
pub struct Row {
    pub key: String,
    pub value: String,
}

fn row(key: &str, value: impl Into<String>) -> Row {
    Row {
        key: key.to_owned(),
        value: value.into(),
    }
}

// ------------------------------------------------------------------ notice cards

/// A notice as one reader sees it, ready to show.
pub struct NoticeCard {
    pub id: String,
    pub category: String,
    pub urgent: bool,
    pub instruction: String,
    pub condition: Option<String>,
    pub clinical_detail: Option<String>,
    pub consent: Option<String>,
    pub audience: String,
    pub view: &'static str,
    pub review_by: String,
    pub author: String,
    pub updated: String,
    pub version: i64,
    pub withdrawn: bool,
    /// Show the healthcare links to revise and withdraw.
    pub can_change: bool,
}

/// The parts of a notice view (its JSON, as `/v1` and the summary carry it) that a card shows.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct NoticeDetail {
    id: String,
    version: i64,
    status: gatehouse_domain::NoticeStatus,
    view: NoticeLevel2,
    category: gatehouse_domain::NoticeCategory,
    instruction: String,
    audience: Vec<Audience>,
    condition: Option<String>,
    clinical_detail: Option<String>,
    consent: Option<gatehouse_domain::notice::ConsentRecord>,
    review_by: NaiveDate,
    author: gatehouse_domain::notice::Author,
    last_updated: DateTime<Utc>,
}

#[derive(serde::Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum NoticeLevel2 {
    Instruction,
    Condition,
    Clinical,
}

impl NoticeCard {
    /// A card from a notice view. It goes through the view's JSON, the one path
    /// every card takes (the summary holds its notices as JSON), so a preview
    /// and the page it predicts are made the same way.
    pub fn from_view(v: &NoticeView, can_change: bool) -> Self {
        serde_json::to_value(v)
            .ok()
            .and_then(|j| Self::from_detail(&j, can_change))
            .unwrap_or_else(|| Self {
                id: v.id.clone(),
                category: label(v.category.as_str()),
                urgent: v.category.urgency() == 0,
                instruction: v.instruction.clone(),
                condition: None,
                clinical_detail: None,
                consent: None,
                audience: String::new(),
                view: "instruction",
                review_by: fmt::date(v.review_by),
                author: String::new(),
                updated: fmt::time(v.last_updated),
                version: v.version,
                withdrawn: false,
                can_change: false,
            })
    }

    /// A card from a notice view's JSON; `None` when it is not one.
    pub fn from_detail(json: &serde_json::Value, can_change: bool) -> Option<Self> {
        let v: NoticeDetail = serde_json::from_value(json.clone()).ok()?;
        Some(Self {
            id: v.id,
            category: label(v.category.as_str()),
            urgent: v.category.urgency() == 0,
            instruction: v.instruction,
            condition: v.condition,
            clinical_detail: v.clinical_detail,
            consent: v.consent.as_ref().map(|c| {
                format!(
                    "{} recorded on {} by {}",
                    label(c.kind.as_str()),
                    fmt::date(c.recorded_on),
                    c.recorded_by
                )
            }),
            audience: v
                .audience
                .iter()
                .map(|a| audience_label(*a))
                .collect::<Vec<_>>()
                .join(", "),
            view: match v.view {
                NoticeLevel2::Instruction => "instruction",
                NoticeLevel2::Condition => "condition",
                NoticeLevel2::Clinical => "clinical",
            },
            review_by: fmt::date(v.review_by),
            author: format!(
                "{} ({} {})",
                v.author.role,
                v.author.registration.body.as_str(),
                v.author.registration.number
            ),
            updated: fmt::time(v.last_updated),
            version: v.version,
            withdrawn: v.status == gatehouse_domain::NoticeStatus::Withdrawn,
            can_change: can_change && v.view == NoticeLevel2::Clinical,
        })
    }
}

#[derive(Template)]
#[template(path = "notice_card.html")]
pub struct NoticeCardHtml<'a> {
    pub n: &'a NoticeCard,
    pub preview: bool,
}

pub fn card_html(card: &NoticeCard, preview: bool) -> Result<String, WebError> {
    NoticeCardHtml { n: card, preview }
        .render()
        .map_err(|e| WebError::Internal(anyhow::anyhow!("template: {e}")))
}

// ------------------------------------------------------------------ the safety section

pub struct AlertRow {
    pub code: String,
    pub description: String,
    pub from: String,
    pub relevance: &'static str,
    pub risk_to_self: bool,
}

fn alert_row(a: &AlertRecord) -> AlertRow {
    let relevance = a.alert.code.relevance();
    AlertRow {
        code: a.alert.code.as_str().to_owned(),
        description: a.alert.code.description().to_owned(),
        from: a
            .alert
            .active_from
            .map(fmt::date)
            .unwrap_or_else(|| "date not given".to_owned()),
        relevance: relevance_label(relevance),
        risk_to_self: relevance == AlertRelevance::RiskToSelf,
    }
}

#[derive(Template)]
#[template(path = "safety.html")]
pub struct SafetyFragment {
    pub pn: String,
    /// Open medication-continuity checks as (title, text); `None`: withheld.
    pub continuity: Option<Vec<(String, String)>>,
    pub continuity_message: String,
    /// Rendered cards; `None`: withheld.
    pub notices: Option<Vec<String>>,
    pub notices_message: String,
    /// `None`: withheld by the reader's agreement.
    pub alerts: Option<Vec<AlertRow>>,
    pub alerts_message: String,
    pub can_publish: bool,
    /// Today's and the next appointments; `None`: withheld.
    pub appointments: Option<Vec<AppointmentLine>>,
    pub appointments_message: String,
}

/// The safety section of the person page, from the point-of-need summary.
fn summary_fragment(summary: &SummaryView, can_publish: bool) -> Result<String, WebError> {
    let section = |key: &str| summary.sections.iter().find(|s| s.key == key);
    let shown = |key: &str| section(key).filter(|s| s.status == "shown");
    let message = |key: &str| {
        section(key)
            .and_then(|s| s.message.clone())
            .map(|m| label(&m))
            .unwrap_or_default()
    };
    let notices = match shown("safety-notices") {
        Some(s) => Some(
            s.items
                .iter()
                .filter_map(|i| NoticeCard::from_detail(&i.detail, can_publish))
                .map(|c| card_html(&c, false))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let alerts = shown("safety-alerts").map(|s| {
        s.items
            .iter()
            .map(|i| {
                let code = i.detail["code"].as_str().unwrap_or_default().to_owned();
                let relevance = gatehouse_domain::AlertCode::parse(&code)
                    .map(|c| c.relevance())
                    .unwrap_or(AlertRelevance::Other);
                AlertRow {
                    description: i.title.clone(),
                    from: i.detail["activeFrom"]
                        .as_str()
                        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                        .map(fmt::date)
                        .unwrap_or_else(|| "date not given".to_owned()),
                    relevance: relevance_label(relevance),
                    risk_to_self: relevance == AlertRelevance::RiskToSelf,
                    code,
                }
            })
            .collect()
    });
    SafetyFragment {
        pn: summary.prison_number.clone(),
        continuity: shown("medication-continuity").map(|s| {
            s.items
                .iter()
                .map(|i| (label(&i.title), i.text.clone()))
                .collect()
        }),
        continuity_message: message("medication-continuity"),
        notices,
        notices_message: message("safety-notices"),
        alerts,
        alerts_message: message("safety-alerts"),
        can_publish,
        appointments: shown("appointments").map(|s| {
            s.items
                .iter()
                .filter_map(|i| appointment_lines::from_view_json(&i.detail, summary.generated_at))
                .collect()
        }),
        appointments_message: message("appointments"),
    }
    .render()
    .map_err(|e| WebError::Internal(anyhow::anyhow!("template: {e}")))
}

/// A fingerprint of what the safety section is made from (notice versions
/// and whether each is in force, alerts, continuity checks, appointments), read without
/// disclosing anything: the live poll compares it before building a summary.
async fn live_fingerprint(
    state: &AppState,
    pn: &PrisonNumber,
    now: DateTime<Utc>,
) -> Result<String, WebError> {
    let mut h = Sha256::new();
    for n in state.store.notices_for(pn, true).await? {
        h.update(format!(
            "n|{}|{}|{}|{}\n",
            n.id,
            n.version,
            n.status.as_str(),
            n.content.in_force(now)
        ));
    }
    for a in state
        .store
        .alerts(pn, false, &PageRequest::first(500))
        .await?
        .items
    {
        h.update(format!(
            "a|{}|{}|{}\n",
            a.alert.id,
            a.alert.active,
            a.updated_at.timestamp_micros()
        ));
    }
    for c in state.store.continuity_checks(pn, false).await? {
        h.update(format!("c|{}|{}\n", c.id, c.status));
    }
    // Today's and later appointments: a booking, change, risk or outcome shows without a reload.
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    for a in state
        .store
        .appointments_for(pn, Some(midnight), true)
        .await?
    {
        h.update(format!(
            "p|{}|{}|{}|{}\n",
            a.id,
            a.version,
            a.risks
                .iter()
                .map(|r| format!("{}:{}", r.reason.as_str(), r.source))
                .collect::<Vec<_>>()
                .join(","),
            a.late_change
        ));
    }
    // The day changes which appointments are "today".
    h.update(now.date_naive().to_string());
    Ok(hex::encode(&h.finalize()[..12]))
}

fn relevance_label(r: AlertRelevance) -> &'static str {
    match r {
        AlertRelevance::RiskToSelf => "Risk to self",
        AlertRelevance::Health => "Health",
        AlertRelevance::RiskToOthers => "Risk to others",
        AlertRelevance::Other => "Other",
    }
}

/// What the safety section shows a caller, decided but not yet recorded.
struct SafetyLoad {
    alerts_decision: Decision,
    alerts: Vec<AlertRecord>,
    notices_decision: Decision,
    notices: Vec<NoticeView>,
    notice_fields: Vec<String>,
}

async fn load_safety(
    state: &AppState,
    caller: &Caller,
    person: &PersonRecord,
    now: DateTime<Utc>,
) -> Result<SafetyLoad, WebError> {
    let res = person_resource(person);
    let alerts_decision = caller.decide(state, Action::ReadAlerts, &res);
    let alerts = if alerts_decision.is_permit() {
        state
            .store
            .alerts(&person.prison_number, true, &PageRequest::first(200))
            .await?
            .items
    } else {
        vec![]
    };
    let notices_decision = caller.decide(state, Action::ReadSafetyNotices, &res);
    let mut notices = Vec::new();
    let mut notice_fields = Vec::new();
    if notices_decision.is_permit() {
        // As `visible_notices`: most urgent first, each in the caller's view.
        let mut all = state
            .store
            .notices_for(&person.prison_number, false)
            .await?;
        all.sort_by_key(|n| (n.content.category.urgency(), n.content.valid_from));
        for n in &all {
            if let Some(level) = notice_level(state, caller, person, n, now) {
                notice_fields.push(disclosed_fields(n, level));
                notices.push(NoticeView::build(n, level, now));
            }
        }
    }
    Ok(SafetyLoad {
        alerts_decision,
        alerts,
        notices_decision,
        notices,
        notice_fields,
    })
}

async fn record_safety(
    state: &AppState,
    caller: &Caller,
    person: &PersonRecord,
    load: &SafetyLoad,
    resource: &str,
) -> Result<(), WebError> {
    let alert_fields = if load.alerts_decision.is_permit() {
        vec!["alerts".to_owned()]
    } else {
        vec![]
    };
    record(
        state,
        caller,
        &person.prison_number,
        &format!("{resource}-alerts"),
        Action::ReadAlerts,
        alert_fields,
        &load.alerts_decision,
        None,
    )
    .await?;
    record(
        state,
        caller,
        &person.prison_number,
        &format!("{resource}-safety-notices"),
        Action::ReadSafetyNotices,
        load.notice_fields.clone(),
        &load.notices_decision,
        None,
    )
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ home and search

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    title: &'static str,
    chrome: Chrome,
    errors: Vec<(String, String)>,
    prison_number: String,
    name: String,
    dob_day: String,
    dob_month: String,
    dob_year: String,
    searched: bool,
    results: Vec<ResultRow>,
}

struct ResultRow {
    pn: String,
    name: String,
    dob: String,
    location: String,
}

fn home_page(signed: &Signed) -> HomePage {
    HomePage {
        title: "Find a person",
        chrome: signed.chrome(),
        errors: vec![],
        prison_number: String::new(),
        name: String::new(),
        dob_day: String::new(),
        dob_month: String::new(),
        dob_year: String::new(),
        searched: false,
        results: vec![],
    }
}

/// `GET /`: find a person (and, for officers and healthcare, the wing roll).
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let Some(session) = current(&state, &headers).await? else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    let signed = Signed {
        session,
        request_id: super::request_id(&headers),
    };
    if signed.user().role == StaffRole::Admin {
        return Ok(Redirect::to("/staff").into_response());
    }
    Ok(render(&home_page(&signed))?.into_response())
}

/// `GET /search?prisonNumber=` or `?name=&dob-day=&dob-month=&dob-year=`.
pub async fn search(
    State(state): State<AppState>,
    signed: Signed,
    uri: Uri,
) -> Result<Response, WebError> {
    let caller = caller_of(&signed)?;
    let q = query(&uri);
    let mut page = home_page(&signed);
    page.searched = true;
    if let Some(raw) = q.get("prisonNumber") {
        page.prison_number = raw.chars().take(20).collect();
        return match PrisonNumber::parse(&raw.to_ascii_uppercase()) {
            Ok(pn) => Ok(Redirect::to(&format!("/people/{}", pn.as_str())).into_response()),
            Err(_) => {
                page.errors.push((
                    "prison-number".into(),
                    "Enter a prison number in the right format, like A1234BC".into(),
                ));
                Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
            }
        };
    }
    page.name = q
        .get("name")
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    page.dob_day = q
        .get("dob-day")
        .unwrap_or_default()
        .chars()
        .take(4)
        .collect();
    page.dob_month = q
        .get("dob-month")
        .unwrap_or_default()
        .chars()
        .take(4)
        .collect();
    page.dob_year = q
        .get("dob-year")
        .unwrap_or_default()
        .chars()
        .take(6)
        .collect();
    if page.name.is_empty() {
        page.errors.push((
            "name".into(),
            "Enter a prison number, or a name and date of birth".into(),
        ));
    }
    let dob = match (
        page.dob_day.parse::<u32>(),
        page.dob_month.parse::<u32>(),
        page.dob_year.parse::<i32>(),
    ) {
        (Ok(d), Ok(m), Ok(y)) if (1900..=2100).contains(&y) => NaiveDate::from_ymd_opt(y, m, d),
        _ => None,
    };
    if dob.is_none() {
        page.errors.push((
            "dob-day".into(),
            "Date of birth must be a real date, like 3 4 1985".into(),
        ));
    }
    let (Some(dob), false) = (dob, page.name.is_empty()) else {
        return Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response());
    };
    caller.authorize(
        &state,
        Action::SearchPeople,
        &Resource::System("reference-data"),
    )?;
    let name = page.name.trim().to_owned();
    let (given, family) = match name.rsplit_once(' ') {
        Some((g, f)) => (Some(g.trim()), f),
        None => (None, name.as_str()),
    };
    let found = state.store.people_by_name(family, given, dob).await?;
    for p in &found {
        let decision = caller.decide(&state, Action::ReadPerson, &person_resource(p));
        if matches!(decision, Decision::Hidden { .. }) {
            continue; // Out of scope: not listed, as if absent.
        }
        let (view, fields) = person_view(&state, &caller, p);
        crate::access::disclose(
            &state,
            &caller,
            p,
            "web-search-result",
            Action::ReadPerson,
            fields,
            &decision,
        )
        .await?;
        if decision.is_permit() {
            page.results.push(ResultRow {
                pn: view.prison_number.clone(),
                name: full_name(&view),
                dob: view.date_of_birth.map(fmt::date).unwrap_or_default(),
                location: view
                    .custody
                    .establishment_name
                    .clone()
                    .or(view.custody.location.clone())
                    .unwrap_or_else(|| "Unknown".into()),
            });
        }
    }
    Ok(render(&page)?.into_response())
}

// ------------------------------------------------------------------ the person page

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    title: String,
    chrome: Chrome,
    pn: String,
    name: String,
    custody: Vec<Row>,
    custody_tag: String,
    identity: Vec<Row>,
    not_linked: bool,
    identity_message: Option<String>,
    missing: Vec<String>,
    warnings: Vec<String>,
    safety: String,
    live_version: String,
    flash: Option<String>,
}

fn custody_rows(c: &CustodyView, pn: &str, date_of_birth: Option<NaiveDate>) -> (Vec<Row>, String) {
    let mut rows = vec![row("Prison number", pn)];
    rows.push(row(
        "Date of birth",
        date_of_birth
            .map(fmt::date)
            .unwrap_or_else(|| "Not yet received".into()),
    ));
    let tag = c
        .status
        .map(custody_label)
        .unwrap_or("Custody status unknown")
        .to_owned();
    if let Some(est) = &c.establishment {
        rows.push(row(
            "Establishment",
            match &c.establishment_name {
                Some(n) => format!("{n} ({est})"),
                None => est.clone(),
            },
        ));
    }
    if let Some(loc) = &c.location
        && Some(loc) != c.establishment.as_ref()
    {
        rows.push(row("Now at", loc.clone()));
    }
    rows.push(row(
        "Cell",
        c.cell.clone().unwrap_or_else(|| "No cell recorded".into()),
    ));
    if let Some(d) = &c.destination {
        rows.push(row("Going to", d.clone()));
    }
    if let Some(since) = c.since {
        rows.push(row("Since", fmt::time(since)));
    }
    rows.push(row(
        "Source",
        format!(
            "{} (owner: prison)",
            c.source.clone().unwrap_or_else(|| "prison-feed".into())
        ),
    ));
    (rows, tag)
}

/// A refusal from the summary as a page: hidden and absent are the same 404.
fn summary_error(e: ApiError) -> WebError {
    match e {
        ApiError::Forbidden(_) => {
            WebError::forbidden("Your role's agreement does not include this person's summary.")
        }
        other => other.into(),
    }
}

/// `GET /people/{pn}`: the point-of-need summary (custody, identity, what is
/// missing, continuity checks, notices and alerts in the reader's view),
/// built and recorded exactly as `GET /v1/people/{pn}/summary`.
pub async fn person(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    uri: Uri,
) -> Result<Response, WebError> {
    let caller = caller_of(&signed)?;
    let pn = parse_pn(&raw)?;
    let person = state
        .store
        .person(&pn)
        .await?
        .ok_or_else(WebError::not_found)?;
    let now = Utc::now();
    // Taken before the summary, so a change in between shows at the first poll.
    let live_version = live_fingerprint(&state, &pn, now).await?;
    let summary = summary::build(&state, &caller, pn.as_str())
        .await
        .map_err(summary_error)?;
    let can_publish = caller
        .decide(&state, Action::WriteNotice, &person_resource(&person))
        .is_permit();
    let safety = summary_fragment(&summary, can_publish)?;

    let name = summary
        .name
        .as_ref()
        .map(|n| format!("{} {}", n.given_name, n.family_name))
        .unwrap_or_else(|| "Name not yet received".to_owned());
    let (custody, custody_tag) = custody_rows(&summary.custody, pn.as_str(), summary.date_of_birth);
    let ident = &summary.identity;
    let mut identity = Vec::new();
    let not_linked = ident.status == "not-linked";
    if let Some(nhs) = &ident.nhs_number_display {
        identity.push(row("NHS number", nhs.clone()));
        if let Some(m) = &ident.method {
            identity.push(row(
                "Linked by",
                format!(
                    "{} ({})",
                    label(m),
                    ident.linked_by.clone().unwrap_or_default()
                ),
            ));
        }
        if let Some(v) = &ident.verification {
            identity.push(row("Verification", v.clone()));
        }
        if let Some(at) = ident.linked_at {
            identity.push(row("Linked on", fmt::time(at)));
        }
    }
    let risk_to_self = summary
        .items
        .iter()
        .filter(|i| i.kind == "alert")
        .filter(|i| {
            i.detail["code"]
                .as_str()
                .and_then(|c| gatehouse_domain::AlertCode::parse(c).ok())
                .is_some_and(|c| c.relevance() == AlertRelevance::RiskToSelf)
        })
        .map(|i| format!("Risk to self: {}", i.title));
    let warnings = summary
        .warnings
        .iter()
        .filter(|w| w.as_str() != markers::NOT_LINKED)
        .map(|w| label(w))
        .chain(risk_to_self)
        .collect();
    let flash = query(&uri).get("done").and_then(|d| match d {
        "published" => Some("Safety notice published. Prison staff see it now.".to_owned()),
        "revised" => Some("Safety notice revised.".to_owned()),
        "withdrawn" => Some("Safety notice withdrawn.".to_owned()),
        _ => None,
    });
    let page = PersonPage {
        title: name.clone(),
        chrome: signed.chrome(),
        pn: pn.as_str().to_owned(),
        name,
        custody,
        custody_tag,
        identity,
        not_linked,
        identity_message: ident.message.map(|m| {
            if m == markers::NOT_LINKED {
                "Not linked to an NHS number".to_owned()
            } else {
                label(m)
            }
        }),
        missing: vec![],
        warnings,
        safety,
        live_version,
        flash,
    };
    Ok(render(&page)?.into_response())
}

/// `GET /people/{pn}/live?v=<version>`: the safety section again, when what it
/// is made from has changed (204 otherwise, disclosing and recording nothing).
pub async fn live(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    uri: Uri,
) -> Result<Response, WebError> {
    let Some(session) = current(&state, &headers).await? else {
        return Ok((StatusCode::UNAUTHORIZED, "signed out").into_response());
    };
    let signed = Signed {
        session,
        request_id: super::request_id(&headers),
    };
    let caller = caller_of(&signed)?;
    let pn = parse_pn(&raw)?;
    let person = state
        .store
        .person(&pn)
        .await?
        .ok_or_else(WebError::not_found)?;
    let decision = caller.decide(&state, Action::ReadSummary, &person_resource(&person));
    if !decision.is_permit() {
        // A refusal is recorded like any other.
        record(
            &state,
            &caller,
            &pn,
            "web-live-summary",
            Action::ReadSummary,
            vec![],
            &decision,
            None,
        )
        .await?;
        return Err(match decision {
            Decision::Deny { .. } => WebError::forbidden("Your agreement does not allow this."),
            _ => WebError::not_found(),
        });
    }
    let version = live_fingerprint(&state, &pn, Utc::now()).await?;
    if query(&uri).get("v") == Some(version.as_str()) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let summary = summary::build(&state, &caller, pn.as_str())
        .await
        .map_err(summary_error)?;
    let can_publish = caller
        .decide(&state, Action::WriteNotice, &person_resource(&person))
        .is_permit();
    let html = summary_fragment(&summary, can_publish)?;
    let mut resp = Html(html).into_response();
    if let Ok(v) = HeaderValue::from_str(&version) {
        resp.headers_mut().insert("x-live-version", v);
    }
    Ok(resp)
}

// ------------------------------------------------------------------ the wing roll

#[derive(Template)]
#[template(path = "roll_form.html")]
struct RollFormPage {
    title: &'static str,
    chrome: Chrome,
    establishments: Vec<String>,
    /// The user's establishment, when they have exactly one.
    default_establishment: String,
    error: Option<String>,
}

/// `GET /roll?establishment=&wing=&landing=`: the form, or on to the roll.
pub async fn roll_form(signed: Signed, uri: Uri) -> Result<Response, WebError> {
    let q = query(&uri);
    let est = q.get("establishment").map(|s| s.to_ascii_uppercase());
    let wing = q.get("wing").map(|s| s.to_ascii_uppercase());
    let mut error = None;
    if let (Some(est), Some(wing)) = (&est, &wing) {
        if EstablishmentCode::parse(est).is_ok() && valid_part(wing, 4) {
            let landing = q
                .get("landing")
                .map(|l| format!("?landing={}", encode(&l.to_ascii_uppercase())))
                .unwrap_or_default();
            return Ok(
                Redirect::to(&format!("/establishments/{est}/wings/{wing}{landing}"))
                    .into_response(),
            );
        }
        error = Some("Enter an establishment code like LEI and a wing like A".to_owned());
    }
    let page = RollFormPage {
        title: "Wing roll",
        chrome: signed.chrome(),
        establishments: signed.user().establishments.to_codes(),
        default_establishment: match signed.user().establishments.to_codes().as_slice() {
            [one] if one != "*" => one.clone(),
            _ => String::new(),
        },
        error: error.clone(),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

fn valid_part(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

struct RollRow {
    cell: String,
    pn: String,
    name: String,
    alerts: Vec<(String, String)>,
    notices: Vec<String>,
    alerts_withheld: bool,
}

#[derive(Template)]
#[template(path = "roll.html")]
struct RollPage {
    title: String,
    chrome: Chrome,
    establishment: String,
    establishment_name: String,
    wing: String,
    landing: Option<String>,
    rows: Vec<RollRow>,
}

/// The most people one roll page reads from an establishment (a large prison holds ~1,500).
const ROLL_SCAN_LIMIT: usize = 5_000;

/// `GET /establishments/{code}/wings/{wing}?landing=`: who is on the wing, by cell, with safety markers.
pub async fn roll(
    State(state): State<AppState>,
    signed: Signed,
    Path((code, wing)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, WebError> {
    let caller = caller_of(&signed)?;
    let code = EstablishmentCode::parse(&code.to_ascii_uppercase())
        .map_err(|_| WebError::bad_request("Enter an establishment code like LEI."))?;
    let wing = wing.to_ascii_uppercase();
    if !valid_part(&wing, 4) {
        return Err(WebError::bad_request(
            "Enter a wing like A (letters and digits, up to 4).",
        ));
    }
    let landing = match query(&uri).get("landing") {
        None => None,
        Some(l) => {
            let l = l.to_ascii_uppercase();
            if !valid_part(&l, 3) {
                return Err(WebError::bad_request(
                    "Enter a landing like 2 (letters and digits, up to 3).",
                ));
            }
            Some(l)
        }
    };
    let name = state
        .establishment_name(code.as_str())
        .ok_or_else(WebError::not_found)?;
    caller
        .authorize(
            &state,
            Action::ReadPerson,
            &Resource::person(Some(code.clone())),
        )
        .map_err(|e| match e {
            crate::error::ApiError::NotFound(_) => WebError::not_found(),
            other => other.into(),
        })?;
    let now = Utc::now();
    let mut on_wing = Vec::new();
    let mut request = PageRequest::first(500);
    let mut scanned = 0;
    loop {
        let page = state.store.people_at(&code, &request).await?;
        scanned += page.items.len();
        for p in page.items {
            let Some(cell) = p.custody.as_ref().and_then(|c| c.cell.clone()) else {
                continue;
            };
            if cell.establishment() != code || cell.wing() != wing {
                continue;
            }
            if landing.as_deref().is_some_and(|l| cell.landing() != l) {
                continue;
            }
            on_wing.push((cell, p));
        }
        match page
            .next_cursor
            .and_then(|c| gatehouse_store::Cursor::decode(&c))
        {
            Some(next) if scanned < ROLL_SCAN_LIMIT => request.after = Some(next),
            _ => break,
        }
    }
    on_wing.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rows = Vec::new();
    for (cell, p) in &on_wing {
        let res = person_resource(p);
        let decision = caller.decide(&state, Action::ReadPerson, &res);
        if matches!(decision, Decision::Hidden { .. }) {
            continue;
        }
        crate::access::disclose(
            &state,
            &caller,
            p,
            "web-wing-roll",
            Action::ReadPerson,
            &["prisonNumber", "name", "custody"],
            &decision,
        )
        .await?;
        if !decision.is_permit() {
            continue;
        }
        let load = load_safety(&state, &caller, p, now).await?;
        let markers = SafetyLoad {
            notice_fields: load
                .notices
                .iter()
                .map(|v| format!("safety-notice/{}@v{}:category", v.id, v.version))
                .collect(),
            ..load
        };
        record_safety(&state, &caller, p, &markers, "web-wing-roll").await?;
        rows.push(RollRow {
            cell: cell.as_str().to_owned(),
            pn: p.prison_number.as_str().to_owned(),
            name: person_name(p),
            alerts: markers
                .alerts
                .iter()
                .filter(|a| a.alert.code.relevance() != AlertRelevance::Other)
                .map(|a| {
                    (
                        a.alert.code.as_str().to_owned(),
                        a.alert.code.description().to_owned(),
                    )
                })
                .collect(),
            notices: markers
                .notices
                .iter()
                .map(|v| label(v.category.as_str()))
                .collect(),
            alerts_withheld: !markers.alerts_decision.is_permit(),
        });
    }
    let page = RollPage {
        title: format!("{name}: wing {wing}"),
        chrome: signed.chrome(),
        establishment: code.as_str().to_owned(),
        establishment_name: name,
        wing,
        landing,
        rows,
    };
    Ok(render(&page)?.into_response())
}

// ------------------------------------------------------------------ the escort handover sheet

struct HandoverNotice {
    category: String,
    instruction: String,
    condition: Option<String>,
    audience: String,
    review_by: String,
}

#[derive(Template)]
#[template(path = "handover.html")]
struct HandoverPage {
    title: String,
    chrome: Chrome,
    pn: String,
    name: String,
    summary: Vec<Row>,
    alerts: Option<Vec<AlertRow>>,
    notices: Option<Vec<HandoverNotice>>,
    printed_by: String,
    printed_at: String,
    officer_note: bool,
    /// Today's and the next appointments; `None`: withheld.
    appointments: Option<Vec<AppointmentLine>>,
    appointments_message: String,
}

/// `GET /people/{pn}/handover`: the printable escort handover sheet. It holds
/// the person's summary, the active alerts with their dates, and the
/// instructions meant for escorts (audience `escort` or `all-staff`), each in
/// no more than the escort's view: never clinical detail.
pub async fn handover(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let caller = caller_of(&signed)?;
    let pn = parse_pn(&raw)?;
    let person = state
        .store
        .person(&pn)
        .await?
        .ok_or_else(WebError::not_found)?;
    let (_, fields) = person_view(&state, &caller, &person);
    let person = person_access(
        &state,
        &caller,
        pn.as_str(),
        Action::ReadPerson,
        View::new("web-handover", fields),
    )
    .await?
    .person;
    let (view, _) = person_view(&state, &caller, &person);
    let now = Utc::now();
    let res = person_resource(&person);

    let alerts_decision = caller.decide(&state, Action::ReadAlerts, &res);
    let alerts = if alerts_decision.is_permit() {
        Some(
            state
                .store
                .alerts(&pn, true, &PageRequest::first(200))
                .await?
                .items
                .iter()
                .map(alert_row)
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    record(
        &state,
        &caller,
        &pn,
        "web-handover-alerts",
        Action::ReadAlerts,
        if alerts_decision.is_permit() {
            vec!["alerts".into()]
        } else {
            vec![]
        },
        &alerts_decision,
        None,
    )
    .await?;

    // The escort's view decides how much of each notice goes on the sheet.
    let escort = caller_under(
        "escort-contractor",
        signed.user().establishments.clone(),
        "handover",
        "",
    );
    let notices_decision = caller.decide(&state, Action::ReadSafetyNotices, &res);
    let mut fields = Vec::new();
    let notices = if notices_decision.is_permit() {
        let mut all: Vec<NoticeRecord> = state.store.notices_for(&pn, false).await?;
        all.sort_by_key(|n| (n.content.category.urgency(), n.content.valid_from));
        let mut out = Vec::new();
        for n in &all {
            let for_escorts = n
                .content
                .audience
                .iter()
                .any(|a| matches!(a, Audience::Escort | Audience::AllStaff));
            if !for_escorts {
                continue;
            }
            let Some(mine) = notice_level(&state, &caller, &person, n, now) else {
                continue;
            };
            let Some(theirs) = escort
                .as_ref()
                .and_then(|e| notice_level(&state, e, &person, n, now))
            else {
                continue;
            };
            let level = mine.min(theirs).min(NoticeLevel::Condition);
            fields.push(disclosed_fields(n, level));
            let v = NoticeView::build(n, level, now);
            out.push(HandoverNotice {
                category: label(v.category.as_str()),
                instruction: v.instruction,
                condition: v.condition,
                audience: v
                    .audience
                    .iter()
                    .map(|a| audience_label(*a))
                    .collect::<Vec<_>>()
                    .join(", "),
                review_by: fmt::date(v.review_by),
            });
        }
        Some(out)
    } else {
        None
    };
    record(
        &state,
        &caller,
        &pn,
        "web-handover-safety-notices",
        Action::ReadSafetyNotices,
        fields,
        &notices_decision,
        None,
    )
    .await?;

    let appointments = handover_appointments(&state, &caller, &person, now).await?;

    let (mut summary, tag) = custody_rows(&view.custody, pn.as_str(), view.date_of_birth);
    summary.insert(0, row("Custody status", tag));
    let page = HandoverPage {
        title: format!("Escort handover: {}", full_name(&view)),
        chrome: signed.chrome(),
        pn: pn.as_str().to_owned(),
        name: full_name(&view),
        summary,
        alerts,
        notices,
        printed_by: format!(
            "{} ({})",
            signed.user().display_name,
            role_label(signed.user().role)
        ),
        printed_at: fmt::time(now),
        officer_note: signed.user().role == StaffRole::Officer,
        appointments,
        appointments_message: "No healthcare appointment today or in the next 4 weeks".into(),
    };
    Ok(render(&page)?.into_response())
}

/// Today's appointments and the next few booked ones (as the summary
/// chooses them), never with health-only fields, recorded as read.
async fn handover_appointments(
    state: &AppState,
    caller: &Caller,
    person: &PersonRecord,
    now: DateTime<Utc>,
) -> Result<Option<Vec<AppointmentLine>>, WebError> {
    use crate::http::v1::appointments::AppointmentView;
    let decision = caller.decide(state, Action::ReadAppointments, &person_resource(person));
    let mut fields = Vec::new();
    let mut lines = Vec::new();
    if decision.is_permit() {
        let today = now.date_naive();
        let midnight = today.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let horizon = now + chrono::Duration::days(28);
        let mut later = 0;
        for a in state
            .store
            .appointments_for(&person.prison_number, Some(midnight), false)
            .await?
            .iter()
            .filter(|a| a.starts_at < horizon)
        {
            if a.starts_at.date_naive() != today {
                if a.outcome.is_some() || later >= 5 {
                    continue;
                }
                later += 1;
            }
            let v = AppointmentView::build(a, false);
            fields.push(v.disclosed());
            if let Some(l) = serde_json::to_value(&v)
                .ok()
                .and_then(|j| appointment_lines::from_view_json(&j, now))
            {
                lines.push(l);
            }
        }
    }
    record(
        state,
        caller,
        &person.prison_number,
        "web-handover-appointments",
        Action::ReadAppointments,
        fields,
        &decision,
        None,
    )
    .await?;
    Ok(decision.is_permit().then_some(lines))
}

// ------------------------------------------------------------------ staff accounts (admin)

struct StaffRow {
    username: String,
    display_name: String,
    role: String,
    establishments: String,
    state: String,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    title: &'static str,
    chrome: Chrome,
    users: Vec<StaffRow>,
}

/// `GET /staff`: the staff accounts (administrators only). Add accounts with `gatehouse staff add`.
pub async fn staff_list(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, WebError> {
    if signed.user().role != StaffRole::Admin {
        return Err(WebError::forbidden(
            "Only administrators see the staff accounts.",
        ));
    }
    let users = state
        .store
        .list_staff_users()
        .await?
        .into_iter()
        .map(|u| StaffRow {
            username: u.username,
            display_name: u.display_name,
            role: role_label(u.role).to_owned(),
            establishments: u.establishments.to_codes().join(", "),
            state: if u.disabled_at.is_some() {
                "Disabled".into()
            } else {
                "Active".into()
            },
        })
        .collect();
    let page = StaffPage {
        title: "Staff accounts",
        chrome: signed.chrome(),
        users,
    };
    Ok(render(&page)?.into_response())
}
