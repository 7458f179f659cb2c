//! Witnessing the disclosure audit, on both engines: the consistency
//! endpoint, the checkpoint header, and the attacks of issue 11 scripted
//! against the database: rewrite-and-drop-checkpoints, truncate-and-rewind,
//! and a fork shown to two witnesses. Each is first shown to pass the
//! database-only verification, then caught by witnessed checkpoints and by
//! the witness's check (the same function `gatehouse audit witness` uses).

mod common;

use base64::Engine as _;
use common::items::*;
use common::receiver::{Behaviour, Receiver};
use gatehouse_audit::checkpoint::{PublicKey, SignedCheckpoint};
use gatehouse_audit::merkle::{Hash, verify_consistency};
use gatehouse_audit::verify::FindingKind;
use gatehouse_audit::witness::{Breach, Proof, check_extends};
use gatehouse_server::audit::verify::{VerifyOptions, verify_store_with};
use gatehouse_store::testing::audit_attacks;
use serde_json::{Value, json};
use std::time::Duration;

async fn seed(app: &common::TestApp) {
    let (s, _) = app
        .feed(&json!([reception("r1", "A1234BC", "LEI", 10)]))
        .await;
    assert_eq!(s, 200);
}

/// One more disclosure record.
async fn read(app: &common::TestApp) {
    assert_eq!(
        app.get("lei-health", "/v1/people/A1234BC").await.status(),
        200
    );
}

/// The log's current checkpoint, as a witness fetches it.
async fn checkpoint(app: &common::TestApp) -> SignedCheckpoint {
    let (s, cp) = app.get_json("ig", "/v1/audit/checkpoint").await;
    assert_eq!(s, 200, "{cp}");
    SignedCheckpoint::parse(cp["signed"].as_str().unwrap()).unwrap()
}

fn key(app: &common::TestApp) -> PublicKey {
    gatehouse_server::audit::checkpoints::load_existing_key(&app.audit_key)
        .unwrap()
        .public_key()
}

async fn size(app: &common::TestApp) -> u64 {
    app.store.audit_head().await.unwrap().size as u64
}

