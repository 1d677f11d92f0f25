//! The MISP feed at `/feeds/misp/`: only public (TLP:CLEAR) bulletins, as events PyMISP
//! loads, with a manifest and `hashes.csv` that agree with PyMISP's own feed generator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use atalaya_core::{Bulletin, BulletinDraft};
use atalaya_formats::misp::{MispOrg, export_event};
use axum::http::StatusCode;
use common::TestNode;
use serde_json::{Value, json};

fn draft(tlp: &str, kind: &str, title: &str) -> BulletinDraft {
    serde_json::from_value(json!({
        "tlp": tlp,
        "kind": kind,
        "severity": "high",
        "title": title,
        "summary": "Several member states report intrusions; patch and search logs for the indicators.",
        "body": "## What to do\n\n1. Patch.\n2. Search the logs.",
        "rsit": "malicious-code/ransomware",
        "sectors": ["energy"],
        "countries": ["CL"],
        "indicators": [
            {"type": "ip", "value": "203.0.113.45", "comment": "C2"},
            {"type": "cidr", "value": "198.51.100.0/24"},
            {"type": "domain", "value": "update-vpn-portal.example"},
            {"type": "url", "value": "https://update-vpn-portal.example/login"},
            {"type": "email", "value": "it-support@update-vpn-portal.example"},
            {"type": "hash", "value": "d41d8cd98f00b204e9800998ecf8427e"},
            {"type": "hash", "value": "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
            {"type": "hash", "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
            {"type": "asn", "value": "AS64500"},
            {"type": "cve", "value": "CVE-2024-3400"}
        ],
        "references": ["https://www.first.org/tlp/"]
    }))
    .unwrap()
}

async fn publish(node: &TestNode, d: BulletinDraft) -> Bulletin {
    node.fed.publish(d).await.unwrap().0
}

#[tokio::test]
async fn the_misp_feed_shows_clear_bulletins_only() {
    let node = TestNode::start().await;
    let clear = publish(&node, draft("CLEAR", "attack-warning", "Public warning")).await;
    let green = publish(&node, draft("GREEN", "attack-warning", "Community warning")).await;
    let amber = publish(
        &node,
        draft("AMBER", "vulnerability-advisory", "Amber advisory"),
    )
    .await;
    let mut b = node.browser();

    let m = b.get("/feeds/misp/manifest.json").await;
    assert_eq!(m.status, StatusCode::OK);
    let manifest: Value = serde_json::from_str(&m.body).unwrap();
    let keys: Vec<&String> = manifest.as_object().unwrap().keys().collect();
    assert_eq!(keys, [&clear.id.to_string()]);
    assert_eq!(
        manifest[clear.id.to_string()]["info"],
        json!("Public warning")
    );

    let e = b.get(&format!("/feeds/misp/{}.json", clear.id)).await;
    assert_eq!(e.status, StatusCode::OK);
    let event: Value = serde_json::from_str(&e.body).unwrap();
    assert_eq!(event["Event"]["uuid"], json!(clear.id.to_string()));
    assert_eq!(
        event["Event"]["Orgc"]["name"],
        json!("CSIRT de Gobierno de Chile")
    );

    for hidden in [&green, &amber] {
        let r = b.get(&format!("/feeds/misp/{}.json", hidden.id)).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{:?} must not be served",
            hidden.tlp
        );
        assert!(!m.body.contains(&hidden.id.to_string()));
        assert!(!m.body.contains(&hidden.content.title));
    }
    let h = b.get("/feeds/misp/hashes.csv").await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.body.lines().count(), 11);
    assert!(
        h.body
            .lines()
            .all(|l| l.ends_with(&format!(",{}", clear.id)))
    );
    for junk in [
        "nope",
        "nope.json",
        "../manifest.json",
        "0193a000-0000-7000-8000-000000000001.json",
    ] {
        assert_eq!(
            b.get(&format!("/feeds/misp/{junk}")).await.status,
            StatusCode::NOT_FOUND,
            "{junk}"
        );
    }
}

fn python() -> PathBuf {
    const HINT: &str = "run through `cargo xtask test`, which sets up the Python venv (pymisp is \
                        in tests/interop/requirements.txt) and sets ATALAYA_INTEROP_PYTHON";
    let Some(path) = std::env::var_os("ATALAYA_INTEROP_PYTHON") else {
        panic!("ATALAYA_INTEROP_PYTHON is not set: {HINT}");
    };
    let path = PathBuf::from(path);
    let ok =
        std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    assert!(
        ok,
        "ATALAYA_INTEROP_PYTHON={} is not an executable file: {HINT}",
        path.display()
    );
    path
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compare with the committed baseline; `ATALAYA_BLESS=1` rewrites it.
fn baseline(name: &str, fresh: &str) {
    let path = workspace().join("tests/baselines").join(name);
    if std::env::var("ATALAYA_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, fresh).unwrap();
        return;
    }
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    if old != fresh {
        let mut diff = String::new();
        for l in old.lines().filter(|l| !fresh.lines().any(|f| f == *l)) {
            diff.push_str(&format!("- {l}\n"));
        }
        for l in fresh.lines().filter(|l| !old.lines().any(|o| o == *l)) {
            diff.push_str(&format!("+ {l}\n"));
        }
        panic!(
            "{} changed (ATALAYA_BLESS=1 to accept):\n{diff}",
            path.display()
        );
    }
}

#[tokio::test]
async fn pymisp_loads_every_exported_event_and_the_feed() {
    let python = python();
    let node = TestNode::start().await;
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let feed = dir.path().join("feed");
    std::fs::create_dir_all(&events).unwrap();
    std::fs::create_dir_all(&feed).unwrap();
    let org = MispOrg::for_node("cl-csirt", "CSIRT de Gobierno de Chile");
    let cases = [
        ("clear-attack-warning", "CLEAR", "attack-warning"),
        ("green-suspicious-activity", "GREEN", "suspicious-activity"),
        (
            "amber-vulnerability-advisory",
            "AMBER",
            "vulnerability-advisory",
        ),
        ("amber-strict-mitigation", "AMBER+STRICT", "mitigation"),
        ("clear-informational", "CLEAR", "informational"),
    ];
    for (name, tlp, kind) in cases {
        let b = publish(&node, draft(tlp, kind, &format!("Bulletin {name}"))).await;
        std::fs::write(
            events.join(format!("{name}.json")),
            serde_json::to_string_pretty(&export_event(&b, &org)).unwrap(),
        )
        .unwrap();
    }
    // The feed, as a subscribing MISP fetches it.
    let mut b = node.browser();
    let manifest = b.get("/feeds/misp/manifest.json").await.body;
    std::fs::write(feed.join("manifest.json"), &manifest).unwrap();
    std::fs::write(
        feed.join("hashes.csv"),
        b.get("/feeds/misp/hashes.csv").await.body,
    )
    .unwrap();
    let listed: Value = serde_json::from_str(&manifest).unwrap();
    for uuid in listed.as_object().unwrap().keys() {
        let r = b.get(&format!("/feeds/misp/{uuid}.json")).await;
        assert_eq!(r.status, StatusCode::OK);
        std::fs::write(feed.join(format!("{uuid}.json")), r.body).unwrap();
    }
    let out = std::process::Command::new(python)
        .arg(workspace().join("tests/interop/misp_check.py"))
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "pymisp refused what we emit:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    baseline("pymisp.txt", &stdout);
}
