//! Staff sign-in: local accounts with argon2id password hashes, and sessions.
//!
//! A session is a 256-bit random token in a cookie; only its SHA-256 is
//! stored, with the session's CSRF token, for [`SESSION_LIFETIME`]. The cookie
//! is `HttpOnly` and `SameSite=Strict`. Served over HTTPS (a TLS-terminating
//! proxy in front says so with `X-Forwarded-Proto: https`) it is named
//! `__Host-gatehouse` and marked `Secure`, so no other site or sub-domain can
//! set or read it; over plain HTTP (the loopback demo) it is `gatehouse_session`.
//!
//! After ten failed sign-ins for a username within 15 minutes, that username
//! is refused (429) until the window passes, whatever the password.
//!
//! The sign-in form, which no session protects yet, carries a double-submit
//! token: a random value in a short-lived cookie and the same value in a
//! hidden field.

use super::csrf;
use super::{Chrome, Form, WebError, query, render, safe_next};
use crate::state::AppState;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use chrono::Utc;
use gatehouse_store::{NewStaffSession, SESSION_LIFETIME, StaffSession, StaffUser};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

pub const COOKIE_HTTPS: &str = "__Host-gatehouse";
pub const COOKIE_HTTP: &str = "gatehouse_session";
pub const SIGNIN_COOKIE_HTTPS: &str = "__Host-gatehouse-signin";
pub const SIGNIN_COOKIE_HTTP: &str = "gatehouse_signin";

/// 256 random bits, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An argon2id hash (PHC string) of a password, with a fresh random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
        .to_string())
}

/// Checks a password against a stored hash; a malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password for a new account when none is given: 120 random bits, easy to type.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let mut out = String::new();
    for i in 0..25 {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char);
    }
    out
}

/// The rules a new password must meet.
pub fn check_new_password(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < 12 {
        return Err("must be at least 12 characters");
    }
    if n > 200 {
        return Err("must be at most 200 characters");
    }
    Ok(())
}

/// Checked when the username is unknown, so that a wrong username takes as
/// long as a wrong password and cannot be told apart by timing.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password(&random_token()).unwrap_or_default());

/// Failed sign-ins allowed per username within [`LOCKOUT_WINDOW`], in this process.
pub const MAX_FAILURES: u32 = 10;
pub const LOCKOUT_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Failed sign-ins by username: (count, first failure of the window).
static FAILURES: LazyLock<Mutex<HashMap<String, (u32, Instant)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn failures() -> std::sync::MutexGuard<'static, HashMap<String, (u32, Instant)>> {
    FAILURES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Too many failed sign-ins for this username lately: refuse without checking the password.
pub fn locked_out(username: &str) -> bool {
    failures()
        .get(username)
        .is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < LOCKOUT_WINDOW)
}

fn note_failure(username: &str) {
    let mut map = failures();
    if map.len() > 10_000 {
        map.retain(|_, (_, since)| since.elapsed() < LOCKOUT_WINDOW);
    }
    let entry = map
        .entry(username.to_owned())
        .or_insert((0, Instant::now()));
    if entry.1.elapsed() >= LOCKOUT_WINDOW {
        *entry = (0, Instant::now());
    }
    entry.0 += 1;
}

fn clear_failures(username: &str) {
    failures().remove(username);
}

/// Served over HTTPS, as a TLS-terminating proxy reports it.
pub fn is_https(headers: &HeaderMap) -> bool {
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("https")
        })
        .unwrap_or(false);
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_ascii_lowercase().contains("proto=https"))
        .unwrap_or(false);
    proto || forwarded
}

/// The value of a cookie (the first of that name).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn set_cookie(name: &str, value: &str, max_age: i64, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("gatehouse_invalid=1"))
}

fn session_cookie_name(https: bool) -> &'static str {
    if https { COOKIE_HTTPS } else { COOKIE_HTTP }
}

fn signin_cookie_name(https: bool) -> &'static str {
    if https {
        SIGNIN_COOKIE_HTTPS
    } else {
        SIGNIN_COOKIE_HTTP
    }
}

