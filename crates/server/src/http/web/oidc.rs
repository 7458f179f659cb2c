//! Staff sign-in through an OpenID Connect provider (a prison or NHS identity
//! service), beside local accounts: the authorization code flow with PKCE.
//!
//! 1. `GET /sign-in/oidc` keeps a sign-in under way in the store (the hash of
//!    a random `state`, a `nonce`, a PKCE verifier, where to go next), puts the
//!    state in a short-lived cookie, and sends the browser to the provider.
//! 2. `GET /sign-in/oidc/callback` needs the state in the query to equal the
//!    cookie's (so a sign-in started elsewhere cannot be finished in this
//!    browser), takes the sign-in from the store (once only), exchanges the
//!    code at the token endpoint with the verifier, and verifies the ID token:
//!    signature by the provider's published keys, issuer, audience, expiry,
//!    nonce.
//! 3. The token's subject must be linked to an enabled staff account
//!    (`gatehouse staff add --oidc-subject` or `staff link-oidc`); then a
//!    session starts exactly as for a local account. An unknown subject is
//!    refused with a page and no session.
//!
//! The provider is found from its discovery document, fetched on first use
//! and kept for an hour. Nothing from the provider (codes, tokens, subjects)
//! is logged.

use super::session::{cookie, is_https, landing, open_session, random_token};
use super::{WebError, query, render, safe_next};
use crate::jwks::JwksCache;
use crate::jwt::{self, Expect};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use chrono::Utc;
use gatehouse_store::OidcSignIn;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a sign-in may take at the provider.
pub const SIGN_IN_WINDOW: chrono::Duration = chrono::Duration::minutes(10);
/// Clock skew tolerated on the ID token.
pub const ID_TOKEN_LEEWAY: u64 = 30;
const DISCOVERY_FRESH_FOR: Duration = Duration::from_secs(60 * 60);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

pub const COOKIE_HTTPS: &str = "__Host-gatehouse-oidc";
pub const COOKIE_HTTP: &str = "gatehouse_oidc";
pub const CALLBACK_PATH: &str = "/sign-in/oidc/callback";

/// The provider and this client's registration with it.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The provider's issuer identifier; discovery is at `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// For a confidential client (sent with HTTP Basic); a public client relies on PKCE alone.
    pub client_secret: Option<String>,
    /// Gatehouse's own address as browsers reach it, e.g. `https://gatehouse.example`:
    /// the redirect URI registered with the provider is this plus [`CALLBACK_PATH`].
    pub public_url: String,
    /// Shown on the sign-in page: "Sign in with <name>".
    pub provider_name: String,
}

impl OidcConfig {
    pub fn redirect_uri(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.public_url.trim_end_matches('/'))
    }
}

/// What discovery says.
#[derive(Debug, Clone, serde::Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

pub struct Oidc {
    pub config: OidcConfig,
    jwks: Arc<JwksCache>,
    client: reqwest::Client,
    discovery: tokio::sync::Mutex<Option<(Discovery, Instant)>>,
}

