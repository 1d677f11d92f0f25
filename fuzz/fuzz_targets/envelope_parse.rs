//! Envelope parsing (`ParsedEnvelope` from bytes) must never panic or loop, and whatever it
//! accepts must say who signed it without panicking either.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = atalaya_core::Envelope::parse(data) {
        let _ = atalaya_crypto::signature_key_ref(&parsed.object);
        let _ = parsed.envelope.kind.as_str();
    }
});
