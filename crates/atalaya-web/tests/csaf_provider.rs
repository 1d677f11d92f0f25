//! The node's CSAF provider walked like a CSAF downloader would (CSAF §7.3):
//! provider-metadata.json → ROLIE feed and index.txt/changes.csv → each document → its
//! SHA-256/SHA-512 files and its OpenPGP signature, verified with the real gpg against the key
//! the metadata points at. Every document is valid CSAF (schema and mandatory tests), and no
//! file ever shows what is not public (a GREEN advisory, a CLEAR bulletin carrying a GREEN
//! CSAF document, an attack warning).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::process::Command;
use std::sync::Arc;

use atalaya_core::{BulletinDraft, EntropyRng, SeededEntropy, Tlp};
use atalaya_crypto::OpenPgpSigner;
use atalaya_formats::csaf;
use atalaya_formats::exchange::ImportOptions;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestNode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};
use tower::ServiceExt;

const BASE: &str = "https://atalaya.example.cl";
const SECRET: &str = "GREEN-ONLY-MARKER";

async fn fetch(app: &Router, url: &str) -> (StatusCode, Vec<u8>, String) {
    let path = url.strip_prefix(BASE).unwrap_or(url);
    let resp = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20)
        .await
        .unwrap();
    (status, bytes.to_vec(), ct)
}

fn draft(v: Value) -> BulletinDraft {
    serde_json::from_value(v).unwrap()
}

fn csaf_doc(label: &str, id: &str) -> Value {
    json!({
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "distribution": {"tlp": {"label": label}},
            "notes": [{"category": "summary", "text": format!("Vendor advisory {id}.")}],
            "publisher": {"category": "vendor", "name": "ACME", "namespace": "https://acme.example"},
            "title": format!("ACME advisory {id}"),
            "tracking": {
                "current_release_date": "2026-11-01T00:00:00Z",
                "id": id,
                "initial_release_date": "2026-11-01T00:00:00Z",
                "revision_history": [{"date": "2026-11-01T00:00:00Z", "number": "1", "summary": "first"}],
                "status": "final",
                "version": "1"
            }
        },
        "product_tree": {"full_product_names": [{"name": "ACME Router 7", "product_id": "R7"}]},
        "vulnerabilities": [{"cve": "CVE-2026-1111", "notes": [{"category": "description", "text": "x"}],
            "product_status": {"known_affected": ["R7"]}}]
    })
}

async fn publish_fixtures(node: &TestNode) {
    let advisory = json!({
        "tlp": "CLEAR", "kind": "vulnerability-advisory", "severity": "high",
        "title": "Widget server: remote code execution",
        "summary": "Update the widget server.",
        "body": "Details.\n\n## Affected products\n\n- Widget server 3.1\n",
        "indicators": [{"type": "cve", "value": "CVE-2026-0001"}],
        "references": ["https://vendor.example/advisory"],
    });
    let (first, _) = node.fed.publish(draft(advisory.clone())).await.unwrap();
    node.clock.advance_millis(3_600_000);
    let mut revision = advisory;
    revision["title"] = json!("Widget server: remote code execution (fix available)");
    revision["supersedes"] = json!(first.id);
    node.fed.publish(draft(revision)).await.unwrap();
    node.clock.advance_millis(60_000);

    // An advisory carried as CSAF (imported), published unchanged.
    let imported = csaf::import(
        &serde_json::to_vec(&csaf_doc("WHITE", "ACME-2026-7")).unwrap(),
        &ImportOptions::default(),
    )
    .unwrap();
    node.fed
        .publish(imported.bulletins.into_iter().next().unwrap())
        .await
        .unwrap();
    node.clock.advance_millis(60_000);

    // What must never appear.
    node.fed
        .publish(draft(json!({
            "tlp": "GREEN", "kind": "vulnerability-advisory", "severity": "high",
            "title": format!("{SECRET} advisory"), "summary": SECRET,
            "indicators": [{"type": "cve", "value": "CVE-2026-0666"}],
        })))
        .await
        .unwrap();
    let mut relabelled = csaf::import(
        &serde_json::to_vec(&csaf_doc("GREEN", SECRET)).unwrap(),
        &ImportOptions::default(),
    )
    .unwrap()
    .bulletins
    .remove(0);
    relabelled.tlp = Tlp::Clear;
    node.fed.publish(relabelled).await.unwrap();
    node.fed
        .publish(draft(json!({
            "tlp": "CLEAR", "kind": "attack-warning", "severity": "high",
            "title": "ATTACK-WARNING-MARKER", "summary": "Not an advisory.",
        })))
        .await
        .unwrap();
}

