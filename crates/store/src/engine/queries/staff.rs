//! Staff accounts and sessions. Writes go through the
//! writer pool; reads through the reader pool. These tables hold no person data
//! and are counted nowhere else.

use super::decode::{col, parsed};
use super::engine::{Db, DbRow, EngineStore, begin_write, now};
use crate::staff::{
    NewStaffSession, NewStaffUser, OidcSignIn, StaffRole, StaffSession, StaffStore, StaffUser,
};
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use gatehouse_domain::{EstablishmentCode, Scope};

pub(super) fn staff_user_from_row(row: &DbRow) -> Result<StaffUser> {
    let role: String = col(row, "role")?;
    let est: String = col(row, "establishments")?;
    let codes: Vec<String> = parsed("staff_users.establishments", serde_json::from_str(&est))?;
    let establishments = if codes.iter().any(|c| c == "*") {
        Scope::All
    } else {
        Scope::Only(
            codes
                .iter()
                .map(|c| parsed("staff_users.establishments", EstablishmentCode::parse(c)))
                .collect::<Result<_>>()?,
        )
    };
    Ok(StaffUser {
        username: col(row, "username")?,
        display_name: col(row, "display_name")?,
        role: parsed("staff_users.role", StaffRole::parse(&role))?,
        establishments,
        password_hash: col(row, "password_hash")?,
        created_at: col(row, "created_at")?,
        disabled_at: col(row, "disabled_at")?,
        oidc_subject: col(row, "oidc_subject")?,
    })
}

