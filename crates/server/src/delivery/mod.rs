//! Event delivery: from the transactional outbox to every entitled subscriber.
//!
//! ```text
//! state change ─┬─ outbox row (same transaction)
//!               └─ wake()  ──▶ fan-out: outbox → one delivery row per matching subscription
//!                              workers: claim due deliveries (leases; SKIP LOCKED on PostgreSQL)
//!                                       → record the disclosure → sign → POST → finish
//! pull feed (`/v1/events`) and NATS read the same outbox through the same catalogue.
//! ```
//!
//! Module map:
//! - [`catalogue`]: event kinds, the action each needs, and each subscriber's view.
//! - [`envelope`]: the CloudEvents 1.0 envelope.
//! - [`signing`]: Standard Webhooks signatures and secrets.
//! - [`schedule`]: the retry schedule, dead letters and disabling.
//! - [`settle`]: outcomes written in batches (group commit).
//! - [`clock`]: the system clock, or a manual one for tests.
//! - [`webhook`]: one delivery attempt.
//! - [`nats`]: publishing to NATS JetStream.
//!
//! Latency: a write wakes the dispatcher in the same process at once; other
//! instances (PostgreSQL) are woken at its commit by `LISTEN/NOTIFY` on
//! `gatehouse_outbox`, and every instance still polls (`poll_interval`) for
//! retries that fall due and in case a notification was lost.

pub mod catalogue;
pub mod clock;
pub mod envelope;
pub mod nats;
pub mod schedule;
pub mod settle;
pub mod signing;
pub mod webhook;

use crate::audit::{AuditWriter, Disclosure, lawful_basis};
use crate::auth::system_principal;
use catalogue::EventKind;
use clock::Clock;
use gatehouse_policy::{Authorizer, Principal, Purpose, Request, Resource};
use gatehouse_store::{Consumer, OutboxEvent, Store, SubscriptionRecord, SubscriptionStatus};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// How delivery runs.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Run the webhook dispatcher in this process.
    pub webhooks: bool,
    pub clock: Clock,
    /// How often to look for due work when nothing has woken the dispatcher.
    pub poll_interval: Duration,
    /// How long a receiver has to answer one attempt.
    pub attempt_timeout: Duration,
    /// How long a claimed delivery is held before another worker may take it
    /// (after a crash). Longer than `attempt_timeout`.
    pub lease: Duration,
    /// Deliveries claimed per round.
    pub batch: i64,
    /// How long a failing event holds back its person's later events (per
    /// subscription) before they flow on past it; it keeps its own retries.
    pub hold: Duration,
    /// Publish every event to NATS JetStream here (`nats://host:port`).
    pub nats_url: Option<String>,
    /// The latest signed audit checkpoint, sent with every webhook delivery
    /// (start-up connects it to the checkpointer).
    pub checkpoint: crate::audit::checkpoints::LatestNote,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            webhooks: true,
            clock: Clock::System,
            poll_interval: Duration::from_millis(200),
            attempt_timeout: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            batch: 256,
            hold: Duration::from_secs(60),
            nats_url: None,
            checkpoint: crate::audit::checkpoints::no_note(),
        }
    }
}

/// The delivery engine's handle, shared by the HTTP handlers (to wake it and to
/// long-poll) and its worker task.
#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    authorizer: Arc<dyn Authorizer>,
    audit: Option<AuditWriter>,
    config: DeliveryConfig,
    /// Wakes the dispatcher.
    wake: Notify,
    /// Wakes long-polling readers of the pull feed.
    published: Notify,
    /// This instance, as the owner of its leases.
    owner: String,
    http: reqwest::Client,
    settler: settle::Settler,
    attempts_in_flight: AtomicUsize,
}

impl Delivery {
    pub fn new(
        store: Arc<dyn Store>,
        authorizer: Arc<dyn Authorizer>,
        audit: Option<AuditWriter>,
        config: DeliveryConfig,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.attempt_timeout)
            .connect_timeout(config.attempt_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Gatehouse-Webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(64)
            .build()
            .expect("the HTTP client builds");
        let settler = settle::Settler::spawn(store.clone());
        Self {
            inner: Arc::new(Inner {
                store,
                authorizer,
                audit,
                config,
                wake: Notify::new(),
                published: Notify::new(),
                owner: format!("gatehouse-{}", uuid::Uuid::new_v4().simple()),
                http,
                settler,
                attempts_in_flight: AtomicUsize::new(0),
            }),
        }
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.config.clock
    }

