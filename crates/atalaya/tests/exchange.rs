//! `atalaya import {csaf,stix,misp} FILE` and `atalaya export {csaf,stix,misp,cap} BULLETIN`
//! against a real node process: documents become bulletins that federate to the other member;
//! a bundle larger than the node's import limit is read as a stream by the CLI and still
//! imports all or nothing; a refused document publishes nothing; exports come back in the
//! format asked for, and a CAP export of a non-public warning is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use common::{TestNet, eventually};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_atalaya");
const T: Duration = Duration::from_secs(30);
const CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn bulletin_count(node: &common::TestNode) -> usize {
    let (st, body) = node.get("/api/v1/bulletins?limit=500");
    assert_eq!(st, 200, "{body}");
    body["bulletins"].as_array().unwrap().len()
}

/// A STIX 2.1 bundle of `n` CLEAR IPv4 indicators, written to `path` without holding it. The
/// indicators are numbered from `first`; those numbered `newer` or above were modified a
/// month later than the others.
fn write_bundle(path: &std::path::Path, first: usize, n: usize, marked: bool, newer: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write!(
        f,
        "{{\"type\":\"bundle\",\"id\":\"bundle--6f1e8c2a-3b1d-4c8e-9f00-0a1b2c3d4e5f\",\"objects\":["
    )
    .unwrap();
    for i in first..first + n {
        if i > first {
            f.write_all(b",").unwrap();
        }
        let modified = if i >= newer {
            "2026-02-01T00:00:00.000Z"
        } else {
            "2026-01-01T00:00:00.000Z"
        };
        let marking = if marked {
            format!(",\"object_marking_refs\":[\"{CLEAR}\"]")
        } else {
            String::new()
        };
        write!(
            f,
            "{{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--{:08x}-0000-4000-8000-{:012x}\",\"created\":\"2026-01-01T00:00:00.000Z\",\"modified\":\"{modified}\",\"name\":\"C2 {i}\",\"pattern\":\"[ipv4-addr:value = '198.18.{}.{}']\",\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"{marking}}}",
            i,
            i,
            i / 256 % 256,
            i % 256
        )
        .unwrap();
    }
    f.write_all(b"]}").unwrap();
    f.flush().unwrap();
}

fn csaf_document() -> Value {
    json!({
        "document": {
            "category": "csaf_base",
            "csaf_version": "2.0",
            "distribution": {"tlp": {"label": "WHITE"}},
            "lang": "en",
            "notes": [{"category": "summary", "title": "Summary", "text": "A test advisory about a gateway flaw."}],
            "publisher": {"category": "coordinator", "name": "Test CSIRT", "namespace": "https://csirt.example"},
            "title": "Gateway flaw (test)",
            "tracking": {
                "current_release_date": "2026-01-01T00:00:00.000Z",
                "id": "TEST-2026-0001",
                "initial_release_date": "2026-01-01T00:00:00.000Z",
                "revision_history": [{"date": "2026-01-01T00:00:00.000Z", "number": "1", "summary": "Initial version."}],
                "status": "final",
                "version": "1"
            }
        },
        "vulnerabilities": [{"cve": "CVE-2024-3400", "title": "Command injection"}]
    })
}

fn misp_event() -> Value {
    json!({"Event": {
        "uuid": "5e3b8c4a-1f2d-4e6a-9b7c-0d1e2f3a4b5c",
        "info": "Phishing wave (test)",
        "date": "2026-01-01",
        "threat_level_id": "2",
        "analysis": "1",
        "distribution": "3",
        "Tag": [{"name": "tlp:green"}],
        "Attribute": [
            {"type": "domain", "category": "Network activity", "value": "phish.example", "to_ids": true},
            {"type": "ip-dst", "category": "Network activity", "value": "203.0.113.9", "to_ids": true}
        ]
    }})
}

