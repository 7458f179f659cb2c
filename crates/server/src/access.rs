//! Access to a person: decide, record the disclosure, then answer.
//!
//! Every handler that touches a person goes through [`person_access`] (one
//! person) or [`disclose`] (a person listed in search results, a roll, a feed
//! write), so no read or write of person data escapes the audit, and every
//! decision, permit or not, is recorded with the policies that made it.

use crate::audit::{Disclosure, lawful_basis};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use gatehouse_domain::PrisonNumber;
use gatehouse_policy::{Action, Decision, Resource};
use gatehouse_store::{PersonRecord, WriteAudit};

/// How long a break-glass grant lasts before a new reason (and a new review) is needed.
pub const BREAK_GLASS_WINDOW: chrono::Duration = chrono::Duration::minutes(60);

/// What a request reads or writes about a person, for the record.
pub struct View<'a> {
    pub resource: &'a str,
    pub fields: Vec<String>,
}

impl<'a> View<'a> {
    pub fn new(resource: &'a str, fields: &[&str]) -> Self {
        Self {
            resource,
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        }
    }
}

pub fn person_resource(p: &PersonRecord) -> Resource {
    Resource::Person {
        establishment: p.custody.as_ref().map(|c| c.establishment.clone()),
        custody: p.custody.as_ref().map(|c| c.status),
        incoming: p.incoming.clone(),
    }
}

/// Decides an action over a whole establishment (a roll, an unlock list,
/// figures): unknown and hidden both answer 404 (no probing), forbidden 403.
pub fn authorize_establishment(
    state: &AppState,
    caller: &Caller,
    action: Action,
    code: &gatehouse_domain::EstablishmentCode,
) -> Result<(), ApiError> {
    let hidden = || ApiError::NotFound("no establishment with this code is visible to you".into());
    if state.establishment_name(code.as_str()).is_none() {
        return Err(hidden());
    }
    caller
        .authorize(state, action, &Resource::person(Some(code.clone())))
        .map_err(|e| match e {
            ApiError::NotFound(_) => hidden(),
            other => other,
        })
}

/// The break-glass grant a permitted request used, if it needed one.
pub struct Access {
    pub person: PersonRecord,
    pub decision: Decision,
    pub break_glass_id: Option<String>,
}

/// Loads a person and decides the action on them, breaking the glass if the
/// request does and must.
async fn decide_person(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    action: Action,
) -> Result<(PersonRecord, Decision, Option<String>), ApiError> {
    let pn = PrisonNumber::parse(raw).map_err(ApiError::bad_field)?;
    let person = state
        .store
        .person(&pn)
        .await?
        .ok_or_else(ApiError::not_found_person)?;
    let resource = person_resource(&person);
    let decision = caller.decide(state, action, &resource);
    let break_glass_id = if decision.is_permit() {
        break_glass_grant(state, caller, &person, action, &resource).await?
    } else {
        None
    };
    Ok((person, decision, break_glass_id))
}

/// The answer to a refused decision (after its record is written).
fn refused(decision: Decision) -> ApiError {
    match decision {
        Decision::Deny { reason, .. } => ApiError::Forbidden(reason),
        _ => ApiError::not_found_person(),
    }
}

/// Loads a person the caller may read and records the disclosure.
/// Absent and hidden both answer 404; denied answers 403; either way an
/// existing person's record of the attempt is written first.
pub async fn person_access(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    action: Action,
    view: View<'_>,
) -> Result<Access, ApiError> {
    let (person, decision, break_glass_id) = decide_person(state, caller, raw, action).await?;
    let fields = if decision.is_permit() {
        view.fields
    } else {
        vec![]
    };
    record(
        state,
        caller,
        &person.prison_number,
        view.resource,
        action,
        fields,
        &decision,
        break_glass_id.clone(),
    )
    .await?;
    if !decision.is_permit() {
        return Err(refused(decision));
    }
    Ok(Access {
        person,
        decision,
        break_glass_id,
    })
}

/// A permitted change to a person: the person, and the record that the store
/// write making the change appends in its own transaction.
pub struct WriteAccess {
    pub person: PersonRecord,
    pub audit: WriteAudit,
}

