//! `gatehouse audit witness`: what the *other* organisation runs to hold
//! Gatehouse to its audit log.
//!
//! Each round: take the log's latest signed checkpoint (from the server, or
//! from a note a webhook or pull-feed page carried), check its signature
//! with the pinned public key, check that it extends the checkpoint held in
//! the state directory (consistency proof from the server), then keep it.
//! A bad signature, a rollback or a fork ends the command with exit status
//! 2 and one line saying why; it never overwrites the held checkpoint.
//!
//! State directory: `latest.note` (the held checkpoint, written atomically:
//! temporary file, fsync, rename) and `checkpoints/<size>.note`, every
//! checkpoint accepted, for `gatehouse audit verify --witnessed` (the more
//! are held, the narrower the range it can name after a rewrite).

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Args;
use gatehouse_audit::checkpoint::{PublicKey, SignedCheckpoint};
use gatehouse_audit::merkle::Hash;
use gatehouse_audit::witness::{Breach, Proof, check_extends};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args)]
pub struct WitnessArgs {
    /// The Gatehouse server, e.g. https://gatehouse.example.
    #[arg(long)]
    url: Option<String>,
    /// The witnessing organisation's Gatehouse API key (any consumer: the
    /// checkpoint and consistency endpoints hold hashes only).
    #[arg(long, env = "GATEHOUSE_WITNESS_API_KEY", hide_env_values = true)]
    key: Option<String>,
    /// The log's checkpoint public key (64 hex digits), pinned: obtained
    /// once, out of band, from the operator. Repeat it across a key
    /// rotation to accept notes by the old and the new key.
    #[arg(long = "public-key", required = true)]
    public_keys: Vec<String>,
    /// The directory holding what this witness has seen (created if absent).
    #[arg(long)]
    state: PathBuf,
    /// Witness this note instead of fetching one: a file holding the signed
    /// note, as text or base64 (the `Gatehouse-Audit-Checkpoint` header of a
    /// webhook delivery or pull-feed page); `-` for standard input. A larger
    /// note still needs --url and --key for the consistency proof.
    #[arg(long)]
    note: Option<PathBuf>,
    /// Compare with another witness's notes (their `latest.note`), without
    /// keeping them: a fork shown to two witnesses is found here.
    #[arg(long = "peer")]
    peers: Vec<PathBuf>,
    /// Keep witnessing, once every this long (e.g. 60s, 5m); without it, one round.
    #[arg(long, value_parser = parse_duration)]
    every: Option<Duration>,
}

/// `500ms`, `60s`, `5m`, `1h`, or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit, e.g. 1s, 500ms, 5m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("{s:?}: the unit must be ms, s, m or h")),
    }
}

/// The outcome of a round that is not success.
enum Failure {
    /// The log misbehaved: exit 2.
    Breach(String),
    /// The witness could not do its job this round (network, files): exit 1,
    /// or try again next round.
    Trouble(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Trouble(e)
    }
}

