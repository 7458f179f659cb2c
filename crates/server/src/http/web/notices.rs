//! Healthcare publishes, revises and withdraws safety notices through forms.
//!
//! Before publishing, the clinician previews exactly what prison staff will
//! see: the parsed notice is put to the wing officers' and escorts'
//! agreements (the same [`notice_level`] decision their own pages make) and
//! each view is built with [`NoticeView::build`], without storing anything.
//! The preview card is the same template the officer's page shows.
//!
//! Writes go through the same store calls, access checks, disclosure records,
//! outbox events and delivery wake-up as `POST /v1/people/{pn}/safety-notices`,
//! `PUT` and `DELETE /v1/safety-notices/{id}`.

use super::pages::{NoticeCard, caller_of, card_html, label, parse_pn};
use super::principal::preview_readers;
use super::session::Signed;
use super::{Chrome, Form, FormData, WebError, csrf, render};
use crate::access::{View, person_access, person_access_pending, person_write_access};
use crate::auth::Caller;
use crate::http::v1::notices::{NoticeLevel, NoticeView, disclosed_fields, notice_level};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use gatehouse_domain::notice::{
    AuthorInput, ConsentInput, ConsentKind, NoticeInput, NoticeLawfulBasis, RegistrationBody,
    RegistrationInput, parse_author, parse_reason,
};
use gatehouse_domain::{Audience, DisclosureLevel, NoticeCategory, NoticeStatus, ParseError};
use gatehouse_policy::Action;
use gatehouse_store::{NewNoticeVersion, NoticeRecord, NoticeWithdrawal, PersonRecord};

/// The form's fields as typed, to show again.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    pub category: String,
    pub instruction: String,
    pub audience: Vec<String>,
    pub disclosure_level: String,
    pub condition: String,
    pub clinical_detail: String,
    pub consent_kind: String,
    pub consent_on: String,
    pub consent_by: String,
    pub lawful_basis: String,
    pub review_by: String,
    pub author_role: String,
    pub reg_body: String,
    pub reg_number: String,
    pub reason: String,
    pub version: String,
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl Fields {
    fn from_form(f: &FormData) -> Self {
        let g = |k: &str, max: usize| cut(f.get(k).unwrap_or_default(), max);
        Self {
            category: g("category", 60),
            instruction: g("instruction", 2000),
            audience: f
                .all("audience")
                .into_iter()
                .take(10)
                .map(|a| cut(&a, 40))
                .collect(),
            disclosure_level: g("disclosure-level", 40),
            condition: g("condition", 1000),
            clinical_detail: g("clinical-detail", 8000),
            consent_kind: g("consent-kind", 40),
            consent_on: g("consent-on", 20),
            consent_by: g("consent-by", 400),
            lawful_basis: g("lawful-basis", 40),
            review_by: g("review-by", 20),
            author_role: g("author-role", 200),
            reg_body: g("reg-body", 10),
            reg_number: g("reg-number", 20),
            reason: g("reason", 2000),
            version: g("version", 20),
        }
    }

    fn from_notice(n: &NoticeRecord) -> Self {
        let c = &n.content;
        Self {
            category: c.category.as_str().into(),
            instruction: c.instruction.clone(),
            audience: c.audience.iter().map(|a| a.as_str().to_owned()).collect(),
            disclosure_level: c.disclosure_level.as_str().into(),
            condition: c.condition.clone().unwrap_or_default(),
            clinical_detail: c.clinical_detail.clone().unwrap_or_default(),
            consent_kind: c
                .consent
                .as_ref()
                .map(|k| k.kind.as_str().to_owned())
                .unwrap_or_default(),
            consent_on: c
                .consent
                .as_ref()
                .map(|k| k.recorded_on.to_string())
                .unwrap_or_default(),
            consent_by: c
                .consent
                .as_ref()
                .map(|k| k.recorded_by.clone())
                .unwrap_or_default(),
            lawful_basis: c.lawful_basis.as_str().into(),
            review_by: c.review_by.to_string(),
            author_role: n.author.role.clone(),
            reg_body: n.author.registration.body.as_str().into(),
            reg_number: n.author.registration.number.clone(),
            reason: String::new(),
            version: n.version.to_string(),
        }
    }

    fn input(&self) -> NoticeInput {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        NoticeInput {
            category: opt(&self.category),
            instruction: opt(&self.instruction),
            audience: Some(self.audience.clone()),
            disclosure_level: opt(&self.disclosure_level),
            condition: opt(&self.condition),
            clinical_detail: opt(&self.clinical_detail),
            consent: (!self.consent_kind.is_empty()).then(|| ConsentInput {
                kind: self.consent_kind.clone(),
                recorded_on: self.consent_on.clone(),
                recorded_by: self.consent_by.clone(),
            }),
            lawful_basis: opt(&self.lawful_basis),
            valid_from: None,
            valid_until: None,
            review_by: opt(&self.review_by),
            author: Some(self.author()),
            reason: opt(&self.reason),
        }
    }

    fn author(&self) -> AuthorInput {
        AuthorInput {
            role: self.author_role.clone(),
            registration: RegistrationInput {
                body: self.reg_body.clone(),
                number: self.reg_number.clone(),
            },
        }
    }
}

