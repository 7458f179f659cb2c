//! Client certificates (mutual TLS) as a second proof of who is calling.
//!
//! The TLS layer verifies a presented certificate against the client CA
//! during the handshake (a wrong-CA or expired certificate never reaches
//! here). What reaches the app is [`ClientCertificate`]: its fingerprint and
//! subject, put on the request by the connection itself (see
//! [`crate::tls::TlsPeer`]), never read from a header, so nothing a client
//! sends can claim a certificate.
//!
//! The API key stays the credential that names the consumer; the certificate
//! must agree with it. [`check`] runs in the [`Caller`](crate::auth::Caller)
//! extractor, before any handler, with the consumer the key named:
//! - a consumer marked `require_client_cert` needs its bound certificate;
//! - a certificate bound to one consumer never authenticates another's key;
//! - a consumer with no binding that is not required may come without one.

use crate::error::ApiError;
use crate::state::AppState;
use crate::tls::TlsPeer;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use gatehouse_domain::ParseError;
use gatehouse_store::{ClientCertBinding, Consumer};
use sha2::{Digest, Sha256};
use std::str::FromStr;
use x509_cert::der::Decode;

/// A client certificate the TLS handshake verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// SHA-256 of the DER encoding, 64 lowercase hex digits.
    pub sha256: String,
    /// The subject distinguished name in RFC 4514 form (`CN=…,O=…`); `None`
    /// only if the certificate, though verified, could not be parsed here.
    pub subject: Option<String>,
}

impl ClientCertificate {
    pub fn from_der(der: &[u8]) -> Self {
        Self {
            sha256: hex::encode(Sha256::digest(der)),
            subject: subject_of(der),
        }
    }

    /// Whether this is the certificate a binding names: every part the
    /// binding sets must match. An empty binding names no certificate.
    pub fn matches(&self, binding: &ClientCertBinding) -> bool {
        binding.is_bound()
            && binding.sha256.as_ref().is_none_or(|f| *f == self.sha256)
            && binding
                .subject
                .as_ref()
                .is_none_or(|s| Some(s) == self.subject.as_ref())
    }
}

/// The subject of a DER certificate, in the same RFC 4514 form that
/// [`parse_subject`] gives, so a subject typed by an operator and one read
/// from a certificate compare equal.
pub fn subject_of(der: &[u8]) -> Option<String> {
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    Some(cert.tbs_certificate.subject.to_string())
}

/// A SHA-256 certificate fingerprint as operators copy it: plain hex or
/// colon-separated pairs (`openssl x509 -fingerprint -sha256` prints
/// `sha256 Fingerprint=AB:CD:…`, and that prefix is accepted too), in either
/// case. Returns 64 lowercase hex digits.
pub fn parse_fingerprint(raw: &str) -> Result<String, ParseError> {
    let field = "client-cert-fingerprint";
    let trimmed = raw.trim();
    let value = trimmed
        .split_once('=')
        .map(|(label, v)| {
            if label.to_ascii_lowercase().starts_with("sha256") {
                Ok(v)
            } else {
                Err(ParseError::new(
                    field,
                    "only SHA-256 fingerprints are accepted",
                ))
            }
        })
        .transpose()?
        .unwrap_or(trimmed);
    let hex: String = value
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ParseError::new(
            field,
            "must be a SHA-256 fingerprint: 64 hex digits, plain or colon-separated",
        ));
    }
    Ok(hex)
}

/// A subject distinguished name as an operator types it (RFC 4514:
/// `CN=lei-health,O=HMP Leeds`), rewritten in the form Gatehouse compares.
pub fn parse_subject(raw: &str) -> Result<String, ParseError> {
    let field = "client-cert-subject";
    let rule = "must be a distinguished name in RFC 4514 form, e.g. CN=lei-health,O=HMP Leeds \
                (attribute names in capitals, no spaces after commas)";
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.len() > 1000 {
        return Err(ParseError::new(field, rule));
    }
    let name = x509_cert::name::RdnSequence::from_str(trimmed)
        .map_err(|_| ParseError::new(field, rule))?;
    if name.is_empty() {
        return Err(ParseError::new(field, rule));
    }
    Ok(name.to_string())
}

