//! Governance: who saw a person's record, break-glass review, and the
//! checkpoints and proofs that let the other organisation check the audit log.

use super::paging::PageParams;
use super::views::PageView;
use crate::access::{View, person_access};
use crate::audit::Disclosure;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery, RawBody, parse_json};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use gatehouse_domain::ParseError;
use gatehouse_policy::{Action, Resource};
use gatehouse_store::{BreakGlassRecord, StoredCheckpoint};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One disclosure of a person's record, as the audit holds it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureView {
    /// The record's position in the audit log (for `/v1/audit/proof/{record}`).
    pub record: i64,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub disclosure: Disclosure,
}

/// Who saw this person's record, when, why and on what basis (newest first). Governance consumers only.
#[utoipa::path(get, path = "/v1/people/{prisonNumber}/disclosures", tag = "governance",
    params(("prisonNumber" = String, Path), PageParams),
    responses((status = 200, body = PageView<DisclosureView>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("apiKey" = [])))]
pub async fn person_disclosures(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(pn): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<PageView<DisclosureView>>, ApiError> {
    let request = page.to_request()?;
    let access = person_access(
        &state,
        &caller,
        &pn,
        Action::ReadDisclosures,
        View::new("disclosures", &["disclosures"]),
    )
    .await?;
    let rows = state
        .store
        .audit_for_person(&access.person.prison_number, &request)
        .await?;
    let mut items = Vec::with_capacity(rows.items.len());
    for row in &rows.items {
        let disclosure: Disclosure = serde_json::from_str(&row.content).map_err(|e| {
            ApiError::Internal(anyhow::anyhow!("unreadable audit record {}: {e}", row.seq))
        })?;
        items.push(DisclosureView {
            record: row.seq,
            disclosure,
        });
    }
    let next = rows.next_cursor.as_ref().map(|c| {
        format!(
            "/v1/people/{pn}/disclosures?cursor={c}&limit={}",
            request.limit
        )
    });
    Ok(Json(PageView {
        items,
        next_cursor: rows.next_cursor,
        next,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakGlassView {
    pub id: String,
    pub consumer: String,
    pub staff_user: String,
    pub prison_number: String,
    pub reason: String,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// How many requests used this grant.
    pub uses: i64,
    /// `unreviewed` or `reviewed`.
    pub status: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub note: Option<String>,
}

impl From<BreakGlassRecord> for BreakGlassView {
    fn from(r: BreakGlassRecord) -> Self {
        Self {
            id: r.id,
            consumer: r.consumer,
            staff_user: r.staff_user,
            prison_number: r.prison_number,
            reason: r.reason,
            started_at: r.started_at,
            expires_at: r.expires_at,
            uses: r.uses,
            status: r.status,
            reviewed_by: r.reviewed_by,
            reviewed_at: r.reviewed_at,
            outcome: r.outcome,
            note: r.note,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BreakGlassParams {
    /// `unreviewed`, `reviewed`, or absent for all.
    status: Option<String>,
}

/// The break-glass review queue. Governance consumers only.
#[utoipa::path(get, path = "/v1/audit/break-glass", tag = "governance", params(BreakGlassParams),
    responses((status = 200, body = Vec<BreakGlassView>), (status = 400, body = Problem), (status = 403, body = Problem)),
    security(("apiKey" = [])))]
pub async fn break_glass_queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<BreakGlassParams>,
) -> Result<Json<Vec<BreakGlassView>>, ApiError> {
    caller.authorize(&state, Action::ReviewBreakGlass, &Resource::System("audit"))?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s @ ("unreviewed" | "reviewed")) => Some(s),
        Some(_) => {
            return Err(ApiError::bad_field(ParseError::new(
                "status",
                "must be unreviewed or reviewed",
            )));
        }
    };
    Ok(Json(
        state
            .store
            .break_glass_list(status)
            .await?
            .into_iter()
            .map(BreakGlassView::from)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// `appropriate`, `inappropriate` or `needs-follow-up`.
    pub outcome: String,
    /// What the reviewer found, in words (at most 2,000 characters).
    pub note: Option<String>,
}

/// Records the review of one break-glass use. The reviewer is the staff user named by the signed `Gatehouse-Staff-Assertion`.
#[utoipa::path(post, path = "/v1/audit/break-glass/{id}/review", tag = "governance",
    params(("id" = String, Path)), request_body = Review,
    responses((status = 200, body = BreakGlassView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("apiKey" = [])))]
pub async fn review_break_glass(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    body: RawBody,
) -> Result<Json<BreakGlassView>, ApiError> {
    let decision = caller.permit(&state, Action::ReviewBreakGlass, &Resource::System("audit"))?;
    let review: Review = parse_json(&body.bytes, "(body)")?;
    if !matches!(
        review.outcome.as_str(),
        "appropriate" | "inappropriate" | "needs-follow-up"
    ) {
        return Err(ApiError::bad_field(ParseError::new(
            "outcome",
            "must be appropriate, inappropriate or needs-follow-up",
        )));
    }
    if review
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > 2000)
    {
        return Err(ApiError::bad_field(ParseError::new(
            "note",
            "must be at most 2,000 characters",
        )));
    }
    let reviewer = caller.principal.on_behalf_of.clone().ok_or_else(|| {
        ApiError::bad_field(ParseError::new(
            "Gatehouse-Staff-Assertion",
            "name the reviewer with a signed staff assertion",
        ))
    })?;
    let reviewer = format!("{} ({})", reviewer, caller.principal.consumer);
    let done = state
        .store
        .break_glass_review(
            &id,
            &reviewer,
            &review.outcome,
            review.note.as_deref(),
            &crate::access::system_write(
                &state,
                &caller,
                "break-glass",
                Action::ReviewBreakGlass,
                &[],
                &decision,
            ),
        )
        .await?;
    Ok(Json(done.into()))
}

/// A signed checkpoint of the audit log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointView {
    pub size: i64,
    /// Merkle root (RFC 6962), hex.
    pub root: String,
    pub created_at: DateTime<Utc>,
    /// The signed note: keep it, and check later proofs against it.
    pub signed: String,
    /// The Ed25519 public key that signs checkpoints, hex.
    pub public_key: String,
}

fn checkpoint_view(c: StoredCheckpoint, public_key: String) -> CheckpointView {
    CheckpointView {
        size: c.size,
        root: c.root,
        created_at: c.created_at,
        signed: c.signed,
        public_key,
    }
}

/// The latest signed checkpoint of the disclosure audit (a new one is made if records were added since).
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "governance",
    responses((status = 200, body = CheckpointView), (status = 401, body = Problem)), security(("apiKey" = [])))]
