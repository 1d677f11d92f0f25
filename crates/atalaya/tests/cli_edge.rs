//! The CLI's global options: one `--config` (also from `ATALAYA_CONFIG`, accepted before or
//! after the subcommand) and `--log-format json` / `[log] format = "json"`, which make the
//! node's log one JSON object per line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, TestNet, http};
use serde_json::Value;

/// Every non-empty line of `log` is a JSON object; returns them.
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}\n--- log ---\n{log}"))
        })
        .collect()
}

#[test]
fn atalaya_config_names_the_configuration_and_the_flag_wins() {
    let net = TestNet::new(&[]);
    let node = &net.nodes[0];
    let elsewhere = tempfile::tempdir().unwrap();
    // No config.toml in the working directory: only ATALAYA_CONFIG can name it.
    let out = Command::new(BIN)
        .args(["config", "check"])
        .current_dir(elsewhere.path())
        .env("ATALAYA_CONFIG", node.config())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("id = \"coordinator\""), "{shown}");

    // `--config` given after the subcommand overrides the environment.
    let out = Command::new(BIN)
        .args(["config", "check", "--config"])
        .arg(node.config())
        .current_dir(elsewhere.path())
        .env("ATALAYA_CONFIG", elsewhere.path().join("missing.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ...and without it the environment's (missing) file is the one read.
    let out = Command::new(BIN)
        .args(["config", "check"])
        .current_dir(elsewhere.path())
        .env("ATALAYA_CONFIG", elsewhere.path().join("missing.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing.toml"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn log_format_json_from_the_flag_and_from_the_file() {
    let mut net = TestNet::new(&[]);
    let node = &mut net.nodes[0];

    // The flag, before the subcommand, with the configuration from ATALAYA_CONFIG.
    let log_path = node.dir.join("flag.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(BIN)
        .args(["--log-format", "json", "serve"])
        .env("ATALAYA_CONFIG", node.config())
        .env("ATALAYA_LOG", "info")
        .env("ATALAYA_STORE__SYNCHRONOUS", "normal")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Ok(r) = http().get(format!("{}/readyz", node.url())).send()
            && r.status().is_success()
        {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "node exited");
        assert!(start.elapsed() < Duration::from_secs(30), "not ready");
        std::thread::sleep(Duration::from_millis(25));
    }
    let resp = http()
        .get(format!("{}/api/v1/status?secret=not-logged", node.url()))
        .bearer_auth(&node.token)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        !text.contains("not-logged"),
        "the query reached the log:\n{text}"
    );
    let lines = json_lines(&text);
    assert!(!lines.is_empty(), "no log lines");
    for l in &lines {
        assert!(l["timestamp"].is_string(), "{l}");
        assert!(l["level"].is_string(), "{l}");
        assert!(l["fields"].is_object(), "{l}");
    }
    // The access-log line of that request: in its span, with its id, path, status, latency.
    let access = lines
        .iter()
        .find(|l| l["span"]["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("no line with request id {request_id}:\n{text}"));
    assert_eq!(access["fields"]["message"], "request served", "{access}");
    assert_eq!(access["fields"]["status"], 200, "{access}");
    assert!(access["fields"]["latency_ms"].is_number(), "{access}");
    assert_eq!(access["span"]["method"], "GET", "{access}");
    assert_eq!(access["span"]["path"], "/api/v1/status", "{access}");

    // `[log] format = "json"` in the file, no flag.
    let config = std::fs::read_to_string(node.config()).unwrap();
    assert!(config.contains("format = \"text\""), "{config}");
    let config = config.replace("format = \"text\"", "format = \"json\"");
    std::fs::write(node.config(), config).unwrap();
    node.start();
    node.publish("A warning that makes the node log");
    node.stop();
    let lines = json_lines(&node.log());
    assert!(!lines.is_empty(), "no log lines");
}