/// The live session of a request, if it carries one.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<StaffSession>, WebError> {
    let name = session_cookie_name(is_https(headers));
    let Some(token) = cookie(headers, name) else {
        return Ok(None);
    };
    if token.len() != 43 {
        return Ok(None);
    }
    Ok(state.store.session(&hash_token(token), Utc::now()).await?)
}

/// A signed-in staff member. Without a live session a page answers with the sign-in page.
pub struct Signed {
    pub session: StaffSession,
    pub request_id: String,
}

impl Signed {
    pub fn user(&self) -> &StaffUser {
        &self.session.user
    }

    /// The header of every page for this user.
    pub fn chrome(&self) -> Chrome {
        use gatehouse_store::StaffRole;
        let u = self.user();
        let mut nav = vec![("/".to_owned(), "Find a person".to_owned())];
        match u.role {
            StaffRole::Officer | StaffRole::Healthcare => {
                nav.push(("/roll".into(), "Wing roll".into()));
            }
            StaffRole::Admin => nav = vec![("/staff".into(), "Staff accounts".into())],
            StaffRole::IgLead => {}
        }
        Chrome {
            signed_in: true,
            display_name: u.display_name.clone(),
            role: role_label(u.role).to_owned(),
            csrf: self.session.csrf_token.clone(),
            nav,
        }
    }

    /// Checks a POSTed form's CSRF token against this session's.
    pub fn check_csrf(&self, form: &super::FormData) -> Result<(), WebError> {
        csrf::check(&self.session.csrf_token, form.raw(csrf::FIELD))
    }
}

pub fn role_label(role: gatehouse_store::StaffRole) -> &'static str {
    use gatehouse_store::StaffRole;
    match role {
        StaffRole::Officer => "Prison officer",
        StaffRole::Healthcare => "Healthcare",
        StaffRole::IgLead => "Information governance",
        StaffRole::Admin => "Administrator",
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        match current(state, &parts.headers).await? {
            Some(session) => Ok(Self {
                session,
                request_id: super::request_id(&parts.headers),
            }),
            None => Err(WebError::SignIn {
                next: if parts.method == axum::http::Method::GET {
                    parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_else(|| "/".into())
                } else {
                    "/".into()
                },
            }),
        }
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    title: &'static str,
    chrome: Chrome,
    csrf: String,
    next: String,
    username: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    /// The OpenID Connect provider's name, when staff may sign in through it.
    provider: Option<String>,
    /// `next`, percent-encoded for the provider link's query.
    next_query: String,
}

fn sign_in_response(
    state: &AppState,
    status: StatusCode,
    headers: &HeaderMap,
    next: &str,
    username: &str,
    error: Option<&'static str>,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let https = is_https(headers);
    let token = random_token();
    let page = SignInPage {
        title: "Sign in",
        chrome: Chrome::default(),
        csrf: token.clone(),
        next: safe_next(next).unwrap_or("/").to_owned(),
        username: username.to_owned(),
        error,
        notice,
        provider: state.oidc.as_ref().map(|o| o.config.provider_name.clone()),
        next_query: super::encode(safe_next(next).unwrap_or("/")),
    };
    let mut resp = (status, render(&page)?).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(signin_cookie_name(https), &token, 3600, https),
    );
    Ok(resp)
}

/// `GET /sign-in`
pub async fn sign_in_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, WebError> {
    let q = query(&uri);
    let next = q.get("next").unwrap_or("/");
    if current(&state, &headers).await?.is_some() {
        return Ok(Redirect::to(safe_next(next).unwrap_or("/")).into_response());
    }
    let notice = q.get("signed-out").map(|_| "You have signed out.");
    sign_in_response(&state, StatusCode::OK, &headers, next, "", None, notice)
}

