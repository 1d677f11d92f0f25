//! Interop with independent implementations (DESIGN: envelope signatures must verify with an
//! independent RFC 8785 implementation plus any Ed25519 library, request signatures with an
//! independent RFC 9421 implementation, both ways; sealed bodies must open with an independent
//! age implementation, both ways).
//!
//! The other side is `tests/interop/interop.py` (Python `rfc8785`, `cryptography`,
//! `http-message-signatures` and `pyrage`, pinned in `tests/interop/requirements.txt`). The
//! Python interpreter comes from `ATALAYA_INTEROP_PYTHON`, which `cargo xtask test` sets to its
//! venv. Without it these tests fail rather than pass silently.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use atalaya_crypto::{
    IncomingSignature, PublicSealingKey, PublicSigningKey, RequestParts, VerifiedRequest,
    age_identity_string, open, seal, sign_envelope, sign_request, verify_envelope, verify_request,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use rand_core::{CryptoRng, RngCore};
use serde_json::{Map, Value, json};
use x25519_dalek::{PublicKey, StaticSecret};

const KEY_REF: &str = "cl-csirt#0123456789abcdef";
/// A fixed creation time in the past (the Python verifier refuses times in its future).
const CREATED: i64 = 1_700_000_000;
const SKEW: i64 = 300;

fn python() -> PathBuf {
    const HINT: &str = "run through `cargo xtask test`, which sets up the Python venv with the \
                        independent implementations (tests/interop/requirements.txt) and sets \
                        ATALAYA_INTEROP_PYTHON to its interpreter";
    let Some(path) = std::env::var_os("ATALAYA_INTEROP_PYTHON") else {
        panic!("ATALAYA_INTEROP_PYTHON is not set: {HINT}");
    };
    let path = PathBuf::from(path);
    let executable = std::fs::metadata(&path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false);
    assert!(
        executable,
        "ATALAYA_INTEROP_PYTHON={} is not an executable file: {HINT}",
        path.display()
    );
    path
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/interop.py")
}

/// Runs `interop.py` with `args`; panics unless it exits with 0 (valid) or 1 (rejected).
fn run_python(args: &[&str]) -> (bool, String) {
    let output: Output = Command::new(python())
        .arg(script())
        .args(args)
        .output()
        .expect("cannot run the interop Python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    match output.status.code() {
        Some(0) => (true, text),
        Some(1) => (false, text),
        _ => panic!("interop.py {args:?} failed ({}):\n{text}", output.status),
    }
}

fn signing_key() -> SigningKey {
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    SigningKey::from_bytes(&seed)
}

fn public_b64() -> String {
    PublicSigningKey::new(signing_key().verifying_key()).to_b64()
}

fn secret_b64() -> String {
    STANDARD.encode(signing_key().to_bytes())
}

/// Deterministic nonce source (splitmix64); NOT cryptographically secure.
struct TestRng(u64);

impl RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes()[..chunk.len()]);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for TestRng {}

/// An envelope exercising RFC 8785's hard parts: key order by UTF-16 code units (U+1F600 is
/// a surrogate pair and sorts before U+FF61), string escaping and ECMAScript number printing.
fn sample_envelope() -> Map<String, Value> {
    let Value::Object(map) = json!({
        "kind": "bulletin",
        "id": "0190f3c2-7b1e-7000-8000-000000000001",
        "from": "cl-csirt",
        "created": 1_700_000_000,
        "body": {
            "title": "Ñandú — alerta \u{1f600} 漢字",
            "escapes": "quote \" backslash \\ tab \t nl \n nul \u{0} del \u{7f} ls \u{2028}",
            "numbers": [9.8, 1e-7, 1.0, -0.0, 0.1, 1e21, 1.5e300, 123456789.125, -42,
                        9_007_199_254_740_991_i64, 0],
            "nested": {"b": [true, false, null, {}, []], "a": {"z": {"y": "deep"}}},
            "\u{ff61}": "halfwidth ideographic full stop",
            "\u{1f600}": "emoji key",
            "é": 1,
            "e": 2,
            "": "empty key",
        },
    }) else {
        unreachable!()
    };
    map
}

