//! Multi-process federation tests: real `atalaya` processes on loopback, real SQLite files,
//! real signatures, killed with SIGKILL where the scenario says so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::{TestNet, atalaya, eventually, webhook_receiver};

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
    let m = net.node("mx-csirt").metrics();
    assert!(m.contains("atalaya_envelopes_in_total "), "{m}");
    assert!(m.contains("atalaya_outbox_depth{peer=\"cl-csirt\"}"), "{m}");
    eventually("anti-entropy rounds are counted", T, || {
        let m = net.node("mx-csirt").metrics();
        m.lines().any(|l| {
            l.strip_prefix("atalaya_sync_rounds_total ")
                .is_some_and(|v| v.trim() != "0")
        })
    });
}

#[test]
fn only_the_audience_receives_by_push_or_by_pull() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    net.start_all();
    let (status, body) = net.node("cl-csirt").post(
        "/api/v1/bulletins",
        &serde_json::json!({
            "tlp": "AMBER", "kind": "suspicious-activity", "severity": "medium",
            "title": "For Mexico only", "summary": "Scanning from a shared hoster.",
            "audience": {"scope": "nodes", "nodes": ["mx-csirt"]}
        }),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["recipients"], serde_json::json!(["mx-csirt"]));
    let id = body["bulletin"]["id"].as_str().unwrap().to_owned();
    let by_country = net.node("cl-csirt").post(
        "/api/v1/bulletins",
        &serde_json::json!({
            "tlp": "GREEN", "kind": "informational", "severity": "low",
            "title": "For Argentina", "summary": "By country.",
            "audience": {"scope": "countries", "countries": ["AR"]}
        }),
    );
    assert_eq!(by_country.1["recipients"], serde_json::json!(["ar-csirt"]));
    let id_ar = by_country.1["bulletin"]["id"].as_str().unwrap().to_owned();
    eventually("mx-csirt gets it", T, || {
        net.node("mx-csirt").has_bulletin(&id)
    });
    eventually("ar-csirt gets its own", T, || {
        net.node("ar-csirt").has_bulletin(&id_ar)
    });
    // Several pull rounds later (every 400 ms), the others still do not hold it, and the
    // relays did not pass it on either.
    std::thread::sleep(Duration::from_millis(2000));
    for n in ["ar-csirt", "coordinator"] {
        assert!(
            !net.node(n).has_bulletin(&id),
            "{n} got a bulletin not addressed to it"
        );
    }
    for n in ["mx-csirt", "coordinator"] {
        assert!(
            !net.node(n).has_bulletin(&id_ar),
            "{n} got a bulletin not addressed to it"
        );
    }
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

