//! Browser tests of the staff pages: start the real `gatehouse demo` on a
//! fresh database, then run `node tests/browser/run.mjs <base-url>`, which
//! drives headless Debian Chromium through playwright-core. Node, the npm
//! packages (`npm ci --prefix tests/browser`) and /usr/bin/chromium are
//! required: a missing one fails this test, it never skips.
//! Screenshots (the attendance dashboard's among them) and the printed
//! handover sheet and unlock list go to target/screenshots/.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Demo(std::process::Child);
impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> String {
    std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// Fails, naming what to install, when a prerequisite is missing.
fn prerequisites() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is required for the browser tests (Node 20+): {node:?}"
    );
    let pkg = workspace().join("tests/browser/node_modules/playwright-core/package.json");
    assert!(
        pkg.exists(),
        "the browser tests' npm packages are missing: run `npm ci --prefix tests/browser` ({} not found)",
        pkg.display()
    );
    let chromium = chromium();
    assert!(
        std::path::Path::new(&chromium).exists(),
        "Chromium is required at {chromium}: `apt-get install -y --no-install-recommends chromium`"
    );
}

#[test]
fn staff_pages_in_headless_chromium() {
    prerequisites();
    let dir = std::env::temp_dir().join(format!("gatehouse-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .current_dir(&dir)
        .env_remove("GATEHOUSE_DATABASE_URL")
        .env("GATEHOUSE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("gatehouse runs");
    let mut demo = Demo(child);

    // The demo prints its address, then the consumers' keys.
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = demo.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut base = None;
    let mut health_key = None;
    let mut printed = String::new();
    while base.is_none() || health_key.is_none() {
        let line = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = demo.0.try_wait() {
                    panic!("the demo exited early ({status}): {printed}");
                }
                assert!(
                    started.elapsed() < Duration::from_secs(900),
                    "the demo did not start: {printed}"
                );
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the demo stopped: {printed}"),
        };
        printed.push_str(&line);
        printed.push('\n');
        if let Some(url) = line.split("Gatehouse demo is running at ").nth(1) {
            base = Some(url.trim().to_owned());
        }
        if line.trim_start().starts_with("lei-health ") {
            health_key = line.split_whitespace().last().map(str::to_owned);
        }
    }
    assert!(
        printed.contains("officer.leeds") || {
            // The staff lines come after the keys: wait for them.
            let mut seen = false;
            while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
                if line.contains("officer.leeds") {
                    seen = true;
                    break;
                }
            }
            seen
        },
        "the demo prints its staff accounts: {printed}"
    );
    let base = base.unwrap();

    let shots = workspace().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(workspace().join("tests/browser/run.mjs"))
        .arg(&base)
        .current_dir(workspace())
        .env("GATEHOUSE_HEALTH_KEY", health_key.unwrap())
        .env("SCREENSHOT_DIR", &shots)
        .env("CHROMIUM_PATH", chromium())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser tests failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("# pass 5"),
        "five browser tests passed:\n{stdout}"
    );
    assert!(shots.join("handover.pdf").exists());
    assert!(shots.join("attendance-dashboard.png").exists());
    assert!(shots.join("unlock-list.pdf").exists());
    drop(demo);
    let _ = std::fs::remove_dir_all(&dir);
}