fn gpg(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    match Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--no-tty", "--no-autostart"])
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("cannot run gpg ({e}): apt-get install gnupg"),
    }
}

#[tokio::test]
async fn a_csaf_downloader_walks_the_provider_and_verifies_everything() {
    let node = TestNode::start().await;
    let signer = OpenPgpSigner::generate(
        &mut EntropyRng(&SeededEntropy::new(99)),
        u32::try_from(common::t0().unix_seconds()).unwrap() - 86_400,
    )
    .unwrap();
    let state = node.state.clone().with_csaf_signer(Arc::new(signer));
    let app = atalaya_web::router(state);
    publish_fixtures(&node).await;

    let mut seen: Vec<String> = Vec::new();

    // 1. provider-metadata.json
    let (status, bytes, ct) = fetch(
        &app,
        &format!("{BASE}/.well-known/csaf/provider-metadata.json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("application/json"), "{ct}");
    seen.push(String::from_utf8(bytes.clone()).unwrap());
    let meta: Value = serde_json::from_slice(&bytes).unwrap();
    let problems = csaf::schema::validate(csaf::schema::Which::Provider, &meta);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(meta["role"], "csaf_trusted_provider");
    assert_eq!(
        meta["canonical_url"],
        format!("{BASE}/.well-known/csaf/provider-metadata.json")
    );

    // 2. The public key, into a throw-away GnuPG home.
    let key_url = meta["public_openpgp_keys"][0]["url"].as_str().unwrap();
    let (status, key, _) = fetch(&app, key_url).await;
    assert_eq!(status, StatusCode::OK);
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        home.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    std::fs::write(home.path().join("key.asc"), &key).unwrap();
    let out = gpg(
        home.path(),
        &["--import", home.path().join("key.asc").to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 3. The ROLIE feed.
    let feed_url = meta["distributions"][0]["rolie"]["feeds"][0]["url"]
        .as_str()
        .unwrap();
    assert_eq!(
        meta["distributions"][0]["rolie"]["feeds"][0]["tlp_label"],
        "WHITE"
    );
    let (status, bytes, _) = fetch(&app, feed_url).await;
    assert_eq!(status, StatusCode::OK);
    seen.push(String::from_utf8(bytes.clone()).unwrap());
    let feed: Value = serde_json::from_slice(&bytes).unwrap();
    let entries = feed["feed"]["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{feed:#}");

    // 4. index.txt and changes.csv agree with the feed.
    let dir = meta["distributions"][0]["directory_url"].as_str().unwrap();
    let (_, index, _) = fetch(&app, &format!("{dir}index.txt")).await;
    let index = String::from_utf8(index).unwrap();
    let (_, changes, _) = fetch(&app, &format!("{dir}changes.csv")).await;
    let changes = String::from_utf8(changes).unwrap();
    seen.push(index.clone());
    seen.push(changes.clone());
    assert_eq!(index.lines().count(), 2, "{index}");
    assert_eq!(changes.lines().count(), 2, "{changes}");
    // Newest first: the revised advisory was released last.
    assert!(
        changes.lines().next().unwrap().contains("cl-csirt-"),
        "{changes}"
    );

    // The folder listings (§7.1.14) name the year folders and the files.
    let (status, listing, ct) = fetch(&app, dir).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    let listing = String::from_utf8(listing).unwrap();
    assert!(
        listing.contains("href=\"2026/\"") && listing.contains("href=\"index.txt\""),
        "{listing}"
    );
    let first = index.lines().next().unwrap();
    let (year, file) = first.split_once('/').unwrap();
    let (status, year_listing, _) = fetch(&app, &format!("{dir}{year}/")).await;
    assert_eq!(status, StatusCode::OK);
    let year_listing = String::from_utf8(year_listing).unwrap();
    assert!(
        year_listing.contains(&format!("href=\"{file}.asc\"")),
        "{year_listing}"
    );
    seen.push(listing);
    seen.push(year_listing);
    assert_eq!(
        fetch(&app, &format!("{dir}1999/")).await.0,
        StatusCode::NOT_FOUND
    );

    // 5. Each document, its hashes and its signature.
    for e in entries {
        let links = e["link"].as_array().unwrap();
        let href = |rel: &str, suffix: &str| {
            links
                .iter()
                .find(|l| l["rel"] == rel && l["href"].as_str().unwrap().ends_with(suffix))
                .unwrap()["href"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let url = href("self", ".json");
        let rel = url.strip_prefix(dir).unwrap();
        assert!(index.lines().any(|l| l == rel), "{rel} not in index.txt");
        assert!(
            changes.contains(&format!("\"{rel}\"")),
            "{rel} not in changes.csv"
        );
        let (status, doc_bytes, _) = fetch(&app, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        seen.push(String::from_utf8(doc_bytes.clone()).unwrap());
        let doc: Value = serde_json::from_slice(&doc_bytes).unwrap();
        // Valid CSAF, and its file name is its tracking id's (§5.1).
        csaf::import(&doc_bytes, &ImportOptions::default()).unwrap();
        assert!(url.ends_with(&csaf::file_name(
            doc["document"]["tracking"]["id"].as_str().unwrap()
        )));

        let (_, sha256, _) = fetch(&app, &href("hash", ".sha256")).await;
        let (_, sha512, _) = fetch(&app, &href("hash", ".sha512")).await;
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let sha256 = String::from_utf8(sha256).unwrap();
        let sha512 = String::from_utf8(sha512).unwrap();
        assert_eq!(
            sha256.split_whitespace().next().unwrap(),
            hex(&Sha256::digest(&doc_bytes))
        );
        assert_eq!(
            sha512.split_whitespace().next().unwrap(),
            hex(&Sha512::digest(&doc_bytes))
        );

        let (status, asc, ct) = fetch(&app, &href("signature", ".asc")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ct, "application/pgp-signature");
        let f = home.path().join("doc.json");
        std::fs::write(&f, &doc_bytes).unwrap();
        std::fs::write(home.path().join("doc.json.asc"), &asc).unwrap();
        let out = gpg(
            home.path(),
            &[
                "--verify",
                home.path().join("doc.json.asc").to_str().unwrap(),
                f.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The revision is one document with both revisions; the carried one is unchanged.
    let docs: Vec<Value> = seen
        .iter()
        .filter_map(|s| serde_json::from_str::<Value>(s).ok())
        .filter(|v| v.get("document").is_some())
        .collect();
    assert!(docs.contains(&csaf_doc("WHITE", "ACME-2026-7")));
    let ours = docs
        .iter()
        .find(|d| d["document"]["publisher"]["namespace"] == BASE)
        .unwrap();
    assert_eq!(ours["document"]["tracking"]["version"], "2");
    assert_eq!(ours["document"]["category"], "csaf_security_advisory");

    // 6. Nothing that is not public, anywhere.
    for body in &seen {
        assert!(!body.contains(SECRET), "{body}");
        assert!(!body.contains("ATTACK-WARNING-MARKER"), "{body}");
        assert!(!body.contains("CVE-2026-0666"), "{body}");
    }
    // Nor under a guessed name.
    let (status, _, _) = fetch(&app, &format!("{dir}2026/{}", csaf::file_name(SECRET))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_coordinator_lists_the_members_providers() {
    let node = TestNode::start().await;
    let (status, bytes, _) = fetch(&node.app, "/.well-known/csaf-aggregator/aggregator.json").await;
    assert_eq!(status, StatusCode::OK);
    let agg: Value = serde_json::from_slice(&bytes).unwrap();
    let problems = csaf::schema::validate(csaf::schema::Which::Aggregator, &agg);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(agg["aggregator"]["category"], "lister");
    assert_eq!(
        agg["csaf_providers"][0]["metadata"]["url"],
        format!("{BASE}/.well-known/csaf/provider-metadata.json")
    );
}

#[tokio::test]
async fn without_a_key_the_provider_serves_hashes_but_no_signatures() {
    let node = TestNode::start().await;
    publish_fixtures(&node).await;
    let (_, bytes, _) = fetch(&node.app, "/.well-known/csaf/provider-metadata.json").await;
    let meta: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(meta["role"], "csaf_provider");
    assert!(meta.get("public_openpgp_keys").is_none());
    let (_, bytes, _) = fetch(&node.app, "/.well-known/csaf/feed-tlp-clear.json").await;
    let feed: Value = serde_json::from_slice(&bytes).unwrap();
    let url = feed["feed"]["entry"][0]["link"][0]["href"]
        .as_str()
        .unwrap();
    assert_eq!(
        fetch(&node.app, &format!("{url}.asc")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fetch(&node.app, &format!("{url}.sha256")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        fetch(&node.app, "/.well-known/csaf/openpgp/ABCD.asc")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}
