//! The staff user an API request is made for, verified.
//!
//! A consumer names the staff user it acts for with a signed assertion, a JWT
//! in the `Gatehouse-Staff-Assertion` header, issued by the consumer's own
//! identity service. It is verified against the keys registered for the
//! consumer (`gatehouse consumer set-staff-identity`): signature, issuer,
//! audience, expiry (with [`ServerConfig::assertion_leeway`] of clock skew), and a
//! lifetime of at most [`MAX_ASSERTION_LIFETIME`]. The registered claim (`sub`
//! unless set otherwise) becomes the principal's staff user, and so the staff
//! user in every disclosure record.
//!
//! A plain name in `Gatehouse-On-Behalf-Of` is refused: a staff user that is
//! whatever the caller writes would put unverified names in the disclosure
//! audit, and would let a compromised system break the glass as anyone.
//!
//! [`ServerConfig::assertion_leeway`]: crate::ServerConfig::assertion_leeway

use crate::error::ApiError;
use crate::jwks::{JwksCache, parse_jwks};
use crate::jwt::{self, Expect};
use axum::http::HeaderMap;
use gatehouse_store::Consumer;
use std::sync::Arc;

/// The header carrying the signed assertion.
pub const STAFF_ASSERTION: &str = "gatehouse-staff-assertion";
/// The header that once carried a plain staff name; refused with a pointer to the assertion.
pub const ON_BEHALF_OF: &str = "gatehouse-on-behalf-of";
/// An assertion is for one request or a short burst of them: a leaked one is
/// of little use for long.
pub const MAX_ASSERTION_LIFETIME: u64 = 60 * 60;
/// Clock skew tolerated when none is configured, in seconds.
pub const DEFAULT_LEEWAY: u64 = 30;

/// Verifies assertions; holds the fetched key sets.
pub struct StaffAssertions {
    jwks: Arc<JwksCache>,
    leeway: u64,
}

impl StaffAssertions {
    pub fn new(jwks: Arc<JwksCache>, leeway: u64) -> Self {
        Self { jwks, leeway }
    }

    /// The verified staff user of a request, or `None` when it names none.
    pub async fn staff_user(
        &self,
        consumer: &Consumer,
        headers: &HeaderMap,
    ) -> Result<Option<String>, ApiError> {
        if headers.contains_key(ON_BEHALF_OF) {
            return Err(ApiError::Unauthorized(
                "a plain Gatehouse-On-Behalf-Of is not accepted: name the staff user with a signed \
                 assertion (a JWT) in Gatehouse-Staff-Assertion; see docs/identity-and-transport.md"
                    .into(),
            ));
        }
        let Some(value) = headers.get(STAFF_ASSERTION) else {
            return Ok(None);
        };
        let refuse = |why: String| ApiError::Unauthorized(format!("the staff assertion {why}"));
        let token = value
            .to_str()
            .map_err(|_| refuse(jwt::JwtError::Malformed.to_string()))?
            .trim();
        let Some(identity) = &consumer.staff_identity else {
            return Err(ApiError::Unauthorized(
                "this consumer has no staff identity registered, so it cannot name a staff user: \
                 the Gatehouse operator registers its issuer and keys with \
                 `gatehouse consumer set-staff-identity`"
                    .into(),
            ));
        };
        let (alg, kid) = jwt::header(token).map_err(|e| refuse(e.to_string()))?;
        let mut keys = match &identity.jwks {
            Some(text) => parse_jwks(text).unwrap_or_default(),
            None => Vec::new(),
        };
        if let Some(url) = &identity.jwks_url {
            let known = !jwt::candidates(&keys, alg, kid.as_deref()).is_empty();
            let mut fetched = self.fetch(url, false).await?;
            // An unknown key id may be a key the issuer has just rotated in.
            if !known && kid.is_some() && jwt::candidates(&fetched, alg, kid.as_deref()).is_empty()
            {
                fetched = self.fetch(url, true).await?;
            }
            keys.extend(fetched.iter().cloned());
        }
        let candidates = jwt::candidates(&keys, alg, kid.as_deref());
        let expect = Expect {
            issuer: &identity.issuer,
            audience: &identity.audience,
            leeway: self.leeway,
            max_lifetime: Some(MAX_ASSERTION_LIFETIME),
            nonce: None,
        };
        let claims =
            jwt::verify(token, alg, &candidates, &expect).map_err(|e| refuse(e.to_string()))?;
        let name = claims
            .get(&identity.claim)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| {
                !s.is_empty() && s.chars().count() <= 100 && !s.chars().any(char::is_control)
            })
            .ok_or_else(|| {
                refuse(format!(
                    "must name the staff user in its {} claim: 1–100 printable characters",
                    identity.claim
                ))
            })?;
        Ok(Some(name.to_owned()))
    }

    async fn fetch(
        &self,
        url: &str,
        unknown_kid: bool,
    ) -> Result<Arc<Vec<jsonwebtoken::jwk::Jwk>>, ApiError> {
        self.jwks.keys(url, unknown_kid).await.map_err(|e| {
            tracing::warn!(error = %e, "staff assertion keys unavailable");
            ApiError::Unavailable(
                "the keys that verify this consumer's staff assertions could not be fetched; try again shortly"
                    .into(),
            )
        })
    }
}
