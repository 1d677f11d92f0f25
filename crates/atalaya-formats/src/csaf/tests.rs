#![allow(clippy::unwrap_used, clippy::expect_used)]

use atalaya_core::{Bulletin, BulletinKind, NodeId, Severity, Tlp};
use serde_json::json;
use uuid::Uuid;

use super::provider::{self, Entry, Provider};
use super::*;
use crate::exchange::codes;

fn advisory() -> Value {
    json!({
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "distribution": {"tlp": {"label": "WHITE"}},
            "notes": [{"category": "summary", "title": "Summary", "text": "A bad bug in Widget."}],
            "publisher": {"category": "vendor", "name": "ACME", "namespace": "https://acme.example"},
            "references": [{"category": "external", "summary": "more", "url": "https://acme.example/sa/1"}],
            "title": "ACME Widget: remote code execution",
            "tracking": {
                "current_release_date": "2024-03-02T00:00:00Z",
                "id": "ACME-SA-2024:001",
                "initial_release_date": "2024-03-01T00:00:00Z",
                "revision_history": [
                    {"date": "2024-03-01T00:00:00Z", "number": "1", "summary": "first"},
                    {"date": "2024-03-02T00:00:00Z", "number": "2", "summary": "fix"}
                ],
                "status": "final",
                "version": "2"
            }
        },
        "product_tree": {"full_product_names": [{"name": "ACME Widget 1.0", "product_id": "W1"}]},
        "vulnerabilities": [{
            "cve": "CVE-2024-12345",
            "notes": [{"category": "description", "text": "RCE"}],
            "product_status": {"known_affected": ["W1"]},
            "scores": [{"products": ["W1"], "cvss_v3": {
                "version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "baseScore": 9.8, "baseSeverity": "CRITICAL"}}]
        }]
    })
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

#[test]
fn an_advisory_becomes_one_vulnerability_bulletin_carrying_it() {
    let doc = advisory();
    let out = import(&bytes(&doc), &ImportOptions::default()).unwrap();
    assert_eq!(out.bulletins.len(), 1);
    let b = &out.bulletins[0];
    assert_eq!(b.tlp, Tlp::Clear);
    assert_eq!(b.content.kind, BulletinKind::VulnerabilityAdvisory);
    assert_eq!(b.content.title, "ACME Widget: remote code execution");
    assert_eq!(b.content.summary, "A bad bug in Widget.");
    assert_eq!(b.content.severity, Severity::Critical);
    assert_eq!(b.content.indicators[0].value, "CVE-2024-12345");
    assert_eq!(b.content.references, vec!["https://acme.example/sa/1"]);
    assert!(b.content.body.contains("- ACME Widget 1.0"));
    assert_eq!(b.content.payload, Some(StructuredPayload::Csaf(doc)));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn no_score_means_medium_with_a_warning() {
    let mut doc = advisory();
    doc["vulnerabilities"][0]
        .as_object_mut()
        .unwrap()
        .remove("scores");
    let out = import(&bytes(&doc), &ImportOptions::default()).unwrap();
    assert_eq!(out.bulletins[0].content.severity, Severity::Medium);
    assert!(out.warnings[0].contains("medium"));
}

#[test]
fn profiles_choose_the_kind() {
    let mut doc = advisory();
    doc["document"]["category"] = json!("csaf_informational_advisory");
    doc.as_object_mut().unwrap().remove("vulnerabilities");
    let b = &import(&bytes(&doc), &ImportOptions::default())
        .unwrap()
        .bulletins[0];
    assert_eq!(b.content.kind, BulletinKind::Informational);
    doc["document"]["category"] = json!("csaf_security_incident_response");
    let b = &import(&bytes(&doc), &ImportOptions::default())
        .unwrap()
        .bulletins[0];
    assert_eq!(b.content.kind, BulletinKind::AttackWarning);
}

#[test]
fn bad_input_is_refused_with_its_code() {
    let doc = advisory();
    let small = ImportOptions {
        max_bytes: 100,
        ..Default::default()
    };
    assert_eq!(
        import(&bytes(&doc), &small).unwrap_err().code,
        codes::TOO_LARGE
    );
    assert_eq!(
        import(b"{\"document\":", &ImportOptions::default())
            .unwrap_err()
            .code,
        codes::MALFORMED
    );
    let mut trailing = bytes(&doc);
    trailing.extend_from_slice(b" garbage");
    assert_eq!(
        import(&trailing, &ImportOptions::default())
            .unwrap_err()
            .code,
        codes::MALFORMED
    );
    assert_eq!(
        import(b"[1]", &ImportOptions::default()).unwrap_err().code,
        codes::MALFORMED
    );

    let mut bad = doc.clone();
    bad["document"]["tracking"]
        .as_object_mut()
        .unwrap()
        .remove("id");
    bad["document"]["csaf_version"] = json!("2.1");
    let e = import(&bytes(&bad), &ImportOptions::default()).unwrap_err();
    assert_eq!(e.code, codes::SCHEMA_INVALID);
    assert!(
        e.problems.iter().any(|p| p.path == "/document/tracking"),
        "{:?}",
        e.problems
    );
    assert!(
        e.problems
            .iter()
            .any(|p| p.path == "/document/csaf_version"),
        "{:?}",
        e.problems
    );

    let mut unlabelled = doc.clone();
    unlabelled["document"]
        .as_object_mut()
        .unwrap()
        .remove("distribution");
    let e = import(&bytes(&unlabelled), &ImportOptions::default()).unwrap_err();
    assert_eq!(e.code, codes::NO_LABEL);
    let with_default = ImportOptions {
        default_tlp: Some(Tlp::Green),
        ..Default::default()
    };
    assert_eq!(
        import(&bytes(&unlabelled), &with_default)
            .unwrap()
            .bulletins[0]
            .tlp,
        Tlp::Green
    );

    let mut failing = doc.clone();
    failing["vulnerabilities"][0]["product_status"]["known_affected"] = json!(["NOPE"]);
    let e = import(&bytes(&failing), &ImportOptions::default()).unwrap_err();
    assert_eq!(e.code, codes::MANDATORY_TEST_FAILED);
    assert!(
        e.reason.contains("6.1.1 Missing Definition of Product ID"),
        "{}",
        e.reason
    );
    assert_eq!(
        e.problems[0].path,
        "/vulnerabilities/0/product_status/known_affected/0"
    );
}

#[test]
fn file_names_follow_5_1() {
    assert_eq!(
        file_name("cisco-SA-20190513-secureboot"),
        "cisco-sa-20190513-secureboot.json"
    );
    assert_eq!(
        file_name("Example Company - 2019-YH3234"),
        "example_company_-_2019-yh3234.json"
    );
    assert_eq!(file_name("RHBA-2019:0024"), "rhba-2019_0024.json");
    assert_eq!(file_name("a+b//c"), "a+b_c.json");
}

fn publisher() -> CsafPublisher {
    CsafPublisher {
        name: "CSIRT Chile".into(),
        namespace: "https://cl.example".into(),
        contact_details: None,
        issuing_authority: None,
    }
}

fn bulletin(body: &str, cves: &[&str], tlp: Tlp) -> Bulletin {
    let draft: atalaya_core::BulletinDraft = serde_json::from_value(json!({
        "tlp": tlp,
        "kind": "vulnerability-advisory",
        "title": "Widget flaw",
        "summary": "Patch the widget.",
        "body": body,
        "severity": "high",
        "indicators": cves.iter().map(|c| json!({"type": "cve", "value": c})).collect::<Vec<_>>(),
        "references": ["https://vendor.example/a"],
    }))
    .unwrap();
    Bulletin::new(
        draft,
        Uuid::from_u128(7),
        NodeId::new("cl-csirt").unwrap(),
        atalaya_core::Timestamp::parse("2024-05-01T10:00:00Z").unwrap(),
    )
    .unwrap()
}

#[test]
fn a_bulletin_with_cves_and_products_exports_a_security_advisory() {
    let b = bulletin(
        "Details.\n\n## Affected products\n\n- Widget 1.0\n- Widget 2.0\n",
        &["CVE-2024-0001"],
        Tlp::Clear,
    );
    let doc = export(&b, &publisher()).unwrap();
    assert_eq!(doc["document"]["category"], "csaf_security_advisory");
    assert_eq!(doc["document"]["distribution"]["tlp"]["label"], "WHITE");
    assert_eq!(
        doc["product_tree"]["full_product_names"][1]["name"],
        "Widget 2.0"
    );
    assert_eq!(doc["vulnerabilities"][0]["cve"], "CVE-2024-0001");
    let id = doc["document"]["tracking"]["id"].as_str().unwrap();
    assert_eq!(id, "CL-CSIRT-00000000-0000-0000-0000-000000000007");
    // And it imports back.
    let back = import(&bytes(&doc), &ImportOptions::default()).unwrap();
    assert_eq!(
        back.bulletins[0].content.indicators[0].value,
        "CVE-2024-0001"
    );
}

#[test]
fn a_bulletin_without_products_exports_csaf_base_and_revisions_keep_the_id() {
    let first = bulletin("", &[], Tlp::AmberStrict);
    let doc = export(&first, &publisher()).unwrap();
    assert_eq!(doc["document"]["category"], "csaf_base");
    assert_eq!(doc["document"]["distribution"]["tlp"]["label"], "AMBER");
    assert!(
        doc["document"]["distribution"]["text"]
            .as_str()
            .unwrap()
            .contains("STRICT")
    );
    let mut second = bulletin("", &["CVE-2024-0002"], Tlp::Clear);
    second.id = Uuid::from_u128(8);
    second.created = atalaya_core::Timestamp::parse("2024-05-02T10:00:00Z").unwrap();
    second.content.supersedes = Some(first.id);
    let doc2 = export_revisions(&second, std::slice::from_ref(&first), &publisher()).unwrap();
    assert_eq!(
        doc2["document"]["tracking"]["id"],
        doc["document"]["tracking"]["id"]
    );
    assert_eq!(doc2["document"]["tracking"]["version"], "2");
    assert_eq!(
        doc2["document"]["tracking"]["revision_history"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        export_revisions(&first, std::slice::from_ref(&second), &publisher())
            .unwrap_err()
            .code(),
        "broken_chain"
    );
}

#[test]
fn a_bulletin_carrying_csaf_exports_it_unchanged() {
    let doc = advisory();
    let draft = import(&bytes(&doc), &ImportOptions::default())
        .unwrap()
        .bulletins
        .remove(0);
    let b = Bulletin::new(
        draft,
        Uuid::from_u128(9),
        NodeId::new("cl-csirt").unwrap(),
        atalaya_core::Timestamp::parse("2024-05-01T10:00:00Z").unwrap(),
    )
    .unwrap();
    assert_eq!(export(&b, &publisher()).unwrap(), doc);
}

#[test]
fn provider_files_are_valid_and_ordered() {
    let p = Provider {
        base_url: "https://cl.example/".into(),
        publisher: publisher(),
        openpgp_fingerprint: Some("ABCDEF0123456789ABCDEF0123456789ABCDEF01".into()),
    };
    let now = atalaya_core::Timestamp::parse("2024-06-01T00:00:00Z").unwrap();
    let meta = provider::provider_metadata(&p, now);
    assert!(
        schema::validate(schema::Which::Provider, &meta).is_empty(),
        "{:?}",
        schema::validate(schema::Which::Provider, &meta)
    );
    assert_eq!(
        meta["canonical_url"],
        "https://cl.example/.well-known/csaf/provider-metadata.json"
    );

    let mut older = advisory();
    older["document"]["tracking"]["id"] = json!("OLD-1");
    older["document"]["tracking"]["current_release_date"] = json!("2023-01-01T00:00:00Z");
    let entries = vec![Entry::of(&older).unwrap(), Entry::of(&advisory()).unwrap()];
    assert_eq!(entries[1].path, "2024/acme-sa-2024_001.json");
    assert_eq!(
        provider::index_txt(&entries),
        "2024/acme-sa-2024_001.json\n2024/old-1.json\n"
    );
    assert_eq!(
        provider::changes_csv(&entries),
        "\"2024/acme-sa-2024_001.json\",\"2024-03-02T00:00:00Z\"\n\"2024/old-1.json\",\"2023-01-01T00:00:00Z\"\n"
    );
    let feed = provider::rolie_feed(&p, &entries, now);
    let e0 = &feed["feed"]["entry"][0];
    assert_eq!(e0["id"], "ACME-SA-2024:001");
    assert_eq!(e0["link"][3]["rel"], "signature");
    assert_eq!(
        e0["link"][0]["href"],
        "https://cl.example/.well-known/csaf/clear/2024/acme-sa-2024_001.json"
    );

    let agg = provider::aggregator(
        "https://coord.example",
        "lister",
        &publisher(),
        &[provider::ListedProvider {
            publisher: publisher(),
            metadata_url: p.metadata_url(),
            last_updated: now,
        }],
        now,
    );
    assert!(
        schema::validate(schema::Which::Aggregator, &agg).is_empty(),
        "{:?}",
        schema::validate(schema::Which::Aggregator, &agg)
    );
    assert_eq!(agg["aggregator"]["category"], "lister");
}

#[test]
fn an_advisory_is_named_by_its_publisher_and_tracking_id_at_its_version() {
    let out = import(&bytes(&advisory()), &ImportOptions::default()).unwrap();
    assert_eq!(out.sources.len(), 1);
    let s = &out.sources[0];
    assert_eq!(s.format, crate::exchange::SourceFormat::Csaf);
    assert_eq!(s.objects[0].key, "https://acme.example ACME-SA-2024:001");
    assert_eq!(s.objects[0].version, "2");
    assert!(!s.grouped);
}