impl Oidc {
    pub fn new(config: OidcConfig, jwks: Arc<JwksCache>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            config,
            jwks,
            client,
            discovery: tokio::sync::Mutex::new(None),
        }
    }

    async fn discover(&self) -> Result<Discovery, WebError> {
        let mut held = self.discovery.lock().await;
        if let Some((d, at)) = held.as_ref()
            && at.elapsed() < DISCOVERY_FRESH_FOR
        {
            return Ok(d.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let fetched: Result<Discovery, String> = async {
            let resp = self
                .client
                .get(&url)
                .send()
                .await
                .map_err(|e| e.without_url().to_string())?;
            if !resp.status().is_success() {
                return Err(format!("status {}", resp.status().as_u16()));
            }
            resp.json::<Discovery>()
                .await
                .map_err(|e| e.without_url().to_string())
        }
        .await;
        let d = fetched.map_err(|e| {
            tracing::warn!(error = %e, "OpenID Connect discovery failed");
            unavailable()
        })?;
        // The document must be the configured issuer's own (OpenID Connect Discovery §4.3).
        if d.issuer.trim_end_matches('/') != self.config.issuer.trim_end_matches('/') {
            tracing::warn!("OpenID Connect discovery names another issuer");
            return Err(unavailable());
        }
        *held = Some((d.clone(), Instant::now()));
        Ok(d)
    }

    /// Exchanges the code for the ID token (with the PKCE verifier).
    async fn exchange(
        &self,
        d: &Discovery,
        code: &str,
        verifier: &str,
    ) -> Result<String, WebError> {
        let redirect_uri = self.config.redirect_uri();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        let mut req = self.client.post(&d.token_endpoint);
        // A confidential client authenticates with HTTP Basic; a public one names itself.
        match &self.config.client_secret {
            Some(secret) => req = req.basic_auth(&self.config.client_id, Some(secret)),
            None => form.push(("client_id", self.config.client_id.as_str())),
        }
        let resp = req.form(&form).send().await.map_err(|e| {
            tracing::warn!(error = %e.without_url(), "OpenID Connect token request failed");
            unavailable()
        })?;
        if resp.status().is_client_error() {
            // invalid_grant: a code already used, expired, or not ours.
            return Err(refused(
                "The identity provider did not accept the sign-in (the link may have been used already or have expired). Start again.",
            ));
        }
        if !resp.status().is_success() {
            tracing::warn!(
                status = resp.status().as_u16(),
                "OpenID Connect token endpoint failed"
            );
            return Err(unavailable());
        }
        #[derive(serde::Deserialize)]
        struct Tokens {
            id_token: Option<String>,
        }
        let tokens: Tokens = resp.json().await.map_err(|_| unavailable())?;
        tokens
            .id_token
            .ok_or_else(|| refused("The identity provider sent no ID token. Start again."))
    }

    /// Verifies the ID token; returns its subject.
    async fn verify(&self, d: &Discovery, id_token: &str, nonce: &str) -> Result<String, WebError> {
        let bad = |e: jwt::JwtError| {
            tracing::warn!(reason = %e, "OpenID Connect ID token refused");
            refused("The identity provider's answer could not be verified. Start again.")
        };
        let (alg, kid) = jwt::header(id_token).map_err(bad)?;
        let mut keys = self.jwks.keys(&d.jwks_uri, false).await.map_err(|e| {
            tracing::warn!(error = %e, "OpenID Connect keys unavailable");
            unavailable()
        })?;
        if kid.is_some() && jwt::candidates(&keys, alg, kid.as_deref()).is_empty() {
            keys = self
                .jwks
                .keys(&d.jwks_uri, true)
                .await
                .map_err(|_| unavailable())?;
        }
        let expect = Expect {
            issuer: &d.issuer,
            audience: &self.config.client_id,
            leeway: ID_TOKEN_LEEWAY,
            max_lifetime: None,
            nonce: Some(nonce),
        };
        let claims = jwt::verify(
            id_token,
            alg,
            &jwt::candidates(&keys, alg, kid.as_deref()),
            &expect,
        )
        .map_err(bad)?;
        // With several audiences, the token must have been issued to us (OpenID Connect Core §3.1.3.7).
        if claims
            .get("aud")
            .and_then(|a| a.as_array())
            .is_some_and(|a| a.len() > 1)
            && claims.get("azp").and_then(|v| v.as_str()) != Some(self.config.client_id.as_str())
        {
            return Err(bad(jwt::JwtError::WrongAudience));
        }
        claims
            .get("sub")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty() && s.len() <= 255)
            .map(str::to_owned)
            .ok_or_else(|| bad(jwt::JwtError::MissingClaim("sub".into())))
    }
}

fn unavailable() -> WebError {
    WebError::page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is not available",
        "Gatehouse could not reach the identity provider. Try again shortly, or sign in with your Gatehouse account.",
    )
}

fn refused(message: &str) -> WebError {
    WebError::page(StatusCode::UNAUTHORIZED, "You are not signed in", message)
}

fn cookie_name(https: bool) -> &'static str {
    if https { COOKIE_HTTPS } else { COOKIE_HTTP }
}

/// The flow cookie. `SameSite=Lax`, unlike the session cookie: the browser
/// must send it on the provider's redirect back, a cross-site navigation.
fn flow_cookie(value: &str, max_age: i64, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/sign-in/oidc; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(https)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("gatehouse_invalid=1"))
}

fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn not_configured() -> WebError {
    WebError::not_found()
}

/// `GET /sign-in/oidc?next=…`: off to the provider.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, WebError> {
    let oidc = state.oidc.clone().ok_or_else(not_configured)?;
    let next = safe_next(query(&uri).get("next").unwrap_or("/"))
        .unwrap_or("/")
        .to_owned();
    let d = oidc.discover().await?;
    let (flow_state, nonce, verifier) = (random_token(), random_token(), random_token());
    let now = Utc::now();
    state
        .store
        .put_oidc_sign_in(
            &OidcSignIn {
                state_hash: sha256_hex(&flow_state),
                nonce: nonce.clone(),
                verifier: verifier.clone(),
                next,
                expires_at: now + SIGN_IN_WINDOW,
            },
            now,
        )
        .await?;
    let mut target = reqwest::Url::parse(&d.authorization_endpoint).map_err(|_| unavailable())?;
    target
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &oidc.config.client_id)
        .append_pair("redirect_uri", &oidc.config.redirect_uri())
        .append_pair("scope", "openid")
        .append_pair("state", &flow_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256");
    let https = is_https(&headers);
    let mut resp = Redirect::to(target.as_str()).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        flow_cookie(&flow_state, SIGN_IN_WINDOW.num_seconds(), https),
    );
    Ok(resp)
}

/// `GET /sign-in/oidc/callback?code=…&state=…`: back from the provider.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, WebError> {
    let oidc = state.oidc.clone().ok_or_else(not_configured)?;
    let q = query(&uri);
    let https = is_https(&headers);
    if q.get("error").is_some() {
        return Err(refused(
            "The identity provider did not sign you in. Start again, or sign in with your Gatehouse account.",
        ));
    }
    let given = q.get("state").unwrap_or_default();
    let expected = cookie(&headers, cookie_name(https)).unwrap_or_default();
    if given.is_empty() || expected.len() != 43 || given != expected {
        return Err(WebError::bad_request(
            "This sign-in was not started in this browser, or has been tampered with. Start again from the sign-in page.",
        ));
    }
    let code = q.get("code").unwrap_or_default();
    if code.is_empty() || code.len() > 2048 {
        return Err(WebError::bad_request(
            "The identity provider's answer has no sign-in code. Start again.",
        ));
    }
    let flow = state
        .store
        .take_oidc_sign_in(&sha256_hex(given), Utc::now())
        .await?
        .ok_or_else(|| {
            WebError::bad_request(
                "This sign-in has expired or has already been used. Start again from the sign-in page.",
            )
        })?;
    let d = oidc.discover().await?;
    let id_token = oidc.exchange(&d, code, &flow.verifier).await?;
    let subject = oidc.verify(&d, &id_token, &flow.nonce).await?;
    let user = state
        .store
        .staff_user_by_oidc_subject(&subject)
        .await?
        .filter(|u| u.disabled_at.is_none());
    let Some(user) = user else {
        metrics::counter!("gatehouse_web_sign_ins_total", "outcome" => "oidc-unlinked")
            .increment(1);
        return Err(WebError::forbidden(format!(
            "Your {} account is not linked to an active Gatehouse staff account. Ask your Gatehouse administrator to link it.",
            oidc.config.provider_name
        )));
    };
    metrics::counter!("gatehouse_web_sign_ins_total", "outcome" => "oidc-signed-in").increment(1);
    let session_cookie = open_session(&state, &user, https).await?;
    // A page that moves on by itself, not a redirect: the browser arrived here
    // from the provider (another site), and a SameSite=Strict session cookie is
    // not sent on a redirect chain that began on another site.
    let page = Continue {
        next: landing(&user, safe_next(&flow.next).unwrap_or("/")),
    };
    let mut resp = render(&page)?.into_response();
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, session_cookie);
    h.append(header::SET_COOKIE, flow_cookie("", 0, https));
    Ok(resp)
}

#[derive(askama::Template)]
#[template(path = "sign_in_continue.html")]
struct Continue {
    next: String,
}
