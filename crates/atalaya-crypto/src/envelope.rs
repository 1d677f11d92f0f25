//! Ed25519 signatures embedded in JSON envelopes.
//!
//! The signature lives in the envelope's `"sig"` member:
//! `{"alg": "ed25519", "key": "<key_ref>", "value": "<standard base64 of 64 bytes>"}`. It is a pure
//! Ed25519 signature over the RFC 8785 canonical form of the envelope with `"sig"` removed. The
//! `sig` object itself is not signed: `key` only selects the verifying key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde_json::{Map, Value};

use crate::canonical::{CanonicalError, canonicalize_object_excluding};
use crate::keys::PublicSigningKey;

/// Name of the envelope member that carries the signature.
pub const SIG_FIELD: &str = "sig";
/// The only supported signature algorithm.
pub const ALG_ED25519: &str = "ed25519";

/// Why an envelope could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The envelope has no canonical form.
    #[error("cannot canonicalize envelope: {0}")]
    Canonical(#[from] CanonicalError),
}

impl SignError {
    /// Stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Canonical(e) => e.code(),
        }
    }
}

/// Why an envelope signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The envelope has no `"sig"` member.
    #[error("envelope is not signed (no \"sig\" member)")]
    MissingSignature,
    /// The `"sig"` member is not in the expected shape.
    #[error("malformed envelope signature: {0}")]
    MalformedSignature(&'static str),
    /// The signature uses an algorithm other than Ed25519.
    #[error("unsupported signature algorithm {0:?}; only \"ed25519\" is accepted")]
    UnsupportedAlgorithm(String),
    /// The signature does not match the envelope and key.
    #[error("envelope signature does not verify")]
    BadSignature,
    /// The envelope has no canonical form.
    #[error("cannot canonicalize envelope: {0}")]
    Canonical(#[from] CanonicalError),
}

impl VerifyError {
    /// Stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingSignature => "missing_signature",
            Self::MalformedSignature(_) => "malformed_signature",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::BadSignature => "bad_signature",
            Self::Canonical(e) => e.code(),
        }
    }
}

/// Signs `envelope` in place, replacing any existing `"sig"` member.
pub fn sign_envelope(
    envelope: &mut Map<String, Value>,
    key: &SigningKey,
    key_ref: &str,
) -> Result<(), SignError> {
    envelope.remove(SIG_FIELD);
    let message = canonicalize_object_excluding(envelope, SIG_FIELD)?;
    let signature = key.sign(&message);
    let mut sig = Map::new();
    sig.insert("alg".to_owned(), Value::from(ALG_ED25519));
    sig.insert("key".to_owned(), Value::from(key_ref));
    sig.insert(
        "value".to_owned(),
        Value::from(STANDARD.encode(signature.to_bytes())),
    );
    envelope.insert(SIG_FIELD.to_owned(), Value::Object(sig));
    Ok(())
}

/// The `key` reference of the envelope's signature, used to look up the verifying key.
pub fn signature_key_ref(envelope: &Map<String, Value>) -> Result<&str, VerifyError> {
    sig_fields(envelope).map(|fields| fields.key)
}

/// Verifies the envelope's Ed25519 signature (strict verification) against `key`.
pub fn verify_envelope(
    envelope: &Map<String, Value>,
    key: &PublicSigningKey,
) -> Result<(), VerifyError> {
    let fields = sig_fields(envelope)?;
    if fields.alg != ALG_ED25519 {
        return Err(VerifyError::UnsupportedAlgorithm(fields.alg.to_owned()));
    }
    let bytes: [u8; 64] = STANDARD
        .decode(fields.value)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(VerifyError::MalformedSignature(
            "value is not base64 of 64 bytes",
        ))?;
    let signature = Signature::from_bytes(&bytes);
    let message = canonicalize_object_excluding(envelope, SIG_FIELD)?;
    key.verifying_key()
        .verify_strict(&message, &signature)
        .map_err(|_| VerifyError::BadSignature)
}

/// The string members of a `"sig"` object.
struct SigFields<'a> {
    alg: &'a str,
    key: &'a str,
    value: &'a str,
}

