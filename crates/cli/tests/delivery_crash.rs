//! Nothing is lost when Gatehouse is killed mid-delivery: `gatehouse serve` is
//! killed with SIGKILL while it delivers to a (slow) receiver, restarted on
//! the same database, and the receiver ends with every event. Duplicates are
//! allowed; each delivery of an event carries that event's one `webhook-id`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A minimal HTTP/1.1 receiver on a thread: records each webhook's id and
/// event type, answers 204 after `delay`.
fn receiver(delay: Duration) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let g = g.clone();
            std::thread::spawn(move || serve_connection(conn, g, delay));
        }
    });
    (url, got)
}

fn serve_connection(conn: TcpStream, got: Arc<Mutex<Vec<(String, String)>>>, delay: Duration) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    loop {
        let mut id = String::new();
        let mut len = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                match k.to_ascii_lowercase().as_str() {
                    "webhook-id" => id = v.trim().to_owned(),
                    "content-length" => len = v.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        std::thread::sleep(delay);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let t = v["type"].as_str().unwrap_or_default().to_owned();
        // Recorded only once the answer is on its way, as a real receiver commits then acknowledges.
        if writer
            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
        got.lock().unwrap().push((id, t));
    }
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn gatehouse(db: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_DATABASE_URL", db)
        .output()
        .expect("gatehouse runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn key_from(output: &str) -> String {
    output
        .split_whitespace()
        .find(|w| w.starts_with("gh_"))
        .expect("an API key is printed")
        .to_owned()
}

fn serve(db: &str, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("GATEHOUSE_DATABASE_URL", db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gatehouse serve starts");
    let started = Instant::now();
    while reqwest_blocking_status(&format!("http://127.0.0.1:{port}/health/ready"), None)
        != Some(200)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Server(child)
}

/// A tiny blocking HTTP client via curl, so this test needs no async runtime.
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

fn reqwest_blocking_status(url: &str, key: Option<&str>) -> Option<u16> {
    let mut args = vec![url.to_owned()];
    if let Some(k) = key {
        args.push("-H".into());
        args.push(format!("Authorization: Bearer {k}"));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    Some(curl(&a).0).filter(|c| *c != 0)
}

fn post(port: u16, key: &str, path: &str, body: &serde_json::Value) -> (u16, String) {
    curl(&[
        "-X",
        "POST",
        &format!("http://127.0.0.1:{port}{path}"),
        "-H",
        &format!("Authorization: Bearer {key}"),
        "-H",
        "content-type: application/json",
        "--data-binary",
        &body.to_string(),
    ])
}

#[test]
fn kill_9_mid_delivery_loses_nothing() {
    let dir =
        std::env::temp_dir().join(format!("gatehouse-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("gatehouse.db").display());
    gatehouse(&db, &["migrate"]);
    let feed = key_from(&gatehouse(
        &db,
        &[
            "consumer",
            "add",
            "--name",
            "feed",
            "--template",
            "prison-feed",
            "--establishments",
            "*",
        ],
    ));
    let health = key_from(&gatehouse(
        &db,
        &[
            "consumer",
            "add",
            "--name",
            "lei-health",
            "--template",
            "prison-healthcare",
            "--establishments",
            "LEI",
        ],
    ));

    let (url, got) = receiver(Duration::from_millis(15));
    let port = free_port();
    let first = serve(&db, port);
    let (s, body) = post(
        port,
        &health,
        "/v1/subscriptions",
        &serde_json::json!({"url": url}),
    );
    assert_eq!(s, 201, "{body}");

    // 300 events for 30 people, posted in batches.
    let now = chrono::Utc::now();
    for batch in 0..10 {
        let items: Vec<serde_json::Value> = (0..30)
            .map(|i| {
                let n = batch * 30 + i;
                let pn = format!("K{:04}AA", n % 30 + 1000);
                let kind = if n < 30 { "reception" } else { "cell-move" };
                let mut m = serde_json::json!({"kind": kind, "establishment": "LEI", "cell": format!("LEI-A-1-{:03}", n % 900 + 1)});
                if kind == "reception" {
                    m["reason"] = "NEW_ADMISSION".into();
                }
                serde_json::json!({"id": format!("ev-{n}"), "type": "gatehouse.movement",
                    "occurredAt": (now - chrono::Duration::seconds(3000 - n as i64)).to_rfc3339(),
                    "prisonNumber": pn, "movement": m})
            })
            .collect();
        let (s, body) = post(port, &feed, "/v1/prison-events", &serde_json::json!(items));
        assert_eq!(s, 200, "{body}");
    }

    // Kill it while it is still delivering.
    let started = Instant::now();
    while got.lock().unwrap().len() < 40 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "deliveries did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut first = first;
    first.0.kill().unwrap(); // SIGKILL: no shutdown, no flush.
    first.0.wait().unwrap();
    let at_kill = got.lock().unwrap().len();
    assert!(
        at_kill < 300,
        "the kill came after everything was delivered ({at_kill}): the test proves nothing"
    );

    // Restart on the same database: every event arrives.
    let _second = serve(&db, port);
    let (s, page) = curl(&[
        &format!("http://127.0.0.1:{port}/v1/events?limit=500"),
        "-H",
        &format!("Authorization: Bearer {health}"),
    ]);
    assert_eq!(s, 200);
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    let expected: BTreeSet<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), 300);
    let started = Instant::now();
    loop {
        let ids: BTreeSet<String> = got
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        if expected.is_subset(&ids) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "after the restart {} of 300 events arrived",
            expected.intersection(&ids).count()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Duplicates are allowed (an attempt in flight at the kill), each with its event's id and type.
    let mut by_id: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, t) in got.lock().unwrap().iter() {
        by_id.entry(id.clone()).or_default().insert(t.clone());
    }
    assert!(
        by_id.values().all(|types| types.len() == 1),
        "one webhook-id, one event"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
