//! Every failure becomes an RFC 9457 `application/problem+json` answer.
//! Causes inside Gatehouse (a database fault, a bug) are logged with the
//! request id and answered with a bare 500 or 503: their detail is never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::ParseError;
use gatehouse_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// One field that broke a rule.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub rule: String,
}

impl From<ParseError> for FieldError {
    fn from(e: ParseError) -> Self {
        Self {
            field: e.field,
            rule: e.rule,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad request: {detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("unprocessable: {detail}")]
    Unprocessable {
        detail: String,
        errors: Vec<FieldError>,
        body: Option<serde_json::Value>,
    },
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(#[source] anyhow::Error),
}

/// The problem body (RFC 9457), with Gatehouse's `errors` extension.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Each field that broke a rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a refused prison-feed request: the answer for each item.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub items: Option<serde_json::Value>,
}

impl ApiError {
    pub fn bad_field(e: ParseError) -> Self {
        Self::BadRequest {
            detail: e.to_string(),
            errors: vec![e.into()],
        }
    }

    pub fn not_found_person() -> Self {
        Self::NotFound("no person with this prison number is visible to you".into())
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::BadRequest { .. } => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "The request is not valid",
            ),
            Self::Unprocessable { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "The request was understood but refused",
            ),
            Self::Unauthorized(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication is required",
            ),
            Self::Forbidden(_) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed by your agreement",
            ),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::Conflict(_) => (
                StatusCode::CONFLICT,
                "conflict",
                "Conflicts with what is held",
            ),
            Self::PreconditionFailed(_) => (
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "The resource has changed since you read it",
            ),
            Self::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "The request is too large",
            ),
            Self::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::NotFound(m) => Self::NotFound(m),
            StoreError::Stale(m) => Self::PreconditionFailed(m),
            StoreError::Forbidden(m) => Self::Forbidden(m),
            StoreError::Invalid(e) => Self::Unprocessable {
                detail: e.to_string(),
                errors: vec![e.into()],
                body: None,
            },
            StoreError::BadCursor => Self::bad_field(ParseError::new(
                "cursor",
                "is not a cursor this API gave out",
            )),
            StoreError::Database(sqlx::Error::PoolTimedOut) => {
                Self::Unavailable("the database is busy; try again".into())
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let (detail, errors, items) = match self {
            Self::BadRequest { detail, errors } => (detail, errors, None),
            Self::Unprocessable {
                detail,
                errors,
                body,
            } => (detail, errors, body),
            Self::Unauthorized(d)
            | Self::Forbidden(d)
            | Self::NotFound(d)
            | Self::Conflict(d)
            | Self::PreconditionFailed(d)
            | Self::PayloadTooLarge(d)
            | Self::UnsupportedMediaType(d) => (d, vec![], None),
            Self::MethodNotAllowed => {
                ("this path does not accept that method".into(), vec![], None)
            }
            Self::Unavailable(d) => {
                tracing::warn!(detail = %d, "service unavailable");
                (d, vec![], None)
            }
            Self::Internal(cause) => {
                // The cause may hold anything: log it, show nothing of it.
                tracing::error!(error = ?cause, "internal error");
                ("Gatehouse could not complete the request. It has been logged with the request id.".into(), vec![], None)
            }
        };
        let problem = Problem {
            kind: format!("urn:gatehouse:problem:{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail,
            errors,
            items,
        };
        let mut resp = (status, axum::Json(problem)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gatehouse\""),
            );
        }
        resp
    }
}
