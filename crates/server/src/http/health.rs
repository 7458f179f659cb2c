//! Liveness, readiness and metrics: the only routes besides the docs that need no key.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "operations", responses((status = 200, body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health {
        status: "ok",
        database: None,
    })
}

/// The process can reach its database.
#[utoipa::path(get, path = "/health/ready", tag = "operations", responses((status = 200, body = Health), (status = 503, body = crate::error::Problem)))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|_| ApiError::Unavailable("the database cannot be reached".into()))?;
    Ok(Json(Health {
        status: "ok",
        database: Some(state.store.engine().as_str()),
    }))
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}
