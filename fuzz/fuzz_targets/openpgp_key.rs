//! The OpenPGP public-key reader (rPGP underneath, armoured or binary) must never panic or
//! loop, and what it accepts must hold together: a fingerprint of 40 or 64 digits, at least
//! one user id, an RSA key never under 2048 bits, and an answer to "can we encrypt to it?".
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = atalaya_crypto::openpgp::parse_public_key(data) {
        assert!(matches!(key.fingerprint.len(), 40 | 64));
        assert!(!key.user_ids.is_empty());
        assert!(!matches!(key.algorithm, 1..=3) || key.bits >= 2048);
        let _ = key.algorithm_name();
        for now in [0, key.created, i64::MAX] {
            let _ = key.encryption_state(now);
            let _ = key.expired_at(now);
        }
    }
});