/// The certificate this request's connection presented, if it was TLS with one.
pub fn presented(parts: &Parts) -> Option<&ClientCertificate> {
    parts
        .extensions
        .get::<ConnectInfo<TlsPeer>>()
        .and_then(|info| info.0.client_cert.as_ref())
}

/// Refuses the request (401) when the certificate it came with, or the lack
/// of one, does not agree with the consumer its API key named.
pub async fn check(parts: &Parts, state: &AppState, consumer: &Consumer) -> Result<(), ApiError> {
    let refusal = match presented(parts) {
        Some(cert) => refusal_for_certificate(state, consumer, cert).await?,
        None if consumer.client_cert.required => Some(
            "this consumer must present its client certificate (mutual TLS) with its API key"
                .to_owned(),
        ),
        None => None,
    };
    match refusal {
        None => Ok(()),
        Some(detail) => {
            // The consumer's name is not personal data; it tells the operator whose
            // integration is misconfigured (or whose key may have leaked).
            tracing::warn!(consumer = %consumer.name, reason = %detail, "client certificate refused");
            Err(ApiError::Unauthorized(detail))
        }
    }
}

async fn refusal_for_certificate(
    state: &AppState,
    consumer: &Consumer,
    cert: &ClientCertificate,
) -> Result<Option<String>, ApiError> {
    if cert.matches(&consumer.client_cert) {
        return Ok(None);
    }
    if consumer.client_cert.is_bound() {
        return Ok(Some(
            "the client certificate is not the one bound to this API key's consumer".into(),
        ));
    }
    // An unbound consumer may come with any certificate the CA issued, unless
    // that certificate is another consumer's: then key and certificate name
    // two different systems, and neither is believed.
    let holders = state
        .store
        .consumers_by_client_cert(&cert.sha256, cert.subject.as_deref())
        .await?;
    if holders.iter().any(|h| *h != consumer.name) {
        return Ok(Some(
            "the client certificate belongs to another consumer than this API key".into(),
        ));
    }
    if consumer.client_cert.required {
        // Required without a binding: the CLI refuses to set this, but a
        // requirement with nothing to match must not let any certificate in.
        return Ok(Some(
            "this consumer requires a client certificate but none is bound to it".into(),
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b";

    #[test]
    fn fingerprints_are_accepted_as_operators_copy_them() {
        let colons = HEX
            .as_bytes()
            .chunks(2)
            .map(|p| std::str::from_utf8(p).unwrap().to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(parse_fingerprint(HEX).unwrap(), HEX);
        assert_eq!(parse_fingerprint(&colons).unwrap(), HEX);
        assert_eq!(
            parse_fingerprint(&format!("sha256 Fingerprint={colons}")).unwrap(),
            HEX
        );
        assert!(parse_fingerprint(&format!("SHA1 Fingerprint={colons}")).is_err());
        assert!(parse_fingerprint(&HEX[1..]).is_err());
        assert!(parse_fingerprint(&HEX.replace('a', "g")).is_err());
        assert!(parse_fingerprint("").is_err());
    }

    #[test]
    fn subjects_are_rewritten_in_one_form() {
        assert_eq!(
            parse_subject(" CN=lei-health,O=HMP Leeds ").unwrap(),
            "CN=lei-health,O=HMP Leeds"
        );
        assert!(parse_subject("lei-health").is_err());
        assert!(parse_subject("").is_err());
    }

    #[test]
    fn every_part_of_a_binding_must_match() {
        let cert = ClientCertificate {
            sha256: HEX.into(),
            subject: Some("CN=a".into()),
        };
        let by = |sha256: Option<&str>, subject: Option<&str>| ClientCertBinding {
            sha256: sha256.map(Into::into),
            subject: subject.map(Into::into),
            required: false,
        };
        assert!(cert.matches(&by(Some(HEX), None)));
        assert!(cert.matches(&by(None, Some("CN=a"))));
        assert!(cert.matches(&by(Some(HEX), Some("CN=a"))));
        assert!(!cert.matches(&by(Some(HEX), Some("CN=b"))));
        assert!(!cert.matches(&by(None, Some("CN=b"))));
        assert!(!cert.matches(&by(None, None)));
    }
}
