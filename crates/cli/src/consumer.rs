//! `gatehouse consumer …`: register consumer systems and issue their keys.
//! A key is shown once, when it is made; only its hash is kept.

use crate::staff_identity::{StaffIdentityArgs, describe as describe_staff};
use clap::{Args, Subcommand};
use gatehouse_domain::{OrgType, Scope};
use gatehouse_policy::Agreement;
use gatehouse_policy::templates::{TEMPLATES, template};
use gatehouse_server::auth::issue_key;
use gatehouse_store::{ClientCertBinding, NewConsumer};

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
        cert: CertArgs,
        #[command(flatten)]
        staff: StaffIdentityArgs,
    },
    /// Bind a consumer to its TLS client certificate (replacing any binding), or --clear it.
    SetClientCert {
        name: String,
        #[command(flatten)]
        cert: CertArgs,
        /// Remove the binding and the requirement.
        #[arg(long, conflicts_with_all = ["client_cert_fingerprint", "client_cert_subject", "require_client_cert"])]
        clear: bool,
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

/// The client certificate a consumer is bound to (mutual TLS). Every part
/// given must match the certificate presented with the consumer's key.
#[derive(Args)]
pub struct CertArgs {
    /// SHA-256 fingerprint of the client certificate: hex, plain or colon-separated
    /// (as `openssl x509 -noout -fingerprint -sha256 -in client.pem` prints it).
    #[arg(long)]
    client_cert_fingerprint: Option<String>,
    /// Subject of the client certificate, RFC 4514: `CN=lei-health,O=HMP Leeds`.
    #[arg(long)]
    client_cert_subject: Option<String>,
    /// Refuse the consumer's key unless its bound certificate comes with it.
    #[arg(long)]
    require_client_cert: bool,
}

impl CertArgs {
    fn binding(&self) -> anyhow::Result<ClientCertBinding> {
        use gatehouse_server::client_cert::{parse_fingerprint, parse_subject};
        let binding = ClientCertBinding {
            sha256: self
                .client_cert_fingerprint
                .as_deref()
                .map(parse_fingerprint)
                .transpose()?,
            subject: self
                .client_cert_subject
                .as_deref()
                .map(parse_subject)
                .transpose()?,
            required: self.require_client_cert,
        };
        if binding.required && !binding.is_bound() {
            anyhow::bail!(
                "--require-client-cert needs the certificate: give --client-cert-fingerprint or --client-cert-subject"
            );
        }
        Ok(binding)
    }
}

/// How `consumer list` shows a binding.
fn describe(binding: &ClientCertBinding) -> String {
    let mut parts = vec![];
    if let Some(f) = &binding.sha256 {
        parts.push(format!("sha256={f}"));
    }
    if let Some(s) = &binding.subject {
        parts.push(format!("subject=\"{s}\""));
    }
    if parts.is_empty() {
        return "key only".into();
    }
    parts.push(
        if binding.required {
            "required"
        } else {
            "optional"
        }
        .into(),
    );
    format!("client cert {}", parts.join(" "))
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
            cert,
            staff,
        } => {
            let staff = staff.resolve()?;
            // Checked before anything is stored, so a bad flag adds nothing.
            let binding = cert.binding()?;
            if let Some(holder) = holder_of(&*store, &binding).await? {
                anyhow::bail!("that client certificate is already bound to consumer {holder}");
            }
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
            let audit = crate::operator::change("consumer", "add-consumer", &[]);
            let c = store.create_consumer(&new, &key.stored, &audit).await?;
            if let Some(identity) = &staff {
                store
                    .set_staff_identity(
                        &c.name,
                        Some(identity),
                        &crate::operator::change("consumer", "set-staff-identity", &[]),
                    )
                    .await?;
            }
            println!(
                "consumer {} ({}, template {}) added; {}",
                c.name,
                c.org_type.as_str(),
                c.agreement,
                describe_staff(staff.as_ref())
            );
            println!("API key (shown once; store it now): {}", key.secret);
            if binding.is_bound() {
                store
                    .set_client_cert(
                        &c.name,
                        &binding,
                        &crate::operator::change("consumer", "set-client-cert", &[]),
                    )
                    .await.map_err(|e| {
                    anyhow::anyhow!(
                        "consumer {} was added, but binding its client certificate failed ({e}); \
                         retry with `gatehouse consumer set-client-cert {}`",
                        c.name,
                        c.name
                    )
                })?;
                println!("{}", describe(&binding));
            }
        }
        ConsumerCommand::SetClientCert { name, cert, clear } => {
            let binding = if clear {
                ClientCertBinding::default()
            } else {
                let b = cert.binding()?;
                if !b.is_bound() {
                    anyhow::bail!(
                        "give --client-cert-fingerprint and/or --client-cert-subject, or --clear"
                    );
                }
                b
            };
            if !store
                .set_client_cert(
                    &name,
                    &binding,
                    &crate::operator::change("consumer", "set-client-cert", &[]),
                )
                .await?
            {
                anyhow::bail!("no active consumer named {name}");
            }
            println!(
                "{name}: {}; it applies from the next request",
                describe(&binding)
            );
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
                    format_args!(
                        "{} {}",
                        describe(&c.client_cert),
                        describe_staff(c.staff_identity.as_deref())
                    )
                );
            }
        }
        ConsumerCommand::Revoke { name } => {
            let audit = crate::operator::change("consumer", "revoke-consumer", &[]);
            if store.revoke_consumer(&name, &audit).await? {
                println!("consumer {name} revoked; its keys no longer work");
            } else {
                anyhow::bail!("no active consumer named {name}");
            }
        }
        ConsumerCommand::AddKey { name } => {
            let key = issue_key();
            let audit = crate::operator::change("consumer", "add-key", &[]);
            store.add_key(&name, &key.stored, &audit).await?;
            println!("new API key for {name} (shown once): {}", key.secret);
        }
        ConsumerCommand::SetAgreement {
            name,
            template: t,
            agreement,
        } => {
            let (agreement, _) = resolve_agreement(t.as_deref(), agreement.as_deref())?;
            if store
                .set_agreement(
                    &name,
                    &agreement.name,
                    &agreement.text,
                    &crate::operator::change("consumer", "set-agreement", &[]),
                )
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
            if !store
                .set_staff_identity(
                    &name,
                    identity.as_ref(),
                    &crate::operator::change("consumer", "set-staff-identity", &[]),
                )
                .await?
            {
                anyhow::bail!("no active consumer named {name}");
            }
            println!(
                "consumer {name}: {}; it applies from the next request",
                describe_staff(identity.as_ref())
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

/// The active consumer already bound to this certificate, if any.
async fn holder_of(
    store: &dyn gatehouse_store::Store,
    binding: &ClientCertBinding,
) -> anyhow::Result<Option<String>> {
    if !binding.is_bound() {
        return Ok(None);
    }
    // An empty fingerprint matches none stored (they are 64 hex digits).
    let sha256 = binding.sha256.as_deref().unwrap_or("");
    let active: Vec<String> = store
        .list_consumers()
        .await?
        .into_iter()
        .filter(|c| c.revoked_at.is_none())
        .map(|c| c.name)
        .collect();
    let held = store
        .consumers_by_client_cert(sha256, binding.subject.as_deref())
        .await?;
    Ok(held.into_iter().find(|h| active.contains(h)))
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
