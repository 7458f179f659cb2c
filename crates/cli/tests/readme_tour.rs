//! The README's five-minute tour works as printed: start `gatehouse demo` on a
//! fresh directory, run every command of the tour (only the port changed, so
//! parallel runs never collide), and check each answer.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tour_script(port: u16) -> String {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("## A five-minute tour")
        .expect("README has the tour");
    let end = readme[start..]
        .find("## Events: subscribe")
        .map(|e| start + e)
        .expect("tour ends at Events");
    let tour = &readme[start..end];
    let mut script = String::from("set -u\n");
    for block in tour.split("```sh\n").skip(1) {
        let code = block.split("```").next().unwrap_or_default();
        script.push_str(code);
        script.push_str("\necho\n");
    }
    script.replace("http://127.0.0.1:8080", &format!("http://127.0.0.1:{port}"))
}

struct Demo(std::process::Child);
impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn readme_tour_works_as_printed() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("gatehouse-tour-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(&dir)
        .env_remove("GATEHOUSE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("gatehouse runs");
    let mut demo = Demo(child);

    let started = Instant::now();
    loop {
        let ready = Command::new("curl")
            .args(["-sf", &format!("http://127.0.0.1:{port}/health/ready")])
            .output()
            .unwrap();
        if ready.status.success() {
            break;
        }
        if let Ok(Some(status)) = demo.0.try_wait() {
            let mut out = String::new();
            demo.0.stdout.take().unwrap().read_to_string(&mut out).ok();
            panic!("the demo exited early ({status}): {out}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the demo did not become ready"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let run = || {
        let out = Command::new("bash")
            .arg("-c")
            .arg(tour_script(port))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    for expected in [
        r#"{"status":"ok","database":"sqlite"}"#,
        r#""identity":{"status":"linked""#,
        r#""identity":{"status":"withheld""#,
        "HTTP/1.1 404 Not Found",
        "not linked to an NHS number",
        r#""code":"HA""#,
        r#""changes":["alert MEP raised"]"#,
        r#""code":"MEP""#,
        "planned court-appearance CRT-TOUR-1 scheduled",
        r#""accepted":1,"rejected":1"#,
        r#""prisonNumber":"H8901JK""#,
        r#""prisonNumber":"A1234BC""#,
        "is not a prison number",
        "check digit",
        "send your API key",
        r#""view":"condition""#,
        r#""specversion":"1.0""#,
        r#""sections":[{"key":"medication-continuity""#,
    ] {
        assert!(
            first.contains(expected),
            "the tour's output lacks {expected}:\n{first}"
        );
    }
    assert!(!first.contains(r#""status":500"#), "{first}");
    // Run again: every write is a replay and gets the same answer.
    let second = run();
    assert!(
        second.contains(r#""changes":["alert MEP raised"]"#),
        "a replay gets the first answer:\n{second}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