/// `POST /sign-in`: a wrong username or password answers 401 with the form again.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form,
) -> Result<Response, WebError> {
    let https = is_https(&headers);
    let expected = cookie(&headers, signin_cookie_name(https)).unwrap_or_default();
    csrf::check_origin(&headers)?;
    csrf::check(expected, form.raw(csrf::FIELD))?;
    let next = form
        .get("next")
        .and_then(safe_next)
        .unwrap_or("/")
        .to_owned();
    let username = form.get("username").unwrap_or_default().to_owned();
    let password = form.raw("password").to_owned();
    if username.is_empty()
        || password.is_empty()
        || username.chars().count() > 100
        || password.chars().count() > 200
    {
        return sign_in_response(
            &state,
            StatusCode::UNAUTHORIZED,
            &headers,
            &next,
            &username.chars().take(100).collect::<String>(),
            Some("Enter your username and password"),
            None,
        );
    }
    if locked_out(&username) {
        metrics::counter!("gatehouse_web_sign_ins_total", "outcome" => "locked-out").increment(1);
        return sign_in_response(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            &next,
            &username,
            Some("Too many failed attempts for this username: wait 15 minutes and try again"),
            None,
        );
    }
    let user = state.store.staff_user(&username).await?;
    let hash = user
        .as_ref()
        .filter(|u| u.disabled_at.is_none())
        .map(|u| u.password_hash.clone());
    let ok = {
        let hash = hash.clone().unwrap_or_else(|| DUMMY_HASH.clone());
        tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|e| WebError::Internal(e.into()))?
    };
    let Some(user) = user.filter(|_| ok && hash.is_some()) else {
        metrics::counter!("gatehouse_web_sign_ins_total", "outcome" => "refused").increment(1);
        note_failure(&username);
        return sign_in_response(
            &state,
            StatusCode::UNAUTHORIZED,
            &headers,
            &next,
            &username,
            Some("Enter a correct username and password"),
            None,
        );
    };
    clear_failures(&user.username);
    let session_cookie = open_session(&state, &user, https).await?;
    metrics::counter!("gatehouse_web_sign_ins_total", "outcome" => "signed-in").increment(1);
    let mut resp = Redirect::to(&landing(&user, &next)).into_response();
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, session_cookie);
    h.append(
        header::SET_COOKIE,
        set_cookie(signin_cookie_name(https), "", 0, https),
    );
    Ok(resp)
}

/// Starts a session for a user who has proved who they are (by password or
/// through the OpenID Connect provider); returns its cookie.
pub async fn open_session(
    state: &AppState,
    user: &StaffUser,
    https: bool,
) -> Result<HeaderValue, WebError> {
    let token = random_token();
    state
        .store
        .create_session(&NewStaffSession {
            token_hash: hash_token(&token),
            username: user.username.clone(),
            csrf_token: random_token(),
            expires_at: Utc::now() + SESSION_LIFETIME,
        })
        .await?;
    Ok(set_cookie(
        session_cookie_name(https),
        &token,
        SESSION_LIFETIME.num_seconds(),
        https,
    ))
}

/// Where a user lands after signing in: where they were going, or the staff
/// list for an administrator (who reads no person data).
pub fn landing(user: &StaffUser, next: &str) -> String {
    if user.role == gatehouse_store::StaffRole::Admin && next == "/" {
        "/staff".to_owned()
    } else {
        next.to_owned()
    }
}

/// `POST /sign-out`: ends the session here and in the store.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form,
) -> Result<Response, WebError> {
    csrf::check_origin(&headers)?;
    signed.check_csrf(&form)?;
    state
        .store
        .revoke_session(&signed.session.token_hash)
        .await?;
    let https = is_https(&headers);
    let mut resp = Redirect::to("/sign-in?signed-out=1").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(session_cookie_name(https), "", 0, https),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(h, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn tokens_and_generated_passwords() {
        assert_eq!(random_token().len(), 43);
        assert_ne!(random_token(), random_token());
        let p = generate_password();
        assert_eq!(p.len(), 29);
        assert!(check_new_password(&p).is_ok());
        assert!(check_new_password("short").is_err());
    }

    #[test]
    fn repeated_failures_lock_a_username_out() {
        let name = "lockout-unit-test";
        for _ in 0..MAX_FAILURES - 1 {
            note_failure(name);
        }
        assert!(!locked_out(name));
        note_failure(name);
        assert!(locked_out(name));
        assert!(!locked_out("someone-else"));
        clear_failures(name);
        assert!(!locked_out(name));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; gatehouse_session=tok; b=2"),
        );
        assert_eq!(cookie(&h, COOKIE_HTTP), Some("tok"));
        assert_eq!(cookie(&h, COOKIE_HTTPS), None);
        assert!(!is_https(&h));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(is_https(&h));
    }
}