fn sig_fields(envelope: &Map<String, Value>) -> Result<SigFields<'_>, VerifyError> {
    let sig = envelope
        .get(SIG_FIELD)
        .ok_or(VerifyError::MissingSignature)?;
    let sig = sig
        .as_object()
        .ok_or(VerifyError::MalformedSignature("\"sig\" is not an object"))?;
    if sig.len() != 3 {
        return Err(VerifyError::MalformedSignature(
            "\"sig\" must have exactly the members alg, key and value",
        ));
    }
    let field = |name| {
        sig.get(name)
            .and_then(Value::as_str)
            .ok_or(VerifyError::MalformedSignature(
                "\"sig\" needs string members alg, key and value",
            ))
    };
    Ok(SigFields {
        alg: field("alg")?,
        key: field("key")?,
        value: field("value")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::canonicalize;
    use crate::keys::tests::test_keys;
    use proptest::prelude::*;
    use serde_json::json;

    const KEY_REF: &str = "cl-csirt#0123456789abcdef";

    fn sample() -> Map<String, Value> {
        let Value::Object(map) = json!({
            "kind": "bulletin",
            "id": "0190f3c2-7b1e-7000-8000-000000000001",
            "from": "cl-csirt",
            "created": 1_700_000_000,
            "body": {"title": "Ñandú \u{1f600}", "score": 7.5, "tags": ["a", "b"], "tlp": null},
        }) else {
            unreachable!()
        };
        map
    }

    fn signed_sample() -> Map<String, Value> {
        let mut envelope = sample();
        sign_envelope(&mut envelope, test_keys(1).signing_key(), KEY_REF).unwrap();
        envelope
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let keys = test_keys(1);
        let envelope = signed_sample();
        assert_eq!(signature_key_ref(&envelope).unwrap(), KEY_REF);
        assert_eq!(envelope["sig"]["alg"], "ed25519");
        verify_envelope(&envelope, &keys.verifying_key()).unwrap();

        // Through JSON text and back.
        let text = serde_json::to_string_pretty(&envelope).unwrap();
        let parsed: Map<String, Value> = serde_json::from_str(&text).unwrap();
        verify_envelope(&parsed, &keys.verifying_key()).unwrap();
    }

    #[test]
    fn signing_replaces_an_existing_signature() {
        let keys = test_keys(2);
        let mut envelope = signed_sample();
        sign_envelope(&mut envelope, keys.signing_key(), "other#1").unwrap();
        assert_eq!(signature_key_ref(&envelope).unwrap(), "other#1");
        verify_envelope(&envelope, &keys.verifying_key()).unwrap();
    }

    #[test]
    fn reordered_members_still_verify() {
        let envelope = signed_sample();
        let text = serde_json::to_string(&envelope).unwrap();
        // serde_json's Map is sorted; rebuild the text with members in reverse order.
        let members: Vec<String> = envelope
            .iter()
            .rev()
            .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).unwrap(), v))
            .collect();
        let reordered = format!("{{ {} }}", members.join(",\n  "));
        assert_ne!(reordered, text);
        let parsed: Map<String, Value> = serde_json::from_str(&reordered).unwrap();
        verify_envelope(&parsed, &test_keys(1).verifying_key()).unwrap();
    }

    #[test]
    fn different_key_fails() {
        let err = verify_envelope(&signed_sample(), &test_keys(2).verifying_key()).unwrap_err();
        assert_eq!(err, VerifyError::BadSignature);
        assert_eq!(err.code(), "bad_signature");
    }

    #[test]
    fn modified_content_fails() {
        let mut envelope = signed_sample();
        envelope.insert("from".into(), json!("ar-csirt"));
        let err = verify_envelope(&envelope, &test_keys(1).verifying_key()).unwrap_err();
        assert_eq!(err.code(), "bad_signature");
    }

    #[test]
    fn unsupported_algorithm_rejected() {
        let mut envelope = signed_sample();
        envelope["sig"]["alg"] = json!("rsa");
        let err = verify_envelope(&envelope, &test_keys(1).verifying_key()).unwrap_err();
        assert_eq!(err, VerifyError::UnsupportedAlgorithm("rsa".into()));
        assert_eq!(err.code(), "unsupported_algorithm");
    }

    #[test]
    fn missing_and_malformed_signatures() {
        let key = test_keys(1).verifying_key();
        let envelope = sample();
        assert_eq!(
            verify_envelope(&envelope, &key).unwrap_err().code(),
            "missing_signature"
        );
        assert_eq!(
            signature_key_ref(&envelope).unwrap_err().code(),
            "missing_signature"
        );

        let good = signed_sample()["sig"].clone();
        let mut short = good.clone();
        short["value"] = json!(STANDARD.encode([0u8; 63]));
        let mut extra = good.clone();
        extra["note"] = json!("x");
        let mut numeric_key = good.clone();
        numeric_key["key"] = json!(5);
        let bad_sigs = [
            json!("ed25519:abc"),
            json!({"alg": "ed25519", "key": KEY_REF}),
            json!({"alg": "ed25519", "key": KEY_REF, "value": "%%%"}),
            short,
            extra,
            numeric_key,
        ];
        for sig in bad_sigs {
            let mut envelope = sample();
            envelope.insert("sig".into(), sig.clone());
            let err = verify_envelope(&envelope, &key).unwrap_err();
            assert_eq!(err.code(), "malformed_signature", "{sig}");
        }
    }

    #[test]
    fn out_of_range_integer_cannot_be_signed() {
        let mut envelope = sample();
        envelope.insert("n".into(), json!(9_007_199_254_740_993u64));
        let err = sign_envelope(&mut envelope, test_keys(1).signing_key(), KEY_REF).unwrap_err();
        assert_eq!(err.code(), "integer_out_of_range");
    }

    /// What became of a signed envelope after flipping one byte of its compact JSON text.
    #[derive(Debug, PartialEq, Eq)]
    enum Flip {
        /// The text no longer parses as a JSON object.
        NotAnObject,
        /// Same canonical form (e.g. an equivalent escape): nothing was really changed.
        Equivalent,
        /// Only the unsigned `sig.key` changed; it just selects the verifying key.
        KeyRefOnly,
        /// The envelope changed and verification failed.
        Rejected,
    }

    fn flip_byte(envelope: &Map<String, Value>, i: usize, mask: u8) -> Flip {
        let original = canonicalize(&Value::Object(envelope.clone())).unwrap();
        let mut bytes = serde_json::to_vec(envelope).unwrap();
        bytes[i] ^= mask;
        let Ok(Value::Object(tampered)) = serde_json::from_slice::<Value>(&bytes) else {
            return Flip::NotAnObject;
        };
        if canonicalize(&Value::Object(tampered.clone())).ok() == Some(original) {
            return Flip::Equivalent;
        }
        let mut restored = tampered.clone();
        if let Some(sig) = restored.get_mut("sig").and_then(Value::as_object_mut) {
            sig.insert("key".into(), json!(KEY_REF));
        }
        if restored == *envelope {
            return Flip::KeyRefOnly;
        }
        let verified = verify_envelope(&tampered, &test_keys(1).verifying_key());
        assert!(
            verified.is_err(),
            "flip of byte {i} with {mask:#04x} still verifies"
        );
        Flip::Rejected
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let envelope = signed_sample();
        let len = serde_json::to_vec(&envelope).unwrap().len();
        let mut rejected = 0;
        for i in 0..len {
            for bit in 0..8 {
                if flip_byte(&envelope, i, 1 << bit) == Flip::Rejected {
                    rejected += 1;
                }
            }
        }
        // Make sure the check is not vacuous: many flips reach signature verification.
        assert!(
            rejected > len,
            "only {rejected} of {} flips reached verification",
            len * 8
        );
    }

    proptest! {
        #[test]
        fn any_single_byte_flip_is_rejected(index in any::<prop::sample::Index>(), mask in 1u8..) {
            let envelope = signed_sample();
            let len = serde_json::to_vec(&envelope).unwrap().len();
            flip_byte(&envelope, index.index(len), mask);
        }
    }
}