/// Like [`person_access`], for a change. A refusal is recorded now (nothing
/// changes); a permit is recorded by the store, with the change, so a write
/// that fails leaves no record and a record never lacks its write.
pub async fn person_write_access(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    action: Action,
    view: View<'_>,
) -> Result<WriteAccess, ApiError> {
    let (person, decision, break_glass_id) = decide_person(state, caller, raw, action).await?;
    if !decision.is_permit() {
        record(
            state,
            caller,
            &person.prison_number,
            view.resource,
            action,
            vec![],
            &decision,
            None,
        )
        .await?;
        return Err(refused(decision));
    }
    let audit = write_audit(
        state,
        disclosure(
            caller,
            Some(&person.prison_number),
            view.resource,
            action,
            view.fields,
            &decision,
            break_glass_id,
        ),
    );
    Ok(WriteAccess { person, audit })
}

/// When the request broke the glass and needed to: checks the agreement allows
/// break-glass at all, and opens or joins the grant that a governance lead reviews.
async fn break_glass_grant(
    state: &AppState,
    caller: &Caller,
    person: &PersonRecord,
    action: Action,
    resource: &Resource,
) -> Result<Option<String>, ApiError> {
    let Some(reason) = &caller.break_glass else {
        return Ok(None);
    };
    let without = state.authorizer.decide(&gatehouse_policy::Request {
        principal: &caller.principal,
        action,
        resource,
        purpose: caller.purpose,
        break_glass: false,
    });
    if without.is_permit() {
        return Ok(None); // The glass was not needed: an ordinary permitted access.
    }
    let decision = caller.permit(state, Action::BreakGlass, &Resource::System("break-glass"))?;
    let staff = caller.principal.on_behalf_of.as_deref().ok_or_else(|| {
        ApiError::Forbidden(
            "break-glass needs a named staff user, verified by a signed Gatehouse-Staff-Assertion"
                .into(),
        )
    })?;
    let audit = write_audit(
        state,
        disclosure(
            caller,
            Some(&person.prison_number),
            "break-glass",
            Action::BreakGlass,
            vec![format!("{}:{}", action.as_str(), resource_name(resource))],
            &decision,
            None,
        ),
    );
    let grant = state
        .store
        .break_glass_use(
            &caller.principal.consumer,
            staff,
            person.prison_number.as_str(),
            reason,
            BREAK_GLASS_WINDOW,
            &audit,
        )
        .await?;
    metrics::counter!("gatehouse_break_glass_uses_total").increment(1);
    Ok(Some(grant.id))
}

/// The disclosure record of a request, as decided (not yet written).
#[allow(clippy::too_many_arguments)]
pub fn disclosure(
    caller: &Caller,
    pn: Option<&PrisonNumber>,
    resource: &str,
    action: Action,
    fields: Vec<String>,
    decision: &Decision,
    break_glass_id: Option<String>,
) -> Disclosure {
    Disclosure {
        v: 1,
        at: chrono::Utc::now(),
        request_id: caller.request_id.clone(),
        consumer: caller.principal.consumer.clone(),
        org_type: caller.principal.org_type.as_str().to_owned(),
        staff_user: caller.principal.on_behalf_of.clone(),
        prison_number: pn.map(|p| p.as_str().to_owned()),
        resource: resource.to_owned(),
        action: action.as_str().to_owned(),
        fields,
        purpose: caller.purpose.as_str().to_owned(),
        lawful_basis: lawful_basis::for_purpose(caller.purpose).to_owned(),
        break_glass_reason: break_glass_id.as_ref().and(caller.break_glass.clone()),
        break_glass_id,
        decision: decision.as_str().to_owned(),
        policies: decision.policies().to_vec(),
    }
}

/// The record a permitted change carries into the store write that makes it
/// (appended in the same transaction), or none when the audit is switched off.
pub fn write_audit(state: &AppState, record: Disclosure) -> WriteAudit {
    if state.audit.is_some() {
        WriteAudit::new(record)
    } else {
        WriteAudit::off()
    }
}

