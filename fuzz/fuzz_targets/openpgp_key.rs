//! The OpenPGP public-key reader (armoured or binary) must never panic or loop.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = atalaya_crypto::openpgp::parse_public_key(data);
});
