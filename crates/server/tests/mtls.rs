//! Mutual TLS, end to end on both engines: certificates are made here with
//! rcgen (a client CA, another CA, a server CA), the server listens with TLS,
//! and reqwest connects with a client identity.
//!
//! A wrong-CA or expired certificate (or none, when the listener requires
//! one) fails the handshake; a consumer bound to a certificate is refused
//! with 401 before any handler runs when the certificate is missing or is
//! another consumer's; the right certificate with the right key reaches its
//! own scope only.

mod common;

use common::TestApp;
use common::items::reception;
use gatehouse_server::tls::{ClientAuth, TlsConfig};
use gatehouse_store::{ClientCertBinding, EngineKind};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// A certificate and its key, as a client presents them.
struct Client {
    pem: String,
    sha256: String,
}

struct Pki {
    dir: PathBuf,
    server_ca_pem: String,
    /// CN=lei-health, from the client CA.
    health: Client,
    /// CN=lei-wing, from the client CA.
    wing: Client,
    /// CN=prison-feed, from the client CA.
    feed: Client,
    /// CN=lei-health, but from a CA the server does not trust.
    other_ca: Client,
    /// CN=lei-health, from the client CA, expired in 2021.
    expired: Client,
    /// CN=lei-health, from the client CA, listed in its revocation list.
    revoked: Client,
}

/// The serial number the client CA's revocation list names.
const REVOKED_SERIAL: u64 = 666;

/// As `openssl x509 -noout -subject -nameopt RFC2253` prints it (rcgen puts O before CN).
const WING_SUBJECT: &str = "O=Gatehouse Tests,CN=lei-wing";

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let pem = params.self_signed(&key).unwrap().pem();
    (params, key, pem)
}

fn client(issuer: &Issuer<'_, KeyPair>, cn: &str, expired: bool, serial: u64) -> Client {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.serial_number = Some(serial.into());
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Gatehouse Tests");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = params.signed_by(&key, issuer).unwrap();
    assert_eq!(
        gatehouse_server::client_cert::subject_of(cert.der()).as_deref(),
        Some(format!("O=Gatehouse Tests,CN={cn}").as_str()),
        "the subject as operators write it (openssl x509 -subject -nameopt RFC2253)"
    );
    Client {
        pem: format!("{}{}", cert.pem(), key.serialize_pem()),
        sha256: hex::encode(Sha256::digest(cert.der())),
    }
}

