//! Communication checks and re-notification across real `atalaya` processes on loopback: who
//! answered and how fast, who did not, who was never reached; and an origin waking the on-call
//! roster of recipients that let a deadline pass. Every refusal has its code, and nothing is
//! stored for it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::{TestNet, atalaya, eventually, now_rfc3339, webhook_receiver};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

fn member<'a>(report: &'a Value, node: &str) -> &'a Value {
    report["check"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["node"] == node)
        .unwrap()
}

fn rejected_codes(reply: &Value) -> Vec<String> {
    reply["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

/// A token of `node` that may only read (made with the CLI, as an operator would).
fn read_only_token(node: &common::TestNode) -> String {
    atalaya(&[
        "token",
        "create",
        "--config",
        node.config().to_str().unwrap(),
        "--name",
        "observer",
        "--scopes",
        "bulletins:read",
    ])
    .trim()
    .to_owned()
}

/// POST with another token than the node's own.
fn post_as(node: &common::TestNode, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = common::http()
        .post(format!("{}{path}", node.url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn pending_ids(net: &TestNet, node: &str) -> Vec<String> {
    let (st, body) = net.node(node).get("/api/v1/checks/pending");
    assert_eq!(st, 200, "{body}");
    body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_check_reports_answered_unanswered_and_unreachable_members_and_keeps_the_trend() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    net.start_all();
    // Argentina's node is down before the check starts.
    net.node_mut("ar-csirt").stop();
    let coord = net.node("coordinator");

    let (st, started) = coord.post(
        "/api/v1/checks",
        &json!({"message": "Monthly communication check: please answer.", "answer_within_minutes": 30}),
    );
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    assert_eq!(
        started["targets"],
        json!(["cl-csirt", "mx-csirt", "ar-csirt"]),
        "every peer by default"
    );
    for node in ["cl-csirt", "mx-csirt"] {
        eventually(&format!("{node} holds the check as pending"), T, || {
            pending_ids(&net, node).contains(&id)
        });
    }
    let (_, pending) = net.node("mx-csirt").get("/api/v1/checks/pending");
    let held = &pending["checks"][0];
    assert_eq!(held["from"], "coordinator");
    assert_eq!(
        held["message"],
        "Monthly communication check: please answer."
    );
    assert_eq!(held["overdue"], false);

    // A person at Mexico answers; Chile never does.
    let (st, body) = net.node("mx-csirt").post(
        &format!("/api/v1/checks/{id}/answer"),
        &json!({"by": "Ana Duty", "note": "All quiet here."}),
    );
    assert_eq!(st, 200, "{body}");
    assert!(pending_ids(&net, "mx-csirt").is_empty());
    eventually("the coordinator sees Mexico's answer", T, || {
        let (_, r) = coord.get(&format!("/api/v1/checks/{id}"));
        member(&r, "mx-csirt")["status"] == "answered"
    });
    eventually("the push to Argentina failed", T, || {
        let (_, r) = coord.get(&format!("/api/v1/checks/{id}"));
        member(&r, "ar-csirt")["status"] == "unreachable"
    });
    let (st, report) = coord.get(&format!("/api/v1/checks/{id}"));
    assert_eq!(st, 200);
    let mx = member(&report, "mx-csirt");
    assert_eq!(mx["answered_by"], "Ana Duty");
    assert_eq!(mx["note"], "All quiet here.");
    let answer_ms = mx["answer_ms"].as_i64().unwrap();
    assert!((0..T.as_millis() as i64).contains(&answer_ms), "{mx}");
    assert!(mx["delivered_at"].is_string());
    let cl = member(&report, "cl-csirt");
    assert_eq!(cl["status"], "unanswered", "{cl}");
    assert!(cl["delivered_at"].is_string(), "delivered at the transport");
    assert!(cl["answer_ms"].is_null());
    let ar = member(&report, "ar-csirt");
    assert!(ar["delivered_at"].is_null());
    assert!(ar["last_error"].is_string(), "{ar}");
    assert_eq!(
        report["check"]["totals"],
        json!({"targets": 3, "answered": 1, "unanswered": 1, "overdue": 0, "queued": 0, "unreachable": 1})
    );
    assert_eq!(report["check"]["median_answer_ms"], answer_ms);
    assert_eq!(report["check"]["started_by"], "cli");

    // A second check, from the CLI, for Chile only; answered from the CLI.
    let coord_config = coord.config();
    let out = atalaya(&[
        "check",
        "start",
        "--config",
        coord_config.to_str().unwrap(),
        "--targets",
        "cl-csirt",
        "--message",
        "Chile only",
        "--within",
        "10",
    ]);
    let second = out
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    assert!(out.contains("1 member(s)"), "{out}");
    eventually("Chile holds the second check", T, || {
        pending_ids(&net, "cl-csirt").contains(&second)
    });
    assert!(
        !pending_ids(&net, "mx-csirt").contains(&second),
        "Mexico was not a target"
    );
    let cl_config = net.node("cl-csirt").config();
    let out = atalaya(&["check", "pending", "--config", cl_config.to_str().unwrap()]);
    assert!(out.contains(&second) && out.contains(&id), "{out}");
    let out = atalaya(&[
        "check",
        "answer",
        "--config",
        cl_config.to_str().unwrap(),
        &second,
        "--by",
        "Beto",
        "--note",
        "late shift",
    ]);
    assert!(out.contains("answered by Beto"), "{out}");
    eventually("the coordinator sees Chile's answer", T, || {
        let (_, r) = coord.get(&format!("/api/v1/checks/{second}"));
        member(&r, "cl-csirt")["status"] == "answered"
    });

    // History, newest first, with its counts; the CLI shows the same.
    let (_, history) = coord.get("/api/v1/checks");
    let checks = history["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[0]["id"], second.as_str());
    assert_eq!(checks[1]["id"], id.as_str());
    assert_eq!(checks[1]["totals"]["unreachable"], 1);
    assert_eq!(checks[0]["totals"]["answered"], 1);
    let out = atalaya(&["check", "list", "--config", coord_config.to_str().unwrap()]);
    assert!(out.contains(&id) && out.contains(&second), "{out}");
    let out = atalaya(&[
        "check",
        "report",
        "--config",
        coord_config.to_str().unwrap(),
        &id,
    ]);
    assert!(
        out.contains("Ana Duty") && out.contains("unreachable") && out.contains("unanswered"),
        "{out}"
    );

    // The trend: each member's answer times over the checks, oldest first.
    let (st, trend) = coord.get("/api/v1/checks/trend?last=5");
    assert_eq!(st, 200, "{trend}");
    assert_eq!(trend["trend"]["checks"], json!([id, second]));
    let line = |node: &str| {
        trend["trend"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["node"] == node)
            .unwrap()
            .clone()
    };
    let cl_points: Vec<Value> = line("cl-csirt")["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["answer_ms"].clone())
        .collect();
    assert_eq!(cl_points.len(), 2);
    assert!(
        cl_points[0].is_null() && cl_points[1].is_i64(),
        "{cl_points:?}"
    );
    assert_eq!(line("mx-csirt")["points"][0]["answer_ms"], answer_ms);
    assert_eq!(line("mx-csirt")["median_answer_ms"], answer_ms);
    assert_eq!(line("ar-csirt")["points"][0]["status"], "unreachable");
    assert_eq!(line("ar-csirt")["answered"], 0);
    let out = atalaya(&["check", "trend", "--config", coord_config.to_str().unwrap()]);
    assert!(
        out.contains("mx-csirt") && out.contains("cl-csirt"),
        "{out}"
    );

    // Refusals when starting a check: each with its code, and no check stored.
    let refusals = [
        (json!({"targets": ["zz-nowhere"]}), 422, "unknown_node"),
        (json!({"targets": ["Not A Node"]}), 422, "unknown_node"),
        (json!({"targets": ["coordinator"]}), 422, "own_node"),
        (json!({"targets": []}), 422, "no_targets"),
        (json!({"message": "x".repeat(501)}), 422, "invalid_check"),
        (json!({"answer_within_minutes": 0}), 422, "invalid_check"),
        (
            json!({"answer_within_minutes": 100_000}),
            422,
            "invalid_check",
        ),
        (json!({"targets": "cl-csirt"}), 422, "invalid_request"),
        (json!({"tagrets": ["cl-csirt"]}), 422, "invalid_request"),
    ];
    for (body, status, expected) in refusals {
        let (st, reply) = coord.post("/api/v1/checks", &body);
        assert_eq!((st, code(&reply)), (status, expected), "{body}: {reply}");
    }
    let (st, reply) = coord.post_raw("/api/v1/checks", "{\"message\": ");
    assert_eq!((st, code(&reply)), (400, "malformed_json"));
    let r = common::http()
        .post(format!("{}/api/v1/checks", coord.url()))
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let observer = read_only_token(coord);
    let (st, reply) = post_as(coord, &observer, "/api/v1/checks", &json!({}));
    assert_eq!((st, code(&reply)), (403, "forbidden"), "{reply}");
    let r = common::http()
        .get(format!("{}/api/v1/checks", coord.url()))
        .bearer_auth(&observer)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "an observer reads the history");
    assert_eq!(
        coord.get("/api/v1/checks").1["checks"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "no check stored by a refusal"
    );

    // Refusals when answering.
    let mx_node = net.node("mx-csirt");
    let answer = |node: &common::TestNode, check: &str, body: Value| {
        node.post(&format!("/api/v1/checks/{check}/answer"), &body)
    };
    let (st, reply) = answer(mx_node, &id, json!({"by": "Someone Else"}));
    assert_eq!((st, code(&reply)), (409, "already_answered"));
    let (st, reply) = answer(
        mx_node,
        "01936b2e-0000-7000-8000-0000000000ff",
        json!({"by": "Ana"}),
    );
    assert_eq!((st, code(&reply)), (404, "never_received"));
    let (st, reply) = answer(coord, &id, json!({"by": "Coordinator"}));
    assert_eq!((st, code(&reply)), (422, "own_check"));
    let cl_node = net.node("cl-csirt");
    for (body, expected) in [
        (json!({"by": ""}), "invalid_answer"),
        (json!({"by": "x".repeat(101)}), "invalid_answer"),
        (
            json!({"by": "Ana", "note": "n".repeat(501)}),
            "invalid_answer",
        ),
        (json!({"by": 5}), "invalid_request"),
        (json!({"by": "Ana", "mood": "tired"}), "invalid_request"),
    ] {
        let (st, reply) = answer(cl_node, &id, body.clone());
        assert_eq!((st, code(&reply)), (422, expected), "{body}: {reply}");
    }
    let observer = read_only_token(cl_node);
    let (st, reply) = post_as(
        cl_node,
        &observer,
        &format!("/api/v1/checks/{id}/answer"),
        &json!({"by": "Ana"}),
    );
    assert_eq!((st, code(&reply)), (403, "forbidden"), "{reply}");
    let (st, reply) = cl_node.post_raw(&format!("/api/v1/checks/{id}/answer"), "{by");
    assert_eq!((st, code(&reply)), (400, "malformed_json"));
    let (st, reply) = answer(cl_node, "not-a-uuid", json!({"by": "Ana"}));
    assert_eq!((st, code(&reply)), (400, "invalid_id"));
    assert!(
        pending_ids(&net, "cl-csirt").contains(&id),
        "still pending after the refusals"
    );
    let (st, reply) = coord.get("/api/v1/checks/01936b2e-0000-7000-8000-0000000000ff");
    assert_eq!((st, code(&reply)), (404, "not_found"));
    let (st, reply) = coord.get("/api/v1/checks/trend?last=0");
    assert_eq!((st, code(&reply)), (400, "invalid_query"));
    let (st, reply) = coord.get("/api/v1/checks/trend?last=many");
    assert_eq!((st, code(&reply)), (400, "invalid_query"));
    // At a target, the check shows as received, with its answer.
    let (st, reply) = mx_node.get(&format!("/api/v1/checks/{id}"));
    assert_eq!(st, 200);
    assert_eq!(reply["received_check"]["answer"]["by"], "Ana Duty");

    // Forged or unsolicited answers, each signed by a real member.
    let forged = |n: u8, origin: &str, to: &str, check: &str, by: &str| {
        json!({
            "v": 1, "id": format!("01936b2e-0000-7000-8000-0000000000a{n}"),
            "kind": "comm-check-answer", "origin": origin, "created": now_rfc3339(0),
            "tlp": "CLEAR", "audience": {"scope": "nodes", "nodes": [to]},
            "embargo_until": null, "refs": [check],
            "body": {"check": check, "answered_by": by, "answered_at": now_rfc3339(0)}
        })
    };
    let reply = net.push_signed(
        "mx-csirt",
        "coordinator",
        vec![
            // Mexico was not a target of the second check.
            forged(1, "mx-csirt", "coordinator", &second, "mallory"),
            // No such check.
            forged(
                2,
                "mx-csirt",
                "coordinator",
                "01936b2e-0000-7000-8000-0000000000ee",
                "mallory",
            ),
            // A second answer to the first.
            forged(3, "mx-csirt", "coordinator", &id, "mallory"),
        ],
    );
    assert_eq!(
        rejected_codes(&reply),
        ["not_a_target", "unknown_check", "already_answered"],
        "{reply}"
    );
    // An answer sent to a target rather than to the node that started the check.
    let reply = net.push_signed(
        "mx-csirt",
        "cl-csirt",
        vec![forged(4, "mx-csirt", "cl-csirt", &id, "mallory")],
    );
    assert_eq!(rejected_codes(&reply), ["not_our_check"], "{reply}");
    let (_, report) = coord.get(&format!("/api/v1/checks/{id}"));
    assert_eq!(member(&report, "mx-csirt")["answered_by"], "Ana Duty");
    assert_eq!(member(&report, "cl-csirt")["status"], "unanswered");
    let (_, report) = coord.get(&format!("/api/v1/checks/{second}"));
    assert_eq!(report["check"]["members"].as_array().unwrap().len(), 1);
}

#[test]
fn the_origin_renotifies_overdue_recipients_who_call_their_whole_on_call_roster() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt", "ar-csirt"]);
    net.start_all();
    let (hook, calls) = webhook_receiver();
    for node in ["mx-csirt", "ar-csirt"] {
        let roster = json!({"step_minutes": 60, "entries": [
            {"role": "primary", "name": format!("Primary at {node}"), "webhook": hook, "timezone": "America/Mexico_City"},
            {"role": "lead", "name": format!("Lead at {node}"), "webhook": hook, "timezone": "America/Mexico_City"}
        ]});
        let (st, body) = net
            .node(node)
            .put_raw("/api/v1/oncall", &roster.to_string());
        assert_eq!(st, 200, "{body}");
    }
    let origin = net.node("cl-csirt");
    let (st, b) = origin.post(
        "/api/v1/bulletins",
        &json!({
            "tlp": "GREEN", "kind": "attack-warning", "severity": "critical",
            "title": "Acknowledge within seconds", "summary": "s",
            "ack_required_by": now_rfc3339(3000)
        }),
    );
    assert_eq!(st, 201, "{b}");
    let id = b["bulletin"]["id"].as_str().unwrap().to_owned();
    for node in ["mx-csirt", "ar-csirt", "coordinator"] {
        eventually(&format!("{node} has the bulletin"), T, || {
            net.node(node).has_bulletin(&id)
        });
    }
    let (st, _) = net
        .node("ar-csirt")
        .post(&format!("/api/v1/bulletins/{id}/ack"), &json!({}));
    assert_eq!(st, 200);
    let matrix = |peer: &str| {
        let (_, b) = origin.get(&format!("/api/v1/bulletins/{id}"));
        b["bulletin"]["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["peer"] == peer)
            .unwrap()
            .clone()
    };
    eventually("the deadline passes for Mexico", T, || {
        matrix("mx-csirt")["ack_state"] == "overdue"
    });
    eventually("Argentina's acknowledgement is back", T, || {
        matrix("ar-csirt")["ack_state"] == "acknowledged"
    });

    // Refusals: each with its code, and nothing sent.
    let renotify = |node: &common::TestNode, bulletin: &str, body: Value| {
        node.post(&format!("/api/v1/bulletins/{bulletin}/renotify"), &body)
    };
    let (st, r) = renotify(origin, &id, json!({"nodes": ["ar-csirt"]}));
    assert_eq!((st, code(&r)), (409, "already_acknowledged"), "{r}");
    let (st, r) = renotify(origin, &id, json!({"nodes": ["zz-nowhere"]}));
    assert_eq!((st, code(&r)), (422, "not_a_recipient"), "{r}");
    let (st, r) = renotify(origin, &id, json!({"nodes": ["cl-csirt"]}));
    assert_eq!(
        (st, code(&r)),
        (422, "not_a_recipient"),
        "the origin is not its own recipient"
    );
    let (st, r) = renotify(net.node("mx-csirt"), &id, json!({}));
    assert_eq!((st, code(&r)), (403, "not_our_bulletin"), "{r}");
    let (st, r) = renotify(origin, "01936b2e-0000-7000-8000-0000000000ff", json!({}));
    assert_eq!((st, code(&r)), (404, "not_found"), "{r}");
    let (st, r) = renotify(origin, &id, json!({"nodes": "mx-csirt"}));
    assert_eq!((st, code(&r)), (422, "invalid_request"), "{r}");
    let (st, r) = origin.post_raw(&format!("/api/v1/bulletins/{id}/renotify"), "{");
    assert_eq!((st, code(&r)), (400, "malformed_json"), "{r}");
    let (st, r) = post_as(
        origin,
        &read_only_token(origin),
        &format!("/api/v1/bulletins/{id}/renotify"),
        &json!({}),
    );
    assert_eq!((st, code(&r)), (403, "forbidden"), "{r}");
    let fresh = origin.publish("No deadline");
    let (st, r) = renotify(origin, &fresh, json!({}));
    assert_eq!((st, code(&r)), (409, "nothing_overdue"), "{r}");
    let (st, r) = origin.post(
        &format!("/api/v1/bulletins/{fresh}/retract"),
        &json!({"reason": "sent by mistake"}),
    );
    assert_eq!(st, 200, "{r}");
    let (st, r) = renotify(origin, &fresh, json!({"nodes": ["mx-csirt"]}));
    assert_eq!((st, code(&r)), (409, "retracted"), "{r}");
    assert!(matrix("mx-csirt")["renotified_at"].is_null());

    // Default: every overdue recipient (Mexico and the coordinator, not Argentina).
    let (st, r) = renotify(origin, &id, json!({}));
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["renotified"], json!(["coordinator", "mx-csirt"]));
    let first = r["renotify"].as_str().unwrap().to_owned();
    let renotify_calls = |renotify: &str| -> Vec<Value> {
        calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c["event"] == "renotify" && c["renotify"] == renotify)
            .cloned()
            .collect()
    };
    eventually("Mexico's whole on-call roster is called", T, || {
        renotify_calls(&first).len() == 2
    });
    let got = renotify_calls(&first);
    let mut people: Vec<&str> = got.iter().map(|c| c["person"].as_str().unwrap()).collect();
    people.sort_unstable();
    assert_eq!(people, ["Lead at mx-csirt", "Primary at mx-csirt"]);
    assert!(
        got.iter()
            .all(|c| c["origin"] == "cl-csirt" && c["bulletin"] == id.as_str())
    );
    assert!(matrix("mx-csirt")["renotified_at"].is_string());
    assert!(matrix("coordinator")["renotified_at"].is_string());
    assert!(matrix("ar-csirt")["renotified_at"].is_null());

    // Shown on the bulletin at Mexico, under its own step label.
    let steps = |node: &str| -> Vec<Value> {
        let (_, b) = net.node(node).get(&format!("/api/v1/bulletins/{id}"));
        b["bulletin"]["escalations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["step"] == "renotify")
            .collect()
    };
    eventually("Mexico records the renotify calls", T, || {
        steps("mx-csirt").len() == 2
    });
    assert!(
        steps("mx-csirt")
            .iter()
            .all(|e| e["renotify"] == first.as_str() && e["outcome"] == "sent"),
        "{:?}",
        steps("mx-csirt")
    );
    eventually("the coordinator records that nobody is on call", T, || {
        steps("coordinator")
            .iter()
            .any(|e| e["outcome"] == "no one on the on-call roster")
    });

    // A second renotify, for Mexico alone, calls everyone once more — and only once per renotify.
    let (st, r) = renotify(origin, &id, json!({"nodes": ["mx-csirt", "mx-csirt"]}));
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["renotified"], json!(["mx-csirt"]));
    let second = r["renotify"].as_str().unwrap().to_owned();
    eventually("Mexico records the second renotify", T, || {
        steps("mx-csirt").len() == 4
    });
    std::thread::sleep(Duration::from_millis(1500));
    let all = steps("mx-csirt");
    assert_eq!(all.len(), 4, "{all:?}");
    for r in [&first, &second] {
        assert_eq!(
            all.iter().filter(|e| e["renotify"] == r.as_str()).count(),
            2,
            "each renotify calls each person once"
        );
    }
    assert_eq!(renotify_calls(&first).len(), 2);
    assert_eq!(renotify_calls(&second).len(), 2);

    // Forged renotifies: from a node that is not the origin, and for a bulletin never received.
    let forged = |n: u8, origin: &str, bulletin: &str| {
        json!({
            "v": 1, "id": format!("01936b2e-0000-7000-8000-0000000000c{n}"), "kind": "renotify",
            "origin": origin, "created": now_rfc3339(0), "tlp": "GREEN",
            "audience": {"scope": "nodes", "nodes": ["mx-csirt"]}, "embargo_until": null,
            "refs": [bulletin], "body": {"bulletin": bulletin, "at": now_rfc3339(0), "by": "mallory"}
        })
    };
    let reply = net.push_signed("ar-csirt", "mx-csirt", vec![forged(1, "ar-csirt", &id)]);
    assert_eq!(rejected_codes(&reply), ["not_the_origin"], "{reply}");
    let reply = net.push_signed(
        "cl-csirt",
        "mx-csirt",
        vec![forged(
            2,
            "cl-csirt",
            "01936b2e-0000-7000-8000-0000000000dd",
        )],
    );
    assert_eq!(rejected_codes(&reply), ["unknown_bulletin"], "{reply}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(steps("mx-csirt").len(), 4, "nobody called for a forgery");
    assert_eq!(
        calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c["event"] == "renotify")
            .count(),
        4
    );
}
