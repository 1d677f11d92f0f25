//! Secrets stay secret: `config check` masks the SMTP password, a running node (logging at
//! debug) never writes its API token or SMTP password to its log, and `/metrics` answers no
//! one without a token, loopback included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::process::Command;

use common::{BIN, TestNet, http};

const SMTP_PASSWORD: &str = "Sm7p-pa55-never-printed";

#[test]
fn config_check_logs_and_metrics_keep_secrets() {
    let mut net = TestNet::new(&[]);
    let node = &mut net.nodes[0];
    let smtp = format!("smtps://atalaya:{SMTP_PASSWORD}@127.0.0.1:1/");
    let out = Command::new(BIN)
        .args(["config", "check", "--config"])
        .arg(node.config())
        .env("ATALAYA_NOTIFY__SMTP_URL", &smtp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("smtps://atalaya:***@127.0.0.1:1/"),
        "{shown}"
    );
    assert!(
        !shown.contains(SMTP_PASSWORD),
        "config check printed the password:\n{shown}"
    );

    node.env.push(("ATALAYA_NOTIFY__SMTP_URL".into(), smtp));
    node.env.push(("ATALAYA_LOG".into(), "debug".into()));
    node.start();
    node.publish("A warning that makes the node work");
    let (status, _) = node.get("/api/v1/status");
    assert_eq!(status, 200);
    let anonymous = http()
        .get(format!("{}/metrics", node.url()))
        .send()
        .unwrap();
    assert_eq!(
        anonymous.status(),
        401,
        "metrics without a token from loopback"
    );
    assert!(node.metrics().contains("atalaya_envelopes_out_total"));
    node.stop();
    let log = node.log();
    assert!(!log.is_empty());
    assert!(
        !log.contains(SMTP_PASSWORD),
        "the SMTP password is in the log"
    );
    assert!(!log.contains(&node.token), "the API token is in the log");
}

#[test]
fn a_production_node_is_created_only_with_an_https_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let init = |sub: &str, extra: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(["init", "--dir"])
            .arg(dir.path().join(sub))
            .args([
                "--id",
                "cl-csirt",
                "--country",
                "CL",
                "--team",
                "CL",
                "--coordinator",
            ])
            .args(extra);
        cmd.output().unwrap()
    };
    let out = init("a", &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--endpoint is required"), "{err}");
    let out = init("b", &["--endpoint", "http://atalaya.csirt.example.cl"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plain HTTP"), "{err}");
    assert!(
        !dir.path().join("b").join("config.toml").exists(),
        "nothing created"
    );
    let out = init("c", &["--endpoint", "https://10.1.2.3"]);
    assert!(!out.status.success(), "a private address in production");
    let out = init("d", &["--endpoint", "https://atalaya.csirt.example.cl"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = init("e", &["--allow-private-peers"]);
    assert!(
        out.status.success(),
        "a test network keeps http://127.0.0.1"
    );
}
