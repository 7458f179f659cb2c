//! `gatehouse audit …`: check the disclosure audit offline, and tell a person
//! who saw their record.

use clap::{Subcommand, ValueEnum};
use gatehouse_audit::checkpoint::PublicKey;
use gatehouse_domain::PrisonNumber;
use gatehouse_server::audit::Disclosure;
use gatehouse_store::PageRequest;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute every leaf hash, the hash chain and every signed checkpoint;
    /// name the first altered, deleted, inserted or reordered record.
    Verify {
        /// The checkpoint public key (hex). Default: derived from the signing key file beside the database.
        #[arg(long)]
        public_key: Option<String>,
        /// The signing key file, to derive the public key from.
        #[arg(long)]
        audit_key: Option<PathBuf>,
    },
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
    let store = gatehouse_store::connect(&url).await?;
    store.migrate().await?;
    match cmd {
        AuditCommand::Verify {
            public_key,
            audit_key,
        } => {
            let key = match public_key {
                Some(hex) => PublicKey::from_hex(&hex)?,
                None => {
                    let config = gatehouse_server::ServerConfig {
                        database_url: url.clone(),
                        audit_key,
                        ..Default::default()
                    };
                    let path = config.audit_key_path();
                    let signer = gatehouse_server::audit::checkpoints::load_existing_key(&path)?;
                    signer.public_key()
                }
            };
            let started = std::time::Instant::now();
            match gatehouse_server::audit::verify::verify_store(store.as_ref(), key).await {
                Ok(report) => {
                    let secs = started.elapsed().as_secs_f64();
                    println!(
                        "audit verified: {} records, {} signed checkpoints, root {} ({:.2}s, {:.0} records/s)",
                        report.records,
                        report.checkpoints_verified,
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
