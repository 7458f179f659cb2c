//! Medication continuity checks (DESIGN.md §1 failure 3) and identity links.
//!
//! A check is opened by the store when a transfer or release (planned or
//! actual) meets an active notice whose medicines must travel; it is read by
//! both prisons' healthcare and confirmed by one of them.

use super::notices::whole_notice_at;
use crate::access::{View, person_access, person_write_access};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, RawBody, json_body};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use gatehouse_domain::notice::{AuthorInput, parse_author};
use gatehouse_domain::{NhsNumber, ParseError, PrisonNumber};
use gatehouse_policy::Action;
use gatehouse_store::{ContinuityCheck, ContinuityConfirmation, LinkMethod, verification};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContinuityCheckView {
    pub id: String,
    pub prison_number: String,
    /// `transfer` or `release`.
    pub kind: String,
    /// Raised by a planned movement (before departure), or by the movement itself.
    pub planned: bool,
    pub from: String,
    pub to: Option<String>,
    pub due_at: DateTime<Utc>,
    /// The notice categories that require it.
    pub categories: Vec<String>,
    /// `open`, `confirmed` or `cancelled`.
    pub status: String,
    pub raised_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub confirmation: Option<serde_json::Value>,
}

impl From<ContinuityCheck> for ContinuityCheckView {
    fn from(c: ContinuityCheck) -> Self {
        Self {
            id: c.id,
            prison_number: c.prison_number.as_str().to_owned(),
            kind: c.kind,
            planned: c.planned,
            from: c.from_establishment,
            to: c.to_establishment,
            due_at: c.due_at,
            categories: c.categories,
            status: c.status,
            raised_at: c.raised_at,
            closed_at: c.closed_at,
            closed_by: c.closed_by,
            confirmation: c.confirmation,
        }
    }
}

async fn load(state: &AppState, id: &str) -> Result<ContinuityCheck, ApiError> {
    let not_found =
        || ApiError::NotFound("no continuity check with this id is visible to you".into());
    if id.len() > 64 {
        return Err(not_found());
    }
    state
        .store
        .continuity_check(id)
        .await?
        .ok_or_else(not_found)
}

