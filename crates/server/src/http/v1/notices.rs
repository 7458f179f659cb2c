//! Safety notices: published, revised and withdrawn by health consumers, and
//! read by everyone their agreement and the notice's audience allow.
//!
//! Views, not filters: [`NoticeView`] is built up from what the decision
//! permits ([`NoticeLevel`]). A prison consumer's view is made from the
//! instruction alone; the condition is added only where the agreement and the
//! patient's consent allow; the clinical detail only for health consumers. No
//! full record is ever made and then trimmed.

use super::views::PageView;
use crate::access::{Pending, View, person_access_pending, person_resource, person_write_access};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery, RawBody, json_body};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_domain::notice::{
    Author, ConsentRecord, NoticeInput, WithdrawalInput, parse_author, parse_reason,
};
use gatehouse_domain::provenance::Owner;
use gatehouse_domain::{
    Audience, DisclosureLevel, EstablishmentCode, NoticeCategory, NoticeStatus, ParseError,
    PrisonNumber,
};
use gatehouse_policy::{Action, NoticeFacts, Resource};
use gatehouse_store::{NewNoticeVersion, NoticeRecord, NoticeWithdrawal, PersonRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// How much of a notice a caller may see, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeLevel {
    /// What staff must do: no diagnosis, no medicine names.
    Instruction,
    /// The instruction and the condition it is for (consent recorded).
    Condition,
    /// Everything, including the clinical detail: health consumers only.
    Clinical,
}

impl NoticeLevel {
    fn as_str(self) -> &'static str {
        match self {
            Self::Instruction => "instruction",
            Self::Condition => "condition",
            Self::Clinical => "clinical",
        }
    }
}

pub fn notice_resource(person: &PersonRecord, n: &NoticeRecord) -> Resource {
    Resource::Notice(NoticeFacts {
        establishment: person.custody.as_ref().map(|c| c.establishment.clone()),
        disclosure_level: n.content.disclosure_level.as_str().to_owned(),
        consent_recorded: n.content.consent_recorded(),
        audience: n
            .content
            .audience
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
    })
}

/// The most the caller may see of this notice; `None` when it is not for them.
/// Withdrawn notices and those not in force are for health consumers only.
pub fn notice_level(
    state: &AppState,
    caller: &Caller,
    person: &PersonRecord,
    n: &NoticeRecord,
    now: DateTime<Utc>,
) -> Option<NoticeLevel> {
    let resource = notice_resource(person, n);
    let permits = |a| caller.decide(state, a, &resource).is_permit();
    if permits(Action::ReadNoticeClinical) {
        return Some(NoticeLevel::Clinical);
    }
    if n.status != NoticeStatus::Active || !n.content.in_force(now) {
        return None;
    }
    if !permits(Action::ReadNoticeInstruction) {
        return None;
    }
    if n.content.disclosure_level == DisclosureLevel::WithCondition
        && permits(Action::ReadNoticeCondition)
    {
        return Some(NoticeLevel::Condition);
    }
    Some(NoticeLevel::Instruction)
}

/// The fields a view of this notice discloses, for the audit record.
pub fn disclosed_fields(n: &NoticeRecord, level: NoticeLevel) -> String {
    format!("safety-notice/{}@v{}:{}", n.id, n.version, level.as_str())
}

/// A safety notice, as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NoticeView {
    pub id: String,
    pub prison_number: String,
    pub version: i64,
    pub status: NoticeStatus,
    /// In force now: started, not ended, not withdrawn.
    pub in_force: bool,
    /// Which view this is: `instruction`, `condition` or `clinical`.
    pub view: NoticeLevel,
    pub category: NoticeCategory,
    /// What staff must do.
    pub instruction: String,
    pub audience: Vec<Audience>,
    pub disclosure_level: DisclosureLevel,
    /// The condition in plain words: only in the `condition` and `clinical` views.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Only in the `clinical` view (health consumers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clinical_detail: Option<String>,
    /// Only in the `clinical` view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentRecord>,
    /// The basis on which the notice is shared with prison staff.
    pub lawful_basis: String,
    pub lawful_basis_text: &'static str,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub review_by: NaiveDate,
    /// The review date has passed: the notice may be out of date (ask healthcare).
    pub review_overdue: bool,
    /// Who to ask about it: the author's role and professional registration.
    pub author: Author,
    pub source: String,
    pub owner: Owner,
    pub last_updated: DateTime<Utc>,
    pub links: NoticeLinks,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NoticeLinks {
    #[serde(rename = "self")]
    pub self_: String,
    pub person: String,
    /// Only in the `clinical` view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<String>,
}

