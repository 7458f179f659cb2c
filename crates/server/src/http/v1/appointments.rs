//! Healthcare appointments: booked once by healthcare, seen by both sides.
//!
//! Healthcare books, changes and cancels (`book-appointment`; the baseline
//! forbids it to anyone else, and the store lets only the owner change one).
//! The prison plans the escort of an external appointment (`plan-escort`).
//! Either side records attendance (`record-attendance`), keeping *did not
//! attend* apart from *was not brought*.
//!
//! Views, not filters: [`AppointmentView::build`] adds the clinician and the
//! clinical note only when the caller may `read-appointment-clinical` (health
//! consumers, by the baseline).

pub use super::unlock::{UnlockEntry, UnlockList, unlock_list_for};
use super::views::PageView;
use crate::access::{Pending, View, person_access_pending, person_resource, person_write_access};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery, RawBody, json_body};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_domain::appointment::{
    AppointmentType, AttendanceInput, BookingInput, ChangeInput, EscortInput, EscortPlan, Place,
    Risk, Setting,
};
use gatehouse_domain::{ParseError, PrisonNumber};
use gatehouse_policy::Action;
use gatehouse_store::{
    Actor, AppointmentChange, AppointmentHistoryEntry, AppointmentRecord, AppointmentStatus,
    AttendanceUpdate, EscortUpdate, NewBooking, PersonRecord,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The prison's escort plan, as recorded.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscortView {
    #[serde(flatten)]
    pub plan: EscortPlan,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// The attendance outcome, as recorded.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeView {
    /// `attended`, `did-not-attend`, `was-not-brought`, `cancelled-by-healthcare`, `rescheduled`.
    pub outcome: String,
    /// The DNA reason (the patient's) or the WNB reason (the prison's).
    pub reason: Option<String>,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    /// Recorded more than a day after the appointment ended.
    pub late: bool,
    /// Set by a movement rule (e.g. the person left for court), not typed by staff.
    pub automatic: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentLinks {
    #[serde(rename = "self")]
    pub self_: String,
    pub person: String,
    pub history: String,
}

/// An appointment, as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentView {
    pub id: String,
    pub series_id: Option<String>,
    pub prison_number: String,
    pub establishment: String,
    #[serde(rename = "type")]
    pub appointment_type: AppointmentType,
    pub type_description: &'static str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub duration_minutes: i64,
    pub place: Place,
    /// `booked` or `cancelled`.
    pub status: String,
    pub cancellation_reason: Option<String>,
    /// The consumer that booked it and alone may change it.
    pub owner: String,
    /// External and no escort planned yet: the prison must plan one.
    pub escort_needed: bool,
    pub escort: Option<EscortView>,
    pub outcome: Option<OutcomeView>,
    pub at_risk: bool,
    /// Why it may not happen, from the clash rules.
    pub risks: Vec<Risk>,
    /// The time or place changed (or it was booked) within a day of the start.
    pub late_change: bool,
    pub version: i64,
    pub booked_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Health consumers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clinician: Option<String>,
    /// Health consumers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clinical_note: Option<String>,
    pub links: AppointmentLinks,
}

fn actor_label(a: &Actor) -> String {
    match &a.on_behalf_of {
        Some(who) => format!("{} ({who})", a.consumer),
        None => a.consumer.clone(),
    }
}

