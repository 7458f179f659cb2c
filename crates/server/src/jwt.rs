//! Verifying a signed JWT against public keys: the rules shared by staff
//! assertions on API requests and ID tokens from the OpenID Connect provider.
//!
//! Only public-key signatures are accepted (RS*, PS*, ES256, ES384, EdDSA).
//! `alg: none` is refused, and so are the HMAC algorithms: a shared secret
//! would let anyone holding it (Gatehouse included) mint a staff identity, and
//! accepting HS* beside public keys is the classic algorithm-confusion hole.
//! The key is chosen by `kid`, and must be of the family the header names, so
//! a token cannot pick how its own key is interpreted.

use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde_json::{Map, Value};
use std::str::FromStr;

/// The algorithms accepted.
pub const ACCEPTED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The longest token considered; a JWT of a few claims is well under 4 KiB.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token was refused. Each says what is wrong, never the token's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("is not a well-formed JWT (three base64url parts: header, claims, signature)")]
    Malformed,
    #[error("is unsigned (alg \"none\"): it must be signed with a registered key")]
    Unsigned,
    #[error(
        "uses a shared-secret algorithm (HS256/384/512): only public-key signatures (RS, PS, ES, EdDSA) are accepted"
    )]
    SharedSecret,
    #[error("uses an algorithm Gatehouse does not accept: use RS256, PS256, ES256 or EdDSA")]
    UnsupportedAlgorithm,
    #[error("is signed by a key that is not in the registered key set")]
    UnknownKey,
    #[error("has a signature that does not verify against the registered keys")]
    BadSignature,
    #[error("has expired (exp)")]
    Expired,
    #[error("is not valid yet (nbf or iat is in the future)")]
    NotYetValid,
    #[error("has the wrong issuer (iss)")]
    WrongIssuer,
    #[error("has the wrong audience (aud)")]
    WrongAudience,
    #[error("lacks the required claim {0}")]
    MissingClaim(String),
    #[error("lives too long: exp may be at most {0} seconds after it was issued")]
    TooLong(u64),
    #[error("has the wrong nonce")]
    WrongNonce,
}

/// What a token must carry.
pub struct Expect<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway: u64,
    /// If set, `exp` may be at most this many seconds after `iat` (or now).
    pub max_lifetime: Option<u64>,
    /// If set, the `nonce` claim must equal it (OpenID Connect).
    pub nonce: Option<&'a str>,
}

/// The algorithm and key id a token's header names, with the refused algorithms refused.
pub fn header(token: &str) -> Result<(Algorithm, Option<String>), JwtError> {
    if token.len() > MAX_TOKEN_BYTES || token.split('.').count() != 3 {
        return Err(JwtError::Malformed);
    }
    let first = token.split('.').next().unwrap_or_default();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(first.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&raw).map_err(|_| JwtError::Malformed)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JwtError::Malformed)?;
    if alg.eq_ignore_ascii_case("none") {
        return Err(JwtError::Unsigned);
    }
    if alg.to_ascii_uppercase().starts_with("HS") {
        return Err(JwtError::SharedSecret);
    }
    let alg = Algorithm::from_str(alg).map_err(|_| JwtError::UnsupportedAlgorithm)?;
    if !ACCEPTED.contains(&alg) {
        return Err(JwtError::UnsupportedAlgorithm);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(JwtError::Malformed),
    };
    Ok((alg, kid))
}

/// Whether a key may verify a token signed with `alg`.
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return false;
    }
    if let Some(a) = jwk.common.key_algorithm
        && Algorithm::from_str(&a.to_string()).ok() != Some(alg)
    {
        return false;
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(p) => matches!(
            (&p.curve, alg),
            (EllipticCurve::P256, Algorithm::ES256) | (EllipticCurve::P384, Algorithm::ES384)
        ),
        AlgorithmParameters::OctetKeyPair(p) => {
            p.curve == EllipticCurve::Ed25519 && alg == Algorithm::EdDSA
        }
        // A symmetric key is never a verification key here.
        AlgorithmParameters::OctetKey(_) => false,
    }
}