/// The partition an operator found: roster order coordinator, ag, cl, mx, ar; origin `cl` and
/// member `ar` cannot reach each other. Before relays went through holders, `ar` asked only the
/// first two reachable peers in roster order (coordinator and ag), which hold nothing addressed
/// to mx and ar, so the AMBER and country-GREEN warnings never arrived although `mx` held both.
#[test]
fn a_partition_is_bridged_by_whichever_member_holds_the_warnings() {
    let mut net = TestNet::with_countries(&[
        ("ag-csirt", "AG"),
        ("cl-csirt", "CL"),
        ("mx-csirt", "MX"),
        ("ar-csirt", "AR"),
    ]);
    net.node_mut("cl-csirt").env.push((
        "ATALAYA_FEDERATION__SUSPENDED_PEERS".into(),
        "[\"ar-csirt\"]".into(),
    ));
    net.node_mut("ar-csirt").env.push((
        "ATALAYA_FEDERATION__SUSPENDED_PEERS".into(),
        "[\"cl-csirt\"]".into(),
    ));
    net.start_all();
    let cases = [
        (
            "GREEN",
            serde_json::json!({"scope": "network"}),
            serde_json::json!([]),
        ),
        (
            "AMBER",
            serde_json::json!({"scope": "nodes", "nodes": ["mx-csirt", "ar-csirt"]}),
            serde_json::json!([]),
        ),
        (
            "GREEN",
            serde_json::json!({"scope": "countries", "countries": ["MX", "AR"]}),
            serde_json::json!([]),
        ),
        (
            "AMBER+STRICT",
            serde_json::json!({"scope": "nodes", "nodes": ["mx-csirt", "ar-csirt"]}),
            serde_json::json!([]),
        ),
        (
            "RED",
            serde_json::json!({"scope": "nodes", "nodes": ["ar-csirt"]}),
            serde_json::json!(["ana@ar-csirt"]),
        ),
    ];
    // (bulletin id, the nodes that may read it)
    let mut published: Vec<(String, Vec<&str>)> = Vec::new();
    for (i, (tlp, audience, people)) in cases.into_iter().enumerate() {
        let (st, b) = net.node("cl-csirt").post(
            "/api/v1/bulletins",
            &serde_json::json!({
                "tlp": tlp, "kind": "attack-warning", "severity": "high",
                "title": format!("Partition warning {i} {tlp}"), "summary": "s",
                "audience": audience, "people": people
            }),
        );
        assert_eq!(st, 201, "{tlp}: {b}");
        let readers = match i {
            0 => vec!["coordinator", "ag-csirt", "mx-csirt", "ar-csirt"],
            1..=3 => vec!["mx-csirt", "ar-csirt"],
            _ => vec!["ar-csirt"],
        };
        published.push((b["bulletin"]["id"].as_str().unwrap().to_owned(), readers));
    }
    let start = Instant::now();
    for (id, readers) in &published {
        for node in readers {
            eventually(&format!("{node} gets {id}"), T, || {
                net.node(node).has_bulletin_any(id)
            });
        }
    }
    eprintln!("partition bridged in {:?}", start.elapsed());
    // A few more pull and relay rounds, then: exactly once where allowed, nowhere else.
    std::thread::sleep(Duration::from_millis(1500));
    for (id, readers) in &published {
        for node in ["coordinator", "ag-csirt", "mx-csirt", "ar-csirt"] {
            let n = net.node(node);
            if readers.contains(&node) {
                assert!(n.has_bulletin_any(id), "{node} lost {id}");
                if n.has_bulletin(id) {
                    assert_eq!(n.count_bulletin(id), 1, "{node} holds {id} twice");
                }
            } else {
                assert!(!n.has_bulletin(id), "{node} may not read {id}");
            }
        }
    }
    // The relays came from holders: ar asked someone other than the first two in roster order.
    let metrics = net.node("ar-csirt").metrics();
    let relayed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("atalaya_relayed_in_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        relayed >= 4,
        "ar stored {relayed} relayed envelopes\n{metrics}"
    );
    // The operator sees the partition: cl shows ar as not (yet) reachable, never as fine.
    let (_, status) = net.node("cl-csirt").get("/api/v1/status");
    let ar = status["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["peer"] == "ar-csirt")
        .unwrap()
        .clone();
    assert_ne!(ar["state"], "reachable", "{ar}");
    assert!(ar["pending"].as_i64().unwrap() > 0, "{ar}");
}

/// One failed exchange is "retrying", a streak over time is "unreachable", and a peer down past
/// the alert threshold pages the duty roster once — and once more when it is back.
#[test]
fn a_peer_down_for_long_pages_the_duty_roster_once_and_again_when_back() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.node_mut("cl-csirt").env.extend([
        (
            "ATALAYA_FEDERATION__PEER_DOWN_AFTER_FAILURES".into(),
            "3".into(),
        ),
        (
            "ATALAYA_FEDERATION__PEER_DOWN_AFTER_MS".into(),
            "1500".into(),
        ),
        (
            "ATALAYA_FEDERATION__PEER_ALERT_AFTER_MS".into(),
            "3000".into(),
        ),
        ("ATALAYA_NOTIFY__ESCALATION_TICK_MS".into(), "200".into()),
    ]);
    net.start_all();
    let (hook, calls) = webhook_receiver();
    let roster = serde_json::json!({"step_minutes": 15, "entries": [
        {"role": "primary", "name": "Duty at cl", "webhook": hook, "timezone": "America/Santiago"},
        {"role": "lead", "name": "Lead at cl", "webhook": hook, "timezone": "America/Santiago"}
    ]});
    let (st, b) = net
        .node("cl-csirt")
        .put_raw("/api/v1/oncall", &roster.to_string());
    assert_eq!(st, 200, "{b}");
    let cl = |net: &TestNet| {
        let (_, status) = net.node("cl-csirt").get("/api/v1/status");
        status["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["peer"] == "mx-csirt")
            .unwrap()
            .clone()
    };
    eventually("cl exchanges with mx", T, || {
        cl(&net)["state"] == "reachable"
    });
    net.node_mut("mx-csirt").kill9();
    net.node("cl-csirt").publish("While mx is down");
    eventually("a failure shows as retrying first", T, || {
        let p = cl(&net);
        p["state"] == "retrying" || p["state"] == "unreachable"
    });
    eventually("the streak makes mx unreachable", T, || {
        cl(&net)["state"] == "unreachable"
    });
    let metrics = |net: &TestNet| net.node("cl-csirt").metrics();
    assert!(
        metrics(&net).contains("atalaya_peer_unreachable{peer=\"mx-csirt\"} 1"),
        "{}",
        metrics(&net)
    );
    eventually("the duty officer is paged", T, || {
        !calls.lock().unwrap().is_empty()
    });
    // Several more alert passes go by: still one page (only the primary is paged).
    std::thread::sleep(Duration::from_millis(1500));
    {
        let got = calls.lock().unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["event"], "peer-down");
        assert_eq!(got[0]["peer"], "mx-csirt");
        assert_eq!(got[0]["person"], "Duty at cl");
    }
    let p = cl(&net);
    assert!(p["down_alerted"].is_string(), "{p}");
    assert!(p["failing_since"].is_string(), "{p}");
    // A restart of cl does not page the same outage again.
    net.node_mut("cl-csirt").stop();
    net.node_mut("cl-csirt").start();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        calls.lock().unwrap().len(),
        1,
        "paged again after a restart"
    );
    net.node_mut("mx-csirt").start();
    eventually("mx is back", T, || cl(&net)["state"] != "unreachable");
    eventually("the duty officer hears it is back", T, || {
        calls.lock().unwrap().len() == 2
    });
    assert_eq!(calls.lock().unwrap()[1]["event"], "peer-back");
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(calls.lock().unwrap().len(), 2, "one page each way");
    let (_, status) = net.node("cl-csirt").get("/api/v1/status");
    let alerts = status["peer_alerts"].as_array().unwrap();
    assert_eq!(
        alerts
            .iter()
            .map(|a| a["event"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["back", "down"],
        "{status}"
    );
    assert!(metrics(&net).contains("atalaya_peer_unreachable{peer=\"mx-csirt\"} 0"));
    assert!(
        metrics(&net).contains("atalaya_peer_alerts_total 1"),
        "counted since the restart"
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

mod bad_input {
    use super::*;
    use atalaya_crypto::{NodeKeys, RequestParts, sign_envelope, sign_request};
    use serde_json::{Value, json};

    struct Rng(u64);
    impl rand_core::RngCore for Rng {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0
        }
        fn fill_bytes(&mut self, d: &mut [u8]) {
            rand_core::impls::fill_bytes_via_next(self, d)
        }
        fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(d);
            Ok(())
        }
    }
    impl rand_core::CryptoRng for Rng {}

    fn now_secs() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn envelope(origin: &str, id: &str, keys: &NodeKeys) -> serde_json::Map<String, Value> {
        let mut e = json!({
            "v": 1, "id": id, "kind": "bulletin", "origin": origin,
            "created": "2026-01-01T00:00:00.000Z", "tlp": "GREEN",
            "audience": {"scope": "network"}, "embargo_until": null, "refs": [],
            "body": {"kind": "informational", "title": "t", "summary": "s", "severity": "low"}
        })
        .as_object()
        .unwrap()
        .clone();
        sign_envelope(
            &mut e,
            keys.signing_key(),
            &format!("{origin}#{}", keys.key_id()),
        )
        .unwrap();
        e
    }

    struct Sender<'a> {
        keys: &'a NodeKeys,
        key_ref: String,
        port: u16,
        rng: Rng,
    }

    impl Sender<'_> {
        /// A signed POST to the inbox; returns (status, body, a copy of the request).
        fn post(
            &mut self,
            body: &[u8],
            skew: i64,
        ) -> (u16, Value, reqwest::blocking::RequestBuilder) {
            let own = format!("127.0.0.1:{}", self.port);
            self.send(&own, body, body, skew)
        }

        /// Sign `signed` for the node at `addressed_to`, but send `sent` to this node.
        fn send(
            &mut self,
            addressed_to: &str,
            signed: &[u8],
            sent: &[u8],
            skew: i64,
        ) -> (u16, Value, reqwest::blocking::RequestBuilder) {
            let parts = RequestParts {
                method: "POST",
                authority: addressed_to,
                path: "/fed/v1/inbox",
                query: None,
                body: Some(signed),
            };
            let h = sign_request(
                &parts,
                self.keys.signing_key(),
                &self.key_ref,
                now_secs() + skew,
                &mut self.rng,
            )
            .unwrap();
            let req = common::http()
                .post(format!("http://127.0.0.1:{}/fed/v1/inbox", self.port))
                .header("host", addressed_to)
                .header("signature-input", h.signature_input)
                .header("signature", h.signature)
                .header("content-digest", h.content_digest.unwrap())
                .header("content-type", "application/json")
                .body(sent.to_vec());
            let again = req.try_clone().unwrap();
            let r = req.send().unwrap();
            let status = r.status().as_u16();
            (status, r.json().unwrap_or(Value::Null), again)
        }
    }

    fn code(v: &Value) -> &str {
        v["error"]["code"].as_str().unwrap_or("")
    }

    #[test]
    fn every_bad_input_is_refused_with_a_code_and_nothing_is_stored() {
        let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
        // No audit checkpoints here: they are envelopes too, and the log head must only move
        // for what this test sends.
        for knob in [
            "ATALAYA_FEDERATION__CHECKPOINT_INTERVAL_MS",
            "ATALAYA_FEDERATION__AUDIT_CHECKPOINT_MIN_INTERVAL_MS",
        ] {
            net.node_mut("cl-csirt")
                .env
                .push((knob.into(), "3600000".into()));
        }
        net.node_mut("cl-csirt").start();
        let target = net.node("cl-csirt");
        let head = |n: &common::TestNode| n.get("/api/v1/status").1["log_head"].as_i64().unwrap();
        let before = head(target);
        let mx = NodeKeys::load_from_dir(&net.node("mx-csirt").dir.join("keys")).unwrap();
        let mut s = Sender {
            keys: &mx,
            key_ref: format!("mx-csirt#{}", mx.key_id()),
            port: target.port,
            rng: Rng(7),
        };

        // Whole-request refusals.
        let batch = |envs: Vec<Value>| serde_json::to_vec(&json!({"envelopes": envs})).unwrap();
        let r = common::http()
            .post(format!("{}/fed/v1/inbox", target.url()))
            .body(batch(vec![]))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(code(&r.json().unwrap()), "unsigned_request");
        let (st, body, replay) = s.post(&batch(vec![]), 0);
        assert_eq!(st, 200, "{body}");
        let r = replay.send().unwrap();
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(code(&r.json().unwrap()), "replayed_request");
        let (st, body, _) = s.post(&batch(vec![]), -301);
        assert_eq!((st, code(&body)), (401, "stale_request"));
        let (st, body, _) = s.post(&batch(vec![]), 301);
        assert_eq!((st, code(&body)), (401, "stale_request"));
        let stranger = NodeKeys::generate(&mut Rng(99));
        let mut impostor = Sender {
            keys: &stranger,
            key_ref: format!("mx-csirt#{}", stranger.key_id()),
            port: target.port,
            rng: Rng(8),
        };
        let (st, body, _) = impostor.post(&batch(vec![]), 0);
        assert_eq!((st, code(&body)), (401, "unknown_key"));
        let mut outsider = Sender {
            keys: &stranger,
            key_ref: format!("zz-nobody#{}", stranger.key_id()),
            port: target.port,
            rng: Rng(9),
        };
        let (st, body, _) = outsider.post(&batch(vec![]), 0);
        assert_eq!((st, code(&body)), (401, "unknown_key"));
        // A body changed after signing.
        let own = format!("127.0.0.1:{}", target.port);
        let (st, body, _) = s.send(&own, &batch(vec![]), b"{\"envelopes\":[ ]}", 0);
        assert_eq!((st, code(&body)), (401, "digest_mismatch"));
        // A request signed for another node, replayed here.
        let (st, body, _) = s.send("127.0.0.1:1", &batch(vec![]), &batch(vec![]), 0);
        assert_eq!((st, code(&body)), (401, "wrong_authority"));
        let (st, body, _) = s.post(b"{\"envelopes\": [", 0);
        assert_eq!((st, code(&body)), (400, "malformed_batch"));
        let (st, body, _) = s.post(b"{\"envelopes\": [\"\xff\"]}", 0);
        assert_eq!((st, code(&body)), (400, "invalid_utf8"));
        let deep = format!("{{\"envelopes\": {}{}}}", "[".repeat(200), "]".repeat(200));
        let (st, body, _) = s.post(deep.as_bytes(), 0);
        assert_eq!((st, code(&body)), (400, "too_deep"));
        // A 9 MiB body announced: refused from the headers, before a byte of it is sent (a
        // client writing the body could instead see the connection closed under it).
        {
            use std::io::{Read, Write};
            let mut tcp = std::net::TcpStream::connect(("127.0.0.1", target.port)).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            write!(
                tcp,
                "POST /fed/v1/inbox HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                target.port,
                9 * 1024 * 1024
            )
            .unwrap();
            let mut answer = Vec::new();
            let _ = tcp.read_to_end(&mut answer);
            let answer = String::from_utf8_lossy(&answer);
            assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
            assert!(answer.contains("\"too_large\""), "{answer}");
        }
        let many: Vec<Value> = (0..1001).map(|_| json!({})).collect();
        let (st, body, _) = s.post(&batch(many), 0);
        assert_eq!((st, code(&body)), (413, "too_many_envelopes"));

        // Per-envelope verdicts.
        let ok = envelope("mx-csirt", "01936b2e-0000-7000-8000-00000000000a", &mx);
        let mut tampered = envelope("mx-csirt", "01936b2e-0000-7000-8000-00000000000b", &mx);
        tampered["body"]["title"] = json!("T");
        let mut bad_kind = envelope("mx-csirt", "01936b2e-0000-7000-8000-00000000000c", &mx);
        bad_kind["kind"] = json!("telegram");
        let mut bad_version = envelope("mx-csirt", "01936b2e-0000-7000-8000-00000000000d", &mx);
        bad_version["v"] = json!(9);
        let unknown_origin = envelope(
            "zz-nobody",
            "01936b2e-0000-7000-8000-00000000000e",
            &stranger,
        );
        let forged = envelope(
            "mx-csirt",
            "01936b2e-0000-7000-8000-00000000000f",
            &stranger,
        );
        let mut big = envelope("mx-csirt", "01936b2e-0000-7000-8000-000000000010", &mx);
        big["body"]["body"] = json!("x".repeat(1024 * 1024));
        // A roster signed by a member instead of the coordinator.
        let real: Value = serde_json::from_str(
            &std::fs::read_to_string(net.node("coordinator").dir.join("roster.json")).unwrap(),
        )
        .unwrap();
        let mut fake_roster = real["body"].clone();
        fake_roster["coordinator"] = "mx-csirt".into();
        fake_roster["version"] = 99.into();
        let mut coup = envelope("mx-csirt", "01936b2e-0000-7000-8000-000000000012", &mx);
        coup["kind"] = "roster".into();
        coup["body"] = fake_roster;
        sign_envelope(
            &mut coup,
            mx.signing_key(),
            &format!("mx-csirt#{}", mx.key_id()),
        )
        .unwrap();
        let mut unsigned = envelope("mx-csirt", "01936b2e-0000-7000-8000-000000000011", &mx);
        unsigned.remove("sig");
        let (st, reply, _) = s.post(
            &batch(vec![
                Value::Object(tampered),
                Value::Object(bad_kind),
                Value::Object(bad_version),
                Value::Object(unknown_origin),
                Value::Object(forged),
                Value::Object(big),
                Value::Object(unsigned),
                json!("not an object"),
                Value::Object(coup),
            ]),
            0,
        );
        assert_eq!(st, 200, "{reply}");
        let codes: Vec<&str> = reply["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "bad_signature",
                "unknown_kind",
                "unsupported_version",
                "unknown_origin",
                "unknown_key",
                "too_large",
                "missing_signature",
                "not_an_object",
                "untrusted_roster"
            ]
        );
        assert!(
            reply["rejected"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| !r["reason"].as_str().unwrap().is_empty())
        );
        assert!(reply["accepted"].as_array().unwrap().is_empty());
        assert_eq!(head(target), before, "nothing stored");

        // A retraction of cl-csirt's own bulletin, signed by mx-csirt.
        let own = target.publish("cl-csirt's own");
        let before_forgery = head(target);
        let mut forged_retraction =
            envelope("mx-csirt", "01936b2e-0000-7000-8000-000000000013", &mx);
        forged_retraction["kind"] = "retraction".into();
        forged_retraction["refs"] = json!([own]);
        forged_retraction["body"] = json!({"bulletin": own, "reason": "sabotage"});
        sign_envelope(
            &mut forged_retraction,
            mx.signing_key(),
            &format!("mx-csirt#{}", mx.key_id()),
        )
        .unwrap();
        let (_, reply, _) = s.post(&batch(vec![Value::Object(forged_retraction)]), 0);
        assert_eq!(reply["rejected"][0]["code"], "not_the_origin", "{reply}");
        assert_eq!(head(target), before_forgery, "nothing stored");
        assert!(
            target.get(&format!("/api/v1/bulletins/{own}")).1["bulletin"]["retracted"].is_null()
        );
        let before = head(target);

        // The good one goes in once; sending it again is a duplicate.
        let (_, reply, _) = s.post(&batch(vec![Value::Object(ok.clone())]), 0);
        assert_eq!(reply["accepted"].as_array().unwrap().len(), 1, "{reply}");
        let (_, reply, _) = s.post(&batch(vec![Value::Object(ok)]), 0);
        assert_eq!(reply["duplicate"].as_array().unwrap().len(), 1, "{reply}");
        assert_eq!(head(target), before + 1);

        // The API.
        let api = format!("{}/api/v1/bulletins", target.url());
        let r = common::http().get(&api).send().unwrap();
        assert_eq!(
            (r.status().as_u16(), code(&r.json().unwrap()).to_owned()),
            (401, "missing_token".to_owned())
        );
        let r = common::http()
            .get(&api)
            .bearer_auth("atl_nope")
            .send()
            .unwrap();
        assert_eq!(
            (r.status().as_u16(), code(&r.json().unwrap()).to_owned()),
            (401, "invalid_token".to_owned())
        );
        let r = common::http()
            .post(&api)
            .bearer_auth(&target.token)
            .body("{")
            .send()
            .unwrap();
        assert_eq!(
            (r.status().as_u16(), code(&r.json().unwrap()).to_owned()),
            (400, "malformed_json".to_owned())
        );
        let (st, body) = target.post("/api/v1/bulletins", &json!({"tlp": "GREEN", "kind": "informational", "title": "", "summary": "s", "severity": "low"}));
        assert_eq!((st, code(&body)), (422, "invalid_bulletin"));
        let (st, body) = target.post("/api/v1/bulletins", &json!({"tlp": "PURPLE", "kind": "informational", "title": "t", "summary": "s", "severity": "low"}));
        assert_eq!((st, code(&body)), (422, "invalid_request"));
        // Labels that contradict each other.
        let labelled = |extra: Value| {
            let mut b =
                json!({"kind": "informational", "title": "t", "summary": "s", "severity": "low"});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            target.post("/api/v1/bulletins", &b)
        };
        for (extra, expected) in [
            (
                json!({"tlp": "RED", "people": ["ana@mx-csirt"]}),
                "red_needs_named_nodes",
            ),
            (
                json!({"tlp": "RED", "audience": {"scope": "nodes", "nodes": ["mx-csirt"]}}),
                "red_needs_people",
            ),
            (
                json!({"tlp": "RED", "audience": {"scope": "nodes", "nodes": ["mx-csirt"]}, "people": ["ana@coordinator"]}),
                "person_outside_audience",
            ),
            (
                json!({"tlp": "GREEN", "embargo_until": "2020-01-01T00:00:00Z"}),
                "embargo_in_past",
            ),
            (
                json!({"tlp": "GREEN", "audience": {"scope": "nodes", "nodes": ["zz-nobody"]}}),
                "unknown_peer",
            ),
            (
                json!({"tlp": "GREEN", "audience": {"scope": "countries", "countries": ["FR"]}}),
                "unknown_country",
            ),
            (
                json!({"tlp": "AMBER", "people": ["ana@mx-csirt"]}),
                "people_without_red",
            ),
            (
                json!({"tlp": "AMBER+STRICT", "constituents": ["Banco Central"]}),
                "constituents_forbidden",
            ),
            (
                json!({"tlp": "RED", "audience": {"scope": "nodes", "nodes": ["mx-csirt"]},
                       "people": ["ana@mx-csirt"], "constituents": ["ISP"]}),
                "constituents_forbidden",
            ),
        ] {
            let (st, body) = labelled(extra.clone());
            assert_eq!((st, code(&body)), (422, expected), "{extra}: {body}");
        }
        let (st, body) = target.get("/api/v1/bulletins/not-a-uuid");
        assert_eq!((st, code(&body)), (400, "invalid_id"));
        assert_eq!(
            head(target),
            before + 1,
            "nothing stored by refused API calls"
        );
    }

    /// A request to `port` signed as `key_ref` (any method, path and query), as a peer would.
    fn signed(
        keys: &NodeKeys,
        key_ref: &str,
        port: u16,
        rng: &mut Rng,
        method: &str,
        path_and_query: &str,
        body: Option<&[u8]>,
    ) -> (u16, Value) {
        let authority = format!("127.0.0.1:{port}");
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let parts = RequestParts {
            method,
            authority: &authority,
            path,
            query,
            body,
        };
        let h = sign_request(&parts, keys.signing_key(), key_ref, now_secs(), rng).unwrap();
        let url = format!("http://{authority}{path_and_query}");
        let mut req = match method {
            "POST" => common::http().post(url),
            _ => common::http().get(url),
        }
        .header("signature-input", h.signature_input)
        .header("signature", h.signature);
        if let Some(d) = h.content_digest {
            req = req.header("content-digest", d);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_vec());
        }
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    fn count_rows(db: &std::path::Path, table: &str) -> i64 {
        let script = format!(
            "import sqlite3, sys\nc = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\nprint(c.execute('SELECT COUNT(*) FROM {table}').fetchone()[0])\n"
        );
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(db)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// Checkpoints of a peer that do not hold to the one held — another root for the same size,
    /// a proof that does not verify, a later and smaller log, a larger one that cannot be
    /// proven — are refused with their code and not kept (the head held stays, the envelope is
    /// not stored); the node reports the peer once per head held. Countersignatures that are not
    /// the sender's, not valid, or of a checkpoint never published are refused and not kept.
    #[test]
    fn audit_checkpoints_and_countersignatures_that_do_not_hold_are_refused() {
        use atalaya_core::merkle::{self, MemoryTree};
        let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
        // mx-csirt is not running: cl-csirt cannot ask it for a proof.
        net.node_mut("cl-csirt").start();
        let target = net.node("cl-csirt");
        let db = target.dir.join("atalaya.db");
        let mx = NodeKeys::load_from_dir(&net.node("mx-csirt").dir.join("keys")).unwrap();
        let key_ref = format!("mx-csirt#{}", mx.key_id());
        let mut s = Sender {
            keys: &mx,
            key_ref: key_ref.clone(),
            port: target.port,
            rng: Rng(11),
        };
        let mut tree = MemoryTree::new();
        for i in 0..12u8 {
            tree.push(merkle::leaf_hash(&[i]));
        }
        let root = |n: u64| tree.root(n).unwrap();
        let mut next_id = 0;
        let mut send = |size: u64, root: [u8; 32], secs_ago: i64, extends: Value| {
            next_id += 1;
            let id = format!("01936b2e-0000-7000-8000-{next_id:012}");
            let at = common::now_rfc3339(-secs_ago * 1000);
            let mut e = json!({
                "v": 1, "id": id, "kind": "audit-checkpoint", "origin": "mx-csirt",
                "created": at, "tlp": "GREEN", "audience": {"scope": "network"},
                "embargo_until": null, "refs": [],
                "body": {"seq": size, "hash": "ab".repeat(32), "root": merkle::to_hex(&root),
                         "time": at, "extends": extends}
            })
            .as_object()
            .unwrap()
            .clone();
            sign_envelope(&mut e, mx.signing_key(), &key_ref).unwrap();
            let batch = serde_json::to_vec(&json!({"envelopes": [e]})).unwrap();
            let (st, reply, _) = s.post(&batch, 0);
            assert_eq!(st, 200, "{reply}");
            let code = reply["rejected"][0]["code"]
                .as_str()
                .unwrap_or("accepted")
                .to_owned();
            (id, code)
        };
        let link = |from: u64, to: u64, flip: bool| {
            let mut proof = tree.consistency_proof(from, to).unwrap();
            if flip {
                proof[0][0] ^= 1;
            }
            json!({"seq": from, "root": merkle::to_hex(&root(from)),
                   "proof": proof.iter().map(merkle::to_hex).collect::<Vec<_>>()})
        };
        let (first, verdict) = send(4, root(4), 60, Value::Null);
        assert_eq!(
            verdict, "accepted",
            "the first head of a peer is taken as it is"
        );
        let mut refused = Vec::new();
        for (size, r, ago, extends, expected) in [
            (4, [9; 32], 50, Value::Null, "audit_fork"),
            (8, root(8), 45, link(4, 8, true), "audit_not_extension"),
            (8, [7; 32], 45, link(4, 8, false), "audit_not_extension"),
        ] {
            let (id, verdict) = send(size, r, ago, extends);
            assert_eq!(verdict, expected, "size {size}");
            refused.push(id);
        }
        let (proven, verdict) = send(8, root(8), 40, link(4, 8, false));
        assert_eq!(verdict, "accepted", "a proven extension is taken");
        for (size, r, ago, expected) in [
            (6, root(6), 10, "audit_truncated"),
            (12, root(12), 5, "audit_unproven"),
        ] {
            let (id, verdict) = send(size, r, ago, Value::Null);
            assert_eq!(verdict, expected, "size {size}");
            refused.push(id);
        }
        // An old head arriving late is kept as an envelope but changes nothing; one that
        // contradicts a head held of its size is a fork.
        let (_, verdict) = send(6, root(6), 55, Value::Null);
        assert_eq!(verdict, "accepted");
        let (id, verdict) = send(4, [5; 32], 58, Value::Null);
        assert_eq!(verdict, "audit_fork");
        refused.push(id);
        let (held, _) = held_in_sqlite(&db);
        assert!(held.contains(&first) && held.contains(&proven));
        for id in &refused {
            assert!(!held.contains(id), "refused checkpoint {id} stored");
        }
        // The head held is the proven one.
        let (st, cp) = signed(
            &mx,
            &key_ref,
            target.port,
            &mut s.rng,
            "GET",
            "/fed/v1/checkpoint?node=mx-csirt",
            None,
        );
        assert_eq!(
            (st, cp["id"].as_str()),
            (200, Some(proven.as_str())),
            "{cp}"
        );
        // Reported once per head held: the fork (and the bad proofs) against 4, the
        // truncation against 8.
        let (_, status) = target.get("/api/v1/status");
        let mut reports: Vec<(String, String, i64)> = status["audit_inconsistencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["node"].as_str().unwrap().to_owned(),
                    i["code"].as_str().unwrap().to_owned(),
                    i["held_size"].as_i64().unwrap(),
                )
            })
            .collect();
        reports.sort();
        assert_eq!(
            reports,
            [
                ("mx-csirt".to_owned(), "audit_fork".to_owned(), 4),
                ("mx-csirt".to_owned(), "audit_truncated".to_owned(), 8)
            ]
        );

        // Countersignatures of cl-csirt's heads, sent by mx-csirt.
        let witnessed = common::now_rfc3339(0);
        let head = atalaya_core::audit::TreeHead {
            size: 1,
            root: root(1),
            time: atalaya_core::Timestamp::parse(&witnessed).unwrap(),
        };
        let cl = atalaya_core::NodeId::new("cl-csirt").unwrap();
        let mxid = atalaya_core::NodeId::new("mx-csirt").unwrap();
        let sign = |witness: &atalaya_core::NodeId| {
            use base64::Engine as _;
            use ed25519_dalek::Signer as _;
            let msg = atalaya_core::audit::cosignature_message(witness, head.time, &cl, &head);
            base64::engine::general_purpose::STANDARD.encode(mx.signing_key().sign(&msg).to_bytes())
        };
        let cosig = |witness: &str, key: &str, sig: String| {
            serde_json::to_vec(&json!({
                "origin": "cl-csirt", "size": 1, "root": merkle::to_hex(&root(1)), "time": witnessed,
                "witness": witness, "key": key, "witnessed": witnessed, "sig": sig
            }))
            .unwrap()
        };
        use base64::Engine as _;
        let zeros = base64::engine::general_purpose::STANDARD.encode([0u8; 64]);
        for (body, expected) in [
            (cosig("mx-csirt", &key_ref, zeros), "forged_cosignature"),
            (
                cosig(
                    "mx-csirt",
                    &key_ref,
                    sign(&atalaya_core::NodeId::new("ar-csirt").unwrap()),
                ),
                "forged_cosignature",
            ),
            (
                cosig("ar-csirt", &key_ref, sign(&mxid)),
                "forged_cosignature",
            ),
            (
                cosig("mx-csirt", &key_ref, sign(&mxid)),
                "unknown_checkpoint",
            ),
            (b"{\"origin\": 1}".to_vec(), "invalid_cosignature"),
        ] {
            let (st, answer) = signed(
                &mx,
                &key_ref,
                target.port,
                &mut s.rng,
                "POST",
                "/fed/v1/audit/cosignature",
                Some(&body),
            );
            assert_eq!(
                (st, code(&answer)),
                (
                    if expected == "invalid_cosignature" {
                        400
                    } else {
                        422
                    },
                    expected
                ),
                "{answer}"
            );
        }
        assert_eq!(count_rows(&db, "audit_cosignatures"), 0);
        // Proofs between sizes the node does not have are refused.
        for q in ["from=5&to=3", "from=0&to=1", "from=1&to=100000"] {
            let (st, answer) = signed(
                &mx,
                &key_ref,
                target.port,
                &mut s.rng,
                "GET",
                &format!("/fed/v1/audit/consistency?{q}"),
                None,
            );
            assert_eq!((st, code(&answer)), (422, "no_such_proof"), "{q}: {answer}");
        }
    }
}