fn pki() -> Pki {
    let dir =
        std::env::temp_dir().join(format!("gatehouse-mtls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca_params, ca_key, ca_pem) = ca("Gatehouse Test Client CA");
    let (other_params, other_key, _) = ca("Somebody Else's CA");
    let (server_params, server_ca_key, server_ca_pem) = ca("Gatehouse Test Server CA");
    let clients = Issuer::new(ca_params, ca_key);
    let other = Issuer::new(other_params, other_key);
    let servers = Issuer::new(server_params, server_ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = params.signed_by(&server_key, &servers).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    std::fs::write(dir.join("client-ca.pem"), ca_pem).unwrap();

    let crl = rcgen::CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2024, 1, 1),
        next_update: rcgen::date_time_ymd(2099, 1, 1),
        crl_number: 1u64.into(),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: REVOKED_SERIAL.into(),
            revocation_time: rcgen::date_time_ymd(2024, 1, 1),
            reason_code: Some(rcgen::RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&clients)
    .unwrap();
    std::fs::write(dir.join("client-ca.crl"), crl.pem().unwrap()).unwrap();

    Pki {
        server_ca_pem,
        health: client(&clients, "lei-health", false, 1),
        wing: client(&clients, "lei-wing", false, 2),
        feed: client(&clients, "prison-feed", false, 3),
        other_ca: client(&other, "lei-health", false, 4),
        expired: client(&clients, "lei-health", true, 5),
        revoked: client(&clients, "lei-health", false, REVOKED_SERIAL),
        dir,
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Pki {
    fn config(&self, client_auth: ClientAuth) -> TlsConfig {
        TlsConfig {
            cert: self.dir.join("server.pem"),
            key: self.dir.join("server.key"),
            client_ca: Some(self.dir.join("client-ca.pem")),
            client_auth,
            client_crls: vec![self.dir.join("client-ca.crl")],
        }
    }

    /// A client that trusts only the test server CA, with this identity if any.
    fn client(&self, identity: Option<&Client>) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.server_ca_pem.as_bytes()).unwrap(),
            );
        if let Some(id) = identity {
            b = b.identity(reqwest::Identity::from_pem(id.pem.as_bytes()).unwrap());
        }
        b.build().unwrap()
    }
}

/// The server over TLS, with lei-health bound to its certificate by
/// fingerprint and required to present it, lei-wing bound by subject (not
/// required), and two people: one at Leeds, one at Moorland.
struct TlsApp {
    app: TestApp,
    pki: Pki,
    base: String,
}

async fn spawn(engine: EngineKind, tag: &str, client_auth: ClientAuth) -> TlsApp {
    let pki = pki();
    let tls = pki.config(client_auth);
    let app = TestApp::spawn_with(engine, tag, |c| c.tls = Some(tls)).await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let base = format!("https://localhost:{port}");
    let store = &app.store;
    let health = ClientCertBinding {
        sha256: Some(pki.health.sha256.clone()),
        subject: None,
        required: true,
    };
    assert!(
        store
            .set_client_cert(
                "lei-health",
                &health,
                &gatehouse_store::WriteAudit::system("test", "consumer", "test", vec![])
            )
            .await
            .unwrap()
    );
    let wing = ClientCertBinding {
        sha256: None,
        subject: Some(WING_SUBJECT.into()),
        required: false,
    };
    assert!(
        store
            .set_client_cert(
                "lei-wing",
                &wing,
                &gatehouse_store::WriteAudit::system("test", "consumer", "test", vec![])
            )
            .await
            .unwrap()
    );
    let t = TlsApp { app, pki, base };
    let feed = t.pki.client(Some(&t.pki.feed));
    let r = feed
        .post(format!("{}/v1/prison-events", t.base))
        .bearer_auth(t.app.key("prison-feed"))
        .json(&json!([
            reception("r1", "A1234BC", "LEI", 10),
            reception("r2", "B2345CD", "MDI", 10)
        ]))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "the feed stores: {}", r.status());
    t
}

impl TlsApp {
    async fn get(
        &self,
        identity: Option<&Client>,
        who: &str,
        path: &str,
    ) -> reqwest::Result<reqwest::Response> {
        self.pki
            .client(identity)
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.app.key(who))
            .send()
            .await
    }

    /// Status and problem body of a request that must get an HTTP answer.
    async fn answer(&self, identity: Option<&Client>, who: &str, path: &str) -> (u16, Value) {
        let r = self.get(identity, who, path).await.expect("an HTTP answer");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// How many disclosure records exist: a request refused before its handler writes none.
    async fn disclosures(&self) -> i64 {
        self.app.store.audit_head().await.unwrap().size
    }
}

fn assert_unauthorized(status: u16, body: &Value, says: &str) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["status"], 401, "a problem body: {body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(says),
        "detail {detail:?} should say {says:?}"
    );
}

macro_rules! on_both_engines_tls {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body(EngineKind::Sqlite, stringify!($name)).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body(EngineKind::Postgres, stringify!($name)).await;
            }
        }
    };
}

on_both_engines_tls!(
    right_certificate_and_key_reach_their_own_scope_only,
    right_certificate_and_key
);
async fn right_certificate_and_key(engine: EngineKind, tag: &str) {
    let t = spawn(engine, tag, ClientAuth::Required).await;
    let (status, body) = t
        .answer(Some(&t.pki.health), "lei-health", "/v1/people/A1234BC")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["prisonNumber"], "A1234BC");
    // Moorland's prisoner is as invisible as ever: the certificate widens nothing.
    let (status, _) = t
        .answer(Some(&t.pki.health), "lei-health", "/v1/people/B2345CD")
        .await;
    assert_eq!(status, 404);
    // Bound by subject: the wing terminal's own certificate works for its key.
    let (status, body) = t
        .answer(Some(&t.pki.wing), "lei-wing", "/v1/people/A1234BC")
        .await;
    assert_eq!(status, 200, "{body}");
}

