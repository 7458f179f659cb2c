//! The staff user of an API request is verified, on both engines: a signed
//! assertion (a JWT) checked against the consumer's registered keys names the
//! staff user in the disclosure record; unsigned, forged, expired, wrong-issuer,
//! wrong-audience and malformed assertions, and plain names, are 401 problems
//! that record no one; break-glass needs a verified staff user.

mod common;

use base64::Engine as _;
use common::items::*;
use gatehouse_server::assertion_signer::AssertionSigner;
use gatehouse_store::StaffIdentity;
use serde_json::{Value, json};

async fn seed(app: &common::TestApp) {
    let (s, v) = app
        .feed(&json!([
            reception("r1", "A1234BC", "LEI", 10),
            reception("r2", "B2345CD", "MDI", 10)
        ]))
        .await;
    assert_eq!(s, 200, "{v}");
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// GET a person as `who`, with these extra headers; status and body.
async fn read_as(
    app: &common::TestApp,
    who: &str,
    pn: &str,
    headers: &[(&str, String)],
) -> (u16, String, Value) {
    let mut r = app
        .client
        .get(app.url(&format!("/v1/people/{pn}")))
        .bearer_auth(app.key(who));
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, resp.json().await.unwrap_or(Value::Null))
}

/// The staff users named in a person's disclosure records.
async fn staff_in_disclosures(app: &common::TestApp, pn: &str) -> Vec<(String, String)> {
    let (s, page) = app
        .get_json("ig", &format!("/v1/people/{pn}/disclosures?limit=100"))
        .await;
    assert_eq!(s, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| {
            Some((
                d["consumer"].as_str()?.to_owned(),
                d["staffUser"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// A refused request: what it is, its headers, and a phrase the problem's detail must hold.
type Case = (&'static str, Vec<(&'static str, String)>, &'static str);

fn assertion_header(token: String) -> Vec<(&'static str, String)> {
    vec![("Gatehouse-Staff-Assertion", token)]
}

on_both_engines!(
    a_verified_assertion_names_the_staff_user_in_the_disclosure,
    |app: common::TestApp| async move {
        seed(&app).await;
        let token = app.assertion("lei-health", "nurse.a");
        let (s, _, body) = read_as(&app, "lei-health", "A1234BC", &assertion_header(token)).await;
        assert_eq!(s, 200, "{body}");
        let named = staff_in_disclosures(&app, "A1234BC").await;
        assert!(
            named.contains(&("lei-health".into(), "nurse.a".into())),
            "the verified subject is the staff user recorded: {named:?}"
        );
        // Without an assertion the request is the consumer's own, naming no one.
        let (s, _, _) = read_as(&app, "lei-health", "A1234BC", &[]).await;
        assert_eq!(s, 200);
    }
);

on_both_engines!(
    bad_assertions_are_401_problems_and_record_no_one,
    |app: common::TestApp| async move {
        seed(&app).await;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let t = now();
        let good = |sub: &str| json!({"iss": common::STAFF_ISSUER, "aud": "lei-health", "sub": sub, "iat": t, "exp": t + 300});
        let with = |f: &dyn Fn(&mut Value)| {
            let mut c = good("mallory");
            f(&mut c);
            c
        };
        let signer = &app.staff_signer;
        let forger = AssertionSigner::random("harness");
        let hs256 = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &good("mallory"),
            &jsonwebtoken::EncodingKey::from_secret(b"a shared secret"),
        )
        .unwrap();
        let cases: Vec<Case> = vec![
            (
                "unsigned",
                assertion_header(format!(
                    "{}.{}.",
                    b64(&json!({"alg": "none", "typ": "JWT"})),
                    b64(&good("mallory"))
                )),
                "unsigned",
            ),
            (
                "forged with another key of the same key id",
                assertion_header(forger.sign(&good("mallory"))),
                "does not verify",
            ),
            (
                "a shared-secret algorithm",
                assertion_header(hs256),
                "shared-secret",
            ),
            (
                "expired",
                assertion_header(signer.sign(&with(&|c| {
                    c["iat"] = json!(t - 600);
                    c["exp"] = json!(t - 120);
                }))),
                "expired",
            ),
            (
                "not valid yet",
                assertion_header(signer.sign(&with(&|c| c["nbf"] = json!(t + 600)))),
                "not valid yet",
            ),
            (
                "the wrong issuer",
                assertion_header(signer.sign(&with(&|c| c["iss"] = json!("https://evil.example")))),
                "issuer",
            ),
            (
                "the wrong audience (another consumer's)",
                assertion_header(app.assertion("lei-wing", "mallory")),
                "audience",
            ),
            (
                "no expiry",
                assertion_header(signer.sign(&with(&|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }))),
                "exp",
            ),
            (
                "a lifetime beyond an hour",
                assertion_header(signer.sign(&with(&|c| c["exp"] = json!(t + 7200)))),
                "too long",
            ),
            (
                "no staff user in the claim",
                assertion_header(signer.sign(&with(&|c| {
                    c.as_object_mut().unwrap().remove("sub");
                }))),
                "sub claim",
            ),
            (
                "malformed",
                assertion_header("not-a-jwt".into()),
                "well-formed",
            ),
            (
                "malformed parts",
                assertion_header("a.b.c".into()),
                "well-formed",
            ),
            (
                "a plain name",
                vec![("Gatehouse-On-Behalf-Of", "mallory".into())],
                "Gatehouse-Staff-Assertion",
            ),
        ];
        for (what, headers, expect) in cases {
            let (s, ct, body) = read_as(&app, "lei-health", "A1234BC", &headers).await;
            assert_eq!(s, 401, "{what}: {body}");
            assert!(ct.starts_with("application/problem+json"), "{what}: {ct}");
            let detail = body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains(expect),
                "{what}: the detail says why ({expect}): {detail}"
            );
        }
        let named = staff_in_disclosures(&app, "A1234BC").await;
        assert!(
            !named.iter().any(|(_, u)| u == "mallory"),
            "no refused assertion is recorded as its staff user: {named:?}"
        );
    }
);

on_both_engines!(
    a_few_seconds_of_clock_skew_are_tolerated,
    |app: common::TestApp| async move {
        seed(&app).await;
        let t = now();
        let skewed = app.staff_signer.sign(&json!({
            "iss": common::STAFF_ISSUER, "aud": "lei-health", "sub": "nurse.skew",
            "iat": t + 5, "nbf": t + 5, "exp": t - 5,
        }));
        let (s, _, body) = read_as(&app, "lei-health", "A1234BC", &assertion_header(skewed)).await;
        assert_eq!(s, 200, "within the default 30 s leeway: {body}");
    }
);

on_both_engines!(
    es256_keys_and_a_changed_registration_apply_at_once,
    |app: common::TestApp| async move {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        seed(&app).await;
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "ec-1", "use": "sig",
            "x": b64(&point[1..33]), "y": b64(&point[33..65])}]});
        let identity = StaffIdentity {
            issuer: "https://login.health.example".into(),
            audience: "gatehouse-lei-health".into(),
            claim: "preferred_username".into(),
            jwks: Some(jwks.to_string()),
            jwks_url: None,
        };
        assert!(
            app.store
                .set_staff_identity(
                    "lei-health",
                    Some(&identity),
                    &gatehouse_store::WriteAudit::system(
                        "test",
                        "consumer",
                        "set-staff-identity",
                        vec![]
                    )
                )
                .await
                .unwrap()
        );
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("ec-1".into());
        let t = now();
        let token = jsonwebtoken::encode(
            &header,
            &json!({"iss": "https://login.health.example", "aud": ["gatehouse-lei-health", "other"],
                "sub": "opaque-123", "preferred_username": "dr.ec", "iat": t, "exp": t + 60}),
            &jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()),
        )
        .unwrap();
        let (s, _, body) = read_as(&app, "lei-health", "A1234BC", &assertion_header(token)).await;
        assert_eq!(s, 200, "{body}");
        let named = staff_in_disclosures(&app, "A1234BC").await;
        assert!(
            named.contains(&("lei-health".into(), "dr.ec".into())),
            "the configured claim names the staff user: {named:?}"
        );
        // The harness key is no longer registered for this consumer.
        let old = app.assertion("lei-health", "nurse.a");
        let (s, _, _) = read_as(&app, "lei-health", "A1234BC", &assertion_header(old)).await;
        assert_eq!(s, 401);
        // A consumer with no staff identity cannot name anyone.
        app.store
            .set_staff_identity(
                "lei-health",
                None,
                &gatehouse_store::WriteAudit::system(
                    "test",
                    "consumer",
                    "set-staff-identity",
                    vec![],
                ),
            )
            .await
            .unwrap();
        let token = app.assertion("lei-health", "nurse.a");
        let (s, _, body) = read_as(&app, "lei-health", "A1234BC", &assertion_header(token)).await;
        assert_eq!(s, 401);
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("set-staff-identity"),
            "{body}"
        );
    }
);

