//! Webhook subscriptions: create, list, read, delete, rotate the secret,
//! re-enable, replay, and the delivery log with its dead letters.
//!
//! A consumer sees and changes only its own subscriptions; anyone else's
//! answer 404. What a subscription receives is decided per event by the
//! consumer's agreement (`delivery::catalogue`), not by what it asked for.

use crate::access::system_write;
use crate::auth::Caller;
use crate::delivery::signing::new_secret;
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{ApiPath, ApiQuery, RawBody, parse_json};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use gatehouse_domain::{EstablishmentCode, ParseError};
use gatehouse_policy::{Action, Decision, Resource};
use gatehouse_store::{
    DeliveryStatus, NewSubscription, SubscriptionRecord, SubscriptionStatus, WebhookSecret,
    WriteAudit,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A subscription as its owner sees it. The secret is shown only when made.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    pub id: String,
    pub url: String,
    /// Types or `prefix.*` patterns; empty: every type the agreement allows.
    pub event_types: Vec<String>,
    /// Empty: every establishment the agreement allows.
    pub establishments: Vec<String>,
    /// `active` or `disabled`.
    pub status: String,
    pub status_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// The signing secrets' ids and expiry (never the secrets themselves).
    pub secrets: Vec<SecretInfo>,
    pub created_at: DateTime<Utc>,
    /// Shown once: when the subscription is made and when the secret is rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub links: SubscriptionLinks,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionLinks {
    #[serde(rename = "self")]
    pub self_: String,
    pub deliveries: String,
    pub dead_letters: String,
    pub replay: String,
}

impl SubscriptionView {
    fn build(s: &SubscriptionRecord, secret: Option<String>) -> Self {
        let base = format!("/v1/subscriptions/{}", s.id);
        Self {
            id: s.id.clone(),
            url: s.url.clone(),
            event_types: s.event_types.clone(),
            establishments: s.establishments.clone(),
            status: s.status.as_str().to_owned(),
            status_reason: s.status_reason.clone(),
            failing_since: s.failing_since,
            last_success_at: s.last_success_at,
            secrets: s
                .secrets
                .iter()
                .map(|k| SecretInfo {
                    id: k.id.clone(),
                    created_at: k.created_at,
                    expires_at: k.expires_at,
                })
                .collect(),
            created_at: s.created_at,
            secret,
            links: SubscriptionLinks {
                deliveries: format!("{base}/deliveries"),
                dead_letters: format!("{base}/deliveries?status=dead"),
                replay: format!("{base}/replay"),
                self_: base,
            },
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionInput {
    /// Where to POST events: `https://…` (or `http://` for a receiver on this host).
    pub url: String,
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default)]
    pub establishments: Vec<String>,
}

/// As `extract::json_body`, and an empty body with no media type is `{}` (the actions take no required fields).
fn json_body<T: serde::de::DeserializeOwned>(body: &RawBody) -> Result<T, ApiError> {
    if body.content_type.is_none() && body.bytes.is_empty() {
        return parse_json(b"{}", "body");
    }
    crate::extract::json_body(body)
}

fn bad(field: &str, rule: impl Into<String>) -> ApiError {
    ApiError::bad_field(ParseError::new(field, rule))
}

/// Receivers are reached over HTTPS; plain HTTP only to a receiver on this host.
fn parse_url(raw: &str) -> Result<String, ApiError> {
    let raw = raw.trim();
    let parsed = reqwest::Url::parse(raw)
        .ok()
        .filter(|u| u.host_str().is_some());
    let Some(url) = parsed.filter(|_| raw.len() <= 2000) else {
        return Err(bad(
            "url",
            "must be an absolute https URL with a host, at most 2000 characters",
        ));
    };
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(raw.to_owned()),
        "http" if loopback => Ok(raw.to_owned()),
        "http" => Err(bad(
            "url",
            "must use https (plain http only to a receiver on this host)",
        )),
        _ => Err(bad("url", "must be an https URL")),
    }
}

