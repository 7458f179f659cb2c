//! Extractors whose rejections are problems: a malformed path, query or body
//! gets a 4xx with a useful message, never axum's plain-text default.

use crate::error::{ApiError, FieldError};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// `Path<T>` with problem rejections.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(e) => Err(path_problem(e)),
        }
    }
}

fn path_problem(e: PathRejection) -> ApiError {
    ApiError::BadRequest {
        detail: format!("the path is not valid: {}", e.body_text()),
        errors: vec![],
    }
}

/// `Query<T>` with problem rejections.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(query_problem(e)),
        }
    }
}

fn query_problem(e: QueryRejection) -> ApiError {
    ApiError::BadRequest {
        detail: format!("the query string is not valid: {}", e.body_text()),
        errors: vec![],
    }
}

/// The raw body, bounded by the server's body limit, with its media type.
pub struct RawBody {
    pub bytes: Bytes,
    pub content_type: Option<String>,
}

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_problem)?;
        Ok(Self {
            bytes,
            content_type,
        })
    }
}

fn body_problem(e: BytesRejection) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("the body is larger than this server accepts".into())
    } else {
        ApiError::BadRequest {
            detail: format!("the body could not be read: {}", e.body_text()),
            errors: vec![],
        }
    }
}

/// Parses JSON text, naming the line and column of a syntax error.
pub fn parse_json<T: DeserializeOwned>(text: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(text).map_err(|e| {
        let rule = format!(
            "is not valid JSON at line {}, column {}: {}",
            e.line(),
            e.column(),
            classify(&e)
        );
        ApiError::BadRequest {
            detail: format!("{what} {rule}"),
            errors: vec![FieldError {
                field: what.into(),
                rule,
            }],
        }
    })
}

fn classify(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => "could not be read",
        Category::Syntax => "syntax error",
        Category::Data => "wrong type or shape",
        Category::Eof => "ends too soon",
    }
}

/// A JSON request body: `application/json` or 415, then parsed (syntax errors name line and column).
pub fn json_body<T: DeserializeOwned>(body: &RawBody) -> Result<T, ApiError> {
    match body.content_type.as_deref() {
        Some("application/json") => parse_json(&body.bytes, "body"),
        _ => Err(ApiError::UnsupportedMediaType(
            "send the body as application/json".into(),
        )),
    }
}
