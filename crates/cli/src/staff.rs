//! `gatehouse staff …`: local accounts for the staff web pages.
//! Only an argon2id hash of each password is kept; a generated password is
//! printed once.

use clap::Subcommand;
use gatehouse_domain::Scope;
use gatehouse_server::http::web::session::{check_new_password, generate_password, hash_password};
use gatehouse_store::{NewStaffUser, StaffRole, Store};
use std::io::BufRead;

#[derive(Subcommand)]
pub enum StaffCommand {
    /// Add a staff account. Without --password-stdin a password is generated and printed once.
    Add {
        /// Lower-case letters, digits, dots, hyphens and underscores, e.g. officer.leeds.
        #[arg(long)]
        username: String,
        /// officer, healthcare, ig-lead or admin.
        #[arg(long)]
        role: String,
        /// Establishments whose people the user's pages show: `LEI,MDI`, or `*` for all.
        #[arg(long)]
        establishments: String,
        /// The name shown on pages (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input (at least 12 characters).
        #[arg(long)]
        password_stdin: bool,
        /// The OpenID Connect provider's subject identifier (`sub`) for this person,
        /// so they can sign in through the provider.
        #[arg(long)]
        oidc_subject: Option<String>,
    },
    /// List staff accounts (never their passwords).
    List,
    /// Link an account to the OpenID Connect provider's subject identifier (or --unlink it).
    LinkOidc {
        username: String,
        /// The provider's `sub` for this person.
        #[arg(long, required_unless_present = "unlink", conflicts_with = "unlink")]
        subject: Option<String>,
        #[arg(long)]
        unlink: bool,
    },
    /// Print a signed staff assertion for a demo consumer (the demo's published
    /// key: demo databases only), to send as `Gatehouse-Staff-Assertion`.
    DemoAssertion {
        /// A demo consumer, e.g. lei-health.
        #[arg(long)]
        consumer: String,
        /// The staff user it names, e.g. nurse.leeds.
        #[arg(long)]
        user: String,
        /// How long it is valid, in seconds (at most 3600).
        #[arg(long, default_value_t = 900)]
        lifetime: u64,
    },
}

/// An OpenID Connect subject: 1–255 printable characters (OpenID Connect Core §2).
pub fn check_subject(raw: &str) -> anyhow::Result<String> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 255 || s.chars().any(char::is_control) {
        anyhow::bail!("the OpenID Connect subject must be 1–255 printable characters");
    }
    Ok(s.to_owned())
}

/// A username: 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn check_username(raw: &str) -> anyhow::Result<String> {
    let u = raw.trim();
    let ok = !u.is_empty()
        && u.len() <= 64
        && u.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && u.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if !ok {
        anyhow::bail!(
            "the username must be 1–64 lower-case letters, digits, dots, hyphens or underscores"
        );
    }
    Ok(u.to_owned())
}

/// Creates an account with this password (already chosen).
pub async fn add_user(
    store: &dyn Store,
    username: &str,
    display_name: &str,
    role: StaffRole,
    establishments: Scope,
    password: &str,
) -> anyhow::Result<()> {
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await??;
    store
        .create_staff_user(&NewStaffUser {
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            role,
            establishments,
            password_hash: hash,
        })
        .await?;
    Ok(())
}

pub async fn run(url: String, cmd: StaffCommand) -> anyhow::Result<()> {
    if let StaffCommand::DemoAssertion {
        consumer,
        user,
        lifetime,
    } = &cmd
    {
        // Needs no database: the demo's keys are derived from the consumer's name.
        if !crate::demo::DEMO_CONSUMERS
            .iter()
            .any(|(n, _, _)| n == consumer)
        {
            anyhow::bail!("{consumer} is not a demo consumer");
        }
        if *lifetime == 0 || *lifetime > gatehouse_server::staff_assertion::MAX_ASSERTION_LIFETIME {
            anyhow::bail!("--lifetime must be 1–3600 seconds");
        }
        let (signer, identity) = crate::demo::demo_staff_identity(consumer);
        println!(
            "{}",
            signer.assertion(&identity.issuer, &identity.audience, user.trim(), *lifetime)
        );
        return Ok(());
    }
    let store = gatehouse_store::connect(&url).await?;
    store.migrate().await?;
    match cmd {
        StaffCommand::Add {
            username,
            role,
            establishments,
            display_name,
            password_stdin,
            oidc_subject,
        } => {
            let username = check_username(&username)?;
            let oidc_subject = oidc_subject.as_deref().map(check_subject).transpose()?;
            let role = StaffRole::parse(&role)?;
            let scope = Scope::parse(&establishments)?;
            let display = display_name
                .map(|d| d.trim().to_owned())
                .unwrap_or_else(|| username.clone());
            if display.is_empty()
                || display.chars().count() > 100
                || display.chars().any(char::is_control)
            {
                anyhow::bail!("the display name must be 1–100 printable characters");
            }
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                let p = line.trim_end_matches(['\n', '\r']).to_owned();
                check_new_password(&p).map_err(|e| anyhow::anyhow!("the password {e}"))?;
                (p, false)
            } else {
                (generate_password(), true)
            };
            add_user(
                store.as_ref(),
                &username,
                &display,
                role,
                scope.clone(),
                &password,
            )
            .await?;
            if let Some(subject) = &oidc_subject {
                store.set_oidc_subject(&username, Some(subject)).await?;
            }
            println!(
                "staff user {username} ({}, {}) added",
                role.as_str(),
                scope.to_codes().join(",")
            );
            if generated {
                println!("password (shown once; give it to the user): {password}");
            }
        }
        StaffCommand::List => {
            for u in store.list_staff_users().await? {
                println!(
                    "{:<24} {:<11} {:<20} {:<30} {:<8} {}",
                    u.username,
                    u.role.as_str(),
                    u.establishments.to_codes().join(","),
                    u.display_name,
                    if u.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "active"
                    },
                    if u.oidc_subject.is_some() {
                        "oidc: linked"
                    } else {
                        "oidc: -"
                    }
                );
            }
        }
        StaffCommand::LinkOidc {
            username,
            subject,
            unlink,
        } => {
            let subject = if unlink {
                None
            } else {
                subject.as_deref().map(check_subject).transpose()?
            };
            if !store
                .set_oidc_subject(&username, subject.as_deref())
                .await?
            {
                anyhow::bail!("no staff user named {username}");
            }
            match subject {
                Some(_) => println!(
                    "staff user {username} may now sign in through the OpenID Connect provider"
                ),
                None => println!(
                    "staff user {username} is no longer linked to the OpenID Connect provider"
                ),
            }
        }
        StaffCommand::DemoAssertion { .. } => unreachable!("handled above"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_plain() {
        assert_eq!(check_username(" officer.leeds ").unwrap(), "officer.leeds");
        assert!(check_username("").is_err());
        assert!(check_username("Officer").is_err());
        assert!(check_username(".x").is_err());
        assert!(check_username("a b").is_err());
    }
}
