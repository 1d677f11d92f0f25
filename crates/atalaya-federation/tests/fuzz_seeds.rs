//! The seed corpora of the `envelope_parse`, `request_signature` and `inbox_batch` fuzz targets
//! (`fuzz/seeds/<target>/`) are real, well-signed inputs that get deep into each reader: this
//! test rebuilds them from fixed keys and fails if the committed files drift. Rewrite them with
//! `ATALAYA_WRITE_FUZZ_SEEDS=1 cargo test -p atalaya-federation --test fuzz_seeds`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use atalaya_core::{EntropyRng, SeededEntropy};
use atalaya_crypto::{NodeKeys, RequestParts, sign_envelope, sign_request};
use atalaya_federation::inbox::read_batch;
use serde_json::{Value, json};

fn seeds_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target)
}

/// An envelope signed by `keys` as `origin` (not a key any fuzz target trusts).
fn envelope(origin: &str, id: &str, keys: &NodeKeys) -> Value {
    let mut e = json!({
        "v": 1, "id": id, "kind": "bulletin", "origin": origin,
        "created": "2026-12-07T11:00:00.000Z", "tlp": "GREEN",
        "audience": {"scope": "network"}, "embargo_until": null, "refs": [],
        "body": {"kind": "attack-warning", "title": "Phishing wave", "summary": "Credential phishing.",
                 "severity": "high", "indicators": [{"type": "domain", "value": "bank-login.example"}]}
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
    Value::Object(e)
}

fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    // Seed 99: a key no fuzz target holds (they use seeds 7 and 11), so nothing here verifies
    // there, and the targets can assert that nothing forged ever does.
    let entropy = SeededEntropy::new(99);
    let keys = NodeKeys::generate(&mut EntropyRng(&entropy));
    let bulletin = envelope("cl-csirt", "01936b2e-0000-7000-8000-00000000000a", &keys);
    let mut ack = envelope("mx-csirt", "01936b2e-0000-7000-8000-00000000000b", &keys);
    ack["kind"] = "acknowledgement".into();
    ack["body"] = json!({"bulletin": "01936b2e-0000-7000-8000-00000000000a",
                         "status": "received", "by": "duty@mx-csirt", "note": "seen"});
    let batch = serde_json::to_vec(&json!({"envelopes": [bulletin, ack, "x", {}]})).unwrap();

    let body = serde_json::to_vec(&json!({"envelopes": [bulletin]})).unwrap();
    let parts = RequestParts {
        method: "POST",
        authority: "node-b.example:8443",
        path: "/fed/v1/inbox",
        query: None,
        body: Some(&body),
    };
    let h = sign_request(
        &parts,
        keys.signing_key(),
        "cl-csirt#fuzz",
        1_700_000_000,
        &mut EntropyRng(&entropy),
    )
    .unwrap();
    let mut post = format!(
        "{}\n{}\n{}\n",
        h.signature_input,
        h.signature,
        h.content_digest.unwrap()
    )
    .into_bytes();
    post.extend_from_slice(&body);
    let get = RequestParts {
        method: "GET",
        body: None,
        ..parts
    };
    let g = sign_request(
        &get,
        keys.signing_key(),
        "cl-csirt#fuzz",
        1_700_000_000,
        &mut EntropyRng(&entropy),
    )
    .unwrap();
    let get = format!(
        "!{}, sig2=(\"@method\");created=1;keyid=\"x\"\nsig2=:AAAA:, {}\n\n",
        g.signature_input, g.signature
    )
    .into_bytes();

    vec![
        (
            "envelope_parse",
            "bulletin.json",
            serde_json::to_vec(&bulletin).unwrap(),
        ),
        (
            "envelope_parse",
            "acknowledgement.json",
            serde_json::to_vec(&ack).unwrap(),
        ),
        ("inbox_batch", "batch.json", batch),
        ("inbox_batch", "empty.json", b"{\"envelopes\": []}".to_vec()),
        ("request_signature", "post", post),
        ("request_signature", "get", get),
    ]
}

#[test]
fn the_committed_fuzz_seeds_are_current() {
    let write = std::env::var_os("ATALAYA_WRITE_FUZZ_SEEDS").is_some();
    for (target, name, bytes) in seeds() {
        let path = seeds_dir(target).join(name);
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (rewrite the seeds)", path.display()));
        assert!(
            committed == bytes,
            "{} drifted; rewrite the seeds",
            path.display()
        );
    }
    // The batch seed reads as a batch of four.
    let (_, _, batch) = &seeds()[2];
    assert_eq!(read_batch(batch).unwrap().envelopes.len(), 4);
}
