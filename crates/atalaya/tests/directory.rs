//! The CSIRT directory and the census across real `atalaya` processes on loopback: each node
//! publishes its own team's record and every node ends up holding them all; a node may not
//! publish (or forge) another node's record or a team of another country; a census round is
//! opened by the coordinator, answered by the members while open, and refused once closed.
//! Every refusal has its code, and nothing is stored for it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::{TestNet, atalaya, eventually, now_rfc3339};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// A small valid team record.
fn team(id: &str, cc: &str, name: &str) -> Value {
    let lc = cc.to_ascii_lowercase();
    json!({
        "id": id,
        "official_name": name,
        "short_name": format!("CSIRT-{cc}"),
        "country": cc,
        "team_type": "national",
        "website": format!("https://csirt.{lc}.example.org"),
        "designation": {"reference": "Decree 1/2020 (test)", "date": "2020-01-01"},
        "constituency": {"types": ["National"], "countries": [cc]},
        "services": ["incident-report-acceptance", "incident-coordination"],
        "available_24x7": true,
        "emails": [{"address": format!("cert@{lc}.example.org"), "usage": ["incident-report"], "public": true}],
        "phones": [{"number": "+1 202 555 0100", "usage": ["voice", "emergency"], "timezone": "America/New_York", "public": false}],
        "mandate": {"disseminates_nationally": true, "authorised_to_share": true, "assists_other_teams": true},
        "demo": true
    })
}

fn put(node: &common::TestNode, id: &str, record: &Value) -> (u16, Value) {
    node.put_raw(
        &format!("/api/v1/teams/{}", id.replace('/', "%2F")),
        &record.to_string(),
    )
}

fn team_ids(node: &common::TestNode) -> Vec<String> {
    let (st, body) = node.get("/api/v1/teams");
    assert_eq!(st, 200, "{body}");
    let mut ids: Vec<String> = body["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn official_name(node: &common::TestNode, id: &str) -> String {
    let (st, body) = node.get(&format!("/api/v1/teams/{id}"));
    assert_eq!(st, 200, "{body}");
    body["official_name"].as_str().unwrap().to_owned()
}

#[test]
fn every_node_holds_every_record_and_only_the_authority_may_change_one() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.start_all();
    let ids = ["cl-csirt", "coordinator", "mx-csirt"];
    for (id, cc) in [
        ("coordinator", "US"),
        ("cl-csirt", "CL"),
        ("mx-csirt", "MX"),
    ] {
        let (st, body) = put(
            net.node(id),
            id,
            &team(id, cc, &format!("CSIRT of {cc} (test)")),
        );
        assert_eq!(st, 200, "{id}: {body}");
        assert_eq!(body["team"]["id"], id, "{body}");
        assert!(
            body["team"]["updated"].is_string(),
            "the node sets `updated`"
        );
    }
    for n in &net.nodes {
        eventually(&format!("{} holds all three records", n.id), T, || {
            team_ids(n) == ids
        });
    }

    // A member may not publish another member's team: 403, and nothing changes anywhere.
    let (st, body) = put(
        net.node("mx-csirt"),
        "cl-csirt",
        &team("cl-csirt", "CL", "Hijacked (test)"),
    );
    assert_eq!(st, 403, "{body}");
    assert_eq!(code(&body), "not_authoritative", "{body}");
    // Nor a team it hosts in another country.
    let (st, body) = put(
        net.node("mx-csirt"),
        "mx-csirt/banca-cl",
        &team("mx-csirt/banca-cl", "CL", "Banca de Chile CSIRT (test)"),
    );
    assert_eq!(st, 403, "{body}");
    assert_eq!(code(&body), "not_authoritative", "{body}");
    // A hosted team of its own country is fine.
    let mut hosted = team("mx-csirt/banca", "MX", "Banca CSIRT of MX (test)");
    hosted["team_type"] = "sectoral".into();
    let (st, body) = put(net.node("mx-csirt"), "mx-csirt/banca", &hosted);
    assert_eq!(st, 200, "{body}");

    // A forged envelope: mx-csirt signs a record of cl-csirt's team and pushes it to the
    // coordinator's inbox as a peer would. Refused, and nothing stored.
    let mut forged_team = team("cl-csirt", "CL", "Forged (test)");
    forged_team["updated"] = now_rfc3339(0).into();
    let forged = json!({
        "v": 1, "id": "01936b2e-0000-7000-8000-0000000000d1", "kind": "directory-record",
        "origin": "mx-csirt", "created": now_rfc3339(0), "tlp": "GREEN",
        "audience": {"scope": "network"}, "embargo_until": null, "refs": [],
        "body": {"record": "team", "data": forged_team}
    });
    let reply = net.push_signed("mx-csirt", "coordinator", vec![forged]);
    assert_eq!(reply["rejected"][0]["code"], "not_authoritative", "{reply}");

    // The hosted team arrives everywhere; cl-csirt's record is cl-csirt's own everywhere.
    for n in &net.nodes {
        eventually(&format!("{} holds the hosted team", n.id), T, || {
            team_ids(n).contains(&"mx-csirt/banca".to_owned())
        });
        assert_eq!(
            official_name(n, "cl-csirt"),
            "CSIRT of CL (test)",
            "{}",
            n.id
        );
        assert!(!team_ids(n).contains(&"mx-csirt/banca-cl".to_owned()));
    }
    // The CLI lists what the node holds.
    let listed = atalaya(&[
        "directory",
        "list",
        "--config",
        net.node("cl-csirt").config().to_str().unwrap(),
        "--country",
        "mx",
    ]);
    assert!(listed.contains("mx-csirt/banca"), "{listed}");
    assert!(!listed.contains("CSIRT of CL"), "{listed}");
}

