//! Minting staff assertions with an Ed25519 key: for the demo (whose keys,
//! like its API keys, are derived from published names) and for tests. A real
//! consumer's identity service mints its own; Gatehouse only ever verifies.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair};

/// An Ed25519 signing key with its key id.
pub struct AssertionSigner {
    kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

/// PKCS#8 v1 for an Ed25519 seed (RFC 8410): a fixed prefix, then the 32-byte seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl AssertionSigner {
    pub fn from_seed(seed: [u8; 32], kid: &str) -> Self {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("any 32 bytes are a seed");
        let mut pkcs8 = PKCS8_ED25519_PREFIX.to_vec();
        pkcs8.extend_from_slice(&seed);
        Self {
            kid: kid.to_owned(),
            pkcs8,
            public: pair.public_key().as_ref().to_vec(),
        }
    }

    /// A fresh random key.
    pub fn random(kid: &str) -> Self {
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
        Self::from_seed(seed, kid)
    }

    /// The JWKS document holding the public key, to register for a consumer.
    pub fn jwks(&self) -> String {
        serde_json::json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": self.kid,
            "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.public),
        }]})
        .to_string()
    }

    /// Signs any claims (tests use this to make bad assertions too).
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8))
            .expect("Ed25519 signing does not fail")
    }

    /// An assertion naming `staff_user`, valid from now for `lifetime_secs`.
    pub fn assertion(
        &self,
        issuer: &str,
        audience: &str,
        staff_user: &str,
        lifetime_secs: u64,
    ) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        self.sign(&serde_json::json!({
            "iss": issuer, "aud": audience, "sub": staff_user,
            "iat": now, "exp": now + lifetime_secs,
            "jti": uuid::Uuid::new_v4().to_string(),
        }))
    }
}
