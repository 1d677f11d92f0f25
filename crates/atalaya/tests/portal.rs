//! The public portal's report form across real `atalaya` processes on loopback: a person on the
//! Mexican node's portal reports an incident for Chile; the form's proof of work is solved, the
//! report travels as a signed `incident-report` envelope to the Chilean node only, which files
//! it (the API lists it there, with the reference the person was shown); neither the node that
//! took it nor any other node keeps it. A state without a node takes no form.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::{TestNet, eventually, http};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);

fn national(id: &str, cc: &str) -> Value {
    let lc = cc.to_ascii_lowercase();
    json!({
        "id": id,
        "official_name": format!("National CSIRT of {cc} (test)"),
        "short_name": format!("CSIRT-{cc}"),
        "country": cc,
        "team_type": "national",
        "constituency": {"types": ["National"], "countries": [cc]},
        "services": ["incident-report-acceptance"],
        "available_24x7": true,
        "emails": [{"address": format!("report@{lc}.example.org"), "usage": ["incident-report"], "public": true}],
        "mandate": {"disseminates_nationally": true, "authorised_to_share": true, "assists_other_teams": true},
        "demo": true
    })
}

/// The value of a hidden input in a page.
fn input(page: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = page.find(&needle).unwrap() + needle.len();
    page[start..].split('"').next().unwrap().to_owned()
}

fn references(node: &common::TestNode) -> Vec<String> {
    let (st, body) = node.get("/api/v1/reports");
    assert_eq!(st, 200, "{body}");
    body["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reference"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_report_made_on_one_nodes_portal_reaches_the_national_team_of_its_state() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.start_all();
    for (id, cc) in [("cl-csirt", "CL"), ("mx-csirt", "MX")] {
        let (st, body) = net.node(id).put_raw(
            &format!("/api/v1/teams/{id}"),
            &national(id, cc).to_string(),
        );
        assert_eq!(st, 200, "{body}");
    }
    let (cl, mx) = (net.node("cl-csirt"), net.node("mx-csirt"));
    eventually("mx holds the Chilean record", T, || {
        mx.get("/api/v1/teams/cl-csirt").0 == 200
    });

    let client = http();
    let page = client
        .get(format!("{}/report/CL?lang=es", mx.url()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains("report@cl.example.org"),
        "the national CSIRT's public contact"
    );
    let challenge = input(&page, "challenge");
    let counter = atalaya_web::portal::pow::solve(&challenge);
    let reply = client
        .post(format!("{}/report/CL?lang=es", mx.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded_pairs(&[
            ("lang", "es"),
            ("challenge", &challenge),
            ("pow", &counter),
            (
                "what",
                "Correo de phishing que suplanta al servicio de impuestos.",
            ),
            ("when", "hoy, 10:00"),
            ("contact", "persona@example.org"),
            ("rsit", "fraud"),
            ("website", ""),
        ]))
        .send()
        .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    let body = reply.text().unwrap();
    let i = body.find("id=\"reference\">").expect("a reference") + "id=\"reference\">".len();
    let reference = body[i..].split('<').next().unwrap().to_owned();
    assert!(reference.starts_with("IR-CL-"), "{reference}");

    eventually("the Chilean node files the report", T, || {
        references(cl).contains(&reference)
    });
    let (_, all) = cl.get("/api/v1/reports");
    let r = &all["reports"][0];
    assert_eq!(r["via"], "mx-csirt");
    assert_eq!(r["country"], "CL");
    assert_eq!(r["contact"], "persona@example.org");
    assert_eq!(r["language"], "es");
    // Only the Chilean node holds it.
    assert!(
        references(mx).is_empty(),
        "the node that took it does not file it"
    );
    assert!(references(net.node("coordinator")).is_empty());

    // A state with no node: its contacts, and no form.
    let page = client
        .get(format!("{}/report/AR", mx.url()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(!page.contains("id=\"report-form\"") && page.contains("id=\"offline\""));
}

fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
