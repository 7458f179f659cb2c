//! Gatehouse access decisions: may this consumer do this action, on this
//! resource, for this purpose?
//!
//! Every consumer holds one data-sharing agreement, written in Cedar and
//! validated against `agreements/schema.cedarschema` before it is installed.
//! The baseline (`agreements/baseline.cedar`) is joined to every agreement and
//! holds the rules no agreement may undo. Handlers never decide for
//! themselves: they describe the request as a [`Request`] and ask the
//! [`Authorizer`]; each [`Decision`] names the policies that made it, so it can
//! be recorded in the disclosure audit.
//!
//! Module map:
//! - [`action`]: the actions (one per read or write view).
//! - [`purpose`]: purposes of use, and how a request names one.
//! - [`templates`]: the shipped agreement templates.
//! - [`agreement`]: parsing and validating an agreement against the schema.
//! - [`cedar`]: the Cedar authorizer, with compiled agreements cached by content.

pub mod action;
pub mod agreement;
pub mod cedar;
pub mod memo;
pub mod purpose;
pub mod templates;

pub use action::Action;
pub use agreement::{Agreement, AgreementError};
pub use cedar::CedarAuthorizer;
pub use purpose::Purpose;

use gatehouse_domain::{CustodyStatus, EstablishmentCode, OrgType, Scope};

/// Who is asking: a consumer system, and the staff user acting through it.
#[derive(Debug, Clone)]
pub struct Principal {
    pub consumer: String,
    pub org_type: OrgType,
    pub scope: Scope,
    pub on_behalf_of: Option<String>,
    pub agreement: Agreement,
}

/// A safety notice, as far as access decisions need to know it.
#[derive(Debug, Clone)]
pub struct NoticeFacts {
    pub establishment: Option<EstablishmentCode>,
    /// `instruction-only` or `with-condition`.
    pub disclosure_level: String,
    pub consent_recorded: bool,
    pub audience: Vec<String>,
}

/// What is being acted on.
#[derive(Debug, Clone)]
pub enum Resource {
    /// A person, by the establishment responsible for them (`None` if no movement is known yet).
    Person {
        establishment: Option<EstablishmentCode>,
        custody: Option<CustodyStatus>,
        /// The prison a planned transfer will take them to: its healthcare prepares for them.
        incoming: Option<EstablishmentCode>,
    },
    Notice(NoticeFacts),
    /// Gatehouse's own surfaces: `feed`, `reference-data`, `audit`, `events`.
    System(&'static str),
}

impl Resource {
    pub fn person(establishment: Option<EstablishmentCode>) -> Self {
        Self::Person {
            establishment,
            custody: None,
            incoming: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub principal: &'a Principal,
    pub action: Action,
    pub resource: &'a Resource,
    pub purpose: Purpose,
    /// The request carries `Gatehouse-Break-Glass` with a reason.
    pub break_glass: bool,
}

/// The answer, with the policies that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Permit {
        policies: Vec<String>,
    },
    /// The resource is outside what the consumer may see at all: answer as if it did not exist.
    Hidden {
        policies: Vec<String>,
    },
    Deny {
        policies: Vec<String>,
        reason: String,
    },
}

impl Decision {
    pub fn is_permit(&self) -> bool {
        matches!(self, Self::Permit { .. })
    }
    pub fn policies(&self) -> &[String] {
        match self {
            Self::Permit { policies } | Self::Hidden { policies } | Self::Deny { policies, .. } => {
                policies
            }
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Permit { .. } => "permit",
            Self::Hidden { .. } => "hidden",
            Self::Deny { .. } => "deny",
        }
    }
}

/// The one question every handler asks.
pub trait Authorizer: Send + Sync + 'static {
    fn decide(&self, request: &Request<'_>) -> Decision;
}