/// The form field a rule belongs to, for the error summary's links.
fn field_id(field: &str) -> &'static str {
    match field {
        "category" => "category",
        "instruction" => "instruction",
        "audience" => "audience",
        "disclosureLevel" => "disclosure-level",
        "condition" => "condition",
        "clinicalDetail" => "clinical-detail",
        "lawfulBasis" => "lawful-basis",
        "reviewBy" => "review-by",
        "author.role" => "author-role",
        "reason" => "reason",
        f if f.starts_with("consent") => "consent-kind",
        f if f.starts_with("author") => "reg-number",
        _ => "instruction",
    }
}

fn field_label(field: &str) -> &'static str {
    match field_id(field) {
        "category" => "Category",
        "instruction" => "Instruction",
        "audience" => "Who it is for",
        "disclosure-level" => "What staff may be told",
        "condition" => "Condition",
        "clinical-detail" => "Clinical detail",
        "lawful-basis" => "Lawful basis",
        "review-by" => "Review by",
        "author-role" => "Your role",
        "reason" => "Reason",
        "consent-kind" => "Consent",
        _ => "Professional registration",
    }
}

fn errors_of(errors: Vec<ParseError>) -> Vec<(String, String)> {
    errors
        .into_iter()
        .map(|e| {
            (
                field_id(&e.field).to_owned(),
                format!("{}: {}", field_label(&e.field), e.rule),
            )
        })
        .collect()
}

pub struct Choice {
    pub value: &'static str,
    pub text: String,
    /// Selected or checked in the form as it stands.
    pub on: bool,
}

fn choices<T: Copy>(all: &[T], value: impl Fn(T) -> &'static str, current: &str) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            value: value(*v),
            text: label(value(*v)),
            on: value(*v) == current,
        })
        .collect()
}

fn register_choices(current: &str) -> Vec<Choice> {
    RegistrationBody::ALL
        .iter()
        .map(|b| Choice {
            value: b.as_str(),
            text: b.as_str().to_owned(),
            on: b.as_str() == current,
        })
        .collect()
}

/// One reader's preview: their label and the card they will see, if any.
pub struct PreviewPanel {
    pub reader: &'static str,
    pub card: Option<String>,
}

#[derive(Template)]
#[template(path = "notice_form.html")]
struct NoticeFormPage {
    title: String,
    chrome: Chrome,
    heading: String,
    action: String,
    pn: String,
    person_name: String,
    revising: bool,
    f: Fields,
    errors: Vec<(String, String)>,
    preview: Vec<PreviewPanel>,
    own_view: Option<String>,
    categories: Vec<Choice>,
    audiences: Vec<Choice>,
    bases: Vec<Choice>,
    bodies: Vec<Choice>,
    consent_kinds: Vec<Choice>,
    with_condition: bool,
}

