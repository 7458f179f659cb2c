//! The staff web pages over HTTP, on both engines: sign-in and its cookie,
//! CSRF, the person page in each role's view (never a notice's clinical
//! detail for an officer), the nurse's preview against what the officer then
//! sees, the escort handover sheet, the wing roll, the live safety section,
//! and people outside the user's establishments.

mod common;

use common::items::*;
use gatehouse_domain::Scope;
use gatehouse_server::http::web::session::hash_password;
use gatehouse_store::{NewStaffUser, StaffRole};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

/// A string that must never reach an officer or an escort.
const CANARY: &str = "CANARY-web-clinical-51d2e8";
const OFFICER_PW: &str = "officer-password-1";
const NURSE_PW: &str = "nurse-password-12";

/// Creates a staff account straight in the store.
async fn staff(app: &common::TestApp, username: &str, role: StaffRole, est: &str, password: &str) {
    app.store
        .create_staff_user(&NewStaffUser {
            username: username.into(),
            display_name: format!("Test {username}"),
            role,
            establishments: Scope::parse(est).unwrap(),
            password_hash: hash_password(password).unwrap(),
        })
        .await
        .unwrap();
}

async fn seed(app: &common::TestApp) {
    let (s, body) = app
        .feed(&json!([
            person("p1", "E5678FG", "EDWARD", "EXAMPLE", "1980-02-01", None),
            movement("r1", "E5678FG", 10, json!({"kind": "reception", "reason": "NEW_ADMISSION", "establishment": "LEI", "cell": "LEI-A-2-014"})),
            person("p2", "M1234MD", "MOOR", "LANDER", "1975-05-06", None),
            reception("r2", "M1234MD", "MDI", 10),
        ]))
        .await;
    assert_eq!(s, 200, "{body}");
    staff(app, "officer.a", StaffRole::Officer, "LEI", OFFICER_PW).await;
    staff(app, "nurse.b", StaffRole::Healthcare, "LEI", NURSE_PW).await;
}

fn notice(instruction: &str, audience: &[&str]) -> Value {
    json!({
        "category": "seizure-risk",
        "instruction": instruction,
        "audience": audience,
        "condition": "epilepsy",
        "clinicalDetail": format!("Levetiracetam 500mg BD. {CANARY}"),
        "lawfulBasis": "direct-care",
        "reviewBy": review_by(),
        "author": {"role": "Registered nurse", "registration": {"body": "NMC", "number": "12A3456E"}}
    })
}