impl AppointmentView {
    pub fn build(a: &AppointmentRecord, clinical: bool) -> Self {
        Self {
            id: a.id.clone(),
            series_id: a.series_id.clone(),
            prison_number: a.prison_number.as_str().to_owned(),
            establishment: a.establishment.as_str().to_owned(),
            appointment_type: a.appointment_type,
            type_description: a.appointment_type.description(),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            duration_minutes: (a.ends_at - a.starts_at).num_minutes(),
            place: a.place.clone(),
            status: a.status.as_str().to_owned(),
            cancellation_reason: a.cancellation_reason.clone(),
            owner: a.owner.clone(),
            escort_needed: a.place.setting() == Setting::External
                && a.escort.is_none()
                && a.status == AppointmentStatus::Booked,
            escort: a.escort.as_ref().map(|e| EscortView {
                plan: e.plan.clone(),
                recorded_by: actor_label(&e.recorded_by),
                recorded_at: e.recorded_at,
            }),
            outcome: a.outcome.as_ref().map(|o| OutcomeView {
                outcome: o.outcome.kind().as_str().to_owned(),
                reason: o.outcome.reason().map(str::to_owned),
                recorded_by: actor_label(&o.recorded_by),
                recorded_at: o.recorded_at,
                late: o.late,
                automatic: o.automatic,
            }),
            at_risk: !a.risks.is_empty(),
            risks: a.risks.clone(),
            late_change: a.late_change,
            version: a.version,
            booked_at: a.booked_at,
            updated_at: a.updated_at,
            clinician: clinical.then(|| a.clinician.clone()).flatten(),
            clinical_note: clinical.then(|| a.clinical_note.clone()).flatten(),
            links: AppointmentLinks {
                self_: format!("/v1/appointments/{}", a.id),
                person: format!("/v1/people/{}", a.prison_number.as_str()),
                history: format!("/v1/appointments/{}/history", a.id),
            },
        }
    }

    /// Where, in a few words.
    pub fn place_label(&self) -> String {
        self.place.label()
    }

    /// What this view discloses, for the audit record.
    pub fn disclosed(&self) -> String {
        let level = if self.clinician.is_some() || self.clinical_note.is_some() {
            "clinical"
        } else {
            "shared"
        };
        format!("appointment/{}@v{}:{level}", self.id, self.version)
    }
}

/// May the caller see the health-only fields of this person's appointments?
pub fn may_see_clinical(state: &AppState, caller: &Caller, person: &PersonRecord) -> bool {
    caller
        .decide(
            state,
            Action::ReadAppointmentClinical,
            &person_resource(person),
        )
        .is_permit()
}

pub(crate) use super::versioned::{if_match, invalid};

fn respond(status: StatusCode, view: AppointmentView, location: bool) -> Response {
    let (version, href) = (view.version, view.links.self_.clone());
    super::versioned::with_etag(status, view, version, &href, location)
}

fn actor(caller: &Caller) -> Actor {
    Actor {
        consumer: caller.principal.consumer.clone(),
        on_behalf_of: caller.principal.on_behalf_of.clone(),
    }
}

/// Loads an appointment and its person. Unknown ids and hidden people both answer 404.
pub(crate) async fn load(
    state: &AppState,
    id: &str,
) -> Result<(AppointmentRecord, PersonRecord), ApiError> {
    let not_found = || ApiError::NotFound("no appointment with this id is visible to you".into());
    if id.is_empty()
        || id.len() > 80
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(not_found());
    }
    let a = state.store.appointment(id).await?.ok_or_else(not_found)?;
    let p = state
        .store
        .person(&a.prison_number)
        .await?
        .ok_or_else(not_found)?;
    Ok((a, p))
}

/// Decides an action on an appointment's person; a hidden person hides the appointment.
async fn access(
    state: &AppState,
    caller: &Caller,
    person: PersonRecord,
    action: Action,
) -> Result<Pending, ApiError> {
    person_access_pending(state, caller, person, action, "appointment")
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => {
                ApiError::NotFound("no appointment with this id is visible to you".into())
            }
            other => other,
        })
}

/// The record a permitted change to an appointment carries into its
/// transaction (the view the answer will show, shared or clinical), and
/// whether that view is the clinical one.
fn write_of(
    state: &AppState,
    caller: &Caller,
    pending: &Pending,
    id: &str,
) -> (gatehouse_store::WriteAudit, bool) {
    let clinical = may_see_clinical(state, caller, &pending.person);
    let level = if clinical { "clinical" } else { "shared" };
    let audit = pending.write_audit(state, caller, vec![format!("appointment/{id}:{level}")]);
    (audit, clinical)
}

