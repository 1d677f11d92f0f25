//! No answered view is missing from the audit trail after a crash: the entry is written before
//! the answer leaves, and an answer whose entry cannot be written is withheld.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::{TestNet, atalaya, eventually, http};

const T: Duration = Duration::from_secs(30);

/// Audit entries of `node` (stopped or running) recording an allowed view of `bulletin`.
fn views_recorded(net: &TestNet, node: &str, bulletin: &str) -> usize {
    let config = net.node(node).config();
    let trail = atalaya(&[
        "audit",
        "show",
        "--config",
        config.to_str().unwrap(),
        "--last",
        "1000000",
    ]);
    trail
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // seq, at, actor, action, decision, reason (TLP:AMBER), object
            f.len() == 7 && f[3] == "view" && f[4] == "allow" && f[6] == bulletin
        })
        .count()
}

/// An AMBER bulletin from cl-csirt to mx-csirt, held by mx-csirt.
fn amber_at_mx(net: &TestNet) -> String {
    let (st, b) = net.node("cl-csirt").post(
        "/api/v1/bulletins",
        &serde_json::json!({
            "tlp": "AMBER", "kind": "attack-warning", "severity": "high",
            "title": "For Mexico", "summary": "s",
            "audience": {"scope": "nodes", "nodes": ["mx-csirt"]}
        }),
    );
    assert_eq!(st, 201, "{b}");
    let id = b["bulletin"]["id"].as_str().unwrap().to_owned();
    eventually("mx-csirt holds the AMBER bulletin", T, || {
        net.node("mx-csirt").has_bulletin(&id)
    });
    id
}

/// `n` views of the bulletin from `clients` concurrent clients; each answer's status.
fn views(net: &TestNet, node: &str, id: &str, n: usize, clients: usize) -> Vec<u16> {
    let url = format!("{}/api/v1/bulletins/{id}", net.node(node).url());
    let token = net.node(node).token.clone();
    let per = n / clients;
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (url, token) = (url.clone(), token.clone());
            std::thread::spawn(move || {
                let client = http();
                (0..per)
                    .map(|_| {
                        client
                            .get(&url)
                            .bearer_auth(&token)
                            .send()
                            .map_or(0, |r| r.status().as_u16())
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

#[test]
fn every_answered_view_is_in_the_audit_trail_after_kill_9() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.start_all();
    let id = amber_at_mx(&net);
    // Waiting for the bulletin viewed it too.
    let mut answered = views_recorded(&net, "mx-csirt", &id);
    for round in 1..=3 {
        let statuses = views(&net, "mx-csirt", &id, 300, 6);
        assert!(
            statuses.iter().all(|s| *s == 200),
            "round {round}: not every view answered 200: {:?}",
            statuses.iter().filter(|s| **s != 200).collect::<Vec<_>>()
        );
        answered += statuses.len();
        // Right after the last answer: no chance to flush anything.
        net.node_mut("mx-csirt").kill9();
        assert_eq!(
            views_recorded(&net, "mx-csirt", &id),
            answered,
            "round {round}: answered views missing from the audit trail after kill -9"
        );
        net.node_mut("mx-csirt").start();
    }
    let config = net.node("mx-csirt").config();
    let out = std::process::Command::new(common::BIN)
        .args(["audit", "verify", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("audit chain intact"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run SQL against a node's database from outside, as a failing disk would be simulated.
fn sql(db: &std::path::Path, script: &str) {
    let py = format!(
        "import sqlite3\nc = sqlite3.connect({db:?}, timeout=30)\nc.executescript({script:?})\nc.commit()\n",
        db = db.to_str().unwrap()
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(py)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_view_whose_audit_entry_cannot_be_written_is_refused_not_answered() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.start_all();
    let id = amber_at_mx(&net);
    let mx = net.node("mx-csirt");
    let path = format!("/api/v1/bulletins/{id}");
    assert_eq!(mx.get(&path).0, 200);
    let recorded = views_recorded(&net, "mx-csirt", &id);
    let db = mx.dir.join("atalaya.db");
    sql(
        &db,
        "CREATE TRIGGER test_audit_refused BEFORE INSERT ON audit \
         BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END;",
    );
    let (st, body) = mx.get(&path);
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (503, Some("audit_unavailable")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("audit trail"),
        "{body}"
    );
    assert!(
        !body.to_string().contains("For Mexico"),
        "the refusal carries the bulletin: {body}"
    );
    let metrics = mx.metrics();
    // (Other writes may have failed meanwhile too: peers' pulls audit what they are given.)
    let failures: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("atalaya_audit_write_failures_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(failures >= 1, "{metrics}");
    // Once the trail can be written again, views are answered and recorded again.
    sql(&db, "DROP TRIGGER test_audit_refused;");
    assert_eq!(mx.get(&path).0, 200);
    net.node_mut("mx-csirt").stop();
    assert_eq!(
        views_recorded(&net, "mx-csirt", &id),
        recorded + 1,
        "the refused view is not recorded as answered, the next one is"
    );
}