on_both_engines!(
    keys_are_fetched_from_a_jwks_url,
    |app: common::TestApp| async move {
        seed(&app).await;
        // A JWKS endpoint on the loopback interface, as an issuer publishes one.
        let signer = AssertionSigner::random("url-key");
        let doc = signer.jwks();
        let router = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { ([("content-type", "application/json")], doc) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let set = |url: String| StaffIdentity {
            issuer: "https://idp.escort.example".into(),
            audience: "escort".into(),
            claim: "sub".into(),
            jwks: None,
            jwks_url: Some(url),
        };
        app.store
            .set_staff_identity(
                "escort",
                Some(&set(format!("http://{addr}/jwks.json"))),
                &gatehouse_store::WriteAudit::system(
                    "test",
                    "consumer",
                    "set-staff-identity",
                    vec![],
                ),
            )
            .await
            .unwrap();
        let token = signer.assertion("https://idp.escort.example", "escort", "escort.officer", 60);
        let r = app
            .client
            .get(app.url("/v1/people/A1234BC/alerts"))
            .bearer_auth(app.key("escort"))
            .header("Gatehouse-Staff-Assertion", token.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        // An issuer whose keys cannot be fetched: unavailable, not a 500, and not accepted.
        app.store
            .set_staff_identity(
                "escort",
                Some(&set("http://127.0.0.1:9/unreachable.json".into())),
                &gatehouse_store::WriteAudit::system(
                    "test",
                    "consumer",
                    "set-staff-identity",
                    vec![],
                ),
            )
            .await
            .unwrap();
        let r = app
            .client
            .get(app.url("/v1/people/A1234BC/alerts"))
            .bearer_auth(app.key("escort"))
            .header("Gatehouse-Staff-Assertion", token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
    }
);

on_both_engines!(
    break_glass_needs_a_verified_staff_user,
    |app: common::TestApp| async move {
        seed(&app).await;
        let glass = (
            "Gatehouse-Break-Glass",
            "Collapsed at MDI reception".to_owned(),
        );
        let forger = AssertionSigner::random("harness");
        let forged = forger.assertion(common::STAFF_ISSUER, "mdi-health", "nurse.forged", 60);
        for (what, staff) in [
            (
                "a plain name",
                ("Gatehouse-On-Behalf-Of", "nurse.plain".to_owned()),
            ),
            ("a forged assertion", ("Gatehouse-Staff-Assertion", forged)),
        ] {
            let (s, _, body) =
                read_as(&app, "mdi-health", "A1234BC", &[glass.clone(), staff]).await;
            assert_eq!(s, 401, "{what}: {body}");
        }
        let (s, _, _) = read_as(&app, "mdi-health", "A1234BC", std::slice::from_ref(&glass)).await;
        assert_eq!(s, 404, "no staff user: the glass stays shut");
        let verified = (
            "Gatehouse-Staff-Assertion",
            app.assertion("mdi-health", "nurse.verified"),
        );
        let (s, _, body) = read_as(&app, "mdi-health", "A1234BC", &[glass, verified]).await;
        assert_eq!(s, 200, "{body}");
        let (s, queue) = app
            .get_json("ig", "/v1/audit/break-glass?status=unreviewed")
            .await;
        assert_eq!(s, 200);
        let users: Vec<&str> = queue
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|g| g["staffUser"].as_str())
            .collect();
        assert_eq!(users, ["nurse.verified"]);
        let named = staff_in_disclosures(&app, "A1234BC").await;
        assert!(named.contains(&("mdi-health".into(), "nurse.verified".into())));
        assert!(
            !named
                .iter()
                .any(|(_, u)| u == "nurse.plain" || u == "nurse.forged")
        );
    }
);
