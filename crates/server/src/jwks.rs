//! JSON Web Key Sets: parsed from a registered document, or fetched from a
//! URL and cached.
//!
//! A fetched set is kept for [`FRESH_FOR`]. A token naming a key id the cached
//! set lacks asks for a refetch (the issuer has rotated its keys), but at most
//! once per [`REFETCH_AT_MOST_EVERY`] per URL, so a stream of tokens with made-up
//! key ids cannot turn Gatehouse into a load generator against the issuer.
//! A fetch is bounded by [`FETCH_TIMEOUT`] and [`MAX_JWKS_BYTES`]; when it fails
//! and a copy is cached, the copy is used (and the failure logged).

use jsonwebtoken::jwk::Jwk;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const FRESH_FOR: Duration = Duration::from_secs(60 * 60);
pub const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(30);
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The keys of a JWKS document that Gatehouse can use. Keys of a type it does
/// not know (or malformed ones) are skipped rather than failing the whole set,
/// as issuers publish encryption keys and new key types beside signing keys.
pub fn parse_jwks(text: &str) -> Result<Vec<Jwk>, String> {
    #[derive(serde::Deserialize)]
    struct Doc {
        keys: Vec<serde_json::Value>,
    }
    let doc: Doc = serde_json::from_str(text)
        .map_err(|_| "is not a JWKS document (a JSON object with a \"keys\" array)".to_owned())?;
    Ok(doc
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        .collect())
}

#[derive(Debug, thiserror::Error)]
#[error("the JWKS at the registered URL could not be fetched: {0}")]
pub struct FetchError(String);

struct Entry {
    keys: Arc<Vec<Jwk>>,
    fetched: Instant,
}

/// Fetched key sets by URL, shared by every request.
pub struct JwksCache {
    client: reqwest::Client,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Default for JwksCache {
    fn default() -> Self {
        Self::new()
    }
}

impl JwksCache {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            // A JWKS URL is fetched as given: a redirect elsewhere is refused.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            client,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, url: &str) -> Option<(Arc<Vec<Jwk>>, Duration)> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(url).map(|e| (e.keys.clone(), e.fetched.elapsed()))
    }

    /// The keys at `url`: the cached set while fresh; with `unknown_kid`, a
    /// refetch unless one was made moments ago.
    pub async fn keys(&self, url: &str, unknown_kid: bool) -> Result<Arc<Vec<Jwk>>, FetchError> {
        let cached = self.cached(url);
        if let Some((keys, age)) = &cached {
            let stale = *age >= FRESH_FOR;
            let may_refetch = unknown_kid && *age >= REFETCH_AT_MOST_EVERY;
            if !stale && !may_refetch {
                return Ok(keys.clone());
            }
        }
        match self.fetch(url).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
                map.insert(
                    url.to_owned(),
                    Entry {
                        keys: keys.clone(),
                        fetched: Instant::now(),
                    },
                );
                Ok(keys)
            }
            Err(e) => match cached {
                Some((keys, _)) => {
                    tracing::warn!(error = %e, "JWKS refetch failed; using the cached copy");
                    Ok(keys)
                }
                None => Err(e),
            },
        }
    }

    async fn fetch(&self, url: &str) -> Result<Vec<Jwk>, FetchError> {
        let resp = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| FetchError(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(FetchError(format!("status {}", resp.status().as_u16())));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(FetchError("the document is too large".into()));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| FetchError(e.without_url().to_string()))?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(FetchError("the document is too large".into()));
        }
        let text = std::str::from_utf8(&body).map_err(|_| FetchError("not UTF-8".into()))?;
        parse_jwks(text).map_err(FetchError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_types_are_skipped_not_fatal() {
        let doc = r#"{"keys":[
            {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"a"},
            {"kty":"XYZ","foo":"bar"}
        ]}"#;
        let keys = parse_jwks(doc).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].common.key_id.as_deref(), Some("a"));
        assert!(parse_jwks("[]").is_err());
        assert!(parse_jwks("not json").is_err());
    }
}
