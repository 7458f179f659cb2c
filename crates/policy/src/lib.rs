//! Gatehouse access decisions: may this consumer do this action, on this
//! resource, for this purpose?
//!
//! Handlers never decide for themselves: they describe the request as a
//! [`Request`] and ask an [`Authorizer`]. Each decision names the policy that
//! made it, so it can be recorded. Today's authorizer reads the built-in
//! agreement templates ([`templates`]); the Cedar agreements of the governance
//! work replace it behind the same trait.
//!
//! Module map:
//! - [`action`]: the actions a consumer can ask for.
//! - [`purpose`]: purposes of use, and how a request names one.
//! - [`templates`]: the built-in agreement templates and their authorizer.

pub mod action;
pub mod purpose;
pub mod templates;

pub use action::Action;
pub use purpose::Purpose;
pub use templates::TemplateAuthorizer;

use gatehouse_domain::{EstablishmentCode, OrgType, Scope};

/// Who is asking: a consumer system, and the staff user acting through it.
#[derive(Debug, Clone)]
pub struct Principal {
    pub consumer: String,
    pub org_type: OrgType,
    /// The agreement (template) the consumer holds.
    pub agreement: String,
    pub scope: Scope,
    pub on_behalf_of: Option<String>,
}

/// What is being acted on.
#[derive(Debug, Clone)]
pub enum Resource {
    /// A person, by the establishment responsible for them (`None` if no movement is known yet).
    Person {
        establishment: Option<EstablishmentCode>,
    },
    /// The prison feed.
    Feed,
    /// Reference data (establishments).
    ReferenceData,
}

#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub principal: &'a Principal,
    pub action: Action,
    pub resource: &'a Resource,
    pub purpose: Purpose,
}

/// The answer, with the policy that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Permit {
        policy: String,
    },
    /// The resource is outside the consumer's scope: answer as if it did not exist.
    Hidden {
        policy: String,
    },
    Deny {
        policy: String,
        reason: String,
    },
}

impl Decision {
    pub fn is_permit(&self) -> bool {
        matches!(self, Self::Permit { .. })
    }
    pub fn policy(&self) -> &str {
        match self {
            Self::Permit { policy } | Self::Hidden { policy } | Self::Deny { policy, .. } => policy,
        }
    }
}

/// The one question every handler asks.
pub trait Authorizer: Send + Sync + 'static {
    fn decide(&self, request: &Request<'_>) -> Decision;

    /// Whether `template` names an agreement this authorizer knows.
    fn knows_agreement(&self, template: &str) -> bool;
}