#[test]
fn the_roster_cli_signs_verifies_and_refuses_tampering() {
    let net = TestNet::new(&["cl-csirt"]);
    let coord = net.node("coordinator").config();
    let coord = coord.to_str().unwrap();
    let out = atalaya(&["roster", "show", "--config", coord]);
    assert!(
        out.contains("version 2") && out.contains("cl-csirt") && out.contains("signature verified"),
        "{out}"
    );
    // Edit by hand and sign: a newer version is accepted, an older one refused.
    let view: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(net.node("coordinator").dir.join("roster.json")).unwrap(),
    )
    .unwrap();
    let mut roster = view["body"].clone();
    roster["network"] = "renamed-network".into();
    roster["version"] = 7.into();
    let edited = net.path().join("edited.json");
    std::fs::write(&edited, roster.to_string()).unwrap();
    atalaya(&[
        "roster",
        "sign",
        "--config",
        coord,
        edited.to_str().unwrap(),
    ]);
    let out = atalaya(&["roster", "show", "--config", coord]);
    assert!(
        out.contains("renamed-network") && out.contains("version 7"),
        "{out}"
    );
    roster["version"] = 3.into();
    std::fs::write(&edited, roster.to_string()).unwrap();
    let refused = std::process::Command::new(common::BIN)
        .args([
            "roster",
            "sign",
            "--config",
            coord,
            edited.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not newer"));
    // A member cannot sign, and a tampered roster does not verify anywhere.
    let member = net.node("cl-csirt").config();
    let refused = std::process::Command::new(common::BIN)
        .args([
            "roster",
            "remove",
            "--config",
            member.to_str().unwrap(),
            "coordinator",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only the coordinator signs"));
    let signed = std::fs::read_to_string(net.node("coordinator").dir.join("roster.json")).unwrap();
    let tampered = net.path().join("tampered.json");
    std::fs::write(
        &tampered,
        signed.replace("renamed-network", "hijacked-network"),
    )
    .unwrap();
    let refused = std::process::Command::new(common::BIN)
        .args([
            "roster",
            "show",
            "--config",
            member.to_str().unwrap(),
            tampered.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("not signed by the trusted coordinator key"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[test]
fn each_state_decides_what_it_sends_and_accepts() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    net.start_all();
    // cl-csirt shares at most GREEN with mx-csirt; mx-csirt refuses anything from ar-csirt.
    let policy = net.path().join("cl-policy.json");
    std::fs::write(
        &policy,
        r#"{"outbound": [{"peers": ["mx-csirt"], "max_tlp": "GREEN"}]}"#,
    )
    .unwrap();
    let out = atalaya(&[
        "policy",
        "set",
        "--config",
        net.node("cl-csirt").config().to_str().unwrap(),
        policy.to_str().unwrap(),
    ]);
    assert!(out.contains("mx-csirt"), "{out}");
    let (st, _) = net
        .node("mx-csirt")
        .put_raw("/api/v1/policy", r#"{"refuse_from": ["ar-csirt"]}"#);
    assert_eq!(st, 200);
    // A policy that names an unknown peer is refused, and the old one stays.
    let (st, body) = net
        .node("mx-csirt")
        .put_raw("/api/v1/policy", r#"{"refuse_from": ["zz-nobody"]}"#);
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (422, Some("unknown_peer"))
    );
    assert_eq!(
        net.node("mx-csirt").get("/api/v1/policy").1["policy"]["refuse_from"][0],
        "ar-csirt"
    );

    let amber = |n: &common::TestNode, title: &str, tlp: &str| {
        let (st, b) = n.post("/api/v1/bulletins", &serde_json::json!({
            "tlp": tlp, "kind": "attack-warning", "severity": "high", "title": title, "summary": "s"
        }));
        assert_eq!(st, 201, "{b}");
        b["bulletin"]["id"].as_str().unwrap().to_owned()
    };
    let a = amber(net.node("cl-csirt"), "AMBER from Chile", "AMBER");
    let g = amber(net.node("cl-csirt"), "GREEN from Chile", "GREEN");
    let from_ar = amber(net.node("ar-csirt"), "GREEN from Argentina", "GREEN");
    eventually("mx-csirt gets the GREEN one", T, || {
        net.node("mx-csirt").has_bulletin(&g)
    });
    eventually("ar-csirt gets the AMBER one", T, || {
        net.node("ar-csirt").has_bulletin(&a)
    });
    eventually("cl-csirt gets Argentina's", T, || {
        net.node("cl-csirt").has_bulletin(&from_ar)
    });
    eventually("ar-csirt sees mx-csirt refuse it", T, || {
        let (_, b) = net
            .node("ar-csirt")
            .get(&format!("/api/v1/bulletins/{from_ar}"));
        b["bulletin"]["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| {
                d["peer"] == "mx-csirt"
                    && d["last_error"]
                        .as_str()
                        .is_some_and(|e| e.contains("inbound_policy"))
            })
    });
    // Several pull and relay rounds later, nothing crossed the policies by another path.
    std::thread::sleep(Duration::from_millis(2000));
    assert!(
        !net.node("mx-csirt").has_bulletin(&a),
        "AMBER reached mx-csirt"
    );
    assert!(
        !net.node("mx-csirt").has_bulletin(&from_ar),
        "mx-csirt took Argentina's"
    );
}

/// Run SQL against a node's database behind its back, the way an intruder with file access would.
fn tamper(db: &std::path::Path, sql: &str) {
    let script = format!(
        "import sqlite3\nc = sqlite3.connect({db:?})\nc.execute('DROP TRIGGER IF EXISTS audit_no_update')\nc.execute('DROP TRIGGER IF EXISTS audit_no_delete')\nc.executescript({sql:?})\nc.commit()\n",
        db = db.to_str().unwrap()
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn the_audit_trail_records_denials_and_views_and_names_any_tampering() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    net.start_all();
    let (st, b) = net.node("cl-csirt").post("/api/v1/bulletins", &serde_json::json!({
        "tlp": "AMBER", "kind": "attack-warning", "severity": "high", "title": "For Mexico", "summary": "s",
        "audience": {"scope": "nodes", "nodes": ["mx-csirt"]}
    }));
    assert_eq!(st, 201, "{b}");
    let amber = b["bulletin"]["id"].as_str().unwrap().to_owned();
    let (st, b) = net.node("cl-csirt").post("/api/v1/bulletins", &serde_json::json!({
        "tlp": "RED", "kind": "attack-warning", "severity": "critical", "title": "Eyes only", "summary": "s",
        "audience": {"scope": "nodes", "nodes": ["mx-csirt"]}, "people": ["ana@mx-csirt"]
    }));
    assert_eq!(st, 201, "{b}");
    let red = b["bulletin"]["id"].as_str().unwrap().to_owned();
    eventually("mx-csirt gets both", T, || {
        net.node("mx-csirt").has_bulletin(&amber) && net.node("mx-csirt").count_bulletin(&red) == 0
    });
    // The CLI token of mx-csirt is not Ana: RED stays closed to it, and that is recorded.
    eventually("RED arrives", T, || {
        net.node("mx-csirt")
            .get(&format!("/api/v1/bulletins/{red}"))
            .0
            == 403
    });
    let (st, body) = net
        .node("mx-csirt")
        .get(&format!("/api/v1/bulletins/{red}"));
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (403, Some("not_a_named_recipient"))
    );
    for n in ["cl-csirt", "mx-csirt"] {
        net.node_mut(n).stop();
    }
    let verify = |config: &std::path::Path| {
        std::process::Command::new(common::BIN)
            .args(["audit", "verify", "--config"])
            .arg(config)
            .output()
            .unwrap()
    };
    let show = |config: &std::path::Path| {
        atalaya(&[
            "audit",
            "show",
            "--config",
            config.to_str().unwrap(),
            "--last",
            "100",
        ])
    };
    let cl = net.node("cl-csirt").dir.clone();
    let mx = net.node("mx-csirt").dir.clone();
    let trail = show(&cl.join("config.toml"));
    assert!(
        trail.contains("node:ar-csirt")
            && trail.contains("deny")
            && trail.contains("not_in_audience"),
        "{trail}"
    );
    let trail = show(&mx.join("config.toml"));
    assert!(
        trail.contains("user:cli") && trail.contains("view") && trail.contains("TLP:AMBER"),
        "{trail}"
    );
    assert!(trail.contains("not_a_named_recipient"), "{trail}");
    for dir in [&cl, &mx] {
        let out = verify(&dir.join("config.toml"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("audit chain intact"));
    }
    // Modify, delete, reorder: each is named with the entry where the chain breaks.
    let cases = [
        ("UPDATE audit SET decision = 'allow' WHERE seq = 2", "entry 2", "modified"),
        ("DELETE FROM audit WHERE seq = 2", "entry 3", "deleted"),
        (
            "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE seq IN (1, 2);
             UPDATE audit SET at_ms = (SELECT at_ms FROM t WHERE seq = 2), actor = (SELECT actor FROM t WHERE seq = 2), action = (SELECT action FROM t WHERE seq = 2), object = (SELECT object FROM t WHERE seq = 2), decision = (SELECT decision FROM t WHERE seq = 2), reason = (SELECT reason FROM t WHERE seq = 2), prev_hash = (SELECT prev_hash FROM t WHERE seq = 2), hash = (SELECT hash FROM t WHERE seq = 2) WHERE seq = 1;
             UPDATE audit SET at_ms = (SELECT at_ms FROM t WHERE seq = 1), actor = (SELECT actor FROM t WHERE seq = 1), action = (SELECT action FROM t WHERE seq = 1), object = (SELECT object FROM t WHERE seq = 1), decision = (SELECT decision FROM t WHERE seq = 1), reason = (SELECT reason FROM t WHERE seq = 1), prev_hash = (SELECT prev_hash FROM t WHERE seq = 1), hash = (SELECT hash FROM t WHERE seq = 1) WHERE seq = 2;",
            "entry 1",
            "reordered",
        ),
    ];
    for (i, (sql, entry, what)) in cases.iter().enumerate() {
        let copy = net.path().join(format!("tampered-{i}"));
        copy_dir(&cl, &copy);
        tamper(&copy.join("atalaya.db"), sql);
        let out = verify(&copy.join("config.toml"));
        assert!(!out.status.success(), "{what} not detected");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("broken at {entry}")) && err.contains(what),
            "{what}: {err}"
        );
    }
}

/// Rewrite a node's audit chain after entry `argv[2]` (0: all of it) consistently, the way an
/// intruder with the disk who knows the format would: every later `deny` becomes `allow`, every
/// later hash is recomputed, and the Merkle tree nodes that cover the rewritten entries are
/// removed so the node rebuilds them from the new chain (the triggers are dropped first).
const REWRITE: &str = r#"
import sqlite3, hashlib, struct, datetime, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
after = int(sys.argv[2]) if len(sys.argv) > 2 else 0
c.execute('DROP TRIGGER IF EXISTS audit_no_update')
c.execute('DROP TRIGGER IF EXISTS audit_tree_no_delete')
prev = '0' * 64 if after == 0 else c.execute('SELECT hash FROM audit WHERE seq = ?', (after,)).fetchone()[0]
rows = c.execute('SELECT seq, at_ms, actor, action, object, decision, reason FROM audit WHERE seq > ? ORDER BY seq', (after,)).fetchall()
for seq, at_ms, actor, action, obj, decision, reason in rows:
    decision = 'allow'
    t = datetime.datetime.fromtimestamp(at_ms / 1000, datetime.timezone.utc)
    at = t.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (at_ms % 1000)
    h = hashlib.sha256()
    for f in [prev, str(seq), at, actor, action, obj, decision, reason]:
        b = f.encode()
        h.update(struct.pack('>Q', len(b)))
        h.update(b)
    digest = h.hexdigest()
    c.execute('UPDATE audit SET decision = ?, prev_hash = ?, hash = ? WHERE seq = ?', (decision, prev, digest, seq))
    prev = digest
c.execute('DELETE FROM audit_tree WHERE idx >= (? >> level)', (after,))
c.commit()
print(len(rows))
"#;

fn rewrite_audit(db: &std::path::Path, after: i64) -> usize {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(REWRITE)
        .arg(db)
        .arg(after.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// `atalaya audit verify` of a node: (success, stdout, stderr).
fn audit_verify(config: &std::path::Path) -> (bool, String, String) {
    let out = std::process::Command::new(common::BIN)
        .args(["audit", "verify", "--config"])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The size of the local log once every peer in `peers` holds a checkpoint of all of it.
fn wait_until_peers_hold_the_whole_log(config: &std::path::Path, peers: &[&str], min: i64) -> i64 {
    let start = std::time::Instant::now();
    loop {
        let (ok, stdout, stderr) = audit_verify(config);
        let n: i64 = stdout
            .split("intact: ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if ok
            && n >= min
            && peers
                .iter()
                .all(|p| stdout.contains(&format!("{p}: checkpoint of {n} entries is consistent")))
        {
            return n;
        }
        assert!(
            start.elapsed() < T,
            "the peers hold no checkpoint of the whole log: {stdout}{stderr}"
        );
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// The audit inconsistencies a node shows in `/api/v1/status`: (node, reporter, code).
fn inconsistencies(n: &common::TestNode) -> Vec<(String, String, String)> {
    let (_, status) = n.get("/api/v1/status");
    status["audit_inconsistencies"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    (
                        i["node"].as_str().unwrap_or("").to_owned(),
                        i["reporter"].as_str().unwrap_or("").to_owned(),
                        i["code"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn publish_for_mexico(n: &common::TestNode, title: &str) {
    let (st, b) = n.post(
        "/api/v1/bulletins",
        &serde_json::json!({
            "tlp": "GREEN", "kind": "informational", "severity": "low", "title": title,
            "summary": "s", "audience": {"scope": "nodes", "nodes": ["mx-csirt"]}
        }),
    );
    assert_eq!(st, 201, "{b}");
}

/// The issue's attack: with the node stopped, the audit history is rewritten (entry by entry,
/// every later hash and the Merkle tree recomputed) and the node restarted. Before the restart
/// `audit verify` fails against the peers' checkpoints; after it, the node's new checkpoints
/// are refused by every peer (they keep the old head), each peer reports the inconsistency to
/// every member, the coordinator included, and `audit verify` still fails. A truncated log is
/// named as such. The peers countersigned the heads they accepted before.
#[test]
fn peers_hold_a_node_to_its_audit_past_across_a_rewrite_and_a_restart() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    net.start_all();
    for i in 0..3 {
        publish_for_mexico(net.node("cl-csirt"), &format!("Only for Mexico {i}"));
    }
    let config = net.node("cl-csirt").config();
    let peers = ["coordinator", "mx-csirt", "ar-csirt"];
    let head = wait_until_peers_hold_the_whole_log(&config, &peers, 3);
    // The witnesses countersigned what they accepted, and the node shows it.
    eventually("countersignatures come back", T, || {
        let out = atalaya(&[
            "audit",
            "checkpoint",
            "--witnessed",
            "--config",
            config.to_str().unwrap(),
        ]);
        peers
            .iter()
            .all(|p| out.contains(&format!("witnessed by {p}")))
            && out.contains("3 valid countersignature(s)")
    });
    net.node_mut("cl-csirt").stop();
    let cl = net.node("cl-csirt").dir.clone();

    // Truncated (a copy): the tail is gone, the rest is consistent.
    let truncated = net.path().join("truncated");
    copy_dir(&cl, &truncated);
    tamper(
        &truncated.join("atalaya.db"),
        "DROP TRIGGER IF EXISTS audit_tree_no_delete; DELETE FROM audit WHERE seq >= 2; DELETE FROM audit_tree;",
    );
    let (ok, stdout, stderr) = audit_verify(&truncated.join("config.toml"));
    assert!(
        !ok && stdout.contains("audit chain intact"),
        "{stdout}{stderr}"
    );
    assert!(stderr.contains("truncated"), "{stdout}{stderr}");

    // Rewritten, in place: internally consistent, but not what the peers were told.
    assert!(rewrite_audit(&cl.join("atalaya.db"), 0) >= head as usize);
    let (ok, stdout, stderr) = audit_verify(&config);
    assert!(
        stdout.contains("audit chain intact"),
        "the rewrite is locally consistent: {stdout}{stderr}"
    );
    assert!(!ok, "{stdout}");
    for p in peers {
        assert!(
            stderr.contains(&format!(
                "{p}: its checkpoint of {head} entries is not a prefix"
            )),
            "{p}: {stderr}"
        );
    }
    assert!(stderr.contains("history was rewritten"), "{stderr}");

    // Restarted: the node tells its peers about its rewritten log, and they refuse it.
    net.node_mut("cl-csirt").start();
    publish_for_mexico(net.node("cl-csirt"), "After the rewrite");
    for n in peers {
        eventually(&format!("{n} reports cl-csirt"), T, || {
            inconsistencies(net.node(n)).contains(&(
                "cl-csirt".into(),
                n.into(),
                "audit_fork".into(),
            ))
        });
    }
    // Every member hears of every report: ar-csirt and the coordinator hold mx-csirt's.
    for n in ["ar-csirt", "coordinator", "cl-csirt"] {
        eventually(&format!("{n} holds mx-csirt's report"), T, || {
            inconsistencies(net.node(n)).contains(&(
                "cl-csirt".into(),
                "mx-csirt".into(),
                "audit_fork".into(),
            ))
        });
    }
    // Reported once per head held, not at every later checkpoint.
    std::thread::sleep(Duration::from_millis(1500));
    publish_for_mexico(net.node("cl-csirt"), "Later still");
    std::thread::sleep(Duration::from_millis(1500));
    let mx_reports = inconsistencies(net.node("mx-csirt"))
        .iter()
        .filter(|r| r.1 == "mx-csirt")
        .count();
    assert_eq!(mx_reports, 1);
    // The peers still hold the old head: verify fails after the restart too.
    let (ok, stdout, stderr) = audit_verify(&config);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains(&format!(
            "mx-csirt: its checkpoint of {head} entries is not a prefix"
        )),
        "{stderr}"
    );
}

/// Entries written after the last heartbeat checkpoint (the old five-minute window) are
/// covered by the checkpoint that follows each write; rewriting them without a restart is
/// exposed as soon as the next checkpoint arrives at the peers.
#[test]
fn a_rewrite_of_recent_entries_without_a_restart_is_exposed_by_the_next_checkpoint() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    // Only write-driven checkpoints: the heartbeat is an hour away.
    net.node_mut("cl-csirt").env.push((
        "ATALAYA_FEDERATION__CHECKPOINT_INTERVAL_MS".into(),
        "3600000".into(),
    ));
    net.start_all();
    publish_for_mexico(net.node("cl-csirt"), "First");
    let config = net.node("cl-csirt").config();
    let first = wait_until_peers_hold_the_whole_log(&config, &["mx-csirt", "ar-csirt"], 1);
    publish_for_mexico(net.node("cl-csirt"), "Second");
    let head = wait_until_peers_hold_the_whole_log(&config, &["mx-csirt", "ar-csirt"], first + 1);
    // Live: the entries after the first checkpoint are rewritten behind the running node.
    let db = net.node("cl-csirt").dir.join("atalaya.db");
    assert!(rewrite_audit(&db, first) >= (head - first) as usize);
    assert!(inconsistencies(net.node("mx-csirt")).is_empty());
    publish_for_mexico(net.node("cl-csirt"), "Third");
    for n in ["mx-csirt", "ar-csirt"] {
        eventually(&format!("{n} refuses the next checkpoint"), T, || {
            inconsistencies(net.node(n))
                .iter()
                .any(|(node, by, _)| node == "cl-csirt" && by == n)
        });
    }
    let (ok, stdout, stderr) = audit_verify(&config);
    assert!(!ok, "{stdout}{stderr}");
    assert!(stderr.contains("history was rewritten"), "{stderr}");
}

#[test]
fn a_retracted_bulletin_is_marked_everywhere_and_no_longer_passed_on() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    // ar-csirt and cl-csirt cannot talk: ar-csirt depends on mx-csirt relaying.
    net.node_mut("cl-csirt").env.push((
        "ATALAYA_FEDERATION__SUSPENDED_PEERS".into(),
        "[\"ar-csirt\"]".into(),
    ));
    net.node_mut("ar-csirt").env.push((
        "ATALAYA_FEDERATION__SUSPENDED_PEERS".into(),
        "[\"cl-csirt\"]".into(),
    ));
    for n in ["coordinator", "cl-csirt", "mx-csirt"] {
        net.node_mut(n).start();
    }
    let id = net.node("cl-csirt").publish("False alarm");
    eventually("mx-csirt has it", T, || {
        net.node("mx-csirt").has_bulletin(&id)
    });
    // Only the origin can retract.
    let (st, body) = net.node("mx-csirt").post(
        &format!("/api/v1/bulletins/{id}/retract"),
        &serde_json::json!({"reason": "not mine"}),
    );
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (403, Some("not_the_origin"))
    );
    let (st, body) = net.node("cl-csirt").post(
        &format!("/api/v1/bulletins/{id}/retract"),
        &serde_json::json!({"reason": ""}),
    );
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (422, Some("invalid_retraction")),
        "{body}"
    );
    let out = atalaya(&[
        "retract",
        "--config",
        net.node("cl-csirt").config().to_str().unwrap(),
        &id,
        "--reason",
        "false positive",
    ]);
    assert!(out.contains("retracted"), "{out}");
    let (st, body) = net.node("cl-csirt").post(
        &format!("/api/v1/bulletins/{id}/retract"),
        &serde_json::json!({"reason": "again"}),
    );
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (409, Some("already_retracted"))
    );
    for n in ["mx-csirt", "coordinator", "cl-csirt"] {
        eventually(&format!("{n} marks it retracted"), T, || {
            let (_, b) = net.node(n).get(&format!("/api/v1/bulletins/{id}"));
            b["bulletin"]["retracted"]["reason"] == "false positive"
        });
    }
    // ar-csirt comes up later and can only learn through mx-csirt, which no longer passes the
    // retracted bulletin on.
    net.node_mut("ar-csirt").start();
    let later = net.node("cl-csirt").publish("A real one, afterwards");
    eventually("relays still work for the rest", T, || {
        net.node("ar-csirt").has_bulletin(&later)
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !net.node("ar-csirt").has_bulletin(&id),
        "a retracted bulletin was relayed"
    );
}

#[test]
fn embargoed_advisories_reach_their_audience_early_and_the_public_only_clear_after() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.start_all();
    let in_an_hour = std::time::SystemTime::now() + Duration::from_secs(3600);
    let secs = in_an_hour
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let embargo = atalaya_core::Timestamp::from_unix_millis(secs as i64 * 1000).unwrap();
    let (st, b) = net.node("cl-csirt").post(
        "/api/v1/bulletins",
        &serde_json::json!({
            "tlp": "CLEAR", "kind": "vulnerability-advisory", "severity": "critical",
            "title": "Advance notice", "summary": "Patch before disclosure.",
            "audience": {"scope": "nodes", "nodes": ["mx-csirt"]}, "embargo_until": embargo
        }),
    );
    assert_eq!(st, 201, "{b}");
    let early = b["bulletin"]["id"].as_str().unwrap().to_owned();
    let open = net.node("cl-csirt").publish("Already public? No: GREEN");
    let (st, b) = net.node("cl-csirt").post("/api/v1/bulletins", &serde_json::json!({
        "tlp": "CLEAR", "kind": "informational", "severity": "low", "title": "Public notice", "summary": "s"
    }));
    assert_eq!(st, 201);
    let public = b["bulletin"]["id"].as_str().unwrap().to_owned();
    eventually("mx-csirt gets the advance notice now", T, || {
        net.node("mx-csirt").has_bulletin(&early)
    });
    eventually("and the public one", T, || {
        net.node("mx-csirt").has_bulletin(&public)
    });
    for n in ["cl-csirt", "mx-csirt"] {
        let listed: serde_json::Value = common::http()
            .get(format!("{}/public/v1/bulletins", net.node(n).url()))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let ids: Vec<&str> = listed["bulletins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            vec![public.as_str()],
            "{n}: only CLEAR after its embargo is public (not {early}, not {open})"
        );
    }
}

#[test]
fn a_node_that_has_not_accepted_the_agreement_receives_only_clear() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    net.start_all();
    let (st, body) = net
        .node("cl-csirt")
        .post("/api/v1/agreement/accept", &serde_json::json!({}));
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (409, Some("no_agreement"))
    );
    let (st, body) = net
        .node("mx-csirt")
        .post("/api/v1/agreement", &serde_json::json!({"text": "rules"}));
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (403, Some("not_the_coordinator"))
    );
    let rules = net.path().join("rules.md");
    std::fs::write(
        &rules,
        "# Information-sharing rules\n\nTLP 2.0 is the law of the transport.\n",
    )
    .unwrap();
    let out = atalaya(&[
        "agreement",
        "issue",
        "--config",
        net.node("coordinator").config().to_str().unwrap(),
        rules.to_str().unwrap(),
    ]);
    assert!(out.contains("version 1"), "{out}");
    for n in ["cl-csirt", "mx-csirt"] {
        eventually(&format!("{n} holds the agreement"), T, || {
            net.node(n).get("/api/v1/agreement").1["version"] == 1
        });
        atalaya(&[
            "agreement",
            "accept",
            "--config",
            net.node(n).config().to_str().unwrap(),
        ]);
    }
    eventually("cl-csirt knows who accepted", T, || {
        let a = net.node("cl-csirt").get("/api/v1/agreement").1;
        a["accepted_by"] == serde_json::json!(["cl-csirt", "coordinator", "mx-csirt"])
    });
    let publish = |tlp: &str, title: &str| {
        let (st, b) = net.node("cl-csirt").post("/api/v1/bulletins", &serde_json::json!({
            "tlp": tlp, "kind": "attack-warning", "severity": "high", "title": title, "summary": "s"
        }));
        assert_eq!(st, 201, "{b}");
        let mut to: Vec<String> = b["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        to.sort();
        (
            b["bulletin"]["id"].as_str().unwrap().to_owned(),
            serde_json::json!(to),
        )
    };
    let (green, to) = publish("GREEN", "Not for ar-csirt yet");
    assert_eq!(to, serde_json::json!(["coordinator", "mx-csirt"]));
    let (clear, to) = publish("CLEAR", "For everyone");
    assert_eq!(
        to,
        serde_json::json!(["ar-csirt", "coordinator", "mx-csirt"])
    );
    eventually("ar-csirt gets the CLEAR one", T, || {
        net.node("ar-csirt").has_bulletin(&clear)
    });
    eventually("mx-csirt gets the GREEN one", T, || {
        net.node("mx-csirt").has_bulletin(&green)
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !net.node("ar-csirt").has_bulletin(&green),
        "GREEN reached a node that did not accept"
    );

    // An acceptance of a version that does not exist is refused, and nothing is stored.
    let bogus = serde_json::json!({
        "v": 1, "id": "01936b2e-0000-7000-8000-0000000000a1", "kind": "agreement-acceptance",
        "origin": "ar-csirt", "created": "2026-01-01T00:00:00.000Z", "tlp": "GREEN",
        "audience": {"scope": "network"}, "embargo_until": null, "refs": [],
        "body": {"version": 7, "hash": "0".repeat(64)}
    });
    let reply = net.push_signed("ar-csirt", "cl-csirt", vec![bogus]);
    assert_eq!(
        reply["rejected"][0]["code"], "unknown_agreement_version",
        "{reply}"
    );

    // Once ar-csirt accepts, it receives GREEN again.
    atalaya(&[
        "agreement",
        "accept",
        "--config",
        net.node("ar-csirt").config().to_str().unwrap(),
    ]);
    eventually("cl-csirt learns that ar-csirt accepted", T, || {
        net.node("cl-csirt").get("/api/v1/agreement").1["accepted_by"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "ar-csirt")
    });
    let (after, to) = publish("GREEN", "Now for ar-csirt too");
    assert_eq!(
        to,
        serde_json::json!(["ar-csirt", "coordinator", "mx-csirt"])
    );
    eventually("ar-csirt gets it", T, || {
        net.node("ar-csirt").has_bulletin(&after)
    });
}

/// The envelope ids a node's database holds, and the bulletin rows, read straight from the file.
fn held_in_sqlite(db: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let script = "import sqlite3, sys, json\nc = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\nprint(json.dumps([[r[0] for r in c.execute('SELECT id FROM envelopes')], [r[0] for r in c.execute('SELECT id FROM bulletins')]]))\n";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The nodes whose acknowledgement of bulletin `id` a node's database holds.
fn acks_in_sqlite(db: &std::path::Path, id: &str) -> Vec<String> {
    let script = "import sqlite3, sys, json\nc = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\nprint(json.dumps([r[0] for r in c.execute('SELECT node FROM acknowledgements WHERE bulletin = ?', (sys.argv[2],))]))\n";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(db)
        .arg(id)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn envelope_raw(db: &std::path::Path, id: &str) -> String {
    let script = "import sqlite3, sys\nc = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\nprint(c.execute('SELECT raw FROM envelopes WHERE id = ?', (sys.argv[2],)).fetchone()[0])\n";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(db)
        .arg(id)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn one_bulletin_of_each_label_lands_exactly_where_the_rules_say() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    // cl-csirt and ar-csirt cannot talk: what ar-csirt gets, it gets through a relay — sealed
    // items through a relay that cannot read them.
    net.node_mut("cl-csirt").env.push((
        "ATALAYA_FEDERATION__SUSPENDED_PEERS".into(),
        "[\"ar-csirt\"]".into(),
    ));
    net.node_mut("ar-csirt").env.push((
        "ATALAYA_FEDERATION__SUSPENDED_PEERS".into(),
        "[\"cl-csirt\"]".into(),
    ));
    net.start_all();
    let cases = [
        (
            "CLEAR",
            serde_json::json!({"scope": "network"}),
            serde_json::json!([]),
        ),
        (
            "GREEN",
            serde_json::json!({"scope": "countries", "countries": ["MX", "AR"]}),
            serde_json::json!([]),
        ),
        (
            "AMBER",
            serde_json::json!({"scope": "nodes", "nodes": ["mx-csirt"]}),
            serde_json::json!([]),
        ),
        (
            "AMBER+STRICT",
            serde_json::json!({"scope": "nodes", "nodes": ["mx-csirt", "ar-csirt"]}),
            serde_json::json!([]),
        ),
        (
            "RED",
            serde_json::json!({"scope": "nodes", "nodes": ["ar-csirt"]}),
            serde_json::json!(["ana@ar-csirt"]),
        ),
    ];
    let mut ids = std::collections::BTreeMap::new();
    for (tlp, audience, people) in cases {
        let (st, b) = net.node("cl-csirt").post("/api/v1/bulletins", &serde_json::json!({
            "tlp": tlp, "kind": "attack-warning", "severity": "high", "title": format!("{tlp} warning"),
            "summary": "s", "audience": audience, "people": people
        }));
        assert_eq!(st, 201, "{tlp}: {b}");
        ids.insert(tlp, b["bulletin"]["id"].as_str().unwrap().to_owned());
    }
    // (node, the bulletins it may read, the sealed envelopes it only carries)
    let expected: [(&str, &[&str], &[&str]); 3] = [
        ("coordinator", &["CLEAR"], &["AMBER+STRICT", "RED"]),
        (
            "mx-csirt",
            &["CLEAR", "GREEN", "AMBER", "AMBER+STRICT"],
            &["RED"],
        ),
        ("ar-csirt", &["CLEAR", "GREEN", "AMBER+STRICT", "RED"], &[]),
    ];
    // Wait for the deliveries, then for a few pull and relay rounds on top.
    for (tlp, id) in &ids {
        if ["CLEAR", "GREEN", "AMBER+STRICT", "RED"].contains(tlp) {
            eventually(
                &format!("ar-csirt gets the {tlp} one through the relay"),
                T,
                || net.node("ar-csirt").has_bulletin_any(id),
            );
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    for n in ["coordinator", "mx-csirt", "ar-csirt"] {
        net.node_mut(n).stop();
    }
    for (node, labels, carried) in expected {
        let (envelopes, bulletins) = held_in_sqlite(&net.node(node).dir.join("atalaya.db"));
        for (tlp, id) in &ids {
            let reads = labels.contains(tlp);
            let holds = reads || carried.contains(tlp);
            assert_eq!(
                envelopes.contains(id),
                holds,
                "{node} envelope of the {tlp} bulletin"
            );
            assert_eq!(
                bulletins.contains(id),
                reads,
                "{node} bulletin row of the {tlp} bulletin"
            );
        }
        // RED and AMBER+STRICT travel sealed: the envelope a recipient holds (and would relay)
        // carries no plaintext; the bulletin row it opened does.
        for tlp in ["RED", "AMBER+STRICT"]
            .iter()
            .filter(|t| labels.contains(*t))
        {
            let raw = envelope_raw(&net.node(node).dir.join("atalaya.db"), &ids[tlp]);
            assert!(
                raw.contains("\"sealed\"") && raw.contains("age-x25519"),
                "{node}: {raw}"
            );
            assert!(
                !raw.contains(&format!("{tlp} warning")),
                "{node}: the {tlp} envelope holds plaintext"
            );
        }
        // And nothing of a bulletin it may not hold is anywhere in its database file.
        let raw = std::fs::read(net.node(node).dir.join("atalaya.db")).unwrap();
        let text = String::from_utf8_lossy(&raw);
        for (tlp, _) in ids.iter().filter(|(t, _)| !labels.contains(*t)) {
            assert!(
                !text.contains(&format!("{tlp} warning")),
                "{node} holds text of the {tlp} bulletin"
            );
        }
    }
}

#[test]
fn acknowledgements_travel_back_and_the_origin_sees_who_acknowledged() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    net.start_all();
    let deadline = atalaya_core::Timestamp::from_unix_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            + 3_600_000,
    )
    .unwrap();
    let (st, b) = net.node("cl-csirt").post("/api/v1/bulletins", &serde_json::json!({
        "tlp": "GREEN", "kind": "attack-warning", "severity": "high", "title": "Acknowledge this",
        "summary": "s", "ack_required_by": deadline
    }));
    assert_eq!(st, 201, "{b}");
    let id = b["bulletin"]["id"].as_str().unwrap().to_owned();
    eventually("mx-csirt has it", T, || {
        net.node("mx-csirt").has_bulletin(&id)
    });
    let (st, body) = net.node("mx-csirt").post(
        &format!("/api/v1/bulletins/{id}/ack"),
        &serde_json::json!({"note": "investigating", "comment": "checking our VPN gateways"}),
    );
    assert_eq!(st, 200, "{body}");
    eventually("the origin sees mx-csirt's acknowledgement", T, || {
        let (_, b) = net.node("cl-csirt").get(&format!("/api/v1/bulletins/{id}"));
        b["bulletin"]["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| {
                d["peer"] == "mx-csirt"
                    && d["ack_state"] == "acknowledged"
                    && d["acknowledged"]["note"] == "investigating"
            })
    });
    let (_, b) = net.node("cl-csirt").get(&format!("/api/v1/bulletins/{id}"));
    let row = |peer: &str| {
        b["bulletin"]["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["peer"] == peer)
            .unwrap()
            .clone()
    };
    assert_eq!(row("mx-csirt")["acknowledged"]["by"], "cli");
    assert_eq!(
        row("mx-csirt")["acknowledged"]["comment"],
        "checking our VPN gateways"
    );
    assert_eq!(
        row("ar-csirt")["ack_state"],
        "delivered",
        "no acknowledgement yet, deadline ahead"
    );
    assert_eq!(
        b["bulletin"]["acknowledged"],
        serde_json::json!({"done": 1, "of": 3})
    );
    let (_, own) = net.node("mx-csirt").get(&format!("/api/v1/bulletins/{id}"));
    assert_eq!(own["bulletin"]["acknowledgement"]["note"], "investigating");

    // The on-call roster that escalation calls: checked, then kept.
    let roster = net.path().join("oncall.json");
    std::fs::write(
        &roster,
        r#"{"entries": [{"role": "primary", "name": "Ana", "timezone": "America/Santiago"}]}"#,
    )
    .unwrap();
    let refused = std::process::Command::new(common::BIN)
        .args([
            "oncall",
            "set",
            "--config",
            net.node("mx-csirt").config().to_str().unwrap(),
            roster.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("invalid_oncall"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    std::fs::write(&roster, r#"{"step_minutes": 10, "entries": [{"role": "primary", "name": "Ana", "email": "ana@csirt.example.mx", "timezone": "America/Mexico_City"}]}"#).unwrap();
    let out = atalaya(&[
        "oncall",
        "set",
        "--config",
        net.node("mx-csirt").config().to_str().unwrap(),
        roster.to_str().unwrap(),
    ]);
    assert!(out.contains("ana@csirt.example.mx"), "{out}");
    assert_eq!(
        net.node("mx-csirt").get("/api/v1/oncall").1["oncall"]["step_minutes"],
        10
    );

    // Refusals: one's own bulletin, one never received, bad notes.
    let (st, body) = net.node("cl-csirt").post(
        &format!("/api/v1/bulletins/{id}/ack"),
        &serde_json::json!({}),
    );
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (422, Some("own_bulletin"))
    );
    let (st, body) = net.node("mx-csirt").post(
        "/api/v1/bulletins/01936b2e-0000-7000-8000-0000000000ff/ack",
        &serde_json::json!({}),
    );
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (404, Some("never_received"))
    );
    let (st, body) = net.node("mx-csirt").post(
        &format!("/api/v1/bulletins/{id}/ack"),
        &serde_json::json!({"note": "panicking"}),
    );
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (422, Some("invalid_request"))
    );

    // Forged acknowledgements, signed by ar-csirt: for a bulletin it was never sent, and for
    // another node's bulletin.
    let (st, b) = net.node("cl-csirt").post("/api/v1/bulletins", &serde_json::json!({
        "tlp": "GREEN", "kind": "informational", "severity": "low", "title": "For Mexico only", "summary": "s",
        "audience": {"scope": "nodes", "nodes": ["mx-csirt"]}
    }));
    assert_eq!(st, 201);
    let only_mx = b["bulletin"]["id"].as_str().unwrap().to_owned();
    let from_mx = net.node("mx-csirt").publish("Mexico's own");
    eventually("cl-csirt holds Mexico's", T, || {
        net.node("cl-csirt").has_bulletin(&from_mx)
    });
    let forged = |n: u8, bulletin: &str| {
        serde_json::json!({
            "v": 1, "id": format!("01936b2e-0000-7000-8000-0000000000b{n}"), "kind": "acknowledgement",
            "origin": "ar-csirt", "created": "2026-01-01T00:00:00.000Z", "tlp": "GREEN",
            "audience": {"scope": "nodes", "nodes": ["cl-csirt"]}, "embargo_until": null, "refs": [bulletin],
            "body": {"bulletin": bulletin, "by": "mallory", "note": "no-impact"}
        })
    };
    let reply = net.push_signed(
        "ar-csirt",
        "cl-csirt",
        vec![forged(1, &only_mx), forged(2, &from_mx)],
    );
    let codes: Vec<&str> = reply["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["not_a_recipient", "not_our_bulletin"], "{reply}");
}

/// `GET /fed/v1/outbox` of `target`, signed by `signer` as a peer would ask: the envelopes it
/// serves to that peer, as text.
fn fed_outbox_as(net: &TestNet, signer: &str, target: &str, query: &str) -> (u16, String) {
    let resp = net
        .fed_request_as(signer, target, "GET", "/fed/v1/outbox", Some(query), None)
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

/// Strings that would tell a carrier whom the sealed items are for: the recipient in an
/// audience or `to` list, and the named people.
const RECIPIENT_MARKS: [&str; 5] = [
    "[\"ar-csirt\"",
    "\"to\":",
    "duty@ar-csirt",
    "cli@ar-csirt",
    "\"audience\":{\"scope\":\"nodes\",\"nodes\":[\"ar",
];

#[test]
fn carriers_of_sealed_items_learn_no_recipient_while_the_recipient_reads_and_acknowledges() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    net.start_all();
    let deadline = common::now_rfc3339(3_600_000);
    let mut ids = Vec::new();
    for (tlp, people) in [
        ("RED", serde_json::json!(["cli@ar-csirt", "duty@ar-csirt"])),
        ("AMBER+STRICT", serde_json::json!([])),
    ] {
        let (st, b) = net.node("cl-csirt").post(
            "/api/v1/bulletins",
            &serde_json::json!({
                "tlp": tlp, "kind": "attack-warning", "severity": "critical",
                "title": format!("{tlp} for Argentina"), "summary": "s",
                "audience": {"scope": "nodes", "nodes": ["ar-csirt"]}, "people": people,
                "ack_required_by": deadline
            }),
        );
        assert_eq!(st, 201, "{tlp}: {b}");
        ids.push(b["bulletin"]["id"].as_str().unwrap().to_owned());
    }
    // The recipient reads both (the CLI user is one of the RED item's named people) and
    // acknowledges them, as before.
    for id in &ids {
        eventually("ar-csirt reads it", T, || {
            net.node("ar-csirt").has_bulletin(id)
        });
        let (_, b) = net.node("ar-csirt").get(&format!("/api/v1/bulletins/{id}"));
        assert!(
            b["bulletin"]["title"]
                .as_str()
                .unwrap()
                .ends_with("for Argentina")
        );
        let (st, body) = net.node("ar-csirt").post(
            &format!("/api/v1/bulletins/{id}/ack"),
            &serde_json::json!({"note": "investigating"}),
        );
        assert_eq!(st, 200, "{body}");
    }
    let (_, red) = net
        .node("ar-csirt")
        .get(&format!("/api/v1/bulletins/{}", ids[0]));
    assert_eq!(
        red["bulletin"]["people"],
        serde_json::json!(["cli@ar-csirt", "duty@ar-csirt"])
    );
    // The origin knows the recipients (carriers are marked as such) and sees the
    // acknowledgements: through the API for AMBER+STRICT (its CLI user is no named person of
    // the RED one, so that one is read from its database).
    eventually("the origin sees ar-csirt's acknowledgement", T, || {
        let (_, b) = net
            .node("cl-csirt")
            .get(&format!("/api/v1/bulletins/{}", ids[1]));
        b["bulletin"]["deliveries"].as_array().is_some_and(|d| {
            d.iter()
                .any(|d| d["peer"] == "ar-csirt" && d["ack_state"] == "acknowledged")
                && d.iter()
                    .any(|d| d["peer"] == "mx-csirt" && d["carrier"] == true)
        })
    });
    eventually(
        "the origin holds ar-csirt's acknowledgement of the RED one",
        T,
        || {
            acks_in_sqlite(&net.node("cl-csirt").dir.join("atalaya.db"), &ids[0])
                .contains(&"ar-csirt".to_owned())
        },
    );
    // The carriers hold the sealed envelopes (they carry them) and read nothing.
    let dirs: std::collections::BTreeMap<&str, std::path::PathBuf> =
        ["cl-csirt", "mx-csirt", "ar-csirt", "coordinator"]
            .into_iter()
            .map(|n| (n, net.node(n).dir.clone()))
            .collect();
    let db = |node: &str| dirs[node].join("atalaya.db");
    for carrier in ["mx-csirt", "coordinator"] {
        for id in &ids {
            eventually(&format!("{carrier} carries {id}"), T, || {
                held_in_sqlite(&db(carrier)).0.contains(id)
            });
            let (st, body) = net.node(carrier).get(&format!("/api/v1/bulletins/{id}"));
            assert_ne!(st, 200, "{carrier} reads {id}: {body}");
            let raw = envelope_raw(&db(carrier), id);
            assert!(raw.contains("\"sealed\""), "{raw}");
            for mark in RECIPIENT_MARKS
                .iter()
                .chain(&["\"people\"", "\"audience\""])
            {
                assert!(
                    !raw.contains(mark),
                    "{carrier}'s envelope holds {mark}: {raw}"
                );
            }
        }
        let (st, list) = net.node(carrier).get("/api/v1/bulletins");
        assert_eq!(st, 200);
        let list = list.to_string();
        for mark in RECIPIENT_MARKS {
            assert!(!list.contains(mark), "{carrier}'s bulletin list: {list}");
        }
        // What it serves to peers: the sealed envelopes, nothing of whom they are for.
        let other = if carrier == "mx-csirt" {
            "coordinator"
        } else {
            "mx-csirt"
        };
        let (st, served) = fed_outbox_as(&net, other, carrier, "after=0&origin=cl-csirt");
        assert_eq!(st, 200, "{served}");
        for id in &ids {
            assert!(
                served.contains(id.as_str()),
                "{carrier} serves {id}: {served}"
            );
        }
        for mark in RECIPIENT_MARKS {
            assert!(!served.contains(mark), "{carrier} serves {mark}: {served}");
        }
    }
    // The origin serves the same envelope, equally closed.
    let (st, served) = fed_outbox_as(&net, "mx-csirt", "cl-csirt", "after=0");
    assert_eq!(st, 200, "{served}");
    for mark in RECIPIENT_MARKS {
        assert!(!served.contains(mark), "the origin serves {mark}: {served}");
    }
    for n in ["coordinator", "mx-csirt", "ar-csirt", "cl-csirt"] {
        net.node_mut(n).stop();
    }
    // Nothing anywhere in a carrier's database files says whom they are for (the roster
    // names every member, so a bare node id proves nothing; its lists and people would).
    for carrier in ["mx-csirt", "coordinator"] {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal"] {
            let path = dirs[carrier].join(format!("atalaya.db{suffix}"));
            if let Ok(b) = std::fs::read(&path) {
                bytes.extend(b);
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        for mark in RECIPIENT_MARKS {
            assert!(!text.contains(mark), "{carrier}'s database holds {mark}");
        }
        assert!(!text.contains("for Argentina"), "{carrier} holds the title");
    }
    // While the recipient's and the origin's do (the check above can fail).
    for node in ["ar-csirt", "cl-csirt"] {
        let text = String::from_utf8_lossy(&std::fs::read(db(node)).unwrap()).into_owned();
        assert!(
            text.contains("duty@ar-csirt"),
            "{node} lost the named people"
        );
    }
}
