//! API keys and the authenticated caller.
//!
//! A key is `gh_<prefix>_<secret>`: an 8-character public prefix that finds
//! the key, and 256 random bits. Only the SHA-256 of the whole key is stored.
//! (A slow password hash would add nothing for a 256-bit random secret and
//! would cost every request; staff passwords, which are guessable, use argon2.)

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use gatehouse_domain::ParseError;
use gatehouse_policy::{Action, Agreement, Decision, Principal, Purpose, Request, Resource};
use gatehouse_store::{KeyLookup, StoredKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const KEY_PREFIX: &str = "gh_";
pub use crate::staff_assertion::{ON_BEHALF_OF, STAFF_ASSERTION};
pub const PURPOSE: &str = "gatehouse-purpose";
pub const BREAK_GLASS: &str = "gatehouse-break-glass";

/// A newly made key: the secret to show once, and what to store.
pub struct IssuedKey {
    pub secret: String,
    pub stored: StoredKey,
}

pub fn issue_key() -> IssuedKey {
    let mut rng = rand::rng();
    let mut prefix = [0u8; 4];
    rng.fill_bytes(&mut prefix);
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let prefix = hex::encode(prefix);
    let key = format!(
        "{KEY_PREFIX}{prefix}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let stored = StoredKey {
        prefix,
        hash: hash_key(&key),
    };
    IssuedKey {
        secret: key,
        stored,
    }
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The prefix of a well-formed key.
fn key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 8 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) && secret.len() == 43)
        .then_some(prefix)
}

/// An authenticated request: the consumer, the verified staff user if named, the
/// purpose, and the break-glass reason if the glass is broken.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub purpose: Purpose,
    pub break_glass: Option<String>,
    pub request_id: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized("send your API key as Authorization: Bearer <key>".into())
            })?;
        let value = header.to_str().map_err(|_| {
            ApiError::Unauthorized("the Authorization header is not readable text".into())
        })?;
        let key = value
            .strip_prefix("Bearer ")
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must use the Bearer scheme".into())
            })?
            .trim();
        let prefix = key_prefix(key)
            .ok_or_else(|| ApiError::Unauthorized("the API key is not a Gatehouse key".into()))?;
        let consumer = match state.store.consumer_by_key(prefix, &hash_key(key)).await? {
            KeyLookup::Live(c) => c,
            KeyLookup::Revoked => {
                return Err(ApiError::Unauthorized(
                    "this API key has been revoked".into(),
                ));
            }
            KeyLookup::Unknown => {
                return Err(ApiError::Unauthorized(
                    "the API key is not recognised".into(),
                ));
            }
        };
        crate::client_cert::check(parts, state, &consumer).await?;
        // The staff user is never taken on trust: only a verified assertion names one.
        let on_behalf_of = state
            .staff_assertions
            .staff_user(&consumer, &parts.headers)
            .await?;
        let break_glass = match parts.headers.get(BREAK_GLASS) {
            None => None,
            Some(v) => {
                let s = v.to_str().ok().map(str::trim).filter(|s| {
                    !s.is_empty() && s.chars().count() <= 500 && !s.chars().any(char::is_control)
                });
                Some(
                    s.ok_or_else(|| {
                        ApiError::bad_field(ParseError::new(
                            "Gatehouse-Break-Glass",
                            "must give the reason, 1–500 printable characters",
                        ))
                    })?
                    .to_owned(),
                )
            }
        };
        let purpose = match parts.headers.get(PURPOSE) {
            // Breaking the glass is an emergency unless the caller says otherwise.
            None if break_glass.is_some() => Purpose::Emergency,
            None => Purpose::default_for(consumer.org_type),
            Some(v) => {
                Purpose::parse(v.to_str().unwrap_or_default()).map_err(ApiError::bad_field)?
            }
        };
        let agreement = agreement_of(&consumer);
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let principal = Principal {
            consumer: consumer.name,
            org_type: consumer.org_type,
            scope: consumer.scope,
            on_behalf_of,
            agreement,
        };
        Ok(Self {
            principal,
            purpose,
            break_glass,
            request_id,
        })
    }
}

/// The agreement held for a consumer; one registered before agreements were held uses its template.
pub fn agreement_of(consumer: &gatehouse_store::Consumer) -> Agreement {
    if consumer.agreement_text.is_empty() {
        Agreement::template(&consumer.agreement)
            .unwrap_or_else(|| Agreement::new(&consumer.agreement, ""))
    } else {
        Agreement::new(&consumer.agreement, &consumer.agreement_text)
    }
}

/// A consumer as a principal acting for itself (no staff user): how event
/// deliveries, which no person requested, are decided.
pub fn system_principal(consumer: &gatehouse_store::Consumer) -> Principal {
    Principal {
        consumer: consumer.name.clone(),
        org_type: consumer.org_type,
        scope: consumer.scope.clone(),
        on_behalf_of: None,
        agreement: agreement_of(consumer),
    }
}

impl Caller {
    /// The authorizer's decision, with the glass broken if the request says so.
    pub fn decide(&self, state: &AppState, action: Action, resource: &Resource) -> Decision {
        state.authorizer.decide(&Request {
            principal: &self.principal,
            action,
            resource,
            purpose: self.purpose,
            break_glass: self.break_glass.is_some(),
        })
    }

    /// Asks the authorizer; hidden resources answer 404, denied ones 403.
    pub fn authorize(
        &self,
        state: &AppState,
        action: Action,
        resource: &Resource,
    ) -> Result<(), ApiError> {
        self.permit(state, action, resource).map(|_| ())
    }

    /// Like [`Self::authorize`], giving the permitting decision (its policies
    /// go into the record of a change): one evaluation, not two.
    pub fn permit(
        &self,
        state: &AppState,
        action: Action,
        resource: &Resource,
    ) -> Result<Decision, ApiError> {
        match self.decide(state, action, resource) {
            permit @ Decision::Permit { .. } => Ok(permit),
            Decision::Hidden { .. } => Err(match resource {
                Resource::Person { .. } => ApiError::not_found_person(),
                _ => ApiError::NotFound("not found".into()),
            }),
            Decision::Deny { reason, .. } => Err(ApiError::Forbidden(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_keys_are_well_formed_and_distinct() {
        let a = issue_key();
        let b = issue_key();
        assert_ne!(a.secret, b.secret);
        assert_eq!(key_prefix(&a.secret), Some(a.stored.prefix.as_str()));
        assert_eq!(hash_key(&a.secret), a.stored.hash);
        assert!(key_prefix("gh_1234_short").is_none());
        assert!(key_prefix("Bearer x").is_none());
    }
}