impl NoticeView {
    /// Builds the view for `level` from the parts that level may hold.
    pub fn build(n: &NoticeRecord, level: NoticeLevel, now: DateTime<Utc>) -> Self {
        let c = &n.content;
        let mut view = Self {
            id: n.id.clone(),
            prison_number: n.prison_number.as_str().to_owned(),
            version: n.version,
            status: n.status,
            in_force: n.status == NoticeStatus::Active && c.in_force(now),
            view: level,
            category: c.category,
            instruction: c.instruction.clone(),
            audience: c.audience.clone(),
            disclosure_level: c.disclosure_level,
            condition: None,
            clinical_detail: None,
            consent: None,
            lawful_basis: c.lawful_basis.as_str().to_owned(),
            lawful_basis_text: c.lawful_basis.legal_text(),
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            review_by: c.review_by,
            review_overdue: c.review_overdue(now.date_naive()),
            author: n.author.clone(),
            source: format!("health:{}", n.updated_by),
            owner: Owner::Health,
            last_updated: n.updated_at,
            links: NoticeLinks {
                self_: format!("/v1/safety-notices/{}", n.id),
                person: format!("/v1/people/{}", n.prison_number.as_str()),
                versions: None,
            },
        };
        if level >= NoticeLevel::Condition {
            view.condition = c.condition.clone();
        }
        if level == NoticeLevel::Clinical {
            view.clinical_detail = c.clinical_detail.clone();
            view.consent = c.consent.clone();
            view.links.versions = Some(format!("/v1/safety-notices/{}/versions", n.id));
        }
        view
    }
}

/// A notice with every field, at an establishment: who may read it may read
/// clinical detail there (the test for whole-notice lists and clinicians' notes).
pub fn whole_notice_at(establishment: Option<EstablishmentCode>) -> Resource {
    Resource::Notice(NoticeFacts {
        establishment,
        disclosure_level: DisclosureLevel::InstructionOnly.as_str().to_owned(),
        consent_recorded: false,
        audience: vec![Audience::HealthcareOnly.as_str().to_owned()],
    })
}

fn invalid(errors: Vec<ParseError>) -> ApiError {
    super::versioned::invalid("notice", errors)
}

fn with_etag(status: StatusCode, view: NoticeView, location: bool) -> Response {
    let (version, href) = (view.version, view.links.self_.clone());
    super::versioned::with_etag(status, view, version, &href, location)
}

/// Loads a notice and its person. An unknown id answers 404.
async fn load(state: &AppState, id: &str) -> Result<(NoticeRecord, PersonRecord), ApiError> {
    let not_found = || ApiError::NotFound("no safety notice with this id is visible to you".into());
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(not_found());
    }
    let n = state.store.notice(id).await?.ok_or_else(not_found)?;
    let p = state
        .store
        .person(&n.prison_number)
        .await?
        .ok_or_else(not_found)?;
    Ok((n, p))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoticeListParams {
    /// `withdrawn` to include withdrawn notices (health consumers; others never see them).
    include: Option<String>,
}

