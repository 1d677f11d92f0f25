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
    let (s, body) = api.import("/api/v1/import/stix?dry_run=true", good).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["dry_run"], true);
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
    let unlabelled = bundle(vec![indicator(1, false)]);
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