impl NoticeFormPage {
    fn new(
        signed: &Signed,
        person: &PersonRecord,
        revising: Option<&NoticeRecord>,
        f: Fields,
    ) -> Self {
        let pn = person.prison_number.as_str().to_owned();
        let person_name = person
            .details
            .as_ref()
            .map(|d| format!("{} {}", d.name.given_name, d.name.family_name))
            .unwrap_or_else(|| pn.clone());
        let (heading, action) = match revising {
            Some(n) => (
                format!("Revise a safety notice for {person_name}"),
                format!("/notices/{}/revise", n.id),
            ),
            None => (
                format!("Publish a safety notice for {person_name}"),
                format!("/people/{pn}/notices/new"),
            ),
        };
        Self {
            title: heading.clone(),
            chrome: signed.chrome(),
            heading,
            action,
            pn,
            person_name,
            revising: revising.is_some(),
            errors: vec![],
            preview: vec![],
            own_view: None,
            categories: choices(NoticeCategory::ALL, |c| c.as_str(), &f.category),
            audiences: Audience::ALL
                .iter()
                .map(|a| Choice {
                    value: a.as_str(),
                    text: super::pages::audience_label(*a).to_owned(),
                    on: f.audience.iter().any(|x| x == a.as_str()),
                })
                .collect(),
            bases: choices(NoticeLawfulBasis::ALL, |b| b.as_str(), &f.lawful_basis),
            bodies: register_choices(&f.reg_body),
            consent_kinds: choices(ConsentKind::ALL, |k| k.as_str(), &f.consent_kind),
            with_condition: f.disclosure_level == "with-condition",
            f,
        }
    }
}

/// A notice that is not stored: what publishing (or revising) would make.
fn unsaved(
    person: &PersonRecord,
    base: Option<&NoticeRecord>,
    parsed: &gatehouse_domain::notice::NoticeVersionInput,
    caller: &Caller,
) -> NoticeRecord {
    let now = Utc::now();
    NoticeRecord {
        id: base
            .map(|b| b.id.clone())
            .unwrap_or_else(|| "preview".into()),
        prison_number: person.prison_number.clone(),
        version: base.map(|b| b.version + 1).unwrap_or(1),
        status: NoticeStatus::Active,
        content: parsed.content.clone(),
        author: parsed.author.clone(),
        created_at: base.map(|b| b.created_at).unwrap_or(now),
        updated_at: now,
        updated_by: caller.principal.consumer.clone(),
    }
}

/// Fills the preview: each prison reader's view, decided by their agreement, and the author's own.
fn fill_preview(
    state: &AppState,
    signed: &Signed,
    caller: &Caller,
    person: &PersonRecord,
    record: &NoticeRecord,
    page: &mut NoticeFormPage,
) -> Result<(), WebError> {
    let now = Utc::now();
    for (reader, reader_caller) in preview_readers(signed.user()) {
        let card = match notice_level(state, &reader_caller, person, record, now) {
            Some(level) => Some(card_html(
                &NoticeCard::from_view(
                    &NoticeView::build(record, level.min(NoticeLevel::Condition), now),
                    false,
                ),
                true,
            )?),
            None => None,
        };
        page.preview.push(PreviewPanel { reader, card });
    }
    if let Some(level) = notice_level(state, caller, person, record, now) {
        page.own_view = Some(card_html(
            &NoticeCard::from_view(&NoticeView::build(record, level, now), false),
            true,
        )?);
    }
    Ok(())
}

fn may_write(state: &AppState, caller: &Caller, person: &PersonRecord) -> Result<(), WebError> {
    if caller
        .decide(
            state,
            Action::WriteNotice,
            &crate::access::person_resource(person),
        )
        .is_permit()
    {
        Ok(())
    } else {
        Err(WebError::forbidden(
            "Only healthcare staff publish and change safety notices.",
        ))
    }
}

/// `GET /people/{pn}/notices/new`
pub async fn new_form(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let caller = caller_of(&signed)?;
    let pn = parse_pn(&raw)?;
    let person = person_access(
        &state,
        &caller,
        pn.as_str(),
        Action::ReadPerson,
        View::new("web-notice-form", &["prisonNumber", "name"]),
    )
    .await?
    .person;
    may_write(&state, &caller, &person)?;
    let fields = Fields {
        disclosure_level: DisclosureLevel::InstructionOnly.as_str().into(),
        lawful_basis: NoticeLawfulBasis::DirectCare.as_str().into(),
        review_by: (Utc::now().date_naive() + chrono::Duration::days(90)).to_string(),
        ..Fields::default()
    };
    Ok(render(&NoticeFormPage::new(&signed, &person, None, fields))?.into_response())
}

