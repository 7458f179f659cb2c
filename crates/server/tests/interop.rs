//! Interoperability with independent implementations: Standard Webhooks
//! signatures checked by the reference Python library, and events published to
//! a real NATS JetStream (127.0.0.1:4222, started by .ci/run). Neither is
//! skipped when its tool is missing: the test fails and says what to install.

mod common;

use common::items::*;
use common::receiver::{Behaviour, Receiver};
use futures::StreamExt;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn verify_with_python(secret: &str, got: &common::receiver::Received) -> Result<String, String> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/webhooks/verify_standardwebhooks.py"
    );
    let doc = json!({
        "secret": secret,
        "body": got.body,
        "headers": {"webhook-id": got.id, "webhook-timestamp": got.timestamp.to_string(), "webhook-signature": got.signature},
    });
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("python3 could not be run ({e}): .ci/run installs it"))?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

on_both_engines!(
    signatures_verify_with_the_standard_webhooks_reference_library,
    |app: common::TestApp| async move {
        let r = Receiver::start(Behaviour::Accept).await;
        let resp = app
            .post_json(
                "lei-health",
                "/v1/subscriptions",
                &json!({"url": r.url, "eventTypes": ["uk.gatehouse.person.received"]}),
            )
            .await;
        assert_eq!(resp.status(), 201);
        let sub: Value = resp.json().await.unwrap();
        let secret = sub["secret"].as_str().unwrap().to_owned();
        app.feed(&json!([reception("r1", "A1234BC", "LEI", 1)]))
            .await;
        let got = r.wait_for(1, Duration::from_secs(3)).await;
        assert_eq!(got.len(), 1);
        let out = verify_with_python(&secret, &got[0])
            .unwrap_or_else(|e| panic!("standardwebhooks refused the signature: {e}"));
        assert!(out.contains("uk.gatehouse.person.received"), "{out}");
        // And a wrong secret is refused by the same library.
        let wrong = gatehouse_server::delivery::signing::new_secret();
        assert!(verify_with_python(&wrong, &got[0]).is_err());
    }
);

/// A prison number unique to this run and engine, so concurrent runs sharing the NATS server do not mix.
fn unique_pn(engine: gatehouse_store::EngineKind) -> String {
    let n = (uuid::Uuid::new_v4().as_u128() % 9000 + 1000) as u32;
    let l = if engine == gatehouse_store::EngineKind::Sqlite {
        'S'
    } else {
        'P'
    };
    format!("N{n}{l}Q")
}

on_both_engines!(
    events_are_published_to_nats_jetstream_once_each,
    |app: common::TestApp| async move {
        let engine = app.store.engine();
        let client = async_nats::connect("nats://127.0.0.1:4222")
            .await
            .expect("NATS on 127.0.0.1:4222 (.ci/run starts it) cannot be reached");
        let js = async_nats::jetstream::new(client);
        let app = common::TestApp::spawn_with(engine, "nats", |c| {
            c.delivery.nats_url = Some("nats://127.0.0.1:4222".into());
        })
        .await;
        // The publisher creates the stream; wait for it, then follow new messages from now.
        let stream = loop {
            if let Ok(s) = js
                .get_stream(gatehouse_server::delivery::nats::STREAM)
                .await
            {
                break s;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let consumer = stream
            .create_consumer(async_nats::jetstream::consumer::pull::Config {
                deliver_policy: async_nats::jetstream::consumer::DeliverPolicy::New,
                filter_subject: "gatehouse.events.person.received.LEI".into(),
                inactive_threshold: Duration::from_secs(60),
                ..Default::default()
            })
            .await
            .unwrap();
        let pn = unique_pn(engine);
        let (s, _) = app.feed(&json!([reception("n1", &pn, "LEI", 2)])).await;
        assert_eq!(s, 200);
        let mut messages = consumer.messages().await.unwrap();
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(m)) = messages.next().await {
                m.ack().await.unwrap();
                let v: Value = serde_json::from_slice(&m.payload).unwrap();
                if v["subject"] == pn.as_str() {
                    return Some((m.headers.clone(), v));
                }
            }
            None
        })
        .await
        .expect("the event reached NATS within 10 s")
        .unwrap();
        let (headers, event) = found;
        assert_eq!(event["type"], "uk.gatehouse.person.received");
        assert_eq!(
            headers
                .unwrap()
                .get("Nats-Msg-Id")
                .map(|v| v.as_str().to_owned()),
            event["id"].as_str().map(str::to_owned),
            "deduplicated by event id"
        );
        // Thin events only: no record data on a broadcast bus.
        assert!(event["data"].get("movement").is_none(), "{event}");
        assert_eq!(event["data"]["href"], format!("/v1/people/{pn}"));
    }
);

on_both_engines!(
    the_readme_example_receiver_verifies_and_prints_deliveries,
    |app: common::TestApp| async move {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let resp = app
            .post_json("lei-health", "/v1/subscriptions", &json!({"url": format!("http://127.0.0.1:{port}/hook"), "eventTypes": ["uk.gatehouse.alert.*"]}))
            .await;
        assert_eq!(resp.status(), 201);
        let sub: Value = resp.json().await.unwrap();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/webhook_receiver.py"
        );
        let mut child = tokio::process::Command::new("python3")
            .args([
                script,
                "--port",
                &port.to_string(),
                "--secret",
                sub["secret"].as_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the example receiver");
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(
            child.stdout.take().unwrap(),
        ));
        let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(
            first.starts_with("listening"),
            "{first} (is standardwebhooks installed? .ci/run installs it)"
        );
        app.feed(&json!([reception("r1", "A1234BC", "LEI", 5)]))
            .await;
        app.feed(&json!([{"id": "ex-1", "type": "gatehouse.alert", "occurredAt": at(0), "prisonNumber": "A1234BC",
                          "alert": {"id": "al-ex-1", "code": "HA", "active": true, "activeFrom": "2026-11-01"}}])).await;
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["type"], "uk.gatehouse.alert.raised");
        assert_eq!(v["subject"], "A1234BC");
    }
);
