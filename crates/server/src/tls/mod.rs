//! Serving HTTPS, and mutual TLS, with rustls (the ring provider, as reqwest uses).
//!
//! - [`TlsConfig`]: the files and the client-auth mode, from `serve --tls-*`.
//! - [`server_config`]: reads and checks the files once, at start, so a bad
//!   file stops start-up with a one-line error instead of failing handshakes.
//! - [`listener`]: the accept loop, handshakes off the accept path, and
//!   [`TlsPeer`], the verified client certificate handed to the app.
//!
//! Plain HTTP stays the default; TLS is on only when a certificate is given.

mod files;
mod listener;

pub use listener::{TlsListener, TlsPeer};

use rustls::server::WebPkiClientVerifier;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

/// What a TLS listener needs.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// The server's certificate chain, PEM, its own certificate first.
    pub cert: PathBuf,
    /// The private key of `cert`, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates (PEM bundle) that issue client certificates. Set: the
    /// server asks every client for a certificate (mutual TLS).
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: whether a client without a certificate is let through.
    pub client_auth: ClientAuth,
    /// Certificate revocation lists (PEM) from the client CAs: a client
    /// certificate listed in one fails the handshake.
    pub client_crls: Vec<PathBuf>,
}

/// Whether the handshake insists on a client certificate. Either way a
/// certificate that is presented must chain to the client CA and be within
/// its validity, or the handshake fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// No certificate, no connection. The default: giving a client CA means
    /// mutual TLS is wanted, so failing closed is the safe reading.
    #[default]
    Required,
    /// A client may connect without a certificate (staff browsers on the same
    /// listener). Consumers marked `require_client_cert` are still refused, by
    /// the authentication layer, before any handler runs.
    Optional,
}

impl FromStr for ClientAuth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "required" => Ok(Self::Required),
            "optional" => Ok(Self::Optional),
            other => Err(format!(
                "client auth must be `required` or `optional`, not `{other}`"
            )),
        }
    }
}

/// The rustls server configuration: certificate and key checked to belong
/// together, the client verifier if a client CA is given, HTTP/1.1 by ALPN
/// (the only protocol the server speaks).
pub fn server_config(tls: &TlsConfig) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = files::certificates(&tls.cert, "TLS certificate (--tls-cert)")?;
    let key = files::private_key(&tls.key)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("TLS set-up failed: {e}"))?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let roots = files::roots(path)?;
            let mut verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
            if !tls.client_crls.is_empty() {
                // Client certificates are issued straight from the client CAs, so
                // only the certificate itself is looked up; a certificate from a
                // CA that publishes no CRL here is not refused for that alone.
                verifier = verifier
                    .with_crls(files::crls(&tls.client_crls)?)
                    .only_check_end_entity_revocation()
                    .allow_unknown_revocation_status();
            }
            let verifier = match tls.client_auth {
                ClientAuth::Required => verifier,
                ClientAuth::Optional => verifier.allow_unauthenticated(),
            };
            let verifier = verifier.build().map_err(|e| {
                anyhow::anyhow!(
                    "the client CA file {} (--client-ca) cannot verify clients: {e}",
                    path.display()
                )
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        anyhow::anyhow!(
            "the TLS key {} (--tls-key) does not fit the certificate {} (--tls-cert): {e}",
            tls.key.display(),
            tls.cert.display()
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
