//! `POST /api/v1/import/{format}` and `GET /api/v1/bulletins/{id}/export/{format}` in process:
//! documents become bulletins (all or nothing), every bad document is refused with its code and
//! nothing stored, a dry run stores nothing, and exports come back in the format asked for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_core::access::Role;
use axum::http::{Method, StatusCode};
use common::Api;
use serde_json::{Value, json};

const CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";

/// Imports through the API.
trait Import {
    fn import(
        &self,
        path: &str,
        doc: impl Into<String>,
    ) -> impl Future<Output = (StatusCode, Value)>;
    fn refused(
        &self,
        path: &str,
        doc: impl Into<String>,
        status: StatusCode,
        code: &str,
    ) -> impl Future<Output = ()>;
}

impl Import for Api {
    async fn import(&self, path: &str, doc: impl Into<String>) -> (StatusCode, Value) {
        let (s, v, _) = self.call(Method::POST, path, Some(doc.into())).await;
        (s, v)
    }

    async fn refused(&self, path: &str, doc: impl Into<String>, status: StatusCode, code: &str) {
        let before = self.node.bulletins().await;
        let (s, body) = self.import(path, doc).await;
        assert_eq!(s, status, "{path}: {body}");
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
        assert!(
            !body["error"]["message"].as_str().unwrap().is_empty(),
            "a refusal says why"
        );
        assert_eq!(
            self.node.bulletins().await,
            before,
            "{path}: nothing stored"
        );
    }
}

fn indicator(i: usize, marked: bool) -> Value {
    let mut o = json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{i:08x}-0000-4000-8000-000000000000"),
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "pattern": format!("[ipv4-addr:value = '198.51.100.{}']", i % 250),
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"
    });
    if marked {
        o["object_marking_refs"] = json!([CLEAR]);
    }
    o
}

fn bundle(objects: Vec<Value>) -> String {
    json!({"type": "bundle", "id": "bundle--0b7c4d2e-5f6a-4b8c-9d0e-1f2a3b4c5d6e", "objects": objects})
        .to_string()
}

fn csaf_document() -> Value {
    json!({
        "document": {
            "category": "csaf_base",
            "csaf_version": "2.0",
            "distribution": {"tlp": {"label": "WHITE"}},
            "lang": "en",
            "notes": [{"category": "summary", "title": "Summary", "text": "A test advisory."}],
            "publisher": {"category": "coordinator", "name": "Test CSIRT", "namespace": "https://csirt.example"},
            "title": "Gateway flaw (test)",
            "tracking": {
                "current_release_date": "2026-01-01T00:00:00.000Z",
                "id": "TEST-2026-0002",
                "initial_release_date": "2026-01-01T00:00:00.000Z",
                "revision_history": [{"date": "2026-01-01T00:00:00.000Z", "number": "1", "summary": "Initial version."}],
                "status": "final",
                "version": "1"
            }
        },
        "vulnerabilities": [{"cve": "CVE-2024-3400"}]
    })
}

