//! The staff web pages, at `/`: server-rendered HTML for wing, reception and
//! escort officers, prison clinicians and information-governance leads.
//!
//! - [`session`]: local accounts (argon2), sign-in and sign-out, the session cookie.
//! - [`oidc`]: sign-in through an OpenID Connect provider (code flow with PKCE),
//!   for accounts linked to the provider's subject.
//! - [`csrf`]: a per-session token in a hidden field, checked on every POST.
//! - [`principal`]: a staff member acts through an in-process principal under
//!   the agreement of their role, so every page read is decided by the same
//!   Cedar agreements and recorded by the same disclosure audit as `/v1`.
//! - [`pages`]: search, the person page (with its live safety section), the
//!   wing roll, the escort handover sheet, the staff list.
//! - [`notices`]: healthcare publishes, revises and withdraws safety notices
//!   through forms, with a preview of exactly what prison staff will see.
//! - [`appointments`]: the printable unlock and escort list, and recording
//!   attendance from it.
//! - [`dashboard`]: the attendance dashboard and its CSV, drawn by [`charts`]
//!   as server-rendered SVG.
//!
//! No page makes an external request: the stylesheet and the one small script
//! are served from `/static/`, and every page carries a Content-Security-Policy
//! of `default-src 'self'`.

pub mod appointment_lines;
pub mod appointments;
pub mod charts;
pub mod csrf;
pub mod dashboard;
pub mod notices;
pub mod oidc;
pub mod pages;
pub mod principal;
pub mod session;

use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub const CSP: &str = "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'";

const APP_CSS: &str = include_str!("static/app.css");
const APP_JS: &str = include_str!("static/app.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-in/oidc", get(oidc::start))
        .route(oidc::CALLBACK_PATH, get(oidc::callback))
        .route("/sign-out", post(session::sign_out))
        .route("/search", get(pages::search))
        .route("/roll", get(pages::roll_form))
        .route("/establishments/{code}/wings/{wing}", get(pages::roll))
        .route("/people/{pn}", get(pages::person))
        .route("/people/{pn}/live", get(pages::live))
        .route("/people/{pn}/handover", get(pages::handover))
        .route(
            "/people/{pn}/notices/new",
            get(notices::new_form).post(notices::publish),
        )
        .route(
            "/notices/{id}/revise",
            get(notices::revise_form).post(notices::revise),
        )
        .route(
            "/notices/{id}/withdraw",
            get(notices::withdraw_form).post(notices::withdraw),
        )
        .route("/appointments", get(appointments::picker))
        .route(
            "/establishments/{code}/appointments",
            get(appointments::list),
        )
        .route("/appointments/{id}/attendance", post(appointments::record))
        .route("/appointments/{id}/escort", post(appointments::plan_escort))
        .route("/attendance", get(dashboard::dashboard))
        .route("/attendance.csv", get(dashboard::csv))
        .route("/staff", get(pages::staff_list))
        .route("/static/app.css", get(app_css))
        .route("/static/app.js", get(app_js))
        .layer(axum::middleware::from_fn(security_headers))
}

async fn app_css() -> Response {
    static_file("text/css; charset=utf-8", APP_CSS)
}

async fn app_js() -> Response {
    static_file("text/javascript; charset=utf-8", APP_JS)
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

/// Every web answer: a strict CSP, no framing, no sniffing, no referrer sent to
/// other sites (a same-origin one keeps `Origin` on our own forms), and
/// (unless the handler said otherwise) no caching of pages holding person data.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// The signed-in staff member shown in the header of every page.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub signed_in: bool,
    pub display_name: String,
    pub role: String,
    pub csrf: String,
    /// Links the role may follow: (href, text).
    pub nav: Vec<(String, String)>,
}

/// A failure, as a page. Person data never appears in one.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in (or the session ended): go to the sign-in page, then back.
    SignIn {
        next: String,
    },
    Page {
        status: StatusCode,
        title: String,
        message: String,
    },
    Internal(anyhow::Error),
}