fn parse_types(types: &[String]) -> Result<Vec<String>, ApiError> {
    if types.len() > 50 {
        return Err(bad("eventTypes", "at most 50 entries"));
    }
    let mut out = Vec::new();
    for t in types {
        let known = match t.strip_suffix('*') {
            Some(prefix) => gatehouse_store::events::ALL
                .iter()
                .any(|k| k.starts_with(prefix)),
            None => gatehouse_store::events::ALL.contains(&t.as_str()),
        };
        if !known {
            return Err(bad(
                "eventTypes",
                format!(
                    "'{}' is not an event type (e.g. uk.gatehouse.person.released, or uk.gatehouse.person.*)",
                    t.chars().take(80).collect::<String>()
                ),
            ));
        }
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

fn parse_establishments(caller: &Caller, list: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for raw in list {
        let code = EstablishmentCode::parse(raw)
            .map_err(|e| ApiError::bad_field(e.within("establishments")))?;
        if !caller.principal.scope.covers(&code) {
            return Err(ApiError::Forbidden(format!(
                "{} is outside the establishments your agreement covers",
                code.as_str()
            )));
        }
        if !out.contains(&code.as_str().to_owned()) {
            out.push(code.as_str().to_owned());
        }
    }
    Ok(out)
}

/// Subscriptions are part of the events surface: the agreement must allow `read-events`.
fn authorize(state: &AppState, caller: &Caller) -> Result<Decision, ApiError> {
    caller.permit(state, Action::ReadEvents, &Resource::System("events"))
}

/// The record of a change to the caller's own subscription, written with the change.
fn change_record(state: &AppState, caller: &Caller, decision: &Decision, what: &str) -> WriteAudit {
    system_write(
        state,
        caller,
        "subscription",
        Action::ReadEvents,
        &[what],
        decision,
    )
}

/// The caller's own subscription, or 404.
async fn own(state: &AppState, caller: &Caller, id: &str) -> Result<SubscriptionRecord, ApiError> {
    let not_found = || ApiError::NotFound("no subscription with this id is yours".into());
    if id.len() > 64 {
        return Err(not_found());
    }
    state
        .store
        .subscription(id)
        .await?
        .filter(|s| s.consumer == caller.principal.consumer)
        .ok_or_else(not_found)
}

/// Subscribes a URL to events. Answers 201 with the signing secret, shown this once.
#[utoipa::path(post, path = "/v1/subscriptions", tag = "events",
    request_body(content = SubscriptionInput, content_type = "application/json"),
    responses((status = 201, body = SubscriptionView), (status = 400, body = Problem), (status = 403, body = Problem)),
    security(("apiKey" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let decision = authorize(&state, &caller)?;
    let input: SubscriptionInput = json_body(&body)?;
    let url = parse_url(&input.url)?;
    let event_types = parse_types(&input.event_types)?;
    let establishments = parse_establishments(&caller, &input.establishments)?;
    let secret = new_secret();
    let s = state
        .store
        .create_subscription(
            &NewSubscription {
                consumer: caller.principal.consumer.clone(),
                url,
                event_types,
                establishments,
                secret: WebhookSecret {
                    id: uuid::Uuid::now_v7().to_string(),
                    secret: secret.clone(),
                    created_at: Utc::now(),
                    expires_at: None,
                },
            },
            &change_record(&state, &caller, &decision, "subscription:create"),
        )
        .await?;
    let view = SubscriptionView::build(&s, Some(secret));
    let location = HeaderValue::from_str(&view.links.self_).ok();
    let mut resp = (StatusCode::CREATED, Json(view)).into_response();
    if let Some(l) = location {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}

/// The caller's subscriptions.
#[utoipa::path(get, path = "/v1/subscriptions", tag = "events",
    responses((status = 200, body = Vec<SubscriptionView>), (status = 403, body = Problem)),
    security(("apiKey" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<SubscriptionView>>, ApiError> {
    authorize(&state, &caller)?;
    let subs = state
        .store
        .subscriptions(Some(&caller.principal.consumer))
        .await?;
    Ok(Json(
        subs.iter()
            .map(|s| SubscriptionView::build(s, None))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/v1/subscriptions/{id}", tag = "events", params(("id" = String, Path)),
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SubscriptionView>, ApiError> {
    authorize(&state, &caller)?;
    Ok(Json(SubscriptionView::build(
        &own(&state, &caller, &id).await?,
        None,
    )))
}

/// Ends a subscription. Its delivery log is kept.
#[utoipa::path(delete, path = "/v1/subscriptions/{id}", tag = "events", params(("id" = String, Path)),
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let decision = authorize(&state, &caller)?;
    let mut s = own(&state, &caller, &id).await?;
    state
        .store
        .set_subscription_status(
            &s.id,
            SubscriptionStatus::Deleted,
            Some("deleted by its owner"),
            &change_record(&state, &caller, &decision, "subscription:delete"),
        )
        .await?;
    s.status = SubscriptionStatus::Deleted;
    Ok(Json(SubscriptionView::build(&s, None)))
}

/// Re-enables a disabled subscription; what waited is delivered, in order.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/enable", tag = "events", params(("id" = String, Path)),
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let decision = authorize(&state, &caller)?;
    let s = own(&state, &caller, &id).await?;
    state
        .store
        .set_subscription_status(
            &s.id,
            SubscriptionStatus::Active,
            None,
            &change_record(&state, &caller, &decision, "subscription:enable"),
        )
        .await?;
    state.delivery.wake();
    Ok(Json(SubscriptionView::build(
        &own(&state, &caller, &id).await?,
        None,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateInput {
    /// How long the old secret stays valid beside the new one (seconds, 0–604800; default 86400).
    pub keep_old_for_seconds: Option<i64>,
}

/// Rotates the signing secret. The new one is shown once; the old one keeps
/// signing beside it for `keepOldForSeconds`, so receivers can switch over.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/secret", tag = "events", params(("id" = String, Path)),
    request_body(content = RotateInput, content_type = "application/json"),
    responses((status = 200, body = SubscriptionView), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    body: RawBody,
) -> Result<Json<SubscriptionView>, ApiError> {
    let decision = authorize(&state, &caller)?;
    let input: RotateInput = json_body(&body)?;
    let keep = input.keep_old_for_seconds.unwrap_or(86_400);
    if !(0..=604_800).contains(&keep) {
        return Err(bad(
            "keepOldForSeconds",
            "must be between 0 and 604800 (a week)",
        ));
    }
    let s = own(&state, &caller, &id).await?;
    let now = Utc::now();
    let old_until = now + chrono::Duration::seconds(keep);
    let mut secrets: Vec<WebhookSecret> = s
        .secrets
        .iter()
        .filter(|k| k.expires_at.is_none_or(|x| x > now))
        .cloned()
        .map(|mut k| {
            k.expires_at = Some(k.expires_at.map_or(old_until, |x| x.min(old_until)));
            k
        })
        .collect();
    let secret = new_secret();
    secrets.push(WebhookSecret {
        id: uuid::Uuid::now_v7().to_string(),
        secret: secret.clone(),
        created_at: now,
        expires_at: None,
    });
    state
        .store
        .set_subscription_secrets(
            &s.id,
            &secrets,
            &change_record(&state, &caller, &decision, "subscription:rotate-secret"),
        )
        .await?;
    let s = own(&state, &caller, &id).await?;
    Ok(Json(SubscriptionView::build(&s, Some(secret))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayInput {
    /// Replay events recorded at or after this time (RFC 3339)…
    pub from_time: Option<String>,
    /// …or from this event id on (inclusive).
    pub from_event_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayView {
    pub subscription: String,
    /// Events made due again (only those the agreement lets this consumer see).
    pub replayed: usize,
}

/// Delivers again every event from a time or an event id, in order, with their original ids.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/replay", tag = "events", params(("id" = String, Path)),
    request_body(content = ReplayInput, content_type = "application/json"),
    responses((status = 200, body = ReplayView), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    body: RawBody,
) -> Result<Json<ReplayView>, ApiError> {
    let decision = authorize(&state, &caller)?;
    let input: ReplayInput = json_body(&body)?;
    let s = own(&state, &caller, &id).await?;
    let from = match (input.from_time, input.from_event_id) {
        (Some(t), None) => {
            let t = DateTime::parse_from_rfc3339(&t)
                .map_err(|_| bad("fromTime", "must be an RFC 3339 date-time"))?
                .with_timezone(&Utc);
            state.store.outbox_seq_at(t).await?
        }
        (None, Some(e)) => {
            state
                .store
                .outbox_event(&e)
                .await?
                .ok_or_else(|| bad("fromEventId", "no event with this id"))?
                .seq
        }
        _ => {
            return Err(ApiError::BadRequest {
                detail: "give fromTime or fromEventId".into(),
                errors: vec![FieldError {
                    field: "body".into(),
                    rule: "exactly one of fromTime, fromEventId".into(),
                }],
            });
        }
    };
    let replayed = state
        .delivery
        .replay(
            &s.id,
            from,
            &change_record(&state, &caller, &decision, "subscription:replay"),
        )
        .await
        .map_err(ApiError::Internal)?;
    Ok(Json(ReplayView {
        subscription: s.id,
        replayed,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// `pending`, `delivered` or `dead` (the dead-letter list).
    status: Option<String>,
    /// At most this many (1–1000, default 100).
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub event_id: String,
    pub event_type: String,
    pub prison_number: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The subscription's deliveries, oldest first; `?status=dead` is the dead-letter list.
#[utoipa::path(get, path = "/v1/subscriptions/{id}/deliveries", tag = "events", params(("id" = String, Path), DeliveryParams),
    responses((status = 200, body = Vec<DeliveryView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeliveryParams>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    authorize(&state, &caller)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(
            DeliveryStatus::parse(s)
                .ok_or_else(|| bad("status", "must be pending, delivered or dead"))?,
        ),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(bad("limit", "must be between 1 and 1000"));
    }
    let s = own(&state, &caller, &id).await?;
    let rows = state.store.deliveries(&s.id, status, limit).await?;
    // The event ids, types and prison numbers are what was (or will be) sent to this consumer already.
    Ok(Json(
        rows.into_iter()
            .map(|d| DeliveryView {
                event_id: d.event.id,
                event_type: d.event.event_type,
                prison_number: d.event.subject,
                status: d.status.as_str().to_owned(),
                attempts: d.attempts,
                next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
                last_status: d.last_status,
                last_error: d.last_error,
                delivered_at: d.delivered_at,
            })
            .collect(),
    ))
}
