//! Cross-site request forgery: every POST carries the session's CSRF token
//! (256 random bits, made at sign-in) in a hidden field, compared in constant
//! time; a browser's `Origin` and `Sec-Fetch-Site` headers, when sent, must
//! say the form came from this site. A refusal is a 403 page.
//! (`SameSite=Strict` on the cookie already stops most forgeries; this holds
//! even where it does not.)

use super::WebError;
use axum::http::{HeaderMap, StatusCode, header};

/// The hidden field's name.
pub const FIELD: &str = "csrf";

fn refused() -> WebError {
    WebError::page(
        StatusCode::FORBIDDEN,
        "This form could not be accepted",
        "The form had expired or did not come from a Gatehouse page. Go back, reload the page and try again.",
    )
}

/// The token sent must equal the one expected; both must be present.
pub fn check(expected: &str, sent: &str) -> Result<(), WebError> {
    let (a, b) = (expected.as_bytes(), sent.as_bytes());
    if a.is_empty() || a.len() != b.len() {
        return Err(refused());
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    if diff == 0 { Ok(()) } else { Err(refused()) }
}

/// A cross-site POST, as the browser reports it, is refused.
pub fn check_origin(headers: &HeaderMap) -> Result<(), WebError> {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return Err(refused());
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin = origin.to_str().unwrap_or_default();
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or_default();
    if host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
        return Err(refused());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_must_match_exactly() {
        assert!(check("abc", "abc").is_ok());
        assert!(check("abc", "abd").is_err());
        assert!(check("abc", "ab").is_err());
        assert!(check("", "").is_err());
    }

    #[test]
    fn origins_must_be_this_site() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(check_origin(&h).is_ok());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(check_origin(&h).is_ok());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(check_origin(&h).is_err());
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(check_origin(&h).is_err());
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(check_origin(&h).is_err());
    }
}
