//! The printable unlock and escort list (`/establishments/{code}/appointments`)
//! and the attendance form on each of its entries.
//!
//! The list is `GET /v1/establishments/{code}/appointments?date=` read
//! through the same function under the staff member's principal, so the same
//! agreement decides what each entry shows (the safety instructions for the
//! wing or the escort audience, never clinical detail) and the same audit
//! records it. Recording attendance goes through the same path as
//! `POST /v1/appointments/{id}/attendance`.
//!
//! The outcome select keeps *did not attend* (the patient's choice) and *was
//! not brought* (the prison's reason) in separate groups, and its values
//! carry the outcome with its reason, so no pair can be mixed up.

use super::pages::{audience_label, caller_of, label};
use super::session::{Signed, role_label};
use super::{Chrome, Form, FormData, WebError, csrf, encode, fmt, query, render, safe_next};
use crate::http::v1::appointments::{plan_escort_as, record_attendance_as};
use crate::http::v1::unlock::{UnlockEntry, unlock_list_for};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use gatehouse_domain::EstablishmentCode;
use gatehouse_domain::appointment::{
    AttendanceInput, DnaReason, EscortInput, Restraint, Setting, Vehicle, WnbReason,
};
use gatehouse_store::StaffRole;

// ------------------------------------------------------------------ the picker

#[derive(Template)]
#[template(path = "unlock_form.html")]
struct PickerPage {
    title: &'static str,
    chrome: Chrome,
    establishments: Vec<String>,
    default_establishment: String,
    today: String,
    error: Option<String>,
}

