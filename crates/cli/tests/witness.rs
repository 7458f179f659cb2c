//! `gatehouse audit witness` and `gatehouse audit verify --witnessed`, the
//! real binary against a real `gatehouse serve`, on both engines: a
//! rewrite with the checkpoints dropped is a FORK to the witness and a
//! mismatch to verify; a witness that started after it agrees with the log,
//! until it compares notes with the first (`--peer`); a truncation with the
//! head rewound is a ROLLBACK.

use gatehouse_store::EngineKind;
use gatehouse_store::testing::audit_attacks;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn gatehouse(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_DATABASE_URL", db)
        .env_remove("GATEHOUSE_AUDIT_SIGNING_KEY")
        .output()
        .expect("gatehouse runs")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Exit status 2 and the one line on standard error.
fn caught(out: Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    err
}

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves with the signing key in the file `key`, or, given `env_key`, in
/// `GATEHOUSE_AUDIT_SIGNING_KEY` (then the file is neither read nor made).
fn serve(db: &str, port: u16, key: &Path, env_key: Option<&str>) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--audit-key")
        .arg(key)
        .env("GATEHOUSE_DATABASE_URL", db)
        .env_remove("GATEHOUSE_AUDIT_SIGNING_KEY");
    if let Some(hex_key) = env_key {
        command.env("GATEHOUSE_AUDIT_SIGNING_KEY", hex_key);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gatehouse serve starts");
    let started = Instant::now();
    while curl(&[&format!("http://127.0.0.1:{port}/health/ready")]).0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Server(child)
}

struct Setup {
    db: String,
    dir: PathBuf,
    base: String,
    key: String,
    public_key: String,
    _server: Server,
}

impl Setup {
    fn new(db: String, tag: &str) -> Self {
        Self::new_with(db, tag, None)
    }

    fn new_with(db: String, tag: &str, env_key: Option<&str>) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-witness-{tag}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        ok(gatehouse(&db, &["migrate"]));
        let added = ok(gatehouse(
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
        let key = added
            .split_whitespace()
            .find(|w| w.starts_with("gh_"))
            .expect("an API key is printed")
            .to_owned();
        let port = free_port();
        let server = serve(&db, port, &dir.join("audit-key"), env_key);
        let base = format!("http://127.0.0.1:{port}");
        let mut s = Self {
            db,
            dir,
            base,
            key,
            public_key: String::new(),
            _server: server,
        };
        let (code, body) = s.get("/v1/audit/checkpoint");
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        s.public_key = v["publicKey"].as_str().unwrap().to_owned();
        s
    }

    fn get(&self, path: &str) -> (u16, String) {
        curl(&[
            &format!("{}{path}", self.base),
            "-H",
            &format!("Authorization: Bearer {}", self.key),
        ])
    }

    /// A feed write: one disclosure record each.
    fn write(&self, n: usize) {
        for i in 0..n {
            let body = serde_json::json!([{
                "id": format!("ev-{}", uuid::Uuid::new_v4().simple()), "type": "gatehouse.movement",
                "occurredAt": (chrono::Utc::now() - chrono::Duration::seconds(600 - i as i64)).to_rfc3339(),
                "prisonNumber": "K1000AA",
                "movement": {"kind": "reception", "reason": "NEW_ADMISSION", "establishment": "LEI", "cell": "LEI-A-1-001"}
            }]);
            let (code, out) = curl(&[
                "-X",
                "POST",
                &format!("{}/v1/prison-events", self.base),
                "-H",
                &format!("Authorization: Bearer {}", self.key),
                "-H",
                "content-type: application/json",
                "--data-binary",
                &body.to_string(),
            ]);
            assert_eq!(code, 200, "{out}");
        }
        // Let the checkpointer sign them (1 s cadence).
        std::thread::sleep(Duration::from_millis(1500));
    }

    fn witness(&self, state: &str, extra: &[&str]) -> Output {
        let state = self.dir.join(state);
        let mut args = vec![
            "audit",
            "witness",
            "--url",
            &self.base,
            "--key",
            &self.key,
            "--public-key",
            &self.public_key,
            "--state",
        ];
        let state = state.to_str().unwrap().to_owned();
        args.push(&state);
        args.extend_from_slice(extra);
        gatehouse(&self.db, &args)
    }

    fn verify_witnessed(&self, state: &str) -> Output {
        let mut notes: Vec<String> = std::fs::read_dir(self.dir.join(state).join("checkpoints"))
            .unwrap()
            .map(|e| e.unwrap().path().display().to_string())
            .collect();
        notes.sort();
        let mut args = vec![
            "audit",
            "verify",
            "--public-key",
            &self.public_key,
            "--cadence",
            "off",
            "--witnessed",
        ];
        args.extend(notes.iter().map(String::as_str));
        gatehouse(&self.db, &args)
    }
}

/// Forges record `seq` and makes every hash, the head and the checkpoints agree.
async fn rewrite(url: &str, seq: i64) {
    audit_attacks::rewrite_record(url, seq, |c| c.replacen('{', "{\"forged\":true,", 1)).await;
}

/// Cuts the log after record `keep` and rewinds the head.
async fn truncate(url: &str, keep: i64) {
    audit_attacks::truncate_log(url, keep).await;
}

async fn rewrite_and_fork(engine: EngineKind) {
    let url = gatehouse_store::testing::fresh_url(engine, "cliwitnessfork").await;
    let s = Setup::new(url.clone(), "fork");
    s.write(3);
    assert!(ok(s.witness("a", &[])).contains("first checkpoint held"));
    s.write(3);
    assert!(ok(s.witness("a", &[])).contains("consistent"));
    ok(s.verify_witnessed("a"));

    rewrite(&url, 2).await;
    // The database alone passes.
    ok(gatehouse(
        &url,
        &[
            "audit",
            "verify",
            "--public-key",
            &s.public_key,
            "--cadence",
            "off",
        ],
    ));
    // verify --witnessed names the first bad record's range: before the
    // first witnessed size (records 1..=3 here, which holds record 2).
    let out = s.verify_witnessed("a");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("checkpoint-mismatch at seq 1") && err.contains("witnessed checkpoint"),
        "{err}"
    );
    // The witness holding the old history: a fork.
    s.write(1);
    let err = caught(s.witness("a", &[]));
    assert!(err.contains("FORK"), "{err}");

    // A witness that starts now sees a consistent (rewritten) log…
    ok(s.witness("b", &[]));
    // …until it compares notes with the first one.
    let peer = s.dir.join("a").join("latest.note");
    let err = caught(s.witness("b", &["--peer", peer.to_str().unwrap()]));
    assert!(err.contains("FORK"), "{err}");

    // A note carried in a header (base64) is accepted from a file.
    let (_, body) = s.get("/v1/audit/checkpoint");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    use base64::Engine as _;
    let header = base64::engine::general_purpose::STANDARD.encode(v["signed"].as_str().unwrap());
    let note = s.dir.join("header.txt");
    std::fs::write(&note, header).unwrap();
    ok(s.witness("b", &["--note", note.to_str().unwrap()]));
}

async fn truncate_and_rollback(engine: EngineKind) {
    let url = gatehouse_store::testing::fresh_url(engine, "cliwitnesscut").await;
    let s = Setup::new(url.clone(), "cut");
    s.write(4);
    ok(s.witness("a", &[]));
    let held = gatehouse_store::connect(&url)
        .await
        .unwrap()
        .audit_head()
        .await
        .unwrap()
        .size;
    truncate(&url, held - 2).await;
    ok(gatehouse(
        &url,
        &[
            "audit",
            "verify",
            "--public-key",
            &s.public_key,
            "--cadence",
            "off",
        ],
    ));
    let out = s.verify_witnessed("a");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("deleted at seq {}", held - 1)),
        "{err}"
    );
    let err = caught(s.witness("a", &[]));
    assert!(err.contains("ROLLBACK"), "{err}");
}

