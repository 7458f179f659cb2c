//! `gatehouse consumer …`: register consumer systems and issue their keys.
//! A key is shown once, when it is made; only its hash is kept.

use clap::Subcommand;
use gatehouse_domain::Scope;
use gatehouse_policy::templates::{TEMPLATES, template};
use gatehouse_server::auth::issue_key;
use gatehouse_store::NewConsumer;

#[derive(Subcommand)]
pub enum ConsumerCommand {
    /// Register a consumer and print its API key (shown once).
    Add {
        /// A unique name, e.g. lei-health.
        #[arg(long)]
        name: String,
        /// The agreement template: prison-wing, prison-healthcare, escort-contractor, information-governance, prison-feed.
        #[arg(long)]
        template: String,
        /// Establishments it serves: `LEI,MDI`, or `*` for all.
        #[arg(long)]
        establishments: String,
    },
    /// List consumers (never their keys).
    List,
    /// Revoke a consumer and every key it holds.
    Revoke { name: String },
    /// Issue another key for a consumer (for rotation: add, switch, then revoke the old by revoking the consumer's keys).
    AddKey { name: String },
    /// List the agreement templates.
    Templates,
}

pub async fn run(url: String, cmd: ConsumerCommand) -> anyhow::Result<()> {
    if let ConsumerCommand::Templates = cmd {
        for t in TEMPLATES {
            println!("{:<24} {:<11} {}", t.name, t.org_type.as_str(), t.summary);
        }
        return Ok(());
    }
    let store = gatehouse_store::connect(&url).await?;
    store.migrate().await?;
    match cmd {
        ConsumerCommand::Add {
            name,
            template: t,
            establishments,
        } => {
            let tpl = template(&t).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown template '{t}'; one of: {}",
                    TEMPLATES
                        .iter()
                        .map(|t| t.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            let name = name.trim().to_owned();
            if name.is_empty() || name.len() > 100 || name.chars().any(|c| c.is_control()) {
                anyhow::bail!("the name must be 1–100 printable characters");
            }
            let scope = Scope::parse(&establishments)?;
            let key = issue_key();
            let c = store
                .create_consumer(
                    &NewConsumer {
                        name,
                        org_type: tpl.org_type,
                        agreement: tpl.name.into(),
                        scope,
                    },
                    &key.stored,
                )
                .await?;
            println!(
                "consumer {} ({}, template {}) added",
                c.name,
                c.org_type.as_str(),
                c.agreement
            );
            println!("API key (shown once; store it now): {}", key.secret);
        }
        ConsumerCommand::List => {
            for c in store.list_consumers().await? {
                let scope = c.scope.to_codes().join(",");
                let state = if c.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:<20} {:<11} {:<24} {:<20} {}",
                    c.name,
                    c.org_type.as_str(),
                    c.agreement,
                    scope,
                    state
                );
            }
        }
        ConsumerCommand::Revoke { name } => {
            if store.revoke_consumer(&name).await? {
                println!("consumer {name} revoked; its keys no longer work");
            } else {
                anyhow::bail!("no active consumer named {name}");
            }
        }
        ConsumerCommand::AddKey { name } => {
            let key = issue_key();
            store.add_key(&name, &key.stored).await?;
            println!("new API key for {name} (shown once): {}", key.secret);
        }
        ConsumerCommand::Templates => unreachable!("handled above"),
    }
    Ok(())
}
