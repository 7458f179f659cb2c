//! Signed checkpoints: C2SP `tlog-checkpoint` bodies in C2SP `signed-note`
//! envelopes, signed with Ed25519.
//!
//! ```text
//! gatehouse.example/audit            <- origin (also the signing key's name)
//! 1048576                            <- tree size
//! 3ZsjpcCbWw2IJ6/6Q4h6SEpd8ZGrhR3+/YGCo36pRUs=   <- base64 Merkle root
//! 2026-04-20T12:00:00Z               <- timestamp, RFC 3339 UTC (an extension line)
//!
//! — gatehouse.example/audit <base64(key ID (4 bytes) || Ed25519 signature (64 bytes))>
//! ```
//!
//! The signature covers the body: the four lines including the final
//! newline, not the blank line. The key ID is the C2SP signed-note one,
//! `SHA-256(key name || 0x0A || 0x01 || public key)[..4]`, with the origin as
//! the key name, so a checkpoint can also be checked with any C2SP signed-note
//! verifier given the verifier key from [`PublicKey::verifier_key`].
//!
//! [`SignedCheckpoint::parse`] reads text from outside (another
//! organisation's archive, an HTTP response): it never panics, bounds the
//! input, accepts only the canonical form of each field (so the body it
//! re-renders is byte-for-byte the body that was signed) and says what is
//! wrong.

use crate::merkle::Hash;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// Longest checkpoint text [`SignedCheckpoint::parse`] accepts, in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Most signature lines [`SignedCheckpoint::parse`] accepts.
pub const MAX_SIGNATURES: usize = 100;
/// Longest origin (key name) accepted, in bytes.
pub const MAX_ORIGIN_BYTES: usize = 1024;

/// C2SP signed-note signature type byte for Ed25519.
const SIG_TYPE_ED25519: u8 = 0x01;
/// Start of a signature line: U+2014 EM DASH and a space.
const SIG_LINE_PREFIX: &str = "\u{2014} ";

/// A signed-note key ID: 4 bytes.
pub type KeyId = [u8; 4];

/// What went wrong with a checkpoint, a key or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint text is {len} bytes; at most {max} are accepted")]
    TooLong { len: usize, max: usize },
    #[error(
        "checkpoint text contains control character {byte:#04x} at byte {offset}; only newlines are allowed"
    )]
    ControlCharacter { byte: u8, offset: usize },
    #[error("checkpoint text must end with a newline")]
    MissingFinalNewline,
    #[error("checkpoint text has no signature lines after a blank line")]
    MissingSignatures,
    #[error(
        "checkpoint body has {found} lines; expected 4 non-empty lines (origin, size, root hash, timestamp)"
    )]
    BodyLineCount { found: usize },
    #[error("invalid origin {value:?}: {reason}")]
    Origin { value: String, reason: &'static str },
    #[error("invalid tree size {0:?}: expected a decimal integer without sign or leading zeros")]
    Size(String),
    #[error("invalid root hash {value:?}: {reason}")]
    Root { value: String, reason: &'static str },
    #[error("invalid timestamp {value:?}: {reason}")]
    Timestamp { value: String, reason: String },
    #[error("signature line {line}: {reason}")]
    SignatureLine { line: usize, reason: String },
    #[error("too many signature lines ({found}); at most {max} are accepted")]
    TooManySignatures { found: usize, max: usize },
    #[error("no Ed25519 signature line by the log's key name {origin:?}")]
    NoLogSignature { origin: String },
    #[error("invalid key: {0}")]
    Key(String),
    #[error(
        "signed by key ID {found}, but the given public key's key ID for {name:?} is {expected}"
    )]
    KeyMismatch {
        name: String,
        expected: String,
        found: String,
    },
    #[error("the checkpoint's signature does not verify with the given public key")]
    BadSignature,
}

/// An unsigned checkpoint: the log `origin` had `size` records with Merkle
/// root `root` at `timestamp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub timestamp: DateTime<Utc>,
}

impl Checkpoint {
    /// The signed text: `"<origin>\n<size>\n<base64 root>\n<timestamp>\n"`.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root),
            format_timestamp(&self.timestamp)
        )
    }
}