pub async fn checkpoint(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<CheckpointView>, ApiError> {
    let c = state
        .checkpoints
        .checkpoint_now()
        .await
        .map_err(ApiError::Internal)?;
    Ok(Json(checkpoint_view(c, state.checkpoints.public_key_hex())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The size of the checkpoint you hold (0 for none).
    from: i64,
    /// The size of a later checkpoint (for example the latest from `/v1/audit/checkpoint`).
    to: i64,
}

/// A consistency proof between two checkpoints (RFC 6962 §2.1.2).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsistencyView {
    pub from: i64,
    pub to: i64,
    /// Hex node hashes; empty when `from` is 0 or equals `to`. Check it
    /// against the two signed roots you hold, never against roots from this answer.
    pub proof: Vec<String>,
}

fn bad(field: &str, why: String) -> ApiError {
    ApiError::bad_field(ParseError::new(field, why))
}

/// Proves that the log at checkpoint `to` extends the log at checkpoint `from`: nothing the older checkpoint covered was changed or removed. Any authenticated consumer: it holds hashes only.
#[utoipa::path(get, path = "/v1/audit/consistency", tag = "governance",
    params(ConsistencyParams),
    responses((status = 200, body = ConsistencyView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 409, body = Problem)),
    security(("apiKey" = [])))]
pub async fn consistency(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ConsistencyParams>,
) -> Result<Json<ConsistencyView>, ApiError> {
    let (from, to) = (q.from, q.to);
    if from < 0 {
        return Err(bad("from", "must not be negative".into()));
    }
    if from > to {
        return Err(bad(
            "from",
            format!("({from}) must not be larger than to ({to}): a log only grows"),
        ));
    }
    // Only signed sizes: a proof is worth something only between roots the
    // caller can hold signed, and this keeps the question to a known list.
    for (field, size) in [("from", from), ("to", to)] {
        if size > 0 && state.store.checkpoint_at(size).await?.is_none() {
            return Err(bad(
                field,
                format!(
                    "({size}) is not the size of a signed checkpoint of this log (the sizes are in the notes of \
                     /v1/audit/checkpoint, webhook deliveries and pull-feed pages)"
                ),
            ));
        }
    }
    let leaves = state.store.audit_leaf_hashes(to).await?;
    if (leaves.len() as i64) < to {
        return Err(ApiError::Conflict(format!(
            "the log holds {} records, fewer than its signed checkpoint for size {to}: records were removed",
            leaves.len()
        )));
    }
    let proof =
        crate::audit::checkpoints::consistency(&leaves, from).map_err(ApiError::Internal)?;
    Ok(Json(ConsistencyView { from, to, proof }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProofParams {
    /// The tree size to prove against (a checkpoint's size); default: the latest checkpoint.
    size: Option<i64>,
}

/// An inclusion proof for one record (RFC 6962).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProofView {
    pub record: i64,
    pub leaf_hash: String,
    pub size: i64,
    pub root: String,
    /// Audit path, hex, from the leaf upwards.
    pub proof: Vec<String>,
}

/// Proves that a record is in the log at a given size, so a holder of that size's checkpoint can check it.
#[utoipa::path(get, path = "/v1/audit/proof/{record}", tag = "governance",
    params(("record" = i64, Path), ProofParams),
    responses((status = 200, body = ProofView), (status = 400, body = Problem), (status = 404, body = Problem)), security(("apiKey" = [])))]
pub async fn proof(
    State(state): State<AppState>,
    _caller: Caller,
    ApiPath(record): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ProofParams>,
) -> Result<Json<ProofView>, ApiError> {
    let latest = state
        .checkpoints
        .checkpoint_now()
        .await
        .map_err(ApiError::Internal)?;
    let size = q.size.unwrap_or(latest.size);
    if size < 1 || size > latest.size {
        return Err(ApiError::bad_field(ParseError::new(
            "size",
            format!("must be between 1 and {}", latest.size),
        )));
    }
    if record < 1 || record > size {
        return Err(ApiError::NotFound(format!(
            "no record {record} in a log of size {size}"
        )));
    }
    let leaves = state.store.audit_leaf_hashes(size).await?;
    let (root, proof) =
        crate::audit::checkpoints::inclusion(&leaves, record, size).map_err(ApiError::Internal)?;
    Ok(Json(ProofView {
        record,
        leaf_hash: leaves[(record - 1) as usize].clone(),
        size,
        root,
        proof,
    }))
}
