//! `serve` flags for staff identity: the clock skew allowed on signed staff
//! assertions, and sign-in to the staff pages through an OpenID Connect provider.

use clap::Args;
use gatehouse_server::ServerConfig;
use gatehouse_server::http::web::oidc::OidcConfig;

#[derive(Args, Debug, Clone)]
pub struct IdentityFlags {
    /// Clock skew tolerated on staff assertions' exp, nbf and iat, in seconds.
    #[arg(long, env = "GATEHOUSE_STAFF_ASSERTION_LEEWAY", default_value_t = gatehouse_server::staff_assertion::DEFAULT_LEEWAY)]
    pub staff_assertion_leeway: u64,
    /// The OpenID Connect provider's issuer URL; staff may then sign in through it.
    #[arg(long, env = "GATEHOUSE_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Gatehouse's client id at the provider.
    #[arg(long, env = "GATEHOUSE_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// The client secret, for a confidential client (prefer the environment variable to the flag).
    #[arg(
        long,
        env = "GATEHOUSE_OIDC_CLIENT_SECRET",
        hide_env_values = true,
        requires = "oidc_issuer"
    )]
    pub oidc_client_secret: Option<String>,
    /// Gatehouse's address as browsers reach it, e.g. https://gatehouse.example;
    /// the redirect URI to register is this plus /sign-in/oidc/callback.
    #[arg(long, env = "GATEHOUSE_PUBLIC_URL", requires = "oidc_issuer")]
    pub public_url: Option<String>,
    /// The provider's name on the sign-in page ("Sign in with …").
    #[arg(
        long,
        env = "GATEHOUSE_OIDC_PROVIDER_NAME",
        default_value = "your organisation"
    )]
    pub oidc_provider_name: String,
}

impl IdentityFlags {
    pub fn apply(self, config: &mut ServerConfig) -> anyhow::Result<()> {
        config.assertion_leeway = self.staff_assertion_leeway;
        let Some(issuer) = self.oidc_issuer else {
            return Ok(());
        };
        let client_id = self
            .oidc_client_id
            .ok_or_else(|| anyhow::anyhow!("with --oidc-issuer, give --oidc-client-id"))?;
        let public_url = self.public_url.ok_or_else(|| {
            anyhow::anyhow!(
                "with --oidc-issuer, give --public-url (Gatehouse's address as browsers reach it)"
            )
        })?;
        for (flag, value) in [("--oidc-issuer", &issuer), ("--public-url", &public_url)] {
            reqwest::Url::parse(value).map_err(|_| anyhow::anyhow!("{flag} is not a URL"))?;
        }
        config.oidc = Some(OidcConfig {
            issuer,
            client_id,
            client_secret: self.oidc_client_secret.filter(|s| !s.is_empty()),
            public_url,
            provider_name: self.oidc_provider_name,
        });
        Ok(())
    }
}