/// Canonical RFC 3339 form used in checkpoint bodies: UTC with `Z`, and 0,
/// 3, 6 or 9 fractional digits as the value needs.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A checkpoint with the log's Ed25519 signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// C2SP key ID of the signing key (name = origin); see [`key_id`].
    pub key_id: KeyId,
    pub signature: [u8; 64],
    /// Other signature lines (for example a witness's cosignature), kept
    /// verbatim without the final newline so that [`Self::to_text`]
    /// reproduces them. They are not checked here.
    pub other_signatures: Vec<String>,
}

impl SignedCheckpoint {
    /// Key ID as 8 lowercase hex digits.
    pub fn key_id_hex(&self) -> String {
        hex::encode(self.key_id)
    }

    /// The signed-note text: body, blank line, the log's signature line,
    /// then any other signature lines.
    pub fn to_text(&self) -> String {
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&self.signature);
        let mut out = self.checkpoint.body();
        out.push('\n');
        out.push_str(SIG_LINE_PREFIX);
        out.push_str(&self.checkpoint.origin);
        out.push(' ');
        out.push_str(&B64.encode(&blob));
        out.push('\n');
        for line in &self.other_signatures {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Parses signed-note text. Never panics; see the module docs for what
    /// is accepted. The log's signature is the first Ed25519-sized line
    /// whose key name equals the origin; other lines are kept in
    /// `other_signatures`. Parsing does not check the signature: call
    /// [`verify`].
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(CheckpointError::TooLong {
                len: text.len(),
                max: MAX_TEXT_BYTES,
            });
        }
        if let Some((offset, &byte)) = text
            .as_bytes()
            .iter()
            .enumerate()
            .find(|&(_, &b)| (b < 0x20 && b != b'\n') || b == 0x7f)
        {
            return Err(CheckpointError::ControlCharacter { byte, offset });
        }
        if !text.ends_with('\n') {
            return Err(CheckpointError::MissingFinalNewline);
        }
        let split = text
            .rfind("\n\n")
            .ok_or(CheckpointError::MissingSignatures)?;
        let body = &text[..split + 1];
        let sig_block = &text[split + 2..];
        if sig_block.is_empty() {
            return Err(CheckpointError::MissingSignatures);
        }

        let checkpoint = parse_body(body)?;
        let body_lines = body.matches('\n').count();

        let mut log_sig: Option<(KeyId, [u8; 64])> = None;
        let mut others = Vec::new();
        let lines: Vec<&str> = sig_block[..sig_block.len() - 1].split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(CheckpointError::TooManySignatures {
                found: lines.len(),
                max: MAX_SIGNATURES,
            });
        }
        for (i, line) in lines.iter().enumerate() {
            let line_no = body_lines + 2 + i;
            let bad = |reason: String| CheckpointError::SignatureLine {
                line: line_no,
                reason,
            };
            let rest = line
                .strip_prefix(SIG_LINE_PREFIX)
                .ok_or_else(|| bad("must start with an em dash (U+2014) and a space".into()))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| bad("expected '<key name> <base64 signature>'".into()))?;
            check_key_name(name).map_err(|reason| bad(format!("key name {name:?}: {reason}")))?;
            let blob = B64
                .decode(b64)
                .map_err(|e| bad(format!("signature is not base64: {e}")))?;
            if blob.len() < 5 {
                return Err(bad("signature is shorter than a key ID and one byte".into()));
            }
            if log_sig.is_none() && name == checkpoint.origin && blob.len() == 68 {
                let mut id = [0u8; 4];
                id.copy_from_slice(&blob[..4]);
                let mut sig = [0u8; 64];
                sig.copy_from_slice(&blob[4..]);
                log_sig = Some((id, sig));
            } else {
                others.push((*line).to_owned());
            }
        }
        let (key_id, signature) = log_sig.ok_or_else(|| CheckpointError::NoLogSignature {
            origin: checkpoint.origin.clone(),
        })?;
        Ok(Self {
            checkpoint,
            key_id,
            signature,
            other_signatures: others,
        })
    }

    /// Same as the free function [`verify`].
    pub fn verify(&self, key: &PublicKey) -> Result<(), CheckpointError> {
        verify(self, key)
    }
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl std::str::FromStr for SignedCheckpoint {
    type Err = CheckpointError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn parse_body(body: &str) -> Result<Checkpoint, CheckpointError> {
    let lines: Vec<&str> = body[..body.len() - 1].split('\n').collect();
    if lines.len() != 4 || lines.iter().any(|l| l.is_empty()) {
        return Err(CheckpointError::BodyLineCount { found: lines.len() });
    }
    let origin = lines[0];
    check_key_name(origin).map_err(|reason| CheckpointError::Origin {
        value: origin.to_owned(),
        reason,
    })?;
    let size = parse_size(lines[1]).ok_or_else(|| CheckpointError::Size(lines[1].to_owned()))?;
    let root = parse_root(lines[2])?;
    let timestamp = parse_timestamp(lines[3])?;
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
        timestamp,
    })
}

fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

fn parse_root(s: &str) -> Result<Hash, CheckpointError> {
    let err = |reason| CheckpointError::Root {
        value: s.chars().take(100).collect(),
        reason,
    };
    let bytes = B64
        .decode(s)
        .map_err(|_| err("not standard base64 with padding"))?;
    let root: Hash = bytes
        .try_into()
        .map_err(|_| err("does not decode to 32 bytes"))?;
    if B64.encode(root) != s {
        return Err(err("not the canonical base64 encoding"));
    }
    Ok(root)
}

fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, CheckpointError> {
    let err = |reason: String| CheckpointError::Timestamp {
        value: s.chars().take(100).collect(),
        reason,
    };
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|e| err(format!("not RFC 3339: {e}")))?
        .with_timezone(&Utc);
    let canonical = format_timestamp(&t);
    if canonical != s {
        return Err(err(format!(
            "not in canonical form (expected {canonical:?})"
        )));
    }
    Ok(t)
}

/// C2SP key-name rules: non-empty, no Unicode whitespace, no `+`; plus a
/// length bound.
fn check_key_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("must not be empty");
    }
    if name.len() > MAX_ORIGIN_BYTES {
        return Err("longer than 1024 bytes");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters");
    }
    if name.contains('+') {
        return Err("must not contain '+'");
    }
    Ok(())
}

/// The C2SP signed-note key ID of an Ed25519 key with this name:
/// `SHA-256(name || 0x0A || 0x01 || public key)[..4]`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> KeyId {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', SIG_TYPE_ED25519]);
    h.update(public_key);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// An Ed25519 public key that checkpoints are verified with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl PublicKey {
    /// From the 32-byte compressed point. Rejects invalid and weak
    /// (small-order) keys.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CheckpointError> {
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| CheckpointError::Key("not a valid Ed25519 public key".into()))?;
        if key.is_weak() {
            return Err(CheckpointError::Key(
                "a weak (small-order) Ed25519 public key".into(),
            ));
        }
        Ok(Self(key))
    }

    /// From 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, CheckpointError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut bytes)
            .map_err(|_| CheckpointError::Key("expected 64 hex digits".into()))?;
        Self::from_bytes(&bytes)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// The key ID this key has under `name` (the log's origin).
    pub fn key_id(&self, name: &str) -> KeyId {
        key_id(name, &self.to_bytes())
    }

    /// The C2SP signed-note verifier key:
    /// `<name>+<hex key ID>+<base64(0x01 || public key)>`.
    pub fn verifier_key(&self, name: &str) -> String {
        let mut blob = Vec::with_capacity(33);
        blob.push(SIG_TYPE_ED25519);
        blob.extend_from_slice(&self.to_bytes());
        format!(
            "{name}+{}+{}",
            hex::encode(self.key_id(name)),
            B64.encode(blob)
        )
    }

    /// Parses a verifier key made by [`Self::verifier_key`]; returns the key
    /// name and the key.
    pub fn parse_verifier_key(vkey: &str) -> Result<(String, Self), CheckpointError> {
        let bad = |m: &str| CheckpointError::Key(format!("verifier key: {m}"));
        let mut parts = vkey.trim().split('+');
        let (Some(name), Some(id_hex), Some(b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected <name>+<key ID>+<key>"));
        };
        check_key_name(name).map_err(bad)?;
        let blob = B64.decode(b64).map_err(|_| bad("key is not base64"))?;
        if blob.len() != 33 || blob[0] != SIG_TYPE_ED25519 {
            return Err(bad("not an Ed25519 key"));
        }
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&blob[1..]);
        let key = Self::from_bytes(&pk)?;
        if hex::encode(key.key_id(name)) != id_hex.to_ascii_lowercase() {
            return Err(bad("key ID does not match the name and key"));
        }
        Ok((name.to_owned(), key))
    }
}

