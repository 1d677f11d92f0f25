//! The census in the console, through the node's real router: the coordinator opens a round in
//! a form, the team's census form comes filled in from its directory record, bad answers come
//! back next to their question with nothing stored, a good one is stored and shows in the
//! report, and a closed round takes no more answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_core::access::Role;
use atalaya_core::directory::{DirectoryEntry, TeamRecord};
use axum::http::StatusCode;
use common::{Browser, TestNode, t0, team_record};
use serde_json::json;

/// The shared team record of the test node's own team, as stored here: it does not assist
/// other teams (a boolean the form fills in as "no").
fn record() -> TeamRecord {
    let mut v = team_record("cl-csirt");
    v["mandate"]["assists_other_teams"] = json!(false);
    v["updated"] = json!(t0().to_string());
    serde_json::from_value(v).unwrap()
}

async fn node_with_record() -> TestNode {
    let node = TestNode::start().await;
    node.state
        .fed
        .publish_directory_entry(DirectoryEntry::Team(Box::new(record())))
        .await
        .unwrap();
    node
}

async fn admin(node: &TestNode) -> Browser {
    node.signed_in("olivia", Role::Admin).await
}

/// Opens a round through the form; returns its id.
async fn open_round(b: &mut Browser, title: &str) -> String {
    let list = b.get("/console/census").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body.contains("id=\"open-round\""),
        "the coordinator's form"
    );
    let r = b
        .submit("/console/census", &[("title", title), ("closes", "")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = r
        .location()
        .strip_prefix("/console/census/")
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "{id}");
    id
}

/// The fields of a valid answer (on top of what the record fills in).
fn good_answer() -> Vec<(&'static str, &'static str)> {
    vec![
        ("q-official_name", "Equipo de Respuesta de Prueba (test)"),
        ("q-short_name", "ERP-TEST"),
        ("q-team_type", "national"),
        ("q-disseminates_nationally", "true"),
        ("q-authorised_to_share", "true"),
        ("q-assists_other_teams", "false"),
        ("q-constituency_types", "National"),
        ("q-services", "incident-coordination"),
        ("q-services", "communication"),
        ("q-full_time_staff", "12"),
        ("q-available_24x7", "true"),
        ("q-organisations_served", ""),
        (
            "q-priority_need",
            "<script>alert('census')</script> more analysts",
        ),
    ]
}

/// Sends [`good_answer`] to a round's form.
async fn send_good_answer(b: &mut Browser, round: &str) -> common::Reply {
    b.submit(&format!("/console/census/{round}/answer"), &good_answer())
        .await
}

