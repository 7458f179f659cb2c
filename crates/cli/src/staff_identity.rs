//! The staff identity flags of `consumer add` and `consumer set-staff-identity`:
//! how a consumer's signed staff assertions are verified.

use clap::Args;
use gatehouse_store::{DEFAULT_STAFF_CLAIM, StaffIdentity};
use jsonwebtoken::jwk::AlgorithmParameters;

#[derive(Args, Debug, Default, Clone)]
pub struct StaffIdentityArgs {
    /// The issuer (`iss`) of the consumer's staff assertions, e.g. https://login.health.example.
    /// Without it, the consumer cannot name a staff user.
    #[arg(long)]
    pub staff_issuer: Option<String>,
    /// The audience (`aud`) its assertions carry for Gatehouse, e.g. gatehouse-lei-health.
    #[arg(long, requires = "staff_issuer")]
    pub staff_audience: Option<String>,
    /// A JWKS file (JSON) with the public keys that sign its assertions.
    #[arg(long, requires = "staff_issuer")]
    pub staff_jwks: Option<std::path::PathBuf>,
    /// A URL to fetch the JWKS from (https; cached, refetched when an unknown key id appears).
    #[arg(long, requires = "staff_issuer")]
    pub staff_jwks_url: Option<String>,
    /// The claim naming the staff user.
    #[arg(long, requires = "staff_issuer", default_value = DEFAULT_STAFF_CLAIM)]
    pub staff_claim: String,
}

impl StaffIdentityArgs {
    /// The settings to store, checked; `None` when no issuer is given.
    pub fn resolve(&self) -> anyhow::Result<Option<StaffIdentity>> {
        let Some(issuer) = self.staff_issuer.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if issuer.is_empty() || issuer.len() > 500 {
            anyhow::bail!("--staff-issuer must be 1–500 characters");
        }
        let audience = self
            .staff_audience
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty() && a.len() <= 500)
            .ok_or_else(|| {
                anyhow::anyhow!("give --staff-audience: the aud its assertions carry for Gatehouse")
            })?;
        let claim = self.staff_claim.trim();
        if claim.is_empty() || claim.len() > 100 {
            anyhow::bail!("--staff-claim must be 1–100 characters");
        }
        let jwks = match &self.staff_jwks {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
                check_jwks(&text)?;
                Some(text)
            }
        };
        if let Some(url) = &self.staff_jwks_url {
            check_jwks_url(url)?;
        }
        if jwks.is_none() && self.staff_jwks_url.is_none() {
            anyhow::bail!("give --staff-jwks (a file) or --staff-jwks-url, or both");
        }
        Ok(Some(StaffIdentity {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            claim: claim.to_owned(),
            jwks,
            jwks_url: self.staff_jwks_url.clone(),
        }))
    }
}

/// A JWKS must hold at least one public signing key; a symmetric (`oct`) key is refused.
pub fn check_jwks(text: &str) -> anyhow::Result<()> {
    let keys = gatehouse_server::jwks::parse_jwks(text)
        .map_err(|e| anyhow::anyhow!("the JWKS file {e}"))?;
    if keys
        .iter()
        .any(|k| matches!(k.algorithm, AlgorithmParameters::OctetKey(_)))
    {
        anyhow::bail!(
            "the JWKS holds a symmetric (oct) key: staff assertions must be signed with public-key algorithms"
        );
    }
    if keys.is_empty() {
        anyhow::bail!("the JWKS holds no key Gatehouse can use (RSA, EC P-256/P-384 or Ed25519)");
    }
    Ok(())
}

/// A JWKS URL must be https, except on the loopback interface (development and tests).
pub fn check_jwks_url(url: &str) -> anyhow::Result<()> {
    let u =
        reqwest::Url::parse(url).map_err(|_| anyhow::anyhow!("--staff-jwks-url is not a URL"))?;
    let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if u.scheme() != "https" && !(u.scheme() == "http" && loopback) {
        anyhow::bail!("--staff-jwks-url must be https (http only on the loopback interface)");
    }
    Ok(())
}

/// How `consumer list` shows a consumer's staff identity.
pub fn describe(identity: Option<&StaffIdentity>) -> String {
    match identity {
        None => "staff: none".into(),
        Some(i) => {
            let keys = match (&i.jwks, &i.jwks_url) {
                (Some(_), Some(u)) => format!("jwks inline + {u}"),
                (Some(_), None) => "jwks inline".into(),
                (None, Some(u)) => format!("jwks {u}"),
                (None, None) => "no keys".into(),
            };
            format!(
                "staff: iss={} aud={} claim={} {keys}",
                i.issuer, i.audience, i.claim
            )
        }
    }
}