/// Signs checkpoints; wraps an Ed25519 signing key (zeroised on drop).
/// `Debug` does not show the key.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer {{ public_key: {} }}", self.public_key_hex())
    }
}

impl Signer {
    /// A new random key (from the operating system's CSPRNG via `rand`).
    pub fn generate() -> Self {
        let mut seed: [u8; 32] = rand::random();
        let s = Self::from_bytes(&seed);
        seed.fill(0);
        s
    }

    /// From the 32-byte Ed25519 secret key (seed).
    pub fn from_bytes(secret: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(secret),
        }
    }

    /// From 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, CheckpointError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut bytes)
            .map_err(|_| CheckpointError::Key("signing key: expected 64 hex digits".into()))?;
        let signer = Self::from_bytes(&bytes);
        bytes.fill(0);
        Ok(signer)
    }

    /// The 32-byte secret key, for storing it (keep it out of the database
    /// that holds the log: that is the point of signing).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    pub fn public_key_hex(&self) -> String {
        self.public_key().to_hex()
    }

    /// Signs a checkpoint with the origin as key name. Fails only when the
    /// origin is not a valid key name (empty, spaces, `+`, over 1024 bytes).
    pub fn sign(&self, checkpoint: Checkpoint) -> Result<SignedCheckpoint, CheckpointError> {
        check_key_name(&checkpoint.origin).map_err(|reason| CheckpointError::Origin {
            value: checkpoint.origin.clone(),
            reason,
        })?;
        let body = checkpoint.body();
        let signature = self.key.sign(body.as_bytes()).to_bytes();
        let key_id = self.public_key().key_id(&checkpoint.origin);
        Ok(SignedCheckpoint {
            checkpoint,
            key_id,
            signature,
            other_signatures: Vec::new(),
        })
    }
}