    /// The latest signed audit checkpoint (base64 note) for the
    /// `Gatehouse-Audit-Checkpoint` header; `None` before the first.
    pub fn checkpoint_note(&self) -> Option<std::sync::Arc<str>> {
        self.inner.config.checkpoint.borrow().clone()
    }

    /// Called after a change commits: deliver it now rather than at the next poll.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
        self.inner.published.notify_waiters();
    }

    /// Resolves when new events may be in the outbox (or after `timeout`).
    pub async fn changed(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.inner.published.notified()).await;
    }

    /// Runs the dispatcher (and the NATS publisher, if configured) until `stop` turns true.
    pub fn spawn(&self, stop: watch::Receiver<bool>) {
        // The fan-out always runs: it also decides how far the outbox is final,
        // which the pull feed and NATS read up to.
        let me = self.clone();
        let run_stop = stop.clone();
        tokio::spawn(async move { me.run(run_stop).await });
        // Other instances' writes (PostgreSQL): wake at their commit, not at the next poll.
        let me = self.clone();
        let mut listen_stop = stop.clone();
        tokio::spawn(async move {
            let mut wakeups = match me.inner.store.outbox_wakeups().await {
                Ok(Some(w)) => w,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for other instances' events; finding them by polling");
                    return;
                }
            };
            loop {
                tokio::select! {
                    woke = wakeups.recv() => match woke {
                        Some(()) => me.wake(),
                        None => return,
                    },
                    _ = listen_stop.changed() => return,
                }
            }
        });
        if let Some(url) = self.inner.config.nats_url.clone() {
            let me = self.clone();
            tokio::spawn(async move { nats::run(me, url, stop).await });
        }
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let busy = match self.round().await {
                Ok(busy) => busy,
                Err(e) => {
                    tracing::warn!(error = %e, "delivery round failed; retrying");
                    false
                }
            };
            if busy {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(self.inner.config.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// One round: fan out new events, then claim and start due attempts.
    /// True when there may be more work at once.
    async fn round(&self) -> anyhow::Result<bool> {
        let consumers = self.consumers().await?;
        let plan = |subs: &[SubscriptionRecord], e: &OutboxEvent| self.plan(&consumers, subs, e);
        let mut fanned = 0;
        loop {
            let n = self
                .inner
                .store
                .fan_out(500, self.clock().now(), &plan)
                .await?;
            fanned += n;
            if n < 500 {
                break;
            }
        }
        if fanned > 0 {
            // The outbox is final further on: long-polling readers may go on.
            self.inner.published.notify_waiters();
        }
        if !self.inner.config.webhooks {
            return Ok(fanned >= 500);
        }
        let now = self.clock().now();
        let lease = chrono::Duration::from_std(self.inner.config.lease)?;
        let hold = chrono::Duration::from_std(self.inner.config.hold)?;
        let claimed = self
            .inner
            .store
            .claim_deliveries(
                &self.inner.owner,
                now,
                now + lease,
                now - hold,
                self.inner.config.batch,
            )
            .await?;
        let full = claimed.len() as i64 == self.inner.config.batch;
        // Each attempt is its own task: a slow or dead endpoint holds only its
        // own attempts (and, per person, the events behind them), never another
        // subscriber's. The receiver's timeout bounds each.
        for d in claimed {
            self.inner
                .attempts_in_flight
                .fetch_add(1, Ordering::Relaxed);
            let me = self.clone();
            let consumers = consumers.clone();
            tokio::spawn(async move {
                if let Err(e) = webhook::attempt(&me, &consumers, d).await {
                    tracing::warn!(error = %e, "delivery attempt could not be recorded; its lease will lapse and it will be tried again");
                }
                me.inner.attempts_in_flight.fetch_sub(1, Ordering::Relaxed);
                // A finished attempt may release the next event of the same person.
                me.inner.wake.notify_one();
            });
        }
        metrics::gauge!("gatehouse_delivery_attempts_in_flight")
            .set(self.inner.attempts_in_flight.load(Ordering::Relaxed) as f64);
        Ok(full || fanned >= 500)
    }

    async fn consumers(&self) -> anyhow::Result<Arc<HashMap<String, Consumer>>> {
        Ok(Arc::new(
            self.inner
                .store
                .list_consumers()
                .await?
                .into_iter()
                .filter(|c| c.revoked_at.is_none())
                .map(|c| (c.name.clone(), c))
                .collect(),
        ))
    }

    /// The subscriptions an event goes to: those that asked for its type and
    /// establishment, of consumers whose agreement lets them see it.
    fn plan(
        &self,
        consumers: &HashMap<String, Consumer>,
        subs: &[SubscriptionRecord],
        e: &OutboxEvent,
    ) -> Vec<String> {
        let Some(kind) = EventKind::of(&e.event_type) else {
            return vec![];
        };
        subs.iter()
            .filter(|s| s.status != SubscriptionStatus::Deleted && wants(s, e))
            .filter(|s| {
                consumers.get(&s.consumer).is_some_and(|c| {
                    let p = system_principal(c);
                    kind.view(
                        self.inner.authorizer.as_ref(),
                        &p,
                        Purpose::default_for(c.org_type),
                        e,
                    )
                    .is_some()
                })
            })
            .map(|s| s.id.clone())
            .collect()
    }

    /// The view a principal gets of an event, or `None`.
    pub fn view(
        &self,
        principal: &Principal,
        purpose: Purpose,
        e: &OutboxEvent,
    ) -> Option<serde_json::Value> {
        EventKind::of(&e.event_type)?.view(self.inner.authorizer.as_ref(), principal, purpose, e)
    }

    /// Records the disclosure of one event to a consumer, durably, before it is sent.
    pub async fn record(
        &self,
        principal: &Principal,
        purpose: Purpose,
        e: &OutboxEvent,
        channel: &str,
        request_id: String,
    ) -> anyhow::Result<()> {
        let Some(audit) = &self.inner.audit else {
            return Ok(());
        };
        let Some(kind) = EventKind::of(&e.event_type) else {
            return Ok(());
        };
        let establishment = e
            .establishment
            .as_deref()
            .and_then(|c| gatehouse_domain::EstablishmentCode::parse(c).ok());
        let decision = self.inner.authorizer.decide(&Request {
            principal,
            action: kind.action(),
            resource: &Resource::person(establishment),
            purpose,
            break_glass: false,
        });
        let d = Disclosure {
            v: 1,
            at: chrono::Utc::now(),
            request_id,
            consumer: principal.consumer.clone(),
            org_type: principal.org_type.as_str().to_owned(),
            staff_user: principal.on_behalf_of.clone(),
            prison_number: Some(e.subject.clone()),
            resource: format!("event:{channel}"),
            action: kind.action().as_str().to_owned(),
            fields: vec![format!("{}#{}", e.event_type, e.id)],
            purpose: purpose.as_str().to_owned(),
            lawful_basis: lawful_basis::for_purpose(purpose).to_owned(),
            break_glass_reason: None,
            break_glass_id: None,
            decision: decision.as_str().to_owned(),
            policies: decision.policies().to_vec(),
        };
        audit.record(d.to_new()).await?;
        Ok(())
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn settler(&self) -> &settle::Settler {
        &self.inner.settler
    }

    /// The plan for one subscription (replay).
    pub async fn replay(
        &self,
        subscription: &str,
        from_seq: i64,
        audit: &gatehouse_store::WriteAudit,
    ) -> anyhow::Result<usize> {
        let consumers = self.consumers().await?;
        let plan = |subs: &[SubscriptionRecord], e: &OutboxEvent| self.plan(&consumers, subs, e);
        let n = self
            .inner
            .store
            .replay(subscription, from_seq, self.clock().now(), &plan, audit)
            .await?;
        self.wake();
        Ok(n)
    }
}

/// The subscription asked for this event: its type (exact, or a `prefix.*`)
/// and its establishment (none listed: every one the agreement allows).
pub fn wants(s: &SubscriptionRecord, e: &OutboxEvent) -> bool {
    let type_ok = s.event_types.is_empty()
        || s.event_types.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) => e.event_type.starts_with(prefix),
            None => *t == e.event_type,
        });
    let est_ok = s.establishments.is_empty()
        || e.establishment
            .as_ref()
            .is_some_and(|x| s.establishments.iter().any(|w| w == x));
    type_ok && est_ok
}
