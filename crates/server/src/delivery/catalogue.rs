//! The event catalogue: what each outbox event type is, which agreement action
//! a subscriber needs to receive it, and the view of its data they get.
//!
//! **Adding an event type** (appointments, FHIR topics, …):
//! 1. raise it in the store, in the transaction that makes the change
//!    (`emit_event`, with a constant in `gatehouse_store::events`);
//! 2. give it a [`EventKind`] here: one variant, its action in [`EventKind::action`],
//!    and its view in [`EventKind::view`] (what a permitted subscriber may see;
//!    everything else stays behind the link to the full resource).
//!
//! Webhooks, the pull feed and NATS all go through this one table, so a new
//! type is delivered everywhere, under the same agreements, with no other change.
//! A type with no kind is never delivered (fail closed); a test checks every
//! type in the store's catalogue has one.

use crate::http::v1::notices::NoticeLevel;
use gatehouse_domain::EstablishmentCode;
use gatehouse_policy::{Action, Authorizer, NoticeFacts, Principal, Purpose, Request, Resource};
use gatehouse_store::OutboxEvent;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Receptions, transfers, court, hospital, temporary absence, release, cell moves.
    Movement,
    PersonDetails,
    Alert,
    PlannedMovement,
    Identity,
    SafetyNotice,
    /// A medication-continuity check opened or confirmed: to the sending and the receiving prison.
    ContinuityCheck,
    /// Booked, changed, cancelled, at risk, attendance recorded: the data never
    /// holds the health-only fields, so every permitted subscriber gets it whole.
    Appointment,
}

impl EventKind {
    pub fn of(event_type: &str) -> Option<Self> {
        let t = event_type.strip_prefix(gatehouse_store::events::PREFIX)?;
        Some(match t {
            "person.details-changed" => Self::PersonDetails,
            t if t.starts_with("person.medication-continuity-") => Self::ContinuityCheck,
            t if t.starts_with("person.") => Self::Movement,
            t if t.starts_with("alert.") => Self::Alert,
            t if t.starts_with("planned-movement.") => Self::PlannedMovement,
            t if t.starts_with("identity.") => Self::Identity,
            t if t.starts_with("safety-notice.") => Self::SafetyNotice,
            t if t.starts_with("appointment.") => Self::Appointment,
            _ => return None,
        })
    }

    /// The action on the person a subscriber needs to receive this kind.
    pub fn action(self) -> Action {
        match self {
            Self::Movement => Action::ReadMovements,
            Self::PersonDetails => Action::ReadPerson,
            Self::Alert => Action::ReadAlerts,
            Self::PlannedMovement => Action::ReadPlannedMovements,
            Self::Identity => Action::ReadIdentity,
            Self::SafetyNotice | Self::ContinuityCheck => Action::ReadSafetyNotices,
            Self::Appointment => Action::ReadAppointments,
        }
    }

    /// Where the full resource is read (through the API, under the same agreement).
    fn href(self, e: &OutboxEvent) -> String {
        let pn = &e.subject;
        match self {
            Self::Movement => format!("/v1/people/{pn}/movements"),
            Self::PersonDetails | Self::Identity => format!("/v1/people/{pn}"),
            Self::Alert => format!("/v1/people/{pn}/alerts"),
            Self::PlannedMovement => format!("/v1/people/{pn}/planned-movements"),
            Self::SafetyNotice | Self::ContinuityCheck | Self::Appointment => e.data["href"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("/v1/people/{pn}/safety-notices")),
        }
    }

    /// The data a subscriber receives, or `None` when its agreement does not let
    /// it see this event at all. Never more than the API would show it.
    pub fn view(
        self,
        authorizer: &dyn Authorizer,
        principal: &Principal,
        purpose: Purpose,
        e: &OutboxEvent,
    ) -> Option<Value> {
        let establishment = e
            .establishment
            .as_deref()
            .and_then(|c| EstablishmentCode::parse(c).ok());
        let person = match self {
            // The receiving prison prepares for the patient before they arrive.
            Self::ContinuityCheck => Resource::Person {
                establishment: establishment.clone(),
                custody: None,
                incoming: e.data["to"]
                    .as_str()
                    .and_then(|c| EstablishmentCode::parse(c).ok()),
            },
            _ => Resource::person(establishment.clone()),
        };
        let permits = |action, resource: &Resource| {
            authorizer
                .decide(&Request {
                    principal,
                    action,
                    resource,
                    purpose,
                    break_glass: false,
                })
                .is_permit()
        };
        if !permits(self.action(), &person) {
            return None;
        }
        let mut data = match self {
            Self::Movement
            | Self::Alert
            | Self::PlannedMovement
            | Self::PersonDetails
            | Self::Identity
            | Self::ContinuityCheck
            | Self::Appointment => e.data.clone(),
            Self::SafetyNotice => {
                // The notice's own facts decide, as for a read: its audience, its level.
                let audience: Vec<String> = e.data["audience"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect();
                let notice = Resource::Notice(NoticeFacts {
                    establishment,
                    disclosure_level: e.data["disclosureLevel"]
                        .as_str()
                        .unwrap_or("instruction-only")
                        .to_owned(),
                    consent_recorded: false,
                    audience,
                });
                let level = if permits(Action::ReadNoticeClinical, &notice) {
                    NoticeLevel::Clinical
                } else if permits(Action::ReadNoticeInstruction, &notice) {
                    NoticeLevel::Instruction
                } else {
                    return None;
                };
                let mut d = e.data.clone();
                d["view"] = json!(level);
                d
            }
        };
        data["href"] = json!(self.href(e));
        Some(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_the_store_raises_has_a_kind() {
        for t in gatehouse_store::events::ALL {
            assert!(
                EventKind::of(t).is_some(),
                "{t} has no EventKind: it would never be delivered"
            );
        }
        assert_eq!(EventKind::of("uk.gatehouse.nope.x"), None);
        assert_eq!(EventKind::of("person.received"), None);
    }
}