async fn publish_api(app: &common::TestApp, pn: &str, body: &Value) {
    let r = app
        .post_json(
            "lei-health",
            &format!("/v1/people/{pn}/safety-notices"),
            body,
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

/// A browser, as far as the tests need one: its cookies, no redirects followed.
struct Browser<'a> {
    app: &'a common::TestApp,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

struct Page {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The value of a hidden field (the first of that name).
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The first `<div class="gh-notice__body">…</div>` after `after`.
fn notice_body<'h>(html: &'h str, after: &str) -> &'h str {
    let from = html
        .find(after)
        .unwrap_or_else(|| panic!("{after} not in {html}"));
    let start = from
        + html[from..]
            .find("<div class=\"gh-notice__body\">")
            .expect("a notice card");
    let end = start + html[start..].find("</div>").unwrap();
    &html[start..end]
}

impl<'a> Browser<'a> {
    fn new(app: &'a common::TestApp) -> Self {
        Self {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: vec![],
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, headers: &reqwest::header::HeaderMap) {
        for c in headers.get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !attrs.contains("Max-Age=0") {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let r = self
            .client
            .get(self.app.url(path))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.page(r).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(path, fields, &[]).await
    }

    async fn post_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut r = self
            .client
            .post(self.app.url(path))
            .header(COOKIE, self.cookie_header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(fields));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let r = r.send().await.unwrap();
        self.page(r).await
    }

    async fn page(&mut self, r: reqwest::Response) -> Page {
        let status = r.status();
        let headers = r.headers().clone();
        self.keep_cookies(&headers);
        let body = r.text().await.unwrap();
        assert!(status.as_u16() < 500, "{status}: {body}");
        Page {
            status,
            headers,
            body,
        }
    }

    /// Signs in; returns the answer to the form's POST.
    async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/sign-in").await;
        assert_eq!(form.status, 200);
        let csrf = hidden(&form.body, "csrf");
        self.post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("next", "/"),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    async fn signed_in(app: &'a common::TestApp, username: &str, password: &str) -> Browser<'a> {
        let mut b = Browser::new(app);
        let r = b.sign_in(username, password).await;
        assert_eq!(r.status, 303, "{}", r.body);
        b
    }

    /// The CSRF token of the signed-in session, as the pages carry it.
    async fn csrf(&mut self) -> String {
        let home = self.get("/").await;
        assert_eq!(home.status, 200, "{}", home.body);
        hidden(&home.body, "csrf")
    }
}

on_both_engines!(
    sign_in_refuses_a_wrong_password_with_a_401_page,
    |app: common::TestApp| async move {
        seed(&app).await;
        let mut b = Browser::new(&app);
        let wrong = b.sign_in("officer.a", "not-the-password").await;
        assert_eq!(wrong.status, 401);
        assert!(
            wrong.headers[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            wrong.body.contains("Enter a correct username and password"),
            "{}",
            wrong.body
        );
        assert!(
            !wrong
                .headers
                .get_all(SET_COOKIE)
                .iter()
                .any(|c| c.to_str().unwrap().starts_with("gatehouse_session="))
        );
        // An unknown user gets the same answer.
        let unknown = b.sign_in("nobody", "not-the-password").await;
        assert_eq!(unknown.status, 401);
        assert!(
            unknown
                .body
                .contains("Enter a correct username and password")
        );
        // And without a session nothing is shown.
        let page = b.get("/people/E5678FG").await;
        assert_eq!(page.status, 303);
        assert_eq!(page.headers[LOCATION], "/sign-in?next=/people/E5678FG");
    }
);

on_both_engines!(
    the_session_cookie_is_httponly_samesite_strict_and_secure_over_https,
    |app: common::TestApp| async move {
        seed(&app).await;
        let mut b = Browser::new(&app);
        let ok = b.sign_in("officer.a", OFFICER_PW).await;
        assert_eq!(ok.status, 303);
        assert_eq!(ok.headers[LOCATION], "/");
        let cookie = ok
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|c| c.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("gatehouse_session="))
            .expect("a session cookie");
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
            assert!(cookie.contains(attr), "{cookie} lacks {attr}");
        }
        assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
        let token = cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
            .to_owned();
        assert_eq!(token.len(), 43);
        // Only the token's hash is stored.
        assert!(
            app.store
                .session(&token, chrono::Utc::now())
                .await
                .unwrap()
                .is_none()
        );
        let home = b.get("/").await;
        assert_eq!(home.status, 200);
        let csp = home.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(home.body.contains("Test officer.a"));
        assert!(
            !home.body.contains("http://") && !home.body.contains("https://"),
            "no external requests"
        );

        // Behind a TLS-terminating proxy: the __Host- cookie, Secure.
        let mut https = Browser::new(&app);
        let form = https
            .client
            .get(app.url("/sign-in"))
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .unwrap();
        let signin_cookie = form
            .headers()
            .get(SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            signin_cookie.starts_with("__Host-gatehouse-signin=")
                && signin_cookie.contains("Secure"),
            "{signin_cookie}"
        );
        https.keep_cookies(&form.headers().clone());
        let csrf = hidden(&form.text().await.unwrap(), "csrf");
        let ok = https
            .post_with(
                "/sign-in",
                &[
                    ("csrf", &csrf),
                    ("username", "officer.a"),
                    ("password", OFFICER_PW),
                ],
                &[("x-forwarded-proto", "https")],
            )
            .await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        let cookie = ok
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|c| c.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("__Host-gatehouse="))
            .expect("a __Host- cookie");
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
            assert!(cookie.contains(attr), "{cookie} lacks {attr}");
        }
        assert!(!cookie.contains("Domain"), "{cookie}");

        // Signing out ends the session in the store too.
        let csrf = b.csrf().await;
        let out = b.post("/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(out.status, 303);
        assert_eq!(b.get("/people/E5678FG").await.status, 303);
    }
);

on_both_engines!(
    a_post_without_the_csrf_token_is_refused_with_a_403_page,
    |app: common::TestApp| async move {
        seed(&app).await;
        // The sign-in form's own token.
        let mut b = Browser::new(&app);
        b.get("/sign-in").await;
        let r = b
            .post(
                "/sign-in",
                &[("username", "officer.a"), ("password", OFFICER_PW)],
            )
            .await;
        assert_eq!(r.status, 403);
        assert!(
            r.body.contains("This form could not be accepted"),
            "{}",
            r.body
        );

        let mut nurse = Browser::signed_in(&app, "nurse.b", NURSE_PW).await;
        let before = app.counts().await;
        let fields = [
            ("action", "publish"),
            ("category", "seizure-risk"),
            ("instruction", "Look through the door at every roll check."),
            ("audience", "wing"),
            ("lawful-basis", "direct-care"),
            ("review-by", &review_by()),
            ("author-role", "Registered nurse"),
            ("reg-body", "NMC"),
            ("reg-number", "12A3456E"),
        ];
        let r = nurse.post("/people/E5678FG/notices/new", &fields).await;
        assert_eq!(r.status, 403);
        assert!(
            r.headers[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let mut wrong = fields.to_vec();
        wrong.push(("csrf", "not-the-token-not-the-token-not-the-token-x"));
        assert_eq!(
            nurse
                .post("/people/E5678FG/notices/new", &wrong)
                .await
                .status,
            403
        );
        // From another site, even with the token.
        let csrf = nurse.csrf().await;
        let mut good = fields.to_vec();
        good.push(("csrf", &csrf));
        let r = nurse
            .post_with(
                "/people/E5678FG/notices/new",
                &good,
                &[("origin", "http://evil.example")],
            )
            .await;
        assert_eq!(r.status, 403);
        assert_eq!(app.counts().await, before, "nothing was stored");
        // The session still works, and the same form with its token is accepted.
        let r = nurse.post("/people/E5678FG/notices/new", &good).await;
        assert_eq!(r.status, 303, "{}", r.body);
        // Signing out needs the token too.
        let r = nurse.post("/sign-out", &[]).await;
        assert_eq!(r.status, 403);
        assert_eq!(nurse.get("/").await.status, 200);
    }
);

on_both_engines!(
    an_officer_sees_the_instruction_and_never_the_clinical_detail,
    |app: common::TestApp| async move {
        seed(&app).await;
        let instruction = "Seizure risk. Look through the door at every roll check. If fitting: call code blue and note the time.";
        publish_api(&app, "E5678FG", &notice(instruction, &["wing", "escort"])).await;
        let mut officer = Browser::signed_in(&app, "officer.a", OFFICER_PW).await;
        let page = officer.get("/people/E5678FG").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(instruction), "{}", page.body);
        assert!(page.body.contains("EDWARD EXAMPLE"));
        assert!(page.body.contains("LEI-A-2-014"));
        assert!(page.body.contains("Not linked to an NHS number"));
        // The page is the point-of-need summary: what is missing is said in words.
        assert!(
            page.body
                .contains("No health system has confirmed this record"),
            "{}",
            page.body
        );
        assert!(
            !page.body.contains("epilepsy"),
            "instruction-only: no condition"
        );
        for path in [
            "/people/E5678FG",
            "/people/E5678FG/live",
            "/people/E5678FG/handover",
            "/establishments/LEI/wings/A?landing=2",
        ] {
            let p = officer.get(path).await;
            assert_eq!(p.status, 200, "{path}");
            assert!(
                !p.body.contains(CANARY) && !p.body.contains("Levetiracetam"),
                "{path} leaks clinical detail"
            );
        }
        // The roll marks the cell with the notice's category.
        let roll = officer.get("/establishments/LEI/wings/A?landing=2").await;
        assert!(
            roll.body.contains("E5678FG") && roll.body.contains("Seizure risk"),
            "{}",
            roll.body
        );
        assert!(!roll.body.contains("M1234MD"));
        // The nurse sees the clinical detail.
        let mut nurse = Browser::signed_in(&app, "nurse.b", NURSE_PW).await;
        let page = nurse.get("/people/E5678FG").await;
        assert!(page.body.contains(CANARY));
        // Every page read is in the disclosure audit, naming the staff user.
        let (s, audit) = app
            .get_json("ig", "/v1/people/E5678FG/disclosures?limit=100")
            .await;
        assert_eq!(s, 200, "{audit}");
        let text = audit.to_string();
        assert!(
            text.contains("officer.a") && text.contains("staff-web"),
            "{text}"
        );
        assert!(!text.contains(CANARY));
    }
);

on_both_engines!(
    the_nurses_preview_is_what_the_officer_then_sees,
    |app: common::TestApp| async move {
        seed(&app).await;
        let mut nurse = Browser::signed_in(&app, "nurse.b", NURSE_PW).await;
        let form = nurse.get("/people/E5678FG/notices/new").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = hidden(&form.body, "csrf");
        let review = review_by();
        let detail = format!("Levetiracetam 750mg BD {CANARY}");
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("category", "seizure-risk"),
            (
                "instruction",
                "If found fitting: time it, recovery position, call Code Blue. Do not restrain.",
            ),
            ("audience", "all-staff"),
            ("disclosure-level", "with-condition"),
            ("condition", "epilepsy"),
            ("consent-kind", "patient-consent"),
            ("consent-on", "2026-01-05"),
            ("consent-by", "Nurse A Example"),
            ("clinical-detail", detail.as_str()),
            ("lawful-basis", "direct-care"),
            ("review-by", review.as_str()),
            ("author-role", "Registered nurse"),
            ("reg-body", "NMC"),
            ("reg-number", "12A3456E"),
        ];
        let before = app.counts().await;
        fields.push(("action", "preview"));
        let preview = nurse.post("/people/E5678FG/notices/new", &fields).await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        assert_eq!(app.counts().await, before, "a preview stores nothing");
        let wing_preview = notice_body(&preview.body, "data-reader=\"Wing officers\"").to_owned();
        assert!(
            wing_preview.contains("Code Blue") && wing_preview.contains("epilepsy"),
            "{wing_preview}"
        );
        assert!(!wing_preview.contains(CANARY));
        // A bad form is shown again with its errors, and nothing stored.
        let mut bad = fields.clone();
        bad.retain(|(k, _)| *k != "reg-number");
        bad.push(("reg-number", "nonsense"));
        let refused = nurse.post("/people/E5678FG/notices/new", &bad).await;
        assert_eq!(refused.status, 400);
        assert!(
            refused.body.contains("There is a problem")
                && refused.body.contains("href=\"#reg-number\""),
            "{}",
            refused.body
        );

        fields.pop();
        fields.push(("action", "publish"));
        let done = nurse.post("/people/E5678FG/notices/new", &fields).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.headers[LOCATION], "/people/E5678FG?done=published");

        let mut officer = Browser::signed_in(&app, "officer.a", OFFICER_PW).await;
        let page = officer.get("/people/E5678FG").await;
        let seen = notice_body(&page.body, "id=\"notices-heading\"");
        assert_eq!(
            seen, wing_preview,
            "the preview is exactly what the officer sees"
        );
        assert!(!page.body.contains(CANARY));
    }
);