/// A change made is recorded by the store, with the change. A permitted
/// write the store refused (a stale version, not the owner, a rule of what is
/// stored) changed nothing: it is recorded here, with nothing disclosed.
async fn refusal_recorded<T>(
    state: &AppState,
    caller: &Caller,
    pending: Pending,
    result: gatehouse_store::Result<T>,
) -> Result<(T, PersonRecord), ApiError> {
    match result {
        Ok(v) => Ok((v, pending.written())),
        Err(e) => {
            pending.disclosed(state, caller, vec![]).await?;
            Err(e.into())
        }
    }
}

/// One booking or a series, as stored.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingView {
    /// Set when the booking repeats.
    pub series_id: Option<String>,
    pub appointments: Vec<AppointmentView>,
}

/// Books an appointment, or a series (`repeat`), for a person (health
/// consumers). Answers 201 with what was stored; the clash rules have already
/// run, so any risk is in the answer.
#[utoipa::path(post, path = "/v1/appointments", tag = "appointments",
    request_body(content = BookingInput, content_type = "application/json"),
    responses((status = 201, body = BookingView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem)),
    security(("apiKey" = [])))]
pub async fn book(
    State(state): State<AppState>,
    caller: Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let input: BookingInput = json_body(&body)?;
    let now = Utc::now();
    let pn = input
        .prison_number
        .as_deref()
        .ok_or_else(|| ParseError::new("prisonNumber", "is required"))
        .and_then(PrisonNumber::parse);
    let booking = input.parse(now);
    let (pn, booking) = match (pn, booking) {
        (Ok(pn), Ok(b)) => (pn, b),
        (pn, b) => {
            let mut errors: Vec<ParseError> = pn.err().into_iter().collect();
            errors.extend(b.err().unwrap_or_default());
            return Err(invalid("booking", errors));
        }
    };
    let access = person_write_access(
        &state,
        &caller,
        pn.as_str(),
        Action::BookAppointment,
        View::new("appointment", &["appointment:book"]),
    )
    .await?;
    let booked = state
        .store
        .book_appointments(
            &NewBooking {
                prison_number: pn,
                booking,
                owner: actor(&caller),
            },
            &access.audit,
        )
        .await?;
    state.delivery.wake();
    metrics::counter!("gatehouse_appointments_written_total", "change" => "booked")
        .increment(booked.len() as u64);
    let clinical = may_see_clinical(&state, &caller, &access.person);
    let view = BookingView {
        series_id: booked.first().and_then(|a| a.series_id.clone()),
        appointments: booked
            .iter()
            .map(|a| AppointmentView::build(a, clinical))
            .collect(),
    };
    let location = view
        .appointments
        .first()
        .and_then(|a| HeaderValue::from_str(&a.links.self_).ok());
    let mut resp = (StatusCode::CREATED, Json(view)).into_response();
    if let Some(loc) = location {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

/// One appointment, in the caller's view, with its version as the `ETag`.
#[utoipa::path(get, path = "/v1/appointments/{id}", tag = "appointments",
    params(("id" = String, Path)),
    responses((status = 200, body = AppointmentView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let (a, person) = load(&state, &id).await?;
    let pending = access(&state, &caller, person, Action::ReadAppointments).await?;
    let view = AppointmentView::build(&a, may_see_clinical(&state, &caller, &pending.person));
    pending
        .disclosed(&state, &caller, vec![view.disclosed()])
        .await?;
    Ok(respond(StatusCode::OK, view, false))
}

/// Changes or cancels an appointment (its owner only). `If-Match` (or
/// `version`) guards against overwriting a change you have not seen.
#[utoipa::path(patch, path = "/v1/appointments/{id}", tag = "appointments",
    params(("id" = String, Path)),
    request_body(content = ChangeInput, content_type = "application/json"),
    responses((status = 200, body = AppointmentView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("apiKey" = [])))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    let input: ChangeInput = json_body(&body)?;
    let mut change = input.parse(Utc::now()).map_err(|e| invalid("change", e))?;
    if let Some(v) = if_match(&headers)? {
        change.expected_version = Some(v);
    }
    let (_, person) = load(&state, &id).await?;
    let pending = access(&state, &caller, person, Action::BookAppointment).await?;
    let (audit, clinical) = write_of(&state, &caller, &pending, &id);
    let cancel = change.cancel;
    let a = state
        .store
        .change_appointment(
            &id,
            &AppointmentChange {
                change,
                by: actor(&caller),
            },
            &audit,
        )
        .await;
    let (a, _) = refusal_recorded(&state, &caller, pending, a).await?;
    state.delivery.wake();
    metrics::counter!("gatehouse_appointments_written_total", "change" => if cancel { "cancelled" } else { "changed" })
        .increment(1);
    Ok(respond(
        StatusCode::OK,
        AppointmentView::build(&a, clinical),
        false,
    ))
}

/// Records the prison's escort plan for an external appointment: officers,
/// vehicle and the restraint decision.
#[utoipa::path(put, path = "/v1/appointments/{id}/escort", tag = "appointments",
    params(("id" = String, Path)),
    request_body(content = EscortInput, content_type = "application/json"),
    responses((status = 200, body = AppointmentView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("apiKey" = [])))]
pub async fn plan_escort(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    let input: EscortInput = json_body(&body)?;
    let expected_version = if_match(&headers)?;
    let view = plan_escort_as(&state, &caller, &id, input, expected_version).await?;
    Ok(respond(StatusCode::OK, view, false))
}

/// Records an escort plan for a caller (the REST handler and the staff pages share it).
pub async fn plan_escort_as(
    state: &AppState,
    caller: &Caller,
    id: &str,
    input: EscortInput,
    expected_version: Option<i64>,
) -> Result<AppointmentView, ApiError> {
    let plan = input.parse().map_err(|e| invalid("escort plan", e))?;
    let (_, person) = load(state, id).await?;
    let pending = access(state, caller, person, Action::PlanEscort).await?;
    let (audit, clinical) = write_of(state, caller, &pending, id);
    let result = state
        .store
        .plan_escort(
            id,
            &EscortUpdate {
                plan,
                expected_version,
                by: actor(caller),
            },
            &audit,
        )
        .await;
    let (a, _) = refusal_recorded(state, caller, pending, result).await?;
    state.delivery.wake();
    Ok(AppointmentView::build(&a, clinical))
}

/// Records attendance (or corrects it, with `correctionReason`; history is
/// kept). Late recording is allowed, marked, and audited.
#[utoipa::path(post, path = "/v1/appointments/{id}/attendance", tag = "appointments",
    params(("id" = String, Path)),
    request_body(content = AttendanceInput, content_type = "application/json"),
    responses((status = 200, body = AppointmentView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("apiKey" = [])))]