/// The keys that may have signed a token: by key id when it names one.
pub fn candidates<'a>(keys: &'a [Jwk], alg: Algorithm, kid: Option<&str>) -> Vec<&'a Jwk> {
    keys.iter()
        .filter(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
        .filter(|k| fits(k, alg))
        .collect()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Verifies the signature with one of `keys` and then the claims; returns the claims.
pub fn verify(
    token: &str,
    alg: Algorithm,
    keys: &[&Jwk],
    expect: &Expect<'_>,
) -> Result<Map<String, Value>, JwtError> {
    if keys.is_empty() {
        return Err(JwtError::UnknownKey);
    }
    let mut validation = Validation::new(alg);
    validation.leeway = expect.leeway;
    validation.validate_nbf = true;
    validation.set_issuer(&[expect.issuer]);
    validation.set_audience(&[expect.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    for jwk in keys {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        match jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation) {
            Ok(data) => return check_times(data.claims, expect),
            Err(e) => match e.kind() {
                // Another key may verify it: keep trying.
                ErrorKind::InvalidSignature
                | ErrorKind::InvalidEcdsaKey
                | ErrorKind::InvalidRsaKey(_)
                | ErrorKind::InvalidKeyFormat
                | ErrorKind::InvalidAlgorithm
                | ErrorKind::Crypto(_) => continue,
                // The signature verified (or the token is malformed): no other key changes that.
                ErrorKind::ExpiredSignature => return Err(JwtError::Expired),
                ErrorKind::ImmatureSignature => return Err(JwtError::NotYetValid),
                ErrorKind::InvalidIssuer => return Err(JwtError::WrongIssuer),
                ErrorKind::InvalidAudience => return Err(JwtError::WrongAudience),
                ErrorKind::MissingRequiredClaim(c) => {
                    return Err(JwtError::MissingClaim(c.clone()));
                }
                _ => return Err(JwtError::Malformed),
            },
        }
    }
    Err(JwtError::BadSignature)
}

/// What the library leaves to the caller: `iat` not in the future, a bounded lifetime, the nonce.
fn check_times(
    claims: Map<String, Value>,
    expect: &Expect<'_>,
) -> Result<Map<String, Value>, JwtError> {
    let now = now();
    let iat = match claims.get("iat") {
        None => None,
        Some(v) => Some(v.as_u64().ok_or(JwtError::Malformed)?),
    };
    if iat.is_some_and(|iat| iat > now + expect.leeway) {
        return Err(JwtError::NotYetValid);
    }
    if let Some(max) = expect.max_lifetime {
        let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
        let from = iat.unwrap_or(now).min(now);
        if exp > from + max + expect.leeway {
            return Err(JwtError::TooLong(max));
        }
    }
    if let Some(nonce) = expect.nonce
        && claims.get("nonce").and_then(Value::as_str) != Some(nonce)
    {
        return Err(JwtError::WrongNonce);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn refused_algorithms_are_named() {
        let t = |h: &str| format!("{}.{}.", b64(h), b64("{}"));
        assert_eq!(header(&t(r#"{"alg":"none"}"#)), Err(JwtError::Unsigned));
        assert_eq!(header(&t(r#"{"alg":"NONE"}"#)), Err(JwtError::Unsigned));
        assert_eq!(
            header(&t(r#"{"alg":"HS256"}"#)),
            Err(JwtError::SharedSecret)
        );
        assert_eq!(
            header(&t(r#"{"alg":"XX1"}"#)),
            Err(JwtError::UnsupportedAlgorithm)
        );
        assert_eq!(header("abc"), Err(JwtError::Malformed));
        assert_eq!(header("a.b.c"), Err(JwtError::Malformed));
        assert_eq!(
            header(&t(r#"{"alg":"EdDSA","kid":"k1"}"#)),
            Ok((Algorithm::EdDSA, Some("k1".into())))
        );
    }
}
