//! One webhook delivery attempt: view, record, sign, send, and settle.

use super::schedule::{DISABLE_AFTER, next_delay};
use super::{Delivery, envelope, signing};
use crate::audit::checkpoints::CHECKPOINT_HEADER;
use crate::auth::system_principal;
use gatehouse_policy::Purpose;
use gatehouse_store::{
    AttemptResult, ClaimedDelivery, Consumer, FinishedAttempt, SubscriptionStatus,
};
use std::collections::HashMap;

/// Tries one claimed delivery and records how it went. An `Err` means the
/// outcome could not be stored: the lease lapses and the attempt is repeated
/// (at least once; the receiver dedupes on `webhook-id`).
pub async fn attempt(
    delivery: &Delivery,
    consumers: &HashMap<String, Consumer>,
    d: ClaimedDelivery,
) -> anyhow::Result<()> {
    let store = delivery.store();
    let clock = delivery.clock();
    // Read with the claim, in its transaction: active then.
    let sub = &d.subscription;
    let e = &d.event;
    let settle = |result: AttemptResult| async move {
        delivery
            .settler()
            .settle(FinishedAttempt {
                subscription_id: d.subscription_id.clone(),
                seq: e.seq,
                at: clock.now(),
                result,
            })
            .await
    };
    // The view is decided now, under the agreement in force now.
    let view = consumers.get(&sub.consumer).and_then(|c| {
        let p = system_principal(c);
        let purpose = Purpose::default_for(c.org_type);
        delivery.view(&p, purpose, e).map(|v| (p, purpose, v))
    });
    let Some((principal, purpose, data)) = view else {
        settle(AttemptResult::Dead {
            status: None,
            error: "withheld: the consumer's agreement no longer allows this event".into(),
        })
        .await?;
        return Ok(());
    };
    let attempt_no = d.attempts + 1;
    delivery
        .record(
            &principal,
            purpose,
            e,
            "webhook",
            format!("webhook:{}:{}:{attempt_no}", sub.id, e.id),
        )
        .await?;

    let body = envelope::cloud_event(e, data).to_string();
    let now = clock.now();
    let timestamp = now.timestamp();
    let live: Vec<&str> = sub
        .secrets
        .iter()
        .filter(|s| s.expires_at.is_none_or(|x| x > now))
        .map(|s| s.secret.as_str())
        .collect();
    let signature = signing::signature_header(live, &e.id, timestamp, body.as_bytes());
    let started = std::time::Instant::now();
    let mut request = delivery
        .http()
        .post(&sub.url)
        .header("content-type", "application/json")
        .header("webhook-id", &e.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature);
    // The latest signed audit checkpoint, so every subscriber can witness
    // the log (docs/events.md). Not part of the Standard Webhooks signature:
    // it carries its own Ed25519 signature.
    if let Some(note) = delivery.checkpoint_note() {
        request = request.header(CHECKPOINT_HEADER, &*note);
    }
    let sent = request.body(body).send().await;
    metrics::histogram!("gatehouse_webhook_attempt_seconds")
        .record(started.elapsed().as_secs_f64());

    let (status, error) = match sent {
        Ok(r) if r.status().is_success() => {
            settle(AttemptResult::Delivered {
                status: r.status().as_u16(),
            })
            .await?;
            metrics::counter!("gatehouse_webhook_deliveries_total", "outcome" => "delivered")
                .increment(1);
            return Ok(());
        }
        Ok(r) => (
            Some(r.status().as_u16()),
            format!("the receiver answered {}", r.status()),
        ),
        Err(e) if e.is_timeout() => (None, "the receiver did not answer in time".to_owned()),
        Err(e) if e.is_connect() => (None, "could not connect to the receiver".to_owned()),
        Err(_) => (None, "the request to the receiver failed".to_owned()),
    };
    metrics::counter!("gatehouse_webhook_deliveries_total", "outcome" => "failed").increment(1);
    if status == Some(410) {
        // Gone: the receiver asks not to be called again.
        settle(AttemptResult::Dead { status, error }).await?;
        store
            .set_subscription_status(
                &sub.id,
                SubscriptionStatus::Disabled,
                Some("the receiver answered 410 Gone"),
                &disabled_record(&sub.id, "gone"),
            )
            .await?;
        tracing::warn!(subscription = %sub.id, "webhook subscription disabled: 410 Gone");
        return Ok(());
    }
    match next_delay(attempt_no) {
        Some(delay) => {
            settle(AttemptResult::Retry {
                status,
                error,
                next: now + delay,
            })
            .await?
        }
        None => {
            settle(AttemptResult::Dead { status, error }).await?;
            metrics::counter!("gatehouse_webhook_dead_letters_total").increment(1);
            let failing_long = sub.failing_since.is_some_and(|t| now - t >= DISABLE_AFTER);
            if failing_long {
                let reason = format!(
                    "disabled: no successful delivery since {}; re-enable with POST /v1/subscriptions/{}/enable",
                    sub.failing_since
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default(),
                    sub.id
                );
                store
                    .set_subscription_status(
                        &sub.id,
                        SubscriptionStatus::Disabled,
                        Some(&reason),
                        &disabled_record(&sub.id, "failing-over-a-day"),
                    )
                    .await?;
                metrics::counter!("gatehouse_webhook_subscriptions_disabled_total").increment(1);
                tracing::warn!(subscription = %sub.id, "webhook subscription disabled after failing for more than a day");
            }
        }
    }
    Ok(())
}

/// The record of the delivery worker disabling a subscription: a change no
/// consumer asked for, made by Gatehouse itself, written with the change.
fn disabled_record(subscription: &str, why: &str) -> gatehouse_store::WriteAudit {
    gatehouse_store::WriteAudit::system(
        "gatehouse-delivery",
        "subscription",
        "disable-subscription",
        vec![format!("subscription/{subscription}:disabled:{why}")],
    )
}
