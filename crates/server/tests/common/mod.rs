//! Test harness: the real server on port 0 with a fresh database, and the
//! consumers of SCENARIOS.md, each with its own key.

#![allow(dead_code)]

pub mod crawl;
pub mod logs;
pub mod receiver;

use gatehouse_domain::Scope;
use gatehouse_policy::templates::template;
use gatehouse_server::auth::issue_key;
use gatehouse_server::{Application, ServerConfig};
use gatehouse_store::{EngineKind, NewConsumer, Store, TableCounts};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Runs an async test body once per engine, as two named tests.
#[macro_export]
macro_rules! on_both_engines {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app =
                    common::TestApp::spawn(gatehouse_store::EngineKind::Sqlite, stringify!($name))
                        .await;
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = common::TestApp::spawn(
                    gatehouse_store::EngineKind::Postgres,
                    stringify!($name),
                )
                .await;
                ($body)(app).await;
            }
        }
    };
}

/// The consumers of SCENARIOS.md: (name, template, establishments).
pub const CONSUMERS: &[(&str, &str, &str)] = &[
    ("prison-feed", "prison-feed", "*"),
    ("lei-wing", "prison-wing", "LEI"),
    ("lei-health", "prison-healthcare", "LEI"),
    ("mdi-health", "prison-healthcare", "MDI"),
    ("escort", "escort-contractor", "*"),
    ("ig", "information-governance", "*"),
    ("revoked", "prison-healthcare", "LEI"),
];

/// The issuer of the harness's staff assertions; each consumer's audience is its name.
pub const STAFF_ISSUER: &str = "https://staff-idp.test";

/// Small limits, so the limit tests need no huge bodies.
pub const BODY_LIMIT: usize = 64 * 1024;
pub const MAX_BATCH: usize = 100;

pub struct TestApp {
    pub base: String,
    /// The database URL, for tests that reach the database directly.
    pub url: String,
    /// The audit signing key file.
    pub audit_key: std::path::PathBuf,
    pub store: Arc<dyn Store>,
    pub keys: HashMap<&'static str, String>,
    /// Signs staff assertions; its JWKS is registered for every consumer.
    pub staff_signer: gatehouse_server::assertion_signer::AssertionSigner,
    pub client: reqwest::Client,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    pub async fn spawn(engine: EngineKind, tag: &str) -> Self {
        Self::spawn_with(engine, tag, |_| {}).await
    }

    /// Spawns with the configuration adjusted (a manual clock, delivery off, …).
    pub async fn spawn_with(
        engine: EngineKind,
        tag: &str,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        let (store, url) = gatehouse_store::testing::fresh_store_with_url(engine, tag).await;
        let mut keys = HashMap::new();
        let staff_signer = gatehouse_server::assertion_signer::AssertionSigner::random("harness");
        for (name, tpl, est) in CONSUMERS {
            let t = template(tpl).unwrap();
            let key = issue_key();
            let new = NewConsumer {
                name: (*name).into(),
                org_type: t.org_type,
                agreement: t.name.into(),
                agreement_text: t.text.into(),
                scope: Scope::parse(est).unwrap(),
            };
            store
                .create_consumer(
                    &new,
                    &key.stored,
                    &gatehouse_store::WriteAudit::system(
                        "test-harness",
                        "consumer",
                        "add-consumer",
                        vec![],
                    ),
                )
                .await
                .unwrap();
            let identity = gatehouse_store::StaffIdentity {
                issuer: STAFF_ISSUER.into(),
                audience: (*name).into(),
                claim: "sub".into(),
                jwks: Some(staff_signer.jwks()),
                jwks_url: None,
            };
            store
                .set_staff_identity(
                    name,
                    Some(&identity),
                    &gatehouse_store::WriteAudit::system(
                        "test-harness",
                        "consumer",
                        "set-staff-identity",
                        vec![],
                    ),
                )
                .await
                .unwrap();
            keys.insert(*name, key.secret);
        }
        store
            .revoke_consumer(
                "revoked",
                &gatehouse_store::WriteAudit::system(
                    "test-harness",
                    "consumer",
                    "revoke-consumer",
                    vec![],
                ),
            )
            .await
            .unwrap();
        let key = std::env::temp_dir().join(format!(
            "gatehouse-test-{}.audit-key",
            uuid::Uuid::new_v4().simple()
        ));
        let mut config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            body_limit: BODY_LIMIT,
            max_batch_items: MAX_BATCH,
            audit_key: Some(key.clone()),
            ..ServerConfig::default()
        };
        configure(&mut config);
        let app = Application::build_with_store(config, store.clone())
            .await
            .expect("server builds");
        let base = format!("http://{}", app.local_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self {
            base,
            url,
            audit_key: key,
            store,
            keys,
            staff_signer,
            client: reqwest::Client::new(),
            _shutdown: tx,
        }
    }

    /// A second Gatehouse instance on the same database (its own connections),
    /// as a scaled-out deployment runs; it stops when the handle is dropped.
    pub async fn another_instance(&self) -> Instance {
        self.another_instance_with(|_| {}).await
    }

