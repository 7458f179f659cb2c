//! The prison feed: `POST /v1/prison-events`.
//!
//! Accepts one item (a JSON object), a batch (a JSON array), or NDJSON
//! (`application/x-ndjson`, one item a line). Each item is an HMPPS
//! domain-event envelope or a Gatehouse upsert. Items are idempotent by event
//! id. By default a batch stores its good items and reports its bad ones;
//! `?atomic=true` makes it all or nothing.

use crate::auth::Caller;
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{ApiQuery, RawBody, parse_json};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use gatehouse_domain::ParseError;
use gatehouse_domain::feed::{ItemError, parse_item};
use gatehouse_policy::{Action, Resource};
use gatehouse_store::{BatchMode, FeedBatch, FeedEntry, ItemOutcome, ItemStatus, WriteAudit};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// `true`: all items or none. Default `false`: good items are stored, bad ones reported.
    atomic: Option<bool>,
}

/// The answer to a batch: what happened to each item, in order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedResponse {
    /// Items stored (including superseded and acknowledged ones).
    pub accepted: usize,
    pub rejected: usize,
    /// One outcome per item: `status` is stored, superseded, acknowledged, rejected or not-applied;
    /// `changes` says what changed; `problem` names the field and rule of a refusal.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<ItemOutcome>,
}

/// The input shapes: one item, or several.
enum Shape {
    One(Value),
    Many(Vec<Result<Value, ItemError>>),
}

fn read_items(body: &RawBody, max_items: usize) -> Result<Shape, ApiError> {
    let text = &body.bytes;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_field(ParseError::new(
            "(body)",
            "is empty; send a JSON object, a JSON array or NDJSON",
        )));
    }
    match body.content_type.as_deref() {
        Some("application/json") | None => match parse_json::<Value>(text, "(body)")? {
            Value::Array(items) => {
                if items.len() > max_items {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "a batch may hold at most {max_items} items"
                    )));
                }
                if items.is_empty() {
                    return Err(ApiError::bad_field(ParseError::new(
                        "(body)",
                        "is an empty array; send at least one item",
                    )));
                }
                Ok(Shape::Many(items.into_iter().map(Ok).collect()))
            }
            v @ Value::Object(_) => Ok(Shape::One(v)),
            _ => Err(ApiError::bad_field(ParseError::new(
                "(body)",
                "must be a JSON object or an array of objects",
            ))),
        },
        Some("application/x-ndjson")
        | Some("application/jsonl")
        | Some("application/jsonlines") => {
            let text = std::str::from_utf8(text)
                .map_err(|_| ApiError::bad_field(ParseError::new("(body)", "is not UTF-8 text")))?;
            let lines: Vec<(usize, &str)> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .collect();
            if lines.len() > max_items {
                return Err(ApiError::PayloadTooLarge(format!(
                    "a batch may hold at most {max_items} items"
                )));
            }
            Ok(Shape::Many(
                lines
                    .into_iter()
                    .map(|(n, line)| {
                        serde_json::from_str::<Value>(line).map_err(|e| ItemError {
                            event_id: None,
                            error: ParseError::new(
                                format!("(line {})", n + 1),
                                format!("is not valid JSON at column {}", e.column()),
                            ),
                        })
                    })
                    .collect(),
            ))
        }
        Some(other) => Err(ApiError::UnsupportedMediaType(format!(
            "'{}' is not accepted; send application/json or application/x-ndjson",
            other.chars().take(60).collect::<String>()
        ))),
    }
}

fn to_entry(value: Result<Value, ItemError>, now: chrono::DateTime<Utc>) -> FeedEntry {
    match value.and_then(|v| parse_item(&v, now)) {
        Ok(item) => FeedEntry::Parsed(Box::new(item)),
        Err(e) => FeedEntry::Refused(e),
    }
}

/// Posts prison events: HMPPS domain-event envelopes or Gatehouse upserts, one or many.
#[utoipa::path(post, path = "/v1/prison-events", tag = "prison feed", params(FeedParams),
    request_body(content = Object, description = "An HMPPS envelope or Gatehouse upsert, or an array of them. NDJSON is also accepted with Content-Type application/x-ndjson.",
        content_type = "application/json"),
    responses(
        (status = 201, description = "One item stored", body = Object),
        (status = 200, description = "A batch, or one item replayed, superseded or acknowledged", body = FeedResponse),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "The event id was used for other content", body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, description = "Refused: the problem names the field and rule", body = Problem)),
    security(("apiKey" = [])))]