#[tokio::test]
async fn documents_import_all_or_nothing_and_every_bad_document_is_refused() {
    let api = Api::start("officer", Role::DutyOfficer).await;

    // STIX: a CLEAR bundle becomes a bulletin with its indicators.
    let good = bundle((0..3).map(|i| indicator(i, true)).collect());
    let (s, body) = api.import("/api/v1/import/stix", good.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["bulletins"][0]["tlp"], "TLP:CLEAR");
    assert_eq!(body["bulletins"][0]["indicators"], 3);
    let id = body["bulletins"][0]["id"].as_str().unwrap().to_owned();
    let (s, _, text) = api
        .call(Method::GET, &format!("/api/v1/bulletins/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("198.51.100.2"), "{text}");

    // A dry run converts and checks, and stores nothing.
    let before = api.node.bulletins().await;
    let fresh = bundle((10..13).map(|i| indicator(i, true)).collect());
    let (s, body) = api.import("/api/v1/import/stix?dry_run=true", fresh).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["dry_run"], true);
    assert_eq!(body["bulletins"][0]["outcome"], "new");
    assert!(body["bulletins"][0]["id"].is_null());
    assert_eq!(api.node.bulletins().await, before);

    // CSAF and MISP.
    let (s, body) = api
        .import("/api/v1/import/csaf", csaf_document().to_string())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["bulletins"][0]["kind"], "vulnerability-advisory");
    let misp = json!({"Event": {"info": "Phishing wave (test)", "date": "2026-01-01",
        "threat_level_id": "1", "analysis": "2", "Tag": [{"name": "tlp:amber"}],
        "Attribute": [{"type": "domain", "category": "Network activity", "value": "phish.example"}]}});
    let (s, body) = api.import("/api/v1/import/misp", misp.to_string()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["bulletins"][0]["tlp"], "TLP:AMBER");

    // Refusals, each with its code, nothing stored.
    let unlabelled = bundle(vec![indicator(21, false)]);
    api.refused(
        "/api/v1/import/stix",
        unlabelled.clone(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no_label",
    )
    .await;
    let (s, body) = api
        .import("/api/v1/import/stix?tlp=GREEN", unlabelled.clone())
        .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "an explicit default label imports it: {body}"
    );
    api.refused(
        "/api/v1/import/stix?tlp=PURPLE",
        unlabelled,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    api.refused(
        "/api/v1/import/stix",
        "{\"type\": \"bundle\", ",
        StatusCode::BAD_REQUEST,
        "malformed",
    )
    .await;
    api.refused(
        "/api/v1/import/stix",
        "[1, 2]",
        StatusCode::UNPROCESSABLE_ENTITY,
        "schema_invalid",
    )
    .await;
    api.refused(
        "/api/v1/import/stix",
        bundle(vec![json!({"type": "identity", "spec_version": "2.1", "id": "identity--0b7c4d2e-5f6a-4b8c-9d0e-1f2a3b4c5d6e",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "x",
            "object_marking_refs": [CLEAR]})]),
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing_to_import",
    )
    .await;
    let mut not_csaf = csaf_document();
    not_csaf["document"]["category"] = json!(42);
    api.refused(
        "/api/v1/import/csaf",
        not_csaf.to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "schema_invalid",
    )
    .await;
    let mut label_less = csaf_document();
    label_less["document"]
        .as_object_mut()
        .unwrap()
        .remove("distribution");
    api.refused(
        "/api/v1/import/csaf",
        label_less.to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no_label",
    )
    .await;
    let oversized = " ".repeat(16 * 1024 * 1024 + 1);
    api.refused(
        "/api/v1/import/misp",
        oversized,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    )
    .await;
    api.refused(
        "/api/v1/import/iodef",
        "{}",
        StatusCode::NOT_FOUND,
        "unknown_format",
    )
    .await;
    api.refused(
        "/api/v1/import/stix?everything=1",
        "{}",
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn a_read_only_person_cannot_import() {
    let api = Api::start("officer", Role::ReadOnly).await;
    let doc = bundle(vec![indicator(1, true)]);
    api.refused(
        "/api/v1/import/stix",
        doc,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn bulletins_export_in_every_format_the_policy_allows() {
    let api = Api::start("officer", Role::DutyOfficer).await;
    let draft: atalaya_core::BulletinDraft = serde_json::from_value(json!({
        "tlp": "CLEAR", "kind": "attack-warning", "severity": "high",
        "title": "Botnet <C2> & friends (test)", "summary": "Block these.",
        "countries": ["CL"],
        "indicators": [{"type": "ip", "value": "203.0.113.5"}, {"type": "cve", "value": "CVE-2024-3400"}]
    }))
    .unwrap();
    let id = api.node.fed.publish(draft).await.unwrap().0.id;
    let green: atalaya_core::BulletinDraft = serde_json::from_value(json!({
        "tlp": "GREEN", "kind": "attack-warning", "severity": "high",
        "title": "Members only (test)", "summary": "Not for the public."
    }))
    .unwrap();
    let green = api.node.fed.publish(green).await.unwrap().0.id;

    let (s, _, text) = api
        .call(
            Method::GET,
            &format!("/api/v1/bulletins/{id}/export/stix"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let bundle: Value = serde_json::from_str(&text).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    assert!(
        objects.iter().any(|o| o["id"] == CLEAR),
        "the TLP 2.0 marking travels with it"
    );
    assert!(objects.iter().any(|o| o["type"] == "indicator"));

    let (s, _, text) = api
        .call(
            Method::GET,
            &format!("/api/v1/bulletins/{id}/export/misp"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(text.contains("tlp:clear"), "{text}");

    let (s, _, text) = api
        .call(
            Method::GET,
            &format!("/api/v1/bulletins/{id}/export/csaf"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["document"]["csaf_version"], "2.0");

    let (s, _, text) = api
        .call(
            Method::GET,
            &format!("/api/v1/bulletins/{id}/export/cap"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(
        text.contains("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\""),
        "{text}"
    );
    assert!(
        text.contains("Botnet &lt;C2&gt; &amp; friends"),
        "escaped: {text}"
    );

    // A GREEN warning exports to STIX for a member, but is never a public CAP alert.
    let (s, _, text) = api
        .call(
            Method::GET,
            &format!("/api/v1/bulletins/{green}/export/stix"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(text.contains("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"));
    let (s, _, text) = api
        .call(
            Method::GET,
            &format!("/api/v1/bulletins/{green}/export/cap"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(text.contains("cap_not_available"));

    let (s, _, text) = api
        .call(
            Method::GET,
            &format!("/api/v1/bulletins/{id}/export/iodef"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(text.contains("unknown_format"));
    let (s, _, _) = api
        .call(
            Method::GET,
            "/api/v1/bulletins/00000000-0000-4000-8000-000000000000/export/stix",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// `csaf_document()` under `tracking_id` at tracking version `version`, with a revision
/// history that leads up to it (CSAF's mandatory tests check they agree).
fn csaf_at(tracking_id: &str, title: &str, version: &str, history: &[&str]) -> String {
    let mut doc = csaf_document();
    doc["document"]["title"] = json!(title);
    doc["document"]["tracking"]["id"] = json!(tracking_id);
    doc["document"]["tracking"]["version"] = json!(version);
    doc["document"]["tracking"]["revision_history"] = history
        .iter()
        .enumerate()
        .map(|(i, n)| {
            json!({"date": format!("2026-01-0{}T00:00:00.000Z", i + 1), "number": n,
                   "summary": format!("Revision {n}.")})
        })
        .collect();
    doc["document"]["tracking"]["current_release_date"] =
        json!(format!("2026-01-0{}T00:00:00.000Z", history.len()));
    doc.to_string()
}

/// How many bulletins the API lists under `title`.
async fn listed(api: &Api, title: &str) -> usize {
    let (s, body, _) = api.get("/api/v1/bulletins?limit=500").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["bulletins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["title"] == title)
        .count()
}

/// How many times the public portal's advisories list shows `title`.
async fn on_portal(api: &Api, title: &str) -> usize {
    let page = api.node.browser().get("/?lang=en").await;
    assert_eq!(page.status, StatusCode::OK);
    page.body.matches(&format!(">{title}</a></h2>")).count()
}

#[tokio::test]
async fn an_advisory_imported_twice_is_published_once_and_a_newer_version_revises_it() {
    let api = Api::start("officer", Role::DutyOfficer).await;
    let title = "Gateway flaw in release one";
    let v1 = csaf_at("TEST-2026-0100", title, "1", &["1"]);
    let (s, first) = api.import("/api/v1/import/csaf", v1.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["outcome"], "imported");
    assert_eq!(first["bulletins"][0]["outcome"], "new");
    let id = first["bulletins"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        on_portal(&api, title).await,
        1,
        "a CLEAR advisory is public"
    );

    // The same advisory again: reported as a duplicate, with the bulletin that holds it.
    let before = api.node.bulletins().await;
    let (s, again) = api.import("/api/v1/import/csaf", v1.clone()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["outcome"], "duplicate");
    assert_eq!(again["bulletins"][0]["outcome"], "duplicate");
    assert_eq!(again["bulletins"][0]["id"], id.as_str());
    assert_eq!(api.node.bulletins().await, before, "nothing stored");
    assert_eq!(listed(&api, title).await, 1);
    assert_eq!(on_portal(&api, title).await, 1, "listed once on the portal");
    // A dry run says so too.
    let (s, dry) = api.import("/api/v1/import/csaf?dry_run=true", v1).await;
    assert_eq!(s, StatusCode::OK, "{dry}");
    assert_eq!(dry["outcome"], "duplicate");

    // Another publisher's advisory with the same tracking id is another document.
    let mut other: Value =
        serde_json::from_str(&csaf_at("TEST-2026-0100", title, "1", &["1"])).unwrap();
    other["document"]["publisher"]["namespace"] = json!("https://other-csirt.example");
    let (s, body) = api.import("/api/v1/import/csaf", other.to_string()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["bulletins"][0]["outcome"], "new");

    // Version 2 revises version 1: a new bulletin that supersedes it.
    let revised = "Gateway flaw in release two";
    let v2 = csaf_at("TEST-2026-0100", revised, "2", &["1", "2"]);
    let (s, second) = api.import("/api/v1/import/csaf", v2.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    assert_eq!(second["bulletins"][0]["outcome"], "revision");
    assert_eq!(second["bulletins"][0]["supersedes"], id.as_str());
    let new_id = second["bulletins"][0]["id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, id);
    let (s, held, _) = api.get(&format!("/api/v1/bulletins/{new_id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(held["bulletin"]["supersedes"], id.as_str(), "{held}");
    let (_, again) = api.import("/api/v1/import/csaf", v2).await;
    assert_eq!(again["bulletins"][0]["id"], new_id.as_str(), "{again}");

    // Version 1 again, now older than what is held: refused as stale, nothing stored.
    let before = api.node.bulletins().await;
    api.refused(
        "/api/v1/import/csaf",
        csaf_at("TEST-2026-0100", title, "1", &["1"]),
        StatusCode::CONFLICT,
        "stale_import",
    )
    .await;
    // A switch to semantic versioning cannot be ordered against integer versions.
    api.refused(
        "/api/v1/import/csaf",
        csaf_at(
            "TEST-2026-0100",
            revised,
            "3.0.0",
            &["1.0.0", "2.0.0", "3.0.0"],
        ),
        StatusCode::CONFLICT,
        "incomparable_version",
    )
    .await;
    assert_eq!(api.node.bulletins().await, before);
    let (_, stale) = api
        .import(
            "/api/v1/import/csaf",
            csaf_at("TEST-2026-0100", title, "1", &["1"]),
        )
        .await;
    assert!(
        stale["error"]["message"]
            .as_str()
            .unwrap()
            .contains("older than version 2"),
        "{stale}"
    );
}

fn misp_event(timestamp: &str, info: &str, domain: &str) -> String {
    json!({"Event": {"uuid": "7a1c9e22-3b4d-4e5f-8a6b-1c2d3e4f5a6b", "info": info,
        "date": "2026-01-01", "timestamp": timestamp, "threat_level_id": "2",
        "Tag": [{"name": "tlp:green"}],
        "Attribute": [{"type": "domain", "category": "Network activity", "value": domain}]}})
    .to_string()
}

#[tokio::test]
async fn a_misp_event_imported_twice_is_published_once_and_an_update_revises_it() {
    let api = Api::start("officer", Role::DutyOfficer).await;
    let event = misp_event("1767225600", "Phishing wave", "phish.example");
    let (s, first) = api.import("/api/v1/import/misp", event.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let id = first["bulletins"][0]["id"].as_str().unwrap().to_owned();
    let before = api.node.bulletins().await;
    let (s, again) = api.import("/api/v1/import/misp", event).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["outcome"], "duplicate");
    assert_eq!(again["bulletins"][0]["id"], id.as_str());
    assert_eq!(api.node.bulletins().await, before);

    // The event changed in MISP (its timestamp moved): the update revises the bulletin.
    let updated = misp_event(
        "1767229200",
        "Phishing wave, second domain",
        "phish2.example",
    );
    let (s, second) = api.import("/api/v1/import/misp", updated).await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    assert_eq!(second["bulletins"][0]["outcome"], "revision");
    assert_eq!(second["bulletins"][0]["supersedes"], id.as_str());

    // The event as it was before the update: stale.
    api.refused(
        "/api/v1/import/misp",
        misp_event("1767225600", "Phishing wave", "phish.example"),
        StatusCode::CONFLICT,
        "stale_import",
    )
    .await;
    // An event with more indicators than one bulletin holds becomes several parts: each is
    // published once, and the whole event again is a duplicate of every part.
    let attributes: Vec<Value> = (0..atalaya_core::bulletin::limits::INDICATORS + 10)
        .map(|i| {
            json!({"type": "domain", "category": "Network activity",
                        "value": format!("host{i}.phish.example")})
        })
        .collect();
    let big = json!({"Event": {"uuid": "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", "info": "Big wave",
        "date": "2026-01-01", "timestamp": "1767225600", "Tag": [{"name": "tlp:green"}],
        "Attribute": attributes}})
    .to_string();
    let before = api.node.bulletins().await;
    let (s, body) = api.import("/api/v1/import/misp", big.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["bulletins"].as_array().unwrap().len(), 2);
    assert!(
        body["bulletins"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["outcome"] == "new")
    );
    assert_eq!(api.node.bulletins().await, before + 2);
    let (s, body) = api.import("/api/v1/import/misp", big).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "duplicate");
    assert_eq!(body["bulletins"].as_array().unwrap().len(), 2);
    assert_ne!(body["bulletins"][0]["id"], body["bulletins"][1]["id"]);
    assert_eq!(api.node.bulletins().await, before + 2);
}

fn indicator_at(i: usize, modified: &str) -> Value {
    let mut o = indicator(i, true);
    o["modified"] = json!(modified);
    o
}

#[tokio::test]
async fn a_stix_bundle_imported_twice_publishes_nothing_new_and_a_revised_one_only_what_changed() {
    let api = Api::start("officer", Role::DutyOfficer).await;
    let t0 = "2026-01-01T00:00:00.000Z";
    let t1 = "2026-02-01T00:00:00.000Z";
    let report = |modified: &str| {
        json!({"type": "report", "spec_version": "2.1",
            "id": "report--5d0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
            "created": t0, "modified": modified, "name": "Botnet report",
            "published": t0, "report_types": ["threat-report"],
            "object_refs": ["indicator--00000064-0000-4000-8000-000000000000"],
            "object_marking_refs": [CLEAR]})
    };
    let loose: Vec<Value> = (0..4).map(|i| indicator_at(i, t0)).collect();
    let mut objects = loose.clone();
    objects.push(indicator_at(100, t0));
    objects.push(report(t0));
    let first = bundle(objects.clone());
    let (s, body) = api.import("/api/v1/import/stix", first.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let lines = body["bulletins"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "the report and one group: {body}");
    let report_bulletin = lines
        .iter()
        .find(|l| l["title"] == "Botnet report")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The same bundle again: nothing new.
    let before = api.node.bulletins().await;
    let (s, again) = api.import("/api/v1/import/stix", first).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["outcome"], "duplicate");
    assert!(
        again["bulletins"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["outcome"] == "duplicate")
    );
    assert_eq!(api.node.bulletins().await, before);

    // The bundle revised: one loose indicator newer, one new, the report's indicator newer.
    let mut revised = loose;
    revised[2] = indicator_at(2, t1);
    revised.push(indicator_at(7, t0));
    revised.push(indicator_at(100, t1));
    revised.push(report(t0));
    let (s, body) = api
        .import("/api/v1/import/stix", bundle(revised.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let lines = body["bulletins"].as_array().unwrap();
    let group = lines
        .iter()
        .find(|l| l["title"] != "Botnet report")
        .unwrap();
    assert_eq!(group["outcome"], "new");
    assert_eq!(
        group["indicators"], 2,
        "only the changed and the new indicator travel again: {body}"
    );
    let report_line = lines
        .iter()
        .find(|l| l["title"] == "Botnet report")
        .unwrap();
    assert_eq!(report_line["outcome"], "revision");
    assert_eq!(report_line["supersedes"], report_bulletin.as_str());
    assert_eq!(api.node.bulletins().await, before + 2);
    let (s, again) = api.import("/api/v1/import/stix", bundle(revised)).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(api.node.bulletins().await, before + 2);

    // The first bundle once more: its indicator 2 is older than the one held.
    api.refused(
        "/api/v1/import/stix",
        bundle(objects),
        StatusCode::CONFLICT,
        "stale_import",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_imports_of_the_same_advisory_publish_one_bulletin() {
    let api = std::sync::Arc::new(Api::start("officer", Role::DutyOfficer).await);
    let title = "Gateway flaw imported at once";
    let doc = csaf_at("TEST-2026-0200", title, "1", &["1"]);
    let before = api.node.bulletins().await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (api, doc) = (api.clone(), doc.clone());
            tokio::spawn(async move { api.import("/api/v1/import/csaf", doc).await })
        })
        .collect();
    let mut ids = Vec::new();
    let mut created = 0;
    for t in tasks {
        let (s, body) = t.await.unwrap();
        assert!(
            s == StatusCode::CREATED || s == StatusCode::OK,
            "{s}: {body}"
        );
        created += usize::from(s == StatusCode::CREATED);
        ids.push(body["bulletins"][0]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        created, 1,
        "one import publishes, the others are duplicates"
    );
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "all name one bulletin: {ids:?}"
    );
    assert_eq!(api.node.bulletins().await, before + 1);
    assert_eq!(listed(&api, title).await, 1);
}

#[tokio::test]
async fn a_bulletin_converted_by_a_streaming_importer_lands_at_most_once_and_bad_ones_are_refused()
{
    let api = Api::start("officer", Role::DutyOfficer).await;
    let draft = json!({"tlp": "CLEAR", "kind": "suspicious-activity", "title": "Streamed group",
        "summary": "2 indicators.", "severity": "medium",
        "indicators": [{"type": "ip", "value": "192.0.2.1"}, {"type": "ip", "value": "192.0.2.2"}]});
    let source = |format: &str, objects: Value| {
        json!({"format": format, "objects": objects, "part": 0, "grouped": true,
               "from": "STIX 2.1 bundle bundle--x"})
    };
    let objects = json!([
        {"key": "indicator--a", "version": "2026-01-01T00:00:00Z", "indicators": 1},
        {"key": "indicator--b", "version": "2026-01-01T00:00:00Z", "indicators": 1}
    ]);
    let unit = json!({"bulletin": draft, "source": source("stix", objects.clone())}).to_string();
    let path = "/api/v1/import/stix/bulletin";

    // Checked only: nothing stored.
    let before = api.node.bulletins().await;
    let (s, body) = api
        .import(&format!("{path}?dry_run=true"), unit.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["bulletins"][0]["outcome"], "new");
    assert_eq!(api.node.bulletins().await, before);
    let (s, body) = api.import(path, unit.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = api.import(path, unit).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "duplicate");
    assert_eq!(api.node.bulletins().await, before + 1);

    // Bad input: each refused with its code, nothing stored.
    api.refused(
        path,
        json!({"bulletin": draft, "source": source("misp", objects)}).to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_source",
    )
    .await;
    api.refused(
        path,
        json!({"bulletin": draft, "source": source("stix", json!([]))}).to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_source",
    )
    .await;
    let (s, body) = api
        .import(path, json!({"bulletin": draft}).to_string())
        .await;
    assert!(s.is_client_error(), "{s}: {body}");
    assert!(
        !body["error"]["code"].as_str().unwrap().is_empty(),
        "{body}"
    );
    let stale =
        json!([{"key": "indicator--a", "version": "2025-12-01T00:00:00Z", "indicators": 2}]);
    api.refused(
        path,
        json!({"bulletin": draft, "source": source("stix", stale)}).to_string(),
        StatusCode::CONFLICT,
        "stale_import",
    )
    .await;
    api.refused(
        "/api/v1/import/cap/bulletin",
        "{}",
        StatusCode::NOT_FOUND,
        "unknown_format",
    )
    .await;
    assert_eq!(api.node.bulletins().await, before + 1);
}
