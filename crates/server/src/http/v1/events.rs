//! The pull feed: `GET /v1/events?after=&limit=&wait=`, for consumers that
//! cannot accept inbound connections. The same events as webhooks, in the
//! same CloudEvents envelope, in the same views, with the same audit: each
//! event returned is a disclosure record. With `wait`, an empty answer waits
//! (long-poll) until an event arrives or the wait ends.

use crate::audit::checkpoints::CHECKPOINT_HEADER;
use crate::auth::Caller;
use crate::delivery::envelope::cloud_event;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use gatehouse_domain::ParseError;
use gatehouse_policy::{Action, Resource};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

/// The most outbox rows one request looks through (events the caller may not see are skipped).
const SCAN: i64 = 1000;
pub const MAX_WAIT_SECS: u64 = 30;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// The `nextCursor` of the last answer; absent to start from the beginning.
    after: Option<String>,
    /// At most this many events (1–500, default 100).
    limit: Option<i64>,
    /// Seconds to wait for an event when there is none yet (0–30, default 0).
    wait: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    /// CloudEvents 1.0, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    /// Pass as `after` next time (always present: the feed has no end).
    pub next_cursor: String,
    pub next: String,
}

fn parse_cursor(raw: &str) -> Result<i64, ApiError> {
    raw.strip_prefix("e")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            ApiError::bad_field(ParseError::new(
                "after",
                "is not a cursor this feed gave out",
            ))
        })
}

/// Events the caller's agreement lets it see, after a cursor.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventParams),
    responses((status = 200, body = EventPage, headers(("Gatehouse-Audit-Checkpoint" = String,
            description = "The latest signed checkpoint of the disclosure audit: the signed note, base64. Keep it to witness the log (docs/events.md)."))),
        (status = 400, body = Problem), (status = 403, body = Problem)),
    security(("apiKey" = [])))]
pub async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EventParams>,
) -> Result<(HeaderMap, Json<EventPage>), ApiError> {
    caller.authorize(&state, Action::ReadEvents, &Resource::System("events"))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_field(ParseError::new(
            "limit",
            "must be between 1 and 500",
        )));
    }
    let wait = q.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::bad_field(ParseError::new(
            "wait",
            "must be between 0 and 30 seconds",
        )));
    }
    let mut after = q
        .after
        .as_deref()
        .map(parse_cursor)
        .transpose()?
        .unwrap_or(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    let mut items = Vec::new();
    loop {
        // Only as far as the outbox is final: an event still being committed
        // below this point would otherwise be passed for ever.
        let safe = state.store.outbox_safe_seq().await?;
        let mut batch = state.store.outbox_after(after, SCAN).await?;
        batch.retain(|e| e.seq <= safe);
        for e in &batch {
            after = e.seq;
            let Some(data) = state.delivery.view(&caller.principal, caller.purpose, e) else {
                continue;
            };
            state
                .delivery
                .record(
                    &caller.principal,
                    caller.purpose,
                    e,
                    "pull",
                    caller.request_id.clone(),
                )
                .await
                .map_err(ApiError::Internal)?;
            items.push(cloud_event(e, data));
            if items.len() as i64 == limit {
                break;
            }
        }
        let now = tokio::time::Instant::now();
        if !items.is_empty() || (batch.len() as i64) == SCAN || now >= deadline {
            break;
        }
        // Woken at once by a write in this process; re-checked often for other instances' writes.
        state
            .delivery
            .changed((deadline - now).min(Duration::from_millis(250)))
            .await;
    }
    let next_cursor = format!("e{after}");
    // The latest signed audit checkpoint, as webhooks carry it: every page
    // lets the subscriber witness the log.
    let mut headers = HeaderMap::new();
    if let Some(note) = state.delivery.checkpoint_note()
        && let Ok(value) = HeaderValue::from_str(&note)
    {
        headers.insert(CHECKPOINT_HEADER, value);
    }
    Ok((
        headers,
        Json(EventPage {
            next: format!("/v1/events?after={next_cursor}&limit={limit}"),
            items,
            next_cursor,
        }),
    ))
}