on_both_engines!(
    the_handover_sheet_lists_escort_instructions_only,
    |app: common::TestApp| async move {
        seed(&app).await;
        let (s, _) = app
        .feed(&json!([hmpps("person.alert.created", "E5678FG", 5, json!({"alertUuid": "0c5b7e1a-5d7e-4a36-9a51-4f5b2b8c9d10", "alertCode": "HA", "source": "DPS"}))]))
        .await;
        assert_eq!(s, 200);
        publish_api(
            &app,
            "E5678FG",
            &notice(
                "ESCORT: constant observation during the journey; no ligature points.",
                &["escort"],
            ),
        )
        .await;
        publish_api(
            &app,
            "E5678FG",
            &notice(
                "ALL STAFF: call code blue if found fitting.",
                &["all-staff"],
            ),
        )
        .await;
        publish_api(
            &app,
            "E5678FG",
            &notice(
                "WING ONLY: look through the door at every roll check.",
                &["wing"],
            ),
        )
        .await;
        let mut nurse = Browser::signed_in(&app, "nurse.b", NURSE_PW).await;
        let sheet = nurse.get("/people/E5678FG/handover").await;
        assert_eq!(sheet.status, 200);
        assert!(
            sheet.body.contains("ESCORT: constant observation"),
            "{}",
            sheet.body
        );
        assert!(sheet.body.contains("ALL STAFF: call code blue"));
        assert!(
            !sheet.body.contains("WING ONLY"),
            "wing-only notices are not on the escort sheet"
        );
        assert!(!sheet.body.contains(CANARY) && !sheet.body.contains("Levetiracetam"));
        assert!(sheet.body.contains("ACCT Open"), "active alerts are listed");
        // The officer's sheet has what the wing agreement lets them see.
        let mut officer = Browser::signed_in(&app, "officer.a", OFFICER_PW).await;
        let sheet = officer.get("/people/E5678FG/handover").await;
        assert!(sheet.body.contains("ALL STAFF: call code blue"));
        assert!(!sheet.body.contains("WING ONLY") && !sheet.body.contains(CANARY));
    }
);

