//! `gatehouse consumer …`: register consumer systems and issue their keys.
//! A key is shown once, when it is made; only its hash is kept.

use crate::staff_identity::{StaffIdentityArgs, describe};
use clap::Subcommand;
use gatehouse_domain::{OrgType, Scope};
use gatehouse_policy::Agreement;
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
        /// An agreement template: prison-wing, prison-healthcare, escort-contractor, information-governance, prison-feed.
        #[arg(
            long,
            conflicts_with = "agreement",
            required_unless_present = "agreement"
        )]
        template: Option<String>,
        /// An agreement of its own: a Cedar file, validated against the Gatehouse schema.
        #[arg(long)]
        agreement: Option<std::path::PathBuf>,
        /// With --agreement: the organisation type (prison, health, escort, governance).
        #[arg(long, requires = "agreement")]
        org_type: Option<String>,
        /// Establishments it serves: `LEI,MDI`, or `*` for all.
        #[arg(long)]
        establishments: String,
        #[command(flatten)]
        staff: StaffIdentityArgs,
    },
    /// Set how a consumer's signed staff assertions are verified (issuer, audience, keys),
    /// or with --clear stop it naming staff users. Applies from its next request.
    SetStaffIdentity {
        name: String,
        #[command(flatten)]
        staff: StaffIdentityArgs,
        /// Remove the consumer's staff identity: it can no longer name a staff user.
        #[arg(long, conflicts_with = "staff_issuer")]
        clear: bool,
    },
    /// Replace a consumer's agreement. It applies from the consumer's next request: no restart.
    SetAgreement {
        name: String,
        #[arg(
            long,
            conflicts_with = "agreement",
            required_unless_present = "agreement"
        )]
        template: Option<String>,
        #[arg(long)]
        agreement: Option<std::path::PathBuf>,
    },
    /// Print a consumer's agreement.
    ShowAgreement { name: String },
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
            agreement,
            org_type,
            establishments,
            staff,
        } => {
            let staff = staff.resolve()?;
            let (agreement, org) = resolve_agreement(t.as_deref(), agreement.as_deref())?;
            let org = match (org, org_type) {
                (Some(o), _) => o,
                (None, Some(raw)) => OrgType::parse(&raw)?,
                (None, None) => anyhow::bail!(
                    "with --agreement, give --org-type (prison, health, escort or governance)"
                ),
            };
            let name = name.trim().to_owned();
            if name.is_empty() || name.len() > 100 || name.chars().any(|c| c.is_control()) {
                anyhow::bail!("the name must be 1–100 printable characters");
            }
            let scope = Scope::parse(&establishments)?;
            let key = issue_key();
            let new = NewConsumer {
                name,
                org_type: org,
                agreement: agreement.name.clone(),
                agreement_text: agreement.text.to_string(),
                scope,
            };
            let c = store.create_consumer(&new, &key.stored).await?;
            if let Some(identity) = &staff {
                store.set_staff_identity(&c.name, Some(identity)).await?;
            }
            println!(
                "consumer {} ({}, template {}) added; {}",
                c.name,
                c.org_type.as_str(),
                c.agreement,
                describe(staff.as_ref())
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
                    "{:<20} {:<11} {:<24} {:<20} {:<8} {}",
                    c.name,
                    c.org_type.as_str(),
                    c.agreement,
                    scope,
                    state,
                    describe(c.staff_identity.as_deref())
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
        ConsumerCommand::SetAgreement {
            name,
            template: t,
            agreement,
        } => {
            let (agreement, _) = resolve_agreement(t.as_deref(), agreement.as_deref())?;
            if store
                .set_agreement(&name, &agreement.name, &agreement.text)
                .await?
            {
                println!(
                    "agreement of {name} is now {} ({}); it applies from the next request",
                    agreement.name,
                    &agreement.hash[..12]
                );
            } else {
                anyhow::bail!("no active consumer named {name}");
            }
        }
        ConsumerCommand::SetStaffIdentity { name, staff, clear } => {
            let identity = if clear {
                None
            } else {
                Some(staff.resolve()?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "give --staff-issuer (with --staff-audience and keys), or --clear"
                    )
                })?)
            };
            if !store.set_staff_identity(&name, identity.as_ref()).await? {
                anyhow::bail!("no active consumer named {name}");
            }
            println!(
                "consumer {name}: {}; it applies from the next request",
                describe(identity.as_ref())
            );
        }
        ConsumerCommand::ShowAgreement { name } => {
            let c = store
                .list_consumers()
                .await?
                .into_iter()
                .find(|c| c.name == name)
                .ok_or_else(|| anyhow::anyhow!("no consumer named {name}"))?;
            let text = if c.agreement_text.is_empty() {
                template(&c.agreement)
                    .map(|t| t.text.to_owned())
                    .unwrap_or_default()
            } else {
                c.agreement_text
            };
            println!(
                "// agreement {} of consumer {}\n{text}",
                c.agreement, c.name
            );
        }
        ConsumerCommand::Templates => unreachable!("handled above"),
    }
    Ok(())
}

/// The agreement to install: a template by name, or a Cedar file, validated
/// against the schema either way (an invalid one is refused with the validator's message).
fn resolve_agreement(
    template_name: Option<&str>,
    file: Option<&std::path::Path>,
) -> anyhow::Result<(Agreement, Option<OrgType>)> {
    let (agreement, org) = match (template_name, file) {
        (Some(t), _) => {
            let tpl = template(t).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown template '{t}'; one of: {}",
                    TEMPLATES
                        .iter()
                        .map(|t| t.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            (Agreement::new(tpl.name, tpl.text), Some(tpl.org_type))
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            (Agreement::new("custom", &text), None)
        }
        (None, None) => anyhow::bail!("give --template or --agreement"),
    };
    agreement.compile()?;
    Ok((agreement, org))
}
