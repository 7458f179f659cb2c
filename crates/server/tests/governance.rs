//! Governance over HTTP, on both engines: disclosure records for every
//! request touching a person, break-glass and its review, checkpoints and
//! proofs, agreements replaced without restart, and tamper evidence.

mod common;

use common::items::*;
use gatehouse_audit::checkpoint::{PublicKey, SignedCheckpoint};
use gatehouse_audit::verify::FindingKind;
use serde_json::{Value, json};

async fn seed(app: &common::TestApp) {
    let (s, _) = app
        .feed(&json!([
            reception("r1", "A1234BC", "LEI", 10),
            reception("r2", "B2345CD", "MDI", 10)
        ]))
        .await;
    assert_eq!(s, 200);
}

async fn verify(
    app: &common::TestApp,
) -> Result<gatehouse_audit::verify::Report, gatehouse_server::audit::verify::VerifyError> {
    let signer = gatehouse_server::audit::checkpoints::load_existing_key(&app.audit_key).unwrap();
    gatehouse_server::audit::verify::verify_store(app.store.as_ref(), signer.public_key()).await
}

on_both_engines!(
    every_request_touching_a_person_is_recorded_permit_or_not,
    |app: common::TestApp| async move {
        seed(&app).await;
        assert_eq!(
            app.get("lei-health", "/v1/people/A1234BC").await.status(),
            200
        );
        assert_eq!(
            app.get("lei-wing", "/v1/people/A1234BC/alerts")
                .await
                .status(),
            200
        );
        assert_eq!(
            app.get("mdi-health", "/v1/people/A1234BC").await.status(),
            404
        );
        let r = app
            .client
            .get(app.url("/v1/people/A1234BC"))
            .bearer_auth(app.key("lei-wing"))
            .header("Gatehouse-Purpose", "direct-care")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        // The wing may not read disclosures; governance may.
        assert_eq!(
            app.get("lei-wing", "/v1/people/A1234BC/disclosures")
                .await
                .status(),
            403
        );
        let (s, page) = app
            .get_json("ig", "/v1/people/A1234BC/disclosures?limit=100")
            .await;
        assert_eq!(s, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        let seen: Vec<(String, String, String)> = items
            .iter()
            .map(|d| {
                (
                    d["consumer"].as_str().unwrap().to_owned(),
                    d["resource"].as_str().unwrap().to_owned(),
                    d["decision"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for expected in [
            ("prison-feed", "prison-event", "permit"),
            ("lei-health", "person", "permit"),
            ("lei-wing", "alerts", "permit"),
            ("mdi-health", "person", "hidden"),
            ("lei-wing", "person", "deny"),
            ("lei-wing", "disclosures", "deny"),
        ] {
            assert!(
                seen.iter()
                    .any(|(c, r, d)| c == expected.0 && r == expected.1 && d == expected.2),
                "{expected:?} missing from {seen:?}"
            );
        }
        let health = items
            .iter()
            .find(|d| d["consumer"] == "lei-health" && d["resource"] == "person")
            .unwrap();
        assert_eq!(health["purpose"], "direct-care");
        assert!(
            health["lawfulBasis"]
                .as_str()
                .unwrap()
                .contains("Art 9(2)(h)")
        );
        assert!(
            health["policies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == "prison-healthcare/health-care-record")
        );
        assert!(
            health["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "custody")
        );
        let denied = items
            .iter()
            .find(|d| d["consumer"] == "lei-wing" && d["decision"] == "deny")
            .unwrap();
        assert!(
            denied["fields"].as_array().unwrap().is_empty(),
            "nothing was disclosed to a denied request"
        );
        verify(&app).await.expect("an untouched audit verifies");
    }
);

on_both_engines!(
    break_glass_is_named_time_limited_and_reviewed,
    |app: common::TestApp| async move {
        seed(&app).await;
        let bg = |who: &'static str, staff: Option<&'static str>| {
            app.break_glass_read(
                who,
                "/v1/people/A1234BC",
                "Collapsed at MDI reception; needs history",
                staff,
            )
        };
        assert_eq!(
            bg("mdi-health", None).await.status(),
            404,
            "no named clinician: no break-glass"
        );
        assert_eq!(
            bg("lei-wing", Some("officer-9")).await.status(),
            403,
            "the wing agreement allows no emergency reads"
        );
        assert_eq!(bg("mdi-health", Some("nurse-7")).await.status(), 200);
        assert_eq!(bg("mdi-health", Some("nurse-7")).await.status(), 200);
        assert_eq!(
            app.get("mdi-health", "/v1/people/A1234BC").await.status(),
            404,
            "without the header the glass stays shut"
        );
        assert_eq!(
            app.get("lei-health", "/v1/audit/break-glass")
                .await
                .status(),
            403
        );
        let (s, queue) = app
            .get_json("ig", "/v1/audit/break-glass?status=unreviewed")
            .await;
        assert_eq!(s, 200, "{queue}");
        let queue = queue.as_array().unwrap();
        assert_eq!(
            queue.len(),
            1,
            "two uses within the window share one grant: {queue:?}"
        );
        assert_eq!(queue[0]["uses"], 2);
        assert_eq!(queue[0]["staffUser"], "nurse-7");
        let id = queue[0]["id"].as_str().unwrap();
        let review = |body: Value| {
            app.client
                .post(app.url(&format!("/v1/audit/break-glass/{id}/review")))
                .bearer_auth(app.key("ig"))
                .header(
                    "Gatehouse-Staff-Assertion",
                    app.assertion("ig", "ig-lead-1"),
                )
                .json(&body)
                .send()
        };
        assert_eq!(
            review(json!({"outcome": "fine"})).await.unwrap().status(),
            400
        );
        let r = review(json!({"outcome": "appropriate", "note": "Clinical emergency confirmed with the duty doctor."})).await.unwrap();
        assert_eq!(r.status(), 200);
        let done: Value = r.json().await.unwrap();
        assert_eq!(done["status"], "reviewed");
        assert_eq!(
            review(json!({"outcome": "appropriate"}))
                .await
                .unwrap()
                .status(),
            409
        );
        let (_, page) = app
            .get_json("ig", "/v1/people/A1234BC/disclosures?limit=100")
            .await;
        let used = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["breakGlassId"] == id)
            .count();
        assert_eq!(used, 2);
    }
);

on_both_engines!(
    checkpoints_are_signed_and_records_provably_included,
    |app: common::TestApp| async move {
        seed(&app).await;
        for _ in 0..5 {
            app.get("lei-health", "/v1/people/A1234BC").await;
        }
        let (s, cp) = app.get_json("mdi-health", "/v1/audit/checkpoint").await;
        assert_eq!(s, 200, "{cp}");
        let key = PublicKey::from_hex(cp["publicKey"].as_str().unwrap()).unwrap();
        let signed = SignedCheckpoint::parse(cp["signed"].as_str().unwrap()).unwrap();
        signed
            .verify(&key)
            .expect("the checkpoint's signature verifies");
        let size = cp["size"].as_i64().unwrap();
        assert!(size >= 7);
        let (s, proof) = app
            .get_json("lei-health", &format!("/v1/audit/proof/3?size={size}"))
            .await;
        assert_eq!(s, 200, "{proof}");
        let hash = |h: &Value| -> [u8; 32] {
            hex::decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        };
        let path: Vec<[u8; 32]> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(hash)
            .collect();
        assert!(gatehouse_audit::merkle::verify_inclusion(
            &hash(&proof["leafHash"]),
            2,
            size as u64,
            &path,
            &signed.checkpoint.root
        ));
        assert_eq!(
            app.get("lei-health", &format!("/v1/audit/proof/{}", size + 10))
                .await
                .status(),
            404
        );
    }
);

on_both_engines!(
    a_replaced_agreement_applies_at_the_next_request,
    |app: common::TestApp| async move {
        seed(&app).await;
        assert_eq!(
            app.get("lei-wing", "/v1/people/A1234BC/movements")
                .await
                .status(),
            200
        );
        let narrowed = gatehouse_policy::templates::template("prison-wing")
            .unwrap()
            .text
            .replace("Gatehouse::Action::\"read-movements\",", "");
        assert!(
            app.store
                .set_agreement(
                    "lei-wing",
                    "custom",
                    &narrowed,
                    &gatehouse_store::WriteAudit::system(
                        "test",
                        "consumer",
                        "set-agreement",
                        vec![]
                    )
                )
                .await
                .unwrap()
        );
        assert_eq!(
            app.get("lei-wing", "/v1/people/A1234BC/movements")
                .await
                .status(),
            403
        );
        assert_eq!(
            app.get("lei-wing", "/v1/people/A1234BC").await.status(),
            200
        );
    }
);

/// Makes a small audit with a signed checkpoint, then tampers with it.
async fn audited(app: &common::TestApp) {
    seed(app).await;
    for _ in 0..6 {
        app.get("lei-health", "/v1/people/A1234BC").await;
    }
    app.get_json("ig", "/v1/audit/checkpoint").await;
    verify(app).await.expect("verifies before tampering");
}

fn kind_and_seq(
    r: Result<gatehouse_audit::verify::Report, gatehouse_server::audit::verify::VerifyError>,
) -> (FindingKind, i64) {
    let e = r.expect_err("tampering is detected");
    let f = e.finding().expect("a finding, not a read error");
    (f.kind, f.seq)
}

on_both_engines!(tamper_edit_is_named, |app: common::TestApp| async move {
    audited(&app).await;
    // The first of lei-health's reads (the seed's feed writes are recorded before it).
    let target = app
        .store
        .audit_rows(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.consumer == "lei-health")
        .expect("lei-health's reads are recorded")
        .seq;
    gatehouse_store::testing::execute_raw(
        &app.url,
        &format!("UPDATE audit_log SET content = replace(content, 'lei-health', 'lei-wing') WHERE seq = {target}"),
    )
    .await;
    assert_eq!(
        kind_and_seq(verify(&app).await),
        (FindingKind::Altered, target)
    );
});

on_both_engines!(tamper_delete_is_named, |app: common::TestApp| async move {
    audited(&app).await;
    gatehouse_store::testing::execute_raw(&app.url, "DELETE FROM audit_log WHERE seq = 3").await;
    assert_eq!(kind_and_seq(verify(&app).await), (FindingKind::Deleted, 3));
});

on_both_engines!(tamper_insert_is_named, |app: common::TestApp| async move {
    audited(&app).await;
    // A forged record between 2 and 3, hashed and chained correctly after record 2, as an attacker would.
    let two = app.store.audit_row(2).await.unwrap().unwrap();
    let forged = two.content.replace("prison-feed", "lei-wing");
    let leaf = gatehouse_audit::merkle::leaf_hash(forged.as_bytes());
    let prev: [u8; 32] = hex::decode(&two.chain).unwrap().try_into().unwrap();
    let chain = gatehouse_audit::chain::chain_hash(&prev, &leaf);
    gatehouse_store::testing::execute_raw(
        &app.url,
        "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3",
    )
    .await;
    gatehouse_store::testing::execute_raw(
        &app.url,
        "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1003",
    )
    .await;
    let insert = format!(
        "INSERT INTO audit_log (seq, recorded_at, prison_number, consumer, content, leaf_hash, chain) \
         SELECT 3, recorded_at, prison_number, consumer, '{}', '{}', '{}' FROM audit_log WHERE seq = 2",
        forged.replace('\'', "''"),
        hex::encode(leaf),
        hex::encode(chain)
    );
    gatehouse_store::testing::execute_raw(&app.url, &insert).await;
    assert_eq!(kind_and_seq(verify(&app).await), (FindingKind::Inserted, 3));
});

on_both_engines!(tamper_reorder_is_named, |app: common::TestApp| async move {
    audited(&app).await;
    // Swap whole rows 3 and 4.
    gatehouse_store::testing::execute_raw(
        &app.url,
        "UPDATE audit_log SET seq = 1003 WHERE seq = 3",
    )
    .await;
    gatehouse_store::testing::execute_raw(&app.url, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
        .await;
    gatehouse_store::testing::execute_raw(
        &app.url,
        "UPDATE audit_log SET seq = 4 WHERE seq = 1003",
    )
    .await;
    assert_eq!(
        kind_and_seq(verify(&app).await),
        (FindingKind::Reordered, 3)
    );
});
