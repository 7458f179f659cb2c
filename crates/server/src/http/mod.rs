//! The routes.
//!
//! - `/v1/…`: the REST API ([`v1`]); every call needs an API key.
//! - `/health/live`, `/health/ready`, `/metrics` ([`health`]).
//! - `/openapi.json` and `/docs` ([`docs`]).

pub mod docs;
pub mod health;
pub mod v1;
pub mod web;

use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

pub fn router(state: AppState, body_limit: usize) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(health::routes())
        .merge(docs::routes())
        .nest("/v1", v1::routes())
        .merge(web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(telemetry::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(panic_problem))
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::make_span))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([
            axum::http::header::AUTHORIZATION,
        ]))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("there is nothing at this path; see /docs".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A panic is a bug, never the caller's fault: answer 500, log it, show nothing.
fn panic_problem(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
}