/// Checks that `signed` carries a valid Ed25519 signature by `key` (strict
/// verification: no malleable signatures, no weak keys) under the key name
/// `signed.checkpoint.origin`.
pub fn verify(signed: &SignedCheckpoint, key: &PublicKey) -> Result<(), CheckpointError> {
    let name = &signed.checkpoint.origin;
    let expected = key.key_id(name);
    if expected != signed.key_id {
        return Err(CheckpointError::KeyMismatch {
            name: name.clone(),
            expected: hex::encode(expected),
            found: hex::encode(signed.key_id),
        });
    }
    let sig = Signature::from_bytes(&signed.signature);
    key.0
        .verify_strict(signed.checkpoint.body().as_bytes(), &sig)
        .map_err(|_| CheckpointError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::EMPTY_ROOT;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn signer() -> Signer {
        Signer::from_bytes(&[7u8; 32])
    }

    fn cp(size: u64) -> Checkpoint {
        Checkpoint {
            origin: "gatehouse.example/audit".into(),
            size,
            root: crate::merkle::leaf_hash(&size.to_be_bytes()),
            timestamp: Utc.with_ymd_and_hms(2026, 4, 20, 12, 0, 0).unwrap(),
        }
    }

    #[test]
    fn round_trip_and_verify() {
        let s = signer();
        let signed = s.sign(cp(1234)).unwrap();
        let text = signed.to_text();
        assert!(text.starts_with("gatehouse.example/audit\n1234\n"));
        assert!(text.contains("\n2026-04-20T12:00:00Z\n\n\u{2014} gatehouse.example/audit "));
        let parsed = SignedCheckpoint::parse(&text).unwrap();
        assert_eq!(parsed, signed);
        assert_eq!(parsed.to_text(), text);
        verify(&parsed, &s.public_key()).unwrap();
        assert_eq!(parsed.key_id_hex().len(), 8);
    }

    #[test]
    fn fractional_timestamps_round_trip() {
        let s = signer();
        for nanos in [0u32, 1_000_000, 123_456_000, 123_456_789] {
            let mut c = cp(1);
            c.timestamp = Utc.timestamp_opt(1_776_686_400, nanos).unwrap();
            let signed = s.sign(c).unwrap();
            let parsed = SignedCheckpoint::parse(&signed.to_text()).unwrap();
            assert_eq!(parsed, signed);
            verify(&parsed, &s.public_key()).unwrap();
        }
    }

    #[test]
    fn wrong_key_and_altered_text_fail() {
        let s = signer();
        let other = Signer::from_bytes(&[8u8; 32]);
        let signed = s.sign(cp(10)).unwrap();
        assert!(matches!(
            verify(&signed, &other.public_key()),
            Err(CheckpointError::KeyMismatch { .. })
        ));

        // Same key ID, different body: the signature no longer matches.
        let mut forged = signed.clone();
        forged.checkpoint.size = 11;
        assert_eq!(
            verify(&forged, &s.public_key()),
            Err(CheckpointError::BadSignature)
        );
        let text = signed.to_text().replacen("\n10\n", "\n11\n", 1);
        let parsed = SignedCheckpoint::parse(&text).unwrap();
        assert_eq!(
            verify(&parsed, &s.public_key()),
            Err(CheckpointError::BadSignature)
        );

        let mut flipped = signed.clone();
        flipped.signature[5] ^= 1;
        assert_eq!(
            verify(&flipped, &s.public_key()),
            Err(CheckpointError::BadSignature)
        );
    }

    #[test]
    fn key_id_and_verifier_key() {
        let s = signer();
        let pk = s.public_key();
        let name = "gatehouse.example/audit";
        let vkey = pk.verifier_key(name);
        let (n, k) = PublicKey::parse_verifier_key(&vkey).unwrap();
        assert_eq!(n, name);
        assert_eq!(k, pk);
        assert!(PublicKey::parse_verifier_key(&vkey.replacen(name, "other.example", 1)).is_err());
        assert_eq!(PublicKey::from_hex(&pk.to_hex()).unwrap(), pk);
        assert_eq!(
            Signer::from_hex(&hex::encode(s.to_bytes()))
                .unwrap()
                .public_key(),
            pk
        );
        // The key ID is the signed-note one, bound to the name.
        let mut input = name.as_bytes().to_vec();
        input.push(b'\n');
        input.push(1);
        input.extend_from_slice(&pk.to_bytes());
        assert_eq!(pk.key_id(name), Sha256::digest(&input)[..4]);
        assert_ne!(pk.key_id(name), pk.key_id("other"));
    }

    #[test]
    fn generated_keys_differ() {
        let (a, b) = (Signer::generate(), Signer::generate());
        assert_ne!(a.public_key(), b.public_key());
        assert!(!format!("{a:?}").contains(&hex::encode(a.to_bytes())));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(PublicKey::from_hex("zz").is_err());
        assert!(PublicKey::from_bytes(&[0u8; 32]).is_err()); // small order
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(PublicKey::from_bytes(&identity).is_err());
        assert!(Signer::from_hex("abc").is_err());
    }

    #[test]
    fn signing_refuses_bad_origins() {
        let s = signer();
        for origin in ["", "a b", "a+b", "a\nb"] {
            let mut c = cp(1);
            c.origin = origin.into();
            assert!(
                matches!(s.sign(c), Err(CheckpointError::Origin { .. })),
                "{origin:?}"
            );
        }
    }

    #[test]
    fn other_signatures_are_kept() {
        let s = signer();
        let w = Signer::from_bytes(&[9u8; 32]);
        let signed = s.sign(cp(5)).unwrap();
        let body = signed.checkpoint.body();
        let mut blob = w.public_key().key_id("witness.example").to_vec();
        blob.extend_from_slice(&w.key.sign(body.as_bytes()).to_bytes());
        let witness_line = format!("\u{2014} witness.example {}", B64.encode(&blob));
        // Witness line first: the log's line is still found by name.
        let text = signed.to_text();
        let (head, log_line) = text.split_at(body.len() + 1);
        let text2 = format!("{head}{witness_line}\n{log_line}");
        let parsed = SignedCheckpoint::parse(&text2).unwrap();
        assert_eq!(parsed.other_signatures, vec![witness_line.clone()]);
        verify(&parsed, &s.public_key()).unwrap();
        assert_eq!(SignedCheckpoint::parse(&parsed.to_text()).unwrap(), parsed);
    }

    #[test]
    fn malformed_texts_are_rejected_with_clear_errors() {
        let s = signer();
        let good = s.sign(cp(42)).unwrap().to_text();
        let root_b64 = B64.encode(cp(42).root);
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "newline"),
            (good.trim_end().to_owned(), "newline"),
            (good.replace("\n\n", "\n"), "signature lines"),
            (cp(42).body() + "\n", "signature lines"),
            (good.replacen("\n42\n", "\n042\n", 1), "tree size"),
            (good.replacen("\n42\n", "\n+42\n", 1), "tree size"),
            (good.replacen("\n42\n", "\n-1\n", 1), "tree size"),
            (
                good.replacen("\n42\n", "\n99999999999999999999999\n", 1),
                "tree size",
            ),
            (good.replacen(&root_b64, "AAAA", 1), "32 bytes"),
            (good.replacen(&root_b64, "!!!", 1), "base64"),
            (
                good.replacen("2026-04-20T12:00:00Z", "2026-04-20 12:00:00", 1),
                "RFC 3339",
            ),
            (
                good.replacen("2026-04-20T12:00:00Z", "2026-04-20T13:00:00+01:00", 1),
                "canonical",
            ),
            (
                good.replacen("2026-04-20T12:00:00Z\n", "", 1),
                "4 non-empty lines",
            ),
            (
                good.replacen("2026-04-20T12:00:00Z\n", "2026-04-20T12:00:00Z\nextra\n", 1),
                "4 non-empty",
            ),
            (
                good.replacen("gatehouse.example/audit\n", "gatehouse example\n", 1),
                "origin",
            ),
            (good.replacen("\u{2014} ", "-- ", 1), "em dash"),
            (
                good.replacen(
                    "\u{2014} gatehouse.example/audit ",
                    "\u{2014} other.example ",
                    1,
                ),
                "no Ed25519",
            ),
            (
                good.replacen(
                    "\u{2014} gatehouse.example/audit ",
                    "\u{2014} gatehouse.example/audit",
                    1,
                ),
                "expected",
            ),
            (good.replacen("\n42\n", "\n4\r2\n", 1), "control character"),
            ("x".repeat(MAX_TEXT_BYTES + 1), "at most"),
            (
                format!("{}\n{}", cp(1).body(), "\u{2014} a AAAAAAA=\n".repeat(101)),
                "too many",
            ),
            (format!("{}\n\u{2014} a AA==\n", cp(1).body()), "shorter"),
        ];
        for (text, want) in cases {
            let err = SignedCheckpoint::parse(&text).expect_err(&text);
            let msg = err.to_string();
            assert!(
                msg.contains(want),
                "{text:?}: got {msg:?}, want something with {want:?}"
            );
        }
    }

    #[test]
    fn empty_tree_checkpoint() {
        let s = signer();
        let mut c = cp(0);
        c.root = EMPTY_ROOT;
        let signed = s.sign(c).unwrap();
        let parsed = SignedCheckpoint::parse(&signed.to_text()).unwrap();
        verify(&parsed, &s.public_key()).unwrap();
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,400}") {
            let _ = SignedCheckpoint::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_mutations(
            size in any::<u64>(),
            edits in proptest::collection::vec((any::<usize>(), any::<char>()), 0..6),
            cut in any::<usize>(),
        ) {
            let good = signer().sign(cp(size)).unwrap().to_text();
            let mut chars: Vec<char> = good.chars().collect();
            for (at, c) in edits {
                let i = at % chars.len();
                chars[i] = c;
            }
            let mutated: String = chars.iter().collect();
            if let Ok(parsed) = SignedCheckpoint::parse(&mutated) {
                // Anything accepted re-renders to a parseable text.
                let again = SignedCheckpoint::parse(&parsed.to_text());
                prop_assert_eq!(again.as_ref(), Ok(&parsed));
            }
            let end = mutated.char_indices().nth(cut % (mutated.chars().count() + 1)).map_or(mutated.len(), |(i, _)| i);
            let _ = SignedCheckpoint::parse(&mutated[..end]);
        }

        #[test]
        fn any_accepted_text_verifies_only_if_unchanged(size in any::<u64>(), at in any::<usize>(), bit in 0u8..7) {
            let s = signer();
            let good = s.sign(cp(size)).unwrap().to_text();
            let mut bytes = good.clone().into_bytes();
            let i = at % bytes.len();
            bytes[i] ^= 1 << bit;
            if let Ok(text) = String::from_utf8(bytes)
                && text != good
                && let Ok(parsed) = SignedCheckpoint::parse(&text)
            {
                // A parsed variant either is the same checkpoint with another
                // spelling of the signature line, or must fail to verify.
                let same_body = parsed.checkpoint.body() == cp(size).body();
                let same_sig = parsed.signature == s.sign(cp(size)).unwrap().signature;
                if !(same_body && same_sig) {
                    prop_assert!(verify(&parsed, &s.public_key()).is_err());
                }
            }
        }
    }
}