pub async fn record_attendance(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let input: AttendanceInput = json_body(&body)?;
    let view = record_attendance_as(&state, &caller, &id, input).await?;
    Ok(respond(StatusCode::OK, view, false))
}

/// Records attendance for a caller (the REST handler and the staff pages share it).
pub async fn record_attendance_as(
    state: &AppState,
    caller: &Caller,
    id: &str,
    input: AttendanceInput,
) -> Result<AppointmentView, ApiError> {
    let attendance = input.parse().map_err(|e| invalid("attendance", e))?;
    let (_, person) = load(state, id).await?;
    let pending = access(state, caller, person, Action::RecordAttendance).await?;
    // The store adds what the change wrote (the version, and a late outcome,
    // named so governance can find it) to this record, in the same transaction.
    let (audit, clinical) = write_of(state, caller, &pending, id);
    let result = state
        .store
        .record_attendance(
            id,
            &AttendanceUpdate {
                attendance,
                org: caller.principal.org_type,
                by: actor(caller),
            },
            &audit,
        )
        .await;
    let (a, _) = refusal_recorded(state, caller, pending, result).await?;
    state.delivery.wake();
    let late = a.outcome.as_ref().is_some_and(|o| o.late);
    metrics::counter!("gatehouse_attendance_recorded_total", "late" => if late { "yes" } else { "no" })
        .increment(1);
    Ok(AppointmentView::build(&a, clinical))
}