/// The record of a permitted change about no one person (a subscription, a
/// closure, a break-glass review): the caller is authorised already.
pub fn system_write(
    state: &AppState,
    caller: &Caller,
    resource: &str,
    action: Action,
    fields: &[&str],
    decision: &Decision,
) -> WriteAudit {
    let fields = fields.iter().map(|f| (*f).to_owned()).collect();
    write_audit(
        state,
        disclosure(caller, None, resource, action, fields, decision, None),
    )
}

/// A short name of the resource a break-glass opened, for its record.
fn resource_name(resource: &Resource) -> &'static str {
    match resource {
        Resource::Person { .. } => "person",
        Resource::System(name) => name,
        Resource::Notice(_) => "safety-notice",
    }
}

/// Records one disclosure and waits until it is durable.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    state: &AppState,
    caller: &Caller,
    pn: &PrisonNumber,
    resource: &str,
    action: Action,
    fields: Vec<String>,
    decision: &Decision,
    break_glass_id: Option<String>,
) -> Result<(), ApiError> {
    let Some(writer) = &state.audit else {
        return Ok(());
    };
    let d = disclosure(
        caller,
        Some(pn),
        resource,
        action,
        fields,
        decision,
        break_glass_id,
    );
    writer
        .record(d.to_new())
        .await
        .map_err(ApiError::Internal)?;
    Ok(())
}

/// Records a disclosure of a person already decided on (lists and writes).
pub async fn disclose(
    state: &AppState,
    caller: &Caller,
    person: &PersonRecord,
    resource: &str,
    action: Action,
    fields: &[&str],
    decision: &Decision,
) -> Result<(), ApiError> {
    let fields = if decision.is_permit() {
        fields.iter().map(|f| (*f).to_owned()).collect()
    } else {
        vec![]
    };
    record(
        state,
        caller,
        &person.prison_number,
        resource,
        action,
        fields,
        decision,
        None,
    )
    .await
}

/// A permitted access whose disclosure is recorded once the handler knows
/// exactly what it disclosed (a list of notices, each in its own view).
/// Dropping it unrecorded is a bug: `#[must_use]` makes the compiler say so.
#[must_use = "a permitted access must be recorded with `disclosed`"]
pub struct Pending {
    pub person: PersonRecord,
    action: Action,
    resource: &'static str,
    decision: Decision,
    break_glass_id: Option<String>,
}

impl Pending {
    /// The record of the permitted change, for the store write that makes it
    /// (which appends it in the change's own transaction).
    pub fn write_audit(
        &self,
        state: &AppState,
        caller: &Caller,
        fields: Vec<String>,
    ) -> WriteAudit {
        write_audit(
            state,
            disclosure(
                caller,
                Some(&self.person.prison_number),
                self.resource,
                self.action,
                fields,
                &self.decision,
                self.break_glass_id.clone(),
            ),
        )
    }

    /// The change was made, and the store recorded it with the change.
    pub fn written(self) -> PersonRecord {
        self.person
    }

    /// Records what was disclosed, and waits until the record is durable.
    pub async fn disclosed(
        self,
        state: &AppState,
        caller: &Caller,
        fields: Vec<String>,
    ) -> Result<PersonRecord, ApiError> {
        record(
            state,
            caller,
            &self.person.prison_number,
            self.resource,
            self.action,
            fields,
            &self.decision,
            self.break_glass_id,
        )
        .await?;
        Ok(self.person)
    }
}

/// Like [`person_access`] for a person already loaded, but a permitted
/// access is recorded later, by [`Pending::disclosed`]. Refusals are recorded now.
pub async fn person_access_pending(
    state: &AppState,
    caller: &Caller,
    person: PersonRecord,
    action: Action,
    resource_name: &'static str,
) -> Result<Pending, ApiError> {
    let resource = person_resource(&person);
    let decision = caller.decide(state, action, &resource);
    if decision.is_permit() {
        let break_glass_id = break_glass_grant(state, caller, &person, action, &resource).await?;
        return Ok(Pending {
            person,
            action,
            resource: resource_name,
            decision,
            break_glass_id,
        });
    }
    record(
        state,
        caller,
        &person.prison_number,
        resource_name,
        action,
        vec![],
        &decision,
        None,
    )
    .await?;
    match decision {
        Decision::Deny { reason, .. } => Err(ApiError::Forbidden(reason)),
        _ => Err(ApiError::not_found_person()),
    }
}