on_both_engines!(
    a_person_outside_the_users_establishments_is_a_404_like_nobody,
    |app: common::TestApp| async move {
        seed(&app).await;
        let mut officer = Browser::signed_in(&app, "officer.a", OFFICER_PW).await;
        let elsewhere = officer.get("/people/M1234MD").await;
        let nobody = officer.get("/people/Z9999ZZ").await;
        assert_eq!(elsewhere.status, 404);
        assert_eq!(nobody.status, 404);
        assert_eq!(elsewhere.body, nobody.body, "no probing");
        assert!(!elsewhere.body.contains("LANDER"));
        for path in [
            "/people/M1234MD/handover",
            "/people/M1234MD/live",
            "/establishments/MDI/wings/A",
        ] {
            assert_eq!(officer.get(path).await.status, 404, "{path}");
        }
        let search = officer
            .get("/search?name=MOOR+LANDER&dob-day=6&dob-month=5&dob-year=1975")
            .await;
        assert_eq!(search.status, 200);
        assert!(!search.body.contains("M1234MD"));
        let found = officer
            .get("/search?name=EDWARD+EXAMPLE&dob-day=1&dob-month=2&dob-year=1980")
            .await;
        assert!(found.body.contains("/people/E5678FG"), "{}", found.body);
        // Bad input is a 400 page, never a 500.
        for path in [
            "/people/A12",
            "/search?prisonNumber=nope",
            "/search?name=X&dob-day=31&dob-month=2&dob-year=1980",
            "/establishments/lei!/wings/A",
            "/establishments/LEI/wings/A?landing=%00",
        ] {
            let p = officer.get(path).await;
            assert_eq!(p.status, 400, "{path}: {}", p.body);
        }
        let r = officer
            .post("/people/E5678FG/notices/new", &[("csrf", "x")])
            .await;
        assert_eq!(r.status, 403);
    }
);