pub(super) async fn create_staff_user(
    pool: &sqlx::Pool<Db>,
    new: &NewStaffUser,
) -> Result<StaffUser> {
    let mut tx = begin_write(pool).await?;
    let exists = sqlx::query("SELECT 1 FROM staff_users WHERE username = $1")
        .bind(&new.username)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(StoreError::Conflict(format!(
            "a staff user named {} already exists",
            new.username
        )));
    }
    let user = StaffUser {
        username: new.username.clone(),
        display_name: new.display_name.clone(),
        role: new.role,
        establishments: new.establishments.clone(),
        password_hash: new.password_hash.clone(),
        created_at: now(),
        disabled_at: None,
        oidc_subject: None,
    };
    let codes =
        serde_json::to_string(&user.establishments.to_codes()).map_err(StoreError::corrupt)?;
    sqlx::query(
        "INSERT INTO staff_users (username, display_name, role, establishments, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(user.role.as_str())
    .bind(codes)
    .bind(&user.password_hash)
    .bind(user.created_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(user)
}

pub(super) async fn staff_user(pool: &sqlx::Pool<Db>, username: &str) -> Result<Option<StaffUser>> {
    sqlx::query("SELECT * FROM staff_users WHERE username = $1")
        .bind(username)
        .fetch_optional(pool)
        .await?
        .map(|r| staff_user_from_row(&r))
        .transpose()
}

pub(super) async fn list_staff_users(pool: &sqlx::Pool<Db>) -> Result<Vec<StaffUser>> {
    let rows = sqlx::query("SELECT * FROM staff_users ORDER BY username")
        .fetch_all(pool)
        .await?;
    rows.iter().map(staff_user_from_row).collect()
}

pub(super) async fn create_session(
    pool: &sqlx::Pool<Db>,
    new: &NewStaffSession,
) -> Result<StaffSession> {
    let mut tx = begin_write(pool).await?;
    let user = sqlx::query("SELECT * FROM staff_users WHERE username = $1")
        .bind(&new.username)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| staff_user_from_row(&r))
        .transpose()?
        .filter(|u| u.disabled_at.is_none())
        .ok_or_else(|| StoreError::NotFound("no enabled staff user with this username".into()))?;
    let created_at = now();
    // Kept to the microsecond on both engines (PostgreSQL's precision), so the value read back is the value given.
    let expires_at = DateTime::from_timestamp_micros(new.expires_at.timestamp_micros())
        .unwrap_or(new.expires_at);
    sqlx::query(
        "INSERT INTO staff_sessions (id, username, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&new.token_hash)
    .bind(&new.username)
    .bind(&new.csrf_token)
    .bind(created_at)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(StaffSession {
        token_hash: new.token_hash.clone(),
        csrf_token: new.csrf_token.clone(),
        created_at,
        expires_at,
        user,
    })
}

pub(super) async fn session(
    pool: &sqlx::Pool<Db>,
    token_hash: &str,
    at: DateTime<Utc>,
) -> Result<Option<StaffSession>> {
    let Some(row) = sqlx::query(
        "SELECT s.id AS session_id, s.csrf_token, s.created_at AS session_created_at, s.expires_at, s.revoked_at, u.* \
         FROM staff_sessions s JOIN staff_users u ON u.username = s.username WHERE s.id = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let revoked_at: Option<DateTime<Utc>> = col(&row, "revoked_at")?;
    let expires_at: DateTime<Utc> = col(&row, "expires_at")?;
    let user = staff_user_from_row(&row)?;
    // Liveness is decided here, in one place for both engines, against exact times.
    if revoked_at.is_some() || expires_at <= at || user.disabled_at.is_some() {
        return Ok(None);
    }
    Ok(Some(StaffSession {
        token_hash: col(&row, "session_id")?,
        csrf_token: col(&row, "csrf_token")?,
        created_at: col(&row, "session_created_at")?,
        expires_at,
        user,
    }))
}

pub(super) async fn revoke_session(pool: &sqlx::Pool<Db>, token_hash: &str) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let done = sqlx::query(
        "UPDATE staff_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn set_oidc_subject(
    pool: &sqlx::Pool<Db>,
    username: &str,
    subject: Option<&str>,
) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    if let Some(subject) = subject {
        let taken = sqlx::query(
            "SELECT username FROM staff_users WHERE oidc_subject = $1 AND username <> $2",
        )
        .bind(subject)
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = taken {
            let other: String = col(&row, "username")?;
            return Err(StoreError::Conflict(format!(
                "this subject is already linked to the staff user {other}"
            )));
        }
    }
    let done = sqlx::query("UPDATE staff_users SET oidc_subject = $1 WHERE username = $2")
        .bind(subject)
        .bind(username)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn staff_user_by_oidc_subject(
    pool: &sqlx::Pool<Db>,
    subject: &str,
) -> Result<Option<StaffUser>> {
    sqlx::query("SELECT * FROM staff_users WHERE oidc_subject = $1")
        .bind(subject)
        .fetch_optional(pool)
        .await?
        .map(|r| staff_user_from_row(&r))
        .transpose()
}

pub(super) async fn put_oidc_sign_in(
    pool: &sqlx::Pool<Db>,
    flow: &OidcSignIn,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    sqlx::query("DELETE FROM oidc_sign_ins WHERE expires_at <= $1")
        .bind(at)
        .execute(&mut *tx)
        .await?;
    let expires_at = DateTime::from_timestamp_micros(flow.expires_at.timestamp_micros())
        .unwrap_or(flow.expires_at);
    sqlx::query(
        "INSERT INTO oidc_sign_ins (state_hash, nonce, verifier, next, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&flow.state_hash)
    .bind(&flow.nonce)
    .bind(&flow.verifier)
    .bind(&flow.next)
    .bind(now())
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn take_oidc_sign_in(
    pool: &sqlx::Pool<Db>,
    state_hash: &str,
    at: DateTime<Utc>,
) -> Result<Option<OidcSignIn>> {
    let mut tx = begin_write(pool).await?;
    // Deleted as it is read: two callbacks with the same state cannot both succeed.
    let row = sqlx::query("DELETE FROM oidc_sign_ins WHERE state_hash = $1 RETURNING state_hash, nonce, verifier, next, expires_at")
        .bind(state_hash)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    let Some(row) = row else { return Ok(None) };
    let flow = OidcSignIn {
        state_hash: col(&row, "state_hash")?,
        nonce: col(&row, "nonce")?,
        verifier: col(&row, "verifier")?,
        next: col(&row, "next")?,
        expires_at: col(&row, "expires_at")?,
    };
    Ok((flow.expires_at > at).then_some(flow))
}

#[async_trait::async_trait]
impl StaffStore for EngineStore {
    async fn create_staff_user(&self, new: &NewStaffUser) -> Result<StaffUser> {
        create_staff_user(&self.writer, new).await
    }
    async fn staff_user(&self, username: &str) -> Result<Option<StaffUser>> {
        staff_user(&self.reader, username).await
    }
    async fn list_staff_users(&self) -> Result<Vec<StaffUser>> {
        list_staff_users(&self.reader).await
    }
    async fn create_session(&self, new: &NewStaffSession) -> Result<StaffSession> {
        create_session(&self.writer, new).await
    }
    async fn session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<Option<StaffSession>> {
        session(&self.reader, token_hash, at).await
    }
    async fn revoke_session(&self, token_hash: &str) -> Result<bool> {
        revoke_session(&self.writer, token_hash).await
    }
    async fn set_oidc_subject(&self, username: &str, subject: Option<&str>) -> Result<bool> {
        set_oidc_subject(&self.writer, username, subject).await
    }
    async fn staff_user_by_oidc_subject(&self, subject: &str) -> Result<Option<StaffUser>> {
        staff_user_by_oidc_subject(&self.reader, subject).await
    }
    async fn put_oidc_sign_in(&self, flow: &OidcSignIn, at: DateTime<Utc>) -> Result<()> {
        put_oidc_sign_in(&self.writer, flow, at).await
    }
    async fn take_oidc_sign_in(
        &self,
        state_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<OidcSignIn>> {
        take_oidc_sign_in(&self.writer, state_hash, at).await
    }
}