on_both_engines_tls!(
    wrong_expired_or_missing_certificates_fail_the_handshake,
    handshake_failures
);
async fn handshake_failures(engine: EngineKind, tag: &str) {
    let t = spawn(engine, tag, ClientAuth::Required).await;
    let before = t.disclosures().await;
    for (what, identity) in [
        ("another CA's", Some(&t.pki.other_ca)),
        ("an expired", Some(&t.pki.expired)),
        ("a revoked", Some(&t.pki.revoked)),
        ("no", None),
    ] {
        let r = t.get(identity, "lei-health", "/v1/people/A1234BC").await;
        assert!(
            r.is_err(),
            "{what} certificate must fail the handshake, got {:?}",
            r.map(|r| r.status())
        );
    }
    assert_eq!(t.disclosures().await, before, "no handler ran");
}

on_both_engines_tls!(
    a_certificate_required_consumer_without_one_is_refused_before_the_handler,
    missing_certificate
);
async fn missing_certificate(engine: EngineKind, tag: &str) {
    let t = spawn(engine, tag, ClientAuth::Optional).await;
    let before = t.disclosures().await;
    let counts = t.app.counts().await;
    let (status, body) = t.answer(None, "lei-health", "/v1/people/A1234BC").await;
    assert_unauthorized(status, &body, "must present its client certificate");
    assert_eq!(t.disclosures().await, before, "no disclosure was recorded");
    assert_eq!(t.app.counts().await, counts, "nothing changed");
    // A key-only consumer still works without a certificate when client auth is optional.
    let (status, body) = t.answer(None, "escort", "/v1/people/A1234BC").await;
    assert_eq!(status, 200, "{body}");
    // So does one bound to a certificate it is not yet required to present.
    let (status, body) = t.answer(None, "lei-wing", "/v1/people/A1234BC").await;
    assert_eq!(status, 200, "{body}");
}