/// One line of an appointment's history (never health-only fields).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryView {
    pub version: i64,
    pub at: DateTime<Utc>,
    pub by: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AppointmentHistoryEntry> for HistoryView {
    fn from(h: AppointmentHistoryEntry) -> Self {
        Self {
            version: h.version,
            at: h.at,
            by: actor_label(&h.by),
            kind: h.kind,
            detail: h.detail,
        }
    }
}

/// Every booking, change, escort plan, outcome, correction and risk of an appointment, in order.
#[utoipa::path(get, path = "/v1/appointments/{id}/history", tag = "appointments",
    params(("id" = String, Path)),
    responses((status = 200, body = PageView<HistoryView>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PageView<HistoryView>>, ApiError> {
    let (a, person) = load(&state, &id).await?;
    let pending = access(&state, &caller, person, Action::ReadAppointments).await?;
    let items: Vec<HistoryView> = state
        .store
        .appointment_history(&a.id)
        .await?
        .into_iter()
        .map(HistoryView::from)
        .collect();
    pending
        .disclosed(
            &state,
            &caller,
            vec![format!("appointment/{}:history", a.id)],
        )
        .await?;
    Ok(Json(PageView {
        items,
        next_cursor: None,
        next: None,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PersonAppointmentsParams {
    /// YYYY-MM-DD: appointments ending on or after this day (default: today).
    from: Option<String>,
    /// `cancelled` to include cancelled appointments.
    include: Option<String>,
}

pub(crate) fn parse_day(field: &str, raw: &str) -> Result<NaiveDate, ApiError> {
    gatehouse_domain::parse_day(field, raw).map_err(ApiError::bad_field)
}

/// A person's appointments from a day on, in time order.
#[utoipa::path(get, path = "/v1/people/{prisonNumber}/appointments", tag = "appointments",
    params(("prisonNumber" = String, Path), PersonAppointmentsParams),
    responses((status = 200, body = PageView<AppointmentView>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn list_for_person(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(pn): ApiPath<String>,
    ApiQuery(q): ApiQuery<PersonAppointmentsParams>,
) -> Result<Json<PageView<AppointmentView>>, ApiError> {
    let include_cancelled = match q.include.as_deref() {
        None => false,
        Some("cancelled") => true,
        Some(_) => {
            return Err(ApiError::bad_field(ParseError::new(
                "include",
                "the only value is `cancelled`",
            )));
        }
    };
    let from = match q.from.as_deref() {
        Some(d) => parse_day("from", d)?,
        None => Utc::now().date_naive(),
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
        Action::ReadAppointments,
        "appointments",
    )
    .await?;
    let from = from.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let list = state
        .store
        .appointments_for(&pn, Some(from), include_cancelled)
        .await?;
    let clinical = may_see_clinical(&state, &caller, &pending.person);
    let items: Vec<AppointmentView> = list
        .iter()
        .map(|a| AppointmentView::build(a, clinical))
        .collect();
    pending
        .disclosed(
            &state,
            &caller,
            items.iter().map(AppointmentView::disclosed).collect(),
        )
        .await?;
    Ok(Json(PageView {
        items,
        next_cursor: None,
        next: None,
    }))
}