/// `POST /people/{pn}/notices/new`: `action=preview` shows what staff will see; `action=publish` publishes.
pub async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form,
) -> Result<Response, WebError> {
    csrf::check_origin(&headers)?;
    signed.check_csrf(&form)?;
    let caller = caller_of(&signed)?;
    let pn = parse_pn(&raw)?;
    let fields = Fields::from_form(&form);
    let publishing = form.get("action") == Some("publish");
    let parsed = fields.input().parse(Utc::now());
    if !publishing || parsed.is_err() {
        let person = person_access(
            &state,
            &caller,
            pn.as_str(),
            Action::ReadPerson,
            View::new("web-notice-form", &["prisonNumber", "name"]),
        )
        .await?
        .person;
        may_write(&state, &caller, &person)?;
        let mut page = NoticeFormPage::new(&signed, &person, None, fields);
        return match parsed {
            Err(errors) => {
                page.errors = errors_of(errors);
                Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
            }
            Ok(parsed) => {
                let record = unsaved(&person, None, &parsed, &caller);
                fill_preview(&state, &signed, &caller, &person, &record, &mut page)?;
                Ok(render(&page)?.into_response())
            }
        };
    }
    let parsed = parsed.map_err(|_| WebError::bad_request("The notice is not valid."))?;
    let access = person_write_access(
        &state,
        &caller,
        pn.as_str(),
        Action::WriteNotice,
        View::new("safety-notice", &["safety-notice:publish"]),
    )
    .await?;
    state
        .store
        .publish_notice(
            &access.person.prison_number,
            &NewNoticeVersion {
                content: parsed.content,
                author: parsed.author,
                reason: parsed.reason,
                consumer: caller.principal.consumer.clone(),
            },
            &access.audit,
        )
        .await?;
    state.delivery.wake();
    metrics::counter!("gatehouse_safety_notices_written_total", "change" => "published")
        .increment(1);
    Ok(Redirect::to(&format!("/people/{}?done=published", pn.as_str())).into_response())
}

/// Loads a notice and its person; an unknown or malformed id is a 404 page.
async fn load(state: &AppState, id: &str) -> Result<(NoticeRecord, PersonRecord), WebError> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(WebError::not_found());
    }
    let n = state
        .store
        .notice(id)
        .await?
        .ok_or_else(WebError::not_found)?;
    let p = state
        .store
        .person(&n.prison_number)
        .await?
        .ok_or_else(WebError::not_found)?;
    Ok((n, p))
}

/// The notice, for a change: the caller sees it whole (health), and the record of that is written.
async fn open_for_change(
    state: &AppState,
    caller: &Caller,
    id: &str,
    resource: &'static str,
) -> Result<(NoticeRecord, PersonRecord), WebError> {
    let (n, person) = load(state, id).await?;
    let pending =
        person_access_pending(state, caller, person, Action::ReadSafetyNotices, resource).await?;
    let level = notice_level(state, caller, &pending.person, &n, Utc::now());
    let fields = level
        .map(|l| vec![disclosed_fields(&n, l)])
        .unwrap_or_default();
    let person = pending.disclosed(state, caller, fields).await?;
    match level {
        None => Err(WebError::not_found()),
        Some(NoticeLevel::Clinical) => {
            if n.status == NoticeStatus::Withdrawn {
                return Err(WebError::page(
                    StatusCode::CONFLICT,
                    "This notice has been withdrawn",
                    "A withdrawn notice cannot be changed. Publish a new one if it is needed again.",
                ));
            }
            may_write(state, caller, &person)?;
            Ok((n, person))
        }
        Some(_) => Err(WebError::forbidden(
            "Only healthcare staff who see the whole notice may change it.",
        )),
    }
}

/// Checks the write, as `/v1` does before a change; gives the record the
/// store writes with the change.
async fn write_access(
    state: &AppState,
    caller: &Caller,
    n: &NoticeRecord,
) -> Result<gatehouse_store::WriteAudit, WebError> {
    let access = person_write_access(
        state,
        caller,
        n.prison_number.as_str(),
        Action::WriteNotice,
        View::new(
            "safety-notice",
            &[&format!("safety-notice/{}:change", n.id)],
        ),
    )
    .await?;
    Ok(access.audit)
}

fn expected_version(f: &FormData) -> Result<i64, WebError> {
    f.get("version")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            WebError::bad_request(
                "The form is missing the version of the notice you read. Go back and reload it.",
            )
        })
}

/// `GET /notices/{id}/revise`
pub async fn revise_form(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let caller = caller_of(&signed)?;
    let (n, person) = open_for_change(&state, &caller, &id, "web-notice-revise-form").await?;
    let page = NoticeFormPage::new(&signed, &person, Some(&n), Fields::from_notice(&n));
    Ok(render(&page)?.into_response())
}