on_both_engines_tls!(
    one_consumers_certificate_never_carries_anothers_key,
    crossed_credentials
);
async fn crossed_credentials(engine: EngineKind, tag: &str) {
    let t = spawn(engine, tag, ClientAuth::Required).await;
    let before = t.disclosures().await;
    // The wing's certificate with healthcare's key (bound by fingerprint).
    let (status, body) = t
        .answer(Some(&t.pki.wing), "lei-health", "/v1/people/A1234BC")
        .await;
    assert_unauthorized(status, &body, "not the one bound");
    // Healthcare's certificate with the wing's key (bound by subject).
    let (status, body) = t
        .answer(Some(&t.pki.health), "lei-wing", "/v1/people/A1234BC")
        .await;
    assert_unauthorized(status, &body, "not the one bound");
    // Healthcare's certificate with the key of a consumer bound to nothing.
    let (status, body) = t
        .answer(Some(&t.pki.health), "escort", "/v1/people/A1234BC")
        .await;
    assert_unauthorized(status, &body, "belongs to another consumer");
    assert_eq!(t.disclosures().await, before, "no handler ran");
    // An unbound consumer with a certificate nobody holds is let in.
    let (status, body) = t
        .answer(Some(&t.pki.feed), "escort", "/v1/people/A1234BC")
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Start-up refuses unreadable or invalid files with one line naming the file and the flag.
#[test]
fn bad_certificate_or_key_files_stop_start_up_with_a_clear_line() {
    let pki = pki();
    let good = pki.config(ClientAuth::Required);
    assert!(gatehouse_server::tls::server_config(&good).is_ok());
    std::fs::write(pki.dir.join("junk.pem"), "not a certificate").unwrap();
    std::fs::write(
        pki.dir.join("other.key"),
        KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    let cases = [
        (
            TlsConfig {
                cert: pki.dir.join("missing.pem"),
                ..good.clone()
            },
            "cannot read the TLS certificate (--tls-cert)",
        ),
        (
            TlsConfig {
                cert: pki.dir.join("junk.pem"),
                ..good.clone()
            },
            "holds no PEM certificate",
        ),
        (
            TlsConfig {
                key: pki.dir.join("junk.pem"),
                ..good.clone()
            },
            "holds no usable PEM private key",
        ),
        (
            TlsConfig {
                key: pki.dir.join("other.key"),
                ..good.clone()
            },
            "does not fit the certificate",
        ),
        (
            TlsConfig {
                client_ca: Some(pki.dir.join("missing-ca.pem")),
                ..good.clone()
            },
            "cannot read the client CA file (--client-ca)",
        ),
        (
            TlsConfig {
                client_crls: vec![pki.dir.join("junk.pem")],
                ..good.clone()
            },
            "holds no PEM revocation list",
        ),
    ];
    for (config, says) in cases {
        let message = gatehouse_server::tls::server_config(&config)
            .expect_err("refused")
            .to_string();
        assert!(message.contains(says), "{message:?} should say {says:?}");
        assert!(!message.contains('\n'), "one line: {message:?}");
    }
}

on_both_engines_tls!(
    a_certificate_is_bound_to_one_active_consumer,
    one_holder_per_certificate
);
async fn one_holder_per_certificate(engine: EngineKind, tag: &str) {
    let t = spawn(engine, tag, ClientAuth::Required).await;
    let store = &t.app.store;
    let taken = ClientCertBinding {
        sha256: Some(t.pki.health.sha256.clone()),
        subject: None,
        required: true,
    };
    let refused = store
        .set_client_cert(
            "mdi-health",
            &taken,
            &gatehouse_store::WriteAudit::system("test", "consumer", "test", vec![]),
        )
        .await;
    assert!(
        matches!(&refused, Err(gatehouse_store::StoreError::Conflict(m)) if m.contains("lei-health")),
        "{refused:?}"
    );
    let listed = store.list_consumers().await.unwrap();
    let health = listed.iter().find(|c| c.name == "lei-health").unwrap();
    assert_eq!(health.client_cert, taken, "the binding reads back");
    // A revoked consumer lets its replacement take the certificate; the old
    // consumer's key is refused as revoked, certificate or not.
    assert!(
        store
            .revoke_consumer(
                "lei-health",
                &gatehouse_store::WriteAudit::system("test", "consumer", "test", vec![])
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .set_client_cert(
                "mdi-health",
                &taken,
                &gatehouse_store::WriteAudit::system("test", "consumer", "test", vec![])
            )
            .await
            .unwrap()
    );
    let (status, _) = t
        .answer(Some(&t.pki.health), "lei-health", "/v1/people/A1234BC")
        .await;
    assert_eq!(status, 401);
    // An unknown consumer, and clearing a binding.
    assert!(
        !store
            .set_client_cert(
                "nobody",
                &taken,
                &gatehouse_store::WriteAudit::system("test", "consumer", "test", vec![])
            )
            .await
            .unwrap()
    );
    let cleared = ClientCertBinding::default();
    assert!(
        store
            .set_client_cert(
                "mdi-health",
                &cleared,
                &gatehouse_store::WriteAudit::system("test", "consumer", "test", vec![])
            )
            .await
            .unwrap()
    );
}

on_both_engines_tls!(
    shutdown_over_tls_stops_taking_connections,
    shutdown_over_tls
);
async fn shutdown_over_tls(engine: EngineKind, tag: &str) {
    let t = spawn(engine, tag, ClientAuth::Required).await;
    let (status, _) = t
        .answer(Some(&t.pki.health), "lei-health", "/v1/people/A1234BC")
        .await;
    assert_eq!(status, 200);
    let TlsApp { app, pki, base } = t;
    // A fresh client each time, so no pooled connection outlives the listener.
    let live = || {
        pki.client(Some(&pki.health))
            .get(format!("{base}/health/live"))
            .send()
    };
    assert!(live().await.unwrap().status().is_success());
    drop(app); // drops the shutdown sender: run_until_stopped begins its graceful stop
    let mut refused = false;
    for _ in 0..50 {
        if live().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(refused, "the TLS listener closed after shutdown");
}
