//! Publishing every event to NATS JetStream.
//!
//! NATS is a broadcast bus: Gatehouse cannot know who reads a subject, so it
//! publishes the *thin* event only (the envelope, with the type, person,
//! establishment and a link, and no record data). Readers fetch the detail
//! through the API, under their own agreement. Subjects are
//! `gatehouse.events.<type>.<establishment>` (e.g.
//! `gatehouse.events.person.received.LEI`; `NONE` when no establishment), in
//! the stream `GATEHOUSE_EVENTS`. Each message carries `Nats-Msg-Id` = the
//! event id, so a publish repeated after a crash is dropped by JetStream's
//! duplicate window. The publisher's place in the outbox is the `nats` cursor,
//! advanced only after JetStream acknowledges.

use super::{Delivery, envelope};
use backon::{ExponentialBuilder, Retryable};
use gatehouse_store::OutboxEvent;
use serde_json::json;
use std::time::Duration;
use tokio::sync::watch;

pub const STREAM: &str = "GATEHOUSE_EVENTS";
pub const SUBJECT_PREFIX: &str = "gatehouse.events";

/// The subject an event is published on.
pub fn subject(e: &OutboxEvent) -> String {
    let t = e
        .event_type
        .strip_prefix(gatehouse_store::events::PREFIX)
        .unwrap_or(&e.event_type);
    format!(
        "{SUBJECT_PREFIX}.{t}.{}",
        e.establishment.as_deref().unwrap_or("NONE")
    )
}

/// The thin event: no record data, a link to it.
pub fn thin_event(e: &OutboxEvent) -> serde_json::Value {
    envelope::cloud_event(
        e,
        json!({"prisonNumber": e.subject, "href": format!("/v1/people/{}", e.subject)}),
    )
}

pub async fn run(delivery: Delivery, url: String, mut stop: watch::Receiver<bool>) {
    loop {
        let connected = (|| async { connect(&url).await })
            .retry(
                ExponentialBuilder::default()
                    .with_max_delay(Duration::from_secs(30))
                    .without_max_times(),
            )
            .notify(|e, d| tracing::warn!(error = %e, retry_in = ?d, "NATS unreachable"))
            .await;
        let Ok(js) = connected else { continue };
        match publish_loop(&delivery, &js, &mut stop).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "NATS publishing stopped; reconnecting"),
        }
    }
}

async fn connect(url: &str) -> anyhow::Result<async_nats::jetstream::Context> {
    let client = async_nats::connect(url).await?;
    let js = async_nats::jetstream::new(client);
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: STREAM.into(),
        subjects: vec![format!("{SUBJECT_PREFIX}.>")],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await?;
    Ok(js)
}

async fn publish_loop(
    delivery: &Delivery,
    js: &async_nats::jetstream::Context,
    stop: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let store = delivery.store();
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let cursor = store.cursor("nats").await?;
        let safe = store.outbox_safe_seq().await?;
        let mut batch = store.outbox_after(cursor, 500).await?;
        batch.retain(|e| e.seq <= safe);
        for e in &batch {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", e.id.as_str());
            let ack = js
                .publish_with_headers(subject(e), headers, thin_event(e).to_string().into())
                .await?;
            ack.await?;
            metrics::counter!("gatehouse_nats_published_total").increment(1);
        }
        if let Some(last) = batch.last() {
            store.set_cursor("nats", last.seq).await?;
        }
        if batch.len() == 500 {
            continue;
        }
        tokio::select! {
            _ = delivery.changed(Duration::from_millis(500)) => {}
            _ = stop.changed() => {}
        }
    }
}