/// A wing as cell locations spell it: letters and digits, up to 4.
fn valid_wing(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 4
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn parse_day(raw: Option<&str>, today: NaiveDate) -> Option<NaiveDate> {
    match raw {
        None => Some(today),
        Some(d) => gatehouse_domain::parse_day("date", d).ok(),
    }
}

/// `GET /appointments?establishment=&date=&wing=`: the form, or on to the list.
pub async fn picker(signed: Signed, uri: Uri) -> Result<Response, WebError> {
    let q = query(&uri);
    let today = Utc::now().date_naive();
    let mut error = None;
    if let Some(est) = q.get("establishment").map(|s| s.to_ascii_uppercase()) {
        let wing = q.get("wing").map(|w| w.to_ascii_uppercase());
        let day = parse_day(q.get("date"), today);
        match (EstablishmentCode::parse(&est), day, &wing) {
            (Ok(code), Some(day), Some(w)) if valid_wing(w) => {
                return Ok(Redirect::to(&format!(
                    "/establishments/{}/appointments?date={day}&wing={w}",
                    code.as_str()
                ))
                .into_response());
            }
            (Ok(code), Some(day), None) => {
                return Ok(Redirect::to(&format!(
                    "/establishments/{}/appointments?date={day}",
                    code.as_str()
                ))
                .into_response());
            }
            _ => {
                error = Some(
                    "Enter an establishment code like LEI, a real day, and a wing like A (or no wing)"
                        .to_owned(),
                );
            }
        }
    }
    let codes = signed.user().establishments.to_codes();
    let page = PickerPage {
        title: "Unlock and escort list",
        chrome: signed.chrome(),
        default_establishment: match codes.as_slice() {
            [one] if one != "*" => one.clone(),
            _ => String::new(),
        },
        establishments: codes,
        today: today.to_string(),
        error: error.clone(),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

// ------------------------------------------------------------------ the list

/// One entry, ready to show.
struct Row {
    id: String,
    time: String,
    pn: String,
    name: String,
    cell: String,
    type_code: String,
    type_description: String,
    place: String,
    external: bool,
    /// The planned escort in words; `None` on an external appointment: not yet planned.
    escort: Option<String>,
    risks: Vec<String>,
    late_change: bool,
    cancelled: bool,
    cancellation: Option<String>,
    /// (category, instruction, audience) as the viewer's agreement shows them.
    instructions: Vec<(String, String, String)>,
    instructions_message: String,
    outcome: Option<String>,
    can_record: bool,
    /// External, not cancelled, no outcome yet: the prison may plan (or re-plan) its escort here.
    can_plan_escort: bool,
}

#[derive(Template)]
#[template(path = "unlock.html")]
struct ListPage {
    title: String,
    chrome: Chrome,
    establishment: String,
    establishment_name: String,
    day: String,
    wing: Option<String>,
    rows: Vec<Row>,
    flash: Option<String>,
    /// This list's address, to come back to after recording an outcome.
    next: String,
    dna_reasons: Vec<(&'static str, String)>,
    vehicles: Vec<(&'static str, String)>,
    restraints: Vec<(&'static str, String)>,
    /// Officers plan escorts; healthcare sees the plan.
    plans_escorts: bool,
    wnb_reasons: Vec<(&'static str, String)>,
    healthcare: bool,
    printed_by: String,
    printed_at: String,
}

fn row(e: &UnlockEntry, day_has_begun: bool) -> Row {
    let a = &e.appointment;
    Row {
        id: a.id.clone(),
        time: format!(
            "{}–{}",
            a.starts_at.format("%H:%M"),
            a.ends_at.format("%H:%M")
        ),
        pn: a.prison_number.clone(),
        name: e
            .name
            .as_ref()
            .map(|n| format!("{} {}", n.given_name, n.family_name))
            .unwrap_or_else(|| "Name not yet received".to_owned()),
        cell: e
            .cell
            .clone()
            .unwrap_or_else(|| "No cell recorded".to_owned()),
        type_code: a.appointment_type.as_str().to_owned(),
        type_description: a.type_description.to_owned(),
        place: a.place.label(),
        external: a.place.setting() == Setting::External,
        escort: a.escort.as_ref().map(|e| {
            let p = &e.plan;
            format!(
                "{} officer{}, {}, restraint: {} (decided by {})",
                p.officers,
                if p.officers == 1 { "" } else { "s" },
                label(p.vehicle.as_str()).to_lowercase(),
                label(p.restraint.as_str()).to_lowercase(),
                p.decided_by
            )
        }),
        risks: a.risks.iter().map(|r| r.detail.clone()).collect(),
        late_change: e.late_change,
        cancelled: e.cancelled,
        cancellation: a
            .cancellation_reason
            .as_ref()
            .map(|r| format!("Cancelled: {r}")),
        instructions: e
            .instructions
            .iter()
            .map(|n| {
                let who = n
                    .audience
                    .iter()
                    .map(|a| audience_label(*a))
                    .collect::<Vec<_>>()
                    .join(", ");
                (label(n.category.as_str()), n.instruction.clone(), who)
            })
            .collect(),
        instructions_message: "No safety instructions you can see.".to_owned(),
        outcome: a.outcome.as_ref().map(|o| {
            let kind = label(&o.outcome);
            let text = match &o.reason {
                Some(r) => format!("{kind}: {}", label(r).to_lowercase()),
                None => kind,
            };
            if o.automatic {
                format!("{text} (recorded by Gatehouse from a movement)")
            } else {
                text
            }
        }),
        can_record: !e.cancelled && day_has_begun,
        can_plan_escort: a.place.setting() == Setting::External
            && !e.cancelled
            && a.outcome.is_none(),
    }
}

/// `GET /establishments/{code}/appointments?date=&wing=`: the printable list.
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Path(code): Path<String>,
    uri: Uri,
) -> Result<Response, WebError> {
    let caller = caller_of(&signed)?;
    let code = EstablishmentCode::parse(&code.to_ascii_uppercase())
        .map_err(|_| WebError::bad_request("Enter an establishment code like LEI."))?;
    let q = query(&uri);
    let now = Utc::now();
    let day = parse_day(q.get("date"), now.date_naive()).ok_or_else(|| {
        WebError::bad_request("The day must be a real date written like 2026-01-31.")
    })?;
    let wing = match q.get("wing") {
        None => None,
        Some(w) => {
            let w = w.to_ascii_uppercase();
            if !valid_wing(&w) {
                return Err(WebError::bad_request(
                    "Enter a wing like A (letters and digits, up to 4).",
                ));
            }
            Some(w)
        }
    };
    let establishment_name = state
        .establishment_name(code.as_str())
        .ok_or_else(WebError::not_found)?;
    let list = unlock_list_for(&state, &caller, &code, day, wing.as_deref()).await?;
    let day_has_begun = now.date_naive() >= day;
    let rows = list.entries.iter().map(|e| row(e, day_has_begun)).collect();
    let mut next = format!("/establishments/{}/appointments?date={day}", code.as_str());
    if let Some(w) = &wing {
        next.push_str(&format!("&wing={}", encode(w)));
    }
    let role = signed.user().role;
    let page = ListPage {
        title: format!("Unlock and escort list: {}", fmt::date(day)),
        chrome: signed.chrome(),
        establishment: code.as_str().to_owned(),
        establishment_name,
        day: fmt::date(day),
        wing,
        rows,
        flash: match q.get("done") {
            Some("recorded") => Some("The outcome is recorded.".to_owned()),
            Some("escort") => Some("The escort plan is recorded.".to_owned()),
            _ => None,
        },
        next,
        vehicles: Vehicle::ALL
            .iter()
            .map(|v| (v.as_str(), label(v.as_str())))
            .collect(),
        restraints: Restraint::ALL
            .iter()
            .map(|r| (r.as_str(), label(r.as_str())))
            .collect(),
        plans_escorts: role != StaffRole::Healthcare,
        dna_reasons: DnaReason::ALL
            .iter()
            .map(|r| (r.as_str(), label(r.as_str())))
            .collect(),
        wnb_reasons: WnbReason::ALL
            .iter()
            .map(|r| (r.as_str(), label(r.as_str())))
            .collect(),
        healthcare: role == StaffRole::Healthcare,
        printed_by: format!("{} ({})", signed.user().display_name, role_label(role)),
        printed_at: fmt::time(now),
    };
    Ok(render(&page)?.into_response())
}

// ------------------------------------------------------------------ recording attendance

/// The select's value: `attended`, `did-not-attend:<reason>`, `was-not-brought:<reason>`, …
fn attendance_input(form: &FormData) -> Result<AttendanceInput, WebError> {
    let result = form
        .get("result")
        .ok_or_else(|| WebError::bad_request("Choose what happened at the appointment."))?;
    if result.len() > 60 {
        return Err(WebError::bad_request("Choose what happened from the list."));
    }
    let (outcome, reason) = match result.split_once(':') {
        Some((o, r)) => (o, Some(r)),
        None => (result, None),
    };
    Ok(AttendanceInput {
        outcome: Some(outcome.to_owned()),
        reason: reason.map(str::to_owned),
        correction_reason: form.get("correction-reason").map(str::to_owned),
    })
}

/// `POST /appointments/{id}/attendance`: records the outcome, then back to the list.
pub async fn record(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, WebError> {
    csrf::check_origin(&headers)?;
    signed.check_csrf(&form)?;
    let caller = caller_of(&signed)?;
    let input = attendance_input(&form)?;
    if id.len() > 100 {
        return Err(WebError::not_found());
    }
    record_attendance_as(&state, &caller, &id, input).await?;
    let back = safe_next(form.raw("next")).unwrap_or("/appointments");
    let sep = if back.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{back}{sep}done=recorded#appt-{}", encode(&id))).into_response())
}

// ------------------------------------------------------------------ planning an escort

/// `POST /appointments/{id}/escort`: the prison's escort plan, then back to the list.
pub async fn plan_escort(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, WebError> {
    csrf::check_origin(&headers)?;
    signed.check_csrf(&form)?;
    let caller = caller_of(&signed)?;
    if id.len() > 100 {
        return Err(WebError::not_found());
    }
    let officers =
        match form.get("officers").map(str::trim) {
            Some(n) => Some(n.parse::<i64>().map_err(|_| {
                WebError::bad_request("Enter the number of escort officers, 1 to 6.")
            })?),
            None => None,
        };
    let input = EscortInput {
        officers,
        vehicle: form.get("vehicle").map(str::to_owned),
        restraint: form.get("restraint").map(str::to_owned),
        decided_by: form.get("decided-by").map(str::to_owned),
    };
    plan_escort_as(&state, &caller, &id, input, None).await?;
    let back = safe_next(form.raw("next")).unwrap_or("/appointments");
    let sep = if back.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{back}{sep}done=escort#appt-{}", encode(&id))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_select_value_carries_outcome_and_reason_apart() {
        let f = FormData::parse("result=was-not-brought%3Ano-escort-staff");
        let i = attendance_input(&f).unwrap();
        assert_eq!(i.outcome.as_deref(), Some("was-not-brought"));
        assert_eq!(i.reason.as_deref(), Some("no-escort-staff"));
        let i = attendance_input(&FormData::parse("result=attended")).unwrap();
        assert_eq!(i.reason, None);
        assert!(attendance_input(&FormData::parse("result=")).is_err());
        // A DNA reason under WNB is refused by the domain's parser, never guessed.
        let i = attendance_input(&FormData::parse("result=was-not-brought%3Arefused")).unwrap();
        assert!(i.parse().is_err());
    }

    #[test]
    fn days_and_wings_are_checked() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert_eq!(parse_day(None, today), Some(today));
        assert_eq!(parse_day(Some("2026-02-30"), today), None);
        assert!(valid_wing("A") && valid_wing("HB1"));
        assert!(
            !valid_wing("") && !valid_wing("a") && !valid_wing("A/../") && !valid_wing("ABCDE")
        );
    }
}
