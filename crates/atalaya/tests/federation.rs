//! Multi-process federation tests: real `atalaya` processes on loopback, real SQLite files,
//! real signatures, killed with SIGKILL where the scenario says so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::{TestNet, atalaya, eventually};

const T: Duration = Duration::from_secs(20);

#[test]
fn a_warning_published_at_one_node_reaches_the_others_verified() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.start_all();
    let id = net.node("cl-csirt").publish("Phishing wave against banks");
    for peer in ["mx-csirt", "coordinator"] {
        eventually(&format!("{peer} stores it"), T, || {
            net.node(peer).has_bulletin(&id)
        });
        let (_, b) = net.node(peer).get(&format!("/api/v1/bulletins/{id}"));
        assert_eq!(b["bulletin"]["title"], "Phishing wave against banks");
        assert_eq!(b["bulletin"]["origin"], "cl-csirt");
        assert_eq!(b["bulletin"]["tlp"], "GREEN");
    }
    // At the origin: per-peer delivery state, all delivered.
    eventually("the origin sees both deliveries", T, || {
        let (_, b) = net.node("cl-csirt").get(&format!("/api/v1/bulletins/{id}"));
        b["bulletin"]["delivered"]["done"] == 2
    });
    let (_, b) = net.node("cl-csirt").get(&format!("/api/v1/bulletins/{id}"));
    let peers: Vec<&str> = b["bulletin"]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["peer"].as_str().unwrap())
        .collect();
    assert_eq!(peers, vec!["coordinator", "mx-csirt"]);
    // The CLI's status shows the peers.
    let out = atalaya(&[
        "status",
        "--config",
        net.node("cl-csirt").config().to_str().unwrap(),
    ]);
    assert!(
        out.contains("mx-csirt") && out.contains("reachable"),
        "{out}"
    );
    // Metrics count it.
    let m = common::http()
        .get(format!("{}/metrics", net.node("mx-csirt").url()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(m.contains("atalaya_envelopes_in_total "), "{m}");
}

#[test]
fn killed_origin_delivers_exactly_once_after_restart() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.node_mut("cl-csirt").start();
    // The peers are down: the publish commits, delivery cannot happen.
    let id = net.node("cl-csirt").publish("Committed before delivery");
    net.node_mut("cl-csirt").kill9();
    net.node_mut("mx-csirt").start();
    net.node_mut("coordinator").start();
    assert!(!net.node("mx-csirt").has_bulletin(&id));
    net.node_mut("cl-csirt").start();
    for peer in ["mx-csirt", "coordinator"] {
        eventually(&format!("{peer} gets it after the restart"), T, || {
            net.node(peer).has_bulletin(&id)
        });
    }
    // Let retries and pulls run a few rounds: still exactly one copy everywhere.
    std::thread::sleep(Duration::from_millis(1500));
    for peer in ["mx-csirt", "coordinator", "cl-csirt"] {
        assert_eq!(net.node(peer).count_bulletin(&id), 1, "{peer}");
    }
}

#[test]
fn a_peer_down_for_a_while_catches_up_through_the_pull() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    // cl-csirt never pushes to ar-csirt (suspended), so ar-csirt can only catch up by pulling.
    net.node_mut("cl-csirt").env.push((
        "ATALAYA_FEDERATION__SUSPENDED_PEERS".into(),
        "[\"ar-csirt\"]".into(),
    ));
    net.node_mut("coordinator").start();
    net.node_mut("cl-csirt").start();
    net.node_mut("mx-csirt").start();
    let ids: Vec<String> = (0..5)
        .map(|i| net.node("cl-csirt").publish(&format!("Missed warning {i}")))
        .collect();
    net.node_mut("ar-csirt").start();
    for id in &ids {
        eventually("ar-csirt catches up", T, || {
            net.node("ar-csirt").has_bulletin(id)
        });
    }
    // The origin learns from the pull that ar-csirt has them: no longer pending.
    eventually("origin marks them delivered", T, || {
        let (_, s) = net.node("cl-csirt").get("/api/v1/status");
        s["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["peer"] == "ar-csirt" && p["pending"] == 0)
    });
}

#[test]
fn an_unreachable_origin_is_relayed_by_another_member() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    // cl-csirt and ar-csirt cannot talk to each other at all; mx-csirt reaches both.
    net.node_mut("cl-csirt").env.push((
        "ATALAYA_FEDERATION__SUSPENDED_PEERS".into(),
        "[\"ar-csirt\"]".into(),
    ));
    net.node_mut("ar-csirt").env.push((
        "ATALAYA_FEDERATION__SUSPENDED_PEERS".into(),
        "[\"cl-csirt\"]".into(),
    ));
    net.start_all();
    let id = net.node("cl-csirt").publish("Relayed warning");
    eventually("ar-csirt gets it through mx-csirt", T, || {
        net.node("ar-csirt").has_bulletin(&id)
    });
    let (_, b) = net.node("ar-csirt").get(&format!("/api/v1/bulletins/{id}"));
    assert_eq!(
        b["bulletin"]["origin"], "cl-csirt",
        "still the origin's signed envelope"
    );
}

#[test]
fn a_removed_member_is_refused() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    net.start_all();
    // ar-csirt is offline while it is removed, so it never learns of it and keeps publishing.
    net.node_mut("ar-csirt").stop();
    let coord = net.node("coordinator").config();
    let out = atalaya(&[
        "roster",
        "remove",
        "--config",
        coord.to_str().unwrap(),
        "ar-csirt",
    ]);
    assert!(out.contains("version"), "{out}");
    atalaya(&["roster", "push", "--config", coord.to_str().unwrap()]);
    for n in ["cl-csirt", "mx-csirt"] {
        eventually(&format!("{n} installs the new roster"), T, || {
            let (_, s) = net.node(n).get("/api/v1/status");
            s["roster"]["members"] == 3
        });
    }
    // ar-csirt (on the old roster) publishes: the members refuse it, and its requests too.
    net.node_mut("ar-csirt").start();
    let id = net.node("ar-csirt").publish("From a removed member");
    eventually("cl-csirt refuses with a reason", T, || {
        let (_, b) = net.node("ar-csirt").get(&format!("/api/v1/bulletins/{id}"));
        b["bulletin"]["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| {
                d["peer"] == "cl-csirt"
                    && d["last_error"]
                        .as_str()
                        .is_some_and(|e| e.contains("removed"))
            })
    });
    assert!(!net.node("cl-csirt").has_bulletin(&id));
    assert!(!net.node("mx-csirt").has_bulletin(&id));
    // And new warnings no longer go to ar-csirt.
    let id2 = net.node("cl-csirt").publish("After the removal");
    let (_, b) = net
        .node("cl-csirt")
        .get(&format!("/api/v1/bulletins/{id2}"));
    let peers: Vec<&str> = b["bulletin"]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["peer"].as_str().unwrap())
        .collect();
    assert!(!peers.contains(&"ar-csirt"), "{peers:?}");
}

#[test]
fn a_node_refuses_to_start_with_a_readable_key() {
    let mut net = TestNet::new(&["cl-csirt"]);
    use std::os::unix::fs::PermissionsExt;
    let key = net.node("cl-csirt").dir.join("keys/signing.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["serve", "--config"])
        .arg(net.node("cl-csirt").config())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("signing.key") && err.contains("readable by group or others"),
        "{err}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    net.node_mut("cl-csirt").start();
}