#[test]
fn a_census_round_is_answered_while_open_and_refused_once_closed() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.start_all();
    for (id, cc) in [("cl-csirt", "CL"), ("mx-csirt", "MX")] {
        let (st, body) = put(
            net.node(id),
            id,
            &team(id, cc, &format!("CSIRT of {cc} (test)")),
        );
        assert_eq!(st, 200, "{body}");
    }
    // Members may not open a round.
    let (st, body) = net
        .node("cl-csirt")
        .post("/api/v1/census/rounds", &json!({"title": "Rogue census"}));
    assert_eq!(st, 403, "{body}");

    let (st, body) = net.node("coordinator").post(
        "/api/v1/census/rounds",
        &json!({"title": "Census 2026 (test)"}),
    );
    assert_eq!(st, 201, "{body}");
    let round = body["round"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/census/rounds/{round}");
    for m in ["cl-csirt", "mx-csirt"] {
        eventually(&format!("{m} sees the round"), T, || {
            net.node(m).get(&path).0 == 200
        });
        eventually(
            &format!("{m} holds the coordinator's and its peer's records"),
            T,
            || team_ids(net.node(m)).len() == 2,
        );
    }

    // cl-csirt answers with what its record already says.
    let (st, prefill) = net.node("cl-csirt").get(&format!("{path}/prefill"));
    assert_eq!(st, 200, "{prefill}");
    assert_eq!(prefill["answers"]["official_name"], "CSIRT of CL (test)");
    let mut cl_answers = prefill["answers"].clone();
    cl_answers["full_time_staff"] = 12.into();
    let (st, body) = net.node("cl-csirt").post(
        &format!("{path}/responses"),
        &json!({ "answers": cl_answers }),
    );
    assert_eq!(st, 201, "{body}");

    // mx-csirt first picks an answer that is not a choice: refused, nothing stored.
    let (_, prefill) = net.node("mx-csirt").get(&format!("{path}/prefill"));
    let mut good = prefill["answers"].clone();
    good["full_time_staff"] = 4.into();
    let mut answers = good.clone();
    answers["team_type"] = "spaceship".into();
    let (st, body) = net
        .node("mx-csirt")
        .post(&format!("{path}/responses"), &json!({"answers": answers}));
    assert_eq!(st, 422, "{body}");
    assert_eq!(code(&body), "not-a-choice", "{body}");
    let (_, held) = net.node("mx-csirt").get(&format!("{path}/responses"));
    assert_eq!(held["responses"].as_array().unwrap().len(), 0, "{held}");
    // Then answers properly, through the CLI.
    let file = net.path().join("answers.json");
    std::fs::write(&file, json!({ "answers": good }).to_string()).unwrap();
    let out = atalaya(&[
        "census",
        "answer",
        "--config",
        net.node("mx-csirt").config().to_str().unwrap(),
        &round,
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(out.contains("recorded"), "{out}");

    eventually("the coordinator's report counts two responses", T, || {
        let (st, report) = net.node("coordinator").get(&format!("{path}/report"));
        st == 200 && report["responded_teams"] == 2
    });

    // Closed: no answer is accepted any more.
    let out = atalaya(&[
        "census",
        "close",
        "--config",
        net.node("coordinator").config().to_str().unwrap(),
        &round,
    ]);
    assert!(out.contains("closed"), "{out}");
    eventually("cl-csirt learns the round is closed", T, || {
        net.node("cl-csirt").get(&path).1["open"] == false
    });
    let (st, body) = net.node("cl-csirt").post(
        &format!("{path}/responses"),
        &json!({ "answers": cl_answers }),
    );
    assert!(matches!(st, 409 | 422), "{st} {body}");
    assert_eq!(code(&body), "round-closed", "{body}");
    let report = atalaya(&[
        "census",
        "report",
        "--config",
        net.node("coordinator").config().to_str().unwrap(),
        &round,
    ]);
    assert!(report.contains("responses: 2/"), "{report}");
}
