//! Request-signature verification of arbitrary headers and bodies against a fixed key: the
//! structured-field parsing (`sfv`) of `Signature-Input`, `Signature` and `Content-Digest`, the
//! checks on them, the signature, and the streamed body digest must never panic, and a request
//! the fuzzer did not sign must never verify.
//!
//! Input: four fields separated by `\n`: Signature-Input, Signature, Content-Digest, body (the
//! body is the rest, newlines included). An empty Content-Digest field means no header; the
//! first byte of the input, when it is `!`, makes the request a GET without a body.
#![no_main]
use std::sync::LazyLock;

use atalaya_crypto::{
    IncomingSignature, NodeKeys, PublicSigningKey, RequestParts, verify_request,
    verify_request_head,
};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;
const KEY_REF: &str = "cl-csirt#fuzz";

static KEY: LazyLock<NodeKeys> = LazyLock::new(|| {
    let entropy = atalaya_core::SeededEntropy::new(7);
    NodeKeys::generate(&mut atalaya_core::EntropyRng(&entropy))
});

fn lookup(key_ref: &str) -> Option<PublicSigningKey> {
    (key_ref == KEY_REF).then(|| KEY.verifying_key())
}

fuzz_target!(|data: &[u8]| {
    let (get, data) = match data.split_first() {
        Some((b'!', rest)) => (true, rest),
        _ => (false, data),
    };
    let mut fields = data.splitn(4, |&b| b == b'\n');
    let input = fields.next().and_then(|f| std::str::from_utf8(f).ok());
    let signature = fields.next().and_then(|f| std::str::from_utf8(f).ok());
    let digest = fields
        .next()
        .and_then(|f| std::str::from_utf8(f).ok())
        .filter(|d| !d.is_empty());
    let body = fields.next().unwrap_or_default();
    let parts = RequestParts {
        method: if get { "GET" } else { "POST" },
        authority: "node-b.example:8443",
        path: "/fed/v1/inbox",
        query: None,
        body: (!get).then_some(body),
    };
    let headers = IncomingSignature {
        signature_input: input,
        signature,
        content_digest: digest,
    };
    let whole = verify_request(&parts, &headers, NOW, 300, lookup);
    // The two-step check (headers, then the streamed body) agrees with the one-shot one.
    let streamed = verify_request_head(&parts.head(), &headers, NOW, 300, lookup).and_then(|v| {
        if let Some(d) = v.body_digest {
            let mut check = d.check();
            for chunk in body.chunks(7) {
                check.update(chunk);
            }
            check.finish()?;
        }
        Ok(v)
    });
    assert_eq!(whole.is_ok(), streamed.is_ok(), "{whole:?} / {streamed:?}");
    // Only signatures made with the fixed key verify, and the fuzzer does not have it.
    assert!(whole.is_err(), "a forged request verified: {whole:?}");
});