pub async fn post_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<FeedParams>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let decision = caller.decide(&state, Action::WriteFeed, &Resource::System("feed"));
    match &decision {
        gatehouse_policy::Decision::Permit { .. } => {}
        gatehouse_policy::Decision::Hidden { .. } => {
            return Err(ApiError::NotFound("not found".into()));
        }
        gatehouse_policy::Decision::Deny { reason, .. } => {
            return Err(ApiError::Forbidden(reason.clone()));
        }
    }
    let mode = if params.atomic.unwrap_or(false) {
        BatchMode::Atomic
    } else {
        BatchMode::Partial
    };
    let now = Utc::now();
    let source = caller.principal.consumer.clone();
    // Each item that writes to a person is recorded, naming that person and
    // the event type, in the transaction that stores it: whatever the body's shape.
    let audit = crate::access::write_audit(
        &state,
        crate::access::disclosure(
            &caller,
            None,
            "prison-event",
            Action::WriteFeed,
            vec![],
            &decision,
            None,
        ),
    );
    match read_items(&body, state.max_batch_items)? {
        Shape::One(v) => {
            let mut out = apply(&state, vec![to_entry(Ok(v), now)], mode, source, audit).await?;
            state.delivery.wake();
            let outcome = out
                .pop()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no outcome for one item")))?;
            single_answer(outcome)
        }
        Shape::Many(values) => {
            let entries = values.into_iter().map(|v| to_entry(v, now)).collect();
            let items = apply(&state, entries, mode, source, audit).await?;
            state.delivery.wake();
            let rejected = items
                .iter()
                .filter(|o| o.status == ItemStatus::Rejected)
                .count();
            let accepted = items
                .iter()
                .filter(|o| !matches!(o.status, ItemStatus::Rejected | ItemStatus::NotApplied))
                .count();
            let refused_whole = (mode == BatchMode::Atomic && rejected > 0) || accepted == 0;
            let response = FeedResponse {
                accepted,
                rejected,
                items,
            };
            if refused_whole {
                let errors = response
                    .items
                    .iter()
                    .filter_map(|o| {
                        o.problem.as_ref().map(|p| FieldError {
                            field: format!("[{}].{}", o.index, p.field),
                            rule: p.rule.clone(),
                        })
                    })
                    .collect();
                return Err(ApiError::Unprocessable {
                    detail: format!(
                        "{rejected} of {} items refused; nothing was stored",
                        response.items.len()
                    ),
                    errors,
                    body: Some(serde_json::to_value(&response.items).unwrap_or_default()),
                });
            }
            Ok((StatusCode::OK, Json(response)).into_response())
        }
    }
}

/// Small partial batches through the group-commit writer (`feed_writer.rs`);
/// atomic and large ones straight to the store, in their own transaction.
async fn apply(
    state: &AppState,
    entries: Vec<FeedEntry>,
    mode: BatchMode,
    source: String,
    audit: WriteAudit,
) -> Result<Vec<ItemOutcome>, ApiError> {
    if mode == BatchMode::Partial && entries.len() <= crate::feed_writer::GROUP_ITEMS {
        let batch = FeedBatch {
            entries,
            source,
            audit,
        };
        return state
            .feed_writer
            .apply(batch)
            .await
            .map_err(ApiError::Internal)?
            .map_err(|e| crate::feed_writer::api_error(&e));
    }
    Ok(state
        .store
        .apply_feed(entries, mode, &source, &audit)
        .await?)
}

/// One item: 201 when it changed the record, 200 when it did not; a refusal is a problem.
fn single_answer(outcome: ItemOutcome) -> Result<Response, ApiError> {
    if let Some(p) = &outcome.problem {
        let errors = vec![FieldError {
            field: p.field.clone(),
            rule: p.rule.clone(),
        }];
        let detail = format!("{}: {}", p.field, p.rule);
        return Err(if p.conflict {
            ApiError::Conflict(detail)
        } else {
            ApiError::Unprocessable {
                detail,
                errors,
                body: None,
            }
        });
    }
    let status = if outcome.status == ItemStatus::Stored {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(outcome)).into_response())
}
