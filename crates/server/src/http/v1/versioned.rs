//! What every versioned write shares: all broken rules in one 400, the
//! `If-Match` precondition, and answers carrying the version as `ETag` (and,
//! for a new resource, its `Location`).

use crate::error::{ApiError, FieldError};
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::ParseError;
use serde::Serialize;

/// A 400 naming every broken rule of `what` ("the notice", "the booking", …).
pub fn invalid(what: &str, errors: Vec<ParseError>) -> ApiError {
    ApiError::BadRequest {
        detail: format!(
            "the {what} breaks {} rule{}: {}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        errors: errors.into_iter().map(FieldError::from).collect(),
    }
}

/// `If-Match: "3"` (or `W/"3"`): the version the writer last read.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_field(ParseError::new(
            "If-Match",
            "must be the ETag of the version you read, e.g. \"3\"",
        ))
    };
    let text = v.to_str().map_err(|_| bad())?.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(bad)
}

/// `body` with its version as the `ETag`, and `Location: self_href` when `location`.
pub fn with_etag<T: Serialize>(
    status: StatusCode,
    body: T,
    version: i64,
    self_href: &str,
    location: bool,
) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{version}\"")).ok();
    let loc = HeaderValue::from_str(self_href).ok();
    let mut resp = (status, Json(body)).into_response();
    if let Some(etag) = etag {
        resp.headers_mut().insert(header::ETAG, etag);
    }
    if location && let Some(loc) = loc {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}