    /// [`another_instance`](Self::another_instance), with its configuration adjusted.
    pub async fn another_instance_with(&self, adjust: impl FnOnce(&mut ServerConfig)) -> Instance {
        let store = gatehouse_store::connect(&self.url).await.unwrap();
        let mut config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            audit_key: Some(self.audit_key.clone()),
            ..ServerConfig::default()
        };
        adjust(&mut config);
        let app = Application::build_with_store(config, store).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Instance {
            base,
            _shutdown: tx,
        }
    }

    pub fn key(&self, who: &str) -> &str {
        self.keys
            .get(who)
            .unwrap_or_else(|| panic!("no consumer {who}"))
    }

    /// A signed staff assertion from `consumer` naming `staff_user`, for the
    /// `Gatehouse-Staff-Assertion` header.
    pub fn assertion(&self, consumer: &str, staff_user: &str) -> String {
        self.staff_signer
            .assertion(STAFF_ISSUER, consumer, staff_user, 3600)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, who: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(self.key(who))
            .send()
            .await
            .unwrap()
    }

    /// GETs a route that needs no key (health, metrics, OpenAPI, docs) and returns its body as text.
    pub async fn public_text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// GETs a route that needs no key and parses its JSON body.
    pub async fn public_json(&self, path: &str) -> Value {
        serde_json::from_str(&self.public_text(path).await).unwrap()
    }

    pub async fn get_json(&self, who: &str, path: &str) -> (u16, Value) {
        let r = self.get(who, path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, who: &str, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(self.key(who))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts prison events as the prison feed; returns status and body.
    pub async fn feed(&self, body: &Value) -> (u16, Value) {
        let r = self
            .post_json("prison-feed", "/v1/prison-events", body)
            .await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Imports an appointment (MEDO, in cell, 20 minutes, owned by
    /// lei-health at LEI) that started at `start` with no outcome, as a
    /// migration from another system would leave it.
    pub async fn import_past_appointment(
        &self,
        id: &str,
        pn: &str,
        start: chrono::DateTime<chrono::Utc>,
    ) {
        self.store
            .import_appointments(
                &[gatehouse_store::ImportedAppointment {
                    id: id.into(),
                    prison_number: gatehouse_domain::PrisonNumber::parse(pn).unwrap(),
                    establishment: gatehouse_domain::EstablishmentCode::parse("LEI").unwrap(),
                    appointment_type: gatehouse_domain::appointment::AppointmentType::Medo,
                    starts_at: start,
                    minutes: 20,
                    place: gatehouse_domain::appointment::Place::InCell,
                    owner: "lei-health".into(),
                    cancelled: false,
                    outcome: None,
                    recorded_by: None,
                    booked_at: start - chrono::Duration::days(7),
                }],
                &gatehouse_store::WriteAudit::system(
                    "test-harness",
                    "appointments",
                    "import-appointments",
                    vec![],
                ),
            )
            .await
            .unwrap();
    }

    /// GETs `path` as `who` with the glass broken for `reason`, naming the
    /// staff user (a signed assertion) when given.
    pub async fn break_glass_read(
        &self,
        who: &str,
        path: &str,
        reason: &str,
        staff: Option<&str>,
    ) -> reqwest::Response {
        let mut r = self
            .client
            .get(self.url(path))
            .bearer_auth(self.key(who))
            .header("Gatehouse-Break-Glass", reason);
        if let Some(s) = staff {
            r = r.header("Gatehouse-Staff-Assertion", self.assertion(who, s));
        }
        r.send().await.unwrap()
    }

    pub async fn counts(&self) -> TableCounts {
        self.store.counts().await.unwrap()
    }
}

pub struct Instance {
    pub base: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Items in Gatehouse's native feed format.
pub mod items {
    use serde_json::{Value, json};

    /// A notice's author: a registered nurse (NMC).
    pub fn author() -> Value {
        json!({"role": "Registered nurse", "registration": {"body": "NMC", "number": "12A3456E"}})
    }

    /// A review date 90 days ahead, within the year a notice may run.
    pub fn review_by() -> String {
        (chrono::Utc::now() + chrono::Duration::days(90))
            .date_naive()
            .to_string()
    }

    pub fn at(hours_ago: i64) -> String {
        (chrono::Utc::now() - chrono::Duration::hours(hours_ago)).to_rfc3339()
    }

    pub fn person(
        id: &str,
        pn: &str,
        given: &str,
        family: &str,
        dob: &str,
        nhs: Option<&str>,
    ) -> Value {
        let mut p = json!({"givenName": given, "familyName": family, "dateOfBirth": dob});
        if let Some(n) = nhs {
            p["nhsNumber"] = json!(n);
        }
        json!({"id": id, "type": "gatehouse.person", "occurredAt": at(200), "prisonNumber": pn, "person": p})
    }

    pub fn movement(id: &str, pn: &str, hours_ago: i64, m: Value) -> Value {
        json!({"id": id, "type": "gatehouse.movement", "occurredAt": at(hours_ago), "prisonNumber": pn, "movement": m})
    }

    pub fn reception(id: &str, pn: &str, est: &str, hours_ago: i64) -> Value {
        movement(
            id,
            pn,
            hours_ago,
            json!({"kind": "reception", "reason": "NEW_ADMISSION", "establishment": est}),
        )
    }

    /// An HMPPS envelope as the prison service publishes it.
    pub fn hmpps(event_type: &str, pn: &str, hours_ago: i64, info: Value) -> Value {
        let mut info = info;
        info["nomsNumber"] = json!(pn);
        json!({
            "eventType": event_type, "version": 1, "occurredAt": at(hours_ago),
            "description": "test", "detailUrl": "https://example.invalid/x",
            "additionalInformation": info,
            "personReference": {"identifiers": [{"type": "NOMS", "value": pn}]}
        })
    }
}
