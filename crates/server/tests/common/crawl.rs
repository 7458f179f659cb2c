//! The confidentiality crawl: call every endpoint, and follow every link, as
//! a given caller, and report anywhere a canary string shows up (bodies,
//! headers, errors; the caller checks the logs).
//!
//! How capabilities join it (register, don't copy):
//! - Every operation in `/openapi.json` is crawled automatically. A path
//!   parameter needs a value: add it to [`Fixtures::params`] where the test
//!   builds its fixtures (the crawl fails naming any parameter without one).
//! - Query strings worth trying go in [`Fixtures::queries`], by path template.
//! - Surfaces outside the OpenAPI document (web pages, `/fhir/r4`) register
//!   their entry points in [`Fixtures::extra`]; their links are followed too.
//! - Writes are sent each body in [`Fixtures::bodies`] (which should carry
//!   the canaries, so an error that echoes its input is caught).

use reqwest::Method;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// What the crawl needs to fill in and send.
#[derive(Default)]
pub struct Fixtures {
    /// Path parameter → the value to use, e.g. `prisonNumber` → `A1234BC`.
    /// A key `"<template>#<name>"` gives one template its own value.
    pub params: HashMap<String, String>,
    /// Path template → query strings to try besides none, e.g. `/v1/people` → `nhsNumber=…`.
    pub queries: HashMap<&'static str, Vec<String>>,
    /// Entry points outside the OpenAPI document: (method, concrete path).
    pub extra: Vec<(Method, String)>,
    /// Bodies sent with every write (POST, PUT, PATCH, DELETE).
    pub bodies: Vec<Value>,
}

/// How a caller identifies itself: the consumer's key and extra headers.
#[derive(Debug, Clone)]
pub struct CrawlCaller {
    pub consumer: &'static str,
    pub key: String,
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Debug, Default)]
pub struct CrawlReport {
    pub requests: usize,
    /// Where a canary was seen: "<caller> <method> <path>: <where>".
    pub leaks: Vec<String>,
    /// Any 5xx: never acceptable.
    pub server_errors: Vec<String>,
    pub statuses: BTreeMap<u16, usize>,
}

/// Every operation in the OpenAPI document as (method, concrete path), plus the extras.
pub fn endpoints(openapi: &Value, fx: &Fixtures) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    let paths = openapi["paths"].as_object().expect("openapi paths");
    for (template, ops) in paths {
        let concrete = fill(template, &fx.params);
        for (m, _) in ops.as_object().into_iter().flatten() {
            let method = match m.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            out.push((method.clone(), concrete.clone()));
            if method == Method::GET {
                for q in fx.queries.get(template.as_str()).into_iter().flatten() {
                    out.push((Method::GET, format!("{concrete}?{q}")));
                }
            }
        }
    }
    out.extend(fx.extra.iter().cloned());
    out
}

/// Fills `{param}`s; panics naming a parameter no capability registered.
fn fill(template: &str, params: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("closing brace") + start;
        let name = &rest[start + 1..end];
        let specific = format!("{template}#{name}");
        let value = params.get(&specific).or_else(|| params.get(name)).unwrap_or_else(|| {
            panic!("the crawl has no value for path parameter `{name}` of {template}: register one in Fixtures::params")
        });
        out.push_str(&rest[..start]);
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Links in a JSON body: every string that is a path on this server.
fn json_links(v: &Value, base: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            let s = s.strip_prefix(base).unwrap_or(s);
            if s.starts_with("/v1/") || s.starts_with("/fhir/") {
                out.push(s.to_owned());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| json_links(x, base, out)),
        Value::Object(o) => o.values().for_each(|x| json_links(x, base, out)),
        _ => {}
    }
}

/// Links in an HTML page: `href="/…"` and `action="/…"` on this server.
fn html_links(text: &str, out: &mut Vec<String>) {
    for attr in ["href=\"", "action=\"", "src=\""] {
        for piece in text.split(attr).skip(1) {
            if let Some(end) = piece.find('"') {
                let link = piece[..end].replace("&amp;", "&");
                if link.starts_with('/') && !link.starts_with("//") {
                    out.push(link);
                }
            }
        }
    }
}

/// Calls every endpoint as `caller`, follows links (GET only) up to `max_requests`,
/// and reports each place a canary appeared.
pub async fn crawl(
    client: &reqwest::Client,
    base: &str,
    caller: &CrawlCaller,
    start: &[(Method, String)],
    fx: &Fixtures,
    canaries: &[&str],
    max_requests: usize,
) -> CrawlReport {
    let mut report = CrawlReport::default();
    let mut seen: HashSet<(Method, String)> = HashSet::new();
    let mut queue: VecDeque<(Method, String)> = start.iter().cloned().collect();
    let who = format!(
        "{}[{}]",
        caller.consumer,
        caller
            .headers
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    while let Some((method, path)) = queue.pop_front() {
        if report.requests >= max_requests {
            break;
        }
        if !seen.insert((method.clone(), path.clone())) {
            continue;
        }
        let writes = method != Method::GET && method != Method::HEAD;
        let bodies: Vec<Option<&Value>> = if writes {
            fx.bodies.iter().map(Some).collect()
        } else {
            vec![None]
        };
        for body in bodies {
            let mut r = client
                .request(method.clone(), format!("{base}{path}"))
                .bearer_auth(&caller.key);
            for (k, v) in &caller.headers {
                r = r.header(*k, v);
            }
            if let Some(b) = body {
                r = r.json(b);
            }
            let resp = r.send().await.expect("request sent");
            report.requests += 1;
            let status = resp.status().as_u16();
            *report.statuses.entry(status).or_default() += 1;
            let mut links = Vec::new();
            for (name, value) in resp.headers() {
                let v = String::from_utf8_lossy(value.as_bytes());
                for c in canaries {
                    if v.contains(c) {
                        report
                            .leaks
                            .push(format!("{who} {method} {path}: header {name}"));
                    }
                }
                if name == reqwest::header::LOCATION && v.starts_with('/') {
                    links.push(v.to_string());
                }
            }
            let is_html = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .is_some_and(|t| t.to_str().unwrap_or_default().starts_with("text/html"));
            let text = resp.text().await.unwrap_or_default();
            for c in canaries {
                if text.contains(c) {
                    report
                        .leaks
                        .push(format!("{who} {method} {path} ({status}): body"));
                }
            }
            if status >= 500 {
                report
                    .server_errors
                    .push(format!("{who} {method} {path}: {status} {text}"));
            }
            if is_html {
                html_links(&text, &mut links);
            } else if let Ok(v) = serde_json::from_str::<Value>(&text) {
                json_links(&v, base, &mut links);
            }
            for l in links {
                queue.push_back((Method::GET, l));
            }
        }
    }
    report
}