/// A person's safety notices, each in the caller's view, most urgent first.
#[utoipa::path(get, path = "/v1/people/{prisonNumber}/safety-notices", tag = "safety notices",
    params(("prisonNumber" = String, Path), NoticeListParams),
    responses((status = 200, body = PageView<NoticeView>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn list_for_person(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(pn): ApiPath<String>,
    ApiQuery(q): ApiQuery<NoticeListParams>,
) -> Result<Json<PageView<NoticeView>>, ApiError> {
    let include_withdrawn = match q.include.as_deref() {
        None => false,
        Some("withdrawn") => true,
        Some(_) => {
            return Err(ApiError::bad_field(ParseError::new(
                "include",
                "the only value is `withdrawn`",
            )));
        }
    };
    let pn = PrisonNumber::parse(&pn).map_err(ApiError::bad_field)?;
    let person = state
        .store
        .person(&pn)
        .await?
        .ok_or_else(ApiError::not_found_person)?;
    let pending = person_access_pending(
        &state,
        &caller,
        person,
        Action::ReadSafetyNotices,
        "safety-notices",
    )
    .await?;
    let now = Utc::now();
    let (items, fields) =
        visible_notices(&state, &caller, &pending, include_withdrawn, now).await?;
    pending.disclosed(&state, &caller, fields).await?;
    Ok(Json(PageView {
        items,
        next_cursor: None,
        next: None,
    }))
}

/// The caller's views of a person's notices, most urgent first, and the fields disclosed.
pub async fn visible_notices(
    state: &AppState,
    caller: &Caller,
    pending: &Pending,
    include_withdrawn: bool,
    now: DateTime<Utc>,
) -> Result<(Vec<NoticeView>, Vec<String>), ApiError> {
    visible_notices_for(state, caller, &pending.person, include_withdrawn, now).await
}

/// The caller's views of a person's notices (the person already permitted).
pub async fn visible_notices_for(
    state: &AppState,
    caller: &Caller,
    person: &PersonRecord,
    include_withdrawn: bool,
    now: DateTime<Utc>,
) -> Result<(Vec<NoticeView>, Vec<String>), ApiError> {
    let mut notices = state
        .store
        .notices_for(&person.prison_number, include_withdrawn)
        .await?;
    notices.sort_by_key(|n| (n.content.category.urgency(), n.content.valid_from));
    let mut items = Vec::new();
    let mut fields = Vec::new();
    for n in &notices {
        if let Some(level) = notice_level(state, caller, person, n, now) {
            fields.push(disclosed_fields(n, level));
            items.push(NoticeView::build(n, level, now));
        }
    }
    Ok((items, fields))
}

/// Publishes a safety notice about a person (health consumers). Answers 201
/// with the stored notice, its `Location` and `ETag`.
#[utoipa::path(post, path = "/v1/people/{prisonNumber}/safety-notices", tag = "safety notices",
    params(("prisonNumber" = String, Path)),
    request_body(content = NoticeInput, content_type = "application/json"),
    responses((status = 201, body = NoticeView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem)),
    security(("apiKey" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(pn): ApiPath<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    PrisonNumber::parse(&pn).map_err(ApiError::bad_field)?;
    let input: NoticeInput = json_body(&body)?;
    let now = Utc::now();
    let parsed = input.parse(now).map_err(invalid)?;
    let access = person_write_access(
        &state,
        &caller,
        &pn,
        Action::WriteNotice,
        View::new("safety-notice", &["safety-notice:publish"]),
    )
    .await?;
    let n = state
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
    let level =
        notice_level(&state, &caller, &access.person, &n, now).unwrap_or(NoticeLevel::Instruction);
    Ok(with_etag(
        StatusCode::CREATED,
        NoticeView::build(&n, level, now),
        true,
    ))
}

/// One notice, in the caller's view, with its version as the `ETag`.
#[utoipa::path(get, path = "/v1/safety-notices/{id}", tag = "safety notices",
    params(("id" = String, Path)),
    responses((status = 200, body = NoticeView), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn get_notice(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let (n, person) = load(&state, &id).await?;
    let pending = person_access_pending(
        &state,
        &caller,
        person,
        Action::ReadSafetyNotices,
        "safety-notice",
    )
    .await?;
    let now = Utc::now();
    let level = notice_level(&state, &caller, &pending.person, &n, now);
    let fields = level
        .map(|l| vec![disclosed_fields(&n, l)])
        .unwrap_or_default();
    pending.disclosed(&state, &caller, fields).await?;
    let level = level.ok_or_else(|| {
        ApiError::NotFound("no safety notice with this id is visible to you".into())
    })?;
    Ok(with_etag(
        StatusCode::OK,
        NoticeView::build(&n, level, now),
        false,
    ))
}

/// A version in a notice's history (health consumers only).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NoticeVersionView {
    pub version: i64,
    pub status: NoticeStatus,
    #[schema(value_type = Object)]
    pub content: gatehouse_domain::NoticeContent,
    pub author: Author,
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
}

/// Every version of a notice, oldest first, with author and reason (health consumers).
#[utoipa::path(get, path = "/v1/safety-notices/{id}/versions", tag = "safety notices",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<NoticeVersionView>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<NoticeVersionView>>, ApiError> {
    let (n, person) = load(&state, &id).await?;
    let pending = person_access_pending(
        &state,
        &caller,
        person,
        Action::ReadSafetyNotices,
        "safety-notice-history",
    )
    .await?;
    let level = notice_level(&state, &caller, &pending.person, &n, Utc::now());
    if level != Some(NoticeLevel::Clinical) {
        pending.disclosed(&state, &caller, vec![]).await?;
        return Err(match level {
            None => ApiError::NotFound("no safety notice with this id is visible to you".into()),
            Some(_) => ApiError::Forbidden(
                "a notice's history holds clinical detail: health consumers only".into(),
            ),
        });
    }
    let history = state.store.notice_versions(&n.id).await?;
    let fields = history
        .iter()
        .map(|v| format!("safety-notice/{}@v{}:clinical", n.id, v.version))
        .collect();
    pending.disclosed(&state, &caller, fields).await?;
    Ok(Json(
        history
            .into_iter()
            .map(|v| NoticeVersionView {
                version: v.version,
                status: v.status,
                content: v.content,
                author: v.author,
                reason: v.reason,
                recorded_at: v.recorded_at,
                recorded_by: v.recorded_by,
            })
            .collect(),
    ))
}

/// Checks the caller may change this notice: it writes notices for the person,
/// and sees the whole notice. Gives the record the change must carry.
pub async fn change_access(
    state: &AppState,
    caller: &Caller,
    n: &NoticeRecord,
    person: &PersonRecord,
) -> Result<gatehouse_store::WriteAudit, ApiError> {
    let level = notice_level(state, caller, person, n, Utc::now());
    if level.is_none() {
        return Err(ApiError::NotFound(
            "no safety notice with this id is visible to you".into(),
        ));
    }
    let access = person_write_access(
        state,
        caller,
        person.prison_number.as_str(),
        Action::WriteNotice,
        View::new(
            "safety-notice",
            &[&format!("safety-notice/{}:change", n.id)],
        ),
    )
    .await?;
    if level != Some(NoticeLevel::Clinical) {
        let reason = "only a health consumer that sees the whole notice may change it";
        // Refused after the agreement permitted: the attempt is recorded, nothing changes.
        crate::access::record(
            state,
            caller,
            &person.prison_number,
            "safety-notice",
            Action::WriteNotice,
            vec![],
            &gatehouse_policy::Decision::Deny {
                policies: vec![],
                reason: reason.into(),
            },
            None,
        )
        .await?;
        return Err(ApiError::Forbidden(reason.into()));
    }
    Ok(access.audit)
}

/// Revises a notice: a new version, with the author and the reason. Send
/// `If-Match` with the version you read to be refused (412) if it has changed since.
#[utoipa::path(put, path = "/v1/safety-notices/{id}", tag = "safety notices",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "the ETag you read, e.g. \"2\"")),
    request_body(content = NoticeInput, content_type = "application/json"),
    responses((status = 200, body = NoticeView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("apiKey" = [])))]
pub async fn revise(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    let expected = super::versioned::if_match(&headers)?;
    let input: NoticeInput = json_body(&body)?;
    let now = Utc::now();
    let mut parsed = input.parse(now).map_err(invalid)?;
    if parsed.reason.is_none() {
        return Err(invalid(vec![ParseError::new(
            "reason",
            "is required when revising: say why the notice changed",
        )]));
    }
    let (n, person) = load(&state, &id).await?;
    let audit = change_access(&state, &caller, &n, &person).await?;
    let n = state
        .store
        .revise_notice(
            &n.id,
            expected,
            &NewNoticeVersion {
                content: parsed.content,
                author: parsed.author,
                reason: parsed.reason.take(),
                consumer: caller.principal.consumer.clone(),
            },
            &audit,
        )
        .await?;
    state.delivery.wake();
    metrics::counter!("gatehouse_safety_notices_written_total", "change" => "revised").increment(1);
    Ok(with_etag(
        StatusCode::OK,
        NoticeView::build(&n, NoticeLevel::Clinical, now),
        false,
    ))
}

/// Withdraws a notice. Nothing is deleted: withdrawal is a new version, with
/// the author and reason, and the history stays readable to health consumers.
#[utoipa::path(delete, path = "/v1/safety-notices/{id}", tag = "safety notices",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body(content = WithdrawalInput, content_type = "application/json"),
    responses((status = 200, body = NoticeView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("apiKey" = [])))]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    let expected = super::versioned::if_match(&headers)?;
    let input: WithdrawalInput = json_body(&body)?;
    let author = parse_author(&input.author).map_err(|e| invalid(vec![e]))?;
    let reason = parse_reason(&input.reason).map_err(|e| invalid(vec![e]))?;
    let (n, person) = load(&state, &id).await?;
    let audit = change_access(&state, &caller, &n, &person).await?;
    let n = state
        .store
        .withdraw_notice(
            &n.id,
            expected,
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
    Ok(with_etag(
        StatusCode::OK,
        NoticeView::build(&n, NoticeLevel::Clinical, Utc::now()),
        false,
    ))
}