fn write_json(dir: &Path, name: &str, value: &impl serde::Serialize) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn rust_signed_envelope_verifies_in_python() {
    let dir = tempfile::tempdir().unwrap();
    let mut envelope = sample_envelope();
    sign_envelope(&mut envelope, &signing_key(), KEY_REF).unwrap();

    let file = write_json(dir.path(), "signed.json", &envelope);
    let (ok, out) = run_python(&["verify-envelope", &file, &public_b64()]);
    assert!(ok, "Python rejected a Rust-signed envelope:\n{out}");

    // Compact serialization is just as good: the signature is over the canonical form.
    let compact = dir.path().join("compact.json");
    std::fs::write(&compact, serde_json::to_vec(&envelope).unwrap()).unwrap();
    let (ok, out) = run_python(&["verify-envelope", compact.to_str().unwrap(), &public_b64()]);
    assert!(ok, "{out}");

    type Tamper = fn(&mut Map<String, Value>);
    let tampered_cases: [(&str, Tamper); 3] = [
        ("string", |e| e["body"]["title"] = json!("Nandu")),
        ("float", |e| e["body"]["numbers"][0] = json!(9.81)),
        ("added member", |e| {
            e.insert("extra".into(), json!(1));
        }),
    ];
    for (what, tamper) in tampered_cases {
        let mut tampered = envelope.clone();
        tamper(&mut tampered);
        let file = write_json(dir.path(), "tampered.json", &tampered);
        let (ok, out) = run_python(&["verify-envelope", &file, &public_b64()]);
        assert!(
            !ok,
            "Python accepted an envelope with a tampered {what}:\n{out}"
        );
    }

    // Another key does not verify either.
    let other = PublicSigningKey::new(SigningKey::from_bytes(&[9; 32]).verifying_key()).to_b64();
    let (ok, _) = run_python(&["verify-envelope", &file, &other]);
    assert!(!ok);
}

#[test]
fn python_signed_envelope_verifies_in_rust() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_json(dir.path(), "unsigned.json", &sample_envelope());
    let output = dir.path().join("signed.json");
    let (ok, out) = run_python(&[
        "sign-envelope",
        &input,
        output.to_str().unwrap(),
        &secret_b64(),
        KEY_REF,
    ]);
    assert!(ok, "{out}");

    let text = std::fs::read_to_string(&output).unwrap();
    let envelope: Map<String, Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(
        atalaya_crypto::signature_key_ref(&envelope).unwrap(),
        KEY_REF
    );
    let key = PublicSigningKey::from_b64(&public_b64()).unwrap();
    verify_envelope(&envelope, &key).unwrap_or_else(|e| {
        panic!("Rust rejected a Python-signed envelope ({e}):\n{text}");
    });

    // Python's signature is byte-identical to ours (Ed25519 is deterministic), which pins the
    // canonical form down completely.
    let mut ours = envelope.clone();
    sign_envelope(&mut ours, &signing_key(), KEY_REF).unwrap();
    assert_eq!(ours["sig"], envelope["sig"]);

    let mut tampered = envelope;
    tampered["body"]["numbers"][1] = json!(1e-8);
    assert_eq!(
        verify_envelope(&tampered, &key).unwrap_err().code(),
        "bad_signature"
    );
}

/// A request as exchanged with `interop.py`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct JsonRequest {
    method: String,
    url: String,
    headers: Map<String, Value>,
    body: Option<String>,
}

impl JsonRequest {
    fn new(method: &str, url: &str, body: Option<&[u8]>) -> Self {
        Self {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Map::new(),
            body: body.map(|b| STANDARD.encode(b)),
        }
    }

    fn body_bytes(&self) -> Option<Vec<u8>> {
        self.body.as_ref().map(|b| STANDARD.decode(b).unwrap())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }

    /// The request's parts, splitting an absolute `https://authority/path?query` URL.
    fn with_parts<R>(&self, f: impl FnOnce(&RequestParts<'_>) -> R) -> R {
        let rest = self.url.split_once("://").unwrap().1;
        let (authority, path_and_query) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let body = self.body_bytes();
        f(&RequestParts {
            method: &self.method,
            authority,
            path,
            query,
            body: body.as_deref(),
        })
    }

    fn sign_with_rust(&mut self, seed: u64) {
        let headers = self.with_parts(|parts| {
            sign_request(parts, &signing_key(), KEY_REF, CREATED, &mut TestRng(seed)).unwrap()
        });
        if let Some(digest) = headers.content_digest {
            self.headers.insert("Content-Digest".into(), digest.into());
        }
        self.headers
            .insert("Signature-Input".into(), headers.signature_input.into());
        self.headers
            .insert("Signature".into(), headers.signature.into());
    }

    fn verify_with_rust(&self) -> Result<VerifiedRequest, atalaya_crypto::RequestSigError> {
        let incoming = IncomingSignature {
            signature_input: self.header("Signature-Input"),
            signature: self.header("Signature"),
            content_digest: self.header("Content-Digest"),
        };
        let key = PublicSigningKey::from_b64(&public_b64()).unwrap();
        self.with_parts(|parts| {
            verify_request(parts, &incoming, CREATED + 1, SKEW, |k| {
                (k == KEY_REF).then_some(key)
            })
        })
    }

    fn verify_with_python(&self, dir: &Path) -> (bool, String) {
        let file = write_json(dir, "request.json", self);
        run_python(&["verify-request", &file, &public_b64()])
    }
}

fn sample_requests() -> Vec<JsonRequest> {
    vec![
        JsonRequest::new(
            "POST",
            "https://Node-B.example:8443/fed/v1/inbox?after=1&limit=5",
            Some("{\"kind\":\"bulletin\",\"title\":\"Ñandú\"}".as_bytes()),
        ),
        JsonRequest::new("POST", "https://node-b.example/fed/v1/inbox", Some(b"")),
        JsonRequest::new(
            "GET",
            "https://node-b.example/fed/v1/outbox?after=0190f3c2&limit=50&q=a%20b%2Fc",
            None,
        ),
        JsonRequest::new("GET", "https://node-b.example/fed/v1/outbox", None),
        JsonRequest::new("GET", "https://node-b.example/fed/v1/outbox?", None),
        JsonRequest::new("GET", "https://[2001:db8::1]:8443/fed/v1/roster", None),
    ]
}

#[test]
fn rust_signed_requests_verify_in_python() {
    let dir = tempfile::tempdir().unwrap();
    for (i, mut request) in sample_requests().into_iter().enumerate() {
        request.sign_with_rust(i as u64);
        request.verify_with_rust().unwrap();
        let (ok, out) = request.verify_with_python(dir.path());
        assert!(
            ok,
            "Python rejected a Rust-signed request {request:#?}:\n{out}"
        );
    }

    // RFC 9421 §2.2.3 / RFC 9110 §4.2.3: `@authority` omits the scheme's default port. Python
    // derives it from the URL (dropping `:443`); our callers pass it already normalized (as
    // `url::Url::port()` does), so a Rust signature over `node-b.example` matches.
    let mut request = JsonRequest::new("GET", "https://node-b.example/fed/v1/outbox", None);
    request.sign_with_rust(7);
    request.url = "https://node-b.example:443/fed/v1/outbox".into();
    let (ok, out) = request.verify_with_python(dir.path());
    assert!(ok, "{out}");

    // A key reference that needs escaping as a Structured Field String.
    let mut request = JsonRequest::new("GET", "https://node-b.example/fed/v1/outbox", None);
    let headers = request.with_parts(|parts| {
        sign_request(
            parts,
            &signing_key(),
            "we\"ird\\ref",
            CREATED,
            &mut TestRng(8),
        )
        .unwrap()
    });
    assert!(headers.signature_input.contains(r#"keyid="we\"ird\\ref""#));
    request
        .headers
        .insert("Signature-Input".into(), headers.signature_input.into());
    request
        .headers
        .insert("Signature".into(), headers.signature.into());
    let (ok, out) = request.verify_with_python(dir.path());
    assert!(ok, "{out}");

    let mut post = sample_requests().remove(0);
    post.sign_with_rust(1);
    type Tamper = fn(&mut JsonRequest);
    let tampered_cases: [(&str, Tamper); 6] = [
        ("body", |r| {
            r.body = Some(STANDARD.encode(b"{\"kind\":\"other\"}"))
        }),
        ("body and digest", |r| {
            let body = b"{\"kind\":\"other\"}";
            r.body = Some(STANDARD.encode(body));
            let digest = atalaya_crypto::content_digest(body);
            r.headers.insert("Content-Digest".into(), digest.into());
        }),
        ("method", |r| r.method = "PUT".into()),
        ("path", |r| r.url = r.url.replace("/inbox", "/admin")),
        ("query", |r| r.url = r.url.replace("after=1", "after=0")),
        ("authority", |r| r.url = r.url.replace("Node-B", "Node-C")),
    ];
    for (what, tamper) in tampered_cases {
        let mut tampered = post.clone();
        tamper(&mut tampered);
        assert!(tampered.verify_with_rust().is_err(), "{what}");
        let (ok, out) = tampered.verify_with_python(dir.path());
        assert!(
            !ok,
            "Python accepted a request with a tampered {what}:\n{out}"
        );
    }
}

#[test]
fn python_signed_requests_verify_in_rust() {
    let dir = tempfile::tempdir().unwrap();
    for request in sample_requests() {
        let input = write_json(dir.path(), "unsigned.json", &request);
        let output = dir.path().join("signed.json");
        let created = CREATED.to_string();
        let (ok, out) = run_python(&[
            "sign-request",
            &input,
            output.to_str().unwrap(),
            &secret_b64(),
            KEY_REF,
            "--created",
            &created,
        ]);
        assert!(ok, "{out}");
        let text = std::fs::read_to_string(&output).unwrap();
        let signed: JsonRequest = serde_json::from_str(&text).unwrap();

        let verified = signed.verify_with_rust().unwrap_or_else(|e| {
            panic!("Rust rejected a Python-signed request ({e}):\n{text}");
        });
        assert_eq!(verified.key_ref, KEY_REF);
        assert_eq!(verified.created, CREATED);
        assert_eq!(verified.nonce.len(), 22, "{text}");
        assert_eq!(
            signed.header("Content-Digest").is_some(),
            request.body.is_some(),
            "{text}"
        );

        // Python's own verifier agrees with itself, and tampering breaks ours.
        assert!(signed.verify_with_python(dir.path()).0);
        let mut tampered = signed.clone();
        tampered.method = if tampered.method == "GET" {
            "HEAD"
        } else {
            "PUT"
        }
        .into();
        assert_eq!(
            tampered.verify_with_rust().unwrap_err().code(),
            "bad_signature"
        );
    }
}

// --- sealed bodies (age) -------------------------------------------------------------------

/// Fixed X25519 sealing secrets for nodes `n` = 0, 1, 2.
fn sealing_secret(n: u8) -> StaticSecret {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(53).wrapping_add(n.wrapping_mul(101));
    }
    StaticSecret::from(bytes)
}

fn sealing_public(n: u8) -> PublicSealingKey {
    PublicSealingKey::new(PublicKey::from(&sealing_secret(n)))
}

/// Sizes around the 64 KiB chunk boundaries of the age payload.
const SEALED_SIZES: [usize; 7] = [0, 1, 1000, 65_535, 65_536, 65_537, 200_000];

fn sample_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

#[test]
fn rust_sealed_bodies_open_with_pyrage() {
    let dir = tempfile::tempdir().unwrap();
    let sealed_path = dir.path().join("sealed.age");
    let opened_path = dir.path().join("opened.bin");
    let (sealed_file, opened_file) = (sealed_path.to_str().unwrap(), opened_path.to_str().unwrap());
    let recipients = [sealing_public(0), sealing_public(1)];
    let identity = age_identity_string(&sealing_secret(1));

    for (i, len) in SEALED_SIZES.into_iter().enumerate() {
        let plaintext = sample_bytes(len);
        let sealed = seal(&plaintext, &recipients, &mut TestRng(100 + i as u64)).unwrap();
        std::fs::write(&sealed_path, &sealed).unwrap();
        let (ok, out) = run_python(&["age-decrypt", sealed_file, opened_file, &identity]);
        assert!(
            ok,
            "pyrage refused a Rust-sealed body of {len} bytes:\n{out}"
        );
        assert_eq!(
            std::fs::read(&opened_path).unwrap(),
            plaintext,
            "{len} bytes"
        );
    }

    // pyrage refuses what it should: a non-recipient, a flipped payload byte, a truncation.
    let sealed = seal(b"tlp:amber", &recipients, &mut TestRng(200)).unwrap();
    std::fs::write(&sealed_path, &sealed).unwrap();
    let outsider = age_identity_string(&sealing_secret(2));
    let (ok, out) = run_python(&["age-decrypt", sealed_file, opened_file, &outsider]);
    assert!(!ok, "pyrage opened with a non-recipient identity:\n{out}");
    let mut tampered = sealed.clone();
    *tampered.last_mut().unwrap() ^= 1;
    std::fs::write(&sealed_path, &tampered).unwrap();
    let (ok, out) = run_python(&["age-decrypt", sealed_file, opened_file, &identity]);
    assert!(!ok, "pyrage accepted a tampered payload:\n{out}");
    std::fs::write(&sealed_path, &sealed[..sealed.len() - 1]).unwrap();
    let (ok, out) = run_python(&["age-decrypt", sealed_file, opened_file, &identity]);
    assert!(!ok, "pyrage accepted a truncated payload:\n{out}");
}

#[test]
fn pyrage_sealed_bodies_open_in_rust() {
    let dir = tempfile::tempdir().unwrap();
    let plain_path = dir.path().join("plain.bin");
    let sealed_path = dir.path().join("sealed.age");
    let recipients = [
        sealing_public(0).to_age_recipient(),
        sealing_public(1).to_age_recipient(),
    ];

    for len in SEALED_SIZES {
        let plaintext = sample_bytes(len);
        std::fs::write(&plain_path, &plaintext).unwrap();
        let (ok, out) = run_python(&[
            "age-encrypt",
            plain_path.to_str().unwrap(),
            sealed_path.to_str().unwrap(),
            &recipients[0],
            &recipients[1],
        ]);
        assert!(ok, "{out}");
        let sealed = std::fs::read(&sealed_path).unwrap();
        for n in [0, 1] {
            let opened = open(&sealed, &sealing_secret(n)).unwrap_or_else(|e| {
                panic!("Rust refused a pyrage-sealed body of {len} bytes for node {n} ({e})")
            });
            assert_eq!(opened, plaintext, "{len} bytes, node {n}");
        }
        let err = open(&sealed, &sealing_secret(2)).unwrap_err();
        assert_eq!(err.code(), "no_matching_recipient");
    }
}