#[test]
fn documents_import_through_the_cli_and_bulletins_export_in_every_format() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.start_all();
    let dir = net.path().to_path_buf();
    let cl = net.node("cl-csirt");
    let mx = net.node("mx-csirt");
    let config = cl.config();
    let config = config.to_str().unwrap();

    // CSAF: one vulnerability advisory, carrying the document, federated to the peer.
    let csaf = dir.join("advisory.json");
    std::fs::write(&csaf, csaf_document().to_string()).unwrap();
    let (ok, out, err) = run(&[
        "import",
        "csaf",
        csaf.to_str().unwrap(),
        "--config",
        config,
        "--json",
    ]);
    assert!(ok, "{out}\n{err}");
    let reply: Value = serde_json::from_str(&out).unwrap();
    let advisory = reply["bulletins"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(reply["bulletins"][0]["kind"], "vulnerability-advisory");
    assert_eq!(reply["bulletins"][0]["carries"], "csaf");
    eventually("the advisory reaches mx", T, || mx.has_bulletin(&advisory));

    // MISP: its tlp:green tag is the label.
    let misp = dir.join("event.json");
    std::fs::write(&misp, misp_event().to_string()).unwrap();
    let (ok, out, err) = run(&["import", "misp", misp.to_str().unwrap(), "--config", config]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("imported 1 bulletin(s)"), "{out}");
    assert!(out.contains("TLP:GREEN"), "{out}");

    // A small label-less STIX bundle is refused, and nothing is stored; with --tlp it imports.
    let before = bulletin_count(cl);
    let unlabelled = dir.join("unlabelled.json");
    write_bundle(&unlabelled, 100_000, 10, false, usize::MAX);
    let (ok, out, err) = run(&[
        "import",
        "stix",
        unlabelled.to_str().unwrap(),
        "--config",
        config,
    ]);
    assert!(!ok, "{out}");
    assert!(err.contains("no_label"), "{err}");
    assert_eq!(
        bulletin_count(cl),
        before,
        "a refused bundle stores nothing"
    );
    let (ok, out, err) = run(&[
        "import",
        "stix",
        unlabelled.to_str().unwrap(),
        "--config",
        config,
        "--tlp",
        "amber",
    ]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("TLP:AMBER"), "{out}");

    // A bundle over the node's 16 MiB limit streams through the CLI: every indicator arrives,
    // in bulletins of at most 5,000.
    let big = dir.join("big.json");
    let n = 60_000;
    write_bundle(&big, 0, n, true, usize::MAX);
    assert!(std::fs::metadata(&big).unwrap().len() > 16 * 1024 * 1024);
    let before = bulletin_count(cl);
    let (ok, out, err) = run(&["import", "stix", big.to_str().unwrap(), "--config", config]);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains(&format!("with {n} indicators")),
        "every indicator came across: {out}"
    );
    let (_, list) = cl.get("/api/v1/bulletins?limit=500");
    let imported: usize = list["bulletins"].as_array().unwrap()[..bulletin_count(cl) - before]
        .iter()
        .map(|b| b["indicators"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(imported, n);

    // The same big bundle again: the first pass finds every bulletin imported before, and
    // nothing is published; a re-run is not an error.
    let before = bulletin_count(cl);
    let (ok, out, err) = run(&["import", "stix", big.to_str().unwrap(), "--config", config]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("already imported: nothing published"), "{out}");
    assert_eq!(bulletin_count(cl), before, "nothing new");

    // The bundle again with its last 25 indicators modified: only those travel again.
    write_bundle(&big, 0, n, true, n - 25);
    let (ok, out, err) = run(&["import", "stix", big.to_str().unwrap(), "--config", config]);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("imported 1 bulletin(s) with 25 indicators"),
        "{out}"
    );
    assert_eq!(bulletin_count(cl), before + 1);
    let (_, list) = cl.get("/api/v1/bulletins?limit=1");
    assert_eq!(
        list["bulletins"][0]["indicators"].as_array().unwrap().len(),
        25
    );

    // The first version of the bundle once more: older than what the node holds, refused
    // before anything is published.
    write_bundle(&big, 0, n, true, usize::MAX);
    let (ok, out, err) = run(&["import", "stix", big.to_str().unwrap(), "--config", config]);
    assert!(!ok, "{out}");
    assert!(err.contains("stale_import"), "{err}");
    assert!(err.contains("nothing was published"), "{err}");
    assert_eq!(bulletin_count(cl), before + 1);

    // A big bundle with one bad object publishes nothing (the first pass refuses it).
    let broken = dir.join("broken.json");
    write_bundle(&broken, 200_000, 50_000, true, usize::MAX);
    let mut bytes = std::fs::read(&broken).unwrap();
    let at = bytes.len() - 100;
    bytes.splice(at..at, b"\"oops\",".iter().copied());
    std::fs::write(&broken, bytes).unwrap();
    let before = bulletin_count(cl);
    let (ok, out, err) = run(&[
        "import",
        "stix",
        broken.to_str().unwrap(),
        "--config",
        config,
    ]);
    assert!(!ok, "{out}");
    assert!(err.contains("nothing was published"), "{err}");
    assert_eq!(bulletin_count(cl), before);

    // Exports.
    let (ok, out, err) = run(&["export", "csaf", &advisory, "--config", config]);
    assert!(ok, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["document"]["tracking"]["id"], "TEST-2026-0001",
        "a carried CSAF document comes back unchanged"
    );
    let stix_file = dir.join("advisory.stix.json");
    let (ok, _, err) = run(&[
        "export",
        "stix",
        &advisory,
        "--config",
        config,
        "-o",
        stix_file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let bundle: Value = serde_json::from_slice(&std::fs::read(&stix_file).unwrap()).unwrap();
    assert_eq!(bundle["type"], "bundle");
    assert!(
        bundle["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["type"] == "vulnerability"),
        "{bundle}"
    );
    let (ok, out, err) = run(&["export", "misp", &advisory, "--config", config]);
    assert!(ok, "{err}");
    let event: Value = serde_json::from_str(&out).unwrap();
    assert!(
        event["Event"]["info"]
            .as_str()
            .unwrap()
            .contains("Gateway flaw")
    );
    let (ok, _, err) = run(&["export", "cap", &advisory, "--config", config]);
    assert!(!ok);
    assert!(err.contains("cap_not_available"), "{err}");
    let (ok, _, err) = run(&["export", "stix", "not-a-uuid", "--config", config]);
    assert!(!ok);
    assert!(err.contains("not a bulletin id"), "{err}");
}

/// `csaf_document()` at tracking version `version`, with the revision history that leads to it.
fn csaf_version(version: u32) -> String {
    let mut doc = csaf_document();
    doc["document"]["tracking"]["id"] = json!("TEST-2026-0300");
    doc["document"]["title"] = json!(format!("Gateway flaw, version {version}"));
    doc["document"]["tracking"]["version"] = json!(version.to_string());
    doc["document"]["tracking"]["revision_history"] = (1..=version)
        .map(|n| {
            json!({"date": format!("2026-01-0{n}T00:00:00.000Z"), "number": n.to_string(),
                   "summary": format!("Revision {n}.")})
        })
        .collect();
    doc["document"]["tracking"]["current_release_date"] =
        json!(format!("2026-01-0{version}T00:00:00.000Z"));
    doc.to_string()
}

/// How many public advisories the portal lists under `title`.
fn on_portal(node: &common::TestNode, title: &str) -> usize {
    let page = common::http()
        .get(format!("{}/?lang=en", node.url()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    page.matches(&format!(">{title}</a></h2>")).count()
}

#[test]
fn importing_a_document_again_publishes_nothing_and_a_newer_version_revises_it() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.start_all();
    let dir = net.path().to_path_buf();
    let cl = net.node("cl-csirt");
    let config = cl.config();
    let config = config.to_str().unwrap();
    let import = |format: &str, file: &std::path::Path| {
        run(&["import", format, file.to_str().unwrap(), "--config", config])
    };

    // Four imports of the same advisory at once: one bulletin.
    let v1 = dir.join("v1.json");
    std::fs::write(&v1, csaf_version(1)).unwrap();
    let before = bulletin_count(cl);
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(BIN)
                .args(["import", "csaf", v1.to_str().unwrap(), "--config", config])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a duplicate is not an error: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        bulletin_count(cl),
        before + 1,
        "one bulletin for one advisory"
    );
    assert_eq!(on_portal(cl, "Gateway flaw, version 1"), 1);

    // Once more: reported, exit status 0, nothing stored.
    let (ok, out, err) = import("csaf", &v1);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("already imported: nothing published"), "{out}");
    assert!(out.contains("(already imported)"), "{out}");
    assert_eq!(bulletin_count(cl), before + 1);
    assert_eq!(on_portal(cl, "Gateway flaw, version 1"), 1);
    let (_, list) = cl.get("/api/v1/bulletins?limit=1");
    let first = list["bulletins"][0]["id"].as_str().unwrap().to_owned();

    // Version 2 revises it.
    let v2 = dir.join("v2.json");
    std::fs::write(&v2, csaf_version(2)).unwrap();
    let (ok, out, err) = import("csaf", &v2);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("imported 1 bulletin(s)"), "{out}");
    assert!(out.contains(&format!("(revises {first})")), "{out}");
    let (_, list) = cl.get("/api/v1/bulletins?limit=1");
    assert_eq!(list["bulletins"][0]["supersedes"], first.as_str());

    // Version 1 again is stale: exit status 1, nothing stored.
    let (ok, out, err) = import("csaf", &v1);
    assert!(!ok, "{out}");
    assert!(err.contains("stale_import"), "{err}");
    assert_eq!(bulletin_count(cl), before + 2);

    // A MISP event: twice is once; updated, it revises.
    let event = dir.join("event.json");
    std::fs::write(&event, misp_event().to_string()).unwrap();
    let (ok, out, err) = import("misp", &event);
    assert!(ok, "{out}\n{err}");
    let (ok, out, err) = import("misp", &event);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("already imported: nothing published"), "{out}");
    assert_eq!(bulletin_count(cl), before + 3);
    let mut updated = misp_event();
    updated["Event"]["timestamp"] = json!("1767229200");
    updated["Event"]["info"] = json!("Phishing wave (test), updated");
    std::fs::write(&event, updated.to_string()).unwrap();
    let (ok, out, err) = import("misp", &event);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("(revises "), "{out}");
    assert_eq!(bulletin_count(cl), before + 4);

    // A small STIX bundle twice: nothing new.
    let bundle = dir.join("bundle.json");
    write_bundle(&bundle, 300_000, 20, true, usize::MAX);
    let (ok, out, err) = import("stix", &bundle);
    assert!(ok, "{out}\n{err}");
    let (ok, out, err) = import("stix", &bundle);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("already imported: nothing published"), "{out}");
    assert_eq!(bulletin_count(cl), before + 5);
}