/// Active notices at an establishment whose review date has passed (health consumers), oldest first.
#[utoipa::path(get, path = "/v1/establishments/{code}/safety-notices/overdue", tag = "safety notices",
    params(("code" = String, Path)),
    responses((status = 200, body = PageView<NoticeView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn overdue(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<PageView<NoticeView>>, ApiError> {
    let code = EstablishmentCode::parse(&code).map_err(ApiError::bad_field)?;
    let hidden = || ApiError::NotFound("no establishment with this code is visible to you".into());
    if state.establishment_name(code.as_str()).is_none() {
        return Err(hidden());
    }
    caller
        .authorize(
            &state,
            Action::ReadSafetyNotices,
            &Resource::person(Some(code.clone())),
        )
        .map_err(|e| match e {
            ApiError::NotFound(_) => hidden(),
            other => other,
        })?;
    // The review list shows whole notices: only a consumer that may read clinical detail here may have it.
    caller.authorize(
        &state,
        Action::ReadNoticeClinical,
        &whole_notice_at(Some(code.clone())),
    )?;
    let now = Utc::now();
    let due = state
        .store
        .notices_due_for_review(&code, now.date_naive())
        .await?;
    let mut items = Vec::new();
    for n in &due {
        let Some(person) = state.store.person(&n.prison_number).await? else {
            continue;
        };
        let decision = caller.decide(&state, Action::ReadSafetyNotices, &person_resource(&person));
        let level = notice_level(&state, &caller, &person, n, now)
            .filter(|l| *l == NoticeLevel::Clinical && decision.is_permit());
        let fields = level
            .map(|l| vec![disclosed_fields(n, l)])
            .unwrap_or_default();
        crate::access::record(
            &state,
            &caller,
            &person.prison_number,
            "safety-notices-overdue",
            Action::ReadSafetyNotices,
            fields,
            &decision,
            None,
        )
        .await?;
        if let Some(level) = level {
            items.push(NoticeView::build(n, level, now));
        }
    }
    Ok(Json(PageView {
        items,
        next_cursor: None,
        next: None,
    }))
}
