//! The OASIS `taxii2-client` (Python) drives a node over real TCP: discovery → collections →
//! paged objects → manifest → object → versions, anonymously (the public collection) and with
//! an API token as the Basic password (the network collection). The interpreter comes from
//! `ATALAYA_INTEROP_PYTHON` (set by `cargo xtask test`); without it this test fails rather than
//! pass silently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};

use atalaya_core::BulletinDraft;
use atalaya_core::access::Role;
use common::TestNode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn python() -> PathBuf {
    const HINT: &str = "run through `cargo xtask test`, which sets up the Python venv with the \
                        OASIS taxii2-client (tests/interop/requirements.txt) and sets \
                        ATALAYA_INTEROP_PYTHON to its interpreter";
    let Some(path) = std::env::var_os("ATALAYA_INTEROP_PYTHON") else {
        panic!("ATALAYA_INTEROP_PYTHON is not set: {HINT}");
    };
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "ATALAYA_INTEROP_PYTHON={} is not a file: {HINT}",
        path.display()
    );
    path
}

async fn publish(node: &TestNode, tlp: &str, title: &str, n: usize) {
    let indicators: Vec<Value> = (0..n)
        .map(|i| json!({"type": "domain", "value": format!("host{i}.evil.example")}))
        .collect();
    let draft: BulletinDraft = serde_json::from_value(json!({
        "tlp": tlp, "kind": "attack-warning", "title": title, "summary": "Watch out.",
        "severity": "high", "indicators": indicators,
    }))
    .unwrap();
    node.fed.publish(draft).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oasis_taxii2_client_pages_through_the_collections() {
    let python = python();
    let node = TestNode::start().await;
    publish(&node, "CLEAR", "Public warning", 40).await;
    publish(&node, "GREEN", "Community warning", 10).await;
    node.user("rita", Role::ReadOnly, true).await;
    let owner = node.fed.store.user_by_name("rita").await.unwrap().unwrap();
    let (token, _) = node
        .state
        .accounts
        .issue_token(
            Some(&owner),
            "taxii",
            &Role::ReadOnly.permissions().to_scopes(),
            None,
        )
        .await
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    let server = tokio::spawn(atalaya_web::serve(
        listener,
        node.state.clone(),
        cancel.clone(),
    ));

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/taxii_client.py");
    let url = format!("http://{addr}/taxii2/");
    let out = tokio::process::Command::new(python)
        .arg(script)
        .args([url.as_str(), "rita", token.as_str(), "9"])
        .output()
        .await
        .unwrap();
    cancel.cancel();
    let _ = server.await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "taxii_client.py failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(r["api_roots"], 1);
    assert_eq!(r["anonymous_collections"], json!(["public"]));
    assert_eq!(r["collections"], json!(["public", "network", "country-cl"]));
    // Public: the CLEAR marking, the node's identity, one report, 40 indicators; 43 in pages
    // of 9.
    let public = &r["public"];
    assert_eq!(public["objects"], 43, "{r}");
    assert_eq!(public["distinct"], 43);
    assert_eq!(public["pages"], 5);
    assert_eq!(public["reports"], json!(["Public warning"]));
    assert_eq!(
        public["tlps"],
        json!(["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"])
    );
    assert_eq!(public["manifest"], 43);
    assert_eq!(public["manifest_matches"], true);
    assert_eq!(
        (public["single"].clone(), public["versions"].clone()),
        (json!(1), json!(1))
    );
    // Network: the GREEN bulletin too (its report, 10 indicators and the GREEN marking).
    let network = &r["network"];
    assert_eq!(network["objects"], 55, "{r}");
    assert_eq!(network["distinct"], 55);
    assert_eq!(
        network["reports"],
        json!(["Community warning", "Public warning"])
    );
    assert_eq!(network["manifest_matches"], true);
}