async fn key_from_environment_and_a_wrongly_pinned_witness(engine: EngineKind) {
    let url = gatehouse_store::testing::fresh_url(engine, "cliwitnesskey").await;
    let signer = gatehouse_audit::Signer::generate();
    let s = Setup::new_with(url, "key", Some(&hex::encode(signer.to_bytes())));
    assert_eq!(
        s.public_key,
        signer.public_key_hex(),
        "the key from the environment signs"
    );
    assert!(
        !s.dir.join("audit-key").exists(),
        "no key file is made when the environment holds the key"
    );
    s.write(2);
    let other = gatehouse_audit::Signer::generate().public_key_hex();
    let state = s.dir.join("pinned-elsewhere");
    let err = caught(gatehouse(
        &s.db,
        &[
            "audit",
            "witness",
            "--url",
            &s.base,
            "--key",
            &s.key,
            "--public-key",
            &other,
            "--state",
            state.to_str().unwrap(),
        ],
    ));
    assert!(err.contains("BAD SIGNATURE"), "{err}");
    assert!(
        !state.join("latest.note").exists(),
        "a witness keeps nothing from a log whose signature it cannot check"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_from_environment_sqlite() {
    key_from_environment_and_a_wrongly_pinned_witness(EngineKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_from_environment_postgres() {
    key_from_environment_and_a_wrongly_pinned_witness(EngineKind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_is_a_fork_sqlite() {
    rewrite_and_fork(EngineKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_is_a_fork_postgres() {
    rewrite_and_fork(EngineKind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_is_a_rollback_sqlite() {
    truncate_and_rollback(EngineKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_is_a_rollback_postgres() {
    truncate_and_rollback(EngineKind::Postgres).await;
}