pub async fn run(args: WitnessArgs) -> anyhow::Result<()> {
    let keys = args
        .public_keys
        .iter()
        .map(|k| PublicKey::from_hex(k).map_err(|e| anyhow::anyhow!("--public-key: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    std::fs::create_dir_all(args.state.join("checkpoints"))
        .with_context(|| format!("creating the state directory {}", args.state.display()))?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    loop {
        match round(&args, &keys, &http).await {
            Ok(line) => println!("{line}"),
            Err(Failure::Breach(why)) => {
                eprintln!("{why}");
                std::process::exit(2);
            }
            Err(Failure::Trouble(e)) if args.every.is_some() => {
                eprintln!("witness round failed (will try again): {e:#}")
            }
            Err(Failure::Trouble(e)) => return Err(e),
        }
        match args.every {
            Some(every) => tokio::time::sleep(every).await,
            None => return Ok(()),
        }
    }
}

async fn round(
    args: &WitnessArgs,
    keys: &[PublicKey],
    http: &reqwest::Client,
) -> Result<String, Failure> {
    let held_path = args.state.join("latest.note");
    let held = match std::fs::read_to_string(&held_path) {
        Ok(text) => {
            let cp = parse_note(&text).context("the held checkpoint does not parse")?;
            check_signature(&cp, keys).map_err(|e| {
                anyhow::anyhow!(
                    "the held checkpoint {} does not verify: {e}",
                    held_path.display()
                )
            })?;
            Some(cp)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Failure::Trouble(e.into())),
    };

    // Peers first: their notes are only compared.
    for peer in &args.peers {
        let text = std::fs::read_to_string(peer)
            .with_context(|| format!("reading the peer note {}", peer.display()))?;
        let theirs = parse_note(&text)?;
        check_signature(&theirs, keys).map_err(|e| {
            Failure::Breach(format!(
                "BAD SIGNATURE on the peer note {}: {e}",
                peer.display()
            ))
        })?;
        if let Some(mine) = &held {
            let (small, large) = if mine.checkpoint.size <= theirs.checkpoint.size {
                (mine, &theirs)
            } else {
                (&theirs, mine)
            };
            let proof = proof_between(args, http, small, large).await?;
            check_extends(&small.checkpoint, &large.checkpoint, proof.as_proof()).map_err(|b| {
                Failure::Breach(format!(
                    "{} (between this witness and the peer note {})",
                    b,
                    peer.display()
                ))
            })?;
        }
    }

    let shown = match &args.note {
        Some(path) => {
            let text = if path == Path::new("-") {
                std::io::read_to_string(std::io::stdin())
                    .context("reading the note from standard input")?
            } else {
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?
            };
            parse_note(&text)?
        }
        None => fetch_checkpoint(args, http).await?,
    };
    check_signature(&shown, keys).map_err(|e| Failure::Breach(format!("BAD SIGNATURE: {e}")))?;
    let size = shown.checkpoint.size;
    let Some(held) = held else {
        keep(&args.state, &shown)?;
        return Ok(format!(
            "first checkpoint held: size {size}, root {} (trusted on first sight)",
            B64.encode(shown.checkpoint.root)
        ));
    };
    let proof = proof_between(args, http, &held, &shown).await?;
    check_extends(&held.checkpoint, &shown.checkpoint, proof.as_proof())
        .map_err(|b: Breach| Failure::Breach(b.to_string()))?;
    if size > held.checkpoint.size {
        keep(&args.state, &shown)?;
    }
    Ok(format!(
        "consistent: checkpoint {size} extends the held {}; root {}",
        held.checkpoint.size,
        B64.encode(shown.checkpoint.root)
    ))
}

/// A note as text, or base64 of it (as the header carries it).
fn parse_note(text: &str) -> anyhow::Result<SignedCheckpoint> {
    let trimmed = text.trim();
    let decoded = if !trimmed.contains('\n') {
        B64.decode(trimmed)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    } else {
        None
    };
    let text = decoded.as_deref().unwrap_or(text);
    SignedCheckpoint::parse(text)
        .map_err(|e| anyhow::anyhow!("the checkpoint note does not parse: {e}"))
}

fn check_signature(cp: &SignedCheckpoint, keys: &[PublicKey]) -> Result<(), String> {
    let key = keys
        .iter()
        .find(|k| k.key_id(&cp.checkpoint.origin) == cp.key_id)
        .unwrap_or(&keys[0]);
    cp.verify(key).map_err(|e| e.to_string())
}

enum Fetched {
    Proof(Vec<Hash>),
    Refused(String),
}

impl Fetched {
    fn as_proof(&self) -> Proof<'_> {
        match self {
            Self::Proof(p) => Proof::Given(p),
            Self::Refused(why) => Proof::Refused(why.clone()),
        }
    }
}

fn server(args: &WitnessArgs) -> anyhow::Result<(&str, &str)> {
    match (&args.url, &args.key) {
        (Some(u), Some(k)) => Ok((u.trim_end_matches('/'), k)),
        _ => anyhow::bail!(
            "--url and --key are needed to ask the log for its checkpoint or a consistency proof"
        ),
    }
}

async fn fetch_checkpoint(
    args: &WitnessArgs,
    http: &reqwest::Client,
) -> Result<SignedCheckpoint, Failure> {
    let (url, key) = server(args)?;
    let r = http
        .get(format!("{url}/v1/audit/checkpoint"))
        .bearer_auth(key)
        .send()
        .await
        .context("asking the log for its checkpoint")?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.context("reading the checkpoint answer")?;
    if !status.is_success() {
        return Err(Failure::Trouble(anyhow::anyhow!(
            "the log answered {status} for its checkpoint: {}",
            body["detail"].as_str().unwrap_or("")
        )));
    }
    let text = body["signed"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the checkpoint answer has no signed note"))?;
    Ok(parse_note(text)?)
}

/// The consistency proof from `small` to `large`; none is needed when the
/// sizes are equal or the smaller is empty, nor when `large` is smaller
/// (that is a rollback whatever the log says).
async fn proof_between(
    args: &WitnessArgs,
    http: &reqwest::Client,
    small: &SignedCheckpoint,
    large: &SignedCheckpoint,
) -> Result<Fetched, Failure> {
    let (m, n) = (small.checkpoint.size, large.checkpoint.size);
    if m == 0 || m >= n {
        return Ok(Fetched::Proof(Vec::new()));
    }
    let (url, key) = server(args)?;
    let r = http
        .get(format!("{url}/v1/audit/consistency?from={m}&to={n}"))
        .bearer_auth(key)
        .send()
        .await
        .context("asking the log for a consistency proof")?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    if status.is_server_error() || status == 401 || status == 403 {
        // Not an answer about the log's history: try again later.
        return Err(Failure::Trouble(anyhow::anyhow!(
            "the log answered {status} for a consistency proof"
        )));
    }
    if !status.is_success() {
        return Ok(Fetched::Refused(format!(
            "{status}: {}",
            body["detail"].as_str().unwrap_or("no detail")
        )));
    }
    let proof = body["proof"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| {
                    h.as_str()
                        .and_then(|h| hex::decode(h).ok())
                        .and_then(|b| <Hash>::try_from(b).ok())
                })
                .collect::<Option<Vec<_>>>()
        })
        .unwrap_or(None);
    Ok(match proof {
        Some(p) => Fetched::Proof(p),
        None => {
            Fetched::Refused("the proof in the answer is not a list of 32-byte hex hashes".into())
        }
    })
}

/// Keeps `cp` as the held checkpoint, and in the history.
fn keep(state: &Path, cp: &SignedCheckpoint) -> anyhow::Result<()> {
    let text = cp.to_text();
    let size = cp.checkpoint.size;
    write_atomically(
        &state.join("checkpoints").join(format!("{size:020}.note")),
        &text,
    )?;
    write_atomically(&state.join("latest.note"), &text)
}

/// Temporary file in the same directory, fsync, rename: a crash leaves the
/// old file or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
    }
}