impl WebError {
    pub fn page(status: StatusCode, title: &str, message: impl Into<String>) -> Self {
        Self::Page {
            status,
            title: title.to_owned(),
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        Self::page(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is nothing here that you can see. Check the prison number or address and try again.",
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::page(StatusCode::BAD_REQUEST, "There is a problem", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::page(StatusCode::FORBIDDEN, "You cannot do this", message)
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::BadRequest { detail, .. } | ApiError::Unprocessable { detail, .. } => {
                Self::bad_request(detail)
            }
            ApiError::Unauthorized(_) => Self::SignIn { next: "/".into() },
            ApiError::Forbidden(reason) => Self::forbidden(format!(
                "Your role's agreement does not allow this: {reason}"
            )),
            ApiError::NotFound(_) => Self::not_found(),
            ApiError::MethodNotAllowed => Self::page(
                StatusCode::METHOD_NOT_ALLOWED,
                "There is a problem",
                "This page does not accept that kind of request.",
            ),
            ApiError::Conflict(m) => Self::page(StatusCode::CONFLICT, "This has changed", m),
            ApiError::PreconditionFailed(m) => Self::page(
                StatusCode::CONFLICT,
                "Someone else changed this first",
                format!("{m}. Go back, reload the page and make your change again."),
            ),
            ApiError::PayloadTooLarge(_) => Self::page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "There is a problem",
                "The form is larger than Gatehouse accepts.",
            ),
            ApiError::UnsupportedMediaType(m) => {
                Self::page(StatusCode::UNSUPPORTED_MEDIA_TYPE, "There is a problem", m)
            }
            ApiError::Unavailable(m) => Self::page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sorry, the service is busy",
                format!("{m}."),
            ),
            ApiError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<gatehouse_store::StoreError> for WebError {
    fn from(e: gatehouse_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    chrome: Chrome,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { next } => {
                let next = safe_next(&next).unwrap_or("/");
                let target = if next == "/" {
                    "/sign-in".to_owned()
                } else {
                    format!("/sign-in?next={}", encode(next))
                };
                Redirect::to(&target).into_response()
            }
            Self::Page {
                status,
                title,
                message,
            } => error_page(status, &title, &message),
            Self::Internal(cause) => {
                // The cause may hold anything: log it, show nothing of it.
                tracing::error!(error = ?cause, "internal error (web)");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sorry, there is a problem with the service",
                    "Gatehouse could not complete the request. It has been logged; try again later.",
                )
            }
        }
    }
}

fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let page = ErrorPage {
        title,
        message,
        chrome: Chrome::default(),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, title.to_owned()).into_response(),
    }
}

/// Renders a page, or a 500 page if the template fails (a bug).
pub fn render<T: Template>(t: &T) -> Result<Html<String>, WebError> {
    t.render()
        .map(Html)
        .map_err(|e| WebError::Internal(anyhow::anyhow!("template: {e}")))
}

/// A same-site path to go back to after signing in: `/…` but never `//…` (another host).
pub fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 500
        && !next.chars().any(|c| c.is_control()))
    .then_some(next)
}

// ------------------------------------------------------------------ forms

/// `application/x-www-form-urlencoded` pairs, in order (repeated keys kept).
#[derive(Debug, Default, Clone)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn parse(raw: &str) -> Self {
        Self(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    /// The first value of a field, trimmed; `None` when absent or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The raw first value (not trimmed), or "".
    pub fn raw(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// Every non-blank value of a repeated field (checkboxes).
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
}

/// Percent-decoding with `+` as space; bad escapes are kept as written and
/// invalid UTF-8 is replaced, so decoding never fails.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A POSTed form: its fields, read whatever the body holds (never a 500).
pub struct Form(pub FormData);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, WebError> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(WebError::page(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "There is a problem",
                "Send the form as application/x-www-form-urlencoded, as a browser does.",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    WebError::from(ApiError::PayloadTooLarge(String::new()))
                } else {
                    WebError::bad_request("The form could not be read.")
                }
            })?;
        Ok(Self(FormData::parse(&String::from_utf8_lossy(&bytes))))
    }
}

/// The query string's fields (never a rejection).
pub fn query(uri: &axum::http::Uri) -> FormData {
    FormData::parse(uri.query().unwrap_or_default())
}

/// The request id the request-id layer set, for the disclosure record.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Display formats (UK conventions: "3 April 1985", "20 Nov 2026 09:00").
pub mod fmt {
    use chrono::{DateTime, NaiveDate, Utc};

    pub fn date(d: NaiveDate) -> String {
        d.format("%-d %B %Y").to_string()
    }

    pub fn time(t: DateTime<Utc>) -> String {
        t.format("%-d %b %Y %H:%M UTC").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_like_browsers_send_them() {
        let f = FormData::parse("a=1&b=x+y&c=%C3%A9%2B&a=2&d=&e=%zz&f=%4");
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.all("a"), ["1", "2"]);
        assert_eq!(f.get("b"), Some("x y"));
        assert_eq!(f.get("c"), Some("é+"));
        assert_eq!(f.get("d"), None);
        assert_eq!(f.get("e"), Some("%zz"));
        assert_eq!(f.get("f"), Some("%4"));
        assert_eq!(decode(&encode("a b/ü?&=")), "a b/ü?&=");
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/people/A1234BC"), Some("/people/A1234BC"));
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
    }
}