/// One check, to healthcare at the sending or the receiving prison.
#[utoipa::path(get, path = "/v1/continuity-checks/{id}", tag = "safety notices", params(("id" = String, Path)),
    responses((status = 200, body = ContinuityCheckView), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn get_check(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ContinuityCheckView>, ApiError> {
    let c = load(&state, &id).await?;
    // The confirmation note is a clinician's free text: health consumers only.
    let person = state
        .store
        .person(&c.prison_number)
        .await?
        .ok_or_else(ApiError::not_found_person)?;
    let clinical = caller
        .decide(
            &state,
            Action::ReadNoticeClinical,
            &whole_notice_at(person.custody.as_ref().map(|c| c.establishment.clone())),
        )
        .is_permit();
    let fields = if clinical {
        vec![
            format!("continuity-check/{}", c.id),
            format!("continuity-check/{}:confirmation", c.id),
        ]
    } else {
        vec![format!("continuity-check/{}", c.id)]
    };
    let field_refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    person_access(
        &state,
        &caller,
        c.prison_number.as_str(),
        Action::ReadSafetyNotices,
        View::new("continuity-check", &field_refs),
    )
    .await?;
    let mut view = ContinuityCheckView::from(c);
    if !clinical {
        view.confirmation = None;
    }
    Ok(Json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmInput {
    /// What was arranged, e.g. "7 days' supply packed; MDI prescriber told".
    pub note: String,
    pub author: AuthorInput,
}

/// Confirms the medicines are arranged: the check closes and both prisons are told.
#[utoipa::path(post, path = "/v1/continuity-checks/{id}/confirm", tag = "safety notices", params(("id" = String, Path)),
    request_body(content = ConfirmInput, content_type = "application/json"),
    responses((status = 200, body = ContinuityCheckView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("apiKey" = [])))]
pub async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    body: RawBody,
) -> Result<Json<ContinuityCheckView>, ApiError> {
    let input: ConfirmInput = json_body(&body)?;
    let note = input.note.trim();
    if note.is_empty() || note.chars().count() > 500 {
        return Err(ApiError::bad_field(ParseError::new(
            "note",
            "must be 1–500 characters: say what was arranged",
        )));
    }
    let author = parse_author(&input.author).map_err(ApiError::bad_field)?;
    let c = load(&state, &id).await?;
    let access = person_write_access(
        &state,
        &caller,
        c.prison_number.as_str(),
        Action::WriteNotice,
        View::new(
            "continuity-check",
            &[&format!("continuity-check/{}:confirm", c.id)],
        ),
    )
    .await?;
    let done = state
        .store
        .confirm_continuity(
            &c.id,
            &ContinuityConfirmation {
                note: note.to_owned(),
                author,
                consumer: caller.principal.consumer.clone(),
            },
            &access.audit,
        )
        .await?;
    state.delivery.wake();
    Ok(Json(done.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkInput {
    /// 10 digits (spaces allowed), Modulus 11 checked.
    pub nhs_number: String,
    /// `pds-trace` or `manual`.
    pub method: String,
    /// UK Core NHSNumberVerificationStatusEngland: `01` (present and verified) by default for a PDS trace.
    pub verification: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    pub prison_number: String,
    pub nhs_number: String,
    pub method: String,
    pub verification: String,
    pub linked_by: String,
    pub linked_at: DateTime<Utc>,
}

/// Links a person's NHS number (health consumers), with its provenance. The
/// same number again upgrades the provenance; a different one, or a number
/// linked to someone else, is refused (409): links are never overwritten.
#[utoipa::path(put, path = "/v1/people/{prisonNumber}/nhs-number", tag = "people", params(("prisonNumber" = String, Path)),
    request_body(content = LinkInput, content_type = "application/json"),
    responses((status = 200, body = LinkView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("apiKey" = [])))]
pub async fn link_nhs_number(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(pn): ApiPath<String>,
    body: RawBody,
) -> Result<Json<LinkView>, ApiError> {
    PrisonNumber::parse(&pn).map_err(ApiError::bad_field)?;
    let input: LinkInput = json_body(&body)?;
    let nhs = NhsNumber::parse(&input.nhs_number).map_err(ApiError::bad_field)?;
    let method = match LinkMethod::parse(&input.method) {
        Some(m @ (LinkMethod::PdsTrace | LinkMethod::Manual)) => m,
        _ => {
            return Err(ApiError::bad_field(ParseError::new(
                "method",
                "must be pds-trace or manual",
            )));
        }
    };
    let verification = match input.verification.as_deref() {
        None if method == LinkMethod::PdsTrace => verification::PRESENT_AND_VERIFIED.to_owned(),
        None => verification::PRESENT_NOT_TRACED.to_owned(),
        // Only a trace against the Personal Demographics Service verifies a number.
        Some("01") if method != LinkMethod::PdsTrace => {
            return Err(ApiError::bad_field(ParseError::new(
                "verification",
                "01 (present and verified) needs a pds-trace; a manual link is 02 or another code",
            )));
        }
        Some(v @ ("01" | "02" | "03" | "04" | "05" | "06" | "07" | "08")) => v.to_owned(),
        Some(_) => {
            return Err(ApiError::bad_field(ParseError::new(
                "verification",
                "must be a NHSNumberVerificationStatusEngland code, 01–08",
            )));
        }
    };
    let access = person_write_access(
        &state,
        &caller,
        &pn,
        Action::WriteIdentity,
        View::new("identity", &["nhsNumber"]),
    )
    .await?;
    let linked_by = match &caller.principal.on_behalf_of {
        Some(staff) => format!("{} ({staff})", caller.principal.consumer),
        None => caller.principal.consumer.clone(),
    };
    let link = state
        .store
        .link_identity(
            &access.person.prison_number,
            &nhs,
            method,
            &verification,
            &linked_by,
            &access.audit,
        )
        .await?;
    state.delivery.wake();
    Ok(Json(LinkView {
        prison_number: access.person.prison_number.as_str().to_owned(),
        nhs_number: link.nhs_number.as_str().to_owned(),
        method: link.method.as_str().to_owned(),
        verification: link.verification,
        linked_by: link.linked_by,
        linked_at: link.linked_at,
    }))
}