/// What `gatehouse audit witness` decides, holding `held` and shown `shown`.
async fn witness(
    app: &common::TestApp,
    held: &SignedCheckpoint,
    shown: &SignedCheckpoint,
) -> Result<(), Breach> {
    shown.verify(&key(app)).expect("signed by the pinned key");
    let (m, n) = (held.checkpoint.size, shown.checkpoint.size);
    if n <= m {
        return check_extends(&held.checkpoint, &shown.checkpoint, Proof::Given(&[]));
    }
    let (s, body) = app
        .get_json(
            "lei-wing",
            &format!("/v1/audit/consistency?from={m}&to={n}"),
        )
        .await;
    if s != 200 {
        let why = format!("{s}: {}", body["detail"]);
        return check_extends(&held.checkpoint, &shown.checkpoint, Proof::Refused(why));
    }
    let proof = hashes(&body["proof"]);
    check_extends(&held.checkpoint, &shown.checkpoint, Proof::Given(&proof))
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| {
            hex::decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

async fn verify_witnessed(
    app: &common::TestApp,
    witnessed: &[SignedCheckpoint],
) -> Result<gatehouse_audit::Report, gatehouse_server::audit::verify::VerifyError> {
    let mut options = VerifyOptions::new(key(app));
    options.witnessed = witnessed.to_vec();
    verify_store_with(app.store.as_ref(), &options).await
}

fn finding(
    r: Result<gatehouse_audit::Report, gatehouse_server::audit::verify::VerifyError>,
) -> gatehouse_audit::Finding {
    r.expect_err("the attack is caught")
        .finding()
        .expect("a finding, not a read error")
        .clone()
}

/// The attacker's rewrite of record `seq` (another consumer named as the
/// reader), with every hash, the head and the checkpoints made to agree.
async fn rewrite(app: &common::TestApp, seq: i64) {
    audit_attacks::rewrite_record(&app.url, seq, |c| c.replace("lei-health", "lei-wing")).await;
}

/// The attacker's truncation after record `keep`, with the head rewound.
async fn truncate(app: &common::TestApp, keep: i64) {
    audit_attacks::truncate_log(&app.url, keep).await;
}

/// A log of a few records with a witness holding checkpoints at sizes
/// `target - 1`, `target` and the end: returns them, oldest first.
async fn witnessed_log(app: &common::TestApp, target: u64) -> Vec<SignedCheckpoint> {
    seed(app).await;
    while size(app).await < target - 1 {
        read(app).await;
    }
    let before = checkpoint(app).await;
    read(app).await;
    let at = checkpoint(app).await;
    for _ in 0..4 {
        read(app).await;
    }
    let end = checkpoint(app).await;
    assert_eq!(
        (before.checkpoint.size, at.checkpoint.size),
        (target - 1, target)
    );
    verify_witnessed(app, &[before.clone(), at.clone(), end.clone()])
        .await
        .expect("verifies before the attack");
    vec![before, at, end]
}

on_both_engines!(
    consistency_proofs_between_checkpoints,
    |app: common::TestApp| async move {
        seed(&app).await;
        read(&app).await;
        let old = checkpoint(&app).await;
        for _ in 0..5 {
            read(&app).await;
        }
        let new = checkpoint(&app).await;
        let (m, n) = (old.checkpoint.size, new.checkpoint.size);
        // Any authenticated consumer may ask: it is hashes only.
        let (s, body) = app
            .get_json("escort", &format!("/v1/audit/consistency?from={m}&to={n}"))
            .await;
        assert_eq!(s, 200, "{body}");
        assert!(verify_consistency(
            m,
            n,
            &old.checkpoint.root,
            &new.checkpoint.root,
            &hashes(&body["proof"])
        ));
        let (s, body) = app
            .get_json("escort", &format!("/v1/audit/consistency?from={n}&to={n}"))
            .await;
        assert_eq!((s, body["proof"].as_array().unwrap().len()), (200, 0));

        for (query, want) in [
            (format!("from={n}&to={m}"), "must not be larger"),
            (
                format!("from={m}&to={}", n + 1),
                "not the size of a signed checkpoint",
            ),
            (
                format!("from={}&to={n}", m + 1),
                "not the size of a signed checkpoint",
            ),
            ("from=-1&to=3".to_owned(), "negative"),
            ("from=abc&to=3".to_owned(), "query string"),
            (format!("to={n}"), "query string"),
            (format!("from=1&to={n}&x=1"), "query string"),
        ] {
            let r = app
                .get("escort", &format!("/v1/audit/consistency?{query}"))
                .await;
            assert_eq!(r.status(), 400, "{query}");
            assert_eq!(
                r.headers()["content-type"].to_str().unwrap(),
                "application/problem+json"
            );
            let body: Value = r.json().await.unwrap();
            let detail = body["detail"].as_str().unwrap_or_default().to_owned() + &body.to_string();
            assert!(detail.contains(want), "{query}: {body}");
        }
        let r = reqwest::get(app.url(&format!("/v1/audit/consistency?from={m}&to={n}")))
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
);

on_both_engines!(
    pull_feed_pages_carry_the_latest_checkpoint,
    |app: common::TestApp| async move {
        seed(&app).await;
        let cp = checkpoint(&app).await;
        let r = app.get("lei-health", "/v1/events?limit=5").await;
        assert_eq!(r.status(), 200);
        let header = r.headers()["gatehouse-audit-checkpoint"]
            .to_str()
            .unwrap()
            .to_owned();
        let note = base64::engine::general_purpose::STANDARD
            .decode(header)
            .unwrap();
        let carried = SignedCheckpoint::parse(std::str::from_utf8(&note).unwrap()).unwrap();
        carried.verify(&key(&app)).unwrap();
        assert!(carried.checkpoint.size >= cp.checkpoint.size);
    }
);

on_both_engines!(
    webhook_deliveries_carry_the_latest_checkpoint,
    |app: common::TestApp| async move {
        seed(&app).await;
        let cp = checkpoint(&app).await;
        let receiver = Receiver::start(Behaviour::Accept).await;
        let r = app
            .post_json(
                "lei-health",
                "/v1/subscriptions",
                &json!({"url": receiver.url, "eventTypes": ["uk.gatehouse.person.*"]}),
            )
            .await;
        assert_eq!(r.status(), 201);
        let (s, _) = app
            .feed(&json!([reception("r9", "A1234BC", "LEI", 1)]))
            .await;
        assert!(s == 200 || s == 201);
        let got = receiver.wait_for(1, Duration::from_secs(5)).await;
        assert!(!got.is_empty(), "the delivery arrived");
        let note = base64::engine::general_purpose::STANDARD
            .decode(&got[0].checkpoint)
            .expect("the delivery carries a base64 checkpoint");
        let carried = SignedCheckpoint::parse(std::str::from_utf8(&note).unwrap()).unwrap();
        carried.verify(&key(&app)).unwrap();
        assert!(carried.checkpoint.size >= cp.checkpoint.size);
    }
);

on_both_engines!(
    rewrite_and_drop_checkpoints_is_caught,
    |app: common::TestApp| async move {
        // Record numbers past what the harness's own (recorded) set-up wrote.
        let base = size(&app).await;
        let notes = witnessed_log(&app, base + 4).await;
        rewrite(&app, (base + 4) as i64).await;
        // The database alone cannot tell.
        verify_witnessed(&app, &[])
            .await
            .expect("a consistent rewrite passes the database-only verification");
        // The witnessed checkpoints can, and name the first rewritten record.
        let f = finding(verify_witnessed(&app, &notes).await);
        let target = (base + 4) as i64;
        assert_eq!(
            (f.kind, f.seq),
            (FindingKind::CheckpointMismatch, target),
            "{f}"
        );
        assert!(
            f.detail
                .contains(&format!("witnessed checkpoint for size {target}")),
            "{f}"
        );
        assert!(
            f.detail.contains(&format!("seqs {target} to {target}")),
            "{f}"
        );
        // With only the last note, the range is named.
        let f = finding(verify_witnessed(&app, &notes[2..]).await);
        assert_eq!((f.kind, f.seq), (FindingKind::CheckpointMismatch, 1), "{f}");

        // The witness: the log now signs the rewritten history.
        read(&app).await;
        let shown = checkpoint(&app).await;
        let breach = witness(&app, &notes[2], &shown).await.unwrap_err();
        assert_eq!(breach.kind(), "fork", "{breach}");
    }
);

on_both_engines!(
    rewrite_keeping_checkpoint_rows_is_caught_by_the_proof,
    |app: common::TestApp| async move {
        let base = size(&app).await;
        let notes = witnessed_log(&app, base + 3).await;
        let end = notes[2].checkpoint.size;
        rewrite(&app, (base + 2) as i64).await;
        // The attacker puts back a row for the witness's size, so the log
        // answers with a proof: over the rewritten records, it cannot verify.
        read(&app).await;
        let shown = checkpoint(&app).await;
        gatehouse_store::testing::execute_raw(
            &app.url,
            &format!(
                "INSERT INTO audit_checkpoints (size, root, signed, created_at) SELECT {end}, root, signed, created_at \
                 FROM audit_checkpoints WHERE size = {}",
                shown.checkpoint.size
            ),
        )
        .await;
        let breach = witness(&app, &notes[2], &shown).await.unwrap_err();
        assert!(
            breach
                .to_string()
                .contains("consistency proof does not verify"),
            "{breach}"
        );
    }
);

on_both_engines!(
    truncate_and_rewind_is_caught,
    |app: common::TestApp| async move {
        let base = size(&app).await;
        let notes = witnessed_log(&app, base + 3).await;
        let end = notes[2].checkpoint.size as i64;
        truncate(&app, end - 2).await;
        verify_witnessed(&app, &[])
            .await
            .expect("a clean cut passes the database-only verification");
        let f = finding(verify_witnessed(&app, &notes).await);
        assert_eq!((f.kind, f.seq), (FindingKind::Deleted, end - 1), "{f}");
        assert!(f.detail.contains("witnessed checkpoint covers"), "{f}");

        let shown = checkpoint(&app).await;
        assert_eq!(shown.checkpoint.size as i64, end - 2);
        let breach = witness(&app, &notes[2], &shown).await.unwrap_err();
        assert_eq!(
            breach,
            Breach::Rollback {
                held: end as u64,
                shown: end as u64 - 2
            }
        );
    }
);

on_both_engines!(
    a_fork_shown_to_two_witnesses_is_caught,
    |app: common::TestApp| async move {
        // Witness A saw the original history.
        let base = size(&app).await;
        let a = witnessed_log(&app, base + 3).await.pop().unwrap();
        rewrite(&app, (base + 2) as i64).await;
        // Witness B starts afterwards and sees only the rewritten one: by
        // itself it has nothing to object to.
        let b = checkpoint(&app).await;
        assert_eq!(b.checkpoint.size, a.checkpoint.size);
        witness(&app, &b, &b).await.unwrap();
        // Comparing notes (`gatehouse audit witness --peer`): same size, two roots.
        let breach = witness(&app, &a, &b).await.unwrap_err();
        assert_eq!(breach.kind(), "fork", "{breach}");
        // And once the log has grown, B's newer note does not extend A's.
        read(&app).await;
        let b2 = checkpoint(&app).await;
        witness(&app, &b, &b2).await.unwrap();
        assert_eq!(witness(&app, &a, &b2).await.unwrap_err().kind(), "fork");
    }
);

async fn with_slow_cadence(engine: gatehouse_store::EngineKind, tag: &str) -> common::TestApp {
    common::TestApp::spawn_with(engine, tag, |c| {
        c.checkpoint_every = Duration::from_secs(3600);
        c.checkpoint_every_records = 1_000_000;
    })
    .await
}

async fn cadence_gaps_are_named(app: common::TestApp) {
    seed(&app).await;
    // The checkpointer signs what it finds at start once (within a poll of
    // 250 ms), then not for an hour.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let first = checkpoint(&app).await.checkpoint.size as i64;
    read(&app).await;
    read(&app).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut options = VerifyOptions::new(key(&app));
    options.cadence = Some(Duration::from_millis(1000));
    // Records after the last checkpoint, older than the cadence allows.
    let f = finding(verify_store_with(app.store.as_ref(), &options).await);
    assert_eq!(
        (f.kind, f.seq),
        (FindingKind::CheckpointGap, first + 1),
        "{f}"
    );
    assert!(f.detail.contains("covered by no signed checkpoint"), "{f}");
    // Signed late: a checkpoint was missing where one was due.
    checkpoint(&app).await;
    let f = finding(verify_store_with(app.store.as_ref(), &options).await);
    assert_eq!(
        (f.kind, f.seq),
        (FindingKind::CheckpointGap, first + 1),
        "{f}"
    );
    assert!(f.detail.contains("waited"), "{f}");
    // Within a generous cadence, the same log passes.
    options.cadence = Some(Duration::from_secs(60));
    verify_store_with(app.store.as_ref(), &options)
        .await
        .expect("within the cadence");
}

mod cadence_rule {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        cadence_gaps_are_named(
            with_slow_cadence(gatehouse_store::EngineKind::Sqlite, "cadence_rule").await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        cadence_gaps_are_named(
            with_slow_cadence(gatehouse_store::EngineKind::Postgres, "cadence_rule").await,
        )
        .await;
    }
}

on_both_engines!(
    checkpoints_are_signed_every_second_while_records_arrive,
    |app: common::TestApp| async move {
        seed(&app).await;
        let n = size(&app).await as i64;
        // No one asks for a checkpoint: the checkpointer signs one itself.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let latest = app.store.latest_checkpoint().await.unwrap();
            if latest.is_some_and(|c| c.size >= n) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no checkpoint within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut options = VerifyOptions::new(key(&app));
        options.cadence = Some(Duration::from_secs(3));
        verify_store_with(app.store.as_ref(), &options)
            .await
            .expect("the 1 s cadence keeps the rule");
    }
);

/// Records written just before shutdown are signed by the final checkpoint.
async fn shutdown_signs_the_last_records(engine: gatehouse_store::EngineKind) {
    let (store, _url) =
        gatehouse_store::testing::fresh_store_with_url(engine, "shutdown_checkpoint").await;
    let key = std::env::temp_dir().join(format!(
        "gatehouse-test-{}.audit-key",
        uuid::Uuid::new_v4().simple()
    ));
    let config = gatehouse_server::ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        audit_key: Some(key),
        checkpoint_every: Duration::from_secs(3600),
        checkpoint_every_records: 1_000_000,
        ..Default::default()
    };
    let app = gatehouse_server::Application::build_with_store(config, store.clone())
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    let record = |n: u32| gatehouse_store::NewDisclosure {
        prison_number: None,
        consumer: "test".into(),
        content: format!("{{\"n\":{n}}}"),
    };
    store.append_audit(&[record(1)]).await.unwrap();
    // The checkpointer signs what it finds at start, then not for an hour.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(store.latest_checkpoint().await.unwrap().unwrap().size, 1);
    store.append_audit(&[record(2), record(3)]).await.unwrap();
    tx.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(store.latest_checkpoint().await.unwrap().unwrap().size, 3);
}

mod shutdown_checkpoint {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        shutdown_signs_the_last_records(gatehouse_store::EngineKind::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        shutdown_signs_the_last_records(gatehouse_store::EngineKind::Postgres).await;
    }
}
