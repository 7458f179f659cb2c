//! Staff accounts and sessions for the web pages.
//!
//! A staff user signs in with a local account (an argon2 password hash is
//! kept, never the password) and gets a session: a 256-bit random token in a
//! cookie, of which only the SHA-256 is stored. Sessions last
//! [`SESSION_LIFETIME`] and can be revoked (sign-out). These tables hold no
//! person data, and nothing here is counted in [`crate::TableCounts`].
//!
//! Hashing and token generation belong to the server; the store keeps what it
//! is given.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::{ParseError, Scope};

/// How long a session lasts from sign-in: one shift.
pub const SESSION_LIFETIME: chrono::Duration = chrono::Duration::hours(8);

/// What a staff member does, which fixes the agreement their pages are read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffRole {
    /// A wing, reception or escort officer: the `prison-wing` agreement.
    Officer,
    /// A prison healthcare clinician: the `prison-healthcare` agreement.
    Healthcare,
    /// An information-governance lead: the `information-governance` agreement.
    IgLead,
    /// Manages staff accounts; reads no person data.
    Admin,
}

impl StaffRole {
    pub const ALL: [StaffRole; 4] = [Self::Officer, Self::Healthcare, Self::IgLead, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Healthcare => "healthcare",
            Self::IgLead => "ig-lead",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw.trim())
            .ok_or_else(|| {
                ParseError::new("role", "must be one of officer, healthcare, ig-lead, admin")
            })
    }
}

/// A staff account as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffUser {
    pub username: String,
    pub display_name: String,
    pub role: StaffRole,
    /// The establishments whose people the user's pages may show.
    pub establishments: Scope,
    /// The argon2id hash, as a PHC string.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// The OpenID Connect provider's subject identifier for this person, when
    /// they may sign in through the provider (issue 11, migration 0011).
    pub oidc_subject: Option<String>,
}

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct NewStaffUser {
    pub username: String,
    pub display_name: String,
    pub role: StaffRole,
    pub establishments: Scope,
    pub password_hash: String,
}

/// A session to create: the hash of its token, whose it is, and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewStaffSession {
    /// Hex SHA-256 of the session token.
    pub token_hash: String,
    pub username: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A live session, with its user.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffSession {
    pub token_hash: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user: StaffUser,
}

/// An OpenID Connect sign-in under way: what the callback checks the
/// provider's answer against.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcSignIn {
    /// Hex SHA-256 of the `state` parameter.
    pub state_hash: String,
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// The same-site path to go to once signed in.
    pub next: String,
    pub expires_at: DateTime<Utc>,
}

/// Staff accounts and sessions. Both engines implement it; `Store` requires it.
#[async_trait]
pub trait StaffStore: Send + Sync {
    /// Creates an account; a username already taken answers [`crate::StoreError::Conflict`].
    async fn create_staff_user(&self, new: &NewStaffUser) -> crate::Result<StaffUser>;
    /// An account by username (disabled ones too).
    async fn staff_user(&self, username: &str) -> crate::Result<Option<StaffUser>>;
    /// Every account, by username.
    async fn list_staff_users(&self) -> crate::Result<Vec<StaffUser>>;
    /// Stores a new session for an existing, enabled user.
    async fn create_session(&self, new: &NewStaffSession) -> crate::Result<StaffSession>;
    /// The session with this token hash if it is live at `now`: not revoked,
    /// not expired, and its user not disabled.
    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> crate::Result<Option<StaffSession>>;
    /// Revokes a session (sign-out); false when there was no live one.
    async fn revoke_session(&self, token_hash: &str) -> crate::Result<bool>;
    /// Links an account to the OpenID Connect provider's subject (or with
    /// `None` unlinks it); false when there is no such account. A subject
    /// already linked to another account answers [`crate::StoreError::Conflict`].
    async fn set_oidc_subject(&self, username: &str, subject: Option<&str>) -> crate::Result<bool>;
    /// The account linked to this OpenID Connect subject (disabled ones too).
    async fn staff_user_by_oidc_subject(&self, subject: &str) -> crate::Result<Option<StaffUser>>;
    /// Keeps a sign-in under way (and drops those that expired before `now`).
    async fn put_oidc_sign_in(&self, flow: &OidcSignIn, now: DateTime<Utc>) -> crate::Result<()>;
    /// Takes a sign-in under way by its state hash, deleting it so it can be
    /// used once; `None` when unknown, already taken or expired at `now`.
    async fn take_oidc_sign_in(
        &self,
        state_hash: &str,
        now: DateTime<Utc>,
    ) -> crate::Result<Option<OidcSignIn>>;
}
