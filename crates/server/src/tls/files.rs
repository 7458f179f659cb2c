//! Reading PEM files for TLS, with errors that name the file and the flag,
//! on one line, so an operator can fix start-up without reading code.

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read the {what} {}: {e}", path.display()))
}

/// Every certificate in a PEM file; at least one.
pub fn certificates(path: &Path, what: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = read(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("the {what} {} is not valid PEM: {e}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!(
            "the {what} {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        );
    }
    Ok(certs)
}

/// The first private key in a PEM file.
pub fn private_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let what = "TLS key (--tls-key)";
    let pem = read(path, what)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        anyhow::anyhow!(
            "the {what} {} holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {e}",
            path.display()
        )
    })
}

/// The client CA bundle as trust anchors; every certificate in it must be usable as one.
pub fn roots(path: &Path) -> anyhow::Result<Arc<RootCertStore>> {
    let what = "client CA file (--client-ca)";
    let mut roots = RootCertStore::empty();
    for cert in certificates(path, what)? {
        roots.add(cert).map_err(|e| {
            anyhow::anyhow!(
                "the {what} {} holds a certificate that cannot be a trust anchor: {e}",
                path.display()
            )
        })?;
    }
    Ok(Arc::new(roots))
}

/// Every revocation list in these PEM files; each file must hold at least one.
pub fn crls(
    paths: &[std::path::PathBuf],
) -> anyhow::Result<Vec<CertificateRevocationListDer<'static>>> {
    let what = "client CRL file (--client-crl)";
    let mut all = vec![];
    for path in paths {
        let pem = read(path, what)?;
        let crls = CertificateRevocationListDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("the {what} {} is not valid PEM: {e}", path.display()))?;
        if crls.is_empty() {
            anyhow::bail!(
                "the {what} {} holds no PEM revocation list (-----BEGIN X509 CRL-----)",
                path.display()
            );
        }
        all.extend(crls);
    }
    Ok(all)
}