async fn responses(node: &TestNode, round: &str) -> usize {
    node.fed
        .census_responses(round.parse().unwrap())
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn the_coordinator_opens_a_round_and_the_team_answers_it_in_the_form() {
    let node = node_with_record().await;
    let mut b = admin(&node).await;
    let floor = b.get("/console").await;
    assert!(
        floor.body.contains("href=\"/console/census\""),
        "a nav link"
    );

    // A round without a title is refused, with what was entered kept.
    let r = b
        .submit(
            "/console/census",
            &[("title", " "), ("closes", "2026-12-01T17:00")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "missing-title");
    assert!(r.body.contains("value=\"2026-12-01T17:00\""));
    assert!(node.fed.census_rounds().await.unwrap().is_empty());
    // A closing time that is not one, too.
    let r = b
        .submit("/console/census", &[("title", "X"), ("closes", "soon")])
        .await;
    assert_eq!(r.code(), "bad-dates");

    let id = open_round(&mut b, "Census <b>2026</b>").await;
    let list = b.get("/console/census").await;
    assert!(
        list.body.contains("Census &#60;b&#62;2026") || list.body.contains("Census &lt;b&gt;2026"),
        "the title is text"
    );
    assert!(
        list.body
            .contains(&format!("data-round=\"{id}\" data-open=\"true\""))
    );
    assert!(list.body.contains("class=\"close-round\""));

    // The form, filled in from the directory record.
    let form = b.get(&format!("/console/census/{id}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("id=\"census-form\""));
    assert!(form.body.contains("id=\"prefill-note\""));
    assert!(
        form.body
            .contains("name=\"q-official_name\" maxlength=\"200\" value=\"Equipo de Respuesta de Prueba (test)\""),
        "text filled in"
    );
    assert!(
        form.body
            .contains("name=\"q-established\" type=\"date\" value=\"2015-03-01\"")
    );
    assert!(
        form.body
            .contains("name=\"q-available_24x7\" value=\"true\" checked")
    );
    assert!(
        form.body
            .contains("name=\"q-assists_other_teams\" value=\"false\" checked")
    );
    assert!(
        form.body
            .contains("name=\"q-services\" value=\"incident-coordination\" checked")
    );
    assert!(form.body.contains(
        "name=\"q-full_time_staff\" type=\"number\" step=\"any\" min=\"0\" max=\"10000\" value=\"\""
    ));
    assert!(form.body.contains("class=\"badge prefilled\""));
    assert!(form.body.contains("<textarea id=\"q-priority_need\""));

    // A choice that is not one, and a number out of range: each shown at its question; nothing
    // stored.
    let mut bad = good_answer();
    bad.retain(|(k, _)| *k != "q-team_type" && *k != "q-full_time_staff");
    bad.push(("q-team_type", "galactic"));
    bad.push(("q-full_time_staff", "-3"));
    bad.push(("q-part_time_staff", "lots"));
    let r = b
        .submit(&format!("/console/census/{id}/answer"), &bad)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"census-problems\""));
    let at = |q: &str| {
        r.body
            .split(&format!("id=\"question-{q}\""))
            .nth(1)
            .unwrap()
            .split("class=\"census-q")
            .next()
            .unwrap()
            .to_owned()
    };
    assert!(
        at("team_type").contains("data-code=\"not-a-choice\""),
        "{}",
        at("team_type")
    );
    assert!(at("team_type").contains("`galactic` is not one of the choices"));
    assert!(at("part_time_staff").contains("data-code=\"wrong-type\""));
    assert!(
        at("part_time_staff").contains("value=\"lots\""),
        "what was entered is kept"
    );
    assert!(at("short_name").contains("value=\"ERP-TEST\""));
    assert!(!at("short_name").contains("data-code"));
    assert_eq!(responses(&node, &id).await, 0, "nothing stored");
    // Once every value can be read, the node's own checks speak (out of range).
    let mut bad = good_answer();
    bad.retain(|(k, _)| *k != "q-full_time_staff");
    bad.push(("q-full_time_staff", "-3"));
    let r = b
        .submit(&format!("/console/census/{id}/answer"), &bad)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(at_of(&r.body, "full_time_staff").contains("data-code=\"out-of-range\""));
    assert!(at_of(&r.body, "full_time_staff").contains("value=\"-3\""));
    // A required question left out.
    let mut missing = good_answer();
    missing.retain(|(k, _)| *k != "q-short_name");
    let r = b
        .submit(&format!("/console/census/{id}/answer"), &missing)
        .await;
    assert!(at_of(&r.body, "short_name").contains("data-code=\"missing-required\""));
    assert_eq!(responses(&node, &id).await, 0, "nothing stored");

    // A good answer is sent.
    let r = send_good_answer(&mut b, &id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/console/census/{id}?sent=1"));
    assert_eq!(responses(&node, &id).await, 1);
    let page = b.get(r.location()).await;
    assert!(page.body.contains("id=\"census-sent\""));
    assert!(
        page.body.contains(
            "Sent to the coordinator (cl-csirt) at 2026-11-22 09:00:00 -03:00 America/Santiago"
        ),
        "in the person's zone"
    );
    assert!(page.body.contains("name=\"q-full_time_staff\" type=\"number\" step=\"any\" min=\"0\" max=\"10000\" value=\"12\""), "the form now shows what was sent");
    let stored = &node
        .fed
        .census_responses(id.parse().unwrap())
        .await
        .unwrap()[0];
    assert!(
        !stored.answers.contains_key("organisations_served"),
        "empty fields are left out"
    );
    assert_eq!(stored.submitted_by, "olivia");

    // The report shows it.
    let rep = b.get(&format!("/console/census/{id}/report")).await;
    assert_eq!(rep.status, StatusCode::OK, "{}", rep.body);
    assert!(
        rep.body.contains("id=\"responded-teams\">1 / 1 (100%)"),
        "{}",
        rep.body
    );
    assert!(rep.body.contains("id=\"responded-countries\">1 / 1"));
    let staff = at_report(&rep.body, "full_time_staff");
    assert!(staff.contains("class=\"median\">12<"), "{staff}");
    let services = at_report(&rep.body, "services");
    assert!(services.contains("<svg"), "choices drawn as a chart");
    assert!(
        services.contains("Information security incident coordination: 1"),
        "{services}"
    );
    let text = at_report(&rep.body, "priority_need");
    assert!(
        text.contains("script&#62;alert(") || text.contains("script&gt;alert("),
        "{text}"
    );
    assert!(text.contains("more analysts"), "{text}");
    assert!(
        !rep.body.contains("<script>alert"),
        "script in an answer stays text"
    );
    assert!(!rep.body.contains("<b>2026</b>"));

    // Compared across rounds.
    let cmp = b
        .get("/console/census/compare?question=full_time_staff")
        .await;
    assert_eq!(cmp.status, StatusCode::OK);
    assert!(
        cmp.body
            .contains("<option value=\"full_time_staff\" selected>")
    );
    assert!(cmp.body.contains("class=\"median\">12<"));
    let cmp = b.get("/console/census/compare?question=services").await;
    assert!(cmp.body.contains("<svg"));
    let cmp = b.get("/console/census/compare").await;
    assert_eq!(cmp.status, StatusCode::OK);
    assert!(cmp.body.contains("id=\"compare-question\""));

    // Close the round: the form is gone and an answer is refused.
    let r = b.submit(&format!("/console/census/{id}/close"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get(&format!("/console/census/{id}")).await;
    assert!(page.body.contains("id=\"census-closed\""));
    assert!(!page.body.contains("id=\"census-form\""));
    let r = send_good_answer(&mut b, &id).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "round-closed");
    assert_eq!(responses(&node, &id).await, 1);
    // Closing twice is refused too.
    let r = b.submit(&format!("/console/census/{id}/close"), &[]).await;
    assert_eq!(r.code(), "round-closed");
    let list = b.get("/console/census").await;
    assert!(
        list.body
            .contains(&format!("data-round=\"{id}\" data-open=\"false\""))
    );
    // An unknown round.
    let r = b
        .get("/console/census/0193a000-0000-7000-8000-000000000001")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = b.get("/console/census/nope/report").await;
    assert_eq!(r.code(), "invalid_id");
}

fn at_of(body: &str, q: &str) -> String {
    body.split(&format!("id=\"question-{q}\""))
        .nth(1)
        .unwrap()
        .split("class=\"census-q")
        .next()
        .unwrap()
        .to_owned()
}

fn at_report(body: &str, q: &str) -> String {
    body.split(&format!("id=\"report-{q}\""))
        .nth(1)
        .unwrap()
        .split("class=\"census-report-q\"")
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_the_right() {
    let node = node_with_record().await;
    let mut b = admin(&node).await;
    let id = open_round(&mut b, "Census 2026").await;

    // Without the session's token nothing happens.
    let r = b.post("/console/census", &[("title", "Forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "csrf_failed");
    let mut forged = vec![("_csrf", "wrong")];
    forged.extend(good_answer());
    let r = b
        .post(&format!("/console/census/{id}/answer"), &forged)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b.post(&format!("/console/census/{id}/close"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(node.fed.census_rounds().await.unwrap().len(), 1);
    assert!(
        node.fed
            .census_round(id.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .closed
            .is_none()
    );
    assert_eq!(responses(&node, &id).await, 0);

    // A read-only person sees the round but cannot answer, open or close.
    let mut ro = node.signed_in("rita", Role::ReadOnly).await;
    let list = ro.get("/console/census").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("id=\"open-round\""));
    assert!(!list.body.contains("close-round"));
    let page = ro.get(&format!("/console/census/{id}")).await;
    assert!(page.body.contains("id=\"census-cannot-answer\""));
    assert!(!page.body.contains("id=\"census-form\""));
    let r = send_good_answer(&mut ro, &id).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "forbidden");
    let r = ro.submit("/console/census", &[("title", "Mine")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = ro.submit(&format!("/console/census/{id}/close"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(node.fed.census_rounds().await.unwrap().len(), 1);
    assert_eq!(responses(&node, &id).await, 0);
    assert_eq!(
        ro.get(&format!("/console/census/{id}/report")).await.status,
        StatusCode::OK
    );

    // A liaison officer answers, but does not run rounds.
    let mut li = node.signed_in("luis", Role::Liaison).await;
    assert!(
        !li.get("/console/census")
            .await
            .body
            .contains("id=\"open-round\"")
    );
    li.get(&format!("/console/census/{id}")).await;
    let r = send_good_answer(&mut li, &id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(responses(&node, &id).await, 1);
}

#[tokio::test]
async fn every_language_renders_the_census_form() {
    let node = node_with_record().await;
    let mut b = admin(&node).await;
    let id = open_round(&mut b, "Census 2026").await;
    for (lang, nav, yes, label) in [
        ("en", "Census", "Yes", "Official name of the team"),
        ("es", "Censo", "Sí", "Nombre oficial del equipo"),
        ("pt", "Censo", "Sim", "Nome oficial da equipe"),
        ("fr", "Recensement", "Oui", "Nom officiel de l'équipe"),
    ] {
        let r = b
            .submit(
                "/console/language",
                &[("language", lang), ("back", "/console/census")],
            )
            .await;
        assert!(r.status.is_redirection(), "{lang}: {}", r.status);
        let page = b.get(&format!("/console/census/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(&format!("<html lang=\"{lang}\"")));
        assert!(page.body.contains(&format!(">{nav}</a>")), "{lang}: nav");
        assert!(
            page.body.contains(&format!("> {yes}</label>")),
            "{lang}: yes"
        );
        let html_label = label.replace('\'', "&#39;");
        assert!(
            page.body.contains(label) || page.body.contains(&html_label),
            "{lang}: {label}"
        );
        assert!(
            !page.body.contains(">census-"),
            "{lang}: an untranslated message key"
        );
        let rep = b.get(&format!("/console/census/{id}/report")).await;
        assert_eq!(rep.status, StatusCode::OK);
        assert!(!rep.body.contains(">census-"), "{lang}: report keys");
    }
}