on_both_engines!(
    the_live_section_answers_only_when_it_changes,
    |app: common::TestApp| async move {
        seed(&app).await;
        let mut officer = Browser::signed_in(&app, "officer.a", OFFICER_PW).await;
        let page = officer.get("/people/E5678FG").await;
        let marker = "data-live-version=\"";
        let start = page.body.find(marker).unwrap() + marker.len();
        let version = page.body[start..].split('"').next().unwrap().to_owned();
        let same = officer
            .get(&format!("/people/E5678FG/live?v={version}"))
            .await;
        assert_eq!(same.status, 204);
        publish_api(
            &app,
            "E5678FG",
            &notice(
                "Seizure risk. Look through the door at every roll check.",
                &["wing"],
            ),
        )
        .await;
        let changed = officer
            .get(&format!("/people/E5678FG/live?v={version}"))
            .await;
        assert_eq!(changed.status, 200);
        assert!(changed.body.contains("Look through the door"));
        assert!(!changed.body.contains(CANARY));
        let next = changed.headers["x-live-version"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(next, version);
        assert_eq!(
            officer
                .get(&format!("/people/E5678FG/live?v={next}"))
                .await
                .status,
            204
        );
        // Signed out: 401, so the page stops polling.
        let r = Browser::new(&app).get("/people/E5678FG/live").await;
        assert_eq!(r.status, 401);
    }
);

on_both_engines!(
    repeated_failures_lock_the_username_out,
    |app: common::TestApp| async move {
        seed(&app).await;
        let name = format!("locked.{}", uuid::Uuid::new_v4().simple());
        staff(&app, &name, StaffRole::Officer, "LEI", OFFICER_PW).await;
        let mut b = Browser::new(&app);
        for _ in 0..10 {
            assert_eq!(b.sign_in(&name, "wrong-password-x").await.status, 401);
        }
        let locked = b.sign_in(&name, OFFICER_PW).await;
        assert_eq!(locked.status, 429, "{}", locked.body);
        assert!(locked.body.contains("Too many failed attempts"));
        // Other users are not affected.
        assert_eq!(b.sign_in("officer.a", OFFICER_PW).await.status, 303);
    }
);

/// The first `/notices/{id}/revise` link on a page.
fn notice_id(html: &str) -> String {
    let start = html.find("/notices/").expect("a notice link") + "/notices/".len();
    html[start..].split('/').next().unwrap().to_owned()
}

on_both_engines!(
    healthcare_revises_and_withdraws_through_forms,
    |app: common::TestApp| async move {
        seed(&app).await;
        publish_api(
            &app,
            "E5678FG",
            &notice("Seizure risk: first wording.", &["wing"]),
        )
        .await;
        let mut nurse = Browser::signed_in(&app, "nurse.b", NURSE_PW).await;
        let page = nurse.get("/people/E5678FG").await;
        let id = notice_id(&page.body);
        let form = nurse.get(&format!("/notices/{id}/revise")).await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(
            form.body.contains("Seizure risk: first wording."),
            "the form is filled in"
        );
        let csrf = hidden(&form.body, "csrf");
        let version = hidden(&form.body, "version");
        assert_eq!(version, "1");
        let review = review_by();
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("version", "1"),
            ("category", "seizure-risk"),
            ("instruction", "Seizure risk: second wording."),
            ("audience", "wing"),
            ("lawful-basis", "direct-care"),
            ("review-by", review.as_str()),
            ("author-role", "Registered nurse"),
            ("reg-body", "NMC"),
            ("reg-number", "12A3456E"),
            ("action", "publish"),
        ];
        // A revision needs its reason.
        let refused = nurse.post(&format!("/notices/{id}/revise"), &fields).await;
        assert_eq!(refused.status, 400);
        assert!(
            refused.body.contains("href=\"#reason\""),
            "{}",
            refused.body
        );
        fields.push(("reason", "Clearer words for night staff."));
        let done = nurse.post(&format!("/notices/{id}/revise"), &fields).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.headers[LOCATION], "/people/E5678FG?done=revised");
        // The same form again is stale: someone (here, the nurse) changed it first.
        let stale = nurse.post(&format!("/notices/{id}/revise"), &fields).await;
        assert_eq!(stale.status, 409, "{}", stale.body);

        let mut officer = Browser::signed_in(&app, "officer.a", OFFICER_PW).await;
        let seen = officer.get("/people/E5678FG").await;
        assert!(seen.body.contains("Seizure risk: second wording."));
        assert!(!seen.body.contains("first wording"));
        // An officer can neither open the forms nor post them.
        assert_eq!(
            officer.get(&format!("/notices/{id}/revise")).await.status,
            403
        );
        let officer_csrf = officer.csrf().await;
        let r = officer
            .post(
                &format!("/notices/{id}/withdraw"),
                &[
                    ("csrf", &officer_csrf),
                    ("version", "2"),
                    ("reason", "x"),
                    ("author-role", "x"),
                    ("reg-body", "NMC"),
                    ("reg-number", "12A3456E"),
                ],
            )
            .await;
        assert_eq!(r.status, 403);

        let form = nurse.get(&format!("/notices/{id}/withdraw")).await;
        assert_eq!(form.status, 200);
        assert_eq!(hidden(&form.body, "version"), "2");
        let gone = nurse
            .post(
                &format!("/notices/{id}/withdraw"),
                &[
                    ("csrf", &csrf),
                    ("version", "2"),
                    ("reason", "Seizures controlled; reviewed with the patient."),
                    ("author-role", "Registered nurse"),
                    ("reg-body", "NMC"),
                    ("reg-number", "12A3456E"),
                ],
            )
            .await;
        assert_eq!(gone.status, 303, "{}", gone.body);
        assert_eq!(gone.headers[LOCATION], "/people/E5678FG?done=withdrawn");
        let seen = officer.get("/people/E5678FG").await;
        assert!(
            !seen.body.contains("second wording"),
            "withdrawn: prison staff no longer see it"
        );
        // History is kept.
        let (s, versions) = app
            .get_json("lei-health", &format!("/v1/safety-notices/{id}/versions"))
            .await;
        assert_eq!(s, 200);
        assert_eq!(versions.as_array().unwrap().len(), 3);
        // A withdrawn notice's forms say so.
        assert_eq!(
            nurse.get(&format!("/notices/{id}/withdraw")).await.status,
            409
        );
    }
);

