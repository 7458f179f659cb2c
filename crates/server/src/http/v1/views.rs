//! The JSON shapes of `/v1`. A view is built from what the caller may see:
//! a section the agreement withholds is left out and said to be withheld;
//! a section with nothing known says so in words, never with silence.

use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_domain::provenance::{Owner, Provenance};
use gatehouse_domain::{
    AlertRelevance, CustodyStatus, Movement, PersonName, PlannedMovement, PlannedStatus,
};
use gatehouse_store::{AlertRecord, MovementRecord, PersonRecord, PlannedRecord};
use serde::Serialize;
use utoipa::ToSchema;

/// Plain-words markers for missing information (DESIGN.md §1: never silence).
pub mod markers {
    pub const NOT_LINKED: &str = "not linked to an NHS number";
    pub const NO_DETAILS: &str = "name and date of birth not yet received from the prison system";
    pub const NO_MOVEMENT: &str = "custody status unknown: no movement has been received";
    pub const IDENTITY_WITHHELD: &str = "the NHS number is withheld by your agreement";
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonView {
    pub prison_number: String,
    /// `null` when not yet received; see `missing`.
    pub name: Option<PersonName>,
    pub date_of_birth: Option<NaiveDate>,
    pub custody: CustodyView,
    pub identity: IdentityView,
    /// What is not known, in plain words. Empty when nothing is missing.
    pub missing: Vec<String>,
    #[serde(flatten)]
    pub provenance: Provenance,
    pub links: PersonLinks,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustodyView {
    /// `null` when no movement is known.
    pub status: Option<CustodyStatus>,
    pub establishment: Option<String>,
    pub establishment_name: Option<String>,
    /// Where the person is now: a prison code, or CRT, HOSP, TRN, OUT.
    pub location: Option<String>,
    pub cell: Option<String>,
    /// For a transfer under way: the receiving prison, when known.
    pub destination: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub source: Option<String>,
    pub owner: Owner,
    pub last_updated: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityView {
    /// `linked`, `not-linked`, or `withheld`.
    pub status: &'static str,
    pub nhs_number: Option<String>,
    /// Display form, `943 476 5919`.
    pub nhs_number_display: Option<String>,
    /// How the link was made: `pds-trace`, `manual`, `probabilistic` or `prison-feed`.
    pub method: Option<String>,
    /// UK Core NHSNumberVerificationStatusEngland code.
    pub verification: Option<String>,
    pub linked_by: Option<String>,
    pub linked_at: Option<DateTime<Utc>>,
    pub message: Option<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonLinks {
    #[serde(rename = "self")]
    pub self_: String,
    pub movements: String,
    pub alerts: String,
    pub planned_movements: String,
}

impl PersonView {
    pub fn build(
        p: &PersonRecord,
        may_see_identity: bool,
        establishment_name: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let pn = p.prison_number.as_str();
        let mut missing = Vec::new();
        if p.details.is_none() {
            missing.push(markers::NO_DETAILS.to_owned());
        }
        let custody = match &p.custody {
            Some(c) => CustodyView {
                status: Some(c.status),
                establishment: Some(c.establishment.as_str().to_owned()),
                establishment_name: establishment_name(c.establishment.as_str()),
                location: Some(c.location.as_str().to_owned()),
                cell: c.cell.as_ref().map(|c| c.as_str().to_owned()),
                destination: c.destination.as_ref().map(|d| d.as_str().to_owned()),
                since: Some(c.since),
                source: p.custody_source.clone(),
                owner: Owner::Prison,
                last_updated: Some(c.since),
            },
            None => {
                missing.push(markers::NO_MOVEMENT.to_owned());
                CustodyView {
                    status: None,
                    establishment: None,
                    establishment_name: None,
                    location: None,
                    cell: None,
                    destination: None,
                    since: None,
                    source: None,
                    owner: Owner::Prison,
                    last_updated: None,
                }
            }
        };
        let identity = match (&p.nhs_link, may_see_identity) {
            (None, _) => {
                missing.push(markers::NOT_LINKED.to_owned());
                IdentityView {
                    status: "not-linked",
                    nhs_number: None,
                    nhs_number_display: None,
                    method: None,
                    verification: None,
                    linked_by: None,
                    linked_at: None,
                    message: Some(markers::NOT_LINKED),
                }
            }
            (Some(_), false) => IdentityView {
                status: "withheld",
                nhs_number: None,
                nhs_number_display: None,
                method: None,
                verification: None,
                linked_by: None,
                linked_at: None,
                message: Some(markers::IDENTITY_WITHHELD),
            },
            (Some(l), true) => IdentityView {
                status: "linked",
                nhs_number: Some(l.nhs_number.as_str().to_owned()),
                nhs_number_display: Some(l.nhs_number.display()),
                method: Some(l.method.as_str().to_owned()),
                verification: Some(l.verification.clone()),
                linked_by: Some(l.linked_by.clone()),
                linked_at: Some(l.linked_at),
                message: None,
            },
        };
        Self {
            prison_number: pn.to_owned(),
            name: p.details.as_ref().map(|d| d.name.clone()),
            date_of_birth: p.details.as_ref().map(|d| d.date_of_birth),
            custody,
            identity,
            missing,
            provenance: Provenance {
                source: p
                    .details_source
                    .clone()
                    .or_else(|| p.custody_source.clone())
                    .unwrap_or_else(|| "prison-feed".into()),
                owner: Owner::Prison,
                last_updated: p.updated_at,
            },
            links: PersonLinks {
                self_: format!("/v1/people/{pn}"),
                movements: format!("/v1/people/{pn}/movements"),
                alerts: format!("/v1/people/{pn}/alerts"),
                planned_movements: format!("/v1/people/{pn}/planned-movements"),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MovementView {
    /// Gatehouse's sequence number for the movement.
    pub id: i64,
    #[serde(flatten)]
    pub movement: Movement,
    #[serde(flatten)]
    pub provenance: Provenance,
}

impl From<&MovementRecord> for MovementView {
    fn from(m: &MovementRecord) -> Self {
        Self {
            id: m.seq,
            movement: m.movement.clone(),
            provenance: Provenance {
                source: m.source.clone(),
                owner: Owner::Prison,
                last_updated: m.recorded_at,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    pub id: String,
    pub code: String,
    pub description: String,
    pub relevance: AlertRelevance,
    pub active: bool,
    pub active_from: Option<NaiveDate>,
    pub active_to: Option<NaiveDate>,
    #[serde(flatten)]
    pub provenance: Provenance,
}

impl From<&AlertRecord> for AlertView {
    fn from(a: &AlertRecord) -> Self {
        Self {
            id: a.alert.id.clone(),
            code: a.alert.code.as_str().to_owned(),
            description: a.alert.code.description().to_owned(),
            relevance: a.alert.code.relevance(),
            active: a.alert.active,
            active_from: a.alert.active_from,
            active_to: a.alert.active_to,
            provenance: Provenance {
                source: a.source.clone(),
                owner: Owner::Prison,
                last_updated: a.updated_at,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedMovementView {
    #[serde(flatten)]
    pub planned: PlannedMovement,
    pub status: PlannedStatus,
    /// The movement that carried the plan out, once it has happened.
    pub fulfilled_by_movement: Option<i64>,
    #[serde(flatten)]
    pub provenance: Provenance,
}

impl From<&PlannedRecord> for PlannedMovementView {
    fn from(p: &PlannedRecord) -> Self {
        Self {
            planned: p.planned.clone(),
            status: p.status,
            fulfilled_by_movement: p.fulfilled_by,
            provenance: Provenance {
                source: p.source.clone(),
                owner: Owner::Prison,
                last_updated: p.updated_at,
            },
        }
    }
}

/// A page of items with the cursor for the next.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageView<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// The next page's URL, ready to follow.
    pub next: Option<String>,
}
