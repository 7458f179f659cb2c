//! Gatehouse domain: the types and rules of the shared safety record.
//!
//! No I/O and no async live here. Everything that comes from outside is parsed
//! into these types at the edge ("parse, don't validate"), so a value of type
//! [`PrisonNumber`] or [`NhsNumber`] is valid by construction.
//!
//! Module map:
//! - [`error`]: the one parse error type; it names the field and the rule broken.
//! - [`ids`]: identifiers: prison number, NHS number, establishment code, cell location.
//! - [`establishment`]: prisons and the special places (court, hospital, out, transit), and the built-in catalogue.
//! - [`person`]: a person's identifying details.
//! - [`movement`]: every kind of movement and its reason codes.
//! - [`custody`]: custody status and current location, derived from movements (never set by hand).
//! - [`notice`]: health-owned safety notices: categories, audiences, disclosure levels, and their rules.
//! - [`planned`]: planned movements (court dates, planned transfers and releases, hospital escorts).
//! - [`alert`]: prison alerts with the NOMIS code catalogue and their safety relevance.
//! - [`consumer`]: consumer organisation types and establishment scope.
//! - [`feed`]: the prison feed: HMPPS domain-event envelopes and Gatehouse's own upserts, parsed into commands.
//! - [`appointment`]: healthcare appointments, places and escorts, attendance outcomes (DNA apart from WNB), series, and the clash rules.
//! - [`attendance`]: attendance figures from per-week tallies (DNA and WNB never merged).
//! - [`provenance`]: source, owner and last-updated, carried by every item.

pub mod alert;
pub mod appointment;
pub mod attendance;
pub mod consumer;
pub mod custody;
pub mod error;
pub mod establishment;
pub mod feed;
pub mod ids;
pub mod movement;
pub mod notice;
pub mod person;
pub mod planned;
pub mod provenance;
mod vocab;

pub use alert::{AlertCode, AlertRelevance, PrisonAlert};
pub use consumer::{OrgType, Scope};
pub use custody::{CustodyState, CustodyStatus};
pub use error::ParseError;
pub use establishment::{Establishment, EstablishmentKind};
pub use ids::{CellLocation, EstablishmentCode, NhsNumber, PrisonNumber};
pub use movement::{Movement, MovementKind};
pub use notice::{Audience, DisclosureLevel, NoticeCategory, NoticeContent, NoticeStatus};
pub use person::{PersonDetails, PersonName};
pub use planned::{PlannedMovement, PlannedMovementKind, PlannedStatus};
/// A calendar date from outside: `YYYY-MM-DD`, the error naming `field`.
pub use vocab::date as parse_day;