/// Every same-site link on a page.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

on_both_engines!(
    an_officer_crawling_every_page_never_meets_clinical_detail_or_a_condition_without_consent,
    |app: common::TestApp| async move {
        seed(&app).await;
        let condition = "CANARYCONDITION";
        let mut n = notice(
            "Observe at every roll check; call code blue if found fitting.",
            &["wing", "escort", "all-staff"],
        );
        n["condition"] = json!(condition);
        publish_api(&app, "E5678FG", &n).await;
        let r = app
            .post_json(
                "mdi-health",
                "/v1/people/M1234MD/safety-notices",
                &notice("Elsewhere.", &["wing"]),
            )
            .await;
        assert_eq!(r.status(), 201);
        let mut officer = Browser::signed_in(&app, "officer.a", OFFICER_PW).await;
        let mut queue: std::collections::VecDeque<String> = [
            "/",
            "/roll",
            "/search?prisonNumber=E5678FG",
            "/search?name=EDWARD+EXAMPLE&dob-day=1&dob-month=2&dob-year=1980",
            "/people/E5678FG",
            "/people/E5678FG/live",
            "/people/E5678FG/handover",
            "/people/E5678FG/notices/new",
            "/establishments/LEI/wings/A",
            "/establishments/LEI/wings/A?landing=2",
            "/people/M1234MD",
            "/staff",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        let mut seen = std::collections::HashSet::new();
        while let Some(path) = queue.pop_front() {
            if !seen.insert(path.clone()) || seen.len() > 200 {
                continue;
            }
            let page = officer.get(&path).await;
            for canary in [CANARY, condition, "Levetiracetam", "Elsewhere."] {
                assert!(!page.body.contains(canary), "{path} shows {canary}");
                for (k, v) in &page.headers {
                    assert!(
                        !v.to_str().unwrap_or_default().contains(canary),
                        "{path} header {k} shows {canary}"
                    );
                }
            }
            for link in links(&page.body) {
                if !link.starts_with("/static/") {
                    queue.push_back(link);
                }
            }
        }
        assert!(seen.len() >= 10, "crawled {seen:?}");
    }
);

/// Books an appointment through the API as Leeds healthcare; returns its id.
async fn book_api(app: &common::TestApp, body: &Value) -> String {
    let r = app.post_json("lei-health", "/v1/appointments", body).await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["id"]
        .as_str()
        .or_else(|| v["appointments"][0]["id"].as_str())
        .unwrap_or_else(|| panic!("an id in {v}"))
        .to_owned()
}

on_both_engines!(
    the_unlock_list_shows_the_day_in_time_order_with_escort_needs_and_wing_instructions_and_records_attendance,
    |app: common::TestApp| async move {
        seed(&app).await;
        publish_api(
            &app,
            "E5678FG",
            &notice("Two officers on escort; check the door hourly.", &["wing", "escort"]),
        )
        .await;
        // Two appointments later today (or just after midnight, whichever comes first), booked out of order.
        let now = chrono::Utc::now();
        let first = now + chrono::Duration::minutes(2);
        let day = first.date_naive();
        let second = (first + chrono::Duration::minutes(30)).min(
            day.and_hms_opt(23, 59, 0).unwrap().and_utc(),
        );
        let external = book_api(
            &app,
            &json!({"prisonNumber": "E5678FG", "type": "HOSP-OP", "startsAt": second.to_rfc3339(),
                    "durationMinutes": 60, "place": {"kind": "external", "location": "Leeds General Infirmary"}}),
        )
        .await;
        let internal = book_api(
            &app,
            &json!({"prisonNumber": "E5678FG", "type": "MEDE", "startsAt": first.to_rfc3339(),
                    "place": {"kind": "internal", "room": "Dental suite"},
                    "clinicalNote": format!("Abscess. {CANARY}")}),
        )
        .await;
        let mut officer = Browser::signed_in(&app, "officer.a", OFFICER_PW).await;
        let home = officer.get("/").await;
        assert!(home.body.contains("href=\"/appointments\""));
        assert!(home.body.contains("href=\"/attendance\""));
        let picked = officer.get(&format!("/appointments?establishment=lei&date={day}&wing=a")).await;
        assert_eq!(picked.status, 303);
        let path = format!("/establishments/LEI/appointments?date={day}&wing=A");
        assert_eq!(picked.headers[LOCATION], path.as_str());
        let list = officer.get(&path).await;
        assert_eq!(list.status, 200, "{}", list.body);
        let b = &list.body;
        let (i, e) = (
            b.find(&format!("appt-{internal}")).expect("the internal entry"),
            b.find(&format!("appt-{external}")).expect("the external entry"),
        );
        assert!(i < e, "time order");
        for shown in [
            "E5678FG",
            "LEI-A-2-014",
            "MEDE",
            "Dentist",
            "HOSP-OP",
            "Leeds General Infirmary",
            "Escort NOT yet planned",
            "Two officers on escort; check the door hourly.",
        ] {
            assert!(b.contains(shown), "{shown} not on the list");
        }
        assert!(!b.contains(CANARY) && !b.contains("Abscess"), "no clinical detail");
        // DNA and WNB reasons in separate groups of the outcome select.
        let dna = b.find("<optgroup label=\"Did not attend").unwrap();
        let wnb = b.find("<optgroup label=\"Was not brought").unwrap();
        let dna_group = &b[dna..b[dna..].find("</optgroup>").unwrap() + dna];
        assert!(dna_group.contains("did-not-attend:refused") && !dna_group.contains("was-not-brought:"));
        let wnb_group = &b[wnb..b[wnb..].find("</optgroup>").unwrap() + wnb];
        assert!(wnb_group.contains("was-not-brought:no-escort-staff") && !wnb_group.contains("did-not-attend:"));
        assert!(!b.contains("cancelled-by-healthcare"), "healthcare's outcomes are not offered to officers");
        // Another wing's list does not hold him.
        let other = officer.get(&format!("/establishments/LEI/appointments?date={day}&wing=B")).await;
        assert_eq!(other.status, 200);
        assert!(!other.body.contains("E5678FG"));
        // Bad input is a 400 page; another prison is as if absent.
        for bad in [
            "/establishments/LEI/appointments?date=2026-02-30".to_owned(),
            "/establishments/LEI/appointments?date=tomorrow".to_owned(),
            format!("/establishments/LEI/appointments?date={day}&wing=%3Cscript%3E"),
            "/establishments/L%3CI/appointments".to_owned(),
        ] {
            assert_eq!(officer.get(&bad).await.status, 400, "{bad}");
        }
        let mdi = officer.get(&format!("/establishments/MDI/appointments?date={day}")).await;
        assert!(matches!(mdi.status.as_u16(), 403 | 404), "{}", mdi.status);

        // The person page and the escort handover sheet carry the same appointments, never clinical.
        for page in ["/people/E5678FG", "/people/E5678FG/handover"] {
            let p = officer.get(page).await;
            assert_eq!(p.status, 200, "{page}");
            assert!(p.body.contains("Healthcare appointments: today and next"), "{page}");
            assert!(p.body.contains("Leeds General Infirmary") && p.body.contains("Escort NOT yet planned"), "{page}: {}", p.body);
            assert!(p.body.contains("Dentist (MEDE)"), "{page}");
            assert!(!p.body.contains(CANARY) && !p.body.contains("Abscess"), "{page}");
        }
        // The officer plans the escort from the list; a bad count is a 400 page.
        let csrf = hidden(b, "csrf");
        assert!(b.contains("Plan the escort"));
        let escort = format!("/appointments/{external}/escort");
        let bad = officer
            .post(&escort, &[("csrf", csrf.as_str()), ("officers", "nine"), ("vehicle", "car"), ("restraint", "none"), ("decided-by", "SO")])
            .await;
        assert_eq!(bad.status, 400);
        let planned = officer
            .post(&escort, &[("csrf", csrf.as_str()), ("officers", "2"), ("vehicle", "cellular-vehicle"), ("restraint", "handcuffs"),
                             ("decided-by", "Duty governor"), ("next", path.as_str())])
            .await;
        assert_eq!(planned.status, 303, "{}", planned.body);
        let (_, v) = app.get_json("lei-health", &format!("/v1/appointments/{external}")).await;
        assert_eq!(v["escort"]["officers"], 2, "{v}");
        assert_eq!(v["escort"]["restraint"], "handcuffs");
        let list = officer.get(&path).await;
        assert!(list.body.contains("2 officers, cellular vehicle, restraint: handcuffs (decided by Duty governor)"), "{}", list.body);
        // Record a WNB from the list; without the CSRF token it is refused.
        let action = format!("/appointments/{external}/attendance");
        let fields = [("result", "was-not-brought:no-escort-staff"), ("next", path.as_str())];
        let refused = officer.post(&action, &fields).await;
        assert_eq!(refused.status, 403);
        let mut with_csrf = vec![("csrf", csrf.as_str())];
        with_csrf.extend(fields);
        let done = officer.post(&action, &with_csrf).await;
        assert_eq!(done.status, 303, "{}", done.body);
        let back = done.headers[LOCATION].to_str().unwrap().to_owned();
        assert!(back.starts_with(&path) && back.contains("done=recorded"), "{back}");
        let list = officer.get(back.split('#').next().unwrap()).await;
        assert!(list.body.contains("Was not brought: no escort staff"), "{}", list.body);
        let (_, v) = app
            .get_json("lei-health", &format!("/v1/appointments/{external}"))
            .await;
        assert_eq!(v["outcome"]["outcome"], "was-not-brought", "{v}");
        assert_eq!(v["outcome"]["reason"], "no-escort-staff", "{v}");
        // A form with nothing chosen, or a reason from the other group, is a 4xx page, never a 500.
        let blank = officer.post(&action, &[("csrf", csrf.as_str()), ("result", "")]).await;
        assert_eq!(blank.status, 400);
        let mixed = officer
            .post(&format!("/appointments/{internal}/attendance"), &[("csrf", csrf.as_str()), ("result", "was-not-brought:refused")])
            .await;
        assert!(mixed.status.is_client_error(), "{}", mixed.status);
    }
);

on_both_engines!(
    the_attendance_dashboard_draws_svg_charts_and_serves_the_csv_and_refuses_bad_input_with_400,
    |app: common::TestApp| async move {
        seed(&app).await;
        staff(
            &app,
            "admin.c",
            StaffRole::Admin,
            "LEI",
            "admin-password-12",
        )
        .await;
        let mut officer = Browser::signed_in(&app, "officer.a", OFFICER_PW).await;
        let page = officer.get("/attendance").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let b = &page.body;
        assert!(b.matches("<svg ").count() >= 6, "charts drawn");
        for id in [
            "chart-trend",
            "chart-dna-reasons",
            "chart-wnb-reasons",
            "chart-by-establishment",
        ] {
            assert!(b.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(
            b.contains("<title id=\"chart-trend-title\">")
                && b.contains("<desc id=\"chart-trend-desc\">")
        );
        assert!(
            !b.contains("NaN") && !b.contains("style="),
            "no NaN, no inline style (CSP)"
        );
        assert!(
            !b.contains("http://")
                || b.matches("http://").count()
                    == b.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
            "no external reference but the SVG namespace"
        );
        let csv_href = b
            .split("id=\"download-csv\"")
            .next()
            .and_then(|s| s.rsplit("href=\"").next())
            .and_then(|s| s.split('"').next())
            .expect("a CSV link")
            .replace("&amp;", "&");
        assert!(csv_href.starts_with("/attendance.csv?"), "{csv_href}");
        let csv = officer.get(&csv_href).await;
        assert_eq!(csv.status, 200);
        assert!(
            csv.headers[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(
            csv.headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        for bad in [
            "/attendance?from=2026-13-01",
            "/attendance?to=yesterday",
            "/attendance?from=2026-05-01&to=2026-04-01",
            "/attendance?from=2001-01-01&to=2026-01-01",
            "/attendance?establishment=%3Cscript%3E",
            "/attendance.csv?from=nonsense",
        ] {
            let r = officer.get(bad).await;
            assert_eq!(r.status, 400, "{bad}: {}", r.body);
            assert!(!r.body.contains("<script>"));
        }
        let elsewhere = officer.get("/attendance?establishment=MDI").await;
        assert!(
            matches!(elsewhere.status.as_u16(), 403 | 404),
            "{}",
            elsewhere.status
        );
        let mut admin = Browser::signed_in(&app, "admin.c", "admin-password-12").await;
        assert_eq!(admin.get("/attendance").await.status, 403);
        let mut nobody = Browser::new(&app);
        assert_eq!(nobody.get("/attendance").await.status, 303);
    }
);
