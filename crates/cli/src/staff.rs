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
    },
    /// List staff accounts (never their passwords).
    List,
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
    let store = gatehouse_store::connect(&url).await?;
    store.migrate().await?;
    match cmd {
        StaffCommand::Add {
            username,
            role,
            establishments,
            display_name,
            password_stdin,
        } => {
            let username = check_username(&username)?;
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
                    "{:<24} {:<11} {:<20} {:<30} {}",
                    u.username,
                    u.role.as_str(),
                    u.establishments.to_codes().join(","),
                    u.display_name,
                    if u.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "active"
                    }
                );
            }
        }
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
