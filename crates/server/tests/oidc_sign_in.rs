//! Staff sign-in through a real OpenID Connect provider (the npm package
//! `oidc-provider`, started from tests/oidc/), on both engines: the whole
//! authorization code flow with PKCE, driven like a browser; a page read
//! under the new session is recorded naming the linked staff user; a tampered
//! state, a replayed code and an unlinked subject are refused.
//!
//! Needs `node` and `npm ci --prefix tests/oidc`: without them it fails, never skips.

mod common;

use common::items::*;
use gatehouse_server::http::web::oidc::OidcConfig;
use gatehouse_store::{EngineKind, NewStaffUser, StaffRole};
use reqwest::redirect::Policy;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const SUBJECT: &str = "nhs-subject-0001";
const PROVIDER: &str = "Test NHS Login";

/// The provider process; killed when dropped.
struct Provider {
    child: Child,
    issuer: String,
    /// Kept open: a closed pipe would fail the provider's later writes.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider(redirect_uri: &str) -> Provider {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc");
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "the test OpenID Connect provider is not installed: run `npm ci --prefix tests/oidc --no-audit --no-fund`"
    );
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .arg(redirect_uri)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node must be installed to run the OpenID Connect sign-in test");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the provider did not start ({e}): {line:?}"));
    Provider {
        issuer: v["issuer"].as_str().unwrap().to_owned(),
        child,
        _stdout: stdout,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A browser: cookies kept, redirects followed by hand so each hop can be seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Follows redirects from `resp` until an answer that is not one, or until
/// the next hop is Gatehouse's callback (returned unvisited).
async fn follow(
    b: &reqwest::Client,
    mut resp: reqwest::Response,
) -> Result<reqwest::Response, reqwest::Url> {
    for _ in 0..20 {
        if !resp.status().is_redirection() {
            return Ok(resp);
        }
        let loc = resp.headers()["location"].to_str().unwrap().to_owned();
        let next = resp.url().join(&loc).unwrap();
        if next.path() == "/sign-in/oidc/callback" {
            return Err(next);
        }
        resp = b.get(next).send().await.unwrap();
    }
    panic!("too many redirects");
}

/// The `action` of the page's form, made absolute.
fn form_action(resp_url: &reqwest::Url, html: &str) -> reqwest::Url {
    let start = html.find("action=\"").expect("a form") + 8;
    let end = start + html[start..].find('"').unwrap();
    resp_url.join(&html[start..end]).unwrap()
}

/// Signs in at the provider as `account` (login form, then consent if asked),
/// starting from Gatehouse's sign-in link; returns the callback URL the
/// provider sends the browser back to.
async fn through_provider(
    app: &common::TestApp,
    b: &reqwest::Client,
    account: &str,
) -> reqwest::Url {
    let start = b
        .get(app.url("/sign-in/oidc?next=/people/A1234BC"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let mut resp = match follow(b, start).await {
        Ok(r) => r,
        Err(callback) => return callback,
    };
    for _ in 0..3 {
        assert_eq!(resp.status(), 200);
        let url = resp.url().clone();
        let html = resp.text().await.unwrap();
        let action = form_action(&url, &html);
        let post = if html.contains("name=\"login\"") {
            b.post(action).form(&[("login", account)])
        } else {
            b.post(action).form(&[("confirm", "yes")])
        };
        match follow(b, post.send().await.unwrap()).await {
            Ok(r) => resp = r,
            Err(callback) => return callback,
        }
    }
    panic!("the provider never sent the browser back");
}

fn with_state(url: &reqwest::Url, state: &str) -> reqwest::Url {
    let mut u = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                state.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u
}

fn param(url: &reqwest::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

async fn run(engine: EngineKind, tag: &str) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let provider = start_provider(&format!("{base}/sign-in/oidc/callback"));
    let issuer = provider.issuer.clone();
    let app = common::TestApp::spawn_with(engine, tag, |c| {
        c.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.oidc = Some(OidcConfig {
            issuer,
            client_id: "gatehouse".into(),
            client_secret: None,
            public_url: base.clone(),
            provider_name: PROVIDER.into(),
        });
    })
    .await;
    let (s, _) = app
        .feed(&serde_json::json!([reception("r1", "A1234BC", "LEI", 10)]))
        .await;
    assert_eq!(s, 200);
    app.store
        .create_staff_user(&NewStaffUser {
            username: "nurse.oidc".into(),
            display_name: "Nurse Oidc".into(),
            role: StaffRole::Healthcare,
            establishments: gatehouse_domain::Scope::parse("LEI").unwrap(),
            // No local password: this account signs in through the provider only.
            password_hash: "!".into(),
        })
        .await
        .unwrap();
    assert!(
        app.store
            .set_oidc_subject("nurse.oidc", Some(SUBJECT))
            .await
            .unwrap()
    );

    let b = browser();
    let page = b.get(app.url("/sign-in")).send().await.unwrap();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(&format!("Sign in with {PROVIDER}")),
        "the sign-in page offers the provider beside the local form"
    );

    let callback = through_provider(&app, &b, SUBJECT).await;
    assert!(!param(&callback, "code").is_empty());

    // A tampered state is refused, and starts no session.
    let tampered = with_state(&callback, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let r = b.get(tampered).send().await.unwrap();
    assert_eq!(r.status(), 400);

    // The genuine callback signs in.
    let r = b.get(callback.clone()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("You are signed in"), "{html}");
    assert!(html.contains("url=/people/A1234BC"), "{html}");
    let person = b.get(app.url("/people/A1234BC")).send().await.unwrap();
    assert_eq!(person.status(), 200, "signed in, the person page shows");
    assert!(person.text().await.unwrap().contains("Nurse Oidc"));

    // The page read is recorded naming the linked staff user.
    let (s, page) = app
        .get_json("ig", "/v1/people/A1234BC/disclosures?limit=100")
        .await;
    assert_eq!(s, 200);
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["consumer"] == "staff-web" && d["staffUser"] == "nurse.oidc"),
        "{page}"
    );

    // The same callback again: its sign-in was used.
    let r = b.get(callback.clone()).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // The used code with a fresh sign-in's state: the provider refuses the replayed code.
    let fresh = b.get(app.url("/sign-in/oidc")).send().await.unwrap();
    let to_provider = reqwest::Url::parse(fresh.headers()["location"].to_str().unwrap()).unwrap();
    let replay = with_state(&callback, &param(&to_provider, "state"));
    let r = b.get(replay).send().await.unwrap();
    assert_eq!(r.status(), 401, "a replayed code is refused");

    // A subject linked to no staff account: a 403 page and no session.
    let stranger = browser();
    let callback = through_provider(&app, &stranger, "someone-unlinked").await;
    let r = stranger.get(callback).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("not linked"));
    let r = stranger
        .get(app.url("/people/A1234BC"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "no session: back to sign-in");
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in")
    );
    drop(provider);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_sign_in_sqlite() {
    run(EngineKind::Sqlite, "oidc_sign_in").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_sign_in_postgres() {
    run(EngineKind::Postgres, "oidc_sign_in").await;
}
