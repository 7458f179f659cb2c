//! `gatehouse audit …`: check the disclosure audit offline, and tell a person
//! who saw their record.

use clap::{Subcommand, ValueEnum};
use gatehouse_audit::checkpoint::{PublicKey, SignedCheckpoint};
use gatehouse_domain::PrisonNumber;
use gatehouse_server::audit::Disclosure;
use gatehouse_server::audit::verify::VerifyOptions;
use gatehouse_store::PageRequest;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute every leaf hash, the hash chain and every signed checkpoint;
    /// name the first altered, deleted, inserted or reordered record.
    Verify {
        /// The checkpoint public key (hex). Default: derived from the signing key
        /// (GATEHOUSE_AUDIT_SIGNING_KEY, or the key file). Repeat it for each key
        /// the log was signed with across rotations.
        #[arg(long = "public-key")]
        public_keys: Vec<String>,
        /// The signing key file, to derive the public key from.
        #[arg(long)]
        audit_key: Option<PathBuf>,
        /// Checkpoint notes held outside the database (a witness's
        /// `checkpoints/*.note`): the log must extend every one; the first
        /// record that breaks one is named (or the range it is in).
        #[arg(long, num_args = 1..)]
        witnessed: Vec<PathBuf>,
        /// The checkpoint cadence the server ran with: no record may wait longer
        /// than this plus --cadence-grace for a signed checkpoint, and records
        /// after the last checkpoint must be younger. `off` skips the rule (a log
        /// written before checkpoints were signed every second).
        #[arg(long, default_value = "1s")]
        cadence: String,
        /// Slack on top of --cadence for a busy server (polling, commit).
        #[arg(long, default_value = "5s", value_parser = crate::witness::parse_duration)]
        cadence_grace: std::time::Duration,
    },
    /// Witness the log as the other organisation: fetch the signed checkpoint,
    /// check it against the pinned public key and the held one (consistency
    /// proof), keep it. Exit status 2, with one line saying why, on a bad
    /// signature, a rollback or a fork. Needs no database.
    Witness(crate::witness::WitnessArgs),
    /// Who saw a person's record: when, why and on what basis, in plain words.
    Report {
        #[arg(long)]
        person: String,
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Html,
}

pub async fn run(url: String, cmd: AuditCommand) -> anyhow::Result<()> {
    if let AuditCommand::Witness(args) = cmd {
        return crate::witness::run(args).await;
    }
    let store = gatehouse_store::connect(&url).await?;
    store.migrate().await?;
    match cmd {
        AuditCommand::Witness(_) => unreachable!("handled above"),
        AuditCommand::Verify {
            public_keys,
            audit_key,
            witnessed,
            cadence,
            cadence_grace,
        } => {
            let mut keys = public_keys
                .iter()
                .map(|k| PublicKey::from_hex(k))
                .collect::<Result<Vec<_>, _>>()?;
            if keys.is_empty() {
                let signer = match gatehouse_server::audit::checkpoints::signer_from_env()? {
                    Some(s) => s,
                    None => {
                        let config = gatehouse_server::ServerConfig {
                            database_url: url.clone(),
                            audit_key,
                            ..Default::default()
                        };
                        gatehouse_server::audit::checkpoints::load_existing_key(
                            &config.audit_key_path(),
                        )?
                    }
                };
                keys.push(signer.public_key());
            }
            let mut options = VerifyOptions::new(keys[0]);
            options.keys = keys;
            for path in &witnessed {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
                let cp = SignedCheckpoint::parse(&text).map_err(|e| {
                    anyhow::anyhow!("{} is not a checkpoint note: {e}", path.display())
                })?;
                options.witnessed.push(cp);
            }
            options.cadence = match cadence.as_str() {
                "off" => None,
                c => Some(
                    crate::witness::parse_duration(c)
                        .map_err(|e| anyhow::anyhow!("--cadence: {e}"))?
                        + cadence_grace,
                ),
            };
            let started = std::time::Instant::now();
            match gatehouse_server::audit::verify::verify_store_with(store.as_ref(), &options).await
            {
                Ok(report) => {
                    let secs = started.elapsed().as_secs_f64();
                    println!(
                        "audit verified: {} records, {} signed checkpoints ({} witnessed given), root {} ({:.2}s, {:.0} records/s)",
                        report.records,
                        report.checkpoints_verified,
                        witnessed.len(),
                        hex::encode(report.root),
                        secs,
                        report.records as f64 / secs.max(1e-9)
                    );
                    Ok(())
                }
                Err(e) => anyhow::bail!("audit verification FAILED: {e}"),
            }
        }
        AuditCommand::Report { person, format } => {
            let pn = PrisonNumber::parse(&person)?;
            let mut rows = Vec::new();
            let mut page = PageRequest::first(500);
            loop {
                let p = store.audit_for_person(&pn, &page).await?;
                for r in &p.items {
                    rows.push(serde_json::from_str::<Disclosure>(&r.content)?);
                }
                match p
                    .next_cursor
                    .as_deref()
                    .and_then(gatehouse_store::Cursor::decode)
                {
                    Some(c) => {
                        page = PageRequest {
                            after: Some(c),
                            limit: 500,
                        }
                    }
                    None => break,
                }
            }
            print!("{}", crate::report::render(&pn, &rows, format));
            Ok(())
        }
    }
}