/// `POST /notices/{id}/revise`: preview or store a new version (with the reason).
pub async fn revise(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, WebError> {
    csrf::check_origin(&headers)?;
    signed.check_csrf(&form)?;
    let caller = caller_of(&signed)?;
    let expected = expected_version(&form)?;
    let (n, person) = open_for_change(&state, &caller, &id, "web-notice-revise").await?;
    let fields = Fields::from_form(&form);
    let mut parsed = fields.input().parse(Utc::now());
    if let Ok(p) = &parsed
        && p.reason.is_none()
    {
        parsed = Err(vec![ParseError::new(
            "reason",
            "is required when revising: say why the notice changed",
        )]);
    }
    let publishing = form.get("action") == Some("publish");
    if !publishing || parsed.is_err() {
        let mut page = NoticeFormPage::new(&signed, &person, Some(&n), fields);
        return match parsed {
            Err(errors) => {
                page.errors = errors_of(errors);
                Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
            }
            Ok(parsed) => {
                let record = unsaved(&person, Some(&n), &parsed, &caller);
                fill_preview(&state, &signed, &caller, &person, &record, &mut page)?;
                Ok(render(&page)?.into_response())
            }
        };
    }
    let parsed = parsed.map_err(|_| WebError::bad_request("The notice is not valid."))?;
    let audit = write_access(&state, &caller, &n).await?;
    state
        .store
        .revise_notice(
            &n.id,
            Some(expected),
            &NewNoticeVersion {
                content: parsed.content,
                author: parsed.author,
                reason: parsed.reason,
                consumer: caller.principal.consumer.clone(),
            },
            &audit,
        )
        .await?;
    state.delivery.wake();
    metrics::counter!("gatehouse_safety_notices_written_total", "change" => "revised").increment(1);
    Ok(Redirect::to(&format!(
        "/people/{}?done=revised",
        n.prison_number.as_str()
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "withdraw.html")]
struct WithdrawPage {
    title: String,
    chrome: Chrome,
    id: String,
    pn: String,
    card: String,
    f: Fields,
    errors: Vec<(String, String)>,
    bodies: Vec<Choice>,
}

fn withdraw_page(signed: &Signed, n: &NoticeRecord, f: Fields) -> Result<WithdrawPage, WebError> {
    let view = NoticeView::build(n, NoticeLevel::Clinical, Utc::now());
    Ok(WithdrawPage {
        title: "Withdraw a safety notice".into(),
        chrome: signed.chrome(),
        id: n.id.clone(),
        pn: n.prison_number.as_str().to_owned(),
        card: card_html(&NoticeCard::from_view(&view, false), false)?,
        bodies: register_choices(&f.reg_body),
        f,
        errors: vec![],
    })
}

/// `GET /notices/{id}/withdraw`
pub async fn withdraw_form(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let caller = caller_of(&signed)?;
    let (n, _) = open_for_change(&state, &caller, &id, "web-notice-withdraw-form").await?;
    let f = Fields {
        version: n.version.to_string(),
        ..Fields::default()
    };
    Ok(render(&withdraw_page(&signed, &n, f)?)?.into_response())
}

/// `POST /notices/{id}/withdraw`: a new version with status withdrawn; history is kept.
pub async fn withdraw(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, WebError> {
    csrf::check_origin(&headers)?;
    signed.check_csrf(&form)?;
    let caller = caller_of(&signed)?;
    let expected = expected_version(&form)?;
    let (n, _) = open_for_change(&state, &caller, &id, "web-notice-withdraw").await?;
    let f = Fields::from_form(&form);
    let author = parse_author(&f.author());
    let reason = parse_reason(&f.reason);
    let (author, reason) = match (author, reason) {
        (Ok(a), Ok(r)) => (a, r),
        (a, r) => {
            let errors = [a.err(), r.err()].into_iter().flatten().collect();
            let mut page = withdraw_page(&signed, &n, f)?;
            page.errors = errors_of(errors);
            return Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response());
        }
    };
    let audit = write_access(&state, &caller, &n).await?;
    state
        .store
        .withdraw_notice(
            &n.id,
            Some(expected),
            &NoticeWithdrawal {
                author,
                reason,
                consumer: caller.principal.consumer.clone(),
            },
            &audit,
        )
        .await?;
    state.delivery.wake();
    metrics::counter!("gatehouse_safety_notices_written_total", "change" => "withdrawn")
        .increment(1);
    Ok(Redirect::to(&format!(
        "/people/{}?done=withdrawn",
        n.prison_number.as_str()
    ))
    .into_response())
}
